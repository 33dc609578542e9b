/*
 * The close engine.  Each side has an input direction (bytes it sends,
 * parsed by its tracker, held until a whole stanza is there) and an output
 * queue (bytes for it).  A direction X->Y is open until a close tag has
 * been relayed or written to Y, or Y is gone; the rules of the spec are
 * written once, with the sending side as the argument.
 *
 * This file is the state machine of spec/close-handshake.md: it owns the
 * events, and decides which close rule each one calls for.  It calls its
 * parts closing.c (how a direction ends: the close rules themselves),
 * held.c (each direction's held bytes until a stanza is whole, forwarded
 * or dropped), undeliv.c (rule 5: what cannot be delivered is bounced or
 * named) and smback.c (stream management on C's behalf), and below them
 * all sessout.c (the session's state and output side: queues, actions,
 * backpressure, the end); helpers are compose.c (the XML we write) and
 * ledger.c (what each output queue holds).
 */

#include <stdlib.h>
#include <string.h>

#include "closing.h"
#include "compose.h"
#include "held.h"
#include "ledger.h"
#include "session.h"
#include "sessout.h"
#include "smback.h"
#include "undeliv.h"

#define MAX_TO		256	/* the client's to= kept, with its NUL */

static const char *reason_names[] = {
	"none", "client", "server", "idle", "client-vanished",
	"server-vanished", "stanza-timeout", "write-timeout", "shutdown",
	"limit", "bad-xml", "upstream-unreachable", "internal"
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) ==
    SG_REASON_COUNT, "one name per close reason");

static const char *answer_names[] = { "-", "yes", "eof", "timeout" };

static void on_tracker_event(void *ctx, const struct sg_tracker_event *ev);

static void
become_opaque(struct sg_session *s)
{
	int side;

	s->st.opaque = 1;
	for (side = 0; side < 2; side++)
		if (!sg_tracker_is_opaque(s->dir[side].trk))
			sg_tracker_set_opaque(s->dir[side].trk);
}

/* Kept only when given, cut to MAX_TO - 1 bytes as it always was. */
static void
set_c_to(struct sg_session *s, const char *to)
{

	if (s->c_to != s->c_to_room)
		free(s->c_to);
	s->c_to = NULL;
	if (to == NULL || to[0] == '\0')
		return;
	if (strlen(to) < sizeof(s->c_to_room))
		s->c_to = strcpy(s->c_to_room, to);
	else
		s->c_to = strndup(to, MAX_TO - 1);
}

static void
on_header(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	struct sg_session *s = d->s;
	struct sg_peer *pe = &s->peer[OTHER(d->from)];

	d->have_header = 1;
	if (d->from == SG_CLIENT) {
		sg_sessout_copy_str(s->c_ns, sizeof(s->c_ns), ev->default_ns);
		set_c_to(s, ev->to);
	}
	if (d->closed || pe->header_out) {
		sg_held_dispose(d, ev->end, 0);
	} else {
		sg_held_dispose(d, ev->end, 1);
		pe->header_out = 1;
		sg_sessout_copy_str(pe->out_prefix, sizeof(pe->out_prefix),
		    ev->prefix);
		sg_sessout_copy_str(pe->out_ns, sizeof(pe->out_ns),
		    ev->default_ns);
	}
	if (d->from == SG_CLIENT && s->upstream_failed)
		sg_closing_dir(s, SG_SERVER, SG_HOW_TAG, "remote-connection-failed");
}

/* Protocol points that change how the session goes on. */
static void
after_forwarded(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	struct sg_session *s = d->s;
	int side;

	switch (ev->kind) {
	case SG_STANZA_SASL_SUCCESS:
		/* Both ends start new streams: no header is open either way. */
		sg_tracker_expect_restart(s->dir[OTHER(d->from)].trk);
		for (side = 0; side < 2; side++) {
			s->peer[side].header_out = 0;
			s->dir[side].have_header = 0;
		}
		break;
	case SG_STANZA_TLS_PROCEED:
	case SG_STANZA_COMPRESSED:
		become_opaque(s);
		break;
	default:
		break;
	}
}

