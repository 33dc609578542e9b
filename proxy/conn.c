/*
 * One proxied session: libev watchers and transports around the pure
 * close engine of lib/session.c.
 *
 * Every event goes the same way: feed it to the session, then carry out
 * the actions the session emits until it emits none (conn_run), then make
 * sure the timer will fire by the session's deadline (conn_arm).  A write
 * the session asks for is made later in the same turn of the loop
 * (conn_want_flush), with the other sessions' writes.  The
 * connection is torn down exactly once (conn_teardown); it is freed only
 * when no callback up the stack still holds it (conn_hold/conn_release),
 * as Redis's connhelpers.h does.
 *
 * Owns each struct sg_conn, its session, transports and watchers, and
 * the daemon's list of them; calls lib/session, transport, tlstransport,
 * upconn, route (a reference), sesslog, stats, log and clock.  Called by
 * listener (a plain client) and prelude (after its handshake); main.c
 * runs the stop.  Never calls up into them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "batch.h"
#include "bq.h"
#include "clock.h"
#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "sesslog.h"
#include "stats.h"
#include "tcpacked.h"
#include "tlstransport.h"
#include "transport.h"
#include "upconn.h"

/* Actions taken from the session at a time, and rounds before yielding. */
#define ACTION_BATCH	16
#define ACTION_ROUNDS	256
/* Buffers per writev(): as many as the queue's chunks allow. */
#define WRITE_IOV	64
/*
 * Sessions whose writes wait for the end of the loop's turn, at most: past
 * that, they are made at once (see conn_want_flush), so that with
 * thousands of busy sessions the first write of a turn does not wait for
 * all their reads.  make bench, 1000 sessions: 4.4-4.5 us per stanza
 * against 4.5-5.0 without the bound; 64 sessions never reach it.
 */
#define FLUSH_BATCH	64
/* Reads of 64 KiB at most, to empty a socket before close(). */
#define DRAIN_READS	16

/* One peer: its transport and watchers, and what the session asked. */
struct side {
	struct sg_transport *t;
	ev_io rw;			/* readable */
	ev_io ww;			/* writable; upstream: connect done */
	int err;			/* last socket error, for the log */
	unsigned up:1;			/* connected */
	unsigned eof:1;			/* nothing more to read */
	unsigned paused:1;		/* the session said stop reading */
	unsigned shut_wanted:1;		/* shut down once the queue is empty */
	unsigned shut:1;
	unsigned dead:1;		/* writing failed for good */
	unsigned read_wants_write:1;	/* TLS: a read waits for writable */
	unsigned flush_wanted:1;	/* bytes queued since the last flush */
	unsigned full:1;		/* the socket took not all of the queue */
	uint64_t acked_seen;		/* its TCP's acknowledged bytes, since */
};

struct sg_conn {
	struct sg_daemon *d;
	struct sg_route *route;
	LIST_ENTRY(sg_conn) link;	/* in d->conns */
	struct sg_batch_item flush;	/* in d->flushing: writes to make */
	struct sg_session *s;
	struct side side[2];		/* indexed by enum sg_side */
	ev_timer timer;
	uint64_t armed;			/* deadline the timer is set for */
	struct sg_upconn *upc;		/* the upstream, until it is up */
	uint64_t start;
	uint64_t last_read;
	uint64_t id;
	struct sg_addr_conn addrs;
	unsigned addri;			/* upstream address tried */
	struct sg_tls_info *tls;	/* the client's, or NULL: plain TCP */
	unsigned refs;			/* callbacks on the stack */
	unsigned closed:1;
	unsigned released:1;		/* parser memory given back */
};

static void conn_run(struct sg_conn *, uint64_t);
static int conn_read(struct sg_conn *, enum sg_side, uint64_t);
static void conn_teardown(struct sg_conn *);

static void
conn_free(struct sg_conn *c)
{

	sg_session_free(c->s);
	sg_route_unref(c->route);
	free(c->tls);
	free(c);
}

