/*
 * The plain TCP transport.
 *
 * Owns the descriptor; calls the socket only.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcpacked.h"
#include "transport.h"

struct tcp {
	struct sg_transport base;	/* first: a tcp is a transport */
	int fd;
};

static struct tcp *
tcp_of(struct sg_transport *t)
{

	return ((struct tcp *)t);
}

static ssize_t
tcp_read(struct sg_transport *t, void *buf, size_t len)
{

	/* recv rather than read: the socket call skips the file layer. */
	return (recv(tcp_of(t)->fd, buf, len, 0));
}

static ssize_t
tcp_writev(struct sg_transport *t, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg;

	/*
	 * sendmsg rather than writev: MSG_NOSIGNAL, whatever SIGPIPE does.
	 * send for one buffer, the common case: the kernel then copies in
	 * no msghdr and no iovec array.
	 */
	if (iovcnt == 1)
		return (send(tcp_of(t)->fd, iov[0].iov_base, iov[0].iov_len,
		    MSG_NOSIGNAL));
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	return (sendmsg(tcp_of(t)->fd, &msg, MSG_NOSIGNAL));
}

/* The socket carries nothing but what writev() was given. */
static int
tcp_acked(struct sg_transport *t, uint64_t *bytes)
{

	return (sg_tcp_bytes_acked(tcp_of(t)->fd, bytes));
}

static int
tcp_connect_result(struct sg_transport *t)
{
	socklen_t len;
	int e;

	len = sizeof(e);
	if (getsockopt(tcp_of(t)->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return (-1);
	if (e != 0) {
		errno = e;
		return (-1);
	}
	return (0);
}

static int
tcp_shutdown_write(struct sg_transport *t)
{

	return (shutdown(tcp_of(t)->fd, SHUT_WR));
}

static void
tcp_close(struct sg_transport *t)
{

	close(tcp_of(t)->fd);
	free(t);
}

static int
tcp_fd(const struct sg_transport *t)
{

	return (((const struct tcp *)t)->fd);
}

static const struct sg_transport_type tcp_type = {
	.name = "tcp",
	.read = tcp_read,
	.writev = tcp_writev,
	.acked = tcp_acked,
	.connect_result = tcp_connect_result,
	.shutdown_write = tcp_shutdown_write,
	.close = tcp_close,
	.fd = tcp_fd
};

static struct tcp *
tcp_new(int fd)
{
	struct tcp *c;
	int one = 1;

	if ((c = malloc(sizeof(*c))) == NULL)
		return (NULL);
	c->base.type = &tcp_type;
	c->fd = fd;
	/* Stanzas are small and latency matters: no Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (c);
}

struct sg_transport *
sg_transport_tcp_accepted(int fd)
{
	struct tcp *c;

	if ((c = tcp_new(fd)) == NULL)
		return (NULL);
	return (&c->base);
}

int
sg_transport_tcp_detach(struct sg_transport *t)
{
	int fd = tcp_of(t)->fd;

	free(t);
	return (fd);
}

struct sg_transport *
sg_transport_tcp_connect(const struct sockaddr *sa, socklen_t salen)
{
	struct tcp *c;
	int fd, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return (NULL);
	if ((c = tcp_new(fd)) == NULL)
		goto err0;
	if (connect(fd, sa, salen) == -1 && errno != EINPROGRESS)
		goto err1;
	return (&c->base);

err1:
	free(c);
err0:
	e = errno;
	close(fd);
	errno = e;
	return (NULL);
}