/*
 * C->S ends (C's stream error or close tag): our last <a/> on C's behalf
 * just before it.
 */
static int
final_ack_before(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev)
{
	struct sg_bq *q;

	sg_held_dispose(d, ev->start, 1);
	q = sg_bq_new();
	return (sg_sessout_compose_for(s, SG_SERVER, q, q == NULL ||
	    sg_smback_final_ack(s, q)));
}

/* A stream error: 1 if it is done with, 0 if it goes on as a stanza. */
static int
on_stream_error(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	struct sg_session *s = d->s;

	sg_sessout_copy_str(s->st.error_in[d->from],
	    sizeof(s->st.error_in[0]), ev->condition);
	if (sg_closing_rewritten(s, d->from, ev->condition)) {
		sg_held_dispose(d, ev->end, 0);
		s->st.rewritten++;
		return (1);
	}
	/* Held back with S's close tag, and relayed with it. */
	if (!d->closed && sg_smback_hold_end(s, d, ev)) {
		s->st.stanzas_out[OTHER(d->from)]++;
		return (1);
	}
	/* Only the close tag may follow it (RFC 6120 4.9.1.1). */
	return (d->from == SG_CLIENT && !d->closed &&
	    final_ack_before(s, d, ev) < 0);
}

static void
on_stanza(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	struct sg_session *s = d->s;
	enum sg_side to = OTHER(d->from);
	struct sg_stanza_info info = { ev->kind, ev->name, ev->ns, ev->id,
	    ev->stanza_type, ev->from, ev->to, ev->packed, ev->packed_len };
	uint64_t at;

	s->st.stanzas_in[d->from]++;
	if (sg_smback_stanza(s, d, ev, &info))
		return;
	if (ev->kind == SG_STANZA_SM_ENABLED) {
		s->st.sm = 1;
		s->st.sm_resumable = ev->sm_resume;
	}
	if (ev->kind == SG_STANZA_STREAM_ERROR && on_stream_error(d, ev))
		return;
	if (d->closed) {
		sg_held_dispose(d, ev->end, 0);
		sg_undeliv_stanza(s, d->from, &info, 0);
		return;
	}
	at = s->peer[to].appended;
	sg_held_forward(d, ev);
	if (sg_ledger_push(s->peer[to].ledger, at, s->peer[to].appended,
	    &info, 0))
		sg_sessout_fail_internal(s);
	s->st.stanzas_out[to]++;
	sg_smback_forwarded(s, d, ev, &info, at);
	after_forwarded(d, ev);
}

static void
on_close_tag(struct sg_dir *d, const struct sg_tracker_event *ev)
{
	struct sg_session *s = d->s;
	const char *cond;

	sg_sessout_set_reason(s, d->from == SG_CLIENT ? SG_REASON_CLIENT :
	    SG_REASON_SERVER);
	if (d->closed) {
		sg_held_dispose(d, ev->end, 0);
	} else if (sg_smback_hold_end(s, d, ev)) {
		/* Released by S's EOF or close-timeout: sg_smback_release_end. */
	} else {
		if (d->from == SG_CLIENT && final_ack_before(s, d, ev) < 0)
			return;
		/* S answered a stop (server-first): C is told before its tag. */
		if (d->from == SG_SERVER && (cond = sg_closing_shutdown_cond(s)) != NULL) {
			sg_held_dispose(d, ev->start, 1);
			if (sg_closing_write_end(s, SG_CLIENT, cond, 0) < 0) {
				sg_sessout_fail_internal(s);
				return;
			}
		}
		sg_held_dispose(d, ev->end, 1);
		sg_closing_dir(s, d->from, SG_HOW_RELAYED, NULL);
	}
	d->dead = 1;
	sg_closing_answered(s, d->from, SG_ANSWER_TAG);
}

