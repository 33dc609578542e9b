#ifndef SG_CONFOPT_H
#define SG_CONFOPT_H

/*
 * The option table of the configuration: every option's name, type,
 * scope, member, default, bounds and help line, from which the INI file,
 * the long options, the defaults, range checks and --help are all driven.
 * Private to the configuration (config.c, confbuild.c, confini.c).
 */

#include <stddef.h>
#include <stdint.h>

#include "confdata.h"
#include "optparse.h"

/*
 * The rows, as an X-macro so that the same rows make the runtime table
 * and the --help text at compile time (a string literal: no buffer filled
 * at run time), and the row indices below.  Defaults are written as in a
 * file and go through the same parser as a file's values.  The type,
 * scope and unit tokens (DAY, KIB, ...) are read by confopt.c.
 *
 * OPT(name, type, scope, member, default, min, max, help)
 */
#define SG_CONFOPT_ROWS(OPT)						\
	OPT("idle-timeout", DURATION, SESSION, idle_timeout_ms, "5m",	\
	    1, DAY, "close a session idle this long (Openfire cuts at 6m)") \
	OPT("close-timeout", DURATION, SESSION, close_timeout_ms, "5s",	\
	    1, HOUR, "wait this long for a close tag, then close the socket") \
	OPT("stanza-timeout", DURATION, SESSION, stanza_timeout_ms, "30s", \
	    1, DAY, "a peer whose partial stanza stalls this long is gone") \
	OPT("connect-timeout", DURATION, SESSION, connect_timeout_ms, "10s", \
	    1, HOUR, "give up connecting to the upstream after this long") \
	OPT("close-order", CLOSE_ORDER, SESSION, close_order,		\
	    "client-first", 0, 0,					\
	    "who gets the close tag first when stanzaguard ends a session") \
	OPT("undeliverable", UNDELIVERABLE, SESSION, undeliverable, "auto", \
	    0, 0, "bounce or log lost stanzas; auto: bounce unless XEP-0198") \
	OPT("sm-handback", SM_HANDBACK, SESSION, sm_handback, "auto",	\
	    0, 0, "auto: XEP-0198 to the server for clients without it")	\
	OPT("rewrite-idle-errors", BOOL, SESSION, rewrite_idle_errors, "no", \
	    0, 1, "turn upstream <connection-timeout/> into a plain close") \
	OPT("max-stanza-size", SIZE, SESSION, max_stanza, "256k",	\
	    KIB, GIB, "a larger stanza ends the session (policy-violation)") \
	OPT("max-depth", UINT, SESSION, max_depth, "64",		\
	    1, 4096, "deepest element nesting allowed")			\
	OPT("max-attributes", UINT, SESSION, max_attrs, "64",		\
	    1, 4096, "most attributes on one element")			\
	OPT("max-name-length", SIZE, SESSION, max_name, "1024",		\
	    1, 64 * KIB, "longest element or attribute name, in bytes")	\
	OPT("max-attribute-length", SIZE, SESSION, max_value, "64k",	\
	    1, 16 * MIB, "longest attribute value, in bytes")		\
	OPT("high-water", SIZE, SESSION, high_water, "1m",		\
	    KIB, GIB, "stop reading a peer while this much waits to go out") \
	OPT("low-water", SIZE, SESSION, low_water, "256k",		\
	    0, GIB, "read that peer again once it is down to this")	\
	OPT("max-connections", UINT, GLOBAL, max_connections, "10000",	\
	    1, 1000000, "most client connections at once, all listeners") \
	OPT("workers", UINT, GLOBAL, workers, "1",			\
	    0, SG_CONFIG_WORKERS_MAX,					\
	    "processes serving clients; 1: no master; 0: one per CPU") \
	OPT("stats-interval", DURATION, GLOBAL, stats_interval_ms, "60s", \
	    0, DAY, "log counters this often; 0: never")		\
	OPT("drain-timeout", DURATION, GLOBAL, drain_timeout_ms, "10s",	\
	    1, HOUR, "on SIGTERM, wait this long for sessions to close") \
	OPT("watchdog", BOOL, GLOBAL, watchdog, "yes",			\
	    0, 1, "keep systemd's watchdog fed when WatchdogSec= is set") \
	OPT("log-format", LOG_FORMAT, GLOBAL, log_format, "auto",	\
	    0, 0, "auto: the journal under systemd, else text on stderr") \
	OPT("log-level", LOG_LEVEL, GLOBAL, log_level, "info",		\
	    0, 0, "least urgent priority logged")			\
	OPT("tls", TLS_MODE, SESSION, tls, "none", 0, 0,		\
	    "TLS to clients: none, starttls (required) or direct")	\
	OPT("upstream-tls", BOOL, SESSION, upstream_tls, "no", 0, 1,	\
	    "talk TLS to the upstream from the first byte")		\
	OPT("upstream-tls-verify", BOOL, SESSION, upstream_tls_verify,	\
	    "yes", 0, 1, "check the upstream's certificate and name")	\
	OPT("send-proxy", SEND_PROXY, SESSION, send_proxy, "no", 0, 0,	\
	    "start each upstream connection with a PROXY protocol header") \
	OPT("accept-proxy", BOOL, SESSION, accept_proxy, "no", 0, 1,	\
	    "clients come through a balancer that sends a PROXY header") \
	OPT("listen", ADDR, LISTENER, listen, "",			\
	    0, 0, "accept clients on ADDR:PORT ([v6]:PORT for IPv6)")	\
	OPT("upstream", ADDR, LISTENER, upstream, "",			\
	    0, 0, "forward each client to the server at HOST:PORT")	\
	OPT("certificate", FILES, LISTENER, certificate, "none", 0, 0,	\
	    "PEM certificate chains for TLS, chosen by SNI, first default") \
	OPT("key", FILES, LISTENER, key, "none", 0, 0,			\
	    "their private keys, one per certificate (none: in its file)") \
	OPT("upstream-tls-ca", FILE, LISTENER, upstream_tls_ca, "none",	\
	    0, 0, "PEM CA file for the upstream (none: the system's)")	\
	OPT("upstream-tls-name", NAME, LISTENER, upstream_tls_name, "none", \
	    0, 0, "SNI and name checked (none: upstream's host)")	\
	OPT("trusted-proxies", NETS, LISTENER, trusted_proxies, "none",	\
	    0, 0, "for accept-proxy: the balancers' networks, ADDR[/BITS]")

