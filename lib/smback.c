/*
 * Stream management on C's behalf (see smback.h and the spec's section
 * "Handing undelivered stanzas back").  Owns the SM state of a session:
 * where the decision after bind stands, which S->C stanzas C's TCP has
 * acknowledged (h), which C->S stanzas S has acknowledged, and S's end
 * while it is held back.  Calls held (bytes it takes), undeliv (bounces)
 * and sessout (bytes it writes).
 */

#include <stdlib.h>
#include <string.h>

#include "held.h"
#include "ledger.h"
#include "sessout.h"
#include "smback.h"
#include "undeliv.h"
#include "xmppns.h"

/*
 * C->S stanzas followed for S's acknowledgement at most: an S that never
 * answers <r/> must not make the session grow without bound (rule 6).
 * Older ones are then no longer followed, and stay counted as forwarded.
 */
#define UNACKED_MAX	4096

/*
 * An <r/> is answered at once, with what C's TCP has acknowledged by
 * then: usually not yet the stanzas S has just sent.  While S has been
 * told less than it sent, C's acknowledgements are looked at again after
 * ACK_POLL_MIN ms, then twice as long each time nothing moved (at most
 * ACK_POLL_MAX), and S is told the new count unasked (XEP-0198 allows an
 * <a/> at any time): else a server that cuts the session in that window
 * would re-route stanzas C has already received.
 */
#define ACK_POLL_MIN	20
#define ACK_POLL_MAX	1000

enum sm_state {
	SM_OFFERED,	/* S offers SM; C has not bound yet */
	SM_DECIDE,	/* bind result relayed: C's next element decides */
	SM_ENABLING,	/* our <enable/> went to S */
	SM_ACTIVE,	/* S answered <enabled/>: it counts our acks */
	SM_REFUSED,	/* S answered <failed/>: as if SM were not there */
	SM_CLIENT	/* C does SM itself: we only watch */
};

/* Where a numbered S->C stanza stands in C's queue: [start, end). */
struct span {
	uint64_t start;
	uint64_t end;
};

struct sg_smback {
	enum sm_state state;
	uint64_t h;		/* S->C stanzas C received, in order */
	uint64_t c2s_n;		/* C->S stanzas S counts (since <enable/>) */
	uint64_t c2s_acked;	/* of them, acknowledged by S */
	uint64_t untracked;	/* unacknowledged, no longer in unacked */
	uint64_t hold_at;
	uint64_t h_told;	/* the h S was last told */
	uint64_t poll_at;	/* while owed: look at C's acks again */
	uint64_t r_at;		/* where our last <r/> to S begins */
	uint64_t a_at;		/* where our last <a/> to S begins */
	unsigned poll_ms;
	/* Numbered S->C stanzas not yet received: struct span, in order. */
	struct sg_bq *s2c;
	/* C->S stanzas S has not acknowledged, oldest first. */
	struct sg_ledger *unacked;
	struct sg_bq *end;	/* S's stream error and close tag, held */
	size_t error_len;	/* of end, up to S's stream error's end */
	unsigned r_out:1;	/* an <r/> to S is unanswered */
	unsigned holding:1;
	unsigned settled:1;	/* the final <a/> is decided */
	unsigned owed:1;	/* S asked, and was told less than it sent */
	unsigned tag_held:1;	/* end holds S's close tag, not only its error */
	unsigned final_told:1;	/* the final <a/> is queued for S */
};

static int
is_stanza(enum sg_stanza_kind k)
{

	return (k == SG_STANZA_MESSAGE || k == SG_STANZA_PRESENCE ||
	    k == SG_STANZA_IQ);
}

/* S counts C->S stanzas from our <enable/> on, if it enables. */
static int
s_counts(const struct sg_smback *sm)
{

	return (sm->state == SM_ENABLING || sm->state == SM_ACTIVE);
}

void
sg_smback_free(struct sg_smback *sm)
{

	if (sm == NULL)
		return;
	sg_bq_free(sm->s2c);
	sg_ledger_free(sm->unacked);
	sg_bq_free(sm->end);
	free(sm);
}

