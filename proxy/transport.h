#ifndef SG_TRANSPORT_H
#define SG_TRANSPORT_H

/*
 * A transport: how a session reads and writes one peer, behind function
 * pointers, so that TLS can slot in beside plain TCP the way Redis's
 * ConnectionType does.  The session code never calls read(2) or write(2)
 * itself; it only watches the descriptor that fd() gives with libev.
 *
 * Every call is non-blocking.  read() and writev() return what read(2) and
 * writev(2) return, errno included (EAGAIN: try again when the descriptor
 * is ready).  SIGPIPE is never raised: a broken pipe is EPIPE.
 *
 * TLS adds what plain TCP does not need; those members may be NULL, and
 * the inline wrappers below then give TCP's answer at no cost:
 * - handshake() must return 0 before read() and writev() are used;
 * - a call that fails with EAGAIN may wait for the other direction (TLS
 *   reads to write, and writes to read): wants() says which;
 * - read() may leave decrypted bytes inside the transport, where libev
 *   cannot see them: while pending() is non-zero, read again without
 *   waiting for the descriptor;
 * - writev() may take bytes that are not on the descriptor yet (a TLS
 *   record the socket had no room for): they are the transport's, never
 *   to be written again by the caller, and flush() pushes them out;
 * - a peer's TLS close_notify, and also a TCP EOF without it, read as 0;
 *   a TLS protocol error reads as -1 with EPROTO, why() saying what.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>

struct sg_transport;

/* What an EAGAIN waits for (wants()); 0: the call's own direction. */
#define SG_WANT_READ	1
#define SG_WANT_WRITE	2

struct sg_transport_type {
	const char *name;
	ssize_t (*read)(struct sg_transport *t, void *buf, size_t len);
	ssize_t (*writev)(struct sg_transport *t, const struct iovec *iov,
	    int iovcnt);
	/* After a non-blocking connect: 0 when made, else -1 and errno. */
	int (*connect_result)(struct sg_transport *t);
	/*
	 * Send end of stream (TLS: close_notify, then a FIN); reading goes
	 * on.  -1 with EAGAIN: call again when wants() is ready.
	 */
	int (*shutdown_write)(struct sg_transport *t);
	/* Close the descriptor and free t. */
	void (*close)(struct sg_transport *t);
	int (*fd)(const struct sg_transport *t);

	/* Optional, see above. */
	/*
	 * 0 once the handshake is done; -1 with EAGAIN while it waits
	 * (wants() says for what); -1 with another errno when it failed,
	 * why() saying why in one line.
	 */
	int (*handshake)(struct sg_transport *t);
	int (*wants)(const struct sg_transport *t);
	size_t (*pending)(const struct sg_transport *t);
	/* 0: nothing held; -1 with EAGAIN (wants()) or another errno. */
	int (*flush)(struct sg_transport *t);
	/* The last failure in one line, "" if none known. */
	const char *(*why)(const struct sg_transport *t);
	/*
	 * How many of the bytes given to writev() the peer's TCP stack has
	 * acknowledged, never more (TLS: those whose records are wholly
	 * acknowledged).  0, or -1 with errno.
	 */
	int (*acked)(struct sg_transport *t, uint64_t *bytes);
};

/*
 * The part common to every transport; each implementation embeds it as
 * its first member.  Treat type as private to the implementation.
 */
struct sg_transport {
	const struct sg_transport_type *type;
};

/*
 * sg_transport_tcp_accepted(fd):
 * Wrap an accepted, non-blocking TCP socket; sets TCP_NODELAY.  t owns fd
 * afterwards.  Returns NULL (fd left open) on allocation failure.
 */
struct sg_transport *sg_transport_tcp_accepted(int fd);

/*
 * sg_transport_tcp_connect(sa, salen):
 * Start a non-blocking connect to sa from a new socket with TCP_NODELAY.
 * Returns the transport, to be watched for writability and then asked
 * connect_result(); or NULL with errno if the connect failed at once.
 */
struct sg_transport *sg_transport_tcp_connect(const struct sockaddr *sa,
    socklen_t salen);

/*
 * sg_transport_tcp_detach(t):
 * Free the TCP transport t but not its descriptor, which is returned: for
 * TLS to take over (STARTTLS, or TLS to the upstream once connected).
 */
int sg_transport_tcp_detach(struct sg_transport *t);

static inline ssize_t
sg_transport_read(struct sg_transport *t, void *buf, size_t len)
{
	return (t->type->read(t, buf, len));
}

static inline ssize_t
sg_transport_writev(struct sg_transport *t, const struct iovec *iov,
    int iovcnt)
{
	return (t->type->writev(t, iov, iovcnt));
}

static inline int
sg_transport_connect_result(struct sg_transport *t)
{
	return (t->type->connect_result(t));
}

static inline int
sg_transport_shutdown_write(struct sg_transport *t)
{
	return (t->type->shutdown_write(t));
}

/* A NULL t is a no-op. */
static inline void
sg_transport_close(struct sg_transport *t)
{
	if (t != NULL)
		t->type->close(t);
}

static inline int
sg_transport_fd(const struct sg_transport *t)
{
	return (t->type->fd(t));
}

static inline int
sg_transport_handshake(struct sg_transport *t)
{
	return (t->type->handshake != NULL ? t->type->handshake(t) : 0);
}

static inline int
sg_transport_wants(const struct sg_transport *t)
{
	return (t->type->wants != NULL ? t->type->wants(t) : 0);
}

static inline size_t
sg_transport_pending(const struct sg_transport *t)
{
	return (t->type->pending != NULL ? t->type->pending(t) : 0);
}

static inline int
sg_transport_flush(struct sg_transport *t)
{
	return (t->type->flush != NULL ? t->type->flush(t) : 0);
}

static inline const char *
sg_transport_why(const struct sg_transport *t)
{
	return (t->type->why != NULL ? t->type->why(t) : "");
}

/* -1 with ENOTSUP if t cannot tell. */
static inline int
sg_transport_acked(struct sg_transport *t, uint64_t *bytes)
{
	if (t->type->acked == NULL) {
		errno = ENOTSUP;
		return (-1);
	}
	return (t->type->acked(t, bytes));
}

#endif /* !SG_TRANSPORT_H */
