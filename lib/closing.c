/*
 * How a direction of a session ends, a part of the close engine: the
 * close rules of spec/close-handshake.md that session.c's events call
 * (close tags written or relayed, peers that vanish or stop reading,
 * refusals, the idle procedure, S's held end relayed), with the sending
 * side as the argument.  Calls smback (what stream management on C's
 * behalf makes of an end), undeliv (what is left queued), held and
 * sessout.
 */

#include <stdlib.h>
#include <string.h>

#include "closing.h"
#include "compose.h"
#include "held.h"
#include "smback.h"
#include "undeliv.h"

/*
 * The stream towards `to` needs a header before anything else.  Only the
 * client ever waits for one from us; before its own header came, only a
 * stream error is worth one (RFC 6120 4.9.1.3).
 */
static int
ensure_header(struct sg_session *s, enum sg_side to, const char *cond,
    struct sg_bq *q)
{
	struct sg_peer *pe = &s->peer[to];
	const struct sg_dir *cd = &s->dir[SG_CLIENT];
	const char *ns = cd->have_header ? s->c_ns : "jabber:client";

	if (pe->header_out)
		return (1);
	if (to != SG_CLIENT || (!cd->have_header && cond == NULL))
		return (0);
	if (sg_compose_header(q, ns, s->c_to,
	    "stanzaguard"))
		return (-1);
	pe->header_out = 1;
	sg_sessout_copy_str(pe->out_prefix, sizeof(pe->out_prefix), "stream");
	sg_sessout_copy_str(pe->out_ns, sizeof(pe->out_ns), ns);
	return (1);
}

/*
 * Write to side `to` a stream error if cond, then our close tag if tag:
 * 1 if written, 0 if there is no stream to write into, -1 out of memory.
 */
int
sg_closing_write_end(struct sg_session *s, enum sg_side to, const char *cond,
    int tag)
{
	struct sg_peer *pe = &s->peer[to];
	struct sg_bq *q;
	int ok;

	if ((q = sg_bq_new()) == NULL)
		return (-1);
	ok = ensure_header(s, to, cond, q);
	if (ok == 1 && tag && to == SG_SERVER && sg_smback_final_ack(s, q))
		ok = -1;
	if (ok == 1 && cond != NULL &&
	    sg_compose_stream_error(q, pe->out_prefix, cond))
		ok = -1;
	if (ok == 1 && tag && sg_compose_close(q, pe->out_prefix))
		ok = -1;
	if (ok == 1)
		sg_sessout_take(s, to, q);
	sg_bq_free(q);
	return (ok);
}

/* S's stream error is dropped, not relayed (rewrite-idle-errors). */
int
sg_closing_rewritten(const struct sg_session *s, enum sg_side from,
    const char *cond)
{

	return (from == SG_SERVER && s->p.rewrite_idle_errors &&
	    cond != NULL && strcmp(cond, "connection-timeout") == 0);
}

/*
 * The stream error that must come before the end of the S->C stream while
 * it is still open, or NULL.  In a service stop C is told
 * <system-shutdown/> whichever the close order (spec: SIGTERM row), and
 * whoever ends that stream (S's tag relayed, S gone or timed out, forced
 * close): known from the close reason, so the session keeps no flag.  Not
 * after S's own stream error was relayed to C: a stream error is followed
 * by the close tag alone (RFC 6120 4.9.1.1).  S is never told.
 */
const char *
sg_closing_shutdown_cond(const struct sg_session *s)
{
	const char *e = s->st.error_in[SG_SERVER];

	if (s->st.reason != SG_REASON_SHUTDOWN || s->dir[SG_SERVER].closed)
		return (NULL);
	if (e[0] != '\0' && !sg_closing_rewritten(s, SG_SERVER, e))
		return (NULL);
	return ("system-shutdown");
}

void
sg_closing_maybe_shutdown(struct sg_session *s, enum sg_side to)
{
	struct sg_peer *pe = &s->peer[to];

	if (!s->dir[OTHER(to)].closed || pe->shut)
		return;
	if (!pe->notag && s->st.answer[to] == SG_ANSWER_NONE && !pe->eof)
		return;
	if (sg_bq_len(pe->out) > 0)
		return;
	pe->shut = 1;
	pe->shut_at = s->now;
	sg_sessout_push_action(s, SG_ACT_SHUTDOWN, to);
	sg_sessout_check_done(s);
}

void
sg_closing_answered(struct sg_session *s, enum sg_side side,
    enum sg_answer a)
{

	if (s->st.answer[side] == SG_ANSWER_NONE)
		s->st.answer[side] = a;
	sg_closing_maybe_shutdown(s, side);
}

/* The direction from -> to is over; how says what `to` is told. */
void
sg_closing_dir(struct sg_session *s, enum sg_side from,
    enum sg_close_how how, const char *cond)
{
	struct sg_dir *d = &s->dir[from];
	struct sg_peer *pe = &s->peer[OTHER(from)];
	int r = 0;

