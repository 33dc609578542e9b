#ifndef SG_CONFBUILD_H
#define SG_CONFBUILD_H

/*
 * A configuration being built: the struct sg_config being filled, where
 * each value came from (for precedence and for error messages), and the
 * first error.  Shared by the file reader (confini.c) and the command line
 * and validation (config.c); private to the configuration.
 */

#include <stddef.h>
#include <stdint.h>

#include "confdata.h"
#include "confopt.h"

/* Where a value came from, lowest precedence first. */
enum sg_confbuild_from {
	SG_CONFBUILD_DEFAULT,
	SG_CONFBUILD_GLOBAL,	/* [global] */
	SG_CONFBUILD_SECTION,	/* the listener's own section */
	SG_CONFBUILD_CLI
};

struct sg_confbuild_src {
	enum sg_confbuild_from kind;
	unsigned line;		/* of the file; 0: none */
};

/* The start of an error message: "FILE:LINE: [section] key: ". */
struct sg_confbuild_place {
	const char *section;	/* NULL: none */
	const char *key;	/* NULL: none */
	unsigned line;		/* 0: none */
	int cli;		/* 1: "--key: " instead */
};

/* What is known of one listener besides its config. */
struct sg_confbuild_meta {
	unsigned line;		/* of its [name] header; 0: command line */
	struct sg_confbuild_src src[SG_CONFOPT_N];
};

struct sg_confbuild {
	struct sg_config *cfg;
	struct sg_confbuild_meta *meta;	/* parallel to cfg->listeners */
	struct sg_session_options gopt;	/* defaults, then [global] */
	struct sg_confbuild_src gsrc[SG_CONFOPT_N];
	const char *path;		/* the file, for messages; or NULL */
	uint64_t cli_val[SG_CONFOPT_N];	/* --name=value, parsed */
	const char *cli_str[SG_CONFOPT_N];	/* --listen, --upstream */
	int cli_set[SG_CONFOPT_N];
	char *err;
	size_t errlen;
	int failed;
};

/*
 * sg_confbuild_init(b, err, errlen):
 * Start b: a new config with every default set, errors to go into err.
 * Returns 0, or -1 with the message in err; either way b->cfg (if not
 * NULL) and b->meta are the caller's to free.
 */
int sg_confbuild_init(struct sg_confbuild *b, char *err, size_t errlen);

/*
 * sg_confbuild_fail(b, p, fmt, ...):
 * Record an error at p, unless b already failed: the first error is the
 * one that caused the others.  Returns -1.
 */
int sg_confbuild_fail(struct sg_confbuild *b,
    const struct sg_confbuild_place *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * sg_confbuild_parse(b, o, value, v, p):
 * Check value for option o: parse it into *v, or for an address (type
 * SG_OPTPARSE_STRING) check its syntax and leave *v alone.  Returns 0, or
 * -1 after sg_confbuild_fail() at p.
 */
int sg_confbuild_parse(struct sg_confbuild *b, const struct sg_confopt *o,
    const char *value, uint64_t *v, const struct sg_confbuild_place *p);

/*
 * sg_confbuild_set(b, o, base, value, p):
 * Parse value for o and store it in base, a struct of o's scope (an
 * address as a copy of value).  Returns 0, or -1 after
 * sg_confbuild_fail() at p.
 */
int sg_confbuild_set(struct sg_confbuild *b, const struct sg_confopt *o,
    void *base, const char *value, const struct sg_confbuild_place *p);

/*
 * sg_confbuild_add_listener(b, name, line):
 * Append a listener called name, its options not set yet (all from
 * SG_CONFBUILD_DEFAULT), its header on line.  Returns 0, or -1 after
 * sg_confbuild_fail().
 */
int sg_confbuild_add_listener(struct sg_confbuild *b, const char *name,
    unsigned line);

#endif /* !SG_CONFBUILD_H */
