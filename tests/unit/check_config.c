/*
 * Config: every option's forms and default, every kind of error with its
 * exact message, precedence ([global] whatever its place, listener, command
 * line), reload, and the documentation listing every option of the table.
 * Runs from the top of the tree (tests/unit/data, the man page); SG_TOP
 * overrides that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "confopt.h"
#include "suites.h"
#include "tracker.h"

#define ERRLEN	1024

static const char *
top(void)
{
	const char *t = getenv("SG_TOP");

	return (t != NULL ? t : ".");
}

/* A file holding text; path gets its name, to unlink. */
static void
write_conf(char *path, size_t len, const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, len, "/tmp/sg-check-config-XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Load text as a file; on error, err holds what follows the path. */
static struct sg_config *
load_text(const char *text, char *err)
{
	struct sg_config *cfg;
	char path[64], e[ERRLEN];
	size_t n;

	write_conf(path, sizeof(path), text);
	cfg = sg_config_load(path, e, sizeof(e));
	unlink(path);
	n = strlen(path);
	if (cfg == NULL) {
		ck_assert_msg(strncmp(e, path, n) == 0, "no path in: %s", e);
		snprintf(err, ERRLEN, "%s", e + n);
	}
	return (cfg);
}

static size_t
count(char **argv)
{
	size_t n = 0;

	while (argv[n] != NULL)
		n++;
	return (n);
}

static struct sg_config *
from_argv(char **argv, enum sg_config_action *action, char *err)
{

	return (sg_config_from_args((int)count(argv), argv, action, err,
	    ERRLEN));
}

/* The member an option names, read by hand to check the table's offsets. */
static uint64_t
member(const struct sg_config *c, const struct sg_session_options *o,
    const char *name)
{
	static const char *const names[] = { "idle-timeout", "close-timeout",
	    "stanza-timeout", "connect-timeout", "close-order",
	    "undeliverable", "sm-handback", "rewrite-idle-errors",
	    "max-stanza-size",
	    "max-depth", "max-attributes", "max-name-length",
	    "max-attribute-length", "high-water", "low-water",
	    "max-connections", "stats-interval", "drain-timeout", "watchdog",
	    "log-format", "log-level", "workers", "tls", "upstream-tls",
	    "upstream-tls-verify", "send-proxy", "accept-proxy" };
	const uint64_t v[] = { o->idle_timeout_ms, o->close_timeout_ms,
	    o->stanza_timeout_ms, o->connect_timeout_ms, o->close_order,
	    o->undeliverable, (uint64_t)o->sm_handback,
	    (uint64_t)o->rewrite_idle_errors, o->max_stanza,
	    o->max_depth, o->max_attrs, o->max_name, o->max_value,
	    o->high_water, o->low_water, c->max_connections,
	    c->stats_interval_ms, c->drain_timeout_ms, c->watchdog,
	    c->log_format, (uint64_t)c->log_level, c->workers, o->tls,
	    (uint64_t)o->upstream_tls, (uint64_t)o->upstream_tls_verify,
	    o->send_proxy, (uint64_t)o->accept_proxy };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return (v[i]);
	ck_abort_msg("no member for %s", name);
	return (0);
}

/*
 * Row i of the option table (private to the configuration, read here to
 * hold the docs to it), or NULL past the last row.
 */
static const struct sg_confopt_info *
option_at(size_t i)
{

	return (i < SG_CONFOPT_N ? &sg_confopt_rows[i].info : NULL);
}

static int
is_global(const char *name)
{
	size_t i;
	const struct sg_confopt_info *o;

	for (i = 0; (o = option_at(i)) != NULL; i++)
		if (strcmp(o->name, name) == 0)
			return (strcmp(o->scope, "global") == 0);
	ck_abort_msg("no option %s", name);
	return (0);
}

START_TEST(test_defaults)
{
	static const struct { const char *name; uint64_t v; } want[] = {
		{ "idle-timeout", 300000 }, { "close-timeout", 5000 },
		{ "stanza-timeout", 30000 }, { "connect-timeout", 10000 },
		{ "close-order", SG_CLOSE_CLIENT_FIRST },
		{ "undeliverable", SG_POLICY_AUTO },
		{ "sm-handback", 1 },
		{ "rewrite-idle-errors", 0 },
		/* The tracker's own defaults: one source, lib/trackdefs.h. */
		{ "max-stanza-size", SG_TRACKER_DEFAULT_MAX_STANZA },
		{ "max-depth", SG_TRACKER_DEFAULT_MAX_DEPTH },
		{ "max-attributes", SG_TRACKER_DEFAULT_MAX_ATTRS },
		{ "max-name-length", SG_TRACKER_DEFAULT_MAX_NAME },
		{ "max-attribute-length", SG_TRACKER_DEFAULT_MAX_VALUE },
		{ "high-water", 1048576 }, { "low-water", 262144 },
		{ "max-connections", 10000 }, { "stats-interval", 60000 },
		{ "drain-timeout", 10000 }, { "watchdog", 1 },
		{ "log-format", SG_LOG_FORMAT_AUTO }, { "log-level", LOG_INFO },
		{ "workers", 1 }, { "tls", SG_TLS_NONE }, { "upstream-tls", 0 },
		{ "upstream-tls-verify", 1 }, { "send-proxy", SG_SEND_PROXY_NO },
		{ "accept-proxy", 0 }
	};
	struct sg_config *cfg;
	char path[512], err[ERRLEN];
	size_t i;

	snprintf(path, sizeof(path), "%s/tests/unit/data/minimal.conf",
	    top());
	cfg = sg_config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_str_eq(cfg->listeners[0].name, "c2s");
	ck_assert_str_eq(cfg->listeners[0].listen, "127.0.0.1:5222");
	ck_assert_str_eq(cfg->listeners[0].upstream, "127.0.0.1:5322");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(member(cfg, &cfg->listeners[0].opt,
		    want[i].name) == want[i].v, "default of %s", want[i].name);
	ck_assert_ptr_null(cfg->listeners[0].certificate);
	ck_assert_ptr_null(cfg->listeners[0].key);
	ck_assert_ptr_null(cfg->listeners[0].upstream_tls_ca);
	ck_assert_ptr_null(cfg->listeners[0].upstream_tls_name);
	ck_assert_ptr_null(cfg->listeners[0].trusted_proxies);
	/* Every row of the table is checked above, and nothing else. */
	for (i = 0; option_at(i) != NULL; i++)
		;
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]) + 7);
	sg_config_free(cfg);
}
END_TEST