static void
conn_hold(struct sg_conn *c)
{

	c->refs++;
}

static void
conn_release(struct sg_conn *c)
{

	if (--c->refs == 0 && c->closed)
		conn_free(c);
}

/* While upc connects: its time is up then.  Not kept, to keep c small. */
static uint64_t
connect_by(const struct sg_conn *c)
{

	return (c->start + c->route->connect_timeout_ms);
}

static enum sg_side
side_of(const struct sg_conn *c, const ev_io *w)
{

	return (w == &c->side[SG_SERVER].rw || w == &c->side[SG_SERVER].ww ?
	    SG_SERVER : SG_CLIENT);
}

/* Read a side exactly when it is connected, open and not paused. */
static void
side_update_read(struct sg_conn *c, enum sg_side i)
{
	struct side *sd = &c->side[i];

	if (sd->up && !sd->eof && !sd->paused && !c->closed) {
		ev_io_start(c->d->loop, &sd->rw);
		/* Bytes TLS holds decrypted: libev cannot see them. */
		if (sg_transport_pending(sd->t) > 0)
			ev_feed_event(c->d->loop, &sd->rw, EV_READ);
	} else
		ev_io_stop(c->d->loop, &sd->rw);
}

static void
side_watch(struct sg_conn *c, enum sg_side i, ev_io *w, int events,
    void (*cb)(struct ev_loop *, ev_io *, int))
{

	ev_io_init(w, cb, sg_transport_fd(c->side[i].t), events);
	w->data = c;
}

/*
 * Stream management on C's behalf counts what C's TCP acknowledged: the
 * session is told before each event, so that what it says to S of C is
 * never older than the event.  A failed reading leaves the count as it
 * was (after a reset the figure survives: see tcpacked.h).
 */
static void
report_acked(struct sg_conn *c, uint64_t now)
{
	uint64_t acked;

	if (c->closed || !sg_session_counts_acks(c->s))
		return;
	if (sg_transport_acked(c->side[SG_CLIENT].t, &acked) == 0)
		sg_session_on_acked(c->s, acked, now);
}

/*
 * The socket to side i is full with bytes still queued: its TCP's count of
 * acknowledged bytes from now on (from this write on: the session's stall
 * clock was set by it) says whether the peer reads at all.
 */
static void
note_full(struct side *sd)
{

	sd->full = 1;
	if (sg_tcp_bytes_acked(sg_transport_fd(sd->t), &sd->acked_seen) == -1)
		sd->acked_seen = UINT64_MAX;
}

/*
 * A full socket wakes its writer only once a third of it has drained, so a
 * slow reader's progress shows first in what its TCP acknowledged: told to
 * the session before a timer event, which may be its stall's deadline.
 */
static void
report_taken(struct sg_conn *c, uint64_t now)
{
	uint64_t acked;
	int i;

	for (i = 0; i < 2; i++) {
		struct side *sd = &c->side[i];

		if (!sd->full || sd->dead ||
		    sg_tcp_bytes_acked(sg_transport_fd(sd->t), &acked) == -1 ||
		    acked <= sd->acked_seen)
			continue;
		sd->acked_seen = acked;
		sg_session_on_taken(c->s, (enum sg_side)i, now);
	}
}

/* Writing to side i failed for good (errno). */
static void
write_failed(struct sg_conn *c, enum sg_side i, uint64_t now)
{
	struct side *sd = &c->side[i];
	int k;

	sd->err = errno;
	sd->dead = 1;
	ev_io_stop(c->d->loop, &sd->ww);
	/*
	 * A peer that reset may have sent whole stanzas first: they are
	 * still to be read, and relayed, before it counts as gone.
	 */
	for (k = 0; k < DRAIN_READS && !sd->eof; k++)
		if (conn_read(c, i, now) != 1)
			break;
	report_acked(c, now);
	sg_session_on_write_error(c->s, i, now);
}

/* EAGAIN: wait until writable (TLS never waits to read for a write). */
static int
would_block(struct sg_conn *c, enum sg_side i)
{

	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return (0);
	ev_io_start(c->d->loop, &c->side[i].ww);
	return (1);
}

