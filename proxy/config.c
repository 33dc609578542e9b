/*
 * Configuration.  One table of typed options drives the INI file, the long
 * options of the command line, the defaults, range checks and --help, so
 * that an option cannot exist in one of them and not the others.
 *
 * This file is longer than our usual 500 lines because the table, the value
 * parsers, the file reader and the command line share private types that
 * would otherwise need a private header; each function stays short.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "config.h"

#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define KIB	1024ULL
#define MIB	(1024 * KIB)
#define GIB	(1024 * MIB)

#define NAME_MAX_LEN	32	/* listener names: they go into every log line */

enum opt_type {
	OT_UINT, OT_DURATION, OT_SIZE, OT_BOOL, OT_ENUM, OT_STRING
};

enum opt_scope {
	SC_GLOBAL,	/* a member of struct sg_config */
	SC_SESSION,	/* of struct sg_session_options: [global] or listener */
	SC_LISTENER	/* of struct sg_listener_config: listener only */
};

struct choice {
	const char *name;
	unsigned val;
};

static const struct choice close_order_names[] = {
	{ "client-first", SG_CLOSE_CLIENT_FIRST },
	{ "server-first", SG_CLOSE_SERVER_FIRST },
	{ NULL, 0 }
};
static const struct choice undeliverable_names[] = {
	{ "auto", SG_UNDELIVERABLE_AUTO },
	{ "bounce", SG_UNDELIVERABLE_BOUNCE },
	{ "log", SG_UNDELIVERABLE_LOG },
	{ NULL, 0 }
};
static const struct choice log_format_names[] = {
	{ "auto", SG_LOG_FORMAT_AUTO },
	{ "text", SG_LOG_FORMAT_TEXT },
	{ "json", SG_LOG_FORMAT_JSON },
	{ "journal", SG_LOG_FORMAT_JOURNAL },
	{ NULL, 0 }
};
static const struct choice log_level_names[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
	{ NULL, 0 }
};

/*
 * The option table, as an X-macro so that the same rows make the runtime
 * table below and the --help text at compile time (a string literal: no
 * buffer filled at run time).  Defaults are written as in a file and go
 * through the same parser as a file's values.
 *
 * OPT(name, type, scope, member, default, min, max, help)
 */
#define SG_OPTIONS(OPT)							\
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
	OPT("listen", ADDR, LISTENER, listen, "",			\
	    0, 0, "accept clients on ADDR:PORT ([v6]:PORT for IPv6)")	\
	OPT("upstream", ADDR, LISTENER, upstream, "",			\
	    0, 0, "forward each client to the server at HOST:PORT")

/* Per type token: runtime type, enum names, metavar for --help. */
#define T_UINT		OT_UINT, NULL
#define T_DURATION	OT_DURATION, NULL
#define T_SIZE		OT_SIZE, NULL
#define T_BOOL		OT_BOOL, NULL
#define T_ADDR		OT_STRING, NULL
#define T_CLOSE_ORDER	OT_ENUM, close_order_names
#define T_UNDELIVERABLE	OT_ENUM, undeliverable_names
#define T_LOG_FORMAT	OT_ENUM, log_format_names
#define T_LOG_LEVEL	OT_ENUM, log_level_names
#define M_UINT		"N"
#define M_DURATION	"DURATION"
#define M_SIZE		"SIZE"
#define M_BOOL		"yes|no"
#define M_ADDR		"ADDR:PORT"
#define M_CLOSE_ORDER	"client-first|server-first"
#define M_UNDELIVERABLE	"auto|bounce|log"
#define M_LOG_FORMAT	"auto|text|json|journal"
#define M_LOG_LEVEL	"error|warning|notice|info|debug"

/* Per scope token: the struct holding the member. */
#define S_GLOBAL	struct sg_config
#define S_SESSION	struct sg_session_options
#define S_LISTENER	struct sg_listener_config
#define MEMBER(s, m)	offsetof(S_##s, m), sizeof(((S_##s *)0)->m)

struct opt {
	struct sg_config_option info;
	enum opt_type type;
	const struct choice *choices;
	enum opt_scope scope;
	size_t off;
	size_t width;
	uint64_t min;
	uint64_t max;
};

#define SN_GLOBAL	"global"
#define SN_SESSION	"session"
#define SN_LISTENER	"listener"

