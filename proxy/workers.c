/*
 * workers = N > 1: one master, N worker processes.
 *
 * Who accepts.  The master never accepts and holds no session.  Each
 * worker is the ordinary daemon of main.c (its own libev loop, sessions,
 * reloads, drain) and binds its own listening sockets with SO_REUSEPORT
 * (listener.c sets it on every socket when workers > 1), so the kernel
 * spreads new connections over the workers by a hash of the addresses.
 * Sockets passed by systemd cannot be bound again: the master hands the
 * inherited descriptors to every worker (LISTEN_FDS anew in each child)
 * and the workers accept on the same socket.  SO_REUSEPORT lets any
 * process of the same user bind the port too: run one instance per port.
 *
 * Life cycle.  The master validates the configuration (main.c), forks the
 * workers, and is READY=1 for systemd once every worker has reported that
 * it listens.  A worker that fails before that (a port in use, exit 1)
 * stops the others and the master exits with that worker's status, as a
 * single process would.  Later, a worker that dies is logged
 * (event=worker-exited) and restarted after a back-off of 0.5 s, doubled
 * for each further death within a minute of its start, at most 30 s
 * (event=worker-restarting).  Workers die with the master: PR_SET_PDEATHSIG
 * sends them SIGTERM (a graceful stop; their bound sockets close at once),
 * and a worker that finds its socket to the master closed stops too.
 *
 * Signals.  SIGTERM and SIGINT are forwarded to every worker (each closes
 * its sessions by the handshake, as today; a second signal forces them),
 * restarts stop, and the master exits 0 once every worker has exited,
 * with the sum of their event=stopped counts.  SIGHUP: the master reads
 * and validates the file first; a bad file is logged and nothing else
 * happens.  A good one is kept for workers started later, and SIGHUP goes
 * to every worker, which reloads the file itself (listeners, upstreams,
 * session options); READY=1 follows once every worker has answered.
 * workers itself is read at start only.
 *
 * Totals.  Every stats-interval the master asks each worker over its
 * socket (a SOCK_SEQPACKET pair, one struct sg_workmsg a message); each
 * logs its own event=totals worker=K line and sends its counters; once
 * all have answered, the master logs the daemon's event=totals line, the
 * sum, with workers=, restarts= and lost= (sessions that died with a
 * worker).  A
 * worker's last counters before it exits are sent too, so the final line
 * at exit counts every session.  A worker killed by a signal counts with
 * its last report.
 *
 * max-connections is split: each worker accepts at most max-connections /
 * N (rounded up).  The kernel's hash spreads clients about evenly; a
 * worker at its share refuses even if another has room.
 *
 * systemd: only the master notifies (NOTIFY_SOCKET is removed in the
 * workers, so NotifyAccess=main holds): READY=1, RELOADING=1, STOPPING=1,
 * STATUS= with the summed counts, and WATCHDOG=1 only while every worker
 * is running and answered the previous watchdog ping.
 *
 * Logs: every process writes its own records, each one write(2) of one
 * line (or one journal datagram), so lines never mix; records of a worker
 * carry worker=K, the master's process=master.
 *
 * Modules: this file is the master; worker.c is each worker's link to
 * it; workmsg.h is the wire between the two.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "stats.h"
#include "worker.h"
#include "workers.h"
#include "workmsg.h"

#define EXIT_RUNTIME	1
#define BACKOFF_FIRST	0.5	/* s before the first restart */
#define BACKOFF_MAX	30.0
#define BACKOFF_RESET	60.0	/* a worker up this long starts afresh */

struct master;

/* The master's view of worker K, through its restarts. */
struct slot {
	struct master *m;
	unsigned id;
	pid_t pid;			/* 0: not running */
	int fd;				/* our end; -1 */
	ev_io io;
	ev_timer restart;
	ev_tstamp started;
	unsigned deaths;		/* quick deaths in a row */
	int listening;
	int report_due;			/* asked for totals, no answer yet */
	int reload_due;
	int ponged;
	int have;			/* last holds counters */
	int final;			/* last is SG_WORKMSG_FINAL */
	struct sg_workmsg last;
};

