/*
 * The close engine's output side: what is queued for each side, the
 * actions asked of the caller, backpressure, and the end of the session.
 * Called by every part of the engine (session.c, held.c, undeliv.c,
 * smback.c); calls only bq and ledger.
 */

#include <string.h>

#include "sessout.h"

/* The action that undoes type, or type itself if none does. */
static enum sg_action_type
opposite(enum sg_action_type type)
{

	if (type == SG_ACT_PAUSE)
		return (SG_ACT_RESUME);
	return (type == SG_ACT_RESUME ? SG_ACT_PAUSE : type);
}

void
sg_sessout_push_action(struct sg_session *s, enum sg_action_type type,
    enum sg_side side)
{
	size_t i;

	/* After the end nothing is asked of the caller but the teardown. */
	if (s->over && type != SG_ACT_CLOSE)
		return;
	for (i = 0; i < s->nact; i++) {
		if (s->act[i].side != side)
			continue;
		if (s->act[i].type == type)
			return;
		/*
		 * A pause and a resume of one side not yet taken cancel out:
		 * the caller ends as it was, as the session's flag says.  Kept
		 * both, the second would be dropped as a repeat of the first.
		 */
		if (type != opposite(type) && s->act[i].type == opposite(type)) {
			s->nact--;
			memmove(&s->act[i], &s->act[i + 1],
			    (s->nact - i) * sizeof(s->act[0]));
			return;
		}
	}
	/* Each (type, side) appears once, so the array cannot overflow. */
	if (s->nact < MAX_ACTIONS) {
		s->act[s->nact].type = (unsigned char)type;
		s->act[s->nact++].side = (unsigned char)side;
	}
}

/* The first reason given is the one logged. */
void
sg_sessout_set_reason(struct sg_session *s, enum sg_close_reason r)
{

	if (s->st.reason == SG_REASON_NONE)
		s->st.reason = r;
	s->closing = 1;
}

void
sg_sessout_check_done(struct sg_session *s)
{
	int side;

	if (s->over)
		return;
	for (side = 0; side < 2; side++)
		if (!s->peer[side].shut || !s->peer[side].finished)
			return;
	s->over = 1;
	sg_sessout_push_action(s, SG_ACT_CLOSE, SG_CLIENT);
}

/* Out of memory: nothing can be promised any more, end at once. */
void
sg_sessout_fail_internal(struct sg_session *s)
{
	int side;

	sg_sessout_set_reason(s, SG_REASON_INTERNAL);
	for (side = 0; side < 2; side++) {
		s->dir[side].closed = s->dir[side].dead = 1;
		s->peer[side].shut = s->peer[side].finished = 1;
	}
	sg_sessout_check_done(s);
}

/*
 * The longest queue that reading side fills: the one towards the other
 * side, and its own while its stream to the other side has been ended for
 * it and it may still send (its stanzas are bounced back to it): rule 6.
 */
static size_t
fed_by(const struct sg_session *s, enum sg_side side)
{
	size_t len = sg_bq_len(s->peer[OTHER(side)].out);
	size_t own = sg_bq_len(s->peer[side].out);
	int bounced = s->dir[side].closed && !s->peer[side].eof &&
	    s->st.answer[side] == SG_ANSWER_NONE;

	return (bounced && own > len ? own : len);
}

static void
pause_or_resume(struct sg_session *s, enum sg_side side)
{
	struct sg_peer *rd = &s->peer[side];
	size_t len = fed_by(s, side);

	if (!rd->paused && len > s->p.high_water) {
		rd->paused = 1;
		sg_sessout_push_action(s, SG_ACT_PAUSE, side);
	} else if (rd->paused && len < s->p.low_water) {
		rd->paused = 0;
		/* The stall was ours: the stanza's clock starts again. */
		s->dir[side].partial_since = s->now;
		sg_sessout_push_action(s, SG_ACT_RESUME, side);
	}
}

void
sg_sessout_backpressure(struct sg_session *s, enum sg_side to)
{

	pause_or_resume(s, OTHER(to));
	/* `to` fills its own queue only with bounces, once its stream to
	 * the other side is over: spared on the common path. */
	if (s->dir[to].closed || s->peer[to].paused)
		pause_or_resume(s, to);
}

void
sg_sessout_append(struct sg_session *s, enum sg_side to, const char *buf,
    size_t len)
{
	struct sg_peer *pe = &s->peer[to];

	if (len == 0)
		return;
	if (sg_bq_len(pe->out) == 0)
		pe->stall_at = s->now;
	if (sg_bq_append(pe->out, buf, len)) {
		sg_sessout_fail_internal(s);
		return;
	}
	pe->appended += len;
	sg_sessout_push_action(s, SG_ACT_WRITE, to);
	sg_sessout_backpressure(s, to);
}

/* Queue what compose wrote to a scratch queue (it never fails halfway). */
void
sg_sessout_take(struct sg_session *s, enum sg_side to,
    struct sg_bq *scratch)
{
	struct iovec iov[16];
	int i, n;

	while ((n = sg_bq_peek(scratch, iov, 16)) > 0) {
		for (i = 0; i < n; i++) {
			sg_sessout_append(s, to, iov[i].iov_base,
			    iov[i].iov_len);
			sg_bq_consume(scratch, iov[i].iov_len);
		}
	}
}


int
sg_sessout_compose_for(struct sg_session *s, enum sg_side to,
    struct sg_bq *q, int err)
{

	if (q == NULL || err) {
		sg_bq_free(q);
		sg_sessout_fail_internal(s);
		return (-1);
	}
	sg_sessout_take(s, to, q);
	sg_bq_free(q);
	return (0);
}