#define ROW(n, t, s, m, d, lo, hi, h)					\
	{ { n, M_##t, SN_##s, d, h }, T_##t, SC_##s, MEMBER(s, m), lo, hi },
static const struct opt opts[] = { SG_OPTIONS(ROW) };
#undef ROW

/* Indices of the rows that validation names. */
#define ROW(n, t, s, m, d, lo, hi, h)	O_##m,
enum { SG_OPTIONS(ROW) NOPT };
#undef ROW

_Static_assert(NOPT == sizeof(opts) / sizeof(opts[0]), "option table");
_Static_assert(sizeof(enum sg_close_order) == sizeof(unsigned) &&
    sizeof(enum sg_undeliverable) == sizeof(unsigned) &&
    sizeof(enum sg_log_format) == sizeof(unsigned) &&
    sizeof(int) == sizeof(unsigned), "store() writes enums as unsigned");

/* --help: listener rows are written by hand above the table's rows. */
#define HELP_GLOBAL(n, t, d, h)	\
	"  --" n "=" M_##t "  [global, default " d "]\n      " h "\n"
#define HELP_SESSION(n, t, d, h) \
	"  --" n "=" M_##t "  [session, default " d "]\n      " h "\n"
#define HELP_LISTENER(n, t, d, h)
#define ROW(n, t, s, m, d, lo, hi, h)	HELP_##s(n, t, d, h)
static const char usage[] =
    "usage: stanzaguard -c FILE [--check-config] [--OPTION=VALUE ...]\n"
    "       stanzaguard --listen ADDR:PORT --upstream HOST:PORT\n"
    "           [--check-config] [--OPTION=VALUE ...]\n"
    "       stanzaguard --version | --help\n"
    "\n"
    "  -c FILE, --config=FILE\n"
    "      read [global] and the listeners from FILE, see"
    " stanzaguard.conf(5)\n"
    "  --listen=ADDR:PORT --upstream=HOST:PORT\n"
    "      without -c: one listener \"default\" accepting on ADDR:PORT\n"
    "      ([::1]:PORT for IPv6) and forwarding to HOST:PORT\n"
    "  --check-config\n"
    "      check the configuration, print \"configuration OK\", exit\n"
    "  --version\n"
    "      print the version, exit\n"
    "  -h, --help\n"
    "      print this help, exit\n"
    "\n"
    "Options.  Each is also a key of the file: global ones in [global],\n"
    "session ones in [global] (all listeners) or in a listener's section.\n"
    "Given here, an option overrides the file for every listener.\n"
    "DURATION: 300, 300s, 5m, 500ms, 1h.  SIZE: 262144, 256k, 1m.\n"
    "\n"
    SG_OPTIONS(ROW);
#undef ROW

/* Where a value came from, for precedence and for error messages. */
enum src_kind { SRC_DEFAULT, SRC_GLOBAL, SRC_SECTION, SRC_CLI };

struct src {
	enum src_kind kind;
	unsigned line;
};

/* The start of an error message: "FILE:LINE: [section] key: ". */
struct place {
	const char *section;	/* NULL: none */
	const char *key;	/* NULL: none */
	unsigned line;		/* 0: none */
	int cli;		/* 1: "--key: " */
};

struct lmeta {
	unsigned line;			/* of the [name] header; 0: CLI */
	struct src src[NOPT];
};

/* The command line kept for sg_config_reload(). */
struct sg_config_args {
	int argc;
	char **argv;
};

#define CUR_NONE	(-2)
#define CUR_GLOBAL	(-1)

/* Everything needed while one config is being built. */
struct builder {
	struct sg_config *cfg;
	struct lmeta *meta;		/* parallel to cfg->listeners */
	struct sg_session_options gopt;	/* defaults, then [global] */
	struct src gsrc[NOPT];
	unsigned gline;			/* line of [global]; 0: none */
	long cur;			/* section: CUR_* or listener index */
	const char *path;
	FILE *fp;
	unsigned line;
	uint64_t cli_val[NOPT];
	const char *cli_str[NOPT];
	int cli_set[NOPT];
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct builder *, const struct place *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: [section] key: ", or "--key: ", or nothing. */
static void
where(const struct builder *b, const struct place *p, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (p->cli) {
		snprintf(buf, len, "--%s: ", p->key);
		return;
	}
	if (b->path != NULL)
		n += (size_t)snprintf(buf + n, len - n, p->line != 0 ?
		    "%s:%u: " : "%s: ", b->path, p->line);
	if (n < len && p->section != NULL)
		n += (size_t)snprintf(buf + n, len - n, p->key != NULL ?
		    "[%s] " : "[%s]: ", p->section);
	if (n < len && p->key != NULL)
		snprintf(buf + n, len - n, "%s: ", p->key);
}

/* Keep the first error only: the one that caused the others. */
static int
fail(struct builder *b, const struct place *p, const char *fmt, ...)
{
	char pre[512], why[512];
	va_list ap;

	if (b->failed)
		return (-1);
	b->failed = 1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	where(b, p, pre, sizeof(pre));
	if (b->errlen > 0)
		snprintf(b->err, b->errlen, "%s%s", pre, why);
	return (-1);
}

/* s in double quotes, escaped and cut short, for a one-line message. */
static const char *
quote(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[n++] = '"';
	for (; *s != '\0' && n + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*s != '\0')
		n += snprintf(buf + n, len - n, "...");
	buf[n++] = '"';
	buf[n] = '\0';
	return (buf);
}

/* Levenshtein distance of two short names, for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], diag, up;

	if (la >= 64 || lb >= 64)
		return (SIZE_MAX);
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return (row[lb]);
}

static const struct opt *
find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < NOPT; i++)
		if (strcmp(opts[i].info.name, name) == 0)
			return (&opts[i]);
	return (NULL);
}

/* Decimal digits only: no sign, no space, no hex. */
static int
parse_digits(const char **sp, uint64_t *v)
{
	const char *s = *sp;

	if (*s < '0' || *s > '9')
		return (-1);
	for (*v = 0; *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			*v = UINT64_MAX;	/* saturate: out of range */
		else
			*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	return (0);
}

static uint64_t
mul_sat(uint64_t v, uint64_t m)
{

	return (v > UINT64_MAX / m ? UINT64_MAX : v * m);
}

/* "300" (seconds), "300s", "5m", "500ms", "1h" in milliseconds. */
static int
parse_duration(const char *s, uint64_t *v)
{

	if (parse_digits(&s, v) == -1)
		return (-1);
	if (strcmp(s, "") == 0 || strcmp(s, "s") == 0)
		*v = mul_sat(*v, SEC);
	else if (strcmp(s, "m") == 0)
		*v = mul_sat(*v, MIN);
	else if (strcmp(s, "h") == 0)
		*v = mul_sat(*v, HOUR);
	else if (strcmp(s, "ms") != 0)
		return (-1);
	return (0);
}

/* "262144", "256k", "1m", "1g": bytes, KiB, MiB, GiB. */
static int
parse_size(const char *s, uint64_t *v)
{

	if (parse_digits(&s, v) == -1)
		return (-1);
	if (strcmp(s, "k") == 0 || strcmp(s, "K") == 0)
		*v = mul_sat(*v, KIB);
	else if (strcmp(s, "m") == 0 || strcmp(s, "M") == 0)
		*v = mul_sat(*v, MIB);
	else if (strcmp(s, "g") == 0 || strcmp(s, "G") == 0)
		*v = mul_sat(*v, GIB);
	else if (*s != '\0')
		return (-1);
	return (0);
}

static int
parse_bool(const char *s, uint64_t *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return (*v = 1, 0);
		if (strcasecmp(s, no[i]) == 0)
			return (*v = 0, 0);
	}
	return (-1);
}

/* v as the shortest exact form of its type: "5m", "256k", "64". */
static const char *
show(const struct opt *o, uint64_t v, char *buf, size_t len)
{
	static const struct { uint64_t mul; const char *unit; } dur[] = {
		{ HOUR, "h" }, { MIN, "m" }, { SEC, "s" }, { 1, "ms" }
	}, siz[] = {
		{ GIB, "g" }, { MIB, "m" }, { KIB, "k" }, { 1, "" }
	};
	size_t i;

	for (i = 0; i < 4 && v != 0; i++) {
		if (o->type == OT_DURATION && v % dur[i].mul == 0)
			break;
		if (o->type == OT_SIZE && v % siz[i].mul == 0)
			break;
	}
	if (v == 0 || o->type == OT_UINT || i == 4)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (o->type == OT_DURATION)
		snprintf(buf, len, "%llu%s",
		    (unsigned long long)(v / dur[i].mul), dur[i].unit);
	else
		snprintf(buf, len, "%llu%s",
		    (unsigned long long)(v / siz[i].mul), siz[i].unit);
	return (buf);
}

static int
parse_enum(const struct opt *o, const char *s, uint64_t *v, char *why,
    size_t len)
{
	const struct choice *c;
	size_t n;
	char q[80];

	for (c = o->choices; c->name != NULL; c++)
		if (strcmp(c->name, s) == 0)
			return (*v = c->val, 0);
	n = (size_t)snprintf(why, len, "%s is not one of ",
	    quote(s, q, sizeof(q)));
	for (c = o->choices; c->name != NULL && n < len; c++)
		n += (size_t)snprintf(why + n, len - n, "%s%s", c->name,
		    c[1].name != NULL ? ", " : "");
	return (-1);
}

/*
 * Parse s as a value of option o into *v, range checked.  Returns 0, or -1
 * with the reason in why.
 */
static int
parse_value(const struct opt *o, const char *s, uint64_t *v, char *why,
    size_t len)
{
	const char *end = s;
	char q[80], lo[32], hi[32];
	int r = -1;

	switch (o->type) {
	case OT_UINT:
		if ((r = parse_digits(&end, v)) == 0 && *end != '\0')
			r = -1;
		if (r == -1)
			snprintf(why, len, "%s is not a number",
			    quote(s, q, sizeof(q)));
		break;
	case OT_DURATION:
		if ((r = parse_duration(s, v)) == -1)
			snprintf(why, len, "%s is not a duration (examples: "
			    "300s, 5m, 500ms)", quote(s, q, sizeof(q)));
		break;
	case OT_SIZE:
		if ((r = parse_size(s, v)) == -1)
			snprintf(why, len, "%s is not a size (examples: "
			    "262144, 256k, 1m)", quote(s, q, sizeof(q)));
		break;
	case OT_BOOL:
		if ((r = parse_bool(s, v)) == -1)
			snprintf(why, len, "%s is not a boolean (yes/no, "
			    "true/false, on/off, 1/0)", quote(s, q, sizeof(q)));
		return (r);
	case OT_ENUM:
		return (parse_enum(o, s, v, why, len));
	case OT_STRING:
		return (-1);
	}
	if (r == 0 && (*v < o->min || *v > o->max)) {
		snprintf(why, len, "%s is out of range (%s..%s)",
		    quote(s, q, sizeof(q)), show(o, o->min, lo, sizeof(lo)),
		    show(o, o->max, hi, sizeof(hi)));
		r = -1;
	}
	return (r);
}

/* Write v into the member of o in base; the table sets the width. */
static void
store(void *base, const struct opt *o, uint64_t v)
{
	char *p = (char *)base + o->off;
	unsigned u = (unsigned)v;
	size_t z = (size_t)v;

	if (o->width == sizeof(unsigned))
		memcpy(p, &u, sizeof(u));
	else
		memcpy(p, &z, sizeof(z));
}

/* Copy the member of o from one struct to another of the same type. */
static void
copy_member(void *dst, const void *srcp, const struct opt *o)
{

	memcpy((char *)dst + o->off, (const char *)srcp + o->off, o->width);
}

/* A bracketed IPv6 address, with an optional %scope. */
static int
valid_v6(const char *host)
{
	char a[INET6_ADDRSTRLEN];
	unsigned char a6[16];
	size_t n = strcspn(host, "%");

	if (n >= sizeof(a) || (host[n] == '%' && host[n + 1] == '\0'))
		return (0);
	memcpy(a, host, n);
	a[n] = '\0';
	return (inet_pton(AF_INET6, a, a6) == 1);
}

/*
 * Split "HOST:PORT" or "[v6]:PORT"; for a listen address (listen != 0),
 * "*:PORT" too, meaning any address.  The syntax is addr.c's, which parses
 * and resolves in the daemon; this only checks, so that --check-config
 * needs no resolver.  Returns 0, or -1
 * with the reason in why (if why is not NULL) as a predicate: "is not
 * ADDR:PORT (...)".
 */
static int
split_hostport(const char *s, char *host, size_t hostlen, unsigned *port,
    int listen, char *why, size_t whylen)
{
	const char *colon, *h = s, *p;
	size_t hl;
	uint64_t v;

	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			goto notaddr;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto notaddr;
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl) != NULL) {
			if (why != NULL)
				snprintf(why, whylen, "needs brackets around "
				    "an IPv6 address, like [::1]:5222");
			return (-1);
		}
	}
	if (hl == 0 || hl >= hostlen || hl > 253)
		goto notaddr;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (h != s && !valid_v6(host))
		goto notaddr;
	if (h == s && strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != hl &&
	    !(listen && strcmp(host, "*") == 0))
		goto notaddr;
	p = colon + 1;
	if (parse_digits(&p, &v) == -1 || *p != '\0')
		goto notaddr;
	if (v < 1 || v > 65535) {
		if (why != NULL)
			snprintf(why, whylen, "has port %s, not in "
			    "1..65535", colon + 1);
		return (-1);
	}
	*port = (unsigned)v;
	return (0);
notaddr:
	if (why != NULL)
		snprintf(why, whylen, "is not %s:PORT (like 127.0.0.1:5222 "
		    "or [::1]:5222)", listen ? "ADDR" : "HOST");
	return (-1);
}