/* Each valid form of each option, in a file and on the command line. */
static const struct form {
	const char *name;
	const char *value;
	uint64_t v;
} forms[] = {
	{ "idle-timeout", "300", 300000 }, { "idle-timeout", "300s", 300000 },
	{ "idle-timeout", "5m", 300000 }, { "idle-timeout", "500ms", 500 },
	{ "idle-timeout", "1h", 3600000 }, { "idle-timeout", "24h", 86400000 },
	{ "close-timeout", "1500ms", 1500 }, { "close-timeout", "2s", 2000 },
	{ "close-timeout", "1.5s", 1500 }, { "idle-timeout", "0.5m", 30000 },
	{ "max-stanza-size", "1.5k", 1536 },
	{ "stanza-timeout", "45s", 45000 }, { "connect-timeout", "3", 3000 },
	{ "close-order", "client-first", SG_CLOSE_CLIENT_FIRST },
	{ "close-order", "server-first", SG_CLOSE_SERVER_FIRST },
	{ "undeliverable", "auto", SG_POLICY_AUTO },
	{ "undeliverable", "bounce", SG_POLICY_BOUNCE },
	{ "undeliverable", "log", SG_POLICY_LOG },
	{ "rewrite-idle-errors", "yes", 1 }, { "rewrite-idle-errors", "no", 0 },
	{ "rewrite-idle-errors", "true", 1 },
	{ "rewrite-idle-errors", "false", 0 },
	{ "rewrite-idle-errors", "on", 1 }, { "rewrite-idle-errors", "off", 0 },
	{ "rewrite-idle-errors", "1", 1 }, { "rewrite-idle-errors", "0", 0 },
	{ "rewrite-idle-errors", "Yes", 1 },
	{ "max-stanza-size", "262144", 262144 },
	{ "max-stanza-size", "256k", 262144 },
	{ "max-stanza-size", "512K", 524288 },
	{ "max-stanza-size", "1m", 1048576 },
	{ "max-depth", "10", 10 }, { "max-attributes", "5", 5 },
	{ "max-name-length", "100", 100 }, { "max-name-length", "2k", 2048 },
	{ "max-attribute-length", "1m", 1048576 },
	{ "high-water", "2m", 2097152 }, { "high-water", "1g", 1073741824 },
	{ "low-water", "0", 0 }, { "low-water", "512k", 524288 },
	{ "max-connections", "1", 1 }, { "max-connections", "50000", 50000 },
	{ "workers", "0", 0 }, { "workers", "2", 2 },
	{ "stats-interval", "0", 0 }, { "stats-interval", "10s", 10000 },
	{ "drain-timeout", "30s", 30000 },
	{ "watchdog", "no", 0 }, { "watchdog", "yes", 1 },
	{ "log-format", "auto", SG_LOG_FORMAT_AUTO },
	{ "log-format", "text", SG_LOG_FORMAT_TEXT },
	{ "log-format", "json", SG_LOG_FORMAT_JSON },
	{ "log-format", "journal", SG_LOG_FORMAT_JOURNAL },
	{ "log-level", "error", LOG_ERR },
	{ "log-level", "warning", LOG_WARNING },
	{ "log-level", "notice", LOG_NOTICE },
	{ "log-level", "info", LOG_INFO }, { "log-level", "debug", LOG_DEBUG }
};

