#ifndef SG_CONN_H
#define SG_CONN_H

/*
 * One proxied session: the libev glue around a struct sg_session.  It
 * reads both peers through their transports and feeds the session, carries
 * out the session's actions (write, shut down, pause, resume, close),
 * has the upstream connected (upconn), keeps the session's deadline on one
 * timer, and tears everything down exactly once, with the session's log
 * line.  Sessions are listed in the daemon struct.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Opaque types. */
struct sg_addr_conn;
struct sg_conn;
struct sg_daemon;
struct sg_route;
struct sg_transport;

/*
 * sg_conn_new(d, route, fd, sa, salen):
 * Start a session for the accepted, non-blocking client socket fd at sa,
 * with route's settings (a reference is taken), and start connecting to
 * the upstream.  fd is owned by the session afterwards.  Returns 0, or -1
 * on allocation failure (fd closed, logged).
 */
int sg_conn_new(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * sg_conn_start(d, route, t, addrs):
 * As sg_conn_new(), for a client whose transport t is ready (after a
 * PROXY header or a TLS handshake) and whose addresses are addrs; t is
 * owned by the session afterwards, or closed on failure.  With TLS, the
 * session-start line names the TLS version, cipher, SNI and ALPN.
 */
int sg_conn_start(struct sg_daemon *d, struct sg_route *route,
    struct sg_transport *t, const struct sg_addr_conn *addrs);

/*
 * sg_conn_shutdown_all(d):
 * The service is stopping: every session starts its close handshake.
 * Sessions may end (and be freed) inside this call.  Once d->stopping is
 * set, the connection that ends last breaks d's loop.  The preludes are
 * the caller's (sg_prelude_close_all, first).
 */
void sg_conn_shutdown_all(struct sg_daemon *d);

/*
 * sg_conn_force_close_all(d):
 * The drain timeout has passed: end every session now.
 */
void sg_conn_force_close_all(struct sg_daemon *d);

/*
 * sg_conn_closing(d):
 * How many open sessions have a close handshake under way.
 */
size_t sg_conn_closing(const struct sg_daemon *d);

/*
 * sg_conn_sweep(d, quiet_ms):
 * Give back the parser memory of sessions that have read nothing for
 * quiet_ms (sg_session_release_idle), once per quiet spell.
 */
void sg_conn_sweep(struct sg_daemon *d, uint64_t quiet_ms);

/*
 * sg_conn_batch_start(d), sg_conn_batch_stop(d):
 * Start and stop the writing of what sessions queued, once per turn of
 * d's loop, just before it waits for events: a peer is woken once for all
 * the reads of that turn.  Started with the daemon's other watchers.
 */
void sg_conn_batch_start(struct sg_daemon *d);
void sg_conn_batch_stop(struct sg_daemon *d);

#endif /* !SG_CONN_H */