/* Two listen addresses that name the same socket. */
static int
same_addr(const char *a, const char *b)
{
	char ha[256], hb[256];
	unsigned pa, pb;
	unsigned char na[16], nb[16];

	if (split_hostport(a, ha, sizeof(ha), &pa, 1, NULL, 0) == -1 ||
	    split_hostport(b, hb, sizeof(hb), &pb, 1, NULL, 0) == -1 ||
	    pa != pb)
		return (0);
	if (inet_pton(AF_INET6, ha, na) == 1 &&
	    inet_pton(AF_INET6, hb, nb) == 1)
		return (memcmp(na, nb, 16) == 0);
	if (inet_pton(AF_INET, ha, na) == 1 && inet_pton(AF_INET, hb, nb) == 1)
		return (memcmp(na, nb, 4) == 0);
	return (strcasecmp(ha, hb) == 0);
}

/* Parse value for o and store it in base; the place names the culprit. */
static int
set_value(struct builder *b, const struct opt *o, void *base,
    const char *value, const struct place *p)
{
	char why[256], host[256], q[80];
	char **sp = (char **)(void *)((char *)base + o->off);
	unsigned port;
	uint64_t v;

	if (o->type != OT_STRING) {
		if (parse_value(o, value, &v, why, sizeof(why)) == -1)
			return (fail(b, p, "%s", why));
		store(base, o, v);
		return (0);
	}
	if (split_hostport(value, host, sizeof(host), &port,
	    o - opts == O_listen, why, sizeof(why)) == -1)
		return (fail(b, p, "%s %s", quote(value, q, sizeof(q)), why));
	free(*sp);
	if ((*sp = strdup(value)) == NULL)
		return (fail(b, p, "out of memory"));
	return (0);
}

