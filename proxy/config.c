/*
 * Configuration: the command line, merging and validation, and the public
 * API.  The option table is confopt.c, value parsing optparse.c, the
 * state of a config being built confbuild.c, the file confini.c.
 *
 * Owns every struct sg_config it returns until sg_config_free; calls
 * confbuild, confini, confopt, addr and lib/addrmatch (validation).
 * Nothing here logs or touches a socket.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "addrmatch.h"
#include "confbuild.h"
#include "confini.h"
#include "config.h"

/* The command line kept for sg_config_reload(). */
struct sg_config_args {
	int argc;
	char **argv;
};

/* Two listen addresses that name the same socket. */
static int
same_addr(const char *a, const char *b)
{
	char ha[256], hb[256];
	unsigned pa, pb;
	unsigned char na[16], nb[16];

	if (sg_addr_split(a, 1, ha, sizeof(ha), &pa, NULL, 0) == -1 ||
	    sg_addr_split(b, 1, hb, sizeof(hb), &pb, NULL, 0) == -1 ||
	    pa != pb)
		return (0);
	if (inet_pton(AF_INET6, ha, na) == 1 &&
	    inet_pton(AF_INET6, hb, nb) == 1)
		return (memcmp(na, nb, 16) == 0);
	if (inet_pton(AF_INET, ha, na) == 1 && inet_pton(AF_INET, hb, nb) == 1)
		return (memcmp(na, nb, 4) == 0);
	return (strcasecmp(ha, hb) == 0);
}

/*
 * After the whole file: session options a listener did not set come from
 * [global] (or the default), whatever the order of the sections; then the
 * command line overrides everything.
 */
static void
inherit_and_override(struct sg_confbuild *b)
{
	struct sg_config *c = b->cfg;
	const struct sg_confopt *o;
	size_t i, j;

	for (i = 0; i < SG_CONFOPT_N; i++) {
		o = &sg_confopt_rows[i];
		for (j = 0; j < c->nlisteners; j++) {
			if (o->scope != SG_CONFOPT_SESSION ||
			    b->meta[j].src[i].kind != SG_CONFBUILD_DEFAULT)
				continue;
			sg_confopt_copy(&c->listeners[j].opt, &b->gopt, o);
			b->meta[j].src[i] = b->gsrc[i];
		}
		if (!b->cli_set[i])
			continue;
		if (o->scope == SG_CONFOPT_GLOBAL) {
			sg_confopt_store(c, o, b->cli_val[i]);
			continue;
		}
		for (j = 0; j < c->nlisteners; j++) {
			sg_confopt_store(&c->listeners[j].opt, o,
			    b->cli_val[i]);
			b->meta[j].src[i].kind = SG_CONFBUILD_CLI;
		}
	}
}

static struct sg_confbuild_place
place_of(const struct sg_confbuild *b, size_t l, size_t i)
{
	const struct sg_confbuild_src *s = &b->meta[l].src[i];
	struct sg_confbuild_place p = { b->cfg->listeners[l].name,
	    sg_confopt_rows[i].info.name, s->line,
	    s->kind == SG_CONFBUILD_CLI };

	if (s->kind == SG_CONFBUILD_GLOBAL)
		p.section = "global";
	if (s->kind == SG_CONFBUILD_DEFAULT)
		p.line = b->meta[l].line;
	return (p);
}

/*
 * Check a pair of related options of listener l: a is the one the message
 * names unless b_ was set somewhere more specific.
 */
static int
blame(const struct sg_confbuild *b, size_t l, size_t a, size_t b_)
{

	return (b->meta[l].src[b_].kind > b->meta[l].src[a].kind ? 1 : 0);
}

/* "x" for option row i, in the shortest form of its type. */
static const char *
show(size_t i, uint64_t v, char *buf, size_t len)
{

	return (sg_optparse_show(sg_confopt_rows[i].spec.type, v, buf, len));
}

