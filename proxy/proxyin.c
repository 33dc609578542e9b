/*
 * Reading a PROXY protocol header off an accepted socket (proxyin.h).
 * Owns the parser while it reads; calls lib/proxyproto and the socket.
 */
/* POLLRDHUP: a peer that closed while its bytes are still buffered. */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyin.h"

/* Enough for the longest header accepted: v2's 16 bytes and its block. */
#define PEEK_MAX	(16 + SG_PROXYPROTO_V2_MAX_LEN)

struct sg_proxyin {
	struct sg_proxyproto *pp;
	size_t fed;		/* bytes given to pp so far */
	char why[96];
};

struct sg_proxyin *
sg_proxyin_new(void)
{
	struct sg_proxyin *pi;

	pi = calloc(1, sizeof(*pi));
	if (pi == NULL)
		return (NULL);
	pi->pp = sg_proxyproto_new();
	if (pi->pp == NULL) {
		free(pi);
		return (NULL);
	}
	return (pi);
}

void
sg_proxyin_free(struct sg_proxyin *pi)
{

	if (pi == NULL)
		return;
	sg_proxyproto_free(pi->pp);
	free(pi);
}

static enum sg_proxyproto_status
fail(struct sg_proxyin *pi, const char *what, int e)
{

	if (e != 0)
		snprintf(pi->why, sizeof(pi->why), "%s: %s", what, strerror(e));
	else
		snprintf(pi->why, sizeof(pi->why), "%s", what);
	return (SG_PROXYPROTO_ERROR);
}

static void
set_lowat(int fd, int bytes)
{

	/* Only an optimisation against waking early: failure is harmless. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

/*
 * Whether the peer has closed: a peeked EOF shows only once the buffered
 * bytes are read, and those are the header's.
 */
static int
peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return (poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
}

/* Take the header's len bytes, all of them already buffered, off fd. */
static enum sg_proxyproto_status
consume(struct sg_proxyin *pi, int fd, size_t len)
{
	char buf[PEEK_MAX];
	ssize_t n;

	set_lowat(fd, 1);
	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		return (fail(pi, "reading the PROXY header", n < 0 ? errno :
		    EIO));
	return (SG_PROXYPROTO_DONE);
}

enum sg_proxyproto_status
sg_proxyin_read(struct sg_proxyin *pi, int fd)
{
	char buf[PEEK_MAX];
	enum sg_proxyproto_status st;
	ssize_t n;
	size_t used;

	do
		n = recv(fd, buf, sizeof(buf), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return (SG_PROXYPROTO_NEED_MORE);
	if (n < 0)
		return (fail(pi, "reading the PROXY header", errno));
	if (n == 0)
		return (fail(pi, "closed before the end of the PROXY header",
		    0));
	if ((size_t)n < pi->fed)
		return (fail(pi, "PROXY header bytes went missing", 0));
	if ((size_t)n == pi->fed && peer_closed(fd))
		return (fail(pi, "closed before the end of the PROXY header",
		    0));
	st = sg_proxyproto_feed(pi->pp, buf + pi->fed, (size_t)n - pi->fed,
	    &used);
	pi->fed += used;
	if (st == SG_PROXYPROTO_ERROR)
		return (fail(pi, sg_proxyproto_error(pi->pp), 0));
	if (st == SG_PROXYPROTO_DONE)
		return (consume(pi, fd, sg_proxyproto_result(pi->pp)->len));
	if ((size_t)n >= sizeof(buf))
		return (fail(pi, "PROXY header too long", 0));
	set_lowat(fd, (int)n + 1);
	return (SG_PROXYPROTO_NEED_MORE);
}

const struct sg_proxyproto_result *
sg_proxyin_result(const struct sg_proxyin *pi)
{

	return (sg_proxyproto_result(pi->pp));
}

const char *
sg_proxyin_error(const struct sg_proxyin *pi)
{

	return (pi->why);
}