static int
set_defaults(struct builder *b)
{
	struct place p = { NULL, NULL, 0, 0 };
	size_t i;

	for (i = 0; i < NOPT; i++) {
		p.key = opts[i].info.name;
		if (opts[i].scope == SC_GLOBAL &&
		    set_value(b, &opts[i], b->cfg, opts[i].info.def, &p) == -1)
			return (-1);
		if (opts[i].scope == SC_SESSION && set_value(b, &opts[i],
		    &b->gopt, opts[i].info.def, &p) == -1)
			return (-1);
	}
	return (0);
}

static const char *
cur_name(const struct builder *b)
{

	return (b->cur == CUR_GLOBAL ? "global" :
	    b->cfg->listeners[b->cur].name);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	return (n > 0 && n <= NAME_MAX_LEN && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n);
}

/* A new listener called name, its options not set yet. */
static int
add_listener(struct builder *b, const char *name, unsigned line)
{
	struct sg_config *c = b->cfg;
	struct sg_listener_config *l;
	struct lmeta *m;
	struct place p = { NULL, NULL, line, 0 };

	l = reallocarray(c->listeners, c->nlisteners + 1, sizeof(*l));
	if (l == NULL)
		return (fail(b, &p, "out of memory"));
	c->listeners = l;
	m = reallocarray(b->meta, c->nlisteners + 1, sizeof(*m));
	if (m == NULL)
		return (fail(b, &p, "out of memory"));
	b->meta = m;
	l += c->nlisteners;
	m += c->nlisteners;
	memset(l, 0, sizeof(*l));
	memset(m, 0, sizeof(*m));
	m->line = line;
	if ((l->name = strdup(name)) == NULL)
		return (fail(b, &p, "out of memory"));
	b->cur = (long)c->nlisteners++;
	return (0);
}