/*
 * Write what is queued towards side i until the queue is empty or the
 * socket is full; then shut the write half down if the session asked
 * (for TLS: close_notify, then the FIN, retried when writable).
 */
static void
conn_flush(struct sg_conn *c, enum sg_side i, uint64_t now)
{
	struct side *sd = &c->side[i];
	struct sg_bq *q = sg_session_outq(c->s, i);
	struct iovec iov[WRITE_IOV];
	ssize_t n;
	int niov;

	if (!sd->up || sd->dead || c->closed)
		return;
	while (sg_bq_len(q) > 0) {
		niov = sg_bq_peek(q, iov, WRITE_IOV);
		n = sg_transport_writev(sd->t, iov, niov);
		if (n >= 0) {
			sg_session_on_written(c->s, i, (size_t)n, now);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (would_block(c, i))
			note_full(sd);
		else
			write_failed(c, i, now);
		return;
	}
	sd->full = 0;
	if (sg_transport_flush(sd->t) == -1) {
		if (!would_block(c, i))
			write_failed(c, i, now);
		return;
	}
	if (!sd->read_wants_write)
		ev_io_stop(c->d->loop, &sd->ww);
	if (sd->shut_wanted && !sd->shut) {
		if (sg_transport_shutdown_write(sd->t) == -1 &&
		    would_block(c, i))
			return;
		sd->shut = 1;
	}
}

/*
 * Writes wait until the loop is about to sleep (batch.h), or until
 * FLUSH_BATCH sessions wait: by then the reads of this turn of the loop
 * have been taken, so a peer is woken once for all that is written to it,
 * not once per read.  A peer on the other CPU costs the writer a wake-up
 * in the kernel each time, more than the write itself when the stanzas
 * are small.
 */
static void
conn_want_flush(struct sg_conn *c, enum sg_side i)
{

	c->side[i].flush_wanted = 1;
	sg_batch_add(&c->d->flushing, &c->flush, c);
}

static void
conn_act(struct sg_conn *c, const struct sg_action *a)
{
	struct side *sd = &c->side[a->side];

	switch (a->type) {
	case SG_ACT_WRITE:
		conn_want_flush(c, a->side);
		break;
	case SG_ACT_SHUTDOWN:
		/* Only once what is queued before it has gone out. */
		sd->shut_wanted = 1;
		conn_want_flush(c, a->side);
		break;
	case SG_ACT_PAUSE:
		sd->paused = 1;
		side_update_read(c, a->side);
		break;
	case SG_ACT_RESUME:
		sd->paused = 0;
		side_update_read(c, a->side);
		break;
	case SG_ACT_CLOSE:
		conn_teardown(c);
		break;
	case SG_ACT_UNDELIVERED:
		sg_sesslog_undelivered(c->d->log, c->id, c->s);
		break;
	}
}

/*
 * Have the timer fire by the session's deadline.  Deadlines only move
 * earlier on events (reads move them later, and then the timer fires
 * early, finds nothing due and is set again), so the timer is touched
 * only when the deadline came nearer: no timer work per read.
 */
static void
conn_arm(struct sg_conn *c, uint64_t now)
{
	uint64_t dl;

	dl = sg_session_deadline(c->s);
	if (c->upc != NULL && connect_by(c) < dl)
		dl = connect_by(c);
	if (dl == SG_NO_DEADLINE || dl >= c->armed)
		return;
	ev_timer_stop(c->d->loop, &c->timer);
	/* At least 1 ms: a deadline that stays past must not spin. */
	ev_timer_set(&c->timer, dl > now + 1 ? (double)(dl - now) / 1000. :
	    0.001, 0.);
	ev_timer_start(c->d->loop, &c->timer);
	c->armed = dl;
}

/* Carry out the session's actions until there are none left. */
static void
conn_run(struct sg_conn *c, uint64_t now)
{
	struct sg_action a[ACTION_BATCH];
	size_t i, n;
	int round;

	for (round = 0; round < ACTION_ROUNDS && !c->closed; round++) {
		if ((n = sg_session_take_actions(c->s, a, ACTION_BATCH)) == 0)
			break;
		for (i = 0; i < n && !c->closed; i++)
			conn_act(c, &a[i]);
	}
	if (c->closed)
		return;
	/* Still busy: yield to other sessions, come back next iteration. */
	if (round == ACTION_ROUNDS)
		ev_feed_event(c->d->loop, &c->timer, EV_TIMER);
	conn_arm(c, now);
}

/*
 * One read from side i into the session.  Returns 1 after a full buffer
 * (more may be waiting), 0 when the socket is empty, -1 at its end (EOF or
 * an error, passed on to the session).
 */
static int
conn_read(struct sg_conn *c, enum sg_side i, uint64_t now)
{
	struct side *sd = &c->side[i];
	ssize_t n;

	do
		n = sg_transport_read(sd->t, c->d->rbuf, SG_DAEMON_RBUF);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		c->last_read = now;
		c->released = 0;
		report_acked(c, now);
		sg_session_on_bytes(c->s, i, c->d->rbuf, (size_t)n, now);
		/* Short: drained (unless TLS holds more): no EAGAIN read. */
		return ((size_t)n == SG_DAEMON_RBUF ||
		    sg_transport_pending(sd->t) > 0);
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (sg_transport_wants(sd->t) == SG_WANT_WRITE) {
			sd->read_wants_write = 1;
			ev_io_start(c->d->loop, &sd->ww);
		}
		return (0);
	}
	if (n == -1) {
		sd->err = errno;
		/* A TLS protocol error: the peer counts as vanished. */
		if (errno == EPROTO)
			sg_sesslog_tls_error(c->d->log, c->id, i,
			    sg_transport_why(sd->t));
	}
	sd->eof = 1;
	side_update_read(c, i);
	report_acked(c, now);
	sg_session_on_eof(c->s, i, now);
	return (-1);
}

