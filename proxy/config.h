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

/* Opaque types. */
struct sg_config_args;

enum sg_close_order {
	SG_CLOSE_CLIENT_FIRST,
	SG_CLOSE_SERVER_FIRST
};

enum sg_undeliverable {
	SG_UNDELIVERABLE_AUTO,	/* bounce, unless stream management is on */
	SG_UNDELIVERABLE_BOUNCE,
	SG_UNDELIVERABLE_LOG
};

enum sg_log_format {
	SG_LOG_FORMAT_AUTO,	/* journal if JOURNAL_STREAM names stderr */
	SG_LOG_FORMAT_TEXT,	/* key=value lines on stderr */
	SG_LOG_FORMAT_JSON,	/* one JSON object a line on stderr */
	SG_LOG_FORMAT_JOURNAL	/* sd_journal_send with fields */
};

/* send-proxy: the PROXY protocol header the upstream gets first. */
enum sg_send_proxy {
	SG_SEND_PROXY_NO,
	SG_SEND_PROXY_V1,	/* text line */
	SG_SEND_PROXY_V2	/* binary */
};

enum sg_tls_mode {
	SG_TLS_NONE,		/* plain TCP */
	SG_TLS_STARTTLS,	/* we offer <starttls/> and require it */
	SG_TLS_DIRECT		/* TLS from the first byte (XEP-0368) */
};

/* What each session of a listener does; times in milliseconds. */
struct sg_session_options {
	unsigned idle_timeout_ms;	/* default 300000 (5 min) */
	unsigned close_timeout_ms;	/* default 5000 */
	unsigned stanza_timeout_ms;	/* default 30000 */
	unsigned connect_timeout_ms;	/* default 10000 */
	enum sg_close_order close_order;
	enum sg_undeliverable undeliverable;
	int rewrite_idle_errors;	/* default 0 */
	int sm_handback;		/* default 1: auto */
	size_t max_stanza;		/* default 262144 */
	unsigned max_depth;		/* default 64 */
	unsigned max_attrs;		/* default 64 */
	size_t max_name;		/* default 1024 */
	size_t max_value;		/* default 65536 */
	size_t high_water;		/* default 1 MiB: stop reading */
	size_t low_water;		/* default 256 KiB: read again */
	enum sg_tls_mode tls;		/* default none */
	int upstream_tls;		/* default 0 */
	int upstream_tls_verify;	/* default 1 */
	enum sg_send_proxy send_proxy;	/* default no */
	int accept_proxy;		/* default 0 */
};

struct sg_listener_config {
	char *name;		/* section name */
	char *listen;		/* "ADDR:PORT", "[v6]:PORT", "*:PORT" */
	char *upstream;		/* "HOST:PORT", "[v6]:PORT" as written */
	char *certificate;	/* "FILE [FILE...]", or NULL */
	char *key;		/* as many files, or NULL: in certificate */
	char *upstream_tls_ca;	/* NULL: the system's store */
	char *upstream_tls_name;	/* NULL: upstream's host */
	char *trusted_proxies;	/* "NET [NET...]" for accept-proxy, or NULL */
	struct sg_session_options opt;
};

struct sg_config {
	char *path;			/* the file read, or NULL */
	unsigned max_connections;	/* default 10000, all listeners */
	unsigned workers;		/* default 1; 0: one per CPU */
	unsigned stats_interval_ms;	/* default 60000; 0: never */
	unsigned drain_timeout_ms;	/* default 10000 */
	unsigned watchdog;		/* 1: send WATCHDOG=1 if asked */
	enum sg_log_format log_format;
	int log_level;			/* syslog priority; default LOG_INFO */
	struct sg_listener_config *listeners;
	size_t nlisteners;
	struct sg_config_args *args;	/* private: for sg_config_reload() */
};

/* The most worker processes (workers = N). */
#define SG_CONFIG_WORKERS_MAX	64

/* Exit status for a bad command line or configuration. */
#define SG_CONFIG_EXIT_USAGE	2

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
 * sg_config_usage(void):
 * The --help text, generated from the option table at compile time (a
 * static string: nothing to free).
 */
const char *sg_config_usage(void);

/* One row of the option table, as shown in --help and the man page. */
struct sg_config_option {
	const char *name;	/* INI key and --name */
	const char *type;	/* "DURATION", "SIZE", "N", "yes|no", "a|b" */
	const char *scope;	/* "global", "session" or "listener" */
	const char *def;	/* default as written in a file; "" if required */
	const char *help;	/* one line */
};

/*
 * sg_config_option_at(i):
 * Row i of the option table, or NULL past the last row.  For tests that
 * check every option is documented, and for tools.
 */
const struct sg_config_option *sg_config_option_at(size_t i);

#endif /* !SG_CONFIG_H */
