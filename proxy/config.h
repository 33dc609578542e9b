#ifndef SG_CONFIG_H
#define SG_CONFIG_H

/*
 * Configuration: one struct, filled from one table of typed options that
 * drives the command line, the INI file (inih), the defaults, validation,
 * --check-config and the option list of the man page.
 *
 * The INI file has a [global] section and one section per listener; the
 * session options may stand in [global] (defaults for every listener) or in
 * a listener's section (that listener only).  On the command line,
 * --listen/--upstream make one listener named "default"; they cannot be
 * mixed with -c, whose file is the one list of listeners (so that a reload
 * of the file cannot lose a listener that only the command line named).
 *
 * Precedence, lowest first: built-in default, [global], the listener's own
 * section, --name=value on the command line (which applies to [global] and
 * to every listener).
 *
 * Error messages are one line, without the program name or a newline: the
 * caller prints "stanzaguard: <err>" and exits SG_CONFIG_EXIT_USAGE, or
 * logs it on a failed reload.
 */

#include <stddef.h>

#include "confdata.h"

/* What the command line asked for besides running. */
enum sg_config_action {
	SG_ACTION_RUN,
	SG_ACTION_CHECK,	/* --check-config */
	SG_ACTION_VERSION,	/* --version */
	SG_ACTION_HELP		/* --help */
};

/*
 * sg_config_from_args(argc, argv, action, err, errlen):
 * Parse the command line (and the file named by -c), apply defaults and
 * validate.  Returns a new config, or NULL with one clear message in err
 * naming the file, line, key and what is wrong.  *action says what was
 * asked; for SG_ACTION_VERSION and SG_ACTION_HELP the config is NULL with
 * err empty (the caller prints the version or sg_config_usage() to stdout
 * and exits 0).  For SG_ACTION_CHECK the caller prints "configuration OK"
 * and exits 0.  Uses getopt_long(3) on a copy of argv (kept in the config
 * for sg_config_reload()), so it resets optind but leaves argv as it is.
 * The caller frees the config with sg_config_free().
 */
struct sg_config *sg_config_from_args(int argc, char **argv,
    enum sg_config_action *action, char *err, size_t errlen);

/*
 * sg_config_load(path, err, errlen):
 * Read and validate the INI file at path alone, without command-line
 * overrides.  Returns a new config, or NULL with the message in err.
 */
struct sg_config *sg_config_load(const char *path, char *err, size_t errlen);

/*
 * sg_config_reload(cfg, err, errlen):
 * Build cfg again from where it came from (on SIGHUP): the file read anew,
 * with the same command-line overrides and listeners that made cfg, so that
 * "--log-level=debug -c FILE" stays at debug after a reload.  cfg is left
 * as it is.  Returns a new config, or NULL with the message in err.
 */
struct sg_config *sg_config_reload(const struct sg_config *cfg, char *err,
    size_t errlen);

/*
 * sg_config_free(cfg):
 * Free cfg and everything in it.  A NULL cfg is a no-op.
 */
void sg_config_free(struct sg_config *cfg);

/*
 * sg_config_workers(cfg):
 * The number of processes cfg asks for: workers, or for 0 the number of
 * CPUs online, at most SG_CONFIG_WORKERS_MAX.
 */
unsigned sg_config_workers(const struct sg_config *cfg);

/*
 * sg_config_usage(void):
 * The --help text, generated from the option table at compile time (a
 * static string: nothing to free).
 */
const char *sg_config_usage(void);

#endif /* !SG_CONFIG_H */
