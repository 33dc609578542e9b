/*
 * libFuzzer target for the stream tracker: the events and the result must
 * not depend on how the bytes are split, nor on sg_tracker_release_idle()
 * between pieces.  Input: 4 control bytes, then the stream.
 *   byte 0: bit 0 small limits, bit 1 expect_restart at the cut,
 *           bit 2 set_opaque at the cut
 *   bytes 1-2: where to cut (modulo the length)
 *   byte 3: piece size for the stepped runs (0 means 1)
 * Any difference, or a gap between events, abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"

struct fev {
	enum sg_tracker_event_type type;
	uint64_t start;
	uint64_t end;
	enum sg_stanza_kind kind;
	int sm_resume;
	uint64_t strings;	/* hash of every string and starttls span */
};

struct flog {
	struct fev *ev;
	size_t n;
	size_t cap;
};

static uint64_t
hash(uint64_t h, const char *s)
{

	if (s == NULL)
		return (h * 31 + 7);
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h * 31 + 1);
}

static void
record(void *ctx, const struct sg_tracker_event *ev)
{
	struct flog *log = ctx;
	struct fev *f;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	if (log->n > 0 && ev->type == SG_EV_KEEPALIVE &&
	    log->ev[log->n - 1].type == SG_EV_KEEPALIVE &&
	    log->ev[log->n - 1].end == ev->start) {
		log->ev[log->n - 1].end = ev->end;
		return;
	}
	if (log->n == log->cap) {
		log->cap = log->cap == 0 ? 32 : 2 * log->cap;
		log->ev = realloc(log->ev, log->cap * sizeof(*f));
		if (log->ev == NULL)
			abort();
	}
	f = &log->ev[log->n++];
	memset(f, 0, sizeof(*f));
	f->type = ev->type;
	f->start = ev->start;
	f->end = ev->end;
	f->kind = ev->kind;
	f->sm_resume = ev->sm_resume;
	h = hash(hash(hash(h, ev->prefix), ev->default_ns), ev->version);
	h = hash(hash(hash(h, ev->name), ev->ns), ev->condition);
	h = hash(hash(hash(hash(h, ev->id), ev->stanza_type), ev->from),
	    ev->to);
	for (i = 0; i < ev->nstarttls; i++)
		h = (h ^ ev->starttls[i].start ^ (ev->starttls[i].end << 32)) *
		    0x100000001b3ULL;
	f->strings = h;
}

struct plan {
	const char *data;
	size_t len;
	struct sg_tracker_limits lim;
	int turn;		/* 0, 1 restart, 2 opaque: applied at cut */
	size_t cut;
};

/* Feed p in pieces of step bytes, also cut at cut; turn at p->cut. */
static enum sg_tracker_result
run(const struct plan *p, size_t step, size_t cut, int release,
    struct flog *log)
{
	struct sg_tracker *t;
	enum sg_tracker_result r = SG_TRACK_OK;
	size_t at = 0, next;

	memset(log, 0, sizeof(*log));
	if ((t = sg_tracker_new(&p->lim, record, log)) == NULL)
		abort();
	while (at < p->len) {
		if (at == p->cut && p->turn == 1)
			sg_tracker_expect_restart(t);
		else if (at == p->cut && p->turn == 2)
			sg_tracker_set_opaque(t);
		next = step > p->len - at ? p->len : at + step;
		if (at < cut && cut < next)
			next = cut;
		r = sg_tracker_feed(t, p->data + at, next - at);
		if (release)
			(void)sg_tracker_release_idle(t);
		at = next;
	}
	if (r == SG_TRACK_OK && sg_tracker_offset(t) != p->len)
		abort();
	sg_tracker_free(t);
	return (r);
}

static void
same(const struct flog *a, enum sg_tracker_result ra, const struct flog *b,
    enum sg_tracker_result rb)
{

	if (ra != rb || a->n != b->n ||
	    (a->n > 0 && memcmp(a->ev, b->ev, a->n * sizeof(*a->ev)) != 0))
		abort();
}

/* Without a turn, events tile the stream from byte 0 without a gap. */
static void
contiguous(const struct flog *log)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		if (log->ev[i].start != (i == 0 ? 0 : log->ev[i - 1].end) ||
		    log->ev[i].end < log->ev[i].start)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sg_tracker_limits small = { 200, 5, 4, 16, 32 };
	struct plan p;
	struct flog ref, got;
	enum sg_tracker_result r, r2;
	size_t step;

	if (size < 4)
		return (0);
	p.data = (const char *)data + 4;
	p.len = size - 4;
	if (data[0] & 1)
		p.lim = small;
	else
		sg_tracker_limits_default(&p.lim);
	p.turn = data[0] & 2 ? 1 : data[0] & 4 ? 2 : 0;
	p.cut = p.len == 0 ? 0 : ((size_t)data[1] << 8 | data[2]) % p.len;
	step = data[3] == 0 ? 1 : data[3];

	/* A turn is at a given byte: every run must stop there. */
	r = run(&p, SIZE_MAX, p.turn != 0 ? p.cut : SIZE_MAX, 0, &ref);
	if (p.turn == 0)
		contiguous(&ref);
	r2 = run(&p, SIZE_MAX, p.cut, 1, &got);
	same(&ref, r, &got, r2);
	free(got.ev);
	r2 = run(&p, step, p.cut, 1, &got);
	same(&ref, r, &got, r2);
	free(got.ev);
	r2 = run(&p, 1, p.cut, 0, &got);
	same(&ref, r, &got, r2);
	free(got.ev);
	free(ref.ev);
	return (0);
}
