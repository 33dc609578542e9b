/*
 * A direction's held bytes, a part of the close engine (see session.c),
 * over the state that sessout.h shares with it.
 */

#include "bq.h"
#include "held.h"
#include "sessout.h"

/*
 * Pass on len bytes: to q, or to the other side's queue if q is NULL.
 * 0, or -1 if q could not take them.
 */
static int
pass_on(struct sg_dir *d, struct sg_bq *q, const void *buf, size_t len)
{

	if (q != NULL)
		return (sg_bq_append(q, buf, len));
	sg_sessout_append(d->s, OTHER(d->from), buf, len);
	return (0);
}

/* Pass on the first len held bytes, however many chunks they span. */
static int
move_held(struct sg_dir *d, size_t len, struct sg_bq *q)
{
	struct iovec iov[16];
	int i, cnt;

	while (len > 0 && (cnt = sg_bq_peek(d->held, iov, 16)) > 0) {
		for (i = 0; i < cnt && len > 0; i++) {
			size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

			if (pass_on(d, q, iov[i].iov_base, k))
				return (-1);
			/* Frees only chunks before iov[i + 1]. */
			sg_bq_consume(d->held, k);
			len -= k;
		}
	}
	return (0);
}

/* d's bytes up to end: passed on (keep) to q or the other side, or dropped. */
static int
move_upto(struct sg_dir *d, uint64_t end, int keep, struct sg_bq *q)
{
	size_t held = sg_bq_len(d->held);
	size_t n = (size_t)(end - d->done);
	size_t from_held = n < held ? n : held;

	if (end <= d->done)
		return (0);
	if (!keep)
		sg_bq_consume(d->held, from_held);
	else if (move_held(d, from_held, q))
		return (-1);
	if (keep && n > from_held && pass_on(d, q,
	    d->cur + (d->done + from_held - d->cur_base), n - from_held))
		return (-1);
	d->done = end;
	return (0);
}

void
sg_held_dispose(struct sg_dir *d, uint64_t end, int keep)
{

	(void)move_upto(d, end, keep, NULL);
}

int
sg_held_take(struct sg_dir *d, uint64_t end, struct sg_bq *q)
{

	return (move_upto(d, end, 1, q));
}

void
sg_held_forward(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	size_t i;

	if (d->from == SG_SERVER && d->s->p.hide_starttls)
		for (i = 0; i < ev->nstarttls; i++) {
			sg_held_dispose(d, ev->starttls[i].start, 1);
			sg_held_dispose(d, ev->starttls[i].end, 0);
		}
	sg_held_dispose(d, ev->end, 1);
}

/*
 * The one place `truncated` is counted.  The rule: a stanza begun and not
 * complete when its direction stops being parsed is never forwarded, and
 * counts once as truncated in its direction, whatever ended it (EOF,
 * stanza-timeout, close-timeout, a forced close, or a refusal: too large,
 * too deep, too many attributes, a name or value too long, bad XML inside
 * it) and however it was chunked: its bytes may be held from earlier reads
 * or all in the read being parsed, so the tracker says, not the held
 * queue.  A partial stream header, a partial close tag, and text, a
 * comment or a PI between stanzas are no stanza and are not counted.  At
 * most once per direction: d is dead afterwards.
 */
void
sg_held_drop_partial(struct sg_dir *d)
{
	struct sg_session *s = d->s;

	if (!d->dead && sg_tracker_in_stanza(d->trk))
		s->st.truncated[d->from]++;
	d->done += sg_bq_len(d->held);
	sg_bq_clear(d->held);
	d->partial = 0;
	d->dead = 1;
}

/*
 * Held bytes cover [done, cur_base) when done < cur_base: then all of the
 * chunk is kept too.
 */
void
sg_held_stash_rest(struct sg_dir *d)
{
	uint64_t end = d->cur_base + d->cur_len;
	uint64_t from = d->done > d->cur_base ? d->done : d->cur_base;

	if (d->dead || d->s->over) {
		d->s->st.dropped_bytes[d->from] += end - from;
		d->done = end;
		return;
	}
	if (end > from && sg_bq_append(d->held, d->cur + (from - d->cur_base),
	    (size_t)(end - from))) {
		sg_sessout_fail_internal(d->s);
		return;
	}
	if (sg_bq_len(d->held) == 0)
		d->partial = 0;
	else if (!d->partial) {
		d->partial = 1;
		d->partial_since = d->s->now;
	}
}
