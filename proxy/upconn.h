#ifndef SG_UPCONN_H
#define SG_UPCONN_H

/*
 * The connection to the upstream, up to the moment a session can write to
 * it: each of the route's addresses in turn, send-proxy's header on the
 * bare socket, then upstream-tls's handshake.  It reports once, through
 * its callbacks: ready (with the transport, which the caller then owns)
 * or failed (every address tried).  The overall time limit is the
 * caller's (connect-timeout): it cancels.
 */

#include <stdint.h>
#include <sys/socket.h>

/* Opaque types. */
struct ev_loop;
struct sg_addr_conn;
struct sg_log;
struct sg_route;
struct sg_transport;
struct sg_upconn;

/*
 * Connections that reported or were cancelled, kept for the next ones.
 * In a burst of sessions each would otherwise leave a freed block among
 * the blocks the sessions keep for their whole life, and those holes keep
 * pages from going back to the system once the sessions are idle; a kept
 * one is taken again by the next session instead.  The caller empties the
 * pool with sg_upconn_pool_drain() when it trims memory and at the end.
 */
struct sg_upconn_pool {
	struct sg_upconn *spare;	/* a list, or NULL */
};

struct sg_upconn_cb {
	/* Connected (and TLS done) to address addri of the route: t is yours. */
	void (*ready)(void *arg, struct sg_transport *t, unsigned addri);
	/* No address worked; err is the last error, addri the last tried. */
	void (*failed)(void *arg, int err, unsigned addri);
};

/*
 * sg_upconn_start(pool, loop, log, route, addrs, id, cb, arg, addri):
 * Start connecting for session id (for the log lines), whose client is
 * addrs (for send-proxy), in memory from pool if it has some; once done
 * the connection goes back to pool.  pool, route and addrs must outlive
 * the connection.  Returns the connection, which reports later; or NULL
 * with errno (and *addri) when no address could even be tried, and
 * nothing is reported.
 */
struct sg_upconn *sg_upconn_start(struct sg_upconn_pool *pool,
    struct ev_loop *loop, struct sg_log *log, const struct sg_route *route,
    const struct sg_addr_conn *addrs, uint64_t id,
    const struct sg_upconn_cb *cb, void *arg, unsigned *addri);

/*
 * sg_upconn_cancel(u):
 * Stop u without a report (the time limit passed, or the session ended),
 * and give it back to its pool.  A NULL u is a no-op.
 */
void sg_upconn_cancel(struct sg_upconn *u);

/*
 * sg_upconn_pool_drain(pool):
 * Free what pool keeps.  Connections under way are not touched.
 */
void sg_upconn_pool_drain(struct sg_upconn_pool *pool);

#endif /* !SG_UPCONN_H */
