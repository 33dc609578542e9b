#ifndef SG_CONFDATA_H
#define SG_CONFDATA_H

/*
 * What a configuration holds: the structs and enums that config.c fills
 * and the rest of the daemon reads.  Apart from config.h so that the
 * option table (confopt) and the config being built (confbuild) can name
 * the members without including the module that drives them: config.c
 * calls them, never the reverse.  The defaults and bounds are the option
 * table's (confopt.h), written nowhere else; the session limits' defaults
 * are lib/trackdefs.h's, and a unit test holds the table to them.
 */

#include <stddef.h>

#include "log.h"	/* enum sg_log_format */
#include "session.h"	/* enum sg_undeliverable_policy */

/* Opaque types. */
struct sg_config_args;

enum sg_close_order {
	SG_CLOSE_CLIENT_FIRST,
	SG_CLOSE_SERVER_FIRST
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

/*
 * What each session of a listener does; times in milliseconds.  Defaults
 * and bounds: confopt.h's table.
 */
struct sg_session_options {
	unsigned idle_timeout_ms;
	unsigned close_timeout_ms;
	unsigned stanza_timeout_ms;
	unsigned connect_timeout_ms;
	enum sg_close_order close_order;
	enum sg_undeliverable_policy undeliverable;
	int rewrite_idle_errors;
	int sm_handback;			/* 1: auto */
	size_t max_stanza;		/* struct sg_tracker_limits */
	unsigned max_depth;
	unsigned max_attrs;
	size_t max_name;
	size_t max_value;
	size_t high_water;		/* queued this much: stop reading */
	size_t low_water;		/* down to this: read again */
	enum sg_tls_mode tls;
	int upstream_tls;
	int upstream_tls_verify;
	enum sg_send_proxy send_proxy;
	int accept_proxy;
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
	unsigned max_connections;	/* all listeners */
	unsigned workers;		/* 0: one per CPU */
	unsigned stats_interval_ms;	/* 0: never */
	unsigned drain_timeout_ms;
	unsigned watchdog;		/* 1: send WATCHDOG=1 if asked */
	enum sg_log_format log_format;
	int log_level;			/* syslog priority */
	struct sg_listener_config *listeners;
	size_t nlisteners;
	struct sg_config_args *args;	/* private: for sg_config_reload() */
};

/* The most worker processes (workers = N). */
#define SG_CONFIG_WORKERS_MAX	64

/* Exit status for a bad command line or configuration. */
#define SG_CONFIG_EXIT_USAGE	2
/* Exit status for a failure at start: a port in use, no memory. */
#define SG_CONFIG_EXIT_RUNTIME	1

#endif /* !SG_CONFDATA_H */