struct master {
	struct ev_loop *loop;
	struct sg_config *cfg;
	struct sg_log *log;
	struct sg_notify *notify;
	struct sg_stats *retired;	/* of workers that have exited */
	sg_workers_run_fn *run;
	pid_t pid;
	unsigned n;
	struct slot *slots;
	uint64_t restarts;
	uint64_t stopped, forced;	/* summed SG_WORKMSG_FINALs */
	int ready;
	int reloading;
	int stopping;
	int status;
	ev_signal sigterm, sigint, sighup, sigchld;
	ev_timer stats_timer, watchdog;
};

static void spawn(struct slot *s);

unsigned
sg_workers_count(const struct sg_config *cfg)
{
	long n = cfg->workers;

	if (n == 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	return (n > SG_CONFIG_WORKERS_MAX ? SG_CONFIG_WORKERS_MAX :
	    (unsigned)n);
}

static size_t
running(const struct master *m)
{
	size_t i, k = 0;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0)
			k++;
	return (k);
}

/* The whole daemon's totals: exited workers plus each one's last. */
static struct sg_stats *
sum(const struct master *m, size_t *closing)
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

static void
log_totals(struct master *m)
{
	struct sg_stats *st;
	char status[160];
	size_t closing, n;

	if ((st = sum(m, &closing)) == NULL)
		return;
	sg_stats_log_workers(st, m->log, closing, (unsigned)running(m),
	    m->restarts);
	n = (size_t)snprintf(status, sizeof(status), "workers: %zu/%u; ",
	    running(m), m->n);
	if (n < sizeof(status))
		sg_stats_status(st, closing, status + n, sizeof(status) - n);
	if (!m->stopping)
		sg_notify_status(m->notify, status);
	sg_stats_free(st);
}

static void
send_all(struct master *m, enum sg_workmsg_type type)
{
	struct slot *s;
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

static int
reports_due(const struct master *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].report_due)
			return (1);
	return (0);
}

static void
kill_all(struct master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0)
			(void)kill(m->slots[i].pid, sig);
}

static void
ready_if_all(struct master *m)
{
	char status[64];
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!m->slots[i].listening)
			return;
	m->ready = 1;
	snprintf(status, sizeof(status), "workers: %u/%u listening", m->n,
	    m->n);
	sg_notify_ready(m->notify, status);
}

static void
reload_done_if_all(struct master *m)
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
	sg_log_u64(&r, "workers", running(m));
	sg_log_end(&r);
	sg_notify_ready(m->notify, "configuration reloaded");
}

static void
on_msg(struct slot *s, const struct sg_workmsg *msg)
{
	struct master *m = s->m;

	switch (msg->type) {
	case SG_WORKMSG_LISTENING:
		s->listening = s->ponged = 1;
		if (!m->ready)
			ready_if_all(m);
		break;
	case SG_WORKMSG_RELOADED:
	case SG_WORKMSG_RELOAD_FAILED:
		s->reload_due = 0;
		reload_done_if_all(m);
		break;
	case SG_WORKMSG_STATS:
	case SG_WORKMSG_FINAL:
		s->last = *msg;
		s->have = 1;
		s->final = msg->type == SG_WORKMSG_FINAL;
		if (s->report_due) {
			s->report_due = 0;
			if (!reports_due(m))
				log_totals(m);
		}
		break;
	case SG_WORKMSG_PONG:
		s->ponged = 1;
		break;
	default:
		break;
	}
}

static void
slot_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct slot *s = io->data;
	struct sg_workmsg msg;
	int r;

	(void)revents;
	while ((r = sg_workmsg_recv(s->fd, &msg)) == 1)
		on_msg(s, &msg);
	if (r == -1)
		ev_io_stop(loop, io);	/* it is exiting: SIGCHLD follows */
}

/* Count what the worker of s did into the totals of exited workers. */
static void
retire(struct slot *s)
{
	struct master *m = s->m;
	struct sg_stats_counts *c = &s->last.counts;

	if (s->have) {
		sg_stats_add(m->retired, c);
		if (!s->final)
			sg_stats_lost(m->retired, c->accepted - c->ended);
		else {
			m->stopped += s->last.stopped;
			m->forced += s->last.forced;
		}
	}
	s->have = s->final = s->listening = s->report_due = 0;
	s->reload_due = 0;
}

