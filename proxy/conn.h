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
#include <netinet/in.h>

/*
 * An address of a TCP connection: listeners and PROXY headers give no
 * family but AF_INET and AF_INET6 (or AF_UNSPEC), so it is kept in their
 * size, not a sockaddr_storage's (every session keeps three).
 */
union sg_conn_ip {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * Who a session's client is: as it logs it, and as send-proxy tells the
 * upstream.  With accept-proxy, client and local come from the balancer's
 * PROXY header and via is the balancer; otherwise via's family is
 * AF_UNSPEC.
 */
struct sg_conn_addrs {
	union sg_conn_ip client;	/* the client */
	union sg_conn_ip local;		/* the address it connected to */
	union sg_conn_ip via;		/* the balancer, or AF_UNSPEC */
};

/* Opaque types. */
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
    struct sg_transport *t, const struct sg_conn_addrs *addrs);

/*
 * sg_conn_addrs_of(addrs, fd, sa, salen):
 * Fill addrs for the accepted socket fd from the peer sa: client sa,
 * local fd's own address, no via.
 */
void sg_conn_addrs_of(struct sg_conn_addrs *addrs, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * sg_conn_shutdown_all(d):
 * The service is stopping: every session starts its close handshake;
 * preludes are told or closed (sg_prelude_close_all: a client in the
 * STARTTLS dialogue gets <system-shutdown/>).
 * Sessions may end (and be freed) inside this call.  Once d->stopping is
 * set, the session that ends last breaks d's loop.
 */
void sg_conn_shutdown_all(struct sg_daemon *d);

/*
 * sg_conn_force_close_all(d):
 * The drain timeout has passed: end every session now.  Returns how many
 * there were.
 */
size_t sg_conn_force_close_all(struct sg_daemon *d);

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

#endif /* !SG_CONN_H */