/* A "[name]" line: start a section, refusing duplicates and typos. */
static int
begin_section(struct builder *b, const char *s)
{
	struct place p = { NULL, NULL, b->line, 0 };
	const char *end = strchr(s, ']'), *rest;
	char name[128], q[80];
	size_t i, n;

	if (end == NULL)
		return (fail(b, &p, "expected ']' after the section name"));
	rest = end + 1 + strspn(end + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return (fail(b, &p, "expected [name] alone on its line"));
	n = (size_t)(end - s - 1) < sizeof(name) ? (size_t)(end - s - 1) :
	    sizeof(name) - 1;
	memcpy(name, s + 1, n);
	name[n] = '\0';
	p.section = name;
	if (strcmp(name, "global") == 0 && b->gline != 0)
		return (fail(b, &p, "duplicate section (first on line %u)",
		    b->gline));
	if (strcmp(name, "global") == 0) {
		b->gline = b->line;
		b->cur = CUR_GLOBAL;
		return (0);
	}
	if (!valid_name(name)) {
		p.section = NULL;
		return (fail(b, &p, "unknown section %s: a listener name is "
		    "1 to 32 letters, digits, '-', '_' or '.'",
		    quote(name, q, sizeof(q))));
	}
	if (strcasecmp(name, "global") == 0 || distance(name, "global") < 2)
		return (fail(b, &p, "unknown section (did you mean [global]? "
		    "any other name is a listener)"));
	for (i = 0; i < b->cfg->nlisteners; i++)
		if (strcmp(b->cfg->listeners[i].name, name) == 0)
			return (fail(b, &p, "duplicate section (first on "
			    "line %u)", b->meta[i].line));
	return (add_listener(b, name, b->line));
}

/*
 * The fgets(3)-like reader for ini_parse_stream(): it counts lines, so that
 * errors name them, refuses lines inih would split, strips leading blanks
 * (inih would take an indented line for a continuation of the one before)
 * and sees section headers, which inih does not report when empty.
 */
static char *
read_line(char *str, int num, void *arg)
{
	struct builder *b = arg;
	struct place p = { NULL, NULL, 0, 0 };
	size_t len, skip;

	if (b->failed || fgets(str, num, b->fp) == NULL)
		return (NULL);
	p.line = ++b->line;
	len = strlen(str);
	if ((len == 0 || str[len - 1] != '\n') && !feof(b->fp)) {
		if (len + 1 < (size_t)num)
			fail(b, &p, "the line holds a NUL byte");
		else
			fail(b, &p, "line longer than %d bytes", num - 2);
		return (NULL);
	}
	skip = b->line == 1 && strncmp(str, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	skip += strspn(str + skip, " \t");
	memmove(str, str + skip, len - skip + 1);
	if (str[0] == '[' && begin_section(b, str) == -1)
		return (NULL);
	return (str);
}

/* Check that o may stand in the current section. */
static int
check_scope(struct builder *b, const struct opt *o, const struct place *p)
{

	if (o->scope == SC_GLOBAL && b->cur != CUR_GLOBAL)
		return (fail(b, p, "a global option: put it in [global]"));
	if (o->scope == SC_LISTENER && b->cur == CUR_GLOBAL)
		return (fail(b, p, "put it in a listener's section, like "
		    "[c2s]"));
	return (0);
}

/* An unknown key: suggest the nearest name if it is close. */
static int
unknown_key(struct builder *b, const struct place *p, const char *name)
{
	size_t i, best = 0;

	for (i = 1; i < NOPT; i++)
		if (distance(name, opts[i].info.name) <
		    distance(name, opts[best].info.name))
			best = i;
	if (distance(name, opts[best].info.name) <= 2)
		return (fail(b, p, "unknown option (did you mean %s?)",
		    opts[best].info.name));
	return (fail(b, p, "unknown option (see stanzaguard.conf(5))"));
}

/* Where option o of the current section lives. */
static void *
member_base(struct builder *b, const struct opt *o)
{

	if (o->scope == SC_GLOBAL)
		return (b->cfg);
	if (o->scope == SC_LISTENER)
		return (&b->cfg->listeners[b->cur]);
	if (b->cur == CUR_GLOBAL)
		return (&b->gopt);
	return (&b->cfg->listeners[b->cur].opt);
}

/* The ini_handler: one "name = value" line.  Returns 1, or 0 on error. */
static int
on_key(void *arg, const char *section, const char *name, const char *value)
{
	struct builder *b = arg;
	struct place p = { NULL, name, b->line, 0 };
	const struct opt *o;
	struct src *s;
	char q[80];

	(void)section;	/* ours is b->cur: inih cuts long names */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(name))
		p.key = quote(name, q, sizeof(q));
	if (b->cur == CUR_NONE) {
		fail(b, &p, "outside any section (put it under [global] or "
		    "a listener)");
		return (0);
	}
	p.section = cur_name(b);
	if ((o = find_opt(name)) == NULL) {
		unknown_key(b, &p, name);
		return (0);
	}
	if (check_scope(b, o, &p) == -1)
		return (0);
	s = b->cur == CUR_GLOBAL ? &b->gsrc[o - opts] :
	    &b->meta[b->cur].src[o - opts];
	if (s->kind != SRC_DEFAULT) {
		fail(b, &p, "set twice (first on line %u)", s->line);
		return (0);
	}
	if (set_value(b, o, member_base(b, o), value, &p) == -1)
		return (0);
	s->kind = b->cur == CUR_GLOBAL ? SRC_GLOBAL : SRC_SECTION;
	s->line = b->line;
	return (1);
}

static int
read_file(struct builder *b, const char *path)
{
	struct place p = { NULL, NULL, 0, 0 };
	int r;

	b->path = path;
	if ((b->fp = fopen(path, "r")) == NULL)
		return (fail(b, &p, "%s", strerror(errno)));
	r = ini_parse_stream(read_line, b, on_key, b);
	if (ferror(b->fp))
		fail(b, &p, "%s", strerror(errno));
	fclose(b->fp);
	b->fp = NULL;
	/* inih's own errors: lines it could not parse. */
	if (r > 0 && !b->failed) {
		p.line = (unsigned)r;
		return (fail(b, &p, "expected name = value, [section] or a "
		    "comment"));
	}
	if (r < 0 && !b->failed)
		return (fail(b, &p, "cannot parse (inih error %d)", r));
	if (!b->failed && b->cfg->nlisteners == 0)
		return (fail(b, &p, "no listener: add a section like [c2s] "
		    "with listen and upstream"));
	return (b->failed ? -1 : 0);
}

/*
 * After the whole file: session options a listener did not set come from
 * [global] (or the default), whatever the order of the sections; then the
 * command line overrides everything.
 */
static void
inherit_and_override(struct builder *b)
{
	struct sg_config *c = b->cfg;
	size_t i, j;

	for (i = 0; i < NOPT; i++) {
		for (j = 0; j < c->nlisteners; j++) {
			if (opts[i].scope != SC_SESSION ||
			    b->meta[j].src[i].kind != SRC_DEFAULT)
				continue;
			copy_member(&c->listeners[j].opt, &b->gopt, &opts[i]);
			b->meta[j].src[i] = b->gsrc[i];
		}
		if (!b->cli_set[i])
			continue;
		if (opts[i].scope == SC_GLOBAL) {
			store(c, &opts[i], b->cli_val[i]);
			continue;
		}
		for (j = 0; j < c->nlisteners; j++) {
			store(&c->listeners[j].opt, &opts[i], b->cli_val[i]);
			b->meta[j].src[i].kind = SRC_CLI;
		}
	}
}

static struct place
place_of(const struct builder *b, size_t l, size_t i)
{
	const struct src *s = &b->meta[l].src[i];
	struct place p = { b->cfg->listeners[l].name, opts[i].info.name,
	    s->line, s->kind == SRC_CLI };

	if (s->kind == SRC_GLOBAL)
		p.section = "global";
	if (s->kind == SRC_DEFAULT)
		p.line = b->meta[l].line;
	return (p);
}

/*
 * Check a pair of related options of listener l: a is the one the message
 * names unless b_ was set somewhere more specific.
 */
static int
blame(const struct builder *b, size_t l, size_t a, size_t b_)
{

	return (b->meta[l].src[b_].kind > b->meta[l].src[a].kind ? 1 : 0);
}

static int
check_listener(struct builder *b, size_t l)
{
	const struct sg_session_options *o = &b->cfg->listeners[l].opt;
	const struct sg_listener_config *lc = &b->cfg->listeners[l];
	struct place p;
	char x[32], y[32];
	size_t i;

	if (lc->listen == NULL || lc->upstream == NULL) {
		p = place_of(b, l, lc->listen == NULL ? O_listen : O_upstream);
		return (fail(b, &p, "missing (every listener needs listen = "
		    "ADDR:PORT and upstream = HOST:PORT)"));
	}
	if (o->low_water >= o->high_water) {
		show(&opts[O_low_water], o->low_water, x, sizeof(x));
		show(&opts[O_high_water], o->high_water, y, sizeof(y));
		if (blame(b, l, O_low_water, O_high_water)) {
			p = place_of(b, l, O_high_water);
			return (fail(b, &p, "%s must be above low-water "
			    "(%s)", y, x));
		}
		p = place_of(b, l, O_low_water);
		return (fail(b, &p, "%s must be below high-water (%s)", x, y));
	}
	if (o->high_water < o->max_stanza) {
		show(&opts[O_high_water], o->high_water, x, sizeof(x));
		show(&opts[O_max_stanza], o->max_stanza, y, sizeof(y));
		if (blame(b, l, O_high_water, O_max_stanza)) {
			p = place_of(b, l, O_max_stanza);
			return (fail(b, &p, "%s is above high-water (%s): a "
			    "stanza that large could never be forwarded",
			    y, x));
		}
		p = place_of(b, l, O_high_water);
		return (fail(b, &p, "%s is below max-stanza-size (%s): a "
		    "stanza that large could never be forwarded", x, y));
	}
	for (i = 0; i < l; i++) {
		if (!same_addr(b->cfg->listeners[i].listen, lc->listen))
			continue;
		p = place_of(b, l, O_listen);
		return (fail(b, &p, "%s is also the address of [%s]",
		    lc->listen, b->cfg->listeners[i].name));
	}
	return (0);
}

static int
validate(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->cfg->nlisteners; i++)
		if (check_listener(b, i) == -1)
			return (-1);
	return (0);
}