START_TEST(test_forms)
{
	const struct form *f = &forms[_i];
	struct sg_config *cfg;
	enum sg_config_action action;
	char text[512], arg[128], err[ERRLEN];
	char *argv[] = { "stanzaguard", "--listen", "127.0.0.1:5222",
	    "--upstream", "127.0.0.1:5322", arg, NULL };

	/* In [global] (which session options pass on to the listener). */
	snprintf(text, sizeof(text), "[global]\n%s = %s\n[c2s]\n"
	    "listen = 127.0.0.1:5222\nupstream = 127.0.0.1:5322\n",
	    f->name, f->value);
	cfg = load_text(text, err);
	ck_assert_msg(cfg != NULL, "%s = %s: %s", f->name, f->value, err);
	ck_assert_uint_eq(member(cfg, &cfg->listeners[0].opt, f->name), f->v);
	sg_config_free(cfg);

	/* In the listener's own section, for session options. */
	if (!is_global(f->name)) {
		snprintf(text, sizeof(text), "[c2s]\nlisten = 127.0.0.1:5222\n"
		    "upstream = 127.0.0.1:5322\n%s = %s\n", f->name, f->value);
		cfg = load_text(text, err);
		ck_assert_msg(cfg != NULL, "%s", err);
		ck_assert_uint_eq(member(cfg, &cfg->listeners[0].opt,
		    f->name), f->v);
		sg_config_free(cfg);
	}

	snprintf(arg, sizeof(arg), "--%s=%s", f->name, f->value);
	cfg = from_argv(argv, &action, err);
	ck_assert_msg(cfg != NULL, "%s: %s", arg, err);
	ck_assert_int_eq(action, SG_ACTION_RUN);
	ck_assert_uint_eq(member(cfg, &cfg->listeners[0].opt, f->name), f->v);
	sg_config_free(cfg);
}
END_TEST

#define LISTENER "[c2s]\nlisten = 127.0.0.1:5222\nupstream = 127.0.0.1:5322\n"

