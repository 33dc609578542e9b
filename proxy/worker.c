/*
 * A worker's link to the master: it reports that it listens, answers
 * pings and requests for totals, and stops when the master is gone.  The
 * design of workers = N is at the top of workers.c.
 *
 * Owns the worker's end of the socket; calls workmsg and stats.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "stats.h"
#include "worker.h"
#include "workmsg.h"

struct sg_worker {
	unsigned id;
	unsigned n;
	int fd;				/* to the master */
	struct ev_loop *loop;
	struct sg_daemon *d;
	sg_worker_request_fn *cb;
	ev_io io;
};

struct sg_worker *
sg_worker_new(unsigned id, unsigned n, int fd)
{
	struct sg_worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->id = id;
	w->n = n;
	w->fd = fd;
	return (w);
}

void
sg_worker_free(struct sg_worker *w)
{

	if (w == NULL)
		return;
	close(w->fd);
	free(w);
}

unsigned
sg_worker_id(const struct sg_worker *w)
{

	return (w != NULL ? w->id : 0);
}

unsigned
sg_worker_share(const struct sg_worker *w, unsigned max_connections)
{

	if (w == NULL)
		return (max_connections);
	return ((max_connections + w->n - 1) / w->n);
}

static void
worker_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sg_worker *w = io->data;
	struct sg_workmsg m;
	int r;

	(void)revents;
	while ((r = sg_workmsg_recv(w->fd, &m)) == 1) {
		if (m.type == SG_WORKMSG_PING)
			(void)sg_workmsg_tell(w->fd, SG_WORKMSG_PONG);
		else if (m.type == SG_WORKMSG_REPORT)
			w->cb(w->d, SG_WORKER_REPORT);
	}
	if (r == -1) {
		ev_io_stop(loop, io);
		w->cb(w->d, SG_WORKER_ORPHANED);
	}
}

void
sg_worker_listening(struct sg_worker *w, struct ev_loop *loop,
    struct sg_daemon *d, sg_worker_request_fn *cb)
{
	sigset_t set;

	if (w == NULL)
		return;
	w->loop = loop;
	w->d = d;
	w->cb = cb;
	ev_io_init(&w->io, worker_io_cb, w->fd, EV_READ);
	w->io.data = w;
	ev_io_start(loop, &w->io);
	(void)sg_workmsg_tell(w->fd, SG_WORKMSG_LISTENING);
	/* The daemon's watchers are in place: a pending signal finds them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void
sg_worker_reloaded(struct sg_worker *w, int ok)
{

	if (w != NULL)
		(void)sg_workmsg_tell(w->fd, ok ? SG_WORKMSG_RELOADED :
		    SG_WORKMSG_RELOAD_FAILED);
}

void
sg_worker_report(struct sg_worker *w, const struct sg_stats *st,
    size_t closing)
{
	struct sg_workmsg m;

	if (w == NULL)
		return;
	sg_workmsg_init(&m, SG_WORKMSG_STATS, st);
	m.closing = closing;
	(void)sg_workmsg_send(w->fd, &m);
}

void
sg_worker_final(struct sg_worker *w, const struct sg_stats *st,
    size_t stopped, size_t forced)
{
	struct sg_workmsg m;

	if (w == NULL)
		return;
	if (w->loop != NULL)
		ev_io_stop(w->loop, &w->io);
	sg_workmsg_init(&m, SG_WORKMSG_FINAL, st);
	m.stopped = stopped;
	m.forced = forced;
	(void)sg_workmsg_send(w->fd, &m);
}
