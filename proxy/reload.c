/*
 * SIGHUP's steps and the periodic timers, shared by main.c (the daemon)
 * and master.c (the master of workers).  Calls config, log and notify.
 */
#include <stddef.h>

#include <ev.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

struct sg_config *
sg_reload_read(const struct sg_config *cfg, struct sg_log *log,
    struct sg_notify *notify, int *failed)
{
	struct sg_config *ncfg;
	char err[1024];

	*failed = 0;
	if (cfg->path == NULL) {
		sg_log_msg(log, LOG_NOTICE, "reload-skipped",
		    "started without -c: no configuration file to reload");
		return (NULL);
	}
	sg_notify_reloading(notify);
	if ((ncfg = sg_config_reload(cfg, err, sizeof(err))) == NULL) {
		sg_reload_log_failed(log, err);
		*failed = 1;
	}
	return (ncfg);
}

void
sg_reload_log_failed(struct sg_log *log, const char *err)
{

	sg_log_msg(log, LOG_ERR, "reload-failed",
	    "%s; keeping the configuration in force", err);
}

void
sg_reload_apply(struct sg_config **cfgp, struct sg_config *ncfg,
    struct sg_log *log)
{

	sg_config_free(*cfgp);
	*cfgp = ncfg;
	sg_log_set_level(log, ncfg->log_level);
}

void
sg_reload_every(struct ev_loop *loop, ev_timer *w, double sec)
{

	ev_timer_stop(loop, w);
	if (sec <= 0.)
		return;
	ev_timer_set(w, sec, sec);
	ev_timer_start(loop, w);
}