/* low-water < high-water, and a stanza of max-stanza-size fits. */
static int
check_water(struct sg_confbuild *b, size_t l)
{
	const struct sg_session_options *o = &b->cfg->listeners[l].opt;
	struct sg_confbuild_place p;
	char x[32], y[32];

	if (o->low_water >= o->high_water) {
		show(SG_CONFOPT_low_water, o->low_water, x, sizeof(x));
		show(SG_CONFOPT_high_water, o->high_water, y, sizeof(y));
		if (blame(b, l, SG_CONFOPT_low_water, SG_CONFOPT_high_water)) {
			p = place_of(b, l, SG_CONFOPT_high_water);
			return (sg_confbuild_fail(b, &p, "%s must be above "
			    "low-water (%s)", y, x));
		}
		p = place_of(b, l, SG_CONFOPT_low_water);
		return (sg_confbuild_fail(b, &p, "%s must be below "
		    "high-water (%s)", x, y));
	}
	if (o->high_water < o->max_stanza) {
		show(SG_CONFOPT_high_water, o->high_water, x, sizeof(x));
		show(SG_CONFOPT_max_stanza, o->max_stanza, y, sizeof(y));
		if (blame(b, l, SG_CONFOPT_high_water,
		    SG_CONFOPT_max_stanza)) {
			p = place_of(b, l, SG_CONFOPT_max_stanza);
			return (sg_confbuild_fail(b, &p, "%s is above "
			    "high-water (%s): a stanza that large could never "
			    "be forwarded", y, x));
		}
		p = place_of(b, l, SG_CONFOPT_high_water);
		return (sg_confbuild_fail(b, &p, "%s is below max-stanza-size "
		    "(%s): a stanza that large could never be forwarded",
		    x, y));
	}
	return (0);
}

static size_t
words(const char *s)
{
	size_t n = 0;

	while (s != NULL && *(s += strspn(s, " \t")) != '\0') {
		s += strcspn(s, " \t");
		n++;
	}
	return (n);
}

/* TLS needs a certificate; keys, if given, pair with certificates. */
static int
check_tls(struct sg_confbuild *b, size_t l)
{
	const struct sg_listener_config *lc = &b->cfg->listeners[l];
	struct sg_confbuild_place p;

	if (lc->opt.tls != SG_TLS_NONE && lc->certificate == NULL) {
		p = place_of(b, l, SG_CONFOPT_tls);
		p.section = lc->name;
		p.cli = 0;
		return (sg_confbuild_fail(b, &p, "listener %s needs a "
		    "certificate = FILE for TLS", lc->name));
	}
	if (lc->key != NULL && words(lc->key) != words(lc->certificate)) {
		p = place_of(b, l, SG_CONFOPT_key);
		return (sg_confbuild_fail(b, &p, "%zu files for %zu "
		    "certificates (one key per certificate, in order)",
		    words(lc->key), words(lc->certificate)));
	}
	return (0);
}

/* accept-proxy believes headers only from trusted-proxies. */
static int
check_proxy(struct sg_confbuild *b, size_t l)
{
	const struct sg_listener_config *lc = &b->cfg->listeners[l];
	struct sg_confbuild_place p;
	struct sg_addrmatch *m;
	char e[160];

	if (lc->trusted_proxies != NULL) {
		m = sg_addrmatch_parse(lc->trusted_proxies, e, sizeof(e));
		if (m == NULL) {
			p = place_of(b, l, SG_CONFOPT_trusted_proxies);
			return (sg_confbuild_fail(b, &p, "%s", e));
		}
		sg_addrmatch_free(m);
	}
	if (lc->opt.accept_proxy && lc->trusted_proxies == NULL) {
		p = place_of(b, l, SG_CONFOPT_accept_proxy);
		p.section = lc->name;
		p.cli = 0;
		return (sg_confbuild_fail(b, &p, "needs trusted-proxies = "
		    "NET [NET...] (the balancers whose PROXY headers to "
		    "believe)"));
	}
	return (0);
}

