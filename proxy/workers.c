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
 * restarts stop, and the master exits once every worker has exited, with
 * the sum of their event=stopped counts: 0 if each exited 0.  A worker
 * that died during the stop (a signal, or a status other than 0: a crash
 * while draining, or valgrind's status for a leak) fails the stop as it
 * would fail a single process's: event=stopped says workers_failed= and
 * the master exits with the first such status (1 for a signal), so that
 * systemd records the stop as failed and a test under valgrind fails.
 * SIGHUP: the master reads and validates the file first; a bad file is
 * logged and nothing else happens.  A good one is kept for workers
 * started later, and SIGHUP goes to every worker, which reloads the file
 * itself (listeners, upstreams, session options); READY=1 follows once
 * every worker has answered.
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
 * Modules: this file is the master's processes (fork, exit, restart,
 * stop); master.c its rounds with the running workers (messages, totals,
 * reload, watchdog), over the structs of master.h; worker.c is each
 * worker's link to it; workmsg.h is the wire between the two.
 *
 * Owns struct sg_master and the worker processes; calls master (its
 * rounds), worker (in the child), workmsg, config, notify, stats, log.
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
#include "master.h"
#include "notify.h"
#include "stats.h"
#include "worker.h"
#include "workers.h"
#include "workmsg.h"

#define BACKOFF_FIRST	0.5	/* s before the first restart */
#define BACKOFF_MAX	30.0
#define BACKOFF_RESET	60.0	/* a worker up this long starts afresh */

static void spawn(struct sg_master_slot *s);

static void
kill_all(struct sg_master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid != 0)
			(void)kill(m->slots[i].pid, sig);
}

/* Count what the worker of s did into the totals of exited workers. */
static void
retire(struct sg_master_slot *s)
{
	struct sg_master *m = s->m;
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
	s->reload_due = s->unanswered = 0;
}