static void
log_exit(struct slot *s, pid_t pid, int wstatus, int expected)
{
	struct sg_log_rec r;

	sg_log_begin(&r, s->m->log, expected ? LOG_INFO : LOG_WARNING,
	    "worker-exited");
	sg_log_u64(&r, "worker", s->id);
	sg_log_u64(&r, "pid", (uint64_t)pid);
	if (WIFSIGNALED(wstatus))
		sg_log_str(&r, "signal", strsignal(WTERMSIG(wstatus)));
	else
		sg_log_u64(&r, "status", (uint64_t)WEXITSTATUS(wstatus));
	sg_log_end(&r);
}

static void
schedule_restart(struct slot *s)
{
	struct master *m = s->m;
	struct sg_log_rec r;
	double delay = BACKOFF_FIRST;
	unsigned i;

	if (ev_now(m->loop) - s->started >= BACKOFF_RESET)
		s->deaths = 0;
	for (i = 0; i < s->deaths && delay < BACKOFF_MAX; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	s->deaths++;
	sg_log_begin(&r, m->log, LOG_WARNING, "worker-restarting");
	sg_log_u64(&r, "worker", s->id);
	sg_log_ms(&r, "delay", (uint64_t)(delay * 1000));
	sg_log_end(&r);
	ev_timer_set(&s->restart, delay, 0.);
	ev_timer_start(m->loop, &s->restart);
}

/* A worker that never listened at start: the daemon cannot start. */
static void
start_failed(struct master *m, int wstatus)
{

	if (m->stopping)
		return;
	m->status = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0 ?
	    WEXITSTATUS(wstatus) : EXIT_RUNTIME;
	m->stopping = 1;
	ev_timer_stop(m->loop, &m->stats_timer);
	kill_all(m, SIGTERM);
}

static void
finish_stop(struct master *m)
{
	struct sg_log_rec r;

	if (m->status == 0) {
		log_totals(m);
		sg_log_begin(&r, m->log, LOG_NOTICE, "stopped");
		sg_log_u64(&r, "closed_clean", m->stopped - m->forced);
		sg_log_u64(&r, "forced", m->forced);
		sg_log_u64(&r, "workers", m->n);
		sg_log_end(&r);
	}
	ev_break(m->loop, EVBREAK_ALL);
}

static void
slot_exited(struct slot *s, pid_t pid, int wstatus)
{
	struct master *m = s->m;
	struct sg_workmsg msg;
	int never_listened, was_due;

	/*
	 * Its last words may still wait in the socket: read them before
	 * judging, or a worker that listened looks like a start failure.
	 */
	while (s->fd != -1 && sg_workmsg_recv(s->fd, &msg) == 1)
		on_msg(s, &msg);
	never_listened = !s->listening;
	ev_io_stop(m->loop, &s->io);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->pid = 0;
	log_exit(s, pid, wstatus, m->stopping);
	was_due = s->report_due;
	retire(s);
	if (!m->ready && never_listened)
		start_failed(m, wstatus);
	else if (!m->stopping) {
		schedule_restart(s);
		reload_done_if_all(m);
		if (was_due && !reports_due(m))
			log_totals(m);
	}
	if (m->stopping && running(m) == 0)
		finish_stop(m);
}

static void
sigchld_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct master *m = w->data;
	pid_t pid;
	int st;
	size_t i;

	(void)loop;
	(void)revents;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < m->n; i++)
			if (m->slots[i].pid == pid)
				slot_exited(&m->slots[i], pid, st);
}

static void
restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slot *s = w->data;

	(void)loop;
	(void)revents;
	if (!s->m->stopping) {
		s->m->restarts++;
		spawn(s);
	}
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct master *m = w->data;
	struct sg_log_rec r;
	char status[64];
	size_t i;

	(void)revents;
	if (!m->stopping) {
		m->stopping = 1;
		sg_log_begin(&r, m->log, LOG_NOTICE, "stopping");
		sg_log_u64(&r, "workers", running(m));
		sg_log_end(&r);
		snprintf(status, sizeof(status), "stopping: %zu workers "
		    "closing their sessions", running(m));
		sg_notify_stopping(m->notify, status);
		ev_timer_stop(loop, &m->stats_timer);
		for (i = 0; i < m->n; i++)
			ev_timer_stop(loop, &m->slots[i].restart);
	}
	/* A second signal goes on too: the workers close by force. */
	kill_all(m, w->signum);
	if (running(m) == 0)
		finish_stop(m);
}

