/*
 * The prelude of a connection: the balancer's PROXY header (accept-proxy),
 * starttls dialogue, TLS handshake, then the hand-over to conn.c; or,
 * over max-connections, the same dialogue cut short to a refusal.
 *
 * Owns each struct sg_prelude, its socket and watchers, and the
 * daemon's list of them; calls proxyin, lib/front, lib/addrmatch, tls,
 * tlstransport, transport, route (a reference), log, and conn (the
 * hand-over).  Called by listener; main.c runs the stop
 * (sg_prelude_close_all).
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "addrmatch.h"
#include "bq.h"
#include "conn.h"
#include "daemon.h"
#include "front.h"
#include "log.h"
#include "prelude.h"
#include "proxyin.h"
#include "route.h"
#include "tls.h"
#include "tlstransport.h"
#include "transport.h"

#define WRITE_IOV	16

/* What a client over max-connections is told (RFC 6120 4.9.3.17). */
#define BUSY_COND	"resource-constraint"
#define BUSY_WHY	"over max-connections"

enum phase {
	PH_PROXY,	/* accept-proxy: reading the balancer's header */
	PH_FRONT,	/* starttls: our stream dialogue before TLS */
	PH_PROCEED,	/* writing <proceed/>, then TLS */
	PH_HANDSHAKE,
	PH_REFUSE,	/* writing our stream error and close tag */
	PH_DRAIN	/* write side shut: read to EOF, then close */
};

struct sg_prelude {
	struct sg_daemon *d;
	struct sg_route *route;
	LIST_ENTRY(sg_prelude) link;	/* in d->preludes */
	struct sg_transport *t;
	struct sg_front *front;
	struct sg_proxyin *pin;		/* PH_PROXY */
	int fd;				/* the socket, until t owns it */
	ev_io io;
	ev_timer timer;
	enum phase phase;
	struct sg_addr_conn addrs;
	unsigned refs;
	unsigned closed:1;
	unsigned stop_told:1;		/* sg_prelude_close_all() came */
	unsigned refusing:1;		/* over max-connections: no session */
};

/* One line for a prelude that ends without a session. */
static void
log_end(struct sg_prelude *p, int prio, const char *event, const char *why)
{
	struct sg_log_rec r;
	char a[SG_ADDR_STRLEN];

	/*
	 * A refusal's one line (event=refused) was written when it was
	 * accepted: how the client takes it is the client's business.
	 */
	if (p->refusing || !sg_log_enabled(p->d->log, prio))
		return;
	sg_log_begin(&r, p->d->log, prio, event);
	sg_log_str(&r, "listener", p->route->name);
	sg_log_str(&r, "client", sg_addr_format(
	    (const struct sockaddr *)&p->addrs.client, a, sizeof(a)));
	if (p->addrs.via.sa.sa_family != AF_UNSPEC)
		sg_log_str(&r, "via", sg_addr_format(
		    (const struct sockaddr *)&p->addrs.via, a, sizeof(a)));
	if (p->front != NULL && sg_front_to(p->front)[0] != '\0')
		sg_log_str(&r, "to", sg_front_to(p->front));
	sg_log_str(&r, "reason", why);
	sg_log_end(&r);
}

static void
unlink_prelude(struct sg_prelude *p)
{
	struct sg_daemon *d = p->d;

	LIST_REMOVE(p, link);
	if (p->refusing)
		d->nrefusing--;
	else
		d->nconns--;
}

/* Stop, close, unlink; free unless a callback holds p. */
static void
finish(struct sg_prelude *p)
{
	struct sg_daemon *d = p->d;

	if (p->closed)
		return;
	p->closed = 1;
	ev_io_stop(d->loop, &p->io);
	ev_timer_stop(d->loop, &p->timer);
	if (p->t != NULL)
		sg_transport_close(p->t);
	else if (p->fd != -1)
		close(p->fd);
	p->t = NULL;
	p->fd = -1;
	sg_front_free(p->front);
	p->front = NULL;
	sg_proxyin_free(p->pin);
	p->pin = NULL;
	unlink_prelude(p);
	if (d->stopping && sg_daemon_drained(d))
		ev_break(d->loop, EVBREAK_ALL);
	if (p->refs == 0) {
		sg_route_unref(p->route);
		free(p);
	}
}

