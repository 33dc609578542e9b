/*
 * libFuzzer target for the PROXY protocol parser.  Input: one control
 * byte (the piece size for the split run, 0 meaning 1), then the first
 * bytes of a connection.  abort() unless:
 *  - the verdict, the bytes taken, the reason and the result are the same
 *    fed at once and fed in pieces;
 *  - a header taken is the result's length, never more than was given,
 *    and a v1 one ends in CRLF within 107 bytes;
 *  - what sg_proxyproto_compose() writes from a result parses back to
 *    the same bytes composed again, in both versions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

struct outcome {
	enum sg_proxyproto_status st;
	size_t taken;
	const char *why;
	struct sg_proxyproto_result res;
};

static void
run(const char *in, size_t len, size_t step, struct outcome *o)
{
	struct sg_proxyproto *pp;
	size_t at = 0, n, used;

	if ((pp = sg_proxyproto_new()) == NULL)
		abort();
	memset(o, 0, sizeof(*o));
	o->st = SG_PROXYPROTO_NEED_MORE;
	while (at < len && o->st == SG_PROXYPROTO_NEED_MORE) {
		n = len - at < step ? len - at : step;
		o->st = sg_proxyproto_feed(pp, in + at, n, &used);
		if (used > n || (o->st == SG_PROXYPROTO_NEED_MORE && used != n))
			abort();
		o->taken += used;
		at += n;
	}
	o->why = sg_proxyproto_error(pp);
	if ((o->why != NULL) != (o->st == SG_PROXYPROTO_ERROR))
		abort();
	memcpy(&o->res, sg_proxyproto_result(pp), sizeof(o->res));
	sg_proxyproto_free(pp);
}

static int
same(const struct outcome *a, const struct outcome *b)
{

	if (a->st != b->st || a->taken != b->taken)
		return (0);
	if (a->st == SG_PROXYPROTO_ERROR)
		return (strcmp(a->why, b->why) == 0);
	return (a->st != SG_PROXYPROTO_DONE ||
	    memcmp(&a->res, &b->res, sizeof(a->res)) == 0);
}

static void
check_done(const char *in, const struct outcome *o)
{
	const struct sg_proxyproto_result *r = &o->res;

	if (r->len != o->taken)
		abort();
	if (r->version == SG_PROXYPROTO_V1 && (r->len > 107 || r->len < 8 ||
	    memcmp(in + r->len - 2, "\r\n", 2) != 0))
		abort();
}

/* Compose from the result, parse that, compose again: the same bytes. */
static void
check_round_trip(const struct sg_proxyproto_result *r)
{
	char a[SG_PROXYPROTO_MAX], b[SG_PROXYPROTO_MAX];
	size_t alen, blen;
	struct outcome o;
	int v;

	for (v = SG_PROXYPROTO_V1; v <= SG_PROXYPROTO_V2; v++) {
		if (sg_proxyproto_compose(v, &r->src, &r->dst, a, sizeof(a),
		    &alen) != 0)
			abort();
		run(a, alen, alen, &o);
		if (o.st != SG_PROXYPROTO_DONE || o.taken != alen ||
		    o.res.local != r->local)
			abort();
		if (sg_proxyproto_compose(v, &o.res.src, &o.res.dst, b,
		    sizeof(b), &blen) != 0 || blen != alen ||
		    memcmp(a, b, alen) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	const char *in = (const char *)data + 1;
	size_t len, step;

	if (size < 1)
		return (0);
	step = data[0] == 0 ? 1 : data[0];
	len = size - 1;
	run(in, len, len > 0 ? len : 1, &whole);
	run(in, len, step, &split);
	if (!same(&whole, &split))
		abort();
	if (whole.st == SG_PROXYPROTO_DONE) {
		check_done(in, &whole);
		check_round_trip(&whole.res);
	}
	return (0);
}