/* S's features offer SM to a c2s client: start watching for bind. */
static void
offered(struct sg_session *s)
{
	struct sg_smback *sm;

	if (s->sm != NULL || !s->p.sm_handback || s->st.opaque ||
	    strcmp(s->c_ns, "jabber:client") != 0)
		return;
	if ((sm = calloc(1, sizeof(*sm))) == NULL ||
	    (sm->s2c = sg_bq_new()) == NULL ||
	    (sm->unacked = sg_ledger_new()) == NULL ||
	    (sm->end = sg_bq_new()) == NULL) {
		sg_smback_free(sm);
		sg_sessout_fail_internal(s);
		return;
	}
	sm->state = SM_OFFERED;
	s->sm = sm;
}

/* Queue for `to` what fn writes; 0, or -1 (the session has failed). */
static int
write_own(struct sg_session *s, enum sg_side to, int (*fn)(struct sg_bq *))
{
	struct sg_bq *q = sg_bq_new();

	return (sg_sessout_compose_for(s, to, q, q == NULL || fn(q)));
}

/*
 * C->S is open: nothing ends it yet, so S may still be written to.  Our
 * final <a/> ends it too: after C's stream error only its close tag may
 * follow, and h is final.
 */
static int
c2s_open(const struct sg_session *s)
{

	return (!s->dir[SG_CLIENT].closed && !s->peer[SG_SERVER].tag_sent &&
	    !s->sm->final_told);
}

static void
ask_ack(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;

	if (sm->state != SM_ACTIVE || sm->r_out || sm->c2s_acked == sm->c2s_n ||
	    !c2s_open(s))
		return;
	sm->r_at = s->peer[SG_SERVER].appended;
	if (write_own(s, SG_SERVER, sg_compose_sm_request) == 0)
		sm->r_out = 1;
}

/* <a h='N'/> to S with the count of now. */
static void
tell_h(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;
	struct sg_bq *q = sg_bq_new();

	sm->a_at = s->peer[SG_SERVER].appended;
	(void)sg_sessout_compose_for(s, SG_SERVER, q, q == NULL ||
	    sg_compose_sm_ack(q, (uint32_t)sm->h));
	sm->h_told = sm->h;
	sm->owed = sg_bq_len(sm->s2c) > 0;
}

static void
answer_request(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;

	if (!c2s_open(s))
		return;
	tell_h(s);
	sm->poll_ms = ACK_POLL_MIN;
	sm->poll_at = s->now + sm->poll_ms;
}

/* Poll time: S is told a count that moved, or the poll waits longer. */
static void
poll_acks(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;

	if (!c2s_open(s)) {
		sm->owed = 0;
		return;
	}
	if (sm->h > sm->h_told) {
		tell_h(s);
		sm->poll_ms = ACK_POLL_MIN;
	} else if (sg_bq_len(sm->s2c) == 0)
		sm->owed = 0;
	else if (sm->poll_ms < ACK_POLL_MAX)
		sm->poll_ms *= 2;
	sm->poll_at = s->now + sm->poll_ms;
}

uint64_t
sg_smback_h_ahead(uint64_t acked, uint32_t h)
{

	return ((uint32_t)(h - (uint32_t)acked));
}

/* An h beyond what was sent, or going back, is ignored. */
static void
s_acked(struct sg_session *s, const struct sg_tracker_event *ev)
{
	struct sg_smback *sm = s->sm;
	uint64_t ahead = sg_smback_h_ahead(sm->c2s_acked, ev->sm_h);

	sm->r_out = 0;
	if (!(ev->marks & SG_MARK_H) || ahead > sm->c2s_n - sm->c2s_acked)
		return;
	sm->c2s_acked += ahead;
	if (ahead <= sm->untracked) {
		sm->untracked -= ahead;
		ahead = 0;
	} else {
		ahead -= sm->untracked;
		sm->untracked = 0;
	}
	sg_ledger_drop(sm->unacked, ahead);
	/* S's stream error waited for this: it goes to C now (rule 6). */
	if (sm->holding && sm->c2s_acked == sm->c2s_n)
		sg_smback_release_end(s, SG_SMBACK_RELAY);
	ask_ack(s);
}

