#ifndef SG_WORKERS_H
#define SG_WORKERS_H

/*
 * workers = N > 1: a master process that forks, watches and restarts N
 * worker processes, each running the ordinary daemon (main.c's loop) on
 * its own libev loop and its own listening sockets.  The design (who
 * accepts, signals, totals, max-connections, systemd) is described at the
 * top of workers.c.  With workers = 1 none of this runs.
 */

#include "config.h"
#include "worker.h"	/* the worker's side, which main.c calls */

/*
 * sg_workers_master(cfg, run):
 * Be the master of sg_config_workers(cfg) workers, each calling run in a
 * child process, until they have all stopped.  Takes cfg over.  Returns
 * the exit status: 0 after a clean stop, the status of a worker that
 * could not start (1: a port in use, 2: a bad configuration), or that of
 * the first worker that died during the stop (its exit status other than
 * 0, or 1 if a signal killed it).
 */
int sg_workers_master(struct sg_config *cfg, sg_worker_run_fn *run);

#endif /* !SG_WORKERS_H */
