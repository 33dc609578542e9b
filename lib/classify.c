/*
 * What the stream header and each stanza are (see classify.h): owns the
 * copy of the current stanza's strings; calls strbuf and xmlparser's name
 * helpers only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "strbuf.h"
#include "trackdefs.h"
#include "xmlparser.h"
#include "xmppns.h"

#define NONE		SIZE_MAX


/*
 * The current stanza's strings, kept by offset into sb, in this order:
 * the fields before F_COND are the event's packed block.
 */
enum field { F_NAME, F_NS, F_ID, F_TYPE, F_FROM, F_TO, F_COND, F_COUNT };

struct sg_classify {
	struct sg_strbuf sb;
	size_t off[F_COUNT];	/* or NONE */
	size_t packed_len;
	enum sg_stanza_kind kind;
	int sm_resume;
	unsigned marks;		/* SG_MARK_* */
	uint32_t sm_h;
	int features;		/* <stream:features> */
	struct sg_tracker_span *tls;	/* its <starttls/> children */
	size_t ntls, tls_cap;
};

static int
eq(const char *s, size_t len, const char *lit)
{

	return (strlen(lit) == len && memcmp(s, lit, len) == 0);
}

static const char *
attr(const char **atts, const char *name)
{

	for (; *atts != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0)
			return (atts[1]);
	return (NULL);
}

struct sg_classify *
sg_classify_new(void)
{

	return (calloc(1, sizeof(struct sg_classify)));
}

void
sg_classify_free(struct sg_classify *c)
{

	if (c == NULL)
		return;
	sg_strbuf_free(&c->sb);
	free(c->tls);
	free(c);
}

/* The root element: no split of the name for one that is not a stream. */
static int
is_stream(const char *name)
{

	return (sg_xmlparser_is(name, SG_NS_STREAMS, "stream"));
}

int
sg_classify_header(const char *name, const char **atts,
    struct sg_tracker_event *ev)
{
	struct sg_xmlparser_qname q;

	if (!is_stream(name))
		return (-1);
	sg_xmlparser_qname(name, &q);
	ev->prefix = q.prefix;
	ev->version = attr(atts, "version");
	ev->id = attr(atts, "id");
	ev->stanza_type = attr(atts, "type");
	ev->from = attr(atts, "from");
	ev->to = attr(atts, "to");
	return (0);
}

/* The other children of the stream element that the close engine needs. */
static const struct {
	const char *uri;
	const char *local;
	enum sg_stanza_kind kind;
} kinds[] = {
	{ SG_NS_STREAMS, "error", SG_STANZA_STREAM_ERROR },
	{ SG_NS_SASL, "success", SG_STANZA_SASL_SUCCESS },
	{ SG_NS_TLS, "proceed", SG_STANZA_TLS_PROCEED },
	{ SG_NS_COMPRESS, "compressed", SG_STANZA_COMPRESSED },
	{ SG_NS_SM, "enabled", SG_STANZA_SM_ENABLED },
	/* A resumed session is one that can be resumed again. */
	{ SG_NS_SM, "resumed", SG_STANZA_SM_ENABLED },
	{ SG_NS_SM, "enable", SG_STANZA_SM_ENABLE },
	{ SG_NS_SM, "resume", SG_STANZA_SM_ENABLE },
	{ SG_NS_SM2, "enable", SG_STANZA_SM_ENABLE },
	{ SG_NS_SM2, "resume", SG_STANZA_SM_ENABLE },
	{ SG_NS_SM, "failed", SG_STANZA_SM_FAILED },
	{ SG_NS_SM, "r", SG_STANZA_SM_REQUEST },
	{ SG_NS_SM, "a", SG_STANZA_SM_ACK }
};