static void
args_free(struct sg_config_args *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a);
}

static struct sg_config_args *
args_new(int argc, char *const *argv)
{
	struct sg_config_args *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	if ((a->argv = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		goto fail;
	for (a->argc = 0; a->argc < argc; a->argc++)
		if ((a->argv[a->argc] = strdup(argv[a->argc])) == NULL)
			goto fail;
	return (a);
fail:
	args_free(a);
	return (NULL);
}

void
sg_config_free(struct sg_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nlisteners; i++) {
		free(cfg->listeners[i].name);
		free(cfg->listeners[i].listen);
		free(cfg->listeners[i].upstream);
	}
	free(cfg->listeners);
	free(cfg->path);
	args_free(cfg->args);
	free(cfg);
}

static int
builder_init(struct builder *b, char *err, size_t errlen)
{

	memset(b, 0, sizeof(*b));
	b->err = err;
	b->errlen = errlen;
	b->cur = CUR_NONE;
	if (errlen > 0)
		err[0] = '\0';
	if ((b->cfg = calloc(1, sizeof(*b->cfg))) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "out of memory");
		return (-1);
	}
	return (set_defaults(b));
}

/* Hand over the config if all went well; free it otherwise. */
static struct sg_config *
builder_finish(struct builder *b)
{
	struct sg_config *c = b->cfg;

	free(b->meta);
	b->meta = NULL;
	if (!b->failed && b->path != NULL &&
	    (c->path = strdup(b->path)) == NULL) {
		struct place p = { NULL, NULL, 0, 0 };

		fail(b, &p, "out of memory");
	}
	if (b->failed) {
		sg_config_free(c);
		return (NULL);
	}
	return (c);
}