/* The writes one session asked for since the last flush (sg_batch_fn). */
static void
flush_queued(void *arg, uint64_t now)
{
	struct sg_conn *c = arg;
	int i;

	conn_hold(c);
	for (i = 0; i < 2 && !c->closed; i++) {
		if (!c->side[i].flush_wanted)
			continue;
		c->side[i].flush_wanted = 0;
		conn_flush(c, (enum sg_side)i, now);
	}
	conn_run(c, now);
	conn_release(c);
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sg_conn *c = w->data;
	enum sg_side i = side_of(c, w);
	uint64_t now = sg_clock_ms();
	int k, more = 1;

	(void)revents;
	conn_hold(c);
	for (k = 0; k < SG_DAEMON_READS_PER_CB && more == 1 && !c->closed &&
	    ev_is_active(w); k++) {
		more = conn_read(c, i, now);
		conn_run(c, now);
	}
	/* TLS may hold bytes the descriptor will never announce. */
	if (more == 1 && !c->closed && ev_is_active(w) &&
	    sg_transport_pending(c->side[i].t) > 0)
		ev_feed_event(loop, w, EV_READ);
	/* Enough waited: the first of them must not wait for all the rest. */
	if (sg_batch_len(&c->d->flushing) >= FLUSH_BATCH)
		(void)sg_batch_run(&c->d->flushing, now);
	conn_release(c);
}

static void
write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sg_conn *c = w->data;
	enum sg_side i = side_of(c, w);
	uint64_t now = sg_clock_ms();

	(void)loop;
	(void)revents;
	conn_hold(c);
	if (c->side[i].read_wants_write) {
		c->side[i].read_wants_write = 0;
		(void)conn_read(c, i, now);
	}
	conn_flush(c, i, now);
	conn_run(c, now);
	conn_release(c);
}

