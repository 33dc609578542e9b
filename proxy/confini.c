/*
 * The configuration file, read with inih.  inih is given our own line
 * reader, so that we count lines and see section headers ourselves.
 *
 * Owns nothing past the call; calls inih, confbuild and confopt.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "confini.h"

/* Longest listener name: it goes into every log line. */
#define NAME_MAX_LEN	32

#define CUR_NONE	(-2)
#define CUR_GLOBAL	(-1)

/* The state of one read, for inih's callbacks. */
struct reader {
	struct sg_confbuild *b;
	FILE *fp;
	unsigned line;			/* the last line read */
	unsigned gline;			/* line of [global]; 0: none */
	long cur;			/* section: CUR_* or listener index */
};

static const char *
cur_name(const struct reader *r)
{

	return (r->cur == CUR_GLOBAL ? "global" :
	    r->b->cfg->listeners[r->cur].name);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	return (n > 0 && n <= NAME_MAX_LEN && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n);
}

/* A listener section called name: not a typo, not seen before. */
static int
begin_listener(struct reader *r, struct sg_confbuild_place *p,
    const char *name)
{
	struct sg_confbuild *b = r->b;
	char q[80];
	size_t i;

	if (!valid_name(name)) {
		p->section = NULL;
		return (sg_confbuild_fail(b, p, "unknown section %s: a "
		    "listener name is 1 to 32 letters, digits, '-', '_' or "
		    "'.'", sg_optparse_quote(name, q, sizeof(q))));
	}
	if (strcasecmp(name, "global") == 0 ||
	    sg_optparse_distance(name, "global") < 2)
		return (sg_confbuild_fail(b, p, "unknown section (did you "
		    "mean [global]? any other name is a listener)"));
	for (i = 0; i < b->cfg->nlisteners; i++)
		if (strcmp(b->cfg->listeners[i].name, name) == 0)
			return (sg_confbuild_fail(b, p, "duplicate section "
			    "(first on line %u)", b->meta[i].line));
	if (sg_confbuild_add_listener(b, name, r->line) == -1)
		return (-1);
	r->cur = (long)b->cfg->nlisteners - 1;
	return (0);
}

