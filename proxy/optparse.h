#ifndef SG_OPTPARSE_H
#define SG_OPTPARSE_H

/*
 * Values of options as a person writes them: numbers, durations, sizes,
 * booleans and names from a list, each range checked, with one-line error
 * texts; and the reverse, a value in its shortest exact form.  Nothing here
 * knows which options exist (that is confopt.c).
 *
 * Error texts are predicates on the quoted value, without a trailing
 * newline: "\"5x\" is not a duration (examples: 300s, 5m, 500ms)".
 */

#include <stddef.h>
#include <stdint.h>

/* Durations are in milliseconds, sizes in bytes. */
#define SG_OPTPARSE_SEC		1000ULL
#define SG_OPTPARSE_MIN		(60 * SG_OPTPARSE_SEC)
#define SG_OPTPARSE_HOUR	(60 * SG_OPTPARSE_MIN)
#define SG_OPTPARSE_DAY		(24 * SG_OPTPARSE_HOUR)
#define SG_OPTPARSE_KIB		1024ULL
#define SG_OPTPARSE_MIB		(1024 * SG_OPTPARSE_KIB)
#define SG_OPTPARSE_GIB		(1024 * SG_OPTPARSE_MIB)

enum sg_optparse_type {
	SG_OPTPARSE_UINT,	/* decimal digits: "64" */
	SG_OPTPARSE_DURATION,	/* "300" (s), "300s", "5m", "500ms", "1h" */
	SG_OPTPARSE_SIZE,	/* "262144", "256k", "1m", "1g" */
	SG_OPTPARSE_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	SG_OPTPARSE_ENUM,	/* one of the names of a choice list */
	SG_OPTPARSE_STRING	/* not parsed here: the caller checks it */
};

/* One name of an SG_OPTPARSE_ENUM; a list ends with a NULL name. */
struct sg_optparse_choice {
	const char *name;
	unsigned val;
};

/* What a value may be. */
struct sg_optparse_spec {
	enum sg_optparse_type type;
	const struct sg_optparse_choice *choices;	/* SG_OPTPARSE_ENUM */
	uint64_t min;		/* UINT, DURATION, SIZE: bounds, inclusive */
	uint64_t max;
};

/*
 * sg_optparse_value(spec, s, v, why, len):
 * Parse s as a value of spec into *v (milliseconds for a duration, bytes
 * for a size, 0/1 for a boolean, the choice's val for an enum), range
 * checked.  Returns 0, or -1 with the reason in why (len bytes, always
 * NUL-terminated).  An SG_OPTPARSE_STRING spec always fails.
 */
int sg_optparse_value(const struct sg_optparse_spec *spec, const char *s,
    uint64_t *v, char *why, size_t len);

/*
 * sg_optparse_show(type, v, buf, len):
 * Write v in the shortest exact form of type ("5m", "256k", "64") into buf
 * (always NUL-terminated); returns buf.
 */
const char *sg_optparse_show(enum sg_optparse_type type, uint64_t v,
    char *buf, size_t len);

/*
 * sg_optparse_quote(s, buf, len):
 * Write s into buf in double quotes, bytes other than printable ASCII and
 * '"' and '\\' as \xNN, cut short with "..." to fit, for a one-line
 * message; returns buf.  len must be at least 12.
 */
const char *sg_optparse_quote(const char *s, char *buf, size_t len);

/*
 * sg_optparse_distance(a, b):
 * The Levenshtein distance of two names, for "did you mean"; SIZE_MAX if
 * either is 64 bytes or longer.
 */
size_t sg_optparse_distance(const char *a, const char *b);

#endif /* !SG_OPTPARSE_H */