static int
check_listener(struct sg_confbuild *b, size_t l)
{
	const struct sg_listener_config *lc = &b->cfg->listeners[l];
	struct sg_confbuild_place p;
	size_t i;

	if (lc->listen == NULL || lc->upstream == NULL) {
		p = place_of(b, l, lc->listen == NULL ? SG_CONFOPT_listen :
		    SG_CONFOPT_upstream);
		return (sg_confbuild_fail(b, &p, "missing (every listener "
		    "needs listen = ADDR:PORT and upstream = HOST:PORT)"));
	}
	if (check_water(b, l) == -1 || check_tls(b, l) == -1 ||
	    check_proxy(b, l) == -1)
		return (-1);
	for (i = 0; i < l; i++) {
		if (!same_addr(b->cfg->listeners[i].listen, lc->listen))
			continue;
		p = place_of(b, l, SG_CONFOPT_listen);
		return (sg_confbuild_fail(b, &p, "%s is also the address of "
		    "[%s]", lc->listen, b->cfg->listeners[i].name));
	}
	return (0);
}

static int
validate(struct sg_confbuild *b)
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
		free(cfg->listeners[i].certificate);
		free(cfg->listeners[i].key);
		free(cfg->listeners[i].upstream_tls_ca);
		free(cfg->listeners[i].upstream_tls_name);
		free(cfg->listeners[i].trusted_proxies);
	}
	free(cfg->listeners);
	free(cfg->path);
	args_free(cfg->args);
	free(cfg);
}

