/*
 * The XML stanzaguard writes of its own (compose.h), appended to a byte
 * queue.  Owns nothing; calls bq, and reads the tracker's event types.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "compose.h"
#include "xmppns.h"


static int
put(struct sg_bq *q, const char *s)
{

	return (sg_bq_append(q, s, strlen(s)));
}

/* Attribute values come from expat unescaped: escape them again. */
static int
put_escaped(struct sg_bq *q, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *ent;

		switch (*s) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '\'': ent = "&apos;"; break;
		case '"': ent = "&quot;"; break;
		default: continue;
		}
		if (sg_bq_append(q, run, (size_t)(s - run)) || put(q, ent))
			return (-1);
		run = s + 1;
	}
	return (sg_bq_append(q, run, (size_t)(s - run)));
}

static int
put_attr(struct sg_bq *q, const char *name, const char *val)
{

	if (val == NULL)
		return (0);
	if (put(q, " ") || put(q, name) || put(q, "='") ||
	    put_escaped(q, val) || put(q, "'"))
		return (-1);
	return (0);
}

static int
put_prefixed(struct sg_bq *q, const char *open, const char *prefix,
    const char *local)
{

	if (put(q, open))
		return (-1);
	if (prefix[0] != '\0' && (put(q, prefix) || put(q, ":")))
		return (-1);
	return (put(q, local));
}

int
sg_compose_header(struct sg_bq *q, const char *default_ns,
    const char *from, const char *id)
{

	if (put(q, "<?xml version='1.0'?><stream:stream") ||
	    put_attr(q, "xmlns", default_ns) ||
	    put_attr(q, "xmlns:stream", SG_NS_STREAMS) ||
	    put_attr(q, "version", "1.0") ||
	    put_attr(q, "from", from) || put_attr(q, "id", id) ||
	    put(q, ">"))
		return (-1);
	return (0);
}

int
sg_compose_stream_error(struct sg_bq *q, const char *prefix,
    const char *condition)
{

	if (put_prefixed(q, "<", prefix, "error>") ||
	    put(q, "<") || put(q, condition) ||
	    put(q, " xmlns='" SG_NS_STREAM_ERRORS "'/>") ||
	    put_prefixed(q, "</", prefix, "error>"))
		return (-1);
	return (0);
}

int
sg_compose_stream_error_text(struct sg_bq *q, const char *prefix,
    const char *condition, const char *text)
{

	if (put_prefixed(q, "<", prefix, "error>") ||
	    put(q, "<") || put(q, condition) ||
	    put(q, " xmlns='" SG_NS_STREAM_ERRORS "'/><text xmlns='"
	    SG_NS_STREAM_ERRORS "' xml:lang='en'>") || put_escaped(q, text) ||
	    put(q, "</text>") || put_prefixed(q, "</", prefix, "error>"))
		return (-1);
	return (0);
}

int
sg_compose_starttls_features(struct sg_bq *q)
{

	return (put(q, "<stream:features><starttls xmlns='" SG_NS_TLS "'>"
	    "<required/></starttls></stream:features>"));
}

int
sg_compose_proceed(struct sg_bq *q)
{

	return (put(q, "<proceed xmlns='" SG_NS_TLS "'/>"));
}

int
sg_compose_close(struct sg_bq *q, const char *prefix)
{

	return (put_prefixed(q, "</", prefix, "stream>"));
}

static int
is_stanza_ns(const char *ns)
{

	return (strcmp(ns, "jabber:client") == 0 ||
	    strcmp(ns, "jabber:server") == 0 ||
	    strcmp(ns, "jabber:component:accept") == 0);
}

int
sg_bounce_wanted(const struct sg_stanza_info *st)
{
	const char *t = st->type;

	if (st->ns == NULL || !is_stanza_ns(st->ns))
		return (0);
	if (st->kind == SG_STANZA_MESSAGE)
		return (t == NULL || (strcmp(t, "error") != 0 &&
		    strcmp(t, "groupchat") != 0 &&
		    strcmp(t, "headline") != 0));
	if (st->kind == SG_STANZA_IQ)
		return (t != NULL &&
		    (strcmp(t, "get") == 0 || strcmp(t, "set") == 0));
	return (0);
}

int
sg_compose_bounce(struct sg_bq *q, const struct sg_stanza_info *st,
    const char *stream_ns)
{
	int msg = st->kind == SG_STANZA_MESSAGE;
	const char *name = msg ? "message" : "iq";

	if (put(q, "<") || put(q, name))
		return (-1);
	if (stream_ns == NULL || strcmp(st->ns, stream_ns) != 0)
		if (put_attr(q, "xmlns", st->ns))
			return (-1);
	if (put_attr(q, "from", st->to) || put_attr(q, "to", st->from) ||
	    put_attr(q, "id", st->id) || put_attr(q, "type", "error") ||
	    put(q, msg ? "><error type='wait'><recipient-unavailable" :
	    "><error type='cancel'><service-unavailable") ||
	    put(q, " xmlns='" SG_NS_STANZA_ERRORS "'/></error></") ||
	    put(q, name) || put(q, ">"))
		return (-1);
	return (0);
}

#define NS_SM_ATTR	" xmlns='" SG_NS_SM "'"

static int
put_literal(struct sg_bq *q, const char *s)
{

	return (sg_bq_append(q, s, strlen(s)));
}

int
sg_compose_sm_enable(struct sg_bq *q)
{

	return (put_literal(q, "<enable" NS_SM_ATTR "/>"));
}

int
sg_compose_sm_request(struct sg_bq *q)
{

	return (put_literal(q, "<r" NS_SM_ATTR "/>"));
}

int
sg_compose_sm_ack(struct sg_bq *q, uint32_t h)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "<a" NS_SM_ATTR " h='%" PRIu32 "'/>", h);
	return (put_literal(q, buf));
}

int
sg_compose_sm_failed(struct sg_bq *q)
{

	return (put_literal(q, "<failed" NS_SM_ATTR "><unexpected-request"
	    " xmlns='" SG_NS_STANZA_ERRORS "'/></failed>"));
}