static void
on_tracker_event(void *ctx, const struct sg_tracker_event *ev)
{
	struct sg_dir *d = ctx;

	if (d->dead || d->s->over)
		return;
	switch (ev->type) {
	case SG_EV_HEADER:
		on_header(d, ev);
		break;
	case SG_EV_STANZA:
		on_stanza(d, ev);
		break;
	case SG_EV_KEEPALIVE:
		sg_held_dispose(d, ev->end, !d->closed);
		break;
	case SG_EV_CLOSE:
		on_close_tag(d, ev);
		break;
	}
}

static enum sg_close_reason
reason_of(enum sg_tracker_result r)
{

	switch (r) {
	case SG_TRACK_NOT_WELL_FORMED:
	case SG_TRACK_RESTRICTED_XML:
	case SG_TRACK_INVALID_NAMESPACE:
	case SG_TRACK_AFTER_CLOSE:
	case SG_TRACK_NESTED_STREAM:
		return (SG_REASON_BAD_XML);
	case SG_TRACK_NOMEM:
		return (SG_REASON_INTERNAL);
	default:
		return (SG_REASON_LIMIT);
	}
}

void
sg_session_on_bytes(struct sg_session *s, enum sg_side side,
    const char *buf, size_t len, uint64_t now)
{
	struct sg_dir *d = &s->dir[side];
	enum sg_tracker_result r;
	uint64_t start = d->done + sg_bq_len(d->held);

	s->now = s->last_active = now;
	s->st.bytes_in[side] += len;
	/* A peer still sending after our tag is busy, not silent. */
	if (s->peer[side].tag_sent)
		s->peer[side].tag_at = now;
	if (d->dead || s->over) {
		s->st.dropped_bytes[side] += len;
		d->done += len;
		return;
	}
	d->cur = buf;
	d->cur_base = start;
	d->cur_len = len;
	r = sg_tracker_feed(d->trk, buf, len);
	if (sg_tracker_is_opaque(d->trk) && !d->dead)
		sg_held_dispose(d, start + len, !d->closed);
	if (r != SG_TRACK_OK && !d->dead) {
		sg_closing_refuse(s, side, sg_tracker_condition(r), reason_of(r));
		d->done = start + len;	/* the bad bytes go nowhere */
	}
	sg_held_stash_rest(d);
	d->cur = NULL;
}

void
sg_session_on_eof(struct sg_session *s, enum sg_side side, uint64_t now)
{
	struct sg_peer *pe = &s->peer[side];
	struct sg_dir *d = &s->dir[side];

	s->now = now;
	if (pe->eof || s->over)
		return;
	pe->eof = pe->finished = 1;
	/* S's stream error alone was held: it is relayed, then S vanished. */
	if (side == SG_SERVER && sg_closing_release_held_end(s)) {
		/* Its close tag came before its EOF: relayed now. */
	} else if (s->st.opaque && !d->closed) {
		sg_sessout_set_reason(s, side == SG_CLIENT ? SG_REASON_CLIENT :
		    SG_REASON_SERVER);
		sg_closing_dir(s, side, SG_HOW_NOTAG, NULL);
		sg_closing_answered(s, side, SG_ANSWER_EOF);
	} else if (!d->closed && pe->tag_sent) {
		/* It answered our close tag by closing TCP: enough. */
		sg_held_drop_partial(d);
		sg_closing_answered(s, side, SG_ANSWER_EOF);
		sg_closing_dir(s, side, SG_HOW_TAG, NULL);
	} else if (!d->closed) {
		sg_closing_vanish(s, side, side == SG_CLIENT ?
		    SG_REASON_CLIENT_VANISHED : SG_REASON_SERVER_VANISHED);
	} else {
		sg_held_drop_partial(d);
		sg_closing_answered(s, side, SG_ANSWER_EOF);
	}
	sg_closing_maybe_shutdown(s, side);
	sg_sessout_check_done(s);
}