static void
upstream_ready(void *arg, struct sg_transport *t, unsigned addri)
{
	struct sg_conn *c = arg;
	struct side *sd = &c->side[SG_SERVER];
	uint64_t now = sg_clock_ms();

	c->upc = NULL;
	c->addri = addri;
	sd->t = t;
	side_watch(c, SG_SERVER, &sd->rw, EV_READ, read_cb);
	side_watch(c, SG_SERVER, &sd->ww, EV_WRITE, write_cb);
	sd->up = 1;
	conn_hold(c);
	side_update_read(c, SG_SERVER);
	conn_flush(c, SG_SERVER, now);
	conn_run(c, now);
	conn_release(c);
}

static void
upstream_failed(void *arg, int err, unsigned addri)
{
	struct sg_conn *c = arg;
	uint64_t now = sg_clock_ms();

	c->upc = NULL;
	c->addri = addri;
	c->side[SG_SERVER].err = err;
	conn_hold(c);
	sg_session_on_upstream_failed(c->s, now);
	conn_run(c, now);
	conn_release(c);
}

static const struct sg_upconn_cb upstream_cb = {
	upstream_ready, upstream_failed
};

/* Start the upstream connection; its report comes later. */
static void
upstream_start(struct sg_conn *c, uint64_t now)
{

	c->upc = sg_upconn_start(&c->d->upconns, c->d->loop, c->d->log,
	    c->route, &c->addrs, c->id, &upstream_cb, c, &c->addri);
	if (c->upc == NULL) {
		c->side[SG_SERVER].err = errno;
		sg_session_on_upstream_failed(c->s, now);
	}
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_conn *c = w->data;
	uint64_t now = sg_clock_ms();

	(void)loop;
	(void)revents;
	/*
	 * libev counts from the start of the loop iteration, so the timer
	 * may fire a little before our clock reaches the deadline: it is
	 * due all the same.  A fed event (conn_run yielding) is no expiry.
	 */
	if (!ev_is_active(w)) {
		if (c->armed != SG_NO_DEADLINE && now < c->armed)
			now = c->armed;
		c->armed = SG_NO_DEADLINE;
	}
	conn_hold(c);
	if (c->upc != NULL && now >= connect_by(c)) {
		sg_upconn_cancel(c->upc);
		c->upc = NULL;
		c->side[SG_SERVER].err = ETIMEDOUT;
		sg_session_on_upstream_failed(c->s, now);
		conn_run(c, now);
	}
	if (!c->closed) {
		report_acked(c, now);
		report_taken(c, now);
		sg_session_on_timer(c->s, now);
		conn_run(c, now);
	}
	conn_release(c);
}

/*
 * A forced end may leave a close tag queued: write what the socket takes
 * at once, then say no more, without waiting for a slow peer.
 */
static void
flush_last(struct sg_conn *c, enum sg_side i)
{
	struct side *sd = &c->side[i];
	struct sg_bq *q = sg_session_outq(c->s, i);
	struct iovec iov[WRITE_IOV];
	ssize_t n;

	if (!sd->up || sd->dead)
		return;
	while (sg_bq_len(q) > 0) {
		n = sg_transport_writev(sd->t, iov,
		    sg_bq_peek(q, iov, WRITE_IOV));
		if (n <= 0)
			break;
		sg_bq_consume(q, (size_t)n);
	}
	if (!sd->shut && sg_bq_len(q) == 0 && sg_transport_flush(sd->t) == 0) {
		sd->shut = 1;
		(void)sg_transport_shutdown_write(sd->t);
	}
}

/* Read and drop what a peer sent last, so that close() sends no RST. */
static void
drain(struct sg_daemon *d, struct side *sd)
{
	ssize_t n;
	int k;

	if (sd->t == NULL || !sd->up || sd->eof)
		return;
	for (k = 0; k < DRAIN_READS; k++) {
		n = sg_transport_read(sd->t, d->rbuf, SG_DAEMON_RBUF);
		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		break;
	}
}