/* A file and the exact message after its path. */
static const struct bad {
	const char *text;
	const char *err;
} bads[] = {
	/* values */
	{ LISTENER "max-depth = 12a\n",
	  ":4: [c2s] max-depth: \"12a\" is not a number" },
	{ LISTENER "max-depth = -1\n",
	  ":4: [c2s] max-depth: \"-1\" is not a number" },
	{ LISTENER "max-depth = 0\n",
	  ":4: [c2s] max-depth: \"0\" is out of range (1..4096)" },
	{ LISTENER "max-depth = 99999999999999999999999\n",
	  ":4: [c2s] max-depth: \"99999999999999999999999\" is out of range "
	  "(1..4096)" },
	{ LISTENER "idle-timeout = 5x\n",
	  ":4: [c2s] idle-timeout: \"5x\" is not a duration (examples: 300s, "
	  "5m, 500ms)" },
	{ LISTENER "idle-timeout = 1.0005s\n",
	  ":4: [c2s] idle-timeout: \"1.0005s\" is not a duration (examples: "
	  "300s, 5m, 500ms)" },
	{ LISTENER "idle-timeout = 1.s\n",
	  ":4: [c2s] idle-timeout: \"1.s\" is not a duration (examples: "
	  "300s, 5m, 500ms)" },
	{ LISTENER "idle-timeout =\n",
	  ":4: [c2s] idle-timeout: \"\" is not a duration (examples: 300s, "
	  "5m, 500ms)" },
	{ LISTENER "idle-timeout = 0\n",
	  ":4: [c2s] idle-timeout: \"0\" is out of range (1ms..24h)" },
	{ LISTENER "idle-timeout = 25h\n",
	  ":4: [c2s] idle-timeout: \"25h\" is out of range (1ms..24h)" },
	{ "[global]\ndrain-timeout = 0s\n" LISTENER,
	  ":2: [global] drain-timeout: \"0s\" is out of range (1ms..1h)" },
	{ LISTENER "max-stanza-size = 1q\n",
	  ":4: [c2s] max-stanza-size: \"1q\" is not a size (examples: "
	  "262144, 256k, 1m)" },
	{ LISTENER "max-stanza-size = 100\n",
	  ":4: [c2s] max-stanza-size: \"100\" is out of range (1k..1g)" },
	{ LISTENER "rewrite-idle-errors = maybe\n",
	  ":4: [c2s] rewrite-idle-errors: \"maybe\" is not a boolean "
	  "(yes/no, true/false, on/off, 1/0)" },
	{ LISTENER "close-order = sideways\n",
	  ":4: [c2s] close-order: \"sideways\" is not one of client-first, "
	  "server-first" },
	{ "[global]\nlog-level = loud\n" LISTENER,
	  ":2: [global] log-level: \"loud\" is not one of error, warning, "
	  "notice, info, debug" },
	{ "[global]\nlog-format = xml\n" LISTENER,
	  ":2: [global] log-format: \"xml\" is not one of auto, text, json, "
	  "journal" },
	/* keys and sections */
	{ LISTENER "idle-timout = 5m\n",
	  ":4: [c2s] idle-timout: unknown option (did you mean "
	  "idle-timeout?)" },
	{ LISTENER "frobnicate = 1\n",
	  ":4: [c2s] frobnicate: unknown option (see stanzaguard.conf(5))" },
	{ "[globl]\nmax-connections = 5\n" LISTENER,
	  ":1: [globl]: unknown section (did you mean [global]? any other "
	  "name is a listener)" },
	{ "[Global]\n" LISTENER,
	  ":1: [Global]: unknown section (did you mean [global]? any other "
	  "name is a listener)" },
	{ "[c2s proxy]\n",
	  ":1: unknown section \"c2s proxy\": a listener name is 1 to 32 "
	  "letters, digits, '-', '_' or '.'" },
	{ "[c2s\n", ":1: expected ']' after the section name" },
	{ "[c2s] x\n", ":1: expected [name] alone on its line" },
	{ "idle-timeout = 5m\n" LISTENER,
	  ":1: idle-timeout: outside any section (put it under [global] or "
	  "a listener)" },
	{ LISTENER "max-connections = 5\n",
	  ":4: [c2s] max-connections: a global option: put it in [global]" },
	{ "[global]\nlisten = 127.0.0.1:1\n" LISTENER,
	  ":2: [global] listen: put it in a listener's section, like [c2s]" },
	{ LISTENER "idle-timeout = 1m\nidle-timeout = 2m\n",
	  ":5: [c2s] idle-timeout: set twice (first on line 4)" },
	{ LISTENER "just some words\n",
	  ":4: expected name = value, [section] or a comment" },
	{ "", ": no listener: add a section like [c2s] with listen and "
	  "upstream" },
	{ "[global]\nmax-connections = 5\n",
	  ": no listener: add a section like [c2s] with listen and "
	  "upstream" },
	/* listeners */
	{ "[c2s]\nupstream = 127.0.0.1:5322\n",
	  ":1: [c2s] listen: missing (every listener needs listen = "
	  "ADDR:PORT and upstream = HOST:PORT)" },
	{ "[c2s]\nlisten = 127.0.0.1:5222\n",
	  ":1: [c2s] upstream: missing (every listener needs listen = "
	  "ADDR:PORT and upstream = HOST:PORT)" },
	{ "[c2s]\nlisten = 127.0.0.1:0\n",
	  ":2: [c2s] listen: \"127.0.0.1:0\" has port 0, not in 1..65535" },
	{ "[c2s]\nlisten = 127.0.0.1:65536\n",
	  ":2: [c2s] listen: \"127.0.0.1:65536\" has port 65536, not in "
	  "1..65535" },
	{ "[c2s]\nlisten = 127.0.0.1\n",
	  ":2: [c2s] listen: \"127.0.0.1\" is not ADDR:PORT (like "
	  "127.0.0.1:5222 or [::1]:5222)" },
	{ "[c2s]\nlisten = 127.0.0.1:http\n",
	  ":2: [c2s] listen: \"127.0.0.1:http\" is not ADDR:PORT (like "
	  "127.0.0.1:5222 or [::1]:5222)" },
	{ "[c2s]\nlisten = ::1:5222\n",
	  ":2: [c2s] listen: \"::1:5222\" needs brackets around an IPv6 "
	  "address, like [::1]:5222" },
	{ "[c2s]\nlisten = [::zz]:5222\n",
	  ":2: [c2s] listen: \"[::zz]:5222\" is not ADDR:PORT (like "
	  "127.0.0.1:5222 or [::1]:5222)" },
	{ "[c2s]\nlisten = 127.0.0.1:5222\nupstream = *:5322\n",
	  ":3: [c2s] upstream: \"*:5322\" is not HOST:PORT (like "
	  "127.0.0.1:5222 or [::1]:5222)" },
	{ LISTENER "[c2s]\n",
	  ":4: [c2s]: duplicate section (first on line 1)" },
	{ "[global]\n[global]\n" LISTENER,
	  ":2: [global]: duplicate section (first on line 1)" },
	{ LISTENER "[s2s]\nlisten = 127.0.0.1:5222\nupstream = x:1\n",
	  ":5: [s2s] listen: 127.0.0.1:5222 is also the address of [c2s]" },
	{ "[a]\nlisten = [::1]:5222\nupstream = x:1\n"
	  "[b]\nlisten = [0:0::1]:5222\nupstream = x:1\n",
	  ":5: [b] listen: [0:0::1]:5222 is also the address of [a]" },
	/* related values */
	{ LISTENER "low-water = 1m\n",
	  ":4: [c2s] low-water: 1m must be below high-water (1m)" },
	{ "[global]\nhigh-water = 128k\n" LISTENER,
	  ":2: [global] high-water: 128k must be above low-water (256k)" },
	{ "[global]\nlow-water = 64k\n" LISTENER "high-water = 128k\n",
	  ":6: [c2s] high-water: 128k is below max-stanza-size (256k): a "
	  "stanza that large could never be forwarded" },
	{ LISTENER "max-stanza-size = 2m\n",
	  ":4: [c2s] max-stanza-size: 2m is above high-water (1m): a stanza "
	  "that large could never be forwarded" },
	/* the file itself */
	{ "[c2s]\nlisten = 127.0.0.1:5222\nupstream = 127.0.0.1:5322\n"
	  "idle-timeout = 5m ; this comment is fine but the line goes on"
	  " and on and on and on and on and on and on and on and on and on"
	  " and on and on and on and on and on and on and on and on and on"
	  " and on and on and on and on and on and on and on and on and on"
	  " and on and on\n",
	  ":4: line longer than 198 bytes" },
};

