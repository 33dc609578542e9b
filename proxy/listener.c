/*
 * Listening sockets: bind or inherit, accept in bounded batches, pause on
 * descriptor exhaustion, refuse over max-connections (with a stream error
 * where it can be said), and reconcile the set of listeners with a
 * (re)loaded configuration.
 *
 * Owns the listeners and their sockets; calls route (one per listener),
 * conn and prelude (each accepted client), notify (sockets from
 * systemd), stats, log and clock.  Called by main.c.
 */
#define _GNU_SOURCE	/* accept4 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "prelude.h"
#include "route.h"
#include "stats.h"
#include "tls.h"

/* Accepts per callback, so that one busy listener cannot starve the rest. */
#define ACCEPT_BATCH	64
/* How long to stop accepting when out of descriptors or memory. */
#define ACCEPT_PAUSE	1.0
/* At most one warning about it per this many seconds. */
#define EMFILE_LOG_EVERY	60
#define BACKLOG		511
/*
 * Refusals over max-connections told the XMPP way at once: a prelude
 * each (a descriptor, a timer, one expat parser: some 12 kB while it
 * parses), not counted as sessions.  They happen when the daemon is at
 * its limit, so they must stay cheap: however many clients come past the
 * limit, this many at most are in progress (under 1 MB and 64
 * descriptors; each usually lasts one round trip, connect-timeout plus
 * close-timeout at worst), and the rest get a plain FIN, as before.  Per
 * process: with workers, each has its own.
 */
#define REFUSALS_MAX	64

struct sg_listener {
	struct sg_daemon *d;
	struct sg_route *route;
	struct sockaddr_storage ss;	/* as configured (port may be 0) */
	socklen_t sslen;
	char bound[SG_ADDR_STRLEN];	/* as bound */
	int fd;
	int inherited;			/* from systemd: never ours to close */
	int running;
	ev_io io;
	ev_timer pause;
};

static enum sg_listener_result
result_of(enum sg_addr_result r)
{

	return (r == SG_ADDR_INVALID ? SG_LISTENER_BAD_CONFIG :
	    SG_LISTENER_FAILED);
}

/* Out of descriptors or memory: wait a second rather than spin. */
static void
accept_pause(struct sg_listener *l, int e)
{
	struct sg_daemon *d = l->d;
	uint64_t now = sg_clock_ms() / 1000;

	if (d->emfile_logged == 0 || now - d->emfile_logged >=
	    EMFILE_LOG_EVERY) {
		d->emfile_logged = now;
		sg_log_msg(d->log, LOG_WARNING, "accept-paused",
		    "listener %s: accept: %s; pausing 1s (logged once a "
		    "minute)", l->route->name, strerror(e));
	}
	ev_io_stop(d->loop, &l->io);
	ev_timer_set(&l->pause, ACCEPT_PAUSE, 0.);
	ev_timer_start(d->loop, &l->pause);
}

static void
pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_listener *l = w->data;

	(void)loop;
	(void)revents;
	if (l->running)
		ev_io_start(l->d->loop, &l->io);
}

/*
 * Over max-connections.  The client is told so, the XMPP way, by a
 * prelude that answers its stream header with <resource-constraint/>
 * (answer=stream-error); where that cannot be (a tls = direct listener,
 * whose client speaks TLS first, or REFUSALS_MAX already in progress) it
 * is closed at once (answer=fin): whatever it already sent is read first,
 * so that close() sends a FIN and not a reset.  Returns 0, or -1 when out
 * of memory (fd closed).
 */
static int
refuse(struct sg_listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct sg_daemon *d = l->d;
	struct sg_log_rec r;
	char a[SG_ADDR_STRLEN];
	int direct = l->route->tls == SG_TLS_DIRECT;
	int told = !direct && d->nrefusing < REFUSALS_MAX;
	int i;

	sg_stats_refused(d->stats);
	if (sg_log_enabled(d->log, LOG_WARNING)) {
		sg_log_begin(&r, d->log, LOG_WARNING, "refused");
		sg_log_str(&r, "reason", "max-connections");
		sg_log_str(&r, "listener", l->route->name);
		sg_log_str(&r, "client", sg_addr_format(sa, a, sizeof(a)));
		sg_log_str(&r, "answer", told ? "stream-error" : "fin");
		if (direct)
			sg_log_str(&r, "tls", "direct");
		else if (!told)
			sg_log_u64(&r, "refusing", d->nrefusing);
		sg_log_end(&r);
	}
	if (told)
		return (sg_prelude_refuse(d, l->route, fd, sa, salen));
	for (i = 0; i < 4 && read(fd, d->rbuf, sizeof(d->rbuf)) > 0; i++)
		continue;
	(void)shutdown(fd, SHUT_WR);
	close(fd);
	return (0);
}