/* Hand over the config if all went well; free it otherwise. */
static struct sg_config *
builder_finish(struct sg_confbuild *b)
{
	struct sg_config *c = b->cfg;

	free(b->meta);
	b->meta = NULL;
	if (!b->failed && b->path != NULL &&
	    (c->path = strdup(b->path)) == NULL) {
		struct sg_confbuild_place p = { NULL, NULL, 0, 0 };

		sg_confbuild_fail(b, &p, "out of memory");
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
	struct sg_confbuild b;

	if (sg_confbuild_init(&b, err, errlen) == 0 &&
	    sg_confini_read(&b, path) == 0) {
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
cli_option(struct sg_confbuild *b, size_t i, const char *value)
{
	const struct sg_confopt *o = &sg_confopt_rows[i];
	struct sg_confbuild_place p = { NULL, o->info.name, 0, 1 };

	if (o->spec.type == SG_OPTPARSE_STRING && b->cli_str[i] != NULL)
		return (sg_confbuild_fail(b, &p, "given twice (for more than "
		    "one listener, use -c FILE)"));
	if (sg_confbuild_parse(b, o, value, &b->cli_val[i], &p) == -1)
		return (-1);
	if (o->spec.type == SG_OPTPARSE_STRING)
		b->cli_str[i] = value;
	else
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

	for (i = 0; i < SG_CONFOPT_N; i++) {
		lo[i].name = sg_confopt_rows[i].info.name;
		lo[i].has_arg = required_argument;
		lo[i].flag = NULL;
		lo[i].val = LO_TABLE + (int)i;
	}
	memcpy(lo + SG_CONFOPT_N, own, sizeof(own));
}

/* getopt_long's '?' or ':' for argument arg (without its "=value"). */
static int
bad_option(struct sg_confbuild *b, int ch, const char *arg)
{
	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };
	char name[64], q[80];
	size_t n = strcspn(arg, "=");

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, arg, n);
	name[n] = '\0';
	if (strspn(name, "-abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
		sg_optparse_quote(name, q, sizeof(q));
	else
		snprintf(q, sizeof(q), "%s", name);
	if (ch == ':')
		return (sg_confbuild_fail(b, &p, "%s: needs a value", q));
	return (sg_confbuild_fail(b, &p, "%s: unknown option (see --help)",
	    q));
}

/*
 * Parse the command line into b; *path is the -c file.  Returns 0 to go
 * on, 1 when --help or --version ends it, -1 on error.
 */
static int
parse_args(struct sg_confbuild *b, int argc, char **argv,
    enum sg_config_action *action, const char **path)
{
	struct option lo[SG_CONFOPT_N + 5];
	struct sg_confbuild_place p = { NULL, "config", 0, 1 };
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
			return (sg_confbuild_fail(b, &p, "given twice"));
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
		return (sg_confbuild_fail(b, &p, "unexpected argument %s",
		    sg_optparse_quote(argv[optind], q, sizeof(q))));
	}
	return (0);
}

/* The listener's other strings (certificate, key...) from the command line. */
static int
cli_listener_strings(struct sg_confbuild *b, struct sg_listener_config *l)
{
	struct sg_confbuild_place p = { NULL, NULL, 0, 1 };
	const struct sg_confopt *o;
	size_t i;

	for (i = 0; i < SG_CONFOPT_N; i++) {
		o = &sg_confopt_rows[i];
		if (o->scope != SG_CONFOPT_LISTENER || b->cli_str[i] == NULL ||
		    i == SG_CONFOPT_listen || i == SG_CONFOPT_upstream)
			continue;
		p.key = o->info.name;
		if (sg_confbuild_set(b, o, l, b->cli_str[i], &p) == -1)
			return (-1);
		b->meta[0].src[i].kind = SG_CONFBUILD_CLI;
	}
	return (0);
}

/* --listen and --upstream without -c: the listener "default". */
static int
cli_listener(struct sg_confbuild *b)
{
	struct sg_confbuild_place p = { NULL, "listen", 0, 1 };
	const char *ls = b->cli_str[SG_CONFOPT_listen];
	const char *us = b->cli_str[SG_CONFOPT_upstream];
	struct sg_listener_config *l;

	if (ls == NULL && us == NULL) {
		p.cli = 0;
		p.key = NULL;
		return (sg_confbuild_fail(b, &p, "no configuration: give -c "
		    "FILE, or --listen ADDR:PORT and --upstream HOST:PORT"));
	}
	if (us == NULL)
		return (sg_confbuild_fail(b, &p, "needs --upstream HOST:PORT "
		    "too"));
	if (ls == NULL) {
		p.key = "upstream";
		return (sg_confbuild_fail(b, &p, "needs --listen ADDR:PORT "
		    "too"));
	}
	if (sg_confbuild_add_listener(b, "default", 0) == -1)
		return (-1);
	l = &b->cfg->listeners[0];
	if ((l->listen = strdup(ls)) == NULL ||
	    (l->upstream = strdup(us)) == NULL)
		return (sg_confbuild_fail(b, &p, "out of memory"));
	b->meta[0].src[SG_CONFOPT_listen].kind = SG_CONFBUILD_CLI;
	b->meta[0].src[SG_CONFOPT_upstream].kind = SG_CONFBUILD_CLI;
	return (cli_listener_strings(b, l));
}

/* With -c, the file is the one list of listeners. */
static int
cli_with_file(struct sg_confbuild *b)
{
	struct sg_confbuild_place p = { NULL, NULL, 0, 1 };
	size_t i;

	for (i = 0; i < SG_CONFOPT_N; i++) {
		if (sg_confopt_rows[i].scope != SG_CONFOPT_LISTENER ||
		    b->cli_str[i] == NULL)
			continue;
		p.key = sg_confopt_rows[i].info.name;
		return (sg_confbuild_fail(b, &p, "cannot be used with -c "
		    "(put listeners in the file)"));
	}
	return (0);
}

/* Build a config from the command line a; takes a over. */
static struct sg_config *
from_args(struct sg_config_args *a, enum sg_config_action *action,
    char *err, size_t errlen)
{
	struct sg_confbuild b;
	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };
	const char *path = NULL;
	char **argv;
	int r;

	*action = SG_ACTION_RUN;
	if (sg_confbuild_init(&b, err, errlen) == -1) {
		args_free(a);
		return (builder_finish(&b));
	}
	/* Parse a scratch array: getopt_long permutes what it is given. */
	if ((argv = calloc((size_t)a->argc + 1, sizeof(char *))) == NULL) {
		sg_confbuild_fail(&b, &p, "out of memory");
		args_free(a);
		return (builder_finish(&b));
	}
	memcpy(argv, a->argv, (size_t)a->argc * sizeof(char *));
	r = parse_args(&b, a->argc, argv, action, &path);
	if (r == 0 && path != NULL)
		cli_with_file(&b);
	if (r == 0 && !b.failed && (path != NULL ? sg_confini_read(&b, path) :
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

unsigned
sg_config_workers(const struct sg_config *cfg)
{
	long n = cfg->workers;

	if (n == 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	return (n > SG_CONFIG_WORKERS_MAX ? SG_CONFIG_WORKERS_MAX :
	    (unsigned)n);
}

const char *
sg_config_usage(void)
{

	return (sg_confopt_usage());
}
