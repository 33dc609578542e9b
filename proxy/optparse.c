/*
 * Option values: parsers with their error texts, and the way back.
 *
 * Owns nothing; calls libc only.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "optparse.h"

#define SEC	SG_OPTPARSE_SEC
#define MIN	SG_OPTPARSE_MIN
#define HOUR	SG_OPTPARSE_HOUR
#define KIB	SG_OPTPARSE_KIB
#define MIB	SG_OPTPARSE_MIB
#define GIB	SG_OPTPARSE_GIB

struct unit {
	const char *suffix;
	uint64_t mul;
};

/*
 * The suffixes a value may have.  The first ones are those shown, from
 * the largest unit down to one that divides everything; the other
 * spellings follow.
 */
static const struct unit duration_units[] = {	/* "300" is seconds */
	{ "h", HOUR }, { "m", MIN }, { "s", SEC }, { "ms", 1 }, { "", SEC },
	{ NULL, 0 }
};
static const struct unit size_units[] = {
	{ "g", GIB }, { "m", MIB }, { "k", KIB }, { "", 1 },
	{ "G", GIB }, { "M", MIB }, { "K", KIB }, { NULL, 0 }
};

/* The units of type, or NULL if it has none. */
static const struct unit *
units_of(enum sg_optparse_type type)
{

	if (type == SG_OPTPARSE_DURATION)
		return (duration_units);
	if (type == SG_OPTPARSE_SIZE)
		return (size_units);
	return (NULL);
}

const char *
sg_optparse_quote(const char *s, char *buf, size_t len)
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

size_t
sg_optparse_distance(const char *a, const char *b)
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

static int
parse_uint(const char *s, uint64_t *v)
{

	if (parse_digits(&s, v) == -1 || *s != '\0')
		return (-1);
	return (0);
}

/* Decimals after a point: "5" of "1.5", at most 9 of them. */
static int
parse_fraction(const char **sp, uint64_t *frac, uint64_t *den)
{
	const char *s = *sp;

	*frac = 0;
	*den = 1;
	if (*s != '.')
		return (0);
	for (s++; *s >= '0' && *s <= '9'; s++) {
		if (*den == 1000000000)
			return (-1);
		*frac = *frac * 10 + (uint64_t)(*s - '0');
		*den *= 10;
	}
	if (*den == 1)
		return (-1);	/* "1." */
	*sp = s;
	return (0);
}

/*
 * Parse digits, an optional fraction and a unit suffix from units (an
 * exact match: no space, no other case than listed).  "1.5s" is 1500 ms;
 * a fraction finer than the base unit ("1.0005s") is refused, not rounded.
 */
static int
parse_scaled(const char *s, const struct unit *units, uint64_t *v)
{
	const struct unit *u;
	uint64_t frac, den;

	if (parse_digits(&s, v) == -1 || parse_fraction(&s, &frac, &den))
		return (-1);
	for (u = units; u->suffix != NULL; u++) {
		if (strcmp(s, u->suffix) != 0)
			continue;
		/* frac < 1e9 and mul <= 2^30: the product fits. */
		if (frac * u->mul % den != 0)
			return (-1);
		*v = mul_sat(*v, u->mul);
		if (*v < UINT64_MAX - frac * u->mul / den)
			*v += frac * u->mul / den;
		return (0);
	}
	return (-1);
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

static int
parse_enum(const struct sg_optparse_choice *choices, const char *s,
    uint64_t *v, char *why, size_t len)
{
	const struct sg_optparse_choice *c;
	size_t n;
	char q[80];

	for (c = choices; c->name != NULL; c++)
		if (strcmp(c->name, s) == 0)
			return (*v = c->val, 0);
	n = (size_t)snprintf(why, len, "%s is not one of ",
	    sg_optparse_quote(s, q, sizeof(q)));
	for (c = choices; c->name != NULL && n < len; c++)
		n += (size_t)snprintf(why + n, len - n, "%s%s", c->name,
		    c[1].name != NULL ? ", " : "");
	return (-1);
}

const char *
sg_optparse_show(enum sg_optparse_type type, uint64_t v, char *buf,
    size_t len)
{
	const struct unit *u = units_of(type);

	/* The first unit that divides v; the smallest divides all. */
	while (u != NULL && v != 0 && v % u->mul != 0)
		u++;
	if (u == NULL || v == 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%s", (unsigned long long)(v / u->mul),
		    u->suffix);
	return (buf);
}

/* *v within the bounds of spec, else the reason in why. */
static int
check_range(const struct sg_optparse_spec *spec, const char *s, uint64_t v,
    char *why, size_t len)
{
	char q[80], lo[32], hi[32];

	if (v >= spec->min && v <= spec->max)
		return (0);
	snprintf(why, len, "%s is out of range (%s..%s)",
	    sg_optparse_quote(s, q, sizeof(q)),
	    sg_optparse_show(spec->type, spec->min, lo, sizeof(lo)),
	    sg_optparse_show(spec->type, spec->max, hi, sizeof(hi)));
	return (-1);
}

int
sg_optparse_value(const struct sg_optparse_spec *spec, const char *s,
    uint64_t *v, char *why, size_t len)
{
	const char *what;
	char q[80];
	int r = -1;

	switch (spec->type) {
	case SG_OPTPARSE_UINT:
		r = parse_uint(s, v);
		what = "is not a number";
		break;
	case SG_OPTPARSE_DURATION:
		r = parse_scaled(s, duration_units, v);
		what = "is not a duration (examples: 300s, 5m, 500ms)";
		break;
	case SG_OPTPARSE_SIZE:
		r = parse_scaled(s, size_units, v);
		what = "is not a size (examples: 262144, 256k, 1m)";
		break;
	case SG_OPTPARSE_BOOL:
		if (parse_bool(s, v) == 0)
			return (0);
		what = "is not a boolean (yes/no, true/false, on/off, 1/0)";
		break;
	case SG_OPTPARSE_ENUM:
		return (parse_enum(spec->choices, s, v, why, len));
	default:
		what = "is text, not a value parsed here";
		break;
	}
	if (r == 0)
		return (check_range(spec, s, *v, why, len));
	snprintf(why, len, "%s %s", sg_optparse_quote(s, q, sizeof(q)), what);
	return (-1);
}
