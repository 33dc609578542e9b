/*
 * The option table: the rows of confopt.h made into the runtime table and
 * the --help text.
 *
 * Owns the table (static, read-only); calls optparse's types only.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include "confopt.h"

/* Units of the rows' bounds. */
#define DAY	SG_OPTPARSE_DAY
#define HOUR	SG_OPTPARSE_HOUR
#define KIB	SG_OPTPARSE_KIB
#define MIB	SG_OPTPARSE_MIB
#define GIB	SG_OPTPARSE_GIB

static const struct sg_optparse_choice close_order_names[] = {
	{ "client-first", SG_CLOSE_CLIENT_FIRST },
	{ "server-first", SG_CLOSE_SERVER_FIRST },
	{ NULL, 0 }
};
static const struct sg_optparse_choice undeliverable_names[] = {
	{ "auto", SG_POLICY_AUTO },
	{ "bounce", SG_POLICY_BOUNCE },
	{ "log", SG_POLICY_LOG },
	{ NULL, 0 }
};
static const struct sg_optparse_choice sm_handback_names[] = {
	{ "auto", 1 },
	{ "no", 0 },
	{ NULL, 0 }
};
static const struct sg_optparse_choice tls_mode_names[] = {
	{ "none", SG_TLS_NONE },
	{ "starttls", SG_TLS_STARTTLS },
	{ "direct", SG_TLS_DIRECT },
	{ NULL, 0 }
};
static const struct sg_optparse_choice send_proxy_names[] = {
	{ "no", SG_SEND_PROXY_NO },
	{ "v1", SG_SEND_PROXY_V1 },
	{ "v2", SG_SEND_PROXY_V2 },
	{ NULL, 0 }
};
static const struct sg_optparse_choice log_format_names[] = {
	{ "auto", SG_LOG_FORMAT_AUTO },
	{ "text", SG_LOG_FORMAT_TEXT },
	{ "json", SG_LOG_FORMAT_JSON },
	{ "journal", SG_LOG_FORMAT_JOURNAL },
	{ NULL, 0 }
};
static const struct sg_optparse_choice log_level_names[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
	{ NULL, 0 }
};

/* Per type token: parser type, enum names, metavar for --help. */
#define T_UINT		SG_OPTPARSE_UINT, NULL
#define T_DURATION	SG_OPTPARSE_DURATION, NULL
#define T_SIZE		SG_OPTPARSE_SIZE, NULL
#define T_BOOL		SG_OPTPARSE_BOOL, NULL
#define T_ADDR		SG_OPTPARSE_STRING, NULL
#define T_FILES		SG_OPTPARSE_STRING, NULL
#define T_FILE		SG_OPTPARSE_STRING, NULL
#define T_NAME		SG_OPTPARSE_STRING, NULL
#define T_TLS_MODE	SG_OPTPARSE_ENUM, tls_mode_names
#define T_SEND_PROXY	SG_OPTPARSE_ENUM, send_proxy_names
#define T_NETS		SG_OPTPARSE_STRING, NULL
#define T_CLOSE_ORDER	SG_OPTPARSE_ENUM, close_order_names
#define T_UNDELIVERABLE	SG_OPTPARSE_ENUM, undeliverable_names
#define T_SM_HANDBACK	SG_OPTPARSE_ENUM, sm_handback_names
#define T_LOG_FORMAT	SG_OPTPARSE_ENUM, log_format_names
#define T_LOG_LEVEL	SG_OPTPARSE_ENUM, log_level_names
#define M_UINT		"N"
#define M_DURATION	"DURATION"
#define M_SIZE		"SIZE"
#define M_BOOL		"yes|no"
#define M_ADDR		"ADDR:PORT"
#define M_FILES		"FILE [FILE...]"
#define M_FILE		"FILE"
#define M_NAME		"NAME"
#define M_TLS_MODE	"none|starttls|direct"
#define M_SEND_PROXY	"no|v1|v2"
#define M_NETS		"NET [NET...]"
#define M_CLOSE_ORDER	"client-first|server-first"
#define M_UNDELIVERABLE	"auto|bounce|log"
#define M_SM_HANDBACK	"auto|no"
#define M_LOG_FORMAT	"auto|text|json|journal"
#define M_LOG_LEVEL	"error|warning|notice|info|debug"

/* Per scope token: the struct holding the member, the scope's name. */
#define S_GLOBAL	struct sg_config
#define S_SESSION	struct sg_session_options
#define S_LISTENER	struct sg_listener_config
#define MEMBER(s, m)	offsetof(S_##s, m), sizeof(((S_##s *)0)->m)
#define SN_GLOBAL	"global"
#define SN_SESSION	"session"
#define SN_LISTENER	"listener"

#define ROW(n, t, s, m, d, lo, hi, h)					\
	{ { n, M_##t, SN_##s, d, h }, { T_##t, lo, hi },		\
	  SG_CONFOPT_##s, MEMBER(s, m) },
const struct sg_confopt sg_confopt_rows[SG_CONFOPT_N] = {
	SG_CONFOPT_ROWS(ROW)
};
#undef ROW

_Static_assert(sizeof(enum sg_close_order) == sizeof(unsigned) &&
    sizeof(enum sg_undeliverable_policy) == sizeof(unsigned) &&
    sizeof(enum sg_log_format) == sizeof(unsigned) &&
    sizeof(enum sg_tls_mode) == sizeof(unsigned) &&
    sizeof(enum sg_send_proxy) == sizeof(unsigned) &&
    sizeof(int) == sizeof(unsigned),
    "sg_confopt_store() writes enums as unsigned");

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
    "  --certificate=\"FILE...\" --key=\"FILE...\" --trusted-proxies=\"NET...\"\n"
    "  --upstream-tls-ca=FILE --upstream-tls-name=NAME\n"
    "      without -c: that listener's TLS files and names, and the\n"
    "      balancers trusted for accept-proxy; see stanzaguard.conf(5)\n"
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
    SG_CONFOPT_ROWS(ROW);
#undef ROW

const struct sg_confopt *
sg_confopt_find(const char *name)
{
	size_t i;

	for (i = 0; i < SG_CONFOPT_N; i++)
		if (strcmp(sg_confopt_rows[i].info.name, name) == 0)
			return (&sg_confopt_rows[i]);
	return (NULL);
}

const char *
sg_confopt_nearest(const char *name)
{
	const char *best = sg_confopt_rows[0].info.name, *n;
	size_t i;

	for (i = 1; i < SG_CONFOPT_N; i++) {
		n = sg_confopt_rows[i].info.name;
		if (sg_optparse_distance(name, n) <
		    sg_optparse_distance(name, best))
			best = n;
	}
	return (sg_optparse_distance(name, best) <= 2 ? best : NULL);
}

void
sg_confopt_store(void *base, const struct sg_confopt *o, uint64_t v)
{
	char *p = (char *)base + o->off;
	unsigned u = (unsigned)v;
	size_t z = (size_t)v;

	if (o->width == sizeof(unsigned))
		memcpy(p, &u, sizeof(u));
	else
		memcpy(p, &z, sizeof(z));
}

void
sg_confopt_copy(void *dst, const void *src, const struct sg_confopt *o)
{

	memcpy((char *)dst + o->off, (const char *)src + o->off, o->width);
}

const char *
sg_confopt_usage(void)
{

	return (usage);
}
