/*
 * A ring of fixed records, oldest first, and their strings in a byte
 * queue beside it: a record is pushed with one append and dropped, once
 * its stanza is written, with no copy at all.  The strings are kept at
 * push time rather than parsed again from the queued bytes when needed:
 * by then the stanza may be half written, or its stream restarted with
 * other namespaces, and a bounce in the queue is not the stanza it names.
 *
 * Owns the ring and its byte queue; calls bq and compose.  Used by the
 * close engine only.
 */
#include <stdlib.h>
#include <string.h>

#include "bq.h"
#include "ledger.h"

#define NFIELDS		6
#define RING_FIRST	16	/* records; the ring doubles from there */

struct rec {
	uint64_t start;
	uint64_t end;
	uint32_t size;		/* of its strings in strs */
	uint8_t kind;
	uint8_t cut;
	uint8_t bounce;
	uint8_t present;	/* bit i: field i was not NULL, and is kept */
};

struct sg_ledger {
	struct rec *ring;	/* cap records, NULL until the first push */
	size_t cap;		/* a power of two */
	size_t head;		/* the oldest record */
	size_t n;
	/*
	 * Present fields, each with its NUL; NULL like the ring until the
	 * first push, and given back with it when empty: an idle session's
	 * ledgers keep nothing but themselves.
	 */
	struct sg_bq *strs;
};

struct sg_ledger *
sg_ledger_new(void)
{

	return (calloc(1, sizeof(struct sg_ledger)));
}

void
sg_ledger_free(struct sg_ledger *l)
{

	if (l == NULL)
		return;
	sg_bq_free(l->strs);
	free(l->ring);
	free(l);
}

/* Twice the room (RING_FIRST at first), the oldest moved to index 0. */
static int
grow_ring(struct sg_ledger *l)
{
	struct rec *r;
	size_t cap = l->cap ? l->cap * 2 : RING_FIRST;
	size_t i;

	if (cap > SIZE_MAX / sizeof(*r) || (r = malloc(cap * sizeof(*r))) ==
	    NULL)
		return (-1);
	for (i = 0; i < l->n; i++)
		r[i] = l->ring[(l->head + i) & (l->cap - 1)];
	free(l->ring);
	l->ring = r;
	l->cap = cap;
	l->head = 0;
	return (0);
}

/* Room for one more record. */
static int
ring_room(struct sg_ledger *l)
{

	return (l->n < l->cap ? 0 : grow_ring(l));
}

static void
fields_of(const struct sg_stanza_info *st, const char *f[NFIELDS])
{

	f[0] = st->name;
	f[1] = st->ns;
	f[2] = st->id;
	f[3] = st->type;
	f[4] = st->from;
	f[5] = st->to;
}

/* The pieces of st's strings as stored, one per string (two if cut). */
static int
pieces_of(const struct sg_stanza_info *st, struct rec *h,
    struct iovec iov[2 * NFIELDS])
{
	const char *f[NFIELDS];
	size_t len;
	int i, k = 0;

	fields_of(st, f);
	for (i = 0; i < NFIELDS; i++) {
		if (f[i] == NULL)
			continue;
		h->present |= (uint8_t)(1u << i);
		/* The string and its NUL in one piece, unless it is cut. */
		len = strlen(f[i]);
		if (len > SG_LEDGER_MAX_VALUE) {
			h->cut = 1;
			iov[k++] = (struct iovec){ (void *)f[i],
			    SG_LEDGER_MAX_VALUE };
			iov[k++] = (struct iovec){ (void *)"", 1 };
			h->size += SG_LEDGER_MAX_VALUE + 1;
			continue;
		}
		iov[k++] = (struct iovec){ (void *)f[i], len + 1 };
		h->size += (uint32_t)len + 1;
	}
	return (k);
}

/* Already stored as we store it; no string in it can be over the limit. */
static int
packed_of(const struct sg_stanza_info *st, struct rec *h, struct iovec *iov)
{
	const char *f[NFIELDS];
	int i;

	fields_of(st, f);
	for (i = 0; i < NFIELDS; i++)
		if (f[i] != NULL)
			h->present |= (uint8_t)(1u << i);
	h->size = (uint32_t)st->packed_len;
	iov[0] = (struct iovec){ (void *)st->packed, st->packed_len };
	return (1);
}

int
sg_ledger_push(struct sg_ledger *l, uint64_t start, uint64_t end,
    const struct sg_stanza_info *st, int bounce)
{
	struct rec h = { .start = start, .end = end, .kind = (uint8_t)st->kind,
	    .bounce = bounce != 0 };
	struct iovec iov[2 * NFIELDS];
	int k;

	if (l->strs == NULL && (l->strs = sg_bq_new()) == NULL)
		return (-1);
	if (ring_room(l) != 0)
		return (-1);
	if (st->packed != NULL && st->packed_len <= SG_LEDGER_MAX_VALUE + 1)
		k = packed_of(st, &h, iov);
	else
		k = pieces_of(st, &h, iov);
	/* One piece, the common case, takes sg_bq_append's short way. */
	if ((k == 1 ? sg_bq_append(l->strs, iov[0].iov_base, iov[0].iov_len) :
	    sg_bq_appendv(l->strs, iov, k)) != 0)
		return (-1);
	l->ring[(l->head + l->n) & (l->cap - 1)] = h;
	l->n++;
	return (0);
}

