/*
 * A configuration being built: defaults, values stored where the table
 * says, listeners added, and the first error with its place.
 *
 * Owns the config being built until config.c takes it; calls confopt
 * (the table), optparse through it, and addr (address syntax).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "confbuild.h"

/* "FILE:LINE: [section] key: ", or "--key: ", or nothing. */
static void
where(const struct sg_confbuild *b, const struct sg_confbuild_place *p,
    char *buf, size_t len)
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

int
sg_confbuild_fail(struct sg_confbuild *b, const struct sg_confbuild_place *p,
    const char *fmt, ...)
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

int
sg_confbuild_parse(struct sg_confbuild *b, const struct sg_confopt *o,
    const char *value, uint64_t *v, const struct sg_confbuild_place *p)
{
	char why[256], host[256], q[80];
	unsigned port;

	if (o->spec.type != SG_OPTPARSE_STRING) {
		if (sg_optparse_value(&o->spec, value, v, why,
		    sizeof(why)) == -1)
			return (sg_confbuild_fail(b, p, "%s", why));
		return (0);
	}
	/* File names and names: read when the listener starts. */
	if (o != &sg_confopt_rows[SG_CONFOPT_listen] &&
	    o != &sg_confopt_rows[SG_CONFOPT_upstream]) {
		if (value[0] == '\0')
			return (sg_confbuild_fail(b, p, "empty"));
		return (0);
	}
	if (sg_addr_split(value, o == &sg_confopt_rows[SG_CONFOPT_listen],
	    host, sizeof(host), &port, why, sizeof(why)) == -1)
		return (sg_confbuild_fail(b, p, "%s %s",
		    sg_optparse_quote(value, q, sizeof(q)), why));
	return (0);
}

int
sg_confbuild_set(struct sg_confbuild *b, const struct sg_confopt *o,
    void *base, const char *value, const struct sg_confbuild_place *p)
{
	char **sp = (char **)(void *)((char *)base + o->off);
	uint64_t v;

	if (sg_confbuild_parse(b, o, value, &v, p) == -1)
		return (-1);
	if (o->spec.type != SG_OPTPARSE_STRING) {
		sg_confopt_store(base, o, v);
		return (0);
	}
	free(*sp);
	if ((*sp = strdup(value)) == NULL)
		return (sg_confbuild_fail(b, p, "out of memory"));
	return (0);
}

/* The defaults, through the parser as if a file had them. */
static int
set_defaults(struct sg_confbuild *b)
{
	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };
	const struct sg_confopt *o;
	size_t i;

	for (i = 0; i < SG_CONFOPT_N; i++) {
		o = &sg_confopt_rows[i];
		p.key = o->info.name;
		if (o->scope == SG_CONFOPT_GLOBAL && sg_confbuild_set(b, o,
		    b->cfg, o->info.def, &p) == -1)
			return (-1);
		if (o->scope == SG_CONFOPT_SESSION && sg_confbuild_set(b, o,
		    &b->gopt, o->info.def, &p) == -1)
			return (-1);
	}
	return (0);
}

int
sg_confbuild_init(struct sg_confbuild *b, char *err, size_t errlen)
{

	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };

	memset(b, 0, sizeof(*b));
	b->err = err;
	b->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if ((b->cfg = calloc(1, sizeof(*b->cfg))) == NULL)
		return (sg_confbuild_fail(b, &p, "out of memory"));
	return (set_defaults(b));
}

int
sg_confbuild_add_listener(struct sg_confbuild *b, const char *name,
    unsigned line)
{
	struct sg_config *c = b->cfg;
	struct sg_listener_config *l;
	struct sg_confbuild_meta *m;
	struct sg_confbuild_place p = { NULL, NULL, line, 0 };

	l = reallocarray(c->listeners, c->nlisteners + 1, sizeof(*l));
	if (l == NULL)
		return (sg_confbuild_fail(b, &p, "out of memory"));
	c->listeners = l;
	m = reallocarray(b->meta, c->nlisteners + 1, sizeof(*m));
	if (m == NULL)
		return (sg_confbuild_fail(b, &p, "out of memory"));
	b->meta = m;
	l += c->nlisteners;
	m += c->nlisteners;
	memset(l, 0, sizeof(*l));
	memset(m, 0, sizeof(*m));
	m->line = line;
	if ((l->name = strdup(name)) == NULL)
		return (sg_confbuild_fail(b, &p, "out of memory"));
	c->nlisteners++;
	return (0);
}
