/*
 * The master's rounds with its running workers: their messages, the
 * totals round every stats-interval, the reload round on SIGHUP, the
 * watchdog round.  The processes themselves (fork, exit, restart, stop)
 * are workers.c's; the design is at the top of workers.c.
 *
 * Owns nothing of its own (struct sg_master, shared through master.h,
 * is workers.c's); calls reload, workmsg, stats, notify, log and config.
 */
#include <sys/types.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <ev.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "reload.h"
#include "stats.h"
#include "workmsg.h"

size_t
sg_master_running(const struct sg_master *m)
{
	size_t i, k = 0;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0)
			k++;
	return (k);
}

/* The whole daemon's totals: exited workers plus each one's last. */
static struct sg_stats *
sum(const struct sg_master *m, size_t *closing)
{
	struct sg_stats *st;
	struct sg_stats_counts c;
	size_t i;

	*closing = 0;
	if ((st = sg_stats_new()) == NULL)
		return (NULL);
	sg_stats_get(m->retired, &c);
	sg_stats_add(st, &c);
	for (i = 0; i < m->n; i++) {
		if (!m->slots[i].have)
			continue;
		sg_stats_add(st, &m->slots[i].last.counts);
		*closing += m->slots[i].last.closing;
	}
	return (st);
}

void
sg_master_log_totals(struct sg_master *m)
{
	struct sg_stats *st;
	char status[160];
	size_t closing, n;

	if ((st = sum(m, &closing)) == NULL)
		return;
	sg_stats_log_workers(st, m->log, closing, (unsigned)sg_master_running(m),
	    m->restarts);
	n = (size_t)snprintf(status, sizeof(status), "workers: %zu/%u; ",
	    sg_master_running(m), m->n);
	if (n < sizeof(status))
		sg_stats_status(st, closing, status + n, sizeof(status) - n);
	if (!m->stopping)
		sg_notify_status(m->notify, status);
	sg_stats_free(st);
}

static void
send_all(struct sg_master *m, enum sg_workmsg_type type)
{
	struct sg_master_slot *s;
	size_t i;

	for (i = 0; i < m->n; i++) {
		s = &m->slots[i];
		if (s->pid == 0 || s->fd == -1 || !s->listening)
			continue;
		if (sg_workmsg_tell(s->fd, type) == 0 &&
		    type == SG_WORKMSG_REPORT)
			s->report_due = 1;
	}
}

int
sg_master_reports_due(const struct sg_master *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].report_due)
			return (1);
	return (0);
}

static void
ready_if_all(struct sg_master *m)
{
	struct sg_log_rec r;
	char status[64];
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!m->slots[i].listening)
			return;
	m->ready = 1;
	/*
	 * A worker's own event=listening comes before its message to the
	 * master: only this line says that a death from now on is a crash
	 * to restart, not a failed start.
	 */
	sg_log_begin(&r, m->log, LOG_NOTICE, "ready");
	sg_log_u64(&r, "workers", m->n);
	sg_log_end(&r);
	snprintf(status, sizeof(status), "workers: %u/%u listening", m->n,
	    m->n);
	sg_notify_ready(m->notify, status);
}

void
sg_master_reload_done_if_all(struct sg_master *m)
{
	struct sg_log_rec r;
	size_t i;

	if (!m->reloading)
		return;
	for (i = 0; i < m->n; i++)
		if (m->slots[i].reload_due)
			return;
	m->reloading = 0;
	sg_log_begin(&r, m->log, LOG_NOTICE, "reload-done");
	sg_log_u64(&r, "workers", sg_master_running(m));
	sg_log_end(&r);
	sg_notify_ready(m->notify, "configuration reloaded");
}

/* A running worker missed its answer to a watchdog ping, or answers again. */
static void
log_unanswered(const struct sg_master_slot *s, int prio, const char *event)
{
	struct sg_log_rec r;

	sg_log_begin(&r, s->m->log, prio, event);
	sg_log_u64(&r, "worker", s->id);
	sg_log_u64(&r, "pid", (uint64_t)s->pid);
	sg_log_end(&r);
}