	if (d->closed)
		return;
	/*
	 * S's held end is superseded: its unacked stanzas go first, and C
	 * gets S's stream error unless it gets one of ours.
	 */
	if (from == SG_SERVER && how != SG_HOW_RELAYED)
		sg_smback_release_end(s, how == SG_HOW_NOTAG ? SG_SMBACK_NAME :
		    cond == NULL ? SG_SMBACK_ERROR : SG_SMBACK_DROP);
	if (how == SG_HOW_TAG && cond == NULL && from == SG_SERVER)
		cond = sg_closing_shutdown_cond(s);
	if (how == SG_HOW_TAG &&
	    (r = sg_closing_write_end(s, OTHER(from), cond, 1)) < 0) {
		sg_sessout_fail_internal(s);
		return;
	}
	d->closed = 1;
	if (how == SG_HOW_RELAYED || r == 1) {
		pe->tag_sent = 1;
		pe->tag_at = s->now;
	} else
		pe->notag = 1;
	sg_closing_maybe_shutdown(s, OTHER(from));
}

/*
 * Nothing more reaches side: first what stream management on C's behalf
 * makes of it (what S never acknowledged, what C's TCP never did), then
 * every stanza still queued for it.
 */
static void
reclaim(struct sg_session *s, enum sg_side side)
{

	if (side == SG_SERVER)
		sg_smback_server_gone(s);
	else
		sg_smback_client_gone(s);
	sg_undeliv_reclaim(s, side);
}

/*
 * A side went away without closing its stream, or stalled mid-stanza: the
 * "vanished" rows of the spec, for either side.
 */
void
sg_closing_vanish(struct sg_session *s, enum sg_side side,
    enum sg_close_reason r)
{
	enum sg_side other = OTHER(side);

	sg_sessout_set_reason(s, r);
	sg_held_drop_partial(&s->dir[side]);
	sg_closing_answered(s, side, r == SG_REASON_STANZA_TIMEOUT ||
	    r == SG_REASON_WRITE_TIMEOUT ? SG_ANSWER_TIMEOUT : SG_ANSWER_EOF);
	if (s->st.sm_resumable || s->st.opaque) {
		/*
		 * Let both ends keep the session for resumption; or there is
		 * no stream to put a tag in.
		 */
		sg_closing_dir(s, side, SG_HOW_NOTAG, NULL);
		sg_closing_dir(s, other, SG_HOW_NOTAG, NULL);
		return;
	}
	reclaim(s, side);
	sg_closing_dir(s, side, SG_HOW_TAG, NULL);
	sg_closing_dir(s, other, SG_HOW_NOTAG, NULL);
	/* Both streams may have been over already: the reclaim emptied
	 * what their shutdown waited for. */
	sg_closing_maybe_shutdown(s, side);
	sg_closing_maybe_shutdown(s, other);
}

/*
 * Nothing more can be written to side (its socket failed, or it took no
 * byte for too long): what waits for it is reclaimed, and it is told
 * nothing more.
 */
void
sg_closing_writer_gone(struct sg_session *s, enum sg_side side,
    enum sg_close_reason r)
{

	if (!s->dir[side].closed)
		sg_closing_vanish(s, side, r);
	/* One whose stream was ended without a tag had no handshake. */
	else if (s->peer[side].tag_sent || !s->peer[side].notag)
		sg_closing_answered(s, side, r == SG_REASON_WRITE_TIMEOUT ?
		    SG_ANSWER_TIMEOUT : SG_ANSWER_EOF);
	/* Also after vanishing: on a resumable session it reclaims nothing. */
	reclaim(s, side);
	sg_closing_dir(s, OTHER(side), SG_HOW_NOTAG, NULL);
	s->peer[side].notag = 1;
	sg_closing_maybe_shutdown(s, side);
}

/* Bad XML or a limit from side: tell it why, close the other by the idle
 * procedure. */
void
sg_closing_refuse(struct sg_session *s, enum sg_side side, const char *cond,
    enum sg_close_reason r)
{

	sg_sessout_set_reason(s, r);
	sg_held_drop_partial(&s->dir[side]);
	sg_closing_dir(s, OTHER(side), SG_HOW_TAG, cond);
	/* Its close tag can no longer be parsed: do not wait for it. */
	s->peer[side].notag = 1;
	sg_closing_maybe_shutdown(s, side);
	sg_closing_dir(s, side, SG_HOW_TAG, NULL);
}

void
sg_closing_begin(struct sg_session *s, enum sg_close_reason r)
{
	enum sg_side first = s->p.server_first ? SG_SERVER : SG_CLIENT;

	if (s->closing)
		return;
	sg_sessout_set_reason(s, r);
	if (s->st.opaque) {
		sg_closing_dir(s, SG_CLIENT, SG_HOW_NOTAG, NULL);
		sg_closing_dir(s, SG_SERVER, SG_HOW_NOTAG, NULL);
		return;
	}
	/* During a stop, sg_closing_dir() puts <system-shutdown/> before C's tag. */
	sg_closing_dir(s, OTHER(first), SG_HOW_TAG, NULL);
	/* Nobody to ask (no stream yet): end the other side as well. */
	if (s->peer[first].notag)
		sg_closing_dir(s, first, SG_HOW_TAG, NULL);
}

/*
 * S's end was held back until S acknowledged C's stanzas: relay it now.
 * 1 if that was S's close tag (S->C is closed), 0 if nothing was held or
 * only S's stream error (its close tag has not come).
 */
int
sg_closing_release_held_end(struct sg_session *s)
{
	int tag = sg_smback_tag_held(s);

	if (!sg_smback_holding(s))
		return (0);
	sg_smback_release_end(s, SG_SMBACK_RELAY);
	if (!tag)
		return (0);
	sg_closing_dir(s, SG_SERVER, SG_HOW_RELAYED, NULL);
	return (1);
}