/* Forget at most n records from the oldest on, those that end by written. */
static void
forget_oldest(struct sg_ledger *l, uint64_t n, uint64_t written)
{
	size_t drop = 0;

	while (l->n > 0 && n > 0 && l->ring[l->head].end <= written) {
		drop += l->ring[l->head].size;
		l->head = (l->head + 1) & (l->cap - 1);
		l->n--;
		n--;
	}
	if (drop > 0)
		sg_bq_consume(l->strs, drop);
}

void
sg_ledger_written(struct sg_ledger *l, uint64_t written)
{

	forget_oldest(l, UINT64_MAX, written);
}

void
sg_ledger_drop(struct sg_ledger *l, uint64_t n)
{

	forget_oldest(l, n, UINT64_MAX);
}

size_t
sg_ledger_count(const struct sg_ledger *l)
{

	return (l->n);
}

/* Record h, whose strings are at off in strs, into e. */
static void
fill_entry(const struct sg_ledger *l, const struct rec *h, size_t off,
    struct sg_ledger_entry *e)
{
	const char **f[NFIELDS] = { &e->info.name, &e->info.ns, &e->info.id,
	    &e->info.type, &e->info.from, &e->info.to };
	const char *p = e->buf;
	int i;

	sg_bq_copyout(l->strs, off, e->buf, h->size);
	e->start = h->start;
	e->end = h->end;
	e->cut = h->cut;
	e->bounce = h->bounce;
	e->info.kind = (enum sg_stanza_kind)h->kind;
	e->info.packed = NULL;
	e->info.packed_len = 0;
	for (i = 0; i < NFIELDS; i++) {
		*f[i] = NULL;
		if (h->present & (1u << i)) {
			*f[i] = p;
			p += strlen(p) + 1;
		}
	}
}

int
sg_ledger_shift(struct sg_ledger *l, struct sg_ledger_entry *e)
{
	struct rec h;

	if (l->n == 0)
		return (0);
	h = l->ring[l->head];
	l->head = (l->head + 1) & (l->cap - 1);
	l->n--;
	fill_entry(l, &h, 0, e);
	sg_bq_consume(l->strs, h.size);
	return (1);
}

/* How many of l's newest records end after cut; *start: their strings. */
static size_t
count_after(const struct sg_ledger *l, uint64_t cut, size_t *start)
{
	const struct rec *h;
	size_t k = 0;

	*start = l->strs != NULL ? sg_bq_len(l->strs) : 0;
	while (k < l->n && (h = &l->ring[(l->head + l->n - 1 - k) &
	    (l->cap - 1)])->end > cut) {
		*start -= h->size;
		k++;
	}
	return (k);
}

void
sg_ledger_take_after(struct sg_ledger *l, uint64_t cut,
    struct sg_ledger_entry *e,
    void (*fn)(void *arg, const struct sg_ledger_entry *e), void *arg)
{
	size_t start, off, i, k = count_after(l, cut, &start);
	const struct rec *h;

	if (k == 0)
		return;
	for (i = l->n - k, off = start; i < l->n; i++) {
		h = &l->ring[(l->head + i) & (l->cap - 1)];
		fill_entry(l, h, off, e);
		off += h->size;
		fn(arg, e);
	}
	l->n -= k;
	sg_bq_truncate(l->strs, start);
}

int
sg_ledger_move_after(struct sg_ledger *dst, struct sg_ledger *src,
    uint64_t cut, uint64_t delta)
{
	size_t start, len, k = count_after(src, cut, &start), i;
	struct rec h;
	char *buf;

	if (k == 0)
		return (0);
	len = sg_bq_len(src->strs) - start;
	if (dst->strs == NULL && (dst->strs = sg_bq_new()) == NULL)
		return (-1);
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return (-1);
	sg_bq_copyout(src->strs, start, buf, len);
	/* Room for all first: nothing moves unless everything can. */
	while (dst->cap - dst->n < k)
		if (grow_ring(dst) != 0) {
			free(buf);
			return (-1);
		}
	if (sg_bq_append(dst->strs, buf, len) != 0) {
		free(buf);
		return (-1);
	}
	free(buf);
	for (i = src->n - k; i < src->n; i++) {
		h = src->ring[(src->head + i) & (src->cap - 1)];
		h.start -= delta;
		h.end -= delta;
		dst->ring[(dst->head + dst->n++) & (dst->cap - 1)] = h;
	}
	src->n -= k;
	sg_bq_truncate(src->strs, start);
	return (0);
}

int
sg_ledger_last_end(const struct sg_ledger *l, uint64_t *end)
{

	if (l->n == 0)
		return (0);
	*end = l->ring[(l->head + l->n - 1) & (l->cap - 1)].end;
	return (1);
}

void
sg_ledger_trim(struct sg_ledger *l)
{

	if (l->n > 0) {
		sg_bq_trim(l->strs);
		return;
	}
	/* No record: no string either. */
	sg_bq_free(l->strs);
	l->strs = NULL;
	free(l->ring);
	l->ring = NULL;
	l->cap = l->head = 0;
}
