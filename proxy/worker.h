#ifndef SG_WORKER_H
#define SG_WORKER_H

/*
 * The worker's side of workers = N > 1: its link to the master (see
 * workers.h and the design at the top of workers.c).  Every function but
 * sg_worker_new is a no-op on a NULL w, which is what main.c has with
 * workers = 1.
 */

#include <stddef.h>

/* Opaque types. */
struct ev_loop;
struct sg_config;
struct sg_daemon;
struct sg_stats;
struct sg_worker;

/*
 * What runs in each worker: main.c's daemon, given its configuration (to
 * free) and its link to the master.  Returns the exit status.
 */
typedef int sg_worker_run_fn(struct sg_config *cfg, struct sg_worker *w);

/* What the master asks of a worker's daemon. */
enum sg_worker_request {
	SG_WORKER_REPORT,	/* log your totals, then sg_worker_report() */
	SG_WORKER_ORPHANED	/* the master is gone: stop as on SIGTERM */
};

typedef void sg_worker_request_fn(struct sg_daemon *d,
    enum sg_worker_request req);

/*
 * sg_worker_new(id, n, fd):
 * Worker id (1 to n) of n, talking to the master over fd, which it takes
 * over.  Returns NULL (fd left open) if out of memory.
 */
struct sg_worker *sg_worker_new(unsigned id, unsigned n, int fd);

/*
 * sg_worker_free(w):
 * Close the link to the master and free w.
 */
void sg_worker_free(struct sg_worker *w);

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

#endif /* !SG_WORKER_H */
