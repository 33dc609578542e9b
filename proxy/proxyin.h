#ifndef SG_PROXYIN_H
#define SG_PROXYIN_H

/*
 * Reading a PROXY protocol header (accept-proxy) off a freshly accepted
 * socket, before anything else reads it: the header's bytes and no byte
 * more are taken, so what follows (a TLS ClientHello, a stream header) is
 * left in the socket for the transport that comes next.
 *
 * The bytes are peeked (MSG_PEEK) and only the header is then read.  While
 * the header is incomplete, SO_RCVLOWAT is raised past what is buffered,
 * so that the descriptor is not readable again until more arrives (or the
 * peer closes): a level-triggered watcher does not spin on a header split
 * across segments.  It is set back to 1 when done.
 */

#include "proxyproto.h"

/* Opaque types. */
struct sg_proxyin;

/*
 * sg_proxyin_new(void):
 * A reader for one connection's header.  NULL on allocation failure.
 */
struct sg_proxyin *sg_proxyin_new(void);

/*
 * sg_proxyin_free(pi):
 * Free pi.  A NULL pi is a no-op.
 */
void sg_proxyin_free(struct sg_proxyin *pi);

/*
 * sg_proxyin_read(pi, fd):
 * Call when fd (non-blocking) is readable.  NEED_MORE: wait for it to be
 * readable again; DONE: the header has been read off fd, see
 * sg_proxyin_result(); ERROR: the connection cannot go on, see
 * sg_proxyin_error() (a refused header, EOF before its end, a socket
 * error).
 */
enum sg_proxyproto_status sg_proxyin_read(struct sg_proxyin *pi, int fd);

/*
 * sg_proxyin_result(pi):
 * The header, after sg_proxyin_read() returned DONE.
 */
const struct sg_proxyproto_result *sg_proxyin_result(
    const struct sg_proxyin *pi);

/*
 * sg_proxyin_error(pi):
 * Why, after ERROR, in a few words for the log.
 */
const char *sg_proxyin_error(const struct sg_proxyin *pi);

#endif /* !SG_PROXYIN_H */