static void
fail(struct sg_prelude *p, const char *event, const char *why)
{

	log_end(p, LOG_NOTICE, event, why);
	finish(p);
}

/* Watch for what the transport waits for (default: want). */
static void
wait_for(struct sg_prelude *p, int want)
{
	int w = sg_transport_wants(p->t);
	int ev = (w != 0 ? w : want) == SG_WANT_WRITE ? EV_WRITE : EV_READ;

	if (ev_is_active(&p->io) && p->io.events == ev)
		return;
	ev_io_stop(p->d->loop, &p->io);
	ev_io_set(&p->io, sg_transport_fd(p->t), ev);
	ev_io_start(p->d->loop, &p->io);
}

/* Write the front's queue: 1 when empty, 0 waiting, -1 failed. */
static int
write_out(struct sg_prelude *p)
{
	struct sg_bq *q = sg_front_outq(p->front);
	struct iovec iov[WRITE_IOV];
	ssize_t n;

	while (sg_bq_len(q) > 0) {
		n = sg_transport_writev(p->t, iov, sg_bq_peek(q, iov,
		    WRITE_IOV));
		if (n >= 0) {
			sg_bq_consume(q, (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_for(p, SG_WANT_WRITE);
			return (0);
		}
		fail(p, "prelude-failed", strerror(errno));
		return (-1);
	}
	return (1);
}

static void step(struct sg_prelude *);

/* The handshake is done: the session takes the connection over. */
static void
hand_over(struct sg_prelude *p)
{
	struct sg_transport *t = p->t;

	ev_io_stop(p->d->loop, &p->io);
	p->t = NULL;
	/* Counted again by the session: the prelude's count goes now. */
	(void)sg_conn_start(p->d, p->route, t, &p->addrs);
	finish(p);
}

static void
handshake(struct sg_prelude *p)
{

	if (sg_transport_handshake(p->t) == 0) {
		hand_over(p);
		return;
	}
	if (errno == EAGAIN) {
		wait_for(p, SG_WANT_READ);
		return;
	}
	fail(p, "tls-failed", sg_transport_why(p->t)[0] != '\0' ?
	    sg_transport_why(p->t) : strerror(errno));
}

/* <proceed/> is out: TLS on the same socket, certificate by to. */
static void
start_tls(struct sg_prelude *p)
{
	const char *to = sg_front_to(p->front);
	SSL *ssl;
	int fd;

	ssl = sg_tls_server_ssl(p->route->tls_server, to[0] != '\0' ? to :
	    NULL);
	if (ssl == NULL) {
		fail(p, "tls-failed", "out of memory");
		return;
	}
	ev_io_stop(p->d->loop, &p->io);
	fd = sg_transport_tcp_detach(p->t);
	if ((p->t = sg_tlstransport_new(ssl, fd)) == NULL) {
		SSL_free(ssl);
		close(fd);
		fail(p, "tls-failed", "out of memory");
		return;
	}
	p->phase = PH_HANDSHAKE;
	handshake(p);
}

static void
on_outcome(struct sg_prelude *p, enum sg_front_outcome o)
{

	switch (o) {
	case SG_FRONT_PROCEED:
		p->phase = PH_PROCEED;
		break;
	case SG_FRONT_REFUSE:
		log_end(p, LOG_NOTICE, "starttls-refused",
		    sg_front_why(p->front));
		p->phase = PH_REFUSE;
		break;
	case SG_FRONT_CLOSED:
		log_end(p, LOG_INFO, "starttls-closed",
		    "the client closed its stream before TLS");
		p->phase = PH_REFUSE;
		break;
	default:
		break;
	}
}

/* Read the client before TLS; returns 0 to go on, -1 when p is over. */
static int
front_read(struct sg_prelude *p)
{
	ssize_t n;
	int k;

	for (k = 0; k < SG_DAEMON_READS_PER_CB && p->phase == PH_FRONT; k++) {
		n = sg_transport_read(p->t, p->d->rbuf, SG_DAEMON_RBUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			fail(p, "starttls-closed", n == 0 ? "the client "
			    "closed the connection before TLS" :
			    strerror(errno));
			return (-1);
		}
		on_outcome(p, sg_front_feed(p->front, p->d->rbuf,
		    (size_t)n));
	}
	return (0);
}

/* After our close tag: read to EOF (no RST), then close. */
static void
drain(struct sg_prelude *p)
{
	ssize_t n;
	int k;

	for (k = 0; k < SG_DAEMON_READS_PER_CB; k++) {
		n = sg_transport_read(p->t, p->d->rbuf, SG_DAEMON_RBUF);
		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait_for(p, SG_WANT_READ);
			return;
		}
		finish(p);
		return;
	}
	/* Still more: come back on the next readable event. */
	wait_for(p, SG_WANT_READ);
}

static int prelude_open(struct sg_prelude *, int);

/* The balancer's header names the client; the balancer becomes via. */
static void
proxy_apply(struct sg_prelude *p, const struct sg_proxyproto_result *r)
{

	if (r->local)
		return;
	p->addrs.via = p->addrs.client;
	/* The parser gives AF_INET, AF_INET6 or AF_UNSPEC: the union holds it. */
	memcpy(&p->addrs.client, &r->src, sizeof(p->addrs.client));
	memcpy(&p->addrs.local, &r->dst, sizeof(p->addrs.local));
}

/* accept-proxy: the header, then the listener's own prelude or none. */
static void
proxy_read(struct sg_prelude *p)
{
	switch (sg_proxyin_read(p->pin, p->fd)) {
	case SG_PROXYPROTO_NEED_MORE:
		return;
	case SG_PROXYPROTO_ERROR:
		fail(p, "proxy-refused", sg_proxyin_error(p->pin));
		return;
	default:
		break;
	}
	proxy_apply(p, sg_proxyin_result(p->pin));
	sg_proxyin_free(p->pin);
	p->pin = NULL;
	ev_io_stop(p->d->loop, &p->io);
	if (prelude_open(p, p->fd) == -1) {
		fail(p, "accept-failed", "out of memory");
		return;
	}
	p->fd = -1;
	if (p->route->tls == SG_TLS_NONE && !p->refusing)
		hand_over(p);
	else
		step(p);
}

static void
step(struct sg_prelude *p)
{

	if (p->phase == PH_PROXY) {
		proxy_read(p);
		return;
	}
	if (p->phase == PH_HANDSHAKE) {
		handshake(p);
		return;
	}
	if (p->phase == PH_DRAIN) {
		drain(p);
		return;
	}
	if (write_out(p) != 1)
		return;
	if (p->phase == PH_FRONT && front_read(p) == -1)
		return;
	if (write_out(p) != 1)
		return;
	switch (p->phase) {
	case PH_FRONT:
		wait_for(p, SG_WANT_READ);
		break;
	case PH_PROCEED:
		start_tls(p);
		break;
	case PH_REFUSE:
		(void)sg_transport_shutdown_write(p->t);
		p->phase = PH_DRAIN;
		drain(p);
		break;
	default:
		break;
	}
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sg_prelude *p = w->data;

	(void)loop;
	(void)revents;
	p->refs++;
	step(p);
	if (--p->refs == 0 && p->closed) {
		sg_route_unref(p->route);
		free(p);
	}
}

/*
 * A refusal whose client said no whole header within connect-timeout: it
 * is told all the same (our header first, RFC 6120 4.9.1.2), then has
 * close-timeout to close, as any peer we sent our close tag.
 */
static void
refuse_silent(struct sg_prelude *p)
{

	(void)sg_front_refuse(p->front, BUSY_COND, BUSY_WHY);
	p->phase = PH_REFUSE;
	ev_timer_set(&p->timer, p->route->params.close_timeout / 1000., 0.);
	ev_timer_start(p->d->loop, &p->timer);
	step(p);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_prelude *p = w->data;

	(void)loop;
	(void)revents;
	if (p->refusing && p->phase == PH_FRONT) {
		refuse_silent(p);
		return;
	}
	if (p->phase == PH_DRAIN || p->refusing)
		finish(p);
	else if (p->phase == PH_PROXY)
		fail(p, "proxy-refused", "connect-timeout passed before the "
		    "PROXY header was complete");
	else
		fail(p, p->phase == PH_HANDSHAKE ? "tls-failed" :
		    "starttls-refused", "connect-timeout passed before the "
		    "TLS handshake was done");
}

/* A fresh stream id: 16 hex digits from getrandom(2). */
static void
stream_id(char *buf, size_t len)
{
	unsigned char r[8];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* The transport and front the listener's mode starts with. */
static int
prelude_open(struct sg_prelude *p, int fd)
{
	char id[24] = "";
	SSL *ssl;

	if (p->route->tls == SG_TLS_NONE && !p->refusing)
		return ((p->t = sg_transport_tcp_accepted(fd)) == NULL ? -1 :
		    0);
	if (p->route->tls == SG_TLS_STARTTLS || p->refusing) {
		stream_id(id, sizeof(id));
		p->phase = PH_FRONT;
		if ((p->front = sg_front_new(&p->route->params.limits,
		    id)) == NULL)
			return (-1);
		if (p->refusing)
			sg_front_refuse_at_header(p->front, BUSY_COND,
			    BUSY_WHY);
		return ((p->t = sg_transport_tcp_accepted(fd)) == NULL ? -1 :
		    0);
	}
	p->phase = PH_HANDSHAKE;
	if ((ssl = sg_tls_server_ssl(p->route->tls_server, NULL)) == NULL)
		return (-1);
	if ((p->t = sg_tlstransport_new(ssl, fd)) == NULL) {
		SSL_free(ssl);
		return (-1);
	}
	return (0);
}

static int
prelude_start(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen, int refusing)
{
	struct sg_prelude *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->d = d;
	p->refusing = refusing != 0;
	p->route = route;
	p->fd = fd;
	sg_addr_conn_of(&p->addrs, fd, sa, salen);
	if (route->trusted != NULL) {
		p->phase = PH_PROXY;
		p->pin = sg_proxyin_new();
	}
	if (route->trusted != NULL ? p->pin == NULL :
	    prelude_open(p, fd) == -1) {
		sg_front_free(p->front);
		free(p);
		goto fail;
	}
	if (p->t != NULL)
		p->fd = -1;
	sg_route_ref(route);
	ev_io_init(&p->io, io_cb, fd, EV_READ);
	p->io.data = p;
	ev_timer_init(&p->timer, timer_cb,
	    route->connect_timeout_ms / 1000., 0.);
	p->timer.data = p;
	ev_timer_start(d->loop, &p->timer);
	LIST_INSERT_HEAD(&d->preludes, p, link);
	if (p->refusing)
		d->nrefusing++;
	else
		d->nconns++;
	if (route->trusted != NULL && !sg_addrmatch_contains(route->trusted,
	    sa)) {
		fail(p, "proxy-refused", "not in trusted-proxies");
		return (0);
	}
	if (p->phase == PH_PROXY)
		ev_io_start(d->loop, &p->io);
	step(p);
	return (0);

fail:
	close(fd);
	sg_log_msg(d->log, LOG_ERR, "accept-failed", "out of memory");
	return (-1);
}

int
sg_prelude_new(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen)
{

	return (prelude_start(d, route, fd, sa, salen, 0));
}

int
sg_prelude_refuse(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen)
{

	return (prelude_start(d, route, fd, sa, salen, 1));
}

/*
 * The service stops.  A client in the starttls dialogue has our header (or
 * gets it now): it is told <system-shutdown/>, as sessions are, and then
 * drained like a refusal; so is a refusal over max-connections still
 * waiting for the client's header (the client should come back later,
 * which both conditions say).  Before or after that dialogue nothing XML can
 * be said: the connection is closed.  A prelude already refusing or
 * draining goes on doing so.
 */
static void
stop(struct sg_prelude *p)
{

	switch (p->phase) {
	case PH_PROXY:
		fail(p, "proxy-refused", "the service stopped before the "
		    "PROXY header was complete");
		break;
	case PH_FRONT:
		(void)sg_front_shutdown(p->front);
		log_end(p, LOG_NOTICE, "starttls-refused",
		    sg_front_why(p->front));
		p->phase = PH_REFUSE;
		step(p);
		break;
	case PH_PROCEED:
	case PH_HANDSHAKE:
		fail(p, "tls-failed", "the service stopped before the TLS "
		    "handshake was done");
		break;
	default:
		break;
	}
}

void
sg_prelude_close_all(struct sg_daemon *d)
{
	struct sg_prelude *p, *next;

	for (p = LIST_FIRST(&d->preludes); p != NULL; p = next) {
		/* Only p itself can end in here: next stays valid. */
		next = LIST_NEXT(p, link);
		if (p->stop_told) {
			finish(p);
			continue;
		}
		p->stop_told = 1;
		stop(p);
	}
}