START_TEST(test_errors)
{
	struct sg_config *cfg;
	char err[ERRLEN];

	cfg = load_text(bads[_i].text, err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, bads[_i].err);
}
END_TEST

START_TEST(test_unreadable)
{
	char err[ERRLEN];
	const char *missing = "/nonexistent/stanzaguard.conf";

	ck_assert_ptr_null(sg_config_load(missing, err, sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/stanzaguard.conf: No such file "
	    "or directory");
	ck_assert_ptr_null(sg_config_load("/tmp", err, sizeof(err)));
	ck_assert_str_eq(err, "/tmp: Is a directory");
}
END_TEST

START_TEST(test_global_any_order)
{
	struct sg_config *cfg;
	const struct sg_session_options *c2s, *s2s;
	char path[512], err[ERRLEN];

	snprintf(path, sizeof(path), "%s/tests/unit/data/order.conf", top());
	cfg = sg_config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nlisteners, 2);
	ck_assert_str_eq(cfg->listeners[1].name, "s2s");
	ck_assert_str_eq(cfg->listeners[1].listen, "[::1]:5269");
	c2s = &cfg->listeners[0].opt;
	s2s = &cfg->listeners[1].opt;
	ck_assert_uint_eq(c2s->idle_timeout_ms, 60000);	/* [global] */
	ck_assert_uint_eq(c2s->close_timeout_ms, 2000);	/* own */
	ck_assert_uint_eq(s2s->idle_timeout_ms, 600000);	/* own */
	ck_assert_uint_eq(s2s->close_timeout_ms, 7000);	/* [global] */
	ck_assert_uint_eq(s2s->stanza_timeout_ms, 30000);	/* default */
	ck_assert_uint_eq(cfg->max_connections, 500);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
	sg_config_free(cfg);
}
END_TEST

START_TEST(test_file_style)
{
	struct sg_config *cfg;
	char path[512], err[ERRLEN];

	snprintf(path, sizeof(path), "%s/tests/unit/data/style.conf", top());
	cfg = sg_config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->stats_interval_ms, 0);
	ck_assert_uint_eq(cfg->watchdog, 0);
	ck_assert_str_eq(cfg->listeners[0].listen, "*:5222");
	ck_assert_str_eq(cfg->listeners[0].upstream, "[fe80::1%lo]:5322");
	ck_assert_int_eq(cfg->listeners[0].opt.rewrite_idle_errors, 1);
	sg_config_free(cfg);

	/* A UTF-8 byte order mark before the first section. */
	cfg = load_text("\xef\xbb\xbf" LISTENER, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	sg_config_free(cfg);
}
END_TEST

