#ifndef SG_PRELUDE_H
#define SG_PRELUDE_H

/*
 * The prelude: what happens on a TLS listener's connection before its
 * session exists.  tls = direct: the TLS handshake from the first byte.
 * tls = starttls: our side of the stream dialogue up to <proceed/>
 * (lib/front.c), then the handshake.  Once the handshake is done the
 * connection is handed to sg_conn_start(), which connects the upstream and
 * starts the session as for plain TCP, so that the upstream never sees
 * the pre-TLS stream.  A prelude that fails is one log line with the
 * client's address and the reason, and no session lines.
 *
 * The whole prelude must finish within the listener's connect-timeout
 * (the time a client may take to get its session going; the upstream
 * connection then has a connect-timeout of its own).  Preludes count
 * towards max-connections (d->nconns).
 *
 * A refusal (sg_prelude_refuse) is a prelude that never becomes a
 * session: over max-connections, the client's stream header (after the
 * balancer's PROXY header on an accept-proxy listener) is answered with
 * ours, <resource-constraint/> and our close tag, then the write side is
 * shut and the client read to EOF.  It counts in d->nrefusing, not in
 * d->nconns, and logs nothing of its own (the listener logged
 * event=refused).  The header must come within connect-timeout; a client
 * silent that long is told all the same, then has close-timeout to close.
 */

#include <sys/socket.h>

/* Opaque types. */
struct sg_daemon;
struct sg_prelude;
struct sg_route;

/*
 * sg_prelude_new(d, route, fd, sa, salen):
 * Start the prelude of the accepted, non-blocking client socket fd at sa
 * on a listener whose route has tls != none (a reference is taken).  fd
 * is owned by the prelude afterwards.  Returns 0, or -1 on allocation
 * failure (fd closed, logged).
 */
int sg_prelude_new(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * sg_prelude_refuse(d, route, fd, sa, salen):
 * As sg_prelude_new(), for a refusal over max-connections on a listener
 * whose first bytes are XML (tls = none or starttls, with or without
 * accept-proxy; never tls = direct).  fd is owned by the prelude
 * afterwards.  Returns 0, or -1 on allocation failure (fd closed,
 * logged).
 */
int sg_prelude_refuse(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * sg_prelude_close_all(d):
 * The service stops; none of the preludes has a session to close.  The
 * first call tells a client in the starttls dialogue <system-shutdown/>
 * and our close tag, shuts the write side and drains to its EOF (within
 * the connect-timeout), as a refusal, and so is a refusal still waiting
 * for the client's header; any other prelude is closed at once and
 * logged.  A later call (the forced stop) closes every prelude left.
 * Preludes may end (and be freed) inside this call; once d->stopping is
 * set, the last connection to end breaks d's loop.
 */
void sg_prelude_close_all(struct sg_daemon *d);

#endif /* !SG_PRELUDE_H */