/* The session line's who and how, for both lines. */
static void
conn_sesslog(const struct sg_conn *c, struct sg_sesslog *sl)
{

	memset(sl, 0, sizeof(*sl));
	sl->id = c->id;
	sl->listener = c->route->name;
	sl->client = &c->addrs.client.sa;
	sl->via = c->addrs.via.sa.sa_family == AF_UNSPEC ? NULL :
	    &c->addrs.via.sa;
	sl->tls = c->tls;
}

static void
log_end(struct sg_conn *c)
{
	const struct sg_addrs *up = &c->route->upstream;
	struct sg_sesslog sl;

	conn_sesslog(c, &sl);
	sl.upstream = (const struct sockaddr *)&up->ss[c->addri < up->n ?
	    c->addri : up->n - 1];
	sl.duration_ms = sg_clock_ms() - c->start;
	sl.sockerr[SG_CLIENT] = c->side[SG_CLIENT].err;
	sl.sockerr[SG_SERVER] = c->side[SG_SERVER].err;
	sg_sesslog_end(c->d->log, &sl, sg_session_stats(c->s));
}

/* Stop, drain, close, log, count, unlink; free unless a caller holds c. */
static void
conn_teardown(struct sg_conn *c)
{
	struct sg_daemon *d = c->d;
	struct side *sd;
	int i;

	if (c->closed)
		return;
	c->closed = 1;
	sg_batch_remove(&d->flushing, &c->flush);
	ev_timer_stop(d->loop, &c->timer);
	sg_upconn_cancel(c->upc);
	c->upc = NULL;
	for (i = 0; i < 2; i++) {
		sd = &c->side[i];
		if (sd->t == NULL)
			continue;
		ev_io_stop(d->loop, &sd->rw);
		ev_io_stop(d->loop, &sd->ww);
		flush_last(c, (enum sg_side)i);
		drain(d, sd);
		sg_transport_close(sd->t);
		sd->t = NULL;
	}
	sg_sesslog_undelivered(c->d->log, c->id, c->s);
	log_end(c);
	sg_stats_ended(d->stats, sg_session_stats(c->s));
	LIST_REMOVE(c, link);
	d->nconns--;
	if (d->stopping && sg_daemon_drained(d))
		ev_break(d->loop, EVBREAK_ALL);
	if (c->refs == 0)
		conn_free(c);
}

int
sg_conn_new(struct sg_daemon *d, struct sg_route *route, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct sg_addr_conn addrs;
	struct sg_transport *t;

	sg_addr_conn_of(&addrs, fd, sa, salen);
	if ((t = sg_transport_tcp_accepted(fd)) == NULL) {
		close(fd);
		sg_log_msg(d->log, LOG_ERR, "accept-failed", "out of memory");
		return (-1);
	}
	return (sg_conn_start(d, route, t, &addrs));
}

/* Only a TLS client has a description: plain sessions keep no room for it. */
static int
conn_describe_tls(struct sg_conn *c, struct sg_transport *t)
{
	struct sg_tls_info info;

	if (sg_tlstransport_describe(t, &info) != 0)
		return (0);
	if ((c->tls = malloc(sizeof(*c->tls))) == NULL)
		return (-1);
	*c->tls = info;
	return (0);
}

/*
 * The route's session parameters for client transport t: no stream
 * management on C's behalf where t cannot tell what C's TCP acknowledged
 * (acks counted from nothing would have S deliver everything twice).
 */
static struct sg_session_params
params_for(const struct sg_route *route, struct sg_transport *t)
{
	struct sg_session_params p = route->params;
	uint64_t acked;

	if (p.sm_handback && sg_transport_acked(t, &acked) == -1)
		p.sm_handback = 0;
	return (p);
}

int
sg_conn_start(struct sg_daemon *d, struct sg_route *route,
    struct sg_transport *t, const struct sg_addr_conn *addrs)
{
	struct sg_session_params p = params_for(route, t);
	struct sg_sesslog sl;
	struct sg_conn *c;
	struct side *cl;
	uint64_t now = sg_clock_ms();

