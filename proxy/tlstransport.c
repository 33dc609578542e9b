/*
 * The TLS transport.
 *
 * Writes: small buffers are gathered into records of up to 16 KiB rather
 * than one record per buffer.  With SSL_MODE_ENABLE_PARTIAL_WRITE each
 * SSL_write() sends one record.  When the socket is full, OpenSSL keeps
 * the record and wants the same bytes again: the transport keeps a copy
 * (held) and reports them written, so that the caller's queue never
 * changes under a record already encrypted, and flush() sends it.
 *
 * Acknowledged bytes: after each record is wholly on the socket, a mark
 * pairs the plaintext taken so far with the socket's byte count there;
 * a plaintext byte counts as acknowledged once the peer's TCP has
 * acknowledged up to the mark of its record (the record's end).  A few
 * marks are kept; when they are full the newest is moved on, which only
 * makes the count later, never earlier than the truth.
 *
 * Owns the SSL, its held record and its marks; calls OpenSSL, tls and
 * transport.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tcpacked.h"
#include "tlstransport.h"

/* The most plaintext of one TLS record. */
#define RECORD	16384
/* The socket's bytes before TLS, unknown: no acknowledged count. */
#define NO_BASE	UINT64_MAX
/* Record marks kept for acknowledged bytes. */
#define MARKS	4

struct mark {
	uint64_t plain;		/* plaintext taken up to the record's end */
	uint64_t sock;		/* socket bytes up to the record's end */
};

struct tls {
	struct sg_transport base;	/* first: a tls is a transport */
	SSL *ssl;
	int fd;
	int want;			/* SG_WANT_* after EAGAIN */
	int server;
	unsigned notified:1;		/* close_notify sent */
	unsigned fatal:1;		/* no more SSL calls but SSL_free */
	char *held;			/* a record OpenSSL wants again */
	size_t heldlen;
	uint64_t plain;			/* plaintext taken by writev() */
	uint64_t sock_base;		/* socket bytes before TLS began */
	uint64_t plain_acked;
	struct mark mark[MARKS];
	unsigned nmarks;
	char why[256];
};

static struct tls *
tls_of(struct sg_transport *t)
{

	return ((struct tls *)t);
}

static const struct tls *
ctls_of(const struct sg_transport *t)
{

	return ((const struct tls *)t);
}

/*
 * Map a failed SSL call to errno: EAGAIN with want set, 0 for a clean end
 * (returned as 1: the caller makes it EOF), or a hard error with why set.
 * Returns -1 or 1.
 */
static int
tls_fail(struct tls *c, int r)
{
	int e = errno;
	long vr;

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want = SG_WANT_READ;
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_WANT_WRITE:
		c->want = SG_WANT_WRITE;
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_ZERO_RETURN:
		return (1);
	case SSL_ERROR_SYSCALL:
		c->fatal = 1;
		if (ERR_peek_error() == 0) {
			if (e == 0)
				return (1);
			snprintf(c->why, sizeof(c->why), "%s", strerror(e));
			errno = e;
			return (-1);
		}
		break;
	default:
		c->fatal = 1;
		break;
	}
	sg_tls_reason(c->why, sizeof(c->why));
	vr = SSL_get_verify_result(c->ssl);
	if (!c->server && vr != X509_V_OK)
		snprintf(c->why, sizeof(c->why), "certificate verify failed: "
		    "%s", X509_verify_cert_error_string(vr));
	errno = EPROTO;
	return (-1);
}

static int
tls_handshake(struct sg_transport *t)
{
	struct tls *c = tls_of(t);
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1)
		return (0);
	if (tls_fail(c, r) == 1) {
		snprintf(c->why, sizeof(c->why), "connection closed during "
		    "the handshake");
		errno = ECONNRESET;
	}
	return (-1);
}

static ssize_t
tls_read(struct sg_transport *t, void *buf, size_t len)
{
	struct tls *c = tls_of(t);
	int r;

	if (c->fatal)
		return (0);
	ERR_clear_error();
	errno = 0;
	r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return (r);
	/* close_notify, or EOF without it: EOF either way (see tls.c). */
	if (tls_fail(c, r) == 1)
		return (0);
	return (-1);
}

/* Every record taken so far is wholly on the socket: mark its end. */
static void
mark_record_end(struct tls *c)
{
	struct mark m = { c->plain,
	    c->sock_base + BIO_number_written(SSL_get_wbio(c->ssl)) };

	if (c->nmarks == MARKS)
		c->mark[MARKS - 1] = m;
	else
		c->mark[c->nmarks++] = m;
}

static int
tls_acked(struct sg_transport *t, uint64_t *bytes)
{
	struct tls *c = tls_of(t);
	uint64_t sock;
	unsigned i = 0;

	if (c->sock_base == NO_BASE) {
		errno = ENOTSUP;
		return (-1);
	}
	if (sg_tcp_bytes_acked(c->fd, &sock) == -1)
		return (-1);
	while (i < c->nmarks && c->mark[i].sock <= sock)
		c->plain_acked = c->mark[i++].plain;
	memmove(c->mark, c->mark + i, (c->nmarks - i) * sizeof(c->mark[0]));
	c->nmarks -= i;
	*bytes = c->plain_acked;
	return (0);
}

