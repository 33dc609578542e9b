/*
 * One upstream connection attempt after another: connect, send-proxy,
 * upstream-tls.  Each step that fails moves on to the next address, as a
 * refused connection does.
 *
 * Owns each attempt and the pool of finished ones; calls route (read
 * only), addr, lib/proxyproto (send-proxy), tls, tlstransport, transport
 * and log.  Reports to its caller (conn) through callbacks only.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "confdata.h"
#include "log.h"
#include "proxyproto.h"
#include "route.h"
#include "tls.h"
#include "tlstransport.h"
#include "transport.h"
#include "upconn.h"

struct sg_upconn {
	struct sg_upconn_pool *pool;	/* where it goes back */
	struct sg_upconn *next_spare;	/* in pool, once back */
	struct ev_loop *loop;
	struct sg_log *log;
	const struct sg_route *route;
	const struct sg_addr_conn *addrs;
	uint64_t id;
	struct sg_upconn_cb cb;
	void *arg;
	struct sg_transport *t;
	ev_io rw, ww;
	unsigned addri;
	int err;			/* the last attempt's */
	unsigned tls_started:1;
};

static void io_cb(struct ev_loop *, ev_io *, int);

static const struct sockaddr *
addr_of(const struct sg_upconn *u)
{

	return ((const struct sockaddr *)&u->route->upstream.ss[u->addri]);
}

static void
watch(struct sg_upconn *u)
{
	int fd = sg_transport_fd(u->t);

	ev_io_init(&u->rw, io_cb, fd, EV_READ);
	ev_io_init(&u->ww, io_cb, fd, EV_WRITE);
	u->rw.data = u->ww.data = u;
}

static void
abandon(struct sg_upconn *u, int e)
{

	u->err = e;
	ev_io_stop(u->loop, &u->ww);
	ev_io_stop(u->loop, &u->rw);
	sg_transport_close(u->t);
	u->t = NULL;
	u->tls_started = 0;
}

/* From u->addri on, the first address a connect can be started to. */
static int
try_from(struct sg_upconn *u)
{
	const struct sg_addrs *up = &u->route->upstream;

	for (; u->addri < up->n; u->addri++) {
		u->t = sg_transport_tcp_connect(addr_of(u),
		    up->len[u->addri]);
		if (u->t == NULL) {
			u->err = errno;
			continue;
		}
		watch(u);
		ev_io_start(u->loop, &u->ww);
		return (0);
	}
	if (u->addri > 0)
		u->addri--;
	return (-1);
}

/* A kept one, as calloc would give it, or a new one. */
static struct sg_upconn *
take(struct sg_upconn_pool *pool)
{
	struct sg_upconn *u;

	if ((u = pool->spare) == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return (NULL);
	} else {
		pool->spare = u->next_spare;
		memset(u, 0, sizeof(*u));
	}
	u->pool = pool;
	return (u);
}

/* Done with u: keep it for the next connection. */
static void
give_back(struct sg_upconn *u)
{
	struct sg_upconn_pool *pool = u->pool;

	u->next_spare = pool->spare;
	pool->spare = u;
}

/* Report once and give u back: the callback may do anything. */
static void
report(struct sg_upconn *u, struct sg_transport *t)
{
	struct sg_upconn_cb cb = u->cb;
	void *arg = u->arg;
	unsigned addri = u->addri;
	int err = u->err;

	give_back(u);
	if (t != NULL)
		cb.ready(arg, t, addri);
	else
		cb.failed(arg, err, addri);
}

static void
next_address(struct sg_upconn *u, int e)
{

	abandon(u, e);
	u->addri++;
	if (try_from(u) == -1)
		report(u, NULL);
}

static void
ready(struct sg_upconn *u)
{
	struct sg_transport *t = u->t;

	ev_io_stop(u->loop, &u->ww);
	ev_io_stop(u->loop, &u->rw);
	u->t = NULL;
	report(u, t);
}

static void
log_tls_failed(struct sg_upconn *u, const char *why)
{
	struct sg_log_rec r;
	char a[SG_ADDR_STRLEN];

	if (!sg_log_enabled(u->log, LOG_NOTICE))
		return;
	sg_log_begin(&r, u->log, LOG_NOTICE, "upstream-tls-failed");
	sg_log_u64(&r, "session", u->id);
	sg_log_str(&r, "upstream", sg_addr_format(addr_of(u), a, sizeof(a)));
	sg_log_str(&r, "reason", why);
	sg_log_end(&r);
}