/* An SM element from S while S counts ours: never relayed to C. */
static int
from_server_sm(struct sg_session *s, const struct sg_tracker_event *ev)
{
	struct sg_smback *sm = s->sm;

	switch (ev->kind) {
	case SG_STANZA_SM_ENABLED:
		sm->state = SM_ACTIVE;
		s->handback = 1;
		s->handback_from = s->peer[SG_CLIENT].appended;
		s->st.sm_handback = 1;
		ask_ack(s);
		break;
	case SG_STANZA_SM_FAILED:
		if (sm->state != SM_ENABLING)
			break;
		sm->state = SM_REFUSED;
		s->st.sm_refused = 1;
		sg_ledger_drop(sm->unacked, UINT64_MAX);
		sm->c2s_n = sm->c2s_acked = sm->untracked = 0;
		break;
	case SG_STANZA_SM_REQUEST:
		if (sm->state == SM_ACTIVE)
			answer_request(s);
		break;
	case SG_STANZA_SM_ACK:
		if (sm->state == SM_ACTIVE)
			s_acked(s, ev);
		break;
	default:
		return (0);
	}
	return (1);
}

static int
from_server(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev, const struct sg_stanza_info *info)
{

	if (s_counts(s->sm) && from_server_sm(s, ev)) {
		s->st.sm_own[SG_SERVER]++;
		sg_held_dispose(d, ev->end, 0);
		return (1);
	}
	/*
	 * Once C->S is ending, the final <a/> has gone or goes to S with the
	 * count of now: what S sends after it is S's to re-route.
	 */
	if (s->handback && is_stanza(ev->kind) && !c2s_open(s) &&
	    !d->closed) {
		sg_held_dispose(d, ev->end, 0);
		sg_undeliv_stanza(s, SG_SERVER, info, 0);
		return (1);
	}
	return (0);
}

/* The decision after bind (spec, point 1), on C's next element. */
static void
decide(struct sg_session *s, const struct sg_tracker_event *ev)
{
	struct sg_smback *sm = s->sm;

	if (ev->kind == SG_STANZA_SM_ENABLE) {
		sm->state = SM_CLIENT;
		return;
	}
	if (ev->kind == SG_STANZA_IQ && (ev->marks & SG_MARK_SESSION))
		return;
	/* Nothing more goes to S: there is no session left to manage. */
	if (!c2s_open(s) || ev->kind == SG_STANZA_STREAM_ERROR)
		return;
	if (write_own(s, SG_SERVER, sg_compose_sm_enable) == 0)
		sm->state = SM_ENABLING;
}

static int
from_client(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev)
{
	struct sg_smback *sm = s->sm;

	if (sm->state == SM_OFFERED && ev->kind == SG_STANZA_SM_ENABLE)
		sm->state = SM_CLIENT;
	else if (sm->state == SM_DECIDE)
		decide(s, ev);
	else if (s_counts(sm) && ev->kind == SG_STANZA_SM_ENABLE) {
		/* Not relayed: answered as a server that cannot enable it. */
		s->st.sm_own[SG_CLIENT]++;
		sg_held_dispose(d, ev->end, 0);
		if (!s->dir[SG_SERVER].closed)
			(void)write_own(s, SG_CLIENT, sg_compose_sm_failed);
		return (1);
	}
	return (0);
}

int
sg_smback_stanza(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev, const struct sg_stanza_info *info)
{

	if (d->from == SG_SERVER && (ev->marks & SG_MARK_SM_OFFER))
		offered(s);
	if (s->sm == NULL)
		return (0);
	if (d->from == SG_SERVER)
		return (from_server(s, d, ev, info));
	return (from_client(s, d, ev));
}

void
sg_smback_forwarded(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev, const struct sg_stanza_info *info,
    uint64_t start)
{
	struct sg_smback *sm = s->sm;
	struct span sp = { start, s->peer[SG_CLIENT].appended };

	if (sm == NULL || !is_stanza(ev->kind))
		return;
	if (d->from == SG_SERVER && sm->state == SM_OFFERED &&
	    (ev->marks & SG_MARK_BIND) && ev->stanza_type != NULL &&
	    strcmp(ev->stanza_type, "result") == 0)
		sm->state = SM_DECIDE;
	else if (d->from == SG_SERVER && sm->state == SM_ACTIVE) {
		if (sg_bq_append(sm->s2c, &sp, sizeof(sp)))
			sg_sessout_fail_internal(s);
	} else if (d->from == SG_CLIENT && s_counts(sm)) {
		sm->c2s_n++;
		if (sg_ledger_count(sm->unacked) == UNACKED_MAX) {
			sg_ledger_drop(sm->unacked, 1);
			sm->untracked++;
		}
		if (sg_ledger_push(sm->unacked, start,
		    s->peer[SG_SERVER].appended, info, 0))
			sg_sessout_fail_internal(s);
		ask_ack(s);
	}
}