void
sg_session_on_written(struct sg_session *s, enum sg_side side, size_t len,
    uint64_t now)
{
	struct sg_peer *pe = &s->peer[side];

	s->now = now;
	sg_bq_consume(pe->out, len);
	pe->written += len;
	pe->stall_at = now;
	s->st.bytes_out[side] += len;
	sg_ledger_written(pe->ledger, pe->written);
	sg_sessout_backpressure(s, side);
	sg_closing_maybe_shutdown(s, side);
}

void
sg_session_on_taken(struct sg_session *s, enum sg_side side, uint64_t now)
{

	s->now = now;
	s->peer[side].stall_at = now;
}

void
sg_session_on_acked(struct sg_session *s, uint64_t acked, uint64_t now)
{

	s->now = now;
	/* Never beyond what was written: a wrong figure must not lose one. */
	if (acked > s->peer[SG_CLIENT].written)
		acked = s->peer[SG_CLIENT].written;
	sg_smback_on_acked(s, acked);
}

int
sg_session_counts_acks(const struct sg_session *s)
{

	return (sg_smback_counts_acks(s));
}

void
sg_session_on_write_error(struct sg_session *s, enum sg_side side,
    uint64_t now)
{

	s->now = now;
	if (s->over)
		return;
	sg_closing_writer_gone(s, side, side == SG_CLIENT ? SG_REASON_CLIENT_VANISHED :
	    SG_REASON_SERVER_VANISHED);
	sg_sessout_check_done(s);
}

void
sg_session_on_upstream_failed(struct sg_session *s, uint64_t now)
{
	struct sg_peer *ps = &s->peer[SG_SERVER];

	s->now = now;
	if (s->over || s->upstream_failed)
		return;
	s->upstream_failed = 1;
	s->failed_at = now;
	sg_sessout_set_reason(s, SG_REASON_UPSTREAM_UNREACHABLE);
	sg_undeliv_reclaim(s, SG_SERVER);
	/* No socket to shut down or read: that side is done. */
	s->dir[SG_CLIENT].closed = 1;
	ps->notag = ps->shut = ps->eof = ps->finished = 1;
	s->dir[SG_SERVER].dead = 1;
	/* The client needs its own header answered first: wait for it. */
	if (s->dir[SG_CLIENT].have_header)
		sg_closing_dir(s, SG_SERVER, SG_HOW_TAG, "remote-connection-failed");
	sg_sessout_check_done(s);
}

static uint64_t
earliest(uint64_t a, uint64_t b)
{

	return (a < b ? a : b);
}

/*
 * The upstream failed and the client's header has not come: it gets
 * close-timeout to send it, then the stream to it is ended; not after.
 */
static int
awaits_header(const struct sg_session *s)
{

	return (s->upstream_failed && !s->dir[SG_CLIENT].have_header &&
	    !s->dir[SG_SERVER].closed);
}

/*
 * Bytes wait for side, which has taken some before (it is connected) and
 * is not being shut down: its stall counts against stanza-timeout.
 */
static int
stalls(const struct sg_session *s, enum sg_side side)
{
	const struct sg_peer *pe = &s->peer[side];

	return (pe->written > 0 && !pe->shut && sg_bq_len(pe->out) > 0);
}

/*
 * side was written our close tag (it is no longer queued: a peer still
 * taking its backlog cannot answer yet, and one that takes nothing is
 * timed out by its stall) and has not answered.
 */
static int
awaits_answer(const struct sg_session *s, enum sg_side side)
{
	const struct sg_peer *pe = &s->peer[side];

	return (pe->tag_sent && s->st.answer[side] == SG_ANSWER_NONE &&
	    !pe->eof && sg_bq_len(pe->out) == 0);
}

/*
 * Since when: the tag, the last bytes side sent (busy, not silent), or
 * the write that emptied its queue, whichever came last.
 */
static uint64_t
answer_since(const struct sg_session *s, enum sg_side side)
{
	const struct sg_peer *pe = &s->peer[side];

	return (pe->stall_at > pe->tag_at ? pe->stall_at : pe->tag_at);
}