struct sg_config *
sg_config_load(const char *path, char *err, size_t errlen)
{
	struct builder b;

	if (builder_init(&b, err, errlen) == 0 && read_file(&b, path) == 0) {
		inherit_and_override(&b);
		validate(&b);
	}
	return (builder_finish(&b));
}

enum {
	LO_CHECK = 0x100,
	LO_VERSION,
	LO_TABLE	/* LO_TABLE + i: row i of the table */
};

/* One --name=value of the table: checked now, applied after the file. */
static int
cli_option(struct builder *b, size_t i, const char *value)
{
	struct place p = { NULL, opts[i].info.name, 0, 1 };
	char why[256], host[256], q[80];
	unsigned port;

	if (opts[i].type == OT_STRING) {
		if (b->cli_str[i] != NULL)
			return (fail(b, &p, "given twice (for more than one "
			    "listener, use -c FILE)"));
		if (split_hostport(value, host, sizeof(host), &port,
		    i == O_listen, why, sizeof(why)) == -1)
			return (fail(b, &p, "%s %s", quote(value, q,
			    sizeof(q)), why));
		b->cli_str[i] = value;
		return (0);
	}
	if (parse_value(&opts[i], value, &b->cli_val[i], why,
	    sizeof(why)) == -1)
		return (fail(b, &p, "%s", why));
	b->cli_set[i] = 1;
	return (0);
}

