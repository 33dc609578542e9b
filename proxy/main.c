/*
 * stanzaguard: a proxy in front of legacy XMPP servers that closes every
 * stream by the close-tag handshake, so that no stanza is lost.
 *
 * main.c holds the daemon's only mutable global state, in one struct on
 * main()'s heap, and its life cycle: configuration, listeners, signals
 * (SIGTERM/SIGINT drain and stop, SIGHUP reload), periodic totals and the
 * systemd watchdog.  With workers > 1 the same daemon runs in each worker
 * process under a master (workers.c).  Exit status: 0 after a clean stop,
 * 1 on a runtime failure at start (a port in use, the resolver down, no
 * memory), 2 on a bad command line or configuration (an address that
 * cannot be).
 *
 * Owns struct sg_daemon; calls everything below it: config, listener,
 * conn and prelude (the stop), reload, notify, stats, log, workers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "prelude.h"
#include "reload.h"
#include "route.h"
#include "stats.h"
#include "workers.h"

/* Sessions that read nothing this long give back their parser memory. */
#define SWEEP_MS	5000

static void
status_line(struct sg_daemon *d, char *buf, size_t len)
{

	sg_stats_status(d->stats, sg_conn_closing(d), buf, len);
}

/* SIGTERM or SIGINT: stop accepting, close every session, then exit. */
static void
stop_begin(struct sg_daemon *d)
{
	struct sg_log_rec r;
	char status[128];

	d->stopping = 1;
	d->stop_sessions = d->nconns;
	sg_listener_stop_all(d);
	sg_log_begin(&r, d->log, LOG_NOTICE, "stopping");
	sg_log_u64(&r, "sessions", d->nconns);
	sg_log_end(&r);
	snprintf(status, sizeof(status), "stopping: %zu sessions closing",
	    d->nconns);
	sg_notify_stopping(d->notify, status);
	if (sg_daemon_drained(d)) {
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_set(&d->drain, d->cfg->drain_timeout_ms / 1000., 0.);
	ev_timer_start(d->loop, &d->drain);
	/* The last connection to end breaks the loop (conn.c, prelude.c). */
	sg_prelude_close_all(d);
	sg_conn_shutdown_all(d);
}

/*
 * End every prelude left and every session now.  Returns how many were
 * open: sessions and preludes, as d->nconns counts them.
 */
static size_t
close_all_now(struct sg_daemon *d)
{
	size_t n = d->nconns;

	sg_prelude_close_all(d);
	sg_conn_force_close_all(d);
	return (n);
}

static void
force_close(struct sg_daemon *d)
{

	d->stop_forced += close_all_now(d);
	ev_break(d->loop, EVBREAK_ALL);
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sg_daemon *d = w->data;

	(void)loop;
	(void)revents;
	/* A second signal while draining: do not wait any longer. */
	if (d->stopping)
		force_close(d);
	else
		stop_begin(d);
}

static void
drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{

	(void)loop;
	(void)revents;
	force_close(w->data);
}

static void
stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_daemon *d = w->data;
	char status[128];
	size_t closing;

	(void)loop;
	(void)revents;
	closing = sg_conn_closing(d);
	sg_stats_log(d->stats, d->log, closing);
	sg_notify_status(d->notify, sg_stats_status(d->stats, closing,
	    status, sizeof(status)));
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sg_daemon *d = w->data;

	(void)loop;
	(void)revents;
	sg_notify_watchdog(d->notify);
}

static void
sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{

	(void)loop;
	(void)revents;
	sg_conn_sweep(w->data, SWEEP_MS);
}

/* (Re)start the totals timer with the configured interval. */
static void
stats_timer_set(struct sg_daemon *d)
{

	/* A worker reports when its master asks (worker_request). */
	sg_reload_every(d->loop, &d->stats_timer, d->worker != NULL ? 0. :
	    d->cfg->stats_interval_ms / 1000.);
}

/* The reload was refused (err, unless already logged): say so. */
static void
reload_failed(struct sg_daemon *d, const char *err)
{
	char status[128];

	if (err != NULL)
		sg_reload_log_failed(d->log, err);
	sg_worker_reloaded(d->worker, 0);
	status_line(d, status, sizeof(status));
	sg_notify_ready(d->notify, status);
}

/*
 * SIGHUP: read the file again.  All or nothing: the new listeners and
 * upstreams are set up before anything changes.  Live sessions keep the
 * settings they started with (their route); new ones get the new.
 */