/* Row indices, named by member: SG_CONFOPT_listen, ...; then the count. */
#define SG_CONFOPT_INDEX(n, t, s, m, d, lo, hi, h)	SG_CONFOPT_##m,
enum sg_confopt_index { SG_CONFOPT_ROWS(SG_CONFOPT_INDEX) SG_CONFOPT_N };
#undef SG_CONFOPT_INDEX

enum sg_confopt_scope {
	SG_CONFOPT_GLOBAL,	/* a member of struct sg_config */
	SG_CONFOPT_SESSION,	/* of sg_session_options: [global], listener */
	SG_CONFOPT_LISTENER	/* of sg_listener_config: listener only */
};

/* One row of the option table, as shown in --help and the man page. */
struct sg_confopt_info {
	const char *name;	/* INI key and --name */
	const char *type;	/* "DURATION", "SIZE", "N", "yes|no", "a|b" */
	const char *scope;	/* "global", "session" or "listener" */
	const char *def;	/* default as written in a file; "" if required */
	const char *help;	/* one line */
};

/* One row.  An ADDR option has type SG_OPTPARSE_STRING: a char *. */
struct sg_confopt {
	struct sg_confopt_info info;
	struct sg_optparse_spec spec;
	enum sg_confopt_scope scope;
	size_t off;		/* of the member in the scope's struct */
	size_t width;		/* of the member: unsigned or size_t */
};

/* The table, SG_CONFOPT_N rows in the order above. */
extern const struct sg_confopt sg_confopt_rows[SG_CONFOPT_N];

/*
 * sg_confopt_find(name):
 * The row of the option called name, or NULL.
 */
const struct sg_confopt *sg_confopt_find(const char *name);

/*
 * sg_confopt_nearest(name):
 * The name of the option nearest to name if it is close enough to be a
 * typo of it ("did you mean"), else NULL.
 */
const char *sg_confopt_nearest(const char *name);

/*
 * sg_confopt_store(base, o, v):
 * Write v into o's member of base, a struct of o's scope, at the member's
 * width.  Enum and int members are written as unsigned.
 */
void sg_confopt_store(void *base, const struct sg_confopt *o, uint64_t v);

/*
 * sg_confopt_copy(dst, src, o):
 * Copy o's member from src to dst, two structs of o's scope.
 */
void sg_confopt_copy(void *dst, const void *src, const struct sg_confopt *o);

/*
 * sg_confopt_usage(void):
 * The --help text, made from the rows at compile time (static).
 */
const char *sg_confopt_usage(void);

#endif /* !SG_CONFOPT_H */
