#ifndef SG_RELOAD_H
#define SG_RELOAD_H

/*
 * What a daemon (main.c) and the master of workers (master.c) both do on
 * SIGHUP: read the file again, say so to the log and to systemd, put the
 * new configuration in force; and the timers whose interval a reload may
 * change.  Written once so that both say and do the same.
 */

#include <ev.h>

/* Opaque types. */
struct sg_config;
struct sg_log;
struct sg_notify;

/*
 * sg_reload_read(cfg, log, notify, failed):
 * SIGHUP's first steps.  Without a file (started without -c): log
 * event=reload-skipped and return NULL with *failed 0.  Else tell systemd
 * RELOADING=1 and read the file again (sg_config_reload): return the new
 * configuration, or NULL with *failed 1 and event=reload-failed logged;
 * the caller then tells systemd READY=1 (sg_notify_ready) itself.
 */
struct sg_config *sg_reload_read(const struct sg_config *cfg,
    struct sg_log *log, struct sg_notify *notify, int *failed);

/*
 * sg_reload_log_failed(log, err):
 * Log event=reload-failed: err, and that the configuration in force is
 * kept.
 */
void sg_reload_log_failed(struct sg_log *log, const char *err);

/*
 * sg_reload_apply(cfgp, ncfg, log):
 * Put ncfg in force: free *cfgp, make it ncfg, and log at ncfg's level.
 */
void sg_reload_apply(struct sg_config **cfgp, struct sg_config *ncfg,
    struct sg_log *log);

/*
 * sg_reload_every(loop, w, sec):
 * (Re)start the initialised timer w to fire every sec seconds, or stop it
 * for sec <= 0: the totals' stats-interval, the watchdog's interval.
 */
void sg_reload_every(struct ev_loop *loop, ev_timer *w, double sec);

#endif /* !SG_RELOAD_H */