/* A "[name]" line: start a section, refusing duplicates and typos. */
static int
begin_section(struct reader *r, const char *s)
{
	struct sg_confbuild_place p = { NULL, NULL, r->line, 0 };
	const char *end = strchr(s, ']'), *rest;
	char name[128];
	size_t n;

	if (end == NULL)
		return (sg_confbuild_fail(r->b, &p, "expected ']' after the "
		    "section name"));
	rest = end + 1 + strspn(end + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return (sg_confbuild_fail(r->b, &p, "expected [name] alone "
		    "on its line"));
	n = (size_t)(end - s - 1) < sizeof(name) ? (size_t)(end - s - 1) :
	    sizeof(name) - 1;
	memcpy(name, s + 1, n);
	name[n] = '\0';
	p.section = name;
	if (strcmp(name, "global") != 0)
		return (begin_listener(r, &p, name));
	if (r->gline != 0)
		return (sg_confbuild_fail(r->b, &p, "duplicate section "
		    "(first on line %u)", r->gline));
	r->gline = r->line;
	r->cur = CUR_GLOBAL;
	return (0);
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
	struct reader *r = arg;
	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };
	size_t len, skip;

	if (r->b->failed || fgets(str, num, r->fp) == NULL)
		return (NULL);
	p.line = ++r->line;
	len = strlen(str);
	if ((len == 0 || str[len - 1] != '\n') && !feof(r->fp)) {
		if (len + 1 < (size_t)num)
			sg_confbuild_fail(r->b, &p, "the line holds a NUL "
			    "byte");
		else
			sg_confbuild_fail(r->b, &p, "line longer than %d "
			    "bytes", num - 2);
		return (NULL);
	}
	skip = r->line == 1 && strncmp(str, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	skip += strspn(str + skip, " \t");
	memmove(str, str + skip, len - skip + 1);
	if (str[0] == '[' && begin_section(r, str) == -1)
		return (NULL);
	return (str);
}

/* Check that o may stand in the current section. */
static int
check_scope(struct reader *r, const struct sg_confopt *o,
    const struct sg_confbuild_place *p)
{

	if (o->scope == SG_CONFOPT_GLOBAL && r->cur != CUR_GLOBAL)
		return (sg_confbuild_fail(r->b, p, "a global option: put it "
		    "in [global]"));
	if (o->scope == SG_CONFOPT_LISTENER && r->cur == CUR_GLOBAL)
		return (sg_confbuild_fail(r->b, p, "put it in a listener's "
		    "section, like [c2s]"));
	return (0);
}

/* An unknown key: suggest the nearest name if it is close. */
static int
unknown_key(struct sg_confbuild *b, const struct sg_confbuild_place *p,
    const char *name)
{
	const char *near = sg_confopt_nearest(name);

	if (near != NULL)
		return (sg_confbuild_fail(b, p, "unknown option (did you "
		    "mean %s?)", near));
	return (sg_confbuild_fail(b, p, "unknown option (see "
	    "stanzaguard.conf(5))"));
}

/* Where option o of the current section lives. */
static void *
member_base(struct reader *r, const struct sg_confopt *o)
{
	struct sg_confbuild *b = r->b;

	if (o->scope == SG_CONFOPT_GLOBAL)
		return (b->cfg);
	if (o->scope == SG_CONFOPT_LISTENER)
		return (&b->cfg->listeners[r->cur]);
	if (r->cur == CUR_GLOBAL)
		return (&b->gopt);
	return (&b->cfg->listeners[r->cur].opt);
}

/* Where the current section's value of o came from. */
static struct sg_confbuild_src *
src_of(struct reader *r, const struct sg_confopt *o)
{
	size_t i = (size_t)(o - sg_confopt_rows);

	return (r->cur == CUR_GLOBAL ? &r->b->gsrc[i] :
	    &r->b->meta[r->cur].src[i]);
}

/* The ini_handler: one "name = value" line.  Returns 1, or 0 on error. */
static int
on_key(void *arg, const char *section, const char *name, const char *value)
{
	struct reader *r = arg;
	struct sg_confbuild_place p = { NULL, name, r->line, 0 };
	const struct sg_confopt *o;
	struct sg_confbuild_src *s;
	char q[80];

	(void)section;	/* ours is r->cur: inih cuts long names */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(name))
		p.key = sg_optparse_quote(name, q, sizeof(q));
	if (r->cur == CUR_NONE) {
		sg_confbuild_fail(r->b, &p, "outside any section (put it "
		    "under [global] or a listener)");
		return (0);
	}
	p.section = cur_name(r);
	if ((o = sg_confopt_find(name)) == NULL) {
		unknown_key(r->b, &p, name);
		return (0);
	}
	if (check_scope(r, o, &p) == -1)
		return (0);
	if ((s = src_of(r, o))->kind != SG_CONFBUILD_DEFAULT) {
		sg_confbuild_fail(r->b, &p, "set twice (first on line %u)",
		    s->line);
		return (0);
	}
	if (sg_confbuild_set(r->b, o, member_base(r, o), value, &p) == -1)
		return (0);
	s->kind = r->cur == CUR_GLOBAL ? SG_CONFBUILD_GLOBAL :
	    SG_CONFBUILD_SECTION;
	s->line = r->line;
	return (1);
}

int
sg_confini_read(struct sg_confbuild *b, const char *path)
{
	struct sg_confbuild_place p = { NULL, NULL, 0, 0 };
	struct reader r = { b, NULL, 0, 0, CUR_NONE };
	int rc;

	b->path = path;
	if ((r.fp = fopen(path, "r")) == NULL)
		return (sg_confbuild_fail(b, &p, "%s", strerror(errno)));
	rc = ini_parse_stream(read_line, &r, on_key, &r);
	if (ferror(r.fp))
		sg_confbuild_fail(b, &p, "%s", strerror(errno));
	fclose(r.fp);
	/* inih's own errors: lines it could not parse. */
	if (rc > 0 && !b->failed) {
		p.line = (unsigned)rc;
		return (sg_confbuild_fail(b, &p, "expected name = value, "
		    "[section] or a comment"));
	}
	if (rc < 0 && !b->failed)
		return (sg_confbuild_fail(b, &p, "cannot parse (inih error "
		    "%d)", rc));
	if (!b->failed && b->cfg->nlisteners == 0)
		return (sg_confbuild_fail(b, &p, "no listener: add a section "
		    "like [c2s] with listen and upstream"));
	return (b->failed ? -1 : 0);
}