static void
reload(struct sg_daemon *d)
{
	struct sg_config *ncfg;
	struct sg_log_rec r;
	char err[1024], status[128];
	int failed;

	if (d->stopping)
		return;
	ncfg = sg_reload_read(d->cfg, d->log, d->notify, &failed);
	if (ncfg == NULL) {
		if (failed)
			reload_failed(d, NULL);
		return;
	}
	ncfg->max_connections = sg_worker_share(d->worker,
	    ncfg->max_connections);
	if (sg_listener_reconcile(d, ncfg, err, sizeof(err)) !=
	    SG_LISTENER_OK) {
		sg_config_free(ncfg);
		reload_failed(d, err);
		return;
	}
	sg_reload_apply(&d->cfg, ncfg, d->log);
	stats_timer_set(d);
	sg_log_begin(&r, d->log, LOG_NOTICE, "reloaded");
	sg_log_str(&r, "config", ncfg->path);
	sg_log_u64(&r, "listeners", ncfg->nlisteners);
	sg_log_end(&r);
	sg_worker_reloaded(d->worker, 1);
	status_line(d, status, sizeof(status));
	sg_notify_ready(d->notify, status);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{

	(void)loop;
	(void)revents;
	reload(w->data);
}

static void
watchers_init(struct sg_daemon *d)
{
	uint64_t usec;

	ev_signal_init(&d->sigterm, stop_cb, SIGTERM);
	ev_signal_init(&d->sigint, stop_cb, SIGINT);
	ev_signal_init(&d->sighup, hup_cb, SIGHUP);
	ev_timer_init(&d->drain, drain_cb, 0., 0.);
	ev_timer_init(&d->stats_timer, stats_cb, 0., 0.);
	ev_timer_init(&d->watchdog, watchdog_cb, 0., 0.);
	ev_timer_init(&d->sweep, sweep_cb, SWEEP_MS / 1000.,
	    SWEEP_MS / 1000.);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->drain.data = d->stats_timer.data = d->watchdog.data = d;
	d->sweep.data = d;
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);
	ev_timer_start(d->loop, &d->sweep);
	sg_conn_batch_start(d);
	stats_timer_set(d);
	usec = sg_notify_watchdog_usec(d->notify);
	sg_reload_every(d->loop, &d->watchdog, d->cfg->watchdog ? usec / 1e6 :
	    0.);
}

static void
watchers_stop(struct sg_daemon *d)
{

	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	ev_signal_stop(d->loop, &d->sighup);
	ev_timer_stop(d->loop, &d->drain);
	ev_timer_stop(d->loop, &d->stats_timer);
	ev_timer_stop(d->loop, &d->watchdog);
	ev_timer_stop(d->loop, &d->sweep);
	sg_conn_batch_stop(d);
}

/* What the master of a worker process asks. */
static void
worker_request(struct sg_daemon *d, enum sg_worker_request req)
{
	size_t closing;

	switch (req) {
	case SG_WORKER_REPORT:
		closing = sg_conn_closing(d);
		sg_stats_log(d->stats, d->log, closing);
		sg_worker_report(d->worker, d->stats, closing);
		break;
	case SG_WORKER_ORPHANED:
		if (!d->stopping)
			stop_begin(d);
		break;
	}
}

/* Logger, notify, totals and listeners; returns 0 or an exit status. */
static int
start(struct sg_daemon *d)
{
	char err[1024], status[128];
	size_t unused;

	if ((d->log = sg_log_new(d->cfg->log_format, d->cfg->log_level)) ==
	    NULL || (d->notify = sg_notify_new()) == NULL ||
	    (d->stats = sg_stats_new()) == NULL) {
		fprintf(stderr, "stanzaguard: out of memory\n");
		return (SG_CONFIG_EXIT_RUNTIME);
	}
	if (d->worker != NULL) {
		char id[16];

		snprintf(id, sizeof(id), "%u", sg_worker_id(d->worker));
		sg_log_set_tag(d->log, "worker", id);
		d->cfg->max_connections = sg_worker_share(d->worker,
		    d->cfg->max_connections);
	}
	/*
	 * Signals first: once a listener is logged as listening, a SIGHUP or
	 * SIGTERM must find its watcher, not the default action.
	 */
	watchers_init(d);
	switch (sg_listener_reconcile(d, d->cfg, err, sizeof(err))) {
	case SG_LISTENER_OK:
		break;
	case SG_LISTENER_BAD_CONFIG:
		sg_log_msg(d->log, LOG_ERR, "start-failed", "%s", err);
		return (SG_CONFIG_EXIT_USAGE);
	default:
		sg_log_msg(d->log, LOG_ERR, "start-failed", "%s", err);
		return (SG_CONFIG_EXIT_RUNTIME);
	}
	if ((unused = sg_notify_unused_listen_fds(d->notify)) > 0)
		sg_log_msg(d->log, LOG_WARNING, "unused-sockets",
		    "%zu sockets passed by systemd match no listener", unused);
	sg_worker_listening(d->worker, d->loop, d, worker_request);
	status_line(d, status, sizeof(status));
	sg_notify_ready(d->notify, status);
	return (0);
}