/* The getopt_long(3) table: every row, then our own options. */
static void
long_options(struct option *lo)
{
	static const struct option own[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, LO_CHECK },
		{ "version", no_argument, NULL, LO_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;

	for (i = 0; i < NOPT; i++) {
		lo[i].name = opts[i].info.name;
		lo[i].has_arg = required_argument;
		lo[i].flag = NULL;
		lo[i].val = LO_TABLE + (int)i;
	}
	memcpy(lo + NOPT, own, sizeof(own));
}

/* getopt_long's '?' or ':' for argument arg (without its "=value"). */
static int
bad_option(struct builder *b, int ch, const char *arg)
{
	struct place p = { NULL, NULL, 0, 0 };
	char name[64], q[80];
	size_t n = strcspn(arg, "=");

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, arg, n);
	name[n] = '\0';
	if (strspn(name, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789") != n)
		quote(name, q, sizeof(q));
	else
		snprintf(q, sizeof(q), "%s", name);
	if (ch == ':')
		return (fail(b, &p, "%s: needs a value", q));
	return (fail(b, &p, "%s: unknown option (see --help)", q));
}

/*
 * Parse the command line into b; *path is the -c file.  Returns 0 to go
 * on, 1 when --help or --version ends it, -1 on error.
 */
static int
parse_args(struct builder *b, int argc, char **argv,
    enum sg_config_action *action, const char **path)
{
	struct option lo[NOPT + 5];
	struct place p = { NULL, "config", 0, 1 };
	char shortopt[3] = "-?";
	int ch;

	long_options(lo);
	optind = 0;	/* glibc: start afresh, for a second parse */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		if (ch == 'h' || ch == LO_VERSION) {
			*action = ch == 'h' ? SG_ACTION_HELP :
			    SG_ACTION_VERSION;
			return (1);
		} else if (ch == LO_CHECK)
			*action = SG_ACTION_CHECK;
		else if (ch == 'c' && *path != NULL)
			return (fail(b, &p, "given twice"));
		else if (ch == 'c')
			*path = optarg;
		else if ((ch == ':' || ch == '?') && optopt != 0 &&
		    optopt < LO_CHECK) {
			shortopt[1] = (char)optopt;
			return (bad_option(b, ch, shortopt));
		} else if (ch == ':' || ch == '?')
			return (bad_option(b, ch, argv[optind - 1]));
		else if (cli_option(b, (size_t)(ch - LO_TABLE), optarg) == -1)
			return (-1);
	}
	if (optind < argc) {
		char q[80];

		p.cli = 0;
		p.key = NULL;
		return (fail(b, &p, "unexpected argument %s",
		    quote(argv[optind], q, sizeof(q))));
	}
	return (0);
}

/* --listen and --upstream without -c: the listener "default". */
static int
cli_listener(struct builder *b)
{
	struct place p = { NULL, "listen", 0, 1 };
	const char *ls = b->cli_str[O_listen], *us = b->cli_str[O_upstream];
	struct sg_listener_config *l;

	if (ls == NULL && us == NULL) {
		p.cli = 0;
		p.key = NULL;
		return (fail(b, &p, "no configuration: give -c FILE, or "
		    "--listen ADDR:PORT and --upstream HOST:PORT"));
	}
	if (us == NULL)
		return (fail(b, &p, "needs --upstream HOST:PORT too"));
	if (ls == NULL) {
		p.key = "upstream";
		return (fail(b, &p, "needs --listen ADDR:PORT too"));
	}
	if (add_listener(b, "default", 0) == -1)
		return (-1);
	l = &b->cfg->listeners[0];
	if ((l->listen = strdup(ls)) == NULL ||
	    (l->upstream = strdup(us)) == NULL)
		return (fail(b, &p, "out of memory"));
	b->meta[0].src[O_listen].kind = SRC_CLI;
	b->meta[0].src[O_upstream].kind = SRC_CLI;
	return (0);
}

/* Build a config from the command line a; takes a over. */
static struct sg_config *
from_args(struct sg_config_args *a, enum sg_config_action *action,
    char *err, size_t errlen)
{
	struct builder b;
	struct place p = { NULL, "listen", 0, 1 };
	const char *path = NULL;
	char **argv;
	int r;

	*action = SG_ACTION_RUN;
	if (builder_init(&b, err, errlen) == -1) {
		args_free(a);
		return (builder_finish(&b));
	}
	/* Parse a scratch array: getopt_long permutes what it is given. */
	if ((argv = calloc((size_t)a->argc + 1, sizeof(char *))) == NULL) {
		fail(&b, &p, "out of memory");
		args_free(a);
		return (builder_finish(&b));
	}
	memcpy(argv, a->argv, (size_t)a->argc * sizeof(char *));
	r = parse_args(&b, a->argc, argv, action, &path);
	if (r == 0 && path != NULL && b.cli_str[O_listen] != NULL)
		fail(&b, &p, "cannot be used with -c (put listeners in the "
		    "file)");
	p.key = "upstream";
	if (r == 0 && path != NULL && b.cli_str[O_upstream] != NULL)
		fail(&b, &p, "cannot be used with -c (put listeners in the "
		    "file)");
	if (r == 0 && !b.failed && (path != NULL ? read_file(&b, path) :
	    cli_listener(&b)) == 0) {
		inherit_and_override(&b);
		validate(&b);
	}
	free(argv);
	if (r == 1)
		b.failed = 1;	/* --help, --version: no config, no error */
	b.cfg->args = a;
	return (builder_finish(&b));
}

struct sg_config *
sg_config_from_args(int argc, char **argv, enum sg_config_action *action,
    char *err, size_t errlen)
{
	struct sg_config_args *a;

	if ((a = args_new(argc, argv)) == NULL) {
		*action = SG_ACTION_RUN;
		if (errlen > 0)
			snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	return (from_args(a, action, err, errlen));
}

struct sg_config *
sg_config_reload(const struct sg_config *cfg, char *err, size_t errlen)
{
	struct sg_config_args *a;
	enum sg_config_action action;

	if (cfg->args == NULL && cfg->path != NULL)
		return (sg_config_load(cfg->path, err, errlen));
	if (cfg->args == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "nothing to reload from");
		return (NULL);
	}
	if ((a = args_new(cfg->args->argc, cfg->args->argv)) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	return (from_args(a, &action, err, errlen));
}

const char *
sg_config_usage(void)
{

	return (usage);
}

const struct sg_config_option *
sg_config_option_at(size_t i)
{

	return (i < NOPT ? &opts[i].info : NULL);
}
