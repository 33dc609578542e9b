#ifndef SG_FRONT_H
#define SG_FRONT_H

/*
 * The front: what a listener in starttls mode says to a client before TLS,
 * as a pure module.  Client bytes go in; our bytes to write come out, with
 * an outcome.  It answers the client's stream header with ours (echoing
 * its default namespace, from= its to, a fresh id, version 1.0) and
 * features offering only <starttls/> as required, and <starttls/> with
 * <proceed/>.  Nothing the client says before TLS ever reaches the
 * upstream: after TLS the client starts a new stream, relayed as a fresh
 * session.
 *
 * Anything else than <starttls/> (<auth/>, a stanza) is refused with
 * <policy-violation/> and a text saying TLS is required: RFC 6120 5.3.1
 * names no condition for a peer that skips mandatory TLS, and
 * policy-violation is the one its section 4.9.3 gives for a local policy
 * the peer broke.  Bad XML is refused as the session refuses it
 * (<not-well-formed/>, <restricted-xml/>...).  A refusal is a stream error
 * and our close tag, preceded by our header if we had not sent it.
 *
 * The same dialogue, cut short, refuses a client before any session
 * (sg_front_refuse_at_header: over max-connections, <resource-constraint/>
 * in answer to its header), on any listener that speaks XML first.
 */

#include <stddef.h>

#include "bq.h"
#include "tracker.h"

/* Opaque types. */
struct sg_front;

enum sg_front_outcome {
	SG_FRONT_NEED_MORE,	/* write the queue, read on */
	SG_FRONT_PROCEED,	/* write the queue (<proceed/>), then TLS */
	SG_FRONT_REFUSE,	/* write the queue (error, close tag), close */
	SG_FRONT_CLOSED		/* the client closed its stream; the queue
				   holds our close tag: write it, close */
};

/*
 * sg_front_new(lim, id):
 * A front for one client; lim as for the tracker, id the stream id we
 * give (the caller makes it random; copied, up to 63 bytes).  Returns
 * NULL on allocation failure.
 */
struct sg_front *sg_front_new(const struct sg_tracker_limits *lim,
    const char *id);

/*
 * sg_front_free(f):
 * Free f.  A NULL f is a no-op.
 */
void sg_front_free(struct sg_front *f);

/*
 * sg_front_feed(f, buf, len):
 * The next len bytes from the client.  Returns the outcome; once it is
 * not SG_FRONT_NEED_MORE, it stays so and further bytes are ignored.
 * PROCEED only if nothing but whitespace follows <starttls/> in what was
 * fed (a client must wait for <proceed/>); else REFUSE.
 */
enum sg_front_outcome sg_front_feed(struct sg_front *f, const char *buf,
    size_t len);

/*
 * sg_front_refuse_at_header(f, cond, why):
 * Refuse the client as soon as its stream header is read: our header
 * answers it (its namespace, from= its to), then <cond/> (an RFC 6120
 * 4.9.3 condition) and our close tag, no features; sg_front_feed()
 * returns SG_FRONT_REFUSE and sg_front_why() says why.  cond and why are
 * not copied: string literals.  Call before the first sg_front_feed().
 */
void sg_front_refuse_at_header(struct sg_front *f, const char *cond,
    const char *why);

/*
 * sg_front_refuse(f, cond, why):
 * Refuse now: queue <cond/> and our close tag (after our header, in
 * jabber:client, if we had not sent it: RFC 6120 4.9.1.2 lets ours come
 * first).  cond and why are not copied.  Returns SG_FRONT_REFUSE, or, if
 * the outcome was already decided, that outcome, queueing nothing.
 */
enum sg_front_outcome sg_front_refuse(struct sg_front *f, const char *cond,
    const char *why);

/*
 * sg_front_shutdown(f):
 * The service is stopping: queue <system-shutdown/> and our close tag
 * (after our header if we had not sent it), as sessions are told on stop:
 * sg_front_refuse(f, "system-shutdown", "the service is stopping").
 * After <proceed/> or a refusal nothing more can be said.
 */
enum sg_front_outcome sg_front_shutdown(struct sg_front *f);

/*
 * sg_front_outq(f):
 * Our bytes to write to the client, in order; the caller consumes them.
 */
struct sg_bq *sg_front_outq(struct sg_front *f);

/*
 * sg_front_to(f):
 * The to attribute of the client's header ("" if none or not yet): the
 * name to pick a certificate by when the client sends no SNI.
 */
const char *sg_front_to(const struct sg_front *f);

/*
 * sg_front_why(f):
 * After REFUSE, why, for the log line ("" otherwise).
 */
const char *sg_front_why(const struct sg_front *f);

#endif /* !SG_FRONT_H */
