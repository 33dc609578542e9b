#ifndef SG_TRACKER_H
#define SG_TRACKER_H

/*
 * The stream tracker: follows one direction of an XMPP stream, fed with byte
 * chunks as they arrive, and reports where the stream header, every stanza
 * (every child of the stream element), whitespace keepalives and the close
 * tag start and end, as absolute byte offsets into that direction.  It never
 * copies or changes the bytes: the caller keeps them.
 *
 * It refuses XML that RFC 6120 section 11.1 forbids and enforces size
 * limits.  Stream restarts (SASL) and the switch to opaque bytes (STARTTLS,
 * compression) are followed at exactly the right byte.  Events, offsets and
 * results do not depend on how the bytes are split into chunks, nor on
 * sg_tracker_release_idle() calls between chunks.
 */

#include <stddef.h>
#include <stdint.h>

#include "trackdefs.h"

/* Opaque types. */
struct sg_tracker;

/*
 * Called once per event, in stream order, from inside sg_tracker_feed().
 * ctx is the pointer given to sg_tracker_new(): a void pointer, as expat's
 * own user data, because the tracker serves callers of several types.
 * The callback must not free the tracker (sg_tracker_release_idle() on it
 * does nothing there); it may call sg_tracker_expect_restart() or
 * sg_tracker_set_opaque() on another tracker (on its own: see there).
 */
typedef void sg_tracker_cb(void *ctx, const struct sg_tracker_event *ev);

/*
 * sg_tracker_limits_default(lim):
 * Fill lim with the SG_TRACKER_DEFAULT_* values.
 */
void sg_tracker_limits_default(struct sg_tracker_limits *lim);

/*
 * sg_tracker_new(lim, cb, ctx):
 * Create a tracker expecting a stream header (optionally preceded by an XML
 * declaration) as its first bytes.  lim is copied.  Returns NULL on
 * allocation failure.
 */
struct sg_tracker *sg_tracker_new(const struct sg_tracker_limits *lim,
    sg_tracker_cb *cb, void *ctx);

/*
 * sg_tracker_free(t):
 * Free t and its parser.  A NULL t is a no-op.
 */
void sg_tracker_free(struct sg_tracker *t);

/*
 * sg_tracker_feed(t, buf, len):
 * Parse the next len bytes of the direction, calling the callback for each
 * event they complete.  Every whitespace byte between stanzas is reported
 * (as one or more SG_EV_KEEPALIVE events) before this returns, a final CR
 * too, which expat holds back until it sees whether LF follows; how a run
 * of whitespace is split into events may depend on the chunking, nothing
 * else does.  Once the direction is opaque the bytes are only counted.
 * Returns SG_TRACK_OK, or the first error; events before the error are
 * reported, and after it every further call returns that error and
 * reports nothing.  expat never buffers more than max_stanza bytes past the
 * last event: a huge stanza fails once the limit is crossed.
 */
enum sg_tracker_result sg_tracker_feed(struct sg_tracker *t,
    const char *buf, size_t len);

/*
 * sg_tracker_expect_restart(t):
 * A new stream (XML declaration and header) starts at the next byte fed:
 * called on this direction when the other one carried SASL <success/>.
 * A direction follows its own <success/>, <proceed/> and <compressed/> by
 * itself.  Called on t from t's own callback, this and
 * sg_tracker_set_opaque() act from the start of the next
 * sg_tracker_feed(): the rest of the current chunk is still parsed as XML.
 * Neither undoes an error; nothing undoes opaque.
 */
void sg_tracker_expect_restart(struct sg_tracker *t);

/*
 * sg_tracker_set_opaque(t):
 * Every byte from the next one on is opaque (TLS or compressed): called on
 * this direction when the other one carried <proceed/> or <compressed/>.
 */
void sg_tracker_set_opaque(struct sg_tracker *t);

/*
 * sg_tracker_is_opaque(t):
 * Non-zero once the direction carries opaque bytes.
 */
int sg_tracker_is_opaque(const struct sg_tracker *t);

/*
 * sg_tracker_offset(t):
 * The number of bytes fed so far; after an error, up to where parsing
 * stopped.
 */
uint64_t sg_tracker_offset(const struct sg_tracker *t);

/*
 * sg_tracker_in_stanza(t):
 * Non-zero if bytes fed since the last event begin a stanza (a child of
 * the stream element) that is not complete yet: its start tag is begun,
 * whole or not.  After an error, whether the error fell inside a stanza
 * (a limit or bad XML within it, or the stanza over max_stanza); 0 for an
 * error in the stream header, in text or a comment between stanzas, or
 * after the close tag.  Does not depend on how the bytes were chunked.
 */
int sg_tracker_in_stanza(const struct sg_tracker *t);

/*
 * sg_tracker_release_idle(t):
 * If t is between stanzas with no partial bytes pending, give back the
 * parser's memory; the parser is rebuilt from the stream's namespace
 * declarations when the next byte arrives.  Returns 1 if memory was given
 * back, 0 otherwise (mid-stanza, no parser to free, opaque, closed, after
 * an error, or inside t's callback).  Events and offsets are the same
 * either way.  An idle tracker holds about 12 KB of expat state; released,
 * under 500 bytes.
 */
int sg_tracker_release_idle(struct sg_tracker *t);

/*
 * sg_tracker_strerror(r):
 * A short English description of r, for log lines.
 */
const char *sg_tracker_strerror(enum sg_tracker_result r);

/*
 * sg_tracker_condition(r):
 * The RFC 6120 stream error condition for r ("not-well-formed",
 * "restricted-xml", "invalid-namespace", "policy-violation",
 * "resource-constraint"), or NULL for SG_TRACK_OK.
 */
const char *sg_tracker_condition(enum sg_tracker_result r);

#endif /* !SG_TRACKER_H */