/*
 * h is final: the numbered S->C stanzas written to C and not acknowledged
 * by its TCP are S's to re-route now, whatever C gets of them (counted
 * handed back, not forwarded); those still queued are left to be written
 * or reclaimed.  Nothing is counted any more.
 */
static void
settle(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;
	struct span sp;

	if (sm->settled)
		return;
	sm->settled = 1;
	sm->owed = 0;
	while (sg_bq_copyout(sm->s2c, 0, &sp, sizeof(sp)) == sizeof(sp) &&
	    sp.end <= s->peer[SG_CLIENT].written) {
		sg_bq_consume(sm->s2c, sizeof(sp));
		s->st.stanzas_out[SG_CLIENT]--;
		s->st.handed_back++;
	}
	sg_bq_clear(sm->s2c);
}

/*
 * The numbered S->C stanzas not yet begun on the wire, and whatever was
 * queued for C after the first of them, go back to S (the header and any
 * stanza begun stay: C's stream must stay whole).
 */
static void
trim_unbegun(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;
	struct span sp;
	size_t off;

	for (off = 0; sg_bq_copyout(sm->s2c, off, &sp, sizeof(sp)) ==
	    sizeof(sp); off += sizeof(sp))
		if (sp.start >= s->peer[SG_CLIENT].written) {
			sg_undeliv_reclaim_from(s, SG_CLIENT, sp.start, 0);
			sg_bq_truncate(sm->s2c, off);
			return;
		}
}

int
sg_smback_final_ack(struct sg_session *s, struct sg_bq *q)
{
	struct sg_smback *sm = s->sm;

	if (sm == NULL || !s_counts(sm) || sm->final_told)
		return (0);
	sm->final_told = 1;
	/*
	 * What C has not begun to receive goes back to S rather than on to
	 * C: S re-routes it once it reads the count, and C would get it twice.
	 */
	if (sm->state == SM_ACTIVE && !sm->settled &&
	    !s->dir[SG_SERVER].closed)
		trim_unbegun(s);
	settle(s);
	return (sg_compose_sm_ack(q, (uint32_t)sm->h));
}

void
sg_smback_client_gone(struct sg_session *s)
{

	if (s->sm != NULL && s->sm->state == SM_ACTIVE)
		settle(s);
}

int
sg_smback_hold_end(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev)
{
	struct sg_smback *sm = s->sm;

	if (sm == NULL || d->from != SG_SERVER || sm->state != SM_ACTIVE ||
	    (!sm->holding && (sm->c2s_acked == sm->c2s_n || !c2s_open(s))))
		return (0);
	/* Acknowledged since S's stream error was held: both go on. */
	if (sm->c2s_acked == sm->c2s_n) {
		sg_smback_release_end(s, SG_SMBACK_RELAY);
		return (0);
	}
	if (sg_held_take(d, ev->end, sm->end)) {
		sg_sessout_fail_internal(s);
		return (1);
	}
	if (!sm->holding)
		sm->hold_at = s->now;
	sm->holding = 1;
	sm->tag_held = ev->type == SG_EV_CLOSE;
	if (!sm->tag_held)
		sm->error_len = sg_bq_len(sm->end);
	return (1);
}

int
sg_smback_holding(const struct sg_session *s)
{

	return (s->sm != NULL && s->sm->holding);
}

int
sg_smback_tag_held(const struct sg_session *s)
{

	return (sg_smback_holding(s) && s->sm->tag_held);
}

/* Nothing S has not acknowledged is followed any more. */
static void
forget_unacked(struct sg_smback *sm)
{

	sg_ledger_drop(sm->unacked, UINT64_MAX);
	sm->c2s_acked = sm->c2s_n;
	sm->untracked = 0;
}