/* Transient errors of one pending connection: skip it. */
static int
accept_skippable(int e)
{

	return (e == EINTR || e == ECONNABORTED || e == EPROTO ||
	    e == ENETDOWN || e == ENOPROTOOPT || e == EHOSTDOWN ||
	    e == EHOSTUNREACH || e == ENETUNREACH || e == EOPNOTSUPP ||
	    e == EPERM);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sg_listener *l = w->data;
	struct sg_daemon *d = l->d;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	(void)loop;
	(void)revents;
	for (i = 0; i < ACCEPT_BATCH && l->running; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (accept_skippable(errno))
				continue;
			accept_pause(l, errno);
			return;
		}
		if (d->nconns >= d->cfg->max_connections) {
			if (refuse(l, fd, (struct sockaddr *)&ss, len) == -1)
				accept_pause(l, ENOMEM);
		} else if ((l->route->tls == SG_TLS_NONE &&
		    l->route->trusted == NULL ? sg_conn_new :
		    sg_prelude_new)(d, l->route, fd, (struct sockaddr *)&ss,
		    len) == -1)
			accept_pause(l, ENOMEM);
	}
}

/*
 * A socket bound and listening on ss.  With reuseport (workers > 1) every
 * worker binds its own and the kernel spreads connections over them.
 */
static int
bind_listen(const struct sockaddr_storage *ss, socklen_t len, int reuseport)
{
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto err;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1)
		goto err;
	/* A v6 listener is v6 only: v4 needs its own listener. */
	if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto err;
	if (bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    listen(fd, BACKLOG) == -1)
		goto err;
	return (fd);

err:
	e = errno;
	close(fd);
	errno = e;
	return (-1);
}

/* Take the socket systemd passed for this listener, if any. */
static int
inherit(struct sg_daemon *d, const char *name,
    const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, fl;

	fd = sg_notify_take_listen_fd(d->notify, name,
	    (const struct sockaddr *)ss, len);
	if (fd == -1)
		return (-1);
	/* systemd hands out blocking sockets unless NonBlocking=yes. */
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return (fd);
}

static struct sg_listener *
listener_new(struct sg_daemon *d, const struct sg_listener_config *lc,
    struct sg_route *route, char *err, size_t errlen,
    enum sg_listener_result *res)
{
	struct sg_listener *l;
	struct sg_addrs la;
	enum sg_addr_result ar;
	struct sockaddr_storage bss;
	socklen_t blen;
	char e[256];

	*res = SG_LISTENER_FAILED;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "listener %s: out of memory", lc->name);
		return (NULL);
	}
	if ((ar = sg_addr_resolve(lc->listen, 1, &la, e, sizeof(e))) !=
	    SG_ADDR_OK) {
		snprintf(err, errlen, "listener %s: listen %s", lc->name, e);
		*res = result_of(ar);
		goto err;
	}
	memcpy(&l->ss, &la.ss[0], la.len[0]);
	l->sslen = la.len[0];
	l->d = d;
	l->route = route;
	if ((l->fd = inherit(d, lc->name, &l->ss, l->sslen)) != -1)
		l->inherited = 1;
	else if ((l->fd = bind_listen(&l->ss, l->sslen,
	    d->worker != NULL)) == -1) {
		snprintf(err, errlen, "listener %s: %s: %s", lc->name,
		    lc->listen, strerror(errno));
		goto err;
	}
	blen = sizeof(bss);
	if (getsockname(l->fd, (struct sockaddr *)&bss, &blen) == 0)
		sg_addr_format((struct sockaddr *)&bss, l->bound,
		    sizeof(l->bound));
	else
		snprintf(l->bound, sizeof(l->bound), "%s", lc->listen);
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_timer_init(&l->pause, pause_cb, ACCEPT_PAUSE, 0.);
	l->pause.data = l;
	return (l);

err:
	free(l);
	return (NULL);
}

static void
listener_stop(struct sg_listener *l)
{

	l->running = 0;
	ev_io_stop(l->d->loop, &l->io);
	ev_timer_stop(l->d->loop, &l->pause);
}

static void
listener_free(struct sg_listener *l)
{

	if (l == NULL)
		return;
	listener_stop(l);
	if (l->fd != -1)
		close(l->fd);
	sg_route_unref(l->route);
	free(l);
}

