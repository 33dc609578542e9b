/*
 * Rule 5: what cannot be delivered is bounced or named.  A part of the
 * close engine (see session.c), over the state that sessout.h shares
 * with it; the stanzas still queued for a side come from its ledger.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "ledger.h"
#include "sessout.h"
#include "undeliv.h"

static int
bounce_allowed(const struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info)
{

	if (s->p.policy == SG_POLICY_LOG)
		return (0);
	if (s->p.policy == SG_POLICY_AUTO && s->st.sm)
		return (0);
	if (s->dir[OTHER(sender)].closed || !s->peer[sender].header_out)
		return (0);
	return (sg_bounce_wanted(info));
}

static void
fill_undelivered(struct sg_undelivered *u, enum sg_side sender,
    const struct sg_stanza_info *info)
{

	u->from = sender;
	sg_sessout_copy_str(u->name, sizeof(u->name), info->name);
	sg_sessout_copy_str(u->type, sizeof(u->type), info->type);
	sg_sessout_copy_str(u->id, sizeof(u->id), info->id);
}

/* Counted, kept for the last line if there is room, and handed out. */
static void
name_undelivered(struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info)
{

	s->st.undeliverable[sender]++;
	/* Most sessions never lose a stanza: the room is taken when one does. */
	if (s->st.named == NULL)
		s->st.named = malloc(SG_UNDELIVERABLE_NAMED *
		    sizeof(*s->st.named));
	if (s->st.named != NULL && s->st.nnamed < SG_UNDELIVERABLE_NAMED)
		fill_undelivered(&s->st.named[s->st.nnamed++], sender, info);
	if (s->nundel == s->undel_cap) {
		unsigned cap = s->undel_cap ? s->undel_cap * 2 : 8;
		struct sg_undelivered *n;

		/* The count above still holds if this fails. */
		if (s->undel_cap > UINT_MAX / 2 ||
		    (n = realloc(s->undel, cap * sizeof(*n))) == NULL)
			return;
		s->undel = n;
		s->undel_cap = cap;
	}
	fill_undelivered(&s->undel[s->nundel++], sender, info);
	sg_sessout_push_action(s, SG_ACT_UNDELIVERED, sender);
}

/*
 * S counts our acks on C's behalf and this S->C stanza was never acked:
 * S re-routes it (offline storage) once its SM session ends.
 */
static int
handed_back(const struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info)
{

	return (s->handback && sender == SG_SERVER &&
	    (info->kind == SG_STANZA_MESSAGE ||
	    info->kind == SG_STANZA_PRESENCE || info->kind == SG_STANZA_IQ));
}

static void
hand_back(struct sg_session *s, const struct sg_stanza_info *info)
{

	s->st.handed_back++;
	if (s->st.handed == NULL)
		s->st.handed = malloc(SG_UNDELIVERABLE_NAMED *
		    sizeof(*s->st.handed));
	if (s->st.handed != NULL && s->st.nhanded < SG_UNDELIVERABLE_NAMED)
		fill_undelivered(&s->st.handed[s->st.nhanded++], SG_SERVER,
		    info);
}

/* numbered: S counts it, if S counts our acks at all (spec rule 3). */
static void
undeliver(struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info, int cut, int numbered)
{
	struct sg_bq *scratch;
	uint64_t at = s->peer[sender].appended;

	if (numbered && handed_back(s, sender, info)) {
		hand_back(s, info);
		return;
	}
	if (cut || !bounce_allowed(s, sender, info)) {
		name_undelivered(s, sender, info);
		return;
	}
	if ((scratch = sg_bq_new()) == NULL ||
	    sg_compose_bounce(scratch, info, s->peer[sender].out_ns)) {
		sg_bq_free(scratch);
		name_undelivered(s, sender, info);
		return;
	}
	sg_sessout_take(s, sender, scratch);
	sg_bq_free(scratch);
	s->st.bounced[sender]++;
	/* If the sender goes before the bounce reaches it, it is named. */
	if (sg_ledger_push(s->peer[sender].ledger, at,
	    s->peer[sender].appended, info, 1))
		sg_sessout_fail_internal(s);
}

void
sg_undeliv_stanza(struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info, int cut)
{

	undeliver(s, sender, info, cut, 1);
}

/*
 * A stanza queued for `to` that will never reach it, or our bounce.  One
 * queued for C before S enabled SM is in no count of S's: not S's to
 * re-route.
 */
static void
reclaim_entry(struct sg_session *s, enum sg_side to,
    const struct sg_ledger_entry *e, int name_only)
{

	if (e->bounce) {
		/* Our bounce to `to` of its own stanza. */
		s->st.bounced[to]--;
		name_undelivered(s, to, &e->info);
		return;
	}
	s->st.stanzas_out[to]--;
	undeliver(s, OTHER(to), &e->info, e->cut || name_only,
	    to == SG_SERVER || e->end > s->handback_from);
}

void
sg_undeliv_reclaim(struct sg_session *s, enum sg_side to)
{
	struct sg_peer *pe = &s->peer[to];
	struct sg_ledger_entry *e;

	if ((e = malloc(sizeof(*e))) == NULL) {
		sg_sessout_fail_internal(s);
		return;
	}
	sg_ledger_written(pe->ledger, pe->written);
	while (sg_ledger_shift(pe->ledger, e))
		reclaim_entry(s, to, e, 0);
	free(e);
	pe->written += sg_bq_len(pe->out);
	sg_bq_clear(pe->out);
	sg_sessout_backpressure(s, to);
}

struct reclaiming {
	struct sg_session *s;
	enum sg_side to;
	int name_only;
};

static void
reclaim_taken(void *arg, const struct sg_ledger_entry *e)
{
	struct reclaiming *r = arg;

	reclaim_entry(r->s, r->to, e, r->name_only);
}

void
sg_undeliv_reclaim_from(struct sg_session *s, enum sg_side to, uint64_t cut,
    int name_only)
{
	struct sg_peer *pe = &s->peer[to];
	struct reclaiming r = { s, to, name_only };
	struct sg_ledger_entry *e;

	if (cut < pe->written || cut >= pe->appended)
		return;
	if ((e = malloc(sizeof(*e))) == NULL) {
		sg_sessout_fail_internal(s);
		return;
	}
	/* Oldest first: bounces go back in the order their stanzas came. */
	sg_ledger_take_after(pe->ledger, cut, e, reclaim_taken, &r);
	free(e);
	sg_bq_truncate(pe->out, (size_t)(cut - pe->written));
	pe->appended = cut;
	sg_sessout_backpressure(s, to);
}

size_t
sg_undeliv_take(struct sg_session *s, struct sg_undelivered *out,
    size_t max)
{
	size_t n = s->nundel < max ? s->nundel : max;

	if (n == 0)
		return (0);
	memcpy(out, s->undel, n * sizeof(*out));
	memmove(s->undel, s->undel + n, (s->nundel - n) * sizeof(*out));
	s->nundel -= (unsigned)n;
	if (s->nundel == 0) {
		free(s->undel);
		s->undel = NULL;
		s->undel_cap = 0;
	}
	return (n);
}
