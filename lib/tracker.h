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

/* Opaque types. */
struct sg_tracker;

/* Limits; a stream that exceeds one is refused with a distinct result. */
struct sg_tracker_limits {
	size_t max_stanza;	/* bytes of one stanza or stream header */
	unsigned max_depth;	/* element depth, the stream element being 1 */
	unsigned max_attrs;	/* attributes of one element */
	size_t max_name;	/* bytes of an element or attribute name */
	size_t max_value;	/* bytes of one attribute value */
};

/* Defaults: Prosody's and xmpp-proxy's stanza size, generous otherwise. */
#define SG_TRACKER_DEFAULT_MAX_STANZA	(256 * 1024)
#define SG_TRACKER_DEFAULT_MAX_DEPTH	64
#define SG_TRACKER_DEFAULT_MAX_ATTRS	64
#define SG_TRACKER_DEFAULT_MAX_NAME	1024
#define SG_TRACKER_DEFAULT_MAX_VALUE	(64 * 1024)

/*
 * NOT_WELL_FORMED also covers text or CDATA between stanzas, and a NUL or
 * a UTF-16 byte order mark in a document's first two bytes (expat would
 * otherwise switch to UTF-16).  An entity reference beyond the five
 * predefined ones is RESTRICTED_XML; no entity is ever expanded.
 */
enum sg_tracker_result {
	SG_TRACK_OK = 0,
	SG_TRACK_NOT_WELL_FORMED,	/* ill-formed XML, invalid UTF-8 */
	SG_TRACK_RESTRICTED_XML,	/* DTD, entity, PI, comment */
	SG_TRACK_INVALID_NAMESPACE,	/* root is not a stream element */
	SG_TRACK_AFTER_CLOSE,		/* not whitespace, after the close */
	SG_TRACK_NESTED_STREAM,		/* a stream header inside the stream */
	SG_TRACK_STANZA_TOO_LARGE,
	SG_TRACK_TOO_DEEP,
	SG_TRACK_TOO_MANY_ATTRS,
	SG_TRACK_NAME_TOO_LONG,
	SG_TRACK_VALUE_TOO_LONG,
	SG_TRACK_NOMEM,
	SG_TRACK_RESULT_COUNT
};

enum sg_tracker_event_type {
	SG_EV_HEADER,		/* stream header (with any XML declaration) */
	SG_EV_STANZA,		/* one complete child of the stream element */
	SG_EV_KEEPALIVE,	/* whitespace between stanzas */
	SG_EV_CLOSE		/* the stream's close tag */
};

/* What a stanza is, as far as the close engine cares. */
enum sg_stanza_kind {
	SG_STANZA_OTHER,	/* any other child: features, auth, r, a... */
	SG_STANZA_MESSAGE,	/* message, presence, iq: in jabber:client, */
	SG_STANZA_PRESENCE,	/* jabber:server or jabber:component:accept */
	SG_STANZA_IQ,
	SG_STANZA_STREAM_ERROR,	/* condition is set */
	SG_STANZA_SASL_SUCCESS,	/* a new stream starts at the next byte */
	SG_STANZA_TLS_PROCEED,	/* opaque from the next byte */
	SG_STANZA_COMPRESSED,	/* opaque from the next byte */
	SG_STANZA_SM_ENABLED,	/* XEP-0198 <enabled/> (sm_resume from its
				   resume attribute) or <resumed/> (1) */
	SG_STANZA_SM_ENABLE,	/* <enable/> or <resume/>, urn:xmpp:sm:2|3 */
	SG_STANZA_SM_FAILED,	/* the rest in urn:xmpp:sm:3 only: */
	SG_STANZA_SM_REQUEST,	/* <r/> */
	SG_STANZA_SM_ACK	/* <a/>, its h in sm_h if valid (SG_MARK_H) */
};

/*
 * What a stanza's children say, for stream management on C's behalf
 * (spec: "Handing undelivered stanzas back"): bits of an event's marks.
 */
#define SG_MARK_SM_OFFER	0x01	/* features offer urn:xmpp:sm:3 */
#define SG_MARK_BIND		0x02	/* an iq with a <bind/> child */
#define SG_MARK_SESSION		0x04	/* an iq with a legacy <session/> */
#define SG_MARK_H		0x08	/* sm_h holds a valid h='...' */

/* A span [start, end) of a direction's bytes. */
struct sg_tracker_span {
	uint64_t start;
	uint64_t end;
};

/*
 * One event.  Offsets count every byte ever fed to this tracker, across
 * stream restarts; [start, end) is the event's span.  Strings are valid only
 * during the callback; an absent attribute is NULL.  Until an error or the
 * switch to opaque bytes, the events tile the stream: each starts where
 * the previous one ended (a restarted stream's header where <success/>
 * ended).  A keepalive's span may hold a character reference (&#32;).
 * <stream:stream/> gives a header and an empty close span at its end.
 * Bytes after the close tag are never reported.
 */
struct sg_tracker_event {
	enum sg_tracker_event_type type;
	uint64_t start;
	uint64_t end;

	/*
	 * SG_EV_HEADER: the stream element's prefix ("" if none), and the
	 * default namespace declared on it ("" if none; also given with
	 * every SG_EV_STANZA).
	 */
	const char *prefix;
	const char *default_ns;
	const char *version;

	/* SG_EV_STANZA */
	enum sg_stanza_kind kind;
	const char *name;	/* local name */
	const char *ns;		/* namespace URI, "" if none */
	const char *condition;	/* SG_STANZA_STREAM_ERROR: local name of
				   its first child in the xmpp-streams
				   namespace but <text/>; or NULL */
	int sm_resume;		/* SG_STANZA_SM_ENABLED: resume='true'|'1' */
	unsigned marks;		/* SG_MARK_* */
	uint32_t sm_h;		/* SG_STANZA_SM_ACK with SG_MARK_H */

	/*
	 * SG_EV_STANZA, a <stream:features> only: the spans of its
	 * <starttls/> children (urn:ietf:params:xml:ns:xmpp-tls), each with
	 * its own children, in order; for a proxy that terminates TLS and
	 * must not offer it again.  Valid during the callback only.
	 */
	const struct sg_tracker_span *starttls;
	size_t nstarttls;

	/*
	 * SG_EV_HEADER and SG_EV_STANZA: attributes.  The type attribute is
	 * stanza_type because type above already names the event's type.
	 */
	const char *id;
	const char *stanza_type;
	const char *from;
	const char *to;

	/*
	 * SG_EV_STANZA: name, ns, id, stanza_type, from and to, those that
	 * are not NULL, in this order, each with its NUL, as one block of
	 * packed_len bytes (a copy of them is one memcpy).
	 */
	const char *packed;
	size_t packed_len;
};

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