static void
stats_timer_set(struct master *m)
{
	double iv = m->cfg->stats_interval_ms / 1000.;

	ev_timer_stop(m->loop, &m->stats_timer);
	if (iv <= 0.)
		return;
	ev_timer_set(&m->stats_timer, iv, iv);
	ev_timer_start(m->loop, &m->stats_timer);
}

static void
reload(struct master *m)
{
	struct sg_config *ncfg;
	char err[1024];
	size_t i;

	if (m->stopping)
		return;
	if (m->cfg->path == NULL) {
		sg_log_msg(m->log, LOG_NOTICE, "reload-skipped",
		    "started without -c: no configuration file to reload");
		return;
	}
	sg_notify_reloading(m->notify);
	if ((ncfg = sg_config_reload(m->cfg, err, sizeof(err))) == NULL) {
		sg_log_msg(m->log, LOG_ERR, "reload-failed",
		    "%s; keeping the configuration in force", err);
		sg_notify_ready(m->notify, "reload failed");
		return;
	}
	if (sg_workers_count(ncfg) != m->n)
		sg_log_msg(m->log, LOG_WARNING, "workers-unchanged",
		    "workers = %u takes effect on restart; keeping %u",
		    ncfg->workers, m->n);
	sg_config_free(m->cfg);
	m->cfg = ncfg;
	sg_log_set_level(m->log, ncfg->log_level);
	stats_timer_set(m);
	m->reloading = 1;
	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0 &&
		    kill(m->slots[i].pid, SIGHUP) == 0)
			m->slots[i].reload_due = 1;
	reload_done_if_all(m);
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
	struct master *m = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	/* A worker too slow to answer counts with its last report. */
	if (reports_due(m)) {
		for (i = 0; i < m->n; i++)
			m->slots[i].report_due = 0;
		log_totals(m);
	}
	send_all(m, SG_WORKMSG_REPORT);
	if (!reports_due(m))
		log_totals(m);
}

/* WATCHDOG=1 only while every worker runs and answers. */
static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct master *m = w->data;
	size_t i;
	int ok = 1;

	(void)loop;
	(void)revents;
	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid == 0 || !m->slots[i].ponged)
			ok = 0;
	if (ok)
		sg_notify_watchdog(m->notify);
	for (i = 0; i < m->n; i++)
		m->slots[i].ponged = 0;
	send_all(m, SG_WORKMSG_PING);
}

static void
master_watchers(struct master *m, int start)
{
	void (*sig)(struct ev_loop *, ev_signal *) = start ? ev_signal_start :
	    ev_signal_stop;
	size_t i;

	sig(m->loop, &m->sigterm);
	sig(m->loop, &m->sigint);
	sig(m->loop, &m->sighup);
	sig(m->loop, &m->sigchld);
	if (start)
		return;
	ev_timer_stop(m->loop, &m->stats_timer);
	ev_timer_stop(m->loop, &m->watchdog);
	for (i = 0; i < m->n; i++) {
		ev_io_stop(m->loop, &m->slots[i].io);
		ev_timer_stop(m->loop, &m->slots[i].restart);
	}
}

static void
master_init_watchers(struct master *m)
{
	uint64_t usec = sg_notify_watchdog_usec(m->notify);
	size_t i;

	ev_signal_init(&m->sigterm, stop_cb, SIGTERM);
	ev_signal_init(&m->sigint, stop_cb, SIGINT);
	ev_signal_init(&m->sighup, hup_cb, SIGHUP);
	ev_signal_init(&m->sigchld, sigchld_cb, SIGCHLD);
	ev_timer_init(&m->stats_timer, stats_cb, 0., 0.);
	ev_timer_init(&m->watchdog, watchdog_cb, 0., 0.);
	m->sigterm.data = m->sigint.data = m->sighup.data = m;
	m->sigchld.data = m->stats_timer.data = m->watchdog.data = m;
	for (i = 0; i < m->n; i++) {
		m->slots[i].m = m;
		m->slots[i].id = (unsigned)i + 1;
		m->slots[i].fd = -1;
		ev_io_init(&m->slots[i].io, slot_io_cb, -1, EV_READ);
		m->slots[i].io.data = &m->slots[i];
		ev_timer_init(&m->slots[i].restart, restart_cb, 0., 0.);
		m->slots[i].restart.data = &m->slots[i];
	}
	master_watchers(m, 1);
	stats_timer_set(m);
	if (m->cfg->watchdog && usec != 0) {
		ev_timer_set(&m->watchdog, usec / 1e6, usec / 1e6);
		ev_timer_start(m->loop, &m->watchdog);
	}
}

