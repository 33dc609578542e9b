#ifndef SG_MASTER_H
#define SG_MASTER_H

/*
 * The master of workers = N > 1, shared by its two halves: workers.c
 * (the processes: fork, exit, restart, stop) and master.c (its rounds
 * with the running workers: their messages, totals, reload, watchdog).
 * The design is at the top of workers.c.  Private to those two files:
 * the structs are open to both, and to nothing else.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "worker.h"
#include "workmsg.h"

/* Opaque types. */
struct sg_config;
struct sg_log;
struct sg_notify;
struct sg_stats;

/* The master's view of worker K, through its restarts. */
struct sg_master_slot {
	struct sg_master *m;
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
	int unanswered;			/* missed a watchdog round: logged */
	int have;			/* last holds counters */
	int final;			/* last is SG_WORKMSG_FINAL */
	struct sg_workmsg last;
};

struct sg_master {
	struct ev_loop *loop;
	struct sg_config *cfg;
	struct sg_log *log;
	struct sg_notify *notify;
	struct sg_stats *retired;	/* of workers that have exited */
	sg_worker_run_fn *run;
	pid_t pid;
	unsigned n;
	struct sg_master_slot *slots;
	uint64_t restarts;
	uint64_t stopped, forced;	/* summed SG_WORKMSG_FINALs */
	int ready;
	int reloading;
	int stopping;
	int status;			/* exit status; set by a start failure */
	unsigned failed;		/* workers that died during the stop */
	int stop_status;		/* the first one's, or 0 */
	ev_signal sigterm, sigint, sighup, sigchld;
	ev_timer stats_timer, watchdog;
};

/*
 * sg_master_rounds_init(m):
 * Initialise the watchers of m's rounds (SIGHUP, the stats and watchdog
 * timers, each slot's socket watcher; slots' m and id must be set) and
 * start the signal and the timers the configuration asks for.  Sockets
 * are watched once a worker is spawned (ev_io_set, ev_io_start).
 */
void sg_master_rounds_init(struct sg_master *m);

/*
 * sg_master_read(s):
 * Handle every message waiting on s's socket.  Returns as
 * sg_workmsg_recv() did last: 0 (none left) or -1 (the worker is gone).
 */
int sg_master_read(struct sg_master_slot *s);

/*
 * sg_master_running(m):
 * The number of workers running now.
 */
size_t sg_master_running(const struct sg_master *m);

/*
 * sg_master_log_totals(m):
 * Log the daemon's event=totals line: exited workers plus each running
 * one's last report; the systemd status too unless stopping.
 */
void sg_master_log_totals(struct sg_master *m);

/*
 * sg_master_reports_due(m):
 * Non-zero while a worker asked for totals has not answered.
 */
int sg_master_reports_due(const struct sg_master *m);

/*
 * sg_master_reload_done_if_all(m):
 * During a reload, once no worker owes an answer: log event=reload-done
 * and tell systemd READY=1.
 */
void sg_master_reload_done_if_all(struct sg_master *m);

#endif /* !SG_MASTER_H */
