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
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct sg_transport;

struct sg_transport_type {
	const char *name;
	ssize_t (*read)(struct sg_transport *t, void *buf, size_t len);
	ssize_t (*writev)(struct sg_transport *t, const struct iovec *iov,
	    int iovcnt);
	/* After a non-blocking connect: 0 when made, else -1 and errno. */
	int (*connect_result)(struct sg_transport *t);
	/* Send end of stream (a FIN for TCP); reading goes on. */
	int (*shutdown_write)(struct sg_transport *t);
	/* Close the descriptor and free t. */
	void (*close)(struct sg_transport *t);
	int (*fd)(const struct sg_transport *t);
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

#endif /* !SG_TRANSPORT_H */
