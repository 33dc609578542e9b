#ifndef SG_TRACKDEFS_H
#define SG_TRACKDEFS_H

/*
 * What the stream tracker reports, and is bounded by: its limits and
 * their defaults, its results, and its events with the kinds of stanza.
 * Apart from tracker.h (which includes this) so that the tracker's
 * helpers, classify and xmlrules, can fill and judge them without
 * including the tracker they serve: the dependency points one way.
 */

#include <stddef.h>
#include <stdint.h>

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

#endif /* !SG_TRACKDEFS_H */