static enum sg_stanza_kind
kind_of(const struct sg_xmlparser_qname *q)
{
	size_t i;

	/* Most children are stanzas: they come first. */
	if (eq(q->uri, q->urilen, "jabber:client") ||
	    eq(q->uri, q->urilen, "jabber:server") ||
	    eq(q->uri, q->urilen, "jabber:component:accept")) {
		if (eq(q->local, q->locallen, "message"))
			return (SG_STANZA_MESSAGE);
		if (eq(q->local, q->locallen, "presence"))
			return (SG_STANZA_PRESENCE);
		if (eq(q->local, q->locallen, "iq"))
			return (SG_STANZA_IQ);
		return (SG_STANZA_OTHER);
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (eq(q->uri, q->urilen, kinds[i].uri) &&
		    eq(q->local, q->locallen, kinds[i].local))
			return (kinds[i].kind);
	return (SG_STANZA_OTHER);
}

/* XEP-0198's resume='true' or '1' on <enabled/>. */
static int
resumable(const char **atts)
{
	const char *r = attr(atts, "resume");

	return (r != NULL && (strcmp(r, "true") == 0 || strcmp(r, "1") == 0));
}

/* h='N' of an <a/>: a decimal below 2^32, nothing else. */
static int
parse_h(const char **atts, uint32_t *h)
{
	const char *v = attr(atts, "h");
	uint64_t n = 0;

	if (v == NULL || *v == '\0')
		return (0);
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || (n = n * 10 + (uint64_t)(*v - '0')) >
		    UINT32_MAX)
			return (0);
	}
	*h = (uint32_t)n;
	return (1);
}

/* The attribute kept in field f, or -1: called for every attribute. */
static int
attr_field(const char *n)
{

	switch (n[0]) {
	case 'i':
		return (strcmp(n, "id") == 0 ? F_ID : -1);
	case 't':
		if (strcmp(n, "to") == 0)
			return (F_TO);
		return (strcmp(n, "type") == 0 ? F_TYPE : -1);
	case 'f':
		return (strcmp(n, "from") == 0 ? F_FROM : -1);
	default:
		return (-1);
	}
}

static int
keep(struct sg_classify *c, enum field f, const char *s, size_t len)
{

	return (sg_strbuf_put(&c->sb, s, len, &c->off[f]));
}

/*
 * The event's packed block: the fields before F_COND that are present,
 * each with its NUL, in field order.  Room for all is made at once: this
 * runs for every stanza.
 */
static int
pack(struct sg_classify *c, const char *const val[F_COND],
    const size_t len[F_COND])
{
	size_t need = 0;
	int f;

	for (f = 0; f < F_COND; f++)
		if (val[f] != NULL)
			need += len[f] + 1;
	if (sg_strbuf_reserve(&c->sb, need) != 0)
		return (-1);
	for (f = 0; f < F_COND; f++) {
		if (val[f] == NULL)
			continue;
		c->off[f] = c->sb.len;
		memcpy(c->sb.b + c->sb.len, val[f], len[f]);
		c->sb.b[c->sb.len + len[f]] = '\0';
		c->sb.len += len[f] + 1;
	}
	c->packed_len = c->sb.len;
	return (0);
}

int
sg_classify_stanza(struct sg_classify *c, const char *name,
    const char **atts)
{
	struct sg_xmlparser_qname q;
	const char *val[F_COND] = { NULL };
	size_t len[F_COND];
	const char **a;
	int f;
	size_t i;

	sg_xmlparser_qname(name, &q);
	/*
	 * A second header without a declaration parses as a child: a
	 * server that takes it for a restart would see another stream.
	 */
	if (eq(q.uri, q.urilen, SG_NS_STREAMS) &&
	    eq(q.local, q.locallen, "stream"))
		return (1);
	c->sb.len = 0;
	for (i = 0; i < F_COUNT; i++)
		c->off[i] = NONE;
	val[F_NAME] = q.local;
	len[F_NAME] = q.locallen;
	val[F_NS] = q.uri;
	len[F_NS] = q.urilen;
	/* In field order, whatever the attributes' order: see enum field. */
	for (a = atts; *a != NULL; a += 2)
		if ((f = attr_field(a[0])) != -1)
			val[f] = a[1];
	for (f = F_ID; f < F_COND; f++)
		if (val[f] != NULL)
			len[f] = strlen(val[f]);
	if (pack(c, val, len) != 0)
		return (-1);
	c->kind = kind_of(&q);
	c->features = eq(q.uri, q.urilen, SG_NS_STREAMS) &&
	    eq(q.local, q.locallen, "features");
	c->ntls = 0;
	c->sm_resume = c->kind == SG_STANZA_SM_ENABLED &&
	    (eq(q.local, q.locallen, "resumed") || resumable(atts));
	c->marks = 0;
	if (c->kind == SG_STANZA_SM_ACK && parse_h(atts, &c->sm_h))
		c->marks = SG_MARK_H;
	return (0);
}

