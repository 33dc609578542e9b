#ifndef SG_SESSION_H
#define SG_SESSION_H

/*
 * The close engine: one proxied XMPP session between a client C and the
 * upstream server S, as a pure state machine.  Events go in (bytes read
 * from a side, end of file, bytes written, the clock passing a deadline,
 * service stop); actions come out (bytes queued towards a side, shut down
 * a side's write half, pause or resume reading a side, end the session).
 * It reads no clock and touches no socket: the caller passes the time in
 * milliseconds of a monotonic clock with every event.
 *
 * The rules are those of spec/close-handshake.md: stanzas are stored and
 * forwarded whole, close tags are only written between stanzas and nothing
 * ever after them, and every complete stanza read is forwarded, bounced to
 * its sender, or counted as undeliverable.
 */

#include <stddef.h>
#include <stdint.h>

#include "bq.h"
#include "sessiondefs.h"

/* Opaque types. */
struct sg_session;

/*
 * sg_session_new(params, now):
 * A session whose client has just connected and whose upstream connection
 * is being made.  Bytes for S are queued until the caller can write them.
 * params is copied.  Returns NULL on allocation failure.
 */
struct sg_session *sg_session_new(const struct sg_session_params *params,
    uint64_t now);

/*
 * sg_session_free(s):
 * Free s.  A NULL s is a no-op.
 */
void sg_session_free(struct sg_session *s);

/*
 * sg_session_on_bytes(s, side, buf, len, now):
 * len > 0 bytes were read from side.  buf is not kept.
 */
void sg_session_on_bytes(struct sg_session *s, enum sg_side side,
    const char *buf, size_t len, uint64_t now);

/*
 * sg_session_on_eof(s, side, now):
 * Reading side gave end of file or an error (a reset): nothing more will
 * come from it.
 */
void sg_session_on_eof(struct sg_session *s, enum sg_side side,
    uint64_t now);

/*
 * sg_session_on_written(s, side, len, now):
 * The first len bytes of sg_session_outq(s, side) were written; the
 * session consumes them from the queue.
 */
void sg_session_on_written(struct sg_session *s, enum sg_side side,
    size_t len, uint64_t now);

/*
 * sg_session_on_taken(s, side, now):
 * side's TCP stack has acknowledged more bytes since the caller last
 * looked, though no write could be made: it is reading, only slowly (a
 * full socket wakes its writer only once a third of it has drained).  The
 * caller looks before a timer event while a write to side waits.
 */
void sg_session_on_taken(struct sg_session *s, enum sg_side side,
    uint64_t now);

/*
 * sg_session_on_acked(s, now, acked):
 * C's TCP stack has acknowledged the first acked bytes ever written to C
 * (of those sg_session_on_written() was told of).  Only while
 * sg_session_counts_acks(s): the caller asks before every other event, so
 * that what the session tells S of C is never older than that event.
 */
void sg_session_on_acked(struct sg_session *s, uint64_t acked, uint64_t now);

/*
 * sg_session_counts_acks(s):
 * Non-zero while stanzas written to C wait for C's TCP acknowledgement
 * (stream management on C's behalf).
 */
int sg_session_counts_acks(const struct sg_session *s);

/*
 * sg_session_on_write_error(s, side, now):
 * Writing to side failed for good (EPIPE, reset): what is queued towards
 * it will never arrive and is accounted for.
 */
void sg_session_on_write_error(struct sg_session *s, enum sg_side side,
    uint64_t now);

/*
 * sg_session_on_upstream_failed(s, now):
 * The connection to S could not be made (refused, timed out, unreachable).
 */
void sg_session_on_upstream_failed(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_timer(s, now):
 * The deadline returned by sg_session_deadline() has passed (it may have
 * moved since; the session checks).
 */
void sg_session_on_timer(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_shutdown(s, now):
 * The service is stopping: close by the idle procedure now, the client
 * told <system-shutdown/> first.
 */
void sg_session_on_shutdown(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_force_close(s, now):
 * The drain timeout has passed: end now, whatever is unanswered.
 */
void sg_session_on_force_close(struct sg_session *s, uint64_t now);

/*
 * sg_session_take_actions(s, out, max):
 * Move up to max pending actions, oldest first, to out; returns how many.
 * Actions are not repeated: one SG_ACT_WRITE stands for every byte queued
 * towards that side since the last take.
 */
size_t sg_session_take_actions(struct sg_session *s, struct sg_action *out,
    size_t max);

/*
 * sg_session_take_undelivered(s, out, max):
 * Move up to max of the stanzas named undeliverable since the last take,
 * oldest first, to out; returns how many.  Every undeliverable stanza is
 * named here once (rule 5), however many; the stats keep only the first
 * SG_UNDELIVERABLE_NAMED for the session's last line.
 */
size_t sg_session_take_undelivered(struct sg_session *s,
    struct sg_undelivered *out, size_t max);

/*
 * sg_session_outq(s, side):
 * The bytes waiting to be written to side.  The caller writes from its head
 * and then calls sg_session_on_written().
 */
struct sg_bq *sg_session_outq(struct sg_session *s, enum sg_side side);

/*
 * sg_session_deadline(s):
 * When sg_session_on_timer() must next be called, or SG_NO_DEADLINE.  It
 * only moves earlier on an event; bytes read move it later without any
 * timer work (the caller may re-arm lazily, when the old deadline fires).
 */
uint64_t sg_session_deadline(const struct sg_session *s);

/*
 * sg_session_closing(s):
 * Non-zero once a close handshake is under way (for the totals).
 */
int sg_session_closing(const struct sg_session *s);

/*
 * sg_session_release_idle(s):
 * Give back parser memory of directions that are between stanzas, and the
 * memory queues keep for bytes to come: for a session gone quiet.
 */
void sg_session_release_idle(struct sg_session *s);

/*
 * sg_session_stats(s):
 * Counts and outcome, for the log line.
 */
const struct sg_session_stats *sg_session_stats(const struct sg_session *s);

/*
 * sg_close_reason_name(r), sg_answer_name(a):
 * The fixed names used in log lines: "client-vanished", "timeout"...
 */
const char *sg_close_reason_name(enum sg_close_reason r);
const char *sg_answer_name(enum sg_answer a);

#endif /* !SG_SESSION_H */