uint64_t
sg_session_deadline(const struct sg_session *s)
{
	uint64_t t = SG_NO_DEADLINE;
	int side;

	if (s->over)
		return (t);
	for (side = 0; side < 2; side++) {
		const struct sg_dir *d = &s->dir[side];
		const struct sg_peer *pe = &s->peer[side];

		if (d->partial && !d->dead && !pe->paused)
			t = earliest(t, d->partial_since + s->p.stanza_timeout);
		if (awaits_answer(s, (enum sg_side)side))
			t = earliest(t, answer_since(s, (enum sg_side)side) +
			    s->p.close_timeout);
		if (pe->shut && !pe->finished)
			t = earliest(t, pe->shut_at + s->p.close_timeout);
		if (stalls(s, (enum sg_side)side))
			t = earliest(t, pe->stall_at + s->p.stanza_timeout);
	}
	/*
	 * As on_timer decides: a stanza under way, even from a side paused
	 * by backpressure, is no idle session (a deadline it would not act
	 * on would stay in the past).
	 */
	if (!s->closing && !s->dir[SG_CLIENT].partial &&
	    !s->dir[SG_SERVER].partial)
		t = earliest(t, s->last_active + s->p.idle_timeout);
	if (awaits_header(s))
		t = earliest(t, s->failed_at + s->p.close_timeout);
	return (earliest(t, sg_smback_deadline(s)));
}

static void
check_timeouts(struct sg_session *s, enum sg_side side)
{
	struct sg_dir *d = &s->dir[side];
	struct sg_peer *pe = &s->peer[side];
	uint64_t now = s->now;

	/* First: what it does to the queue decides whether side awaits. */
	if (stalls(s, side) && now >= pe->stall_at + s->p.stanza_timeout)
		sg_closing_writer_gone(s, side, SG_REASON_WRITE_TIMEOUT);
	if (awaits_answer(s, side) &&
	    now >= answer_since(s, side) + s->p.close_timeout) {
		sg_held_drop_partial(d);
		sg_closing_answered(s, side, SG_ANSWER_TIMEOUT);
		sg_closing_dir(s, side, SG_HOW_TAG, NULL);
	}
	if (pe->shut && !pe->finished &&
	    now >= pe->shut_at + s->p.close_timeout)
		pe->finished = 1;
	if (d->partial && !d->dead && !pe->paused &&
	    now >= d->partial_since + s->p.stanza_timeout)
		sg_closing_vanish(s, side, SG_REASON_STANZA_TIMEOUT);
}

void
sg_session_on_timer(struct sg_session *s, uint64_t now)
{
	s->now = now;
	if (s->over)
		return;
	check_timeouts(s, SG_CLIENT);
	check_timeouts(s, SG_SERVER);
	sg_smback_on_timer(s);
	/* S went quiet after its stream error: end S->C ourselves. */
	if (sg_smback_hold_expired(s) && !sg_closing_release_held_end(s))
		sg_closing_dir(s, SG_SERVER, SG_HOW_TAG, NULL);
	if (awaits_header(s) && now >= s->failed_at + s->p.close_timeout) {
		sg_held_drop_partial(&s->dir[SG_CLIENT]);
		sg_closing_dir(s, SG_SERVER, SG_HOW_NOTAG, NULL);
	}
	if (!s->closing && now >= s->last_active + s->p.idle_timeout &&
	    !s->dir[SG_CLIENT].partial && !s->dir[SG_SERVER].partial)
		sg_closing_begin(s, SG_REASON_IDLE);
	sg_sessout_check_done(s);
}

void
sg_session_on_shutdown(struct sg_session *s, uint64_t now)
{

	s->now = now;
	if (s->over)
		return;
	sg_closing_begin(s, SG_REASON_SHUTDOWN);
	sg_sessout_check_done(s);
}