START_TEST(test_cli_overrides)
{
	struct sg_config *cfg;
	enum sg_config_action action;
	char path[512], err[ERRLEN];
	char *argv[] = { "stanzaguard", "-c", path, "--idle-timeout=7s",
	    "--max-connections", "42", "--log-level=warning", NULL };
	size_t i;

	snprintf(path, sizeof(path), "%s/tests/unit/data/order.conf", top());
	cfg = from_argv(argv, &action, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(action, SG_ACTION_RUN);
	/* Over [global], and over a listener's own value too. */
	for (i = 0; i < cfg->nlisteners; i++)
		ck_assert_uint_eq(cfg->listeners[i].opt.idle_timeout_ms, 7000);
	ck_assert_uint_eq(cfg->listeners[0].opt.close_timeout_ms, 2000);
	ck_assert_uint_eq(cfg->max_connections, 42);
	ck_assert_int_eq(cfg->log_level, LOG_WARNING);
	ck_assert_str_eq(cfg->path, path);
	sg_config_free(cfg);
}
END_TEST

START_TEST(test_cli_listener)
{
	struct sg_config *cfg;
	enum sg_config_action action;
	char err[ERRLEN];
	char *argv[] = { "stanzaguard", "--listen", "[::1]:5222",
	    "--upstream=xmpp.example.org:5322", "--check-config", NULL };

	cfg = from_argv(argv, &action, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(action, SG_ACTION_CHECK);
	ck_assert_ptr_null(cfg->path);
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_str_eq(cfg->listeners[0].name, "default");
	ck_assert_str_eq(cfg->listeners[0].listen, "[::1]:5222");
	ck_assert_str_eq(cfg->listeners[0].upstream, "xmpp.example.org:5322");
	ck_assert_uint_eq(cfg->listeners[0].opt.idle_timeout_ms, 300000);
	sg_config_free(cfg);
}
END_TEST

START_TEST(test_cli_actions)
{
	enum sg_config_action action;
	char err[ERRLEN];
	char *help[] = { "stanzaguard", "--help", NULL };
	char *h[] = { "stanzaguard", "-h", NULL };
	char *version[] = { "stanzaguard", "--version", "-c", "x", NULL };

	ck_assert_ptr_null(from_argv(help, &action, err));
	ck_assert_int_eq(action, SG_ACTION_HELP);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_null(from_argv(h, &action, err));
	ck_assert_int_eq(action, SG_ACTION_HELP);
	ck_assert_ptr_null(from_argv(version, &action, err));
	ck_assert_int_eq(action, SG_ACTION_VERSION);
	ck_assert_str_eq(err, "");
}
END_TEST

/* A command line (up to 6 words after the name) and its message. */
static const struct badcli {
	const char *argv[7];
	const char *err;
} badclis[] = {
	{ { NULL }, "no configuration: give -c FILE, or --listen ADDR:PORT "
	  "and --upstream HOST:PORT" },
	{ { "--check-config", NULL }, "no configuration: give -c FILE, or "
	  "--listen ADDR:PORT and --upstream HOST:PORT" },
	{ { "--listen", "foo", "--upstream", "x:1", NULL },
	  "--listen: \"foo\" is not ADDR:PORT (like 127.0.0.1:5222 or "
	  "[::1]:5222)" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:0", NULL },
	  "--upstream: \"x:0\" has port 0, not in 1..65535" },
	{ { "--listen", "127.0.0.1:1", NULL },
	  "--listen: needs --upstream HOST:PORT too" },
	{ { "--upstream", "127.0.0.1:1", NULL },
	  "--upstream: needs --listen ADDR:PORT too" },
	{ { "--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2", NULL },
	  "--listen: given twice (for more than one listener, use -c FILE)" },
	{ { "-c", "x.conf", "--listen", "127.0.0.1:1", NULL },
	  "--listen: cannot be used with -c (put listeners in the file)" },
	{ { "-c", "x.conf", "--upstream", "127.0.0.1:1", NULL },
	  "--upstream: cannot be used with -c (put listeners in the file)" },
	{ { "-c", "x.conf", "--config", "y.conf", NULL },
	  "--config: given twice" },
	{ { "--bogus", NULL }, "--bogus: unknown option (see --help)" },
	{ { "--bogus=1", NULL }, "--bogus: unknown option (see --help)" },
	{ { "-x", NULL }, "-x: unknown option (see --help)" },
	{ { "--idle-timeout", NULL }, "--idle-timeout: needs a value" },
	{ { "-c", NULL }, "-c: needs a value" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1", "--idle-timeout",
	    "5x", NULL },
	  "--idle-timeout: \"5x\" is not a duration (examples: 300s, 5m, "
	  "500ms)" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1", "extra", NULL },
	  "unexpected argument \"extra\"" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1", "--low-water=2m",
	    NULL }, "--low-water: 2m must be below high-water (1m)" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1", "--high-water",
	    "64k", NULL }, "--high-water: 64k must be above low-water "
	  "(256k)" },
	{ { "-c", "/nonexistent.conf", NULL },
	  "/nonexistent.conf: No such file or directory" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1",
	    "--accept-proxy=yes", NULL }, "[default] accept-proxy: needs "
	  "trusted-proxies = NET [NET...] (the balancers whose PROXY headers "
	  "to believe)" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1",
	    "--trusted-proxies=10.0.0.0/8,10.1.2.3/8", NULL },
	  "--trusted-proxies: bad network '10.1.2.3/8'" },
	{ { "--listen", "127.0.0.1:1", "--upstream", "x:1",
	    "--send-proxy=v3", NULL },
	  "--send-proxy: \"v3\" is not one of no, v1, v2" },
};

