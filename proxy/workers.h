#ifndef SG_WORKERS_H
#define SG_WORKERS_H

/*
 * workers = N > 1: a master process that forks, watches and restarts N
 * worker processes, each running the ordinary daemon (main.c's loop) on
 * its own libev loop and its own listening sockets.  The design (who
 * accepts, signals, totals, max-connections, systemd) is described at the
 * top of workers.c.  With workers = 1 none of this runs.
 */

#include <stddef.h>

#include "config.h"

/* Opaque types. */
struct sg_daemon;
struct sg_stats;
struct sg_worker;
struct ev_loop;

/*
 * What runs in each worker: main.c's daemon, given its configuration (to
 * free) and its link to the master.  Returns the exit status.
 */
typedef int sg_workers_run_fn(struct sg_config *cfg, struct sg_worker *w);

/* What the master asks of a worker's daemon. */
enum sg_worker_request {
	SG_WORKER_REPORT,	/* log your totals, then sg_worker_report() */
	SG_WORKER_ORPHANED	/* the master is gone: stop as on SIGTERM */
};

typedef void sg_worker_request_fn(struct sg_daemon *d,
    enum sg_worker_request req);

/*
 * sg_workers_count(cfg):
 * The number of processes cfg asks for: workers, or for 0 the number of
 * CPUs online, at most SG_CONFIG_WORKERS_MAX.
 */
unsigned sg_workers_count(const struct sg_config *cfg);

/*
 * sg_workers_master(cfg, run):
 * Be the master of sg_workers_count(cfg) workers, each calling run in a
 * child process, until they have all stopped.  Takes cfg over.  Returns
 * the exit status: 0 after a clean stop, or the status of a worker that
 * could not start (1: a port in use, 2: a bad configuration).
 */
int sg_workers_master(struct sg_config *cfg, sg_workers_run_fn *run);

/*
 * The worker's side.  Every function is a no-op on a NULL w, which is
 * what main.c has with workers = 1.
 */

/*
 * sg_worker_id(w):
 * This worker's number, 1 to N; 0 for a NULL w.
 */
unsigned sg_worker_id(const struct sg_worker *w);

/*
 * sg_worker_share(w, max_connections):
 * This worker's part of the daemon-wide max-connections: divided by N,
 * rounded up.  max_connections itself for a NULL w.
 */
unsigned sg_worker_share(const struct sg_worker *w, unsigned max_connections);

/*
 * sg_worker_listening(w, loop, d, cb):
 * The daemon d is listening: tell the master, let the signals it forwards
 * in (they are blocked from fork until now), and watch the master's
 * requests in loop, handing them to cb(d, req).
 */
void sg_worker_listening(struct sg_worker *w, struct ev_loop *loop,
    struct sg_daemon *d, sg_worker_request_fn *cb);

/*
 * sg_worker_reloaded(w, ok):
 * A SIGHUP from the master was handled: the new configuration is in force
 * (ok 1) or was refused (ok 0).
 */
void sg_worker_reloaded(struct sg_worker *w, int ok);

/*
 * sg_worker_report(w, st, closing):
 * Answer SG_WORKER_REPORT with the worker's totals.
 */
void sg_worker_report(struct sg_worker *w, const struct sg_stats *st,
    size_t closing);

/*
 * sg_worker_final(w, st, stopped, forced):
 * The worker is about to exit: its last totals, and of the sessions open
 * when it was told to stop, how many there were and how many were closed
 * by force.  Stops watching the master.
 */
void sg_worker_final(struct sg_worker *w, const struct sg_stats *st,
    size_t stopped, size_t forced);

#endif /* !SG_WORKERS_H */