/* One of C's stanzas S never acknowledged: to C as a bounce, or named. */
static void
unacked_undelivered(struct sg_session *s, const struct sg_ledger_entry *e,
    int name_only)
{

	s->st.s_unacked++;
	s->st.stanzas_out[SG_SERVER]--;
	sg_undeliv_stanza(s, SG_CLIENT, &e->info, e->cut || name_only);
}

/*
 * Every C->S stanza S never acknowledged that was written to it is
 * bounced to C, or named; those still queued are reclaimed by the caller.
 */
static void
bounce_unacked(struct sg_session *s, int name_only)
{
	struct sg_smback *sm = s->sm;
	struct sg_ledger_entry *e;

	if (sg_ledger_count(sm->unacked) == 0)
		return;
	if ((e = malloc(sizeof(*e))) == NULL) {
		sg_sessout_fail_internal(s);
		return;
	}
	while (sg_ledger_shift(sm->unacked, e) &&
	    e->end <= s->peer[SG_SERVER].written)
		unacked_undelivered(s, e, name_only);
	free(e);
	forget_unacked(sm);
}

/*
 * S's queue from offset cut on is taken back: the stanzas there are
 * accounted for, and our own <r/> or <a/> there never reaches S: the
 * request is no longer outstanding, the answer is given again.
 */
static void
cut_queue(struct sg_session *s, uint64_t cut, int name_only)
{
	struct sg_smback *sm = s->sm;

	sg_undeliv_reclaim_from(s, SG_SERVER, cut, name_only);
	if (sm->r_out && sm->r_at >= cut)
		sm->r_out = 0;
	if (sm->a_at >= cut)
		tell_h(s);
}

/*
 * C->S is over too: our last <a/> and the close tag follow C's stanzas in
 * S's queue.  Those from cut to end are taken back, and what follows end
 * (ours, and C's last elements) is kept, its ledger records with it.
 */
static void
cut_queue_keep_end(struct sg_session *s, uint64_t cut, uint64_t end,
    int name_only)
{
	struct sg_peer *pe = &s->peer[SG_SERVER];
	size_t off = (size_t)(end - pe->written);
	size_t len = sg_bq_len(pe->out) - off;
	struct sg_ledger *kept = sg_ledger_new();
	char *tail = malloc(len > 0 ? len : 1);

	if (kept == NULL || tail == NULL ||
	    sg_ledger_move_after(kept, pe->ledger, end, end - cut) != 0) {
		sg_sessout_fail_internal(s);
		goto out;
	}
	sg_bq_copyout(pe->out, off, tail, len);
	sg_undeliv_reclaim_from(s, SG_SERVER, cut, name_only);
	sg_sessout_append(s, SG_SERVER, tail, len);
	if (sg_ledger_move_after(pe->ledger, kept, 0, 0) != 0)
		sg_sessout_fail_internal(s);
out:
	sg_ledger_free(kept);
	free(tail);
}

/*
 * The stanzas from cut to end in S's queue are taken back.  S has taken
 * nothing new: what is queued again does not restart its stall.
 */
static void
take_back_from(struct sg_session *s, uint64_t cut, uint64_t end,
    int name_only)
{
	struct sg_peer *pe = &s->peer[SG_SERVER];
	uint64_t stall_at = pe->stall_at;

	if (c2s_open(s))
		cut_queue(s, cut, name_only);
	else
		cut_queue_keep_end(s, cut, end, name_only);
	if (sg_bq_len(pe->out) > 0)
		pe->stall_at = stall_at;
}

/*
 * S's end is released: S's stream is over, so what S has not acknowledged
 * it never will (rule 6).  Those begun on the wire are bounced or named
 * here (the one half written is then no longer S's queue's to account
 * for); those not begun are taken back out of S's queue and accounted
 * for as it does.
 */
