#ifndef SG_LISTENER_H
#define SG_LISTENER_H

/*
 * Listeners: the listening sockets of the configuration (bound here, or
 * inherited from systemd), accepting clients and starting a session for
 * each.  Each listener hands its sessions a route: the upstream addresses
 * and session settings in force when they were accepted.
 */

#include <stddef.h>

#include "addr.h"
#include "config.h"
#include "session.h"

/* Opaque types. */
struct sg_addrmatch;
struct sg_daemon;
struct sg_listener;
struct sg_log;
struct sg_tls_client;
struct sg_tls_server;

/*
 * What the sessions of one listener use.  Read-only once made, shared by
 * reference count: a reload gives the listener a new route while the
 * sessions accepted before it keep theirs.
 */
struct sg_route {
	unsigned refs;
	char *name;			/* the listener's */
	struct sg_addrs upstream;	/* tried in order */
	struct sg_session_params params;
	unsigned connect_timeout_ms;
	enum sg_tls_mode tls;
	struct sg_tls_server *tls_server;	/* tls != none: certificates */
	struct sg_tls_client *tls_client;	/* upstream-tls; else NULL */
	enum sg_send_proxy send_proxy;
	struct sg_addrmatch *trusted;	/* accept-proxy; else NULL */
};

/*
 * sg_route_ref(r), sg_route_unref(r):
 * Take and drop a reference; the last unref frees r.  Unref of NULL is a
 * no-op.
 */
struct sg_route *sg_route_ref(struct sg_route *r);
void sg_route_unref(struct sg_route *r);

enum sg_listener_result {
	SG_LISTENER_OK,
	SG_LISTENER_BAD_CONFIG,	/* an address that cannot be */
	SG_LISTENER_FAILED	/* bind, listen, resolver, memory */
};

/*
 * sg_listener_reconcile(d, cfg, err, errlen):
 * Make d's listeners those of cfg, all or nothing: a listener whose
 * address is already open keeps its socket and takes cfg's route, new
 * ones are opened (or taken from systemd), the rest are closed.  Each
 * listener of cfg is logged as event=listening.  Used at start and on
 * reload.  On failure d is unchanged and err holds the cause.
 */
enum sg_listener_result sg_listener_reconcile(struct sg_daemon *d,
    const struct sg_config *cfg, char *err, size_t errlen);

/*
 * sg_listener_check(cfg, log, err, errlen):
 * For --check-config: load and free the TLS files of every listener of
 * cfg (certificates, keys, upstream-tls-ca), as sg_listener_reconcile
 * would, binding and resolving nothing.  A warning a start would log (a
 * certificate expired or not yet valid) goes to log.  Returns 0, or -1
 * with err holding the message a start would fail with (a start exits 2
 * on it: a configuration error).
 */
int sg_listener_check(const struct sg_config *cfg, struct sg_log *log,
    char *err, size_t errlen);

/*
 * sg_listener_stop_all(d):
 * Stop accepting.  Sockets we bound are closed now, so that new clients
 * are refused at once; sockets systemd passed stay open (systemd keeps
 * queueing on them for the next start).
 */
void sg_listener_stop_all(struct sg_daemon *d);

/*
 * sg_listener_free_all(d):
 * Close and free every listener.
 */
void sg_listener_free_all(struct sg_daemon *d);

#endif /* !SG_LISTENER_H */