static void
log_listening(const struct sg_listener *l, int reused)
{
	struct sg_log_rec r;
	const struct sg_addrs *up = &l->route->upstream;
	char a[SG_ADDR_STRLEN], list[SG_ADDR_MAX * SG_ADDR_STRLEN];
	size_t i, n;

	list[0] = '\0';
	for (i = 0, n = 0; i < up->n; i++) {
		sg_addr_format((const struct sockaddr *)&up->ss[i], a,
		    sizeof(a));
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i > 0 ? "," : "", a);
	}
	sg_log_begin(&r, l->d->log, LOG_INFO, "listening");
	sg_log_str(&r, "listener", l->route->name);
	sg_log_str(&r, "listen", l->bound);
	sg_log_str(&r, "upstream", list);
	if (l->route->tls != SG_TLS_NONE)
		sg_log_str(&r, "tls", l->route->tls == SG_TLS_DIRECT ?
		    "direct" : "starttls");
	if (l->route->tls_client != NULL)
		sg_log_str(&r, "upstream_tls", "yes");
	if (l->inherited)
		sg_log_str(&r, "socket", "systemd");
	if (reused)
		sg_log_str(&r, "kept", "yes");
	sg_log_end(&r);
}

/* The old listener on the same address as lc, not yet claimed. */
static size_t
find_same(struct sg_daemon *d, const char *claimed,
    const struct sg_listener_config *lc)
{
	struct sg_addrs la;
	char e[256];
	size_t j;

	if (sg_addr_resolve(lc->listen, 1, &la, e, sizeof(e)) != SG_ADDR_OK)
		return (d->nlisteners);
	for (j = 0; j < d->nlisteners; j++)
		if (!claimed[j] && sg_addr_equal(
		    (struct sockaddr *)&d->listeners[j]->ss,
		    d->listeners[j]->sslen, (struct sockaddr *)&la.ss[0],
		    la.len[0]))
			break;
	return (j);
}

/*
 * Install the new set: close the old listeners not kept, give the kept
 * ones their new route, start everything.
 */
static void
commit(struct sg_daemon *d, struct sg_listener **nl, struct sg_route **nr,
    size_t n, const char *claimed)
{
	size_t i, j;

	for (j = 0; j < d->nlisteners; j++)
		if (!claimed[j])
			listener_free(d->listeners[j]);
	for (i = 0; i < n; i++) {
		if (nr[i] != NULL) {
			sg_route_unref(nl[i]->route);
			nl[i]->route = nr[i];
		}
		if (!nl[i]->running && !d->stopping) {
			nl[i]->running = 1;
			ev_io_start(d->loop, &nl[i]->io);
		}
		log_listening(nl[i], nr[i] != NULL);
	}
	free(d->listeners);
	d->listeners = nl;
	d->nlisteners = n;
}

enum sg_listener_result
sg_listener_reconcile(struct sg_daemon *d, const struct sg_config *cfg,
    char *err, size_t errlen)
{
	struct sg_listener **nl;
	struct sg_route **nr, *route;
	enum sg_listener_result res = SG_LISTENER_FAILED;
	enum sg_route_result rr;
	char *claimed;
	size_t i, j, n = cfg->nlisteners;

	nl = calloc(n + 1, sizeof(*nl));
	nr = calloc(n + 1, sizeof(*nr));
	claimed = calloc(d->nlisteners + 1, 1);
	if (nl == NULL || nr == NULL || claimed == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		route = sg_route_new(&cfg->listeners[i], d->log, &rr, err,
		    errlen);
		if (route == NULL) {
			res = rr == SG_ROUTE_BAD_CONFIG ?
			    SG_LISTENER_BAD_CONFIG : SG_LISTENER_FAILED;
			goto fail;
		}
		if ((j = find_same(d, claimed, &cfg->listeners[i])) <
		    d->nlisteners) {
			claimed[j] = 1;
			nl[i] = d->listeners[j];
			nr[i] = route;
		} else if ((nl[i] = listener_new(d, &cfg->listeners[i], route,
		    err, errlen, &res)) == NULL) {
			sg_route_unref(route);
			goto fail;
		}
	}
	commit(d, nl, nr, n, claimed);
	free(nr);
	free(claimed);
	return (SG_LISTENER_OK);

fail:
	for (i = 0; nl != NULL && nr != NULL && i < n; i++) {
		if (nr[i] != NULL)
			sg_route_unref(nr[i]);
		else
			listener_free(nl[i]);
	}
	free(nl);
	free(nr);
	free(claimed);
	return (res);
}

void
sg_listener_stop_all(struct sg_daemon *d)
{
	struct sg_listener *l;
	size_t i;

	for (i = 0; i < d->nlisteners; i++) {
		l = d->listeners[i];
		listener_stop(l);
		if (!l->inherited && l->fd != -1) {
			close(l->fd);
			l->fd = -1;
		}
	}
}

void
sg_listener_free_all(struct sg_daemon *d)
{
	size_t i;

	for (i = 0; i < d->nlisteners; i++)
		listener_free(d->listeners[i]);
	free(d->listeners);
	d->listeners = NULL;
	d->nlisteners = 0;
}