static void
take_back_unacked(struct sg_session *s, int name_only)
{
	struct sg_smback *sm = s->sm;
	struct sg_peer *pe = &s->peer[SG_SERVER];
	struct sg_ledger_entry *e;
	uint64_t begun_end = 0, last;

	if (!sg_ledger_last_end(sm->unacked, &last))
		return;
	if ((e = malloc(sizeof(*e))) == NULL) {
		sg_sessout_fail_internal(s);
		return;
	}
	while (sg_ledger_shift(sm->unacked, e)) {
		if (e->start >= pe->written) {
			/* S never gets these: they leave its count. */
			sm->c2s_n -= 1 + sg_ledger_count(sm->unacked);
			take_back_from(s, e->start, last, name_only);
			break;
		}
		begun_end = e->end;
		unacked_undelivered(s, e, name_only);
	}
	forget_unacked(sm);
	sg_ledger_written(pe->ledger, begun_end);
	free(e);
}

/* What the ledger and the log know of S's held stream error. */
static const struct sg_stanza_info held_error = {
	.kind = SG_STANZA_STREAM_ERROR, .name = "error", .ns = SG_NS_STREAMS
};

/* S's held stream error, counted forwarded when it was held, is not. */
static void
error_undelivered(struct sg_session *s)
{

	s->st.stanzas_out[SG_CLIENT]--;
	sg_undeliv_stanza(s, SG_SERVER, &held_error, 1);
}

/*
 * S's held end goes to C.  Its stream error gets its record in C's
 * ledger, as one relayed unheld does: named if it never reaches C.
 */
static void
relay_end(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;
	uint64_t at = s->peer[SG_CLIENT].appended;

	sg_sessout_take(s, SG_CLIENT, sm->end);
	if (sm->error_len > 0 && sg_ledger_push(s->peer[SG_CLIENT].ledger, at,
	    at + sm->error_len, &held_error, 0))
		sg_sessout_fail_internal(s);
}

void
sg_smback_release_end(struct sg_session *s, enum sg_smback_release how)
{
	struct sg_smback *sm = s->sm;

	if (sm == NULL || !sm->holding)
		return;
	sm->holding = 0;
	take_back_unacked(s, how == SG_SMBACK_NAME);
	if (how == SG_SMBACK_ERROR)
		sg_bq_truncate(sm->end, sm->error_len);
	if (how == SG_SMBACK_RELAY || how == SG_SMBACK_ERROR)
		relay_end(s);
	else if (sm->error_len > 0)
		error_undelivered(s);
	sg_bq_clear(sm->end);
	sm->error_len = 0;
}

void
sg_smback_server_gone(struct sg_session *s)
{

	if (s->sm != NULL && s_counts(s->sm))
		bounce_unacked(s, 0);
}

void
sg_smback_on_acked(struct sg_session *s, uint64_t acked)
{
	struct sg_smback *sm = s->sm;
	struct span sp;

	if (sm == NULL || sm->settled)
		return;
	while (sg_bq_copyout(sm->s2c, 0, &sp, sizeof(sp)) == sizeof(sp) &&
	    sp.end <= acked) {
		sg_bq_consume(sm->s2c, sizeof(sp));
		sm->h++;
	}
	if (sm->owed && s->now >= sm->poll_at)
		poll_acks(s);
}

int
sg_smback_counts_acks(const struct sg_session *s)
{

	return (s->sm != NULL && (sg_bq_len(s->sm->s2c) > 0 || s->sm->owed));
}

void
sg_smback_on_timer(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;

	/* Without a new count the look is still due: it moves on. */
	if (sm != NULL && sm->owed && s->now >= sm->poll_at)
		poll_acks(s);
}

void
sg_smback_release_idle(struct sg_session *s)
{
	struct sg_smback *sm = s->sm;

	if (sm == NULL)
		return;
	sg_bq_trim(sm->s2c);
	sg_ledger_trim(sm->unacked);
	sg_bq_trim(sm->end);
}

int
sg_smback_hold_expired(const struct sg_session *s)
{

	return (sg_smback_holding(s) &&
	    s->now >= s->sm->hold_at + s->p.close_timeout);
}

uint64_t
sg_smback_deadline(const struct sg_session *s)
{
	const struct sg_smback *sm = s->sm;
	uint64_t t = SG_NO_DEADLINE;

	if (sm == NULL)
		return (t);
	if (sm->holding)
		t = sm->hold_at + s->p.close_timeout;
	if (sm->owed && !sm->settled && sm->poll_at < t)
		t = sm->poll_at;
	return (t);
}
