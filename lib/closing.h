#ifndef SG_CLOSING_H
#define SG_CLOSING_H

/*
 * How a direction of a session ends (a part of the close engine, called
 * by session.c only; see closing.c).  A direction X->Y is open until a
 * close tag has been relayed or written to Y, or Y is gone.
 */

#include "sessout.h"

/* What the receiving side is told when a direction ends. */
enum sg_close_how {
	SG_HOW_TAG,	/* write our own close tag (or error and tag) */
	SG_HOW_RELAYED,	/* the sender's close tag was just relayed */
	SG_HOW_NOTAG	/* the receiver is gone or the stream is opaque */
};

/*
 * sg_closing_write_end(s, to, cond, tag):
 * Write to side `to` a stream error if cond, then our close tag if tag
 * (after our final <a/> to S): 1 if written, 0 if there is no stream to
 * write into, -1 out of memory.
 */
int sg_closing_write_end(struct sg_session *s, enum sg_side to,
    const char *cond, int tag);

/*
 * sg_closing_rewritten(s, from, cond):
 * Non-zero if from's stream error cond is dropped, not relayed
 * (rewrite-idle-errors).
 */
int sg_closing_rewritten(const struct sg_session *s, enum sg_side from,
    const char *cond);

/*
 * sg_closing_shutdown_cond(s):
 * The stream error that must come before the end of the S->C stream while
 * it is still open (<system-shutdown/> during a stop), or NULL.
 */
const char *sg_closing_shutdown_cond(const struct sg_session *s);

/*
 * sg_closing_maybe_shutdown(s, to):
 * Shut down the write side towards `to` once its direction is over, it
 * answered (or is told no tag), and its queue is empty.
 */
void sg_closing_maybe_shutdown(struct sg_session *s, enum sg_side to);

/*
 * sg_closing_answered(s, side, a):
 * side ended its stream (the first answer counts), then as
 * sg_closing_maybe_shutdown().
 */
void sg_closing_answered(struct sg_session *s, enum sg_side side,
    enum sg_answer a);

/*
 * sg_closing_dir(s, from, how, cond):
 * The direction from -> other is over; how says what the other side is
 * told (with SG_HOW_TAG, stream error cond first if not NULL).
 */
void sg_closing_dir(struct sg_session *s, enum sg_side from,
    enum sg_close_how how, const char *cond);

/*
 * sg_closing_vanish(s, side, r):
 * side went away without closing its stream, or stalled mid-stanza (the
 * spec's "vanished" rows), for reason r.
 */
void sg_closing_vanish(struct sg_session *s, enum sg_side side,
    enum sg_close_reason r);

/*
 * sg_closing_writer_gone(s, side, r):
 * Nothing more can be written to side (its socket failed, or it took no
 * byte for too long): what waits for it is reclaimed, and it is told
 * nothing more.
 */
void sg_closing_writer_gone(struct sg_session *s, enum sg_side side,
    enum sg_close_reason r);

/*
 * sg_closing_refuse(s, side, cond, r):
 * Bad XML or a limit from side: tell it why (stream error cond), and
 * close the other side by the idle procedure.
 */
void sg_closing_refuse(struct sg_session *s, enum sg_side side,
    const char *cond, enum sg_close_reason r);

/*
 * sg_closing_begin(s, r):
 * stanzaguard closes the session itself (idle, stop): the far side first,
 * as close-order says.  Once only.
 */
void sg_closing_begin(struct sg_session *s, enum sg_close_reason r);

/*
 * sg_closing_release_held_end(s):
 * S's end was held back until S acknowledged C's stanzas: relay it now.
 * 1 if that was S's close tag (S->C is closed), 0 if nothing was held or
 * only S's stream error (its close tag has not come).
 */
int sg_closing_release_held_end(struct sg_session *s);

#endif /* !SG_CLOSING_H */
