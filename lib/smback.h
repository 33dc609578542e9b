#ifndef SG_SMBACK_H
#define SG_SMBACK_H

/*
 * Stream management on C's behalf, a part of the close engine (spec:
 * "Handing undelivered stanzas back").  For a c2s client that does not do
 * XEP-0198 itself, stanzaguard enables it towards S after bind, hides it
 * from C, acknowledges to S only the S->C stanzas that C's TCP stack has
 * acknowledged, so that S re-routes the rest when the session ends, and
 * follows S's acknowledgements of C->S, so that no stanza S never
 * acknowledged counts as forwarded.  Called by the close engine
 * (session.c, closing.c) only; it works on the session's state (sessout.h)
 * and calls held, undeliv and sessout.
 */

#include <stdint.h>

#include "bq.h"
#include "compose.h"
#include "sessiondefs.h"
#include "tracker.h"

/* Opaque types. */
struct sg_session;
struct sg_dir;
struct sg_smback;

/*
 * sg_smback_stanza(s, d, ev, info):
 * A complete stanza from d's side, before it is forwarded.  Returns 1 if
 * its bytes are taken care of here (an SM element that is ours to answer,
 * C's late <enable/> answered with <failed/>, an S->C stanza handed back
 * because the close has begun), 0 if session.c goes on as usual.  May
 * queue <enable/> towards S before the stanza (the decision after bind).
 */
int sg_smback_stanza(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev, const struct sg_stanza_info *info);

/*
 * sg_smback_forwarded(s, d, ev, info, start):
 * The stanza was just queued for the other side, from its queue offset
 * start on: number it if S counts it, ask S for an ack, and note S's bind
 * result.
 */
void sg_smback_forwarded(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev, const struct sg_stanza_info *info,
    uint64_t start);

/*
 * sg_smback_final_ack(s, q):
 * C->S is about to end, by a stream error or a close tag: put
 * <a h='N'/> into q first if S counts our acks (once: a later call puts
 * nothing, for after a stream error only the close tag may come).  h is
 * then final: the stanzas queued for C and not begun are handed back
 * instead of written (while S->C is open).  0, or -1 out of memory.
 */
int sg_smback_final_ack(struct sg_session *s, struct sg_bq *q);

/*
 * sg_smback_client_gone(s):
 * C vanished: what was written to it and not acknowledged by its TCP is
 * S's to re-route (before sg_undeliv_reclaim() takes what is queued).
 */
void sg_smback_client_gone(struct sg_session *s);

/*
 * sg_smback_hold_end(s, d, ev):
 * S's stream error or close tag: if S has not acknowledged every C->S
 * stanza written to it and C may still be told, take its bytes (up to
 * ev->end) to hold them back from C and return 1; else 0.
 */
int sg_smback_hold_end(struct sg_session *s, struct sg_dir *d,
    const struct sg_tracker_event *ev);

/*
 * sg_smback_holding(s):
 * Non-zero while S's close tag is held back.
 */
int sg_smback_holding(const struct sg_session *s);

/*
 * sg_smback_tag_held(s):
 * Non-zero while what is held back ends with S's close tag (else it is
 * S's stream error alone, its close tag not come yet).
 */
int sg_smback_tag_held(const struct sg_session *s);

/* What becomes of S's held end, and of the stanzas S did not ack. */
enum sg_smback_release {
	SG_SMBACK_RELAY,	/* bounced (or named), then S's end to C */
	SG_SMBACK_ERROR,	/* as RELAY, S's stream error only: we end
				 * S->C with our own close tag */
	SG_SMBACK_DROP,		/* bounced (or named); we end S->C with our
				 * own stream error: S's is named */
	SG_SMBACK_NAME		/* named, and S's stream error: C is gone */
};

/*
 * sg_smback_release_end(s, how):
 * Stop holding S's end: S's TCP ended, close-timeout passed, or the
 * session ends otherwise.  Every C->S stanza S has not acknowledged is
 * bounced to C or named, and with SG_SMBACK_RELAY S's held bytes are then
 * queued for C (the caller closes S->C as relayed); with SG_SMBACK_ERROR
 * only S's stream error, if one is held.  A held stream error not relayed
 * is counted undeliverable, not forwarded.
 */
void sg_smback_release_end(struct sg_session *s,
    enum sg_smback_release how);

/*
 * sg_smback_server_gone(s):
 * S ended without its close tag: the C->S stanzas written to S that it
 * never acknowledged are bounced to C or named (those still queued are
 * the caller's, by sg_undeliv_reclaim).
 */
void sg_smback_server_gone(struct sg_session *s);

/*
 * sg_smback_on_acked(s, acked):
 * C's TCP stack has acknowledged the first acked bytes ever written to C.
 */
void sg_smback_on_acked(struct sg_session *s, uint64_t acked);

/*
 * sg_smback_counts_acks(s):
 * Non-zero if S->C stanzas wait for C's TCP acknowledgement, or S is owed
 * a newer count than it was told.
 */
int sg_smback_counts_acks(const struct sg_session *s);

/*
 * sg_smback_on_timer(s):
 * The session's timer fired: a look at C's acknowledgements that is due
 * and found nothing new (no count was reported) moves on, so that the
 * deadline never stays in the past.
 */
void sg_smback_on_timer(struct sg_session *s);

/*
 * sg_smback_release_idle(s):
 * Give back the memory kept for records to come: the session went quiet.
 */
void sg_smback_release_idle(struct sg_session *s);

/*
 * sg_smback_hold_expired(s):
 * Non-zero if S's end has been held back for close-timeout.
 */
int sg_smback_hold_expired(const struct sg_session *s);

/*
 * sg_smback_deadline(s):
 * When the held close tag is given up on, or C's acknowledgements are to
 * be looked at again for S (an event, with the count reported before it,
 * is then due); SG_NO_DEADLINE if neither.
 */
uint64_t sg_smback_deadline(const struct sg_session *s);

/*
 * sg_smback_h_ahead(acked, h):
 * How many stanzas past acked an h from S acknowledges: h counts modulo
 * 2^32, so the count it stands for is the first one at or above acked
 * with those low 32 bits.
 */
uint64_t sg_smback_h_ahead(uint64_t acked, uint32_t h);

/*
 * sg_smback_free(sm):
 * Free sm.  A NULL sm is a no-op.
 */
void sg_smback_free(struct sg_smback *sm);

#endif /* !SG_SMBACK_H */
