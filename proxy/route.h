#ifndef SG_ROUTE_H
#define SG_ROUTE_H

/*
 * A route: what the sessions of one listener use, made from its section
 * of the configuration: the upstream addresses (resolved when the route is
 * made), the session engine's parameters, the TLS contexts (files read
 * when it is made), send-proxy and accept-proxy's trusted networks.
 * Read-only once made, shared by reference count: a reload gives the
 * listener a new route while the sessions accepted before it keep theirs.
 */

#include <stddef.h>

#include "addr.h"
#include "confdata.h"
#include "session.h"

/* Opaque types. */
struct sg_addrmatch;
struct sg_log;
struct sg_tls_client;
struct sg_tls_server;

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

enum sg_route_result {
	SG_ROUTE_OK,
	SG_ROUTE_BAD_CONFIG,	/* an address, a file or a network that
				   cannot be */
	SG_ROUTE_FAILED		/* the resolver, memory */
};

/*
 * sg_route_new(lc, log, res, err, errlen):
 * A new route for the listener lc, with one reference: its upstream
 * resolved and its TLS files read now (so that a reload reads them
 * again); a warning about a certificate goes to log.  Returns the route,
 * or NULL with *res and err saying why.
 */
struct sg_route *sg_route_new(const struct sg_listener_config *lc,
    struct sg_log *log, enum sg_route_result *res, char *err, size_t errlen);

/*
 * sg_route_check(cfg, log, err, errlen):
 * For --check-config: load and free the TLS files of every listener of
 * cfg (certificates, keys, upstream-tls-ca), as sg_route_new() would,
 * binding and resolving nothing.  A warning a start would log (a
 * certificate expired or not yet valid) goes to log.  Returns 0, or -1
 * with err holding the message a start would fail with (a start exits 2
 * on it: a configuration error).
 */
int sg_route_check(const struct sg_config *cfg, struct sg_log *log,
    char *err, size_t errlen);

/*
 * sg_route_ref(r), sg_route_unref(r):
 * Take and drop a reference; the last unref frees r.  Unref of NULL is a
 * no-op.
 */
struct sg_route *sg_route_ref(struct sg_route *r);
void sg_route_unref(struct sg_route *r);

#endif /* !SG_ROUTE_H */
