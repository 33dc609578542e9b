#ifndef SG_LISTENER_H
#define SG_LISTENER_H

/*
 * Listeners: the listening sockets of the configuration (bound here, or
 * inherited from systemd), accepting clients and starting a session for
 * each (a session, or a prelude before it).  Each listener hands its
 * sessions a route (route.h): the upstream addresses and session
 * settings in force when they were accepted.
 */

#include <stddef.h>

/* Opaque types. */
struct sg_config;
struct sg_daemon;
struct sg_listener;

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