/* A step of upstream-tls's handshake. */
static void
handshake(struct sg_upconn *u)
{

	if (sg_transport_handshake(u->t) == 0) {
		ready(u);
		return;
	}
	if (errno == EAGAIN) {
		ev_io_stop(u->loop, &u->ww);
		ev_io_stop(u->loop, &u->rw);
		ev_io_start(u->loop, sg_transport_wants(u->t) ==
		    SG_WANT_WRITE ? &u->ww : &u->rw);
		return;
	}
	log_tls_failed(u, sg_transport_why(u->t)[0] != '\0' ?
	    sg_transport_why(u->t) : strerror(errno));
	next_address(u, errno);
}

/* upstream-tls: TLS over the new connection; -1 if it cannot be. */
static int
tls_start(struct sg_upconn *u)
{
	SSL *ssl;
	int fd;

	if ((ssl = sg_tls_client_ssl(u->route->tls_client)) == NULL)
		return (-1);
	ev_io_stop(u->loop, &u->ww);
	fd = sg_transport_tcp_detach(u->t);
	if ((u->t = sg_tlstransport_new(ssl, fd)) == NULL) {
		SSL_free(ssl);
		close(fd);
		return (-1);
	}
	u->tls_started = 1;
	watch(u);
	return (0);
}

/*
 * send-proxy: the header goes first, on the bare socket (before any TLS
 * to the upstream).  A fresh connection's send buffer is empty, so the
 * ~100 bytes go at once; if not, the connection counts as failed.
 */
static int
send_proxy_header(struct sg_upconn *u)
{
	char buf[SG_PROXYPROTO_MAX];
	struct sockaddr_storage src, dst;
	size_t len;
	ssize_t n;

	if (u->route->send_proxy == SG_SEND_PROXY_NO)
		return (0);
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	memcpy(&src, &u->addrs->client, sizeof(u->addrs->client));
	memcpy(&dst, &u->addrs->local, sizeof(u->addrs->local));
	if (sg_proxyproto_compose(u->route->send_proxy == SG_SEND_PROXY_V1 ?
	    SG_PROXYPROTO_V1 : SG_PROXYPROTO_V2, &src, &dst, buf, sizeof(buf),
	    &len) == -1) {
		errno = EINVAL;
		return (-1);
	}
	do
		n = send(sg_transport_fd(u->t), buf, len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		errno = EAGAIN;
	return (n >= 0 && (size_t)n == len ? 0 : -1);
}

/* The socket is writable: connected, or failed. */
static void
connected(struct sg_upconn *u)
{

	if (sg_transport_connect_result(u->t) == -1 ||
	    send_proxy_header(u) == -1) {
		next_address(u, errno);
		return;
	}
	if (u->route->tls_client == NULL) {
		ready(u);
		return;
	}
	if (tls_start(u) == -1) {
		next_address(u, ENOMEM);
		return;
	}
	handshake(u);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sg_upconn *u = w->data;

	(void)loop;
	(void)revents;
	if (u->tls_started)
		handshake(u);
	else
		connected(u);
}

struct sg_upconn *
sg_upconn_start(struct sg_upconn_pool *pool, struct ev_loop *loop,
    struct sg_log *log, const struct sg_route *route,
    const struct sg_addr_conn *addrs, uint64_t id,
    const struct sg_upconn_cb *cb, void *arg, unsigned *addri)
{
	struct sg_upconn *u;

	*addri = 0;
	if ((u = take(pool)) == NULL)
		return (NULL);
	u->loop = loop;
	u->log = log;
	u->route = route;
	u->addrs = addrs;
	u->id = id;
	u->cb = *cb;
	u->arg = arg;
	if (try_from(u) == -1) {
		*addri = u->addri;
		errno = u->err;
		give_back(u);
		return (NULL);
	}
	return (u);
}

void
sg_upconn_cancel(struct sg_upconn *u)
{

	if (u == NULL)
		return;
	if (u->t != NULL)
		abandon(u, 0);
	give_back(u);
}

void
sg_upconn_pool_drain(struct sg_upconn_pool *pool)
{
	struct sg_upconn *u;

	while ((u = pool->spare) != NULL) {
		pool->spare = u->next_spare;
		free(u);
	}
}