START_TEST(test_cli_errors)
{
	const struct badcli *c = &badclis[_i];
	enum sg_config_action action;
	char err[ERRLEN], *argv[8];
	size_t i;

	argv[0] = "stanzaguard";
	for (i = 0; c->argv[i] != NULL; i++)
		argv[i + 1] = (char *)(uintptr_t)c->argv[i];
	argv[i + 1] = NULL;
	ck_assert_ptr_null(from_argv(argv, &action, err));
	ck_assert_str_eq(err, c->err);
}
END_TEST

static void
rewrite(const char *path, const char *text)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_reload)
{
	struct sg_config *cfg, *ncfg;
	enum sg_config_action action;
	char path[64], err[ERRLEN], want[ERRLEN];
	char *argv[] = { "stanzaguard", "--log-level=debug", "-c", path,
	    NULL };

	write_conf(path, sizeof(path), "[global]\nlog-level = error\n"
	    LISTENER);
	cfg = from_argv(argv, &action, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);

	rewrite(path, "[global]\nlog-level = error\n" LISTENER "[s2s]\n"
	    "listen = 127.0.0.1:5269\nupstream = 127.0.0.1:5369\n");
	argv[1] = "--log-level=notice";	/* cfg keeps its own copy */
	ncfg = sg_config_reload(cfg, err, sizeof(err));
	ck_assert_msg(ncfg != NULL, "%s", err);
	ck_assert_int_eq(ncfg->log_level, LOG_DEBUG);
	ck_assert_uint_eq(ncfg->nlisteners, 2);
	sg_config_free(ncfg);

	/* A broken file: NULL and the message; cfg is untouched. */
	rewrite(path, "[c2s]\nidle-timeout = 5x\n");
	ck_assert_ptr_null(sg_config_reload(cfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: [c2s] idle-timeout: \"5x\" is "
	    "not a duration (examples: 300s, 5m, 500ms)", path);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(cfg->nlisteners, 1);
	sg_config_free(cfg);

	/* Made by sg_config_load: reloads the file alone. */
	rewrite(path, LISTENER);
	cfg = sg_config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	rewrite(path, "[global]\nmax-connections = 3\n" LISTENER);
	ncfg = sg_config_reload(cfg, err, sizeof(err));
	ck_assert_msg(ncfg != NULL, "%s", err);
	ck_assert_uint_eq(ncfg->max_connections, 3);
	sg_config_free(ncfg);
	sg_config_free(cfg);
	unlink(path);
}
END_TEST

/* The whole of a text file, NUL-terminated; the caller frees it. */
static char *
slurp(const char *name)
{
	char path[512], *buf;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/%s", top(), name);
	ck_assert_msg((fp = fopen(path, "r")) != NULL, "open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	ck_assert_int_ge(n = ftell(fp), 0);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = malloc((size_t)n + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return (buf);
}

/*
 * The range an out-of-range value reports, "(1ms..24h)", as the man page
 * writes it: "1ms..24h".
 */
static void
table_range(const char *name, char *buf, size_t len)
{
	enum sg_config_action action;
	char arg[96], err[ERRLEN], *argv[] = { "stanzaguard", "--listen",
	    "127.0.0.1:1", "--upstream", "x:1", arg, NULL };
	const char *open;

	snprintf(arg, sizeof(arg), "--%s=99999999999999999999", name);
	ck_assert_ptr_null(from_argv(argv, &action, err));
	ck_assert_ptr_nonnull(open = strrchr(err, '('));
	snprintf(buf, len, "%.*s", (int)strlen(open + 1) - 1, open + 1);
}

/*
 * Each option is an ".It Cm name" of the man page, with its default and,
 * for numbers, the range the code enforces.
 */
START_TEST(test_man_page_lists_every_option)
{
	const struct sg_confopt_info *o;
	char *man = slurp("proxy/stanzaguard.conf.5"), *at, *end;
	char want[128], range[64];
	int numeric;
	size_t i;

	for (i = 0; (o = option_at(i)) != NULL; i++) {
		snprintf(want, sizeof(want), "\n.It Cm %s ", o->name);
		ck_assert_msg((at = strstr(man, want)) != NULL,
		    "%s is not in stanzaguard.conf.5", o->name);
		if ((end = strstr(at + 1, "\n.It ")) == NULL)
			end = strstr(at + 1, "\n.El");
		ck_assert_ptr_nonnull(end);
		*end = '\0';
		snprintf(want, sizeof(want), "Default: %s.", o->def);
		if (o->def[0] == '\0')
			snprintf(want, sizeof(want), "Required.");
		ck_assert_msg(strstr(at, want) != NULL,
		    "stanzaguard.conf.5: %s lacks \"%s\"", o->name, want);
		numeric = strcmp(o->type, "DURATION") == 0 ||
		    strcmp(o->type, "SIZE") == 0 || strcmp(o->type, "N") == 0;
		if (numeric) {
			table_range(o->name, range, sizeof(range));
			snprintf(want, sizeof(want), "Range: %s.", range);
		} else
			snprintf(want, sizeof(want), "Range:");
		ck_assert_msg((strstr(at, want) != NULL) == numeric,
		    "stanzaguard.conf.5: %s: \"%s\" %s", o->name, want,
		    numeric ? "missing" : "unexpected");
		*end = '\n';
	}
	free(man);
}
END_TEST

/* The example shows every option, commented, with its default. */
START_TEST(test_example_lists_every_option)
{
	const struct sg_confopt_info *o;
	struct sg_config *cfg;
	char *ex = slurp("proxy/stanzaguard.conf.example"), want[128];
	char path[512], err[ERRLEN];
	size_t i;

	for (i = 0; (o = option_at(i)) != NULL; i++) {
		if (o->def[0] == '\0')
			continue;
		snprintf(want, sizeof(want), "\n#%s = %s\n", o->name, o->def);
		ck_assert_msg(strstr(ex, want) != NULL,
		    "the example lacks \"%s\"", want + 1);
	}
	free(ex);
	snprintf(path, sizeof(path), "%s/proxy/stanzaguard.conf.example",
	    top());
	cfg = sg_config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nlisteners, 2);
	ck_assert_str_eq(cfg->listeners[0].name, "c2s");
	ck_assert_str_eq(cfg->listeners[0].upstream, "127.0.0.1:5322");
	ck_assert_str_eq(cfg->listeners[1].name, "s2s");
	ck_assert_str_eq(cfg->listeners[1].listen, "127.0.0.1:5269");
	ck_assert_str_eq(cfg->listeners[1].upstream, "127.0.0.1:5369");
	sg_config_free(cfg);
}
END_TEST

START_TEST(test_usage_lists_every_option)
{
	const struct sg_confopt_info *o;
	const char *u = sg_config_usage();
	char want[128];
	size_t i, len;

	for (i = 0; (o = option_at(i)) != NULL; i++) {
		snprintf(want, sizeof(want), "--%s=%s", o->name,
		    strcmp(o->scope, "listener") == 0 ? "" : o->type);
		ck_assert_msg(strstr(u, want) != NULL, "--help lacks %s",
		    want);
	}
	/* Lines fit a terminal. */
	for (; *u != '\0'; u += len + (u[len] == '\n')) {
		len = strcspn(u, "\n");
		ck_assert_msg(len < 80, "long --help line: %.*s", (int)len, u);
	}
}
END_TEST

Suite *
sg_suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_forms, 0,
	    sizeof(forms) / sizeof(forms[0]));
	tcase_add_loop_test(tc, test_errors, 0, sizeof(bads) / sizeof(bads[0]));
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_global_any_order);
	tcase_add_test(tc, test_file_style);
	tcase_add_test(tc, test_cli_overrides);
	tcase_add_test(tc, test_cli_listener);
	tcase_add_test(tc, test_cli_actions);
	tcase_add_loop_test(tc, test_cli_errors, 0,
	    sizeof(badclis) / sizeof(badclis[0]));
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_man_page_lists_every_option);
	tcase_add_test(tc, test_example_lists_every_option);
	tcase_add_test(tc, test_usage_lists_every_option);
	suite_add_tcase(s, tc);
	return (s);
}