/* Exit status 0: a clean stop, or (never listened) a clean refusal. */
static int
exited_ok(int wstatus)
{

	return (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
}

static void
log_exit(struct sg_master_slot *s, pid_t pid, int wstatus, int expected)
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
schedule_restart(struct sg_master_slot *s)
{
	struct sg_master *m = s->m;
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

/*
 * A worker that died during the stop, by a signal or with a status other
 * than 0 (a crash while draining; under valgrind, 99 for a leak): the
 * stop has failed, as it would have with workers = 1, so the master
 * exits with that status (1 for a signal) once the others are done.
 */
static void
stop_failed(struct sg_master *m, int wstatus)
{

	m->failed++;
	if (m->stop_status == 0)
		m->stop_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
		    SG_CONFIG_EXIT_RUNTIME;
}

/* A worker that never listened at start: the daemon cannot start. */
static void
start_failed(struct sg_master *m, int wstatus)
{

	if (m->stopping)
		return;
	m->status = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0 ?
	    WEXITSTATUS(wstatus) : SG_CONFIG_EXIT_RUNTIME;
	m->stopping = 1;
	ev_timer_stop(m->loop, &m->stats_timer);
	kill_all(m, SIGTERM);
}

static void
finish_stop(struct sg_master *m)
{
	struct sg_log_rec r;

	if (m->status == 0) {
		sg_master_log_totals(m);
		sg_log_begin(&r, m->log, m->failed > 0 ? LOG_ERR : LOG_NOTICE,
		    "stopped");
		sg_log_u64(&r, "closed_clean", m->stopped - m->forced);
		sg_log_u64(&r, "forced", m->forced);
		sg_log_u64(&r, "workers", m->n);
		if (m->failed > 0) {
			sg_log_u64(&r, "workers_failed", m->failed);
			sg_log_u64(&r, "status", (uint64_t)m->stop_status);
		}
		sg_log_end(&r);
		m->status = m->stop_status;
	}
	ev_break(m->loop, EVBREAK_ALL);
}

static void
slot_exited(struct sg_master_slot *s, pid_t pid, int wstatus)
{
	struct sg_master *m = s->m;
	int never_listened, was_due;

	/*
	 * Its last words may still wait in the socket: read them before
	 * judging, or a worker that listened looks like a start failure.
	 */
	if (s->fd != -1)
		(void)sg_master_read(s);
	never_listened = !s->listening;
	ev_io_stop(m->loop, &s->io);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->pid = 0;
	log_exit(s, pid, wstatus, m->stopping && exited_ok(wstatus));
	was_due = s->report_due;
	retire(s);
	if (m->stopping) {
		if (!exited_ok(wstatus))
			stop_failed(m, wstatus);
	} else if (!m->ready && never_listened)
		start_failed(m, wstatus);
	else {
		schedule_restart(s);
		sg_master_reload_done_if_all(m);
		if (was_due && !sg_master_reports_due(m))
			sg_master_log_totals(m);
	}
	if (m->stopping && sg_master_running(m) == 0)
		finish_stop(m);
}

static void
sigchld_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sg_master *m = w->data;
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
	struct sg_master_slot *s = w->data;

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
	struct sg_master *m = w->data;
	struct sg_log_rec r;
	char status[64];
	size_t i;

	(void)revents;
	if (!m->stopping) {
		m->stopping = 1;
		sg_log_begin(&r, m->log, LOG_NOTICE, "stopping");
		sg_log_u64(&r, "workers", sg_master_running(m));
		sg_log_end(&r);
		snprintf(status, sizeof(status), "stopping: %zu workers "
		    "closing their sessions", sg_master_running(m));
		sg_notify_stopping(m->notify, status);
		ev_timer_stop(loop, &m->stats_timer);
		for (i = 0; i < m->n; i++)
			ev_timer_stop(loop, &m->slots[i].restart);
	}
	/* A second signal goes on too: the workers close by force. */
	kill_all(m, w->signum);
	if (sg_master_running(m) == 0)
		finish_stop(m);
}

static void
master_watchers_stop(struct sg_master *m)
{
	size_t i;

	ev_signal_stop(m->loop, &m->sigterm);
	ev_signal_stop(m->loop, &m->sigint);
	ev_signal_stop(m->loop, &m->sighup);
	ev_signal_stop(m->loop, &m->sigchld);
	ev_timer_stop(m->loop, &m->stats_timer);
	ev_timer_stop(m->loop, &m->watchdog);
	for (i = 0; i < m->n; i++) {
		ev_io_stop(m->loop, &m->slots[i].io);
		ev_timer_stop(m->loop, &m->slots[i].restart);
	}
}

static void
master_init_watchers(struct sg_master *m)
{
	size_t i;

	ev_signal_init(&m->sigterm, stop_cb, SIGTERM);
	ev_signal_init(&m->sigint, stop_cb, SIGINT);
	ev_signal_init(&m->sigchld, sigchld_cb, SIGCHLD);
	m->sigterm.data = m->sigint.data = m->sigchld.data = m;
	for (i = 0; i < m->n; i++) {
		m->slots[i].m = m;
		m->slots[i].id = (unsigned)i + 1;
		m->slots[i].fd = -1;
		ev_timer_init(&m->slots[i].restart, restart_cb, 0., 0.);
		m->slots[i].restart.data = &m->slots[i];
	}
	ev_signal_start(m->loop, &m->sigterm);
	ev_signal_start(m->loop, &m->sigint);
	ev_signal_start(m->loop, &m->sigchld);
	sg_master_rounds_init(m);
}

/* Everything of the master but cfg; in a worker, before it runs. */
static void
master_free(struct sg_master *m, int keep_cfg)
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
become_worker(struct sg_master_slot *s, int fd)
{
	struct sg_master *m = s->m;
	struct sg_worker *w;
	struct sg_config *cfg = m->cfg;
	sg_worker_run_fn *run = m->run;
	unsigned id = s->id, n = m->n;
	int status;

	/* Die with the master; it may have died before this line. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != m->pid)
		_exit(SG_CONFIG_EXIT_RUNTIME);
	master_watchers_stop(m);
	ev_loop_destroy(m->loop);
	/* Only the master talks to systemd. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	(void)sg_notify_pass_listen_fds(m->notify);
	master_free(m, 1);
	if ((w = sg_worker_new(id, n, fd)) == NULL) {
		sg_config_free(cfg);
		_exit(SG_CONFIG_EXIT_RUNTIME);
	}
	status = run(cfg, w);
	sg_worker_free(w);
	exit(status);
}

static void
spawn(struct sg_master_slot *s)
{
	struct sg_master *m = s->m;
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
sg_workers_master(struct sg_config *cfg, sg_worker_run_fn *run)
{
	struct sg_master *m;
	size_t i;
	int status;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto oom0;
	m->cfg = cfg;
	m->run = run;
	m->pid = getpid();
	m->n = sg_config_workers(cfg);
	if ((m->slots = calloc(m->n, sizeof(*m->slots))) == NULL ||
	    (m->log = sg_log_new(cfg->log_format, cfg->log_level)) == NULL ||
	    (m->notify = sg_notify_new()) == NULL ||
	    (m->retired = sg_stats_new()) == NULL)
		goto oom1;
	if ((m->loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "stanzaguard: cannot start libev\n");
		master_free(m, 0);
		return (SG_CONFIG_EXIT_RUNTIME);
	}
	sg_log_set_tag(m->log, "process", "master");
	master_init_watchers(m);
	for (i = 0; i < m->n && !m->stopping; i++)
		spawn(&m->slots[i]);
	if (sg_master_running(m) > 0)
		ev_run(m->loop, 0);
	/* Stopped: reap whatever is left (start failures). */
	master_watchers_stop(m);
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
	return (SG_CONFIG_EXIT_RUNTIME);
}