/* Send the held record.  0 when it is out. */
static int
tls_flush(struct sg_transport *t)
{
	struct tls *c = tls_of(t);
	int r;

	while (c->heldlen > 0) {
		if (c->fatal) {
			errno = EPIPE;
			return (-1);
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, c->held, (int)c->heldlen);
		if (r <= 0) {
			if (tls_fail(c, r) == 1)
				errno = EPIPE;
			return (-1);
		}
		memmove(c->held, c->held + r, c->heldlen - (size_t)r);
		c->heldlen -= (size_t)r;
		if (c->heldlen == 0)
			mark_record_end(c);
	}
	free(c->held);
	c->held = NULL;
	return (0);
}

/* Up to one record from iov into buf; returns where the bytes are. */
static const char *
gather(const struct iovec *iov, int iovcnt, char *buf, size_t *len)
{
	size_t n = 0, k;
	int i;

	if (iovcnt == 1 || iov[0].iov_len >= RECORD) {
		*len = iov[0].iov_len < RECORD ? iov[0].iov_len : RECORD;
		return (iov[0].iov_base);
	}
	for (i = 0; i < iovcnt && n < RECORD; i++) {
		k = iov[i].iov_len < RECORD - n ? iov[i].iov_len : RECORD - n;
		memcpy(buf + n, iov[i].iov_base, k);
		n += k;
	}
	*len = n;
	return (buf);
}

static ssize_t
tls_writev(struct sg_transport *t, const struct iovec *iov, int iovcnt)
{
	struct tls *c = tls_of(t);
	char buf[RECORD];
	const char *p;
	size_t len;
	int r;

	if (tls_flush(t) == -1)
		return (-1);
	if (iovcnt <= 0)
		return (0);
	p = gather(iov, iovcnt, buf, &len);
	if (len == 0)
		return (0);
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(c->ssl, p, (int)len)) > 0) {
		c->plain += (uint64_t)r;
		mark_record_end(c);
		return (r);
	}
	if (tls_fail(c, r) == 1) {
		errno = EPIPE;
		return (-1);
	}
	if (errno != EAGAIN)
		return (-1);
	/* OpenSSL holds the record and wants these bytes again. */
	if ((c->held = malloc(len)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	memcpy(c->held, p, len);
	c->heldlen = len;
	c->plain += len;
	return ((ssize_t)len);
}

/* TLS starts on a connection already made. */
static int
tls_connect_result(struct sg_transport *t)
{

	(void)t;
	return (0);
}

/* close_notify, then the FIN. */
static int
tls_shutdown_write(struct sg_transport *t)
{
	struct tls *c = tls_of(t);
	int r;

	if (tls_flush(t) == -1 && errno == EAGAIN)
		return (-1);
	if (!c->notified && !c->fatal) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(c->ssl)) < 0 && tls_fail(c, r) == -1 &&
		    errno == EAGAIN)
			return (-1);
		c->notified = 1;
	}
	return (shutdown(c->fd, SHUT_WR));
}

static void
tls_close(struct sg_transport *t)
{
	struct tls *c = tls_of(t);

	SSL_free(c->ssl);
	close(c->fd);
	free(c->held);
	free(c);
}

static int
tls_fd(const struct sg_transport *t)
{

	return (ctls_of(t)->fd);
}

static int
tls_wants(const struct sg_transport *t)
{

	return (ctls_of(t)->want);
}

static size_t
tls_pending(const struct sg_transport *t)
{
	const struct tls *c = ctls_of(t);

	return (c->fatal ? 0 : (size_t)SSL_pending(c->ssl));
}

static const char *
tls_why(const struct sg_transport *t)
{

	return (ctls_of(t)->why);
}

static const struct sg_transport_type tls_type = {
	.name = "tls",
	.read = tls_read,
	.writev = tls_writev,
	.connect_result = tls_connect_result,
	.shutdown_write = tls_shutdown_write,
	.close = tls_close,
	.fd = tls_fd,
	.handshake = tls_handshake,
	.wants = tls_wants,
	.pending = tls_pending,
	.flush = tls_flush,
	.why = tls_why,
	.acked = tls_acked
};

/*
 * What the socket carried before TLS (a STARTTLS dialogue): acknowledged
 * plus still queued.  NO_BASE if it cannot tell: then no count at all,
 * rather than one that may be too high.
 */
static uint64_t
socket_bytes_before(int fd)
{
	uint64_t acked = 0;
	int queued = 0;

	if (sg_tcp_bytes_acked(fd, &acked) == -1 ||
	    ioctl(fd, SIOCOUTQ, &queued) == -1 || queued < 0)
		return (NO_BASE);
	return (acked + (uint64_t)queued);
}

struct sg_transport *
sg_tlstransport_new(SSL *ssl, int fd)
{
	struct tls *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	/*
	 * As for TCP: no Nagle.  Small records (tickets, then a stream
	 * header) would otherwise wait for the peer's delayed ACK, ~40 ms.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (SSL_set_fd(ssl, fd) != 1) {
		free(c);
		return (NULL);
	}
	c->base.type = &tls_type;
	c->sock_base = socket_bytes_before(fd);
	c->ssl = ssl;
	c->fd = fd;
	c->server = SSL_is_server(ssl);
	return (&c->base);
}

int
sg_tlstransport_describe(const struct sg_transport *t,
    struct sg_tls_info *info)
{

	if (t->type != &tls_type)
		return (-1);
	sg_tls_describe(ctls_of(t)->ssl, ctls_of(t)->server, info);
	return (0);
}