static void
on_msg(struct sg_master_slot *s, const struct sg_workmsg *msg)
{
	struct sg_master *m = s->m;

	switch (msg->type) {
	case SG_WORKMSG_LISTENING:
		s->listening = s->ponged = 1;
		if (!m->ready)
			ready_if_all(m);
		break;
	case SG_WORKMSG_RELOADED:
	case SG_WORKMSG_RELOAD_FAILED:
		s->reload_due = 0;
		sg_master_reload_done_if_all(m);
		break;
	case SG_WORKMSG_STATS:
	case SG_WORKMSG_FINAL:
		s->last = *msg;
		s->have = 1;
		s->final = msg->type == SG_WORKMSG_FINAL;
		if (s->report_due) {
			s->report_due = 0;
			if (!sg_master_reports_due(m))
				sg_master_log_totals(m);
		}
		break;
	case SG_WORKMSG_PONG:
		s->ponged = 1;
		if (s->unanswered) {
			s->unanswered = 0;
			log_unanswered(s, LOG_NOTICE, "worker-answering");
		}
		break;
	default:
		break;
	}
}

int
sg_master_read(struct sg_master_slot *s)
{
	struct sg_workmsg msg;
	int r;

	while ((r = sg_workmsg_recv(s->fd, &msg)) == 1)
		on_msg(s, &msg);
	return (r);
}

static void
slot_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{

	(void)revents;
	if (sg_master_read(io->data) == -1)
		ev_io_stop(loop, io);	/* it is exiting: SIGCHLD follows */
}

static void
reload(struct sg_master *m)
{
	struct sg_config *ncfg;
	size_t i;
	int failed;

	if (m->stopping)
		return;
	if ((ncfg = sg_reload_read(m->cfg, m->log, m->notify, &failed)) ==
	    NULL) {
		if (failed)
			sg_notify_ready(m->notify, "reload failed");
		return;
	}
	if (sg_config_workers(ncfg) != m->n)
		sg_log_msg(m->log, LOG_WARNING, "workers-unchanged",
		    "workers = %u takes effect on restart; keeping %u",
		    ncfg->workers, m->n);
	sg_reload_apply(&m->cfg, ncfg, m->log);
	sg_reload_every(m->loop, &m->stats_timer,
	    m->cfg->stats_interval_ms / 1000.);
	m->reloading = 1;
	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0 &&
		    kill(m->slots[i].pid, SIGHUP) == 0)
			m->slots[i].reload_due = 1;
	sg_master_reload_done_if_all(m);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{

	(void)loop;
	(void)revents;
	reload(w->data);
}

static void
stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_master *m = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	/* A worker too slow to answer counts with its last report. */
	if (sg_master_reports_due(m)) {
		for (i = 0; i < m->n; i++)
			m->slots[i].report_due = 0;
		sg_master_log_totals(m);
	}
	send_all(m, SG_WORKMSG_REPORT);
	if (!sg_master_reports_due(m))
		sg_master_log_totals(m);
}

/*
 * WATCHDOG=1 only while every running worker answers: a stuck one holds
 * it back, and systemd restarts the service.  A worker waiting out its
 * restart back-off does not: the master is dealing with it, and with the
 * back-off at its 30 s the watchdog would kill every process, cutting the
 * other workers' sessions without their close handshake.
 */
static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_master *m = w->data;
	struct sg_master_slot *s;
	size_t i;
	int ok = 1;

	(void)loop;
	(void)revents;
	for (i = 0; i < m->n; i++) {
		s = &m->slots[i];
		if (s->pid == 0 || s->ponged)
			continue;
		ok = 0;
		/*
		 * Once per episode, so that a watchdog kill names the worker;
		 * not for one still starting, which has not had a ping yet.
		 */
		if (s->listening && !s->unanswered) {
			s->unanswered = 1;
			log_unanswered(s, LOG_WARNING, "worker-not-answering");
		}
	}
	if (ok)
		sg_notify_watchdog(m->notify);
	for (i = 0; i < m->n; i++)
		m->slots[i].ponged = 0;
	send_all(m, SG_WORKMSG_PING);
}
void
sg_master_rounds_init(struct sg_master *m)
{
	uint64_t usec = sg_notify_watchdog_usec(m->notify);
	size_t i;

	ev_signal_init(&m->sighup, hup_cb, SIGHUP);
	ev_timer_init(&m->stats_timer, stats_cb, 0., 0.);
	ev_timer_init(&m->watchdog, watchdog_cb, 0., 0.);
	m->sighup.data = m->stats_timer.data = m->watchdog.data = m;
	for (i = 0; i < m->n; i++) {
		ev_io_init(&m->slots[i].io, slot_io_cb, -1, EV_READ);
		m->slots[i].io.data = &m->slots[i];
	}
	ev_signal_start(m->loop, &m->sighup);
	sg_reload_every(m->loop, &m->stats_timer,
	    m->cfg->stats_interval_ms / 1000.);
	sg_reload_every(m->loop, &m->watchdog, m->cfg->watchdog ? usec / 1e6 :
	    0.);
}