static void
finish(struct sg_daemon *d)
{
	struct sg_log_rec r;

	if (d->stopping) {
		sg_log_begin(&r, d->log, LOG_NOTICE, "stopped");
		sg_log_u64(&r, "closed_clean", d->stop_sessions -
		    d->stop_forced);
		sg_log_u64(&r, "forced", d->stop_forced);
		sg_log_end(&r);
	}
	if (d->stats != NULL)
		sg_worker_final(d->worker, d->stats, d->stop_sessions,
		    d->stop_forced);
	watchers_stop(d);
	if (!LIST_EMPTY(&d->conns))
		(void)close_all_now(d);
	sg_listener_free_all(d);
	sg_upconn_pool_drain(&d->upconns);
	sg_notify_free(d->notify);
	sg_stats_free(d->stats);
	sg_log_free(d->log);
	sg_config_free(d->cfg);
}

/*
 * --check-config: the file was read and checked; now every listener's TLS
 * files, loaded and freed as a start loads them (the same message, exit
 * 2), binding and resolving nothing, so that it can run beside the
 * daemon before a reload.  An expired certificate is the same warning.
 */
static int
check_config(struct sg_config *cfg)
{
	struct sg_log *log;
	char err[1024];
	int status = EXIT_SUCCESS;

	if ((log = sg_log_new(cfg->log_format, cfg->log_level)) == NULL) {
		fprintf(stderr, "stanzaguard: out of memory\n");
		status = SG_CONFIG_EXIT_RUNTIME;
	} else if (sg_route_check(cfg, log, err, sizeof(err)) == -1) {
		fprintf(stderr, "stanzaguard: %s\n", err);
		status = SG_CONFIG_EXIT_USAGE;
	} else
		printf("configuration OK\n");
	sg_log_free(log);
	sg_config_free(cfg);
	return (status);
}

/* The daemon: the whole of it with workers = 1, or one worker process. */
static int
run(struct sg_config *cfg, struct sg_worker *w)
{
	struct sg_daemon *d;
	int status;

	/* On the heap: it holds the 64 KiB read buffer. */
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		fprintf(stderr, "stanzaguard: out of memory\n");
		sg_config_free(cfg);
		return (SG_CONFIG_EXIT_RUNTIME);
	}
	d->cfg = cfg;
	d->worker = w;
	if ((d->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "stanzaguard: cannot start libev\n");
		status = SG_CONFIG_EXIT_RUNTIME;
	} else if ((status = start(d)) == 0)
		ev_run(d->loop, 0);
	finish(d);
	if (d->loop != NULL)
		ev_loop_destroy(d->loop);
	free(d);
	return (status);
}

int
main(int argc, char **argv)
{
	struct sg_config *cfg;
	enum sg_config_action action = SG_ACTION_RUN;
	char err[1024];

	err[0] = '\0';
	cfg = sg_config_from_args(argc, argv, &action, err, sizeof(err));
	if (cfg == NULL && err[0] != '\0') {
		fprintf(stderr, "stanzaguard: %s\n", err);
		return (SG_CONFIG_EXIT_USAGE);
	}
	switch (action) {
	case SG_ACTION_VERSION:
		printf("stanzaguard %s\n", SG_VERSION);
		sg_config_free(cfg);
		return (EXIT_SUCCESS);
	case SG_ACTION_HELP:
		fputs(sg_config_usage(), stdout);
		sg_config_free(cfg);
		return (EXIT_SUCCESS);
	case SG_ACTION_CHECK:
		if (cfg != NULL)
			return (check_config(cfg));
		break;
	default:
		break;
	}
	if (cfg == NULL) {
		fprintf(stderr, "stanzaguard: no configuration\n");
		return (SG_CONFIG_EXIT_USAGE);
	}
	/* Writes use MSG_NOSIGNAL; this is for anything else. */
	signal(SIGPIPE, SIG_IGN);
	if (sg_config_workers(cfg) > 1)
		return (sg_workers_master(cfg, run));
	return (run(cfg, NULL));
}
