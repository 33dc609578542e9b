/*
 * The close engine's output side: what is queued for each side, the
 * actions asked of the caller, backpressure, and the end of the session.
 * Called by every part of the engine (session.c, held.c, undeliv.c,
 * smback.c); calls only bq and ledger.
 */

#include "sessout.h"

void
sg_sessout_push_action(struct sg_session *s, enum sg_action_type type,
    enum sg_side side)
{
	size_t i;

	/* After the end nothing is asked of the caller but the teardown. */
	if (s->over && type != SG_ACT_CLOSE)
		return;
	for (i = 0; i < s->nact; i++)
		if (s->act[i].type == type && s->act[i].side == side)
			return;
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

void
sg_sessout_backpressure(struct sg_session *s, enum sg_side to)
{
	struct sg_peer *rd = &s->peer[OTHER(to)];
	size_t len = sg_bq_len(s->peer[to].out);

	if (!rd->paused && len > s->p.high_water) {
		rd->paused = 1;
		sg_sessout_push_action(s, SG_ACT_PAUSE, OTHER(to));
	} else if (rd->paused && len < s->p.low_water) {
		rd->paused = 0;
		/* The stall was ours: the stanza's clock starts again. */
		s->dir[OTHER(to)].partial_since = s->now;
		sg_sessout_push_action(s, SG_ACT_RESUME, OTHER(to));
	}
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