/* An iq's <bind/> or <session/>, for stream management's decision. */
static void
mark_iq_child(struct sg_classify *c, const struct sg_xmlparser_qname *q)
{

	if (eq(q->uri, q->urilen, SG_NS_BIND) && eq(q->local, q->locallen, "bind"))
		c->marks |= SG_MARK_BIND;
	else if (eq(q->uri, q->urilen, SG_NS_SESSION) &&
	    eq(q->local, q->locallen, "session"))
		c->marks |= SG_MARK_SESSION;
}

/* The condition is the first child in its namespace other than <text>. */
int
sg_classify_child(struct sg_classify *c, const char *name)
{
	struct sg_xmlparser_qname q;

	if (c->features) {
		sg_xmlparser_qname(name, &q);
		if (eq(q.uri, q.urilen, SG_NS_SM) && eq(q.local, q.locallen, "sm"))
			c->marks |= SG_MARK_SM_OFFER;
		return (eq(q.uri, q.urilen, SG_NS_TLS) &&
		    eq(q.local, q.locallen, "starttls"));
	}
	if (c->kind == SG_STANZA_IQ) {
		sg_xmlparser_qname(name, &q);
		mark_iq_child(c, &q);
		return (0);
	}
	if (c->kind != SG_STANZA_STREAM_ERROR || c->off[F_COND] != NONE)
		return (0);
	sg_xmlparser_qname(name, &q);
	if (eq(q.uri, q.urilen, SG_NS_STREAM_ERRORS) && !eq(q.local, q.locallen, "text"))
		return (keep(c, F_COND, q.local, q.locallen));
	return (0);
}

int
sg_classify_starttls(struct sg_classify *c, uint64_t start, uint64_t end)
{
	struct sg_tracker_span *n;

	if (c->ntls == c->tls_cap) {
		size_t cap = c->tls_cap ? c->tls_cap * 2 : 2;

		if ((n = realloc(c->tls, cap * sizeof(*n))) == NULL)
			return (-1);
		c->tls = n;
		c->tls_cap = cap;
	}
	c->tls[c->ntls++] = (struct sg_tracker_span){ start, end };
	return (0);
}

static const char *
field(const struct sg_classify *c, enum field f)
{

	return (c->off[f] == NONE ? NULL : c->sb.b + c->off[f]);
}

void
sg_classify_fill(const struct sg_classify *c, struct sg_tracker_event *ev)
{

	ev->kind = c->kind;
	ev->name = field(c, F_NAME);
	ev->ns = field(c, F_NS);
	ev->condition = field(c, F_COND);
	ev->sm_resume = c->sm_resume;
	ev->marks = c->marks;
	ev->sm_h = c->sm_h;
	ev->starttls = c->ntls > 0 ? c->tls : NULL;
	ev->nstarttls = c->ntls;
	ev->id = field(c, F_ID);
	ev->stanza_type = field(c, F_TYPE);
	ev->from = field(c, F_FROM);
	ev->to = field(c, F_TO);
	ev->packed = c->sb.b;
	ev->packed_len = c->packed_len;
}
