#ifndef SG_COMPOSE_H
#define SG_COMPOSE_H

/*
 * The only XML stanzaguard writes of its own (spec invariant 1): a close
 * tag, a stream header and a stream error when it must refuse or stop a
 * session, and the error stanza that bounces an undeliverable stanza back
 * to its sender (RFC 6120 section 8.3).  Every function appends to a byte
 * queue and returns 0, or -1 on allocation failure.
 */

#include <stdint.h>

#include "bq.h"
#include "tracker.h"

/* The parts of a stanza that a bounce and a log line need. */
struct sg_stanza_info {
	enum sg_stanza_kind kind;
	const char *name;
	const char *ns;
	const char *id;		/* the rest: NULL if absent */
	const char *type;
	const char *from;
	const char *to;
	/*
	 * Optional (NULL if not given): the strings above that are not NULL,
	 * name to to, in this order, each with its NUL, as one block of
	 * packed_len bytes, so that they can be copied in one go.
	 */
	const char *packed;
	size_t packed_len;
};

/*
 * sg_compose_header(q, default_ns, from, id):
 * A stream header (with XML declaration) of prefix "stream", version 1.0,
 * for a stream whose stanzas are in default_ns; from may be NULL.
 */
int sg_compose_header(struct sg_bq *q, const char *default_ns,
    const char *from, const char *id);

/*
 * sg_compose_stream_error(q, prefix, condition):
 * <prefix:error><condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
 * </prefix:error>, with no prefix if prefix is "".
 */
int sg_compose_stream_error(struct sg_bq *q, const char *prefix,
    const char *condition);

/*
 * sg_compose_stream_error_text(q, prefix, condition, text):
 * As sg_compose_stream_error(), with <text xml:lang='en'>text</text>
 * (escaped) after the condition.
 */
int sg_compose_stream_error_text(struct sg_bq *q, const char *prefix,
    const char *condition, const char *text);

/*
 * sg_compose_starttls_features(q):
 * <stream:features> offering only <starttls/>, <required/>: what a
 * listener in starttls mode says after its stream header.
 */
int sg_compose_starttls_features(struct sg_bq *q);

/*
 * sg_compose_proceed(q):
 * <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>.
 */
int sg_compose_proceed(struct sg_bq *q);

/*
 * sg_compose_close(q, prefix):
 * The close tag </prefix:stream>, or </stream> if prefix is "".
 */
int sg_compose_close(struct sg_bq *q, const char *prefix);

/*
 * sg_bounce_wanted(st):
 * Non-zero if st is a stanza that rule 5 bounces: a message that is not of
 * type error, groupchat or headline, or an iq of type get or set.
 */
int sg_bounce_wanted(const struct sg_stanza_info *st);

/*
 * sg_compose_bounce(q, st, stream_ns):
 * The error reply to st, from and to swapped, same id, with
 * <recipient-unavailable/> (wait) for a message and <service-unavailable/>
 * (cancel) for an iq.  stream_ns is the default namespace of the stream the
 * reply travels in: st's namespace is declared only if it differs.
 */
int sg_compose_bounce(struct sg_bq *q, const struct sg_stanza_info *st,
    const char *stream_ns);

/*
 * Stream management on C's behalf (XEP-0198, urn:xmpp:sm:3): towards S,
 * sg_compose_sm_enable(q) <enable/> (never resume),
 * sg_compose_sm_request(q) <r/> and sg_compose_sm_ack(q, h) <a h='h'/>;
 * towards C, sg_compose_sm_failed(q) <failed/> with
 * <unexpected-request/>, the answer to an <enable/> it may not make.
 */
int sg_compose_sm_enable(struct sg_bq *q);
int sg_compose_sm_request(struct sg_bq *q);
int sg_compose_sm_ack(struct sg_bq *q, uint32_t h);
int sg_compose_sm_failed(struct sg_bq *q);

#endif /* !SG_COMPOSE_H */