void
sg_session_on_force_close(struct sg_session *s, uint64_t now)
{
	int side;

	s->now = now;
	if (s->over)
		return;
	sg_sessout_set_reason(s, SG_REASON_SHUTDOWN);
	s->st.forced = 1;
	/* As at close-timeout: whoever has not answered gets no more time,
	 * and the other side is still told the stream is over. */
	for (side = 0; side < 2; side++)
		if (s->st.answer[side] == SG_ANSWER_NONE &&
		    s->peer[side].tag_sent)
			s->st.answer[side] = SG_ANSWER_TIMEOUT;
	for (side = 0; side < 2; side++) {
		sg_held_drop_partial(&s->dir[side]);
		sg_closing_dir(s, side, s->st.opaque ? SG_HOW_NOTAG : SG_HOW_TAG, NULL);
	}
	for (side = 0; side < 2; side++)
		s->peer[side].shut = s->peer[side].finished = 1;
	sg_sessout_check_done(s);
}

size_t
sg_session_take_actions(struct sg_session *s, struct sg_action *out,
    size_t max)
{
	size_t i, n = s->nact < max ? s->nact : max;

	for (i = 0; i < n; i++)
		out[i] = (struct sg_action){ (enum sg_action_type)s->act[i].type,
		    (enum sg_side)s->act[i].side };
	memmove(s->act, s->act + n, (s->nact - n) * sizeof(s->act[0]));
	s->nact = (unsigned char)(s->nact - n);
	return (n);
}

size_t
sg_session_take_undelivered(struct sg_session *s, struct sg_undelivered *out,
    size_t max)
{

	return (sg_undeliv_take(s, out, max));
}

struct sg_bq *
sg_session_outq(struct sg_session *s, enum sg_side side)
{

	return (s->peer[side].out);
}

int
sg_session_closing(const struct sg_session *s)
{

	return (s->closing && !s->over);
}

void
sg_session_release_idle(struct sg_session *s)
{
	int side;

	for (side = 0; side < 2; side++) {
		if (sg_bq_len(s->dir[side].held) == 0)
			sg_tracker_release_idle(s->dir[side].trk);
		sg_bq_trim(s->dir[side].held);
		sg_bq_trim(s->peer[side].out);
		sg_ledger_trim(s->peer[side].ledger);
	}
	sg_smback_release_idle(s);
}

const struct sg_session_stats *
sg_session_stats(const struct sg_session *s)
{

	return (&s->st);
}

const char *
sg_close_reason_name(enum sg_close_reason r)
{

	return ((unsigned)r < SG_REASON_COUNT ? reason_names[r] : "?");
}

const char *
sg_answer_name(enum sg_answer a)
{

	return ((unsigned)a <= SG_ANSWER_TIMEOUT ? answer_names[a] : "?");
}

static int
dir_init(struct sg_session *s, enum sg_side side)
{
	struct sg_dir *d = &s->dir[side];
	struct sg_peer *pe = &s->peer[side];

	d->s = s;
	d->from = side;
	if ((d->trk = sg_tracker_new(&s->p.limits, on_tracker_event, d)) ==
	    NULL || (d->held = sg_bq_new()) == NULL ||
	    (pe->out = sg_bq_new()) == NULL ||
	    (pe->ledger = sg_ledger_new()) == NULL)
		return (-1);
	return (0);
}

struct sg_session *
sg_session_new(const struct sg_session_params *params, uint64_t now)
{
	struct sg_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->p = *params;
	s->now = s->last_active = now;
	if (dir_init(s, SG_CLIENT) || dir_init(s, SG_SERVER)) {
		sg_session_free(s);
		return (NULL);
	}
	return (s);
}

void
sg_session_free(struct sg_session *s)
{
	int side;

	if (s == NULL)
		return;
	for (side = 0; side < 2; side++) {
		sg_tracker_free(s->dir[side].trk);
		sg_bq_free(s->dir[side].held);
		sg_bq_free(s->peer[side].out);
		sg_ledger_free(s->peer[side].ledger);
	}
	free(s->undel);
	free(s->st.named);
	free(s->st.handed);
	sg_smback_free(s->sm);
	if (s->c_to != s->c_to_room)
		free(s->c_to);
	free(s);
}