	/*
	 * Timers count from the loop's time, which a TLS handshake (or
	 * several, in one iteration) can leave well behind: the session's
	 * timer must not fire early.
	 */
	ev_now_update(d->loop);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto err1;
	cl = &c->side[SG_CLIENT];
	cl->t = t;
	if ((c->s = sg_session_new(&p, now)) == NULL)
		goto err2;
	if (conn_describe_tls(c, t))
		goto err2;
	c->d = d;
	c->route = sg_route_ref(route);
	c->id = ++d->next_id;
	c->start = c->last_read = now;
	c->armed = SG_NO_DEADLINE;
	c->addrs = *addrs;
	side_watch(c, SG_CLIENT, &cl->rw, EV_READ, read_cb);
	side_watch(c, SG_CLIENT, &cl->ww, EV_WRITE, write_cb);
	ev_timer_init(&c->timer, timer_cb, 0., 0.);
	c->timer.data = c;
	cl->up = 1;
	LIST_INSERT_HEAD(&d->conns, c, link);
	d->nconns++;
	sg_stats_accepted(d->stats);
	conn_sesslog(c, &sl);
	sg_sesslog_start(d->log, &sl);

	/* Read the client at once: its bytes wait in the session. */
	conn_hold(c);
	side_update_read(c, SG_CLIENT);
	upstream_start(c, now);
	conn_run(c, now);
	conn_release(c);
	return (0);

err2:
	sg_session_free(c->s);
	free(c);
err1:
	/* The transport owns the descriptor: closing it closes that. */
	sg_transport_close(t);
	sg_log_msg(d->log, LOG_ERR, "accept-failed", "out of memory");
	return (-1);
}

/* Call ev(s, now) on every session, then run its actions. */
static void
each(struct sg_daemon *d, void (*ev)(struct sg_session *, uint64_t),
    int force)
{
	struct sg_conn *c, *next;
	uint64_t now = sg_clock_ms();

	for (c = LIST_FIRST(&d->conns); c != NULL; c = next) {
		/* Only c itself can end in here: next stays valid. */
		next = LIST_NEXT(c, link);
		conn_hold(c);
		report_acked(c, now);
		ev(c->s, now);
		conn_run(c, now);
		if (force)
			conn_teardown(c);
		conn_release(c);
	}
}

void
sg_conn_shutdown_all(struct sg_daemon *d)
{

	each(d, sg_session_on_shutdown, 0);
}

void
sg_conn_force_close_all(struct sg_daemon *d)
{

	each(d, sg_session_on_force_close, 1);
}

size_t
sg_conn_closing(const struct sg_daemon *d)
{
	const struct sg_conn *c;
	size_t n = 0;

	LIST_FOREACH(c, &d->conns, link)
		if (sg_session_closing(c->s))
			n++;
	return (n);
}

/* Sessions released in one sweep before the heap is trimmed. */
#define TRIM_AFTER	64

void
sg_conn_sweep(struct sg_daemon *d, uint64_t quiet_ms)
{
	struct sg_conn *c;
	uint64_t now = sg_clock_ms();
	size_t n = 0;

	LIST_FOREACH(c, &d->conns, link) {
		if (c->released || now - c->last_read < quiet_ms)
			continue;
		sg_session_release_idle(c->s);
		c->released = 1;
		n++;
	}
	/*
	 * glibc keeps freed parser memory for reuse; without a trim an idle
	 * daemon's RSS stays at its busiest (the bench measured 24 KB per
	 * idle session before, 12 KB after).  The kept upstream connections
	 * go every time: what a burst of sessions took, it has given back.
	 */
	sg_upconn_pool_drain(&d->upconns);
	if (n >= TRIM_AFTER)
		malloc_trim(0);
}

void
sg_conn_batch_start(struct sg_daemon *d)
{

	sg_batch_init(&d->flushing, flush_queued);
	sg_batch_start(&d->flushing, d->loop);
}

void
sg_conn_batch_stop(struct sg_daemon *d)
{

	sg_batch_stop(&d->flushing, d->loop);
}
