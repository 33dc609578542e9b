/*
 * libFuzzer target for the starttls front: the outcome and our bytes must
 * not depend on how the client's bytes are split, and an outcome other
 * than NEED_MORE is final.  Input: 2 bytes (where to cut, modulo the
 * length), then the client's bytes.  Any difference abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bq.h"
#include "front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed in pieces cut at cut; the outcome, our bytes into out. */
static enum sg_front_outcome
run(const char *in, size_t len, size_t cut, char **out, size_t *outlen)
{
	struct sg_tracker_limits lim;
	struct sg_front *f;
	enum sg_front_outcome o, o2;
	struct sg_bq *q;

	sg_tracker_limits_default(&lim);
	if ((f = sg_front_new(&lim, "fuzz")) == NULL)
		abort();
	o = sg_front_feed(f, in, cut);
	o2 = sg_front_feed(f, in + cut, len - cut);
	if (o != SG_FRONT_NEED_MORE && o2 != o)
		abort();
	q = sg_front_outq(f);
	*outlen = sg_bq_len(q);
	if ((*out = malloc(*outlen + 1)) == NULL)
		abort();
	sg_bq_copyout(q, 0, *out, *outlen);
	sg_front_free(f);
	return (o2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 2;
	char *a, *b;
	size_t len, cut, alen, blen;
	enum sg_front_outcome oa, ob;

	if (size < 2)
		return (0);
	len = size - 2;
	cut = len > 0 ? ((size_t)data[0] << 8 | data[1]) % (len + 1) : 0;
	oa = run(in, len, 0, &a, &alen);
	ob = run(in, len, cut, &b, &blen);
	/* Data after <starttls/> is refused only when seen in one piece. */
	if (oa != ob && !(oa == SG_FRONT_REFUSE && ob == SG_FRONT_PROCEED))
		abort();
	if (oa == ob && (alen != blen || memcmp(a, b, alen) != 0))
		abort();
	free(a);
	free(b);
	return (0);
}