/* Everything of the master but cfg; in a worker, before it runs. */
static void
master_free(struct master *m, int keep_cfg)
{
	size_t i;

	for (i = 0; m->slots != NULL && i < m->n; i++)
		if (m->slots[i].fd != -1)
			close(m->slots[i].fd);
	free(m->slots);
	sg_stats_free(m->retired);
	sg_notify_free(m->notify);
	sg_log_free(m->log);
	if (!keep_cfg)
		sg_config_free(m->cfg);
	free(m);
}

/* In the child: shed the master, become worker s->id.  Never returns. */
static void
become_worker(struct slot *s, int fd)
{
	struct master *m = s->m;
	struct sg_worker *w;
	struct sg_config *cfg = m->cfg;
	sg_workers_run_fn *run = m->run;
	unsigned id = s->id, n = m->n;
	int status;

	/* Die with the master; it may have died before this line. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != m->pid)
		_exit(EXIT_RUNTIME);
	master_watchers(m, 0);
	ev_loop_destroy(m->loop);
	/* Only the master talks to systemd. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	(void)sg_notify_pass_listen_fds(m->notify);
	master_free(m, 1);
	if ((w = sg_worker_new(id, n, fd)) == NULL) {
		sg_config_free(cfg);
		_exit(EXIT_RUNTIME);
	}
	status = run(cfg, w);
	sg_worker_free(w);
	exit(status);
}

static void
spawn(struct slot *s)
{
	struct master *m = s->m;
	struct sg_log_rec r;
	sigset_t all, old;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		goto fail;
	/* Until the worker's own watchers are up (sg_worker_listening). */
	sigemptyset(&all);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGHUP);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		become_worker(s, sv[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		goto fail;
	}
	s->pid = pid;
	s->fd = sv[0];
	s->started = ev_now(m->loop);
	ev_io_set(&s->io, s->fd, EV_READ);
	ev_io_start(m->loop, &s->io);
	sg_log_begin(&r, m->log, LOG_INFO, "worker-started");
	sg_log_u64(&r, "worker", s->id);
	sg_log_u64(&r, "pid", (uint64_t)pid);
	sg_log_end(&r);
	return;

fail:
	sg_log_msg(m->log, LOG_ERR, "worker-failed", "worker %u: %s", s->id,
	    strerror(errno));
	if (m->ready)
		schedule_restart(s);
	else
		start_failed(m, 0);
}

int
sg_workers_master(struct sg_config *cfg, sg_workers_run_fn *run)
{
	struct master *m;
	size_t i;
	int status;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto oom0;
	m->cfg = cfg;
	m->run = run;
	m->pid = getpid();
	m->n = sg_workers_count(cfg);
	if ((m->slots = calloc(m->n, sizeof(*m->slots))) == NULL ||
	    (m->log = sg_log_new(cfg->log_format, cfg->log_level)) == NULL ||
	    (m->notify = sg_notify_new()) == NULL ||
	    (m->retired = sg_stats_new()) == NULL)
		goto oom1;
	if ((m->loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "stanzaguard: cannot start libev\n");
		master_free(m, 0);
		return (EXIT_RUNTIME);
	}
	sg_log_set_tag(m->log, "process", "master");
	master_init_watchers(m);
	for (i = 0; i < m->n && !m->stopping; i++)
		spawn(&m->slots[i]);
	if (running(m) > 0)
		ev_run(m->loop, 0);
	/* Stopped: reap whatever is left (start failures). */
	master_watchers(m, 0);
	status = m->status;
	ev_loop_destroy(m->loop);
	master_free(m, 0);
	return (status);

oom1:
	m->cfg = NULL;
	master_free(m, 0);
oom0:
	fprintf(stderr, "stanzaguard: out of memory\n");
	sg_config_free(cfg);
	return (EXIT_RUNTIME);
}
