/*
 * The stream tracker: expat with namespace triplets and a few handlers.
 * An absolute offset is XML_GetCurrentByteIndex() plus a delta fixed each
 * time a parser is (re)built.  Three things are done outside expat, each
 * in few places: the size limit (expat is never given more than one
 * stanza's worth of bytes past the last event), the bytes after the close
 * tag or a switch to opaque bytes, and a CR that expat holds back.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "tracker.h"

/* 0xff never occurs in UTF-8, so never in a name or a namespace URI. */
#define SEP		'\xff'
#define NONE		SIZE_MAX

#define NS_STREAMS	"http://etherx.jabber.org/streams"
#define NS_ERRORS	"urn:ietf:params:xml:ns:xmpp-streams"
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_COMPRESS	"http://jabber.org/protocol/compress"
#define NS_SM		"urn:xmpp:sm:3"

enum mode {
	M_XML,
	M_CLOSED,	/* after the close tag: only whitespace may follow */
	M_OPAQUE	/* TLS or compression: bytes are only counted */
};

/* Where the byte after an event takes the tracker. */
enum turn {
	T_NONE,
	T_RESTART,
	T_OPAQUE,
	T_CLOSED
};

/* Strings are kept by offset: the buffer moves when it grows. */
struct strbuf {
	char *b;
	size_t len;
	size_t cap;
};

/* The current stanza's strings, which must outlive its start tag. */
enum field { F_NAME, F_NS, F_ID, F_TYPE, F_FROM, F_TO, F_COND, F_COUNT };

struct sg_tracker {
	struct sg_tracker_limits lim;
	sg_tracker_cb *cb;
	void *ctx;
	XML_Parser p;		/* NULL until needed, and once released */
	enum mode mode;
	enum sg_tracker_result err;
	enum turn turn;		/* set by a handler, taken after XML_Parse */
	enum turn req;		/* asked for from inside our own callback */
	uint64_t fed;		/* bytes taken so far */
	uint64_t delta;		/* absolute offset of the parser's byte 0 */
	uint64_t doc_start;
	uint64_t mark;		/* end of the last event at depth <= 1 */
	uint64_t turn_at;
	uint64_t ka_start;	/* keepalive not reported yet, if not empty */
	uint64_t ka_end;
	uint64_t ws_done;	/* whitespace reported up to here, early */
	uint64_t st_start;	/* the current stanza */
	uint64_t st_tag_end;
	unsigned depth;		/* the stream element is 1 */
	unsigned nsdecls;	/* declared on the element being started */
	unsigned char need_doc;	/* a new document starts at fed */
	unsigned char halt;	/* handlers ignore all: error or turn */
	unsigned char in_parse;
	unsigned char in_cb;
	unsigned char replay;	/* feeding a synthesized header */
	unsigned char sm_resume;
	enum sg_stanza_kind kind;
	struct strbuf hdr;	/* the stream's ns declarations, its prefix */
	size_t decl_end;
	size_t prefix_off;
	size_t dns_off;		/* its default namespace, or NONE */
	struct strbuf st;	/* the current stanza's fields */
	size_t off[F_COUNT];
};

/* A name from expat: "uri SEP local [SEP prefix]", or "local". */
struct qname {
	const char *uri;
	const char *local;
	const char *prefix;
	size_t urilen;
	size_t locallen;
	size_t prefixlen;
};

static const struct {
	const char *text;
	const char *condition;
} results[] = {
	{ "ok", NULL },
	{ "not well-formed XML", "not-well-formed" },
	{ "XML that XMPP forbids", "restricted-xml" },
	{ "root element is not a stream", "invalid-namespace" },
	{ "data after the close tag", "not-well-formed" },
	{ "stanza too large", "policy-violation" },
	{ "elements nested too deep", "policy-violation" },
	{ "too many attributes", "policy-violation" },
	{ "name too long", "policy-violation" },
	{ "attribute value too long", "policy-violation" },
	{ "out of memory", "resource-constraint" }
};

_Static_assert(sizeof(results) / sizeof(results[0]) == SG_TRACK_RESULT_COUNT,
    "one line per result");

static int
is_ws(char c)
{

	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static int
eq(const char *s, size_t len, const char *lit)
{

	return (strlen(lit) == len && memcmp(s, lit, len) == 0);
}

static void
qname_split(const char *s, struct qname *q)
{
	const char *a, *b;

	q->prefix = "";
	q->prefixlen = 0;
	if ((a = strchr(s, SEP)) == NULL) {
		q->uri = "";
		q->urilen = 0;
		q->local = s;
		q->locallen = strlen(s);
		return;
	}
	q->uri = s;
	q->urilen = (size_t)(a - s);
	q->local = a + 1;
	if ((b = strchr(a + 1, SEP)) == NULL) {
		q->locallen = strlen(a + 1);
		return;
	}
	q->locallen = (size_t)(b - q->local);
	q->prefix = b + 1;
	q->prefixlen = strlen(b + 1);
}

static int
sb_room(struct strbuf *sb, size_t len)
{
	size_t cap;
	char *nb;

	if (sb->cap - sb->len >= len)
		return (0);
	cap = sb->cap < 128 ? 128 : sb->cap;
	while (cap - sb->len < len)
		cap *= 2;
	if ((nb = realloc(sb->b, cap)) == NULL)
		return (-1);
	sb->b = nb;
	sb->cap = cap;
	return (0);
}

static int
sb_cat(struct strbuf *sb, const char *s, size_t len)
{

	if (len == 0)
		return (0);
	if (sb_room(sb, len) != 0)
		return (-1);
	memcpy(sb->b + sb->len, s, len);
	sb->len += len;
	return (0);
}

/* Append s as a C string; *off is where it starts. */
static int
sb_put(struct strbuf *sb, const char *s, size_t len, size_t *off)
{

	if (sb_room(sb, len + 1) != 0)
		return (-1);
	*off = sb->len;
	memcpy(sb->b + sb->len, s, len);
	sb->b[sb->len + len] = '\0';
	sb->len += len + 1;
	return (0);
}

static void
sb_free(struct strbuf *sb)
{

	free(sb->b);
	sb->b = NULL;
	sb->len = sb->cap = 0;
}

static uint64_t
pos(const struct sg_tracker *t)
{

	/* Unsigned wrap-around is fine: delta may be "negative". */
	return ((uint64_t)XML_GetCurrentByteIndex(t->p) + t->delta);
}

static void
emit(struct sg_tracker *t, const struct sg_tracker_event *ev)
{

	t->in_cb = 1;
	t->cb(t->ctx, ev);
	t->in_cb = 0;
	t->mark = ev->end;
}

static void
flush_keepalive(struct sg_tracker *t)
{
	struct sg_tracker_event ev;

	if (t->ka_start == t->ka_end)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = SG_EV_KEEPALIVE;
	ev.start = t->ka_start;
	ev.end = t->ka_end;
	t->ka_start = t->ka_end;
	emit(t, &ev);
}

/* Runs of whitespace are merged: one callback per run and feed. */
static void
keepalive(struct sg_tracker *t, uint64_t start, uint64_t end)
{

	if (t->ka_end != start)
		flush_keepalive(t);
	if (t->ka_start == t->ka_end)
		t->ka_start = start;
	t->ka_end = t->mark = end;
}

static void
report(struct sg_tracker *t, const struct sg_tracker_event *ev)
{

	flush_keepalive(t);
	emit(t, ev);
}

/* Whitespace before the error is reported, as a split feed would have. */
static int
fail(struct sg_tracker *t, enum sg_tracker_result r)
{

	flush_keepalive(t);
	t->err = r;
	t->halt = 1;
	if (t->in_parse)
		(void)XML_StopParser(t->p, XML_FALSE);
	return (-1);
}

static void
stop_at(struct sg_tracker *t, enum turn turn, uint64_t at)
{

	t->turn = turn;
	t->turn_at = at;
	t->halt = 1;
	(void)XML_StopParser(t->p, XML_FALSE);
}

static void
drop_parser(struct sg_tracker *t)
{

	if (t->p != NULL)
		XML_ParserFree(t->p);
	t->p = NULL;
	sb_free(&t->st);
}

/* Move to mode/document state turn, at byte t->fed. */
static void
take_turn(struct sg_tracker *t, enum turn turn)
{

	t->turn = T_NONE;
	t->halt = 0;
	switch (turn) {
	case T_RESTART:
		t->mode = M_XML;
		t->need_doc = 1;
		t->depth = 0;
		t->doc_start = t->mark = t->fed;
		t->hdr.len = t->decl_end = 0;
		t->dns_off = NONE;
		break;
	case T_CLOSED:
	case T_OPAQUE:
		t->mode = turn == T_CLOSED ? M_CLOSED : M_OPAQUE;
		drop_parser(t);
		sb_free(&t->hdr);
		break;
	case T_NONE:
		break;
	}
}

static void
apply_request(struct sg_tracker *t)
{
	enum turn req = t->req;

	t->req = T_NONE;
	if (t->err != SG_TRACK_OK || t->mode == M_OPAQUE)
		return;
	take_turn(t, req);
}

/* From our own callback, wait for the next feed: expat is mid-buffer. */
static void
request(struct sg_tracker *t, enum turn turn)
{

	t->req = turn;
	if (!t->in_cb && !t->in_parse)
		apply_request(t);
}

static const char *
default_ns(const struct sg_tracker *t)
{

	return (t->dns_off == NONE ? "" : t->hdr.b + t->dns_off);
}

static const char *
attr(const char **atts, const char *name)
{

	for (; *atts != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0)
			return (atts[1]);
	return (NULL);
}

/* Whether the qualified name (prefix:local) is longer than max. */
static int
name_over(const char *name, size_t max)
{
	struct qname q;

	qname_split(name, &q);
	return (q.locallen + q.prefixlen + (q.prefixlen > 0) > max);
}

static int
names_over(const char *name, const char **atts, size_t max)
{

	for (; *atts != NULL; atts += 2)
		if (name_over(atts[0], max))
			return (1);
	return (name_over(name, max));
}

static int
values_over(const char **atts, size_t max)
{

	for (; *atts != NULL; atts += 2)
		if (strlen(atts[1]) > max)
			return (1);
	return (0);
}

static int
check_element(struct sg_tracker *t, const char *name, const char **atts)
{
	size_t tag = (size_t)XML_GetCurrentByteCount(t->p);
	unsigned n;

	n = (unsigned)XML_GetSpecifiedAttributeCount(t->p) / 2 + t->nsdecls;
	t->nsdecls = 0;
	if (t->depth > t->lim.max_depth)
		return (fail(t, SG_TRACK_TOO_DEEP));
	if (n > t->lim.max_attrs)
		return (fail(t, SG_TRACK_TOO_MANY_ATTRS));
	/* No name or value is longer than its tag: most need no look. */
	if (tag > t->lim.max_name && names_over(name, atts, t->lim.max_name))
		return (fail(t, SG_TRACK_NAME_TOO_LONG));
	if (tag > t->lim.max_value && values_over(atts, t->lim.max_value))
		return (fail(t, SG_TRACK_VALUE_TOO_LONG));
	return (0);
}

static void
root_start(struct sg_tracker *t, const char *name, const char **atts)
{
	struct sg_tracker_event ev;
	struct qname q;

	qname_split(name, &q);
	if (!eq(q.uri, q.urilen, NS_STREAMS) ||
	    !eq(q.local, q.locallen, "stream")) {
		(void)fail(t, SG_TRACK_INVALID_NAMESPACE);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = SG_EV_HEADER;
	ev.start = t->doc_start;
	ev.end = pos(t) + (uint64_t)XML_GetCurrentByteCount(t->p);
	if (ev.end - t->mark > t->lim.max_stanza) {
		(void)fail(t, SG_TRACK_STANZA_TOO_LARGE);
		return;
	}
	if (sb_put(&t->hdr, q.prefix, q.prefixlen, &t->prefix_off) != 0) {
		(void)fail(t, SG_TRACK_NOMEM);
		return;
	}
	ev.prefix = t->hdr.b + t->prefix_off;
	ev.default_ns = default_ns(t);
	ev.version = attr(atts, "version");
	ev.id = attr(atts, "id");
	ev.stanza_type = attr(atts, "type");
	ev.from = attr(atts, "from");
	ev.to = attr(atts, "to");
	report(t, &ev);
}

static int
keep(struct sg_tracker *t, enum field f, const char *s, size_t len)
{

	if (sb_put(&t->st, s, len, &t->off[f]) != 0)
		return (fail(t, SG_TRACK_NOMEM));
	return (0);
}

static enum sg_stanza_kind
classify(const struct qname *q, const char **atts, unsigned char *resume)
{
	const char *r;

	if (eq(q->uri, q->urilen, "jabber:client") ||
	    eq(q->uri, q->urilen, "jabber:server") ||
	    eq(q->uri, q->urilen, "jabber:component:accept")) {
		if (eq(q->local, q->locallen, "message"))
			return (SG_STANZA_MESSAGE);
		if (eq(q->local, q->locallen, "presence"))
			return (SG_STANZA_PRESENCE);
		if (eq(q->local, q->locallen, "iq"))
			return (SG_STANZA_IQ);
	} else if (eq(q->uri, q->urilen, NS_STREAMS)) {
		if (eq(q->local, q->locallen, "error"))
			return (SG_STANZA_STREAM_ERROR);
	} else if (eq(q->uri, q->urilen, NS_SASL)) {
		if (eq(q->local, q->locallen, "success"))
			return (SG_STANZA_SASL_SUCCESS);
	} else if (eq(q->uri, q->urilen, NS_TLS)) {
		if (eq(q->local, q->locallen, "proceed"))
			return (SG_STANZA_TLS_PROCEED);
	} else if (eq(q->uri, q->urilen, NS_COMPRESS)) {
		if (eq(q->local, q->locallen, "compressed"))
			return (SG_STANZA_COMPRESSED);
	} else if (eq(q->uri, q->urilen, NS_SM) &&
	    eq(q->local, q->locallen, "enabled")) {
		r = attr(atts, "resume");
		*resume = r != NULL &&
		    (strcmp(r, "true") == 0 || strcmp(r, "1") == 0);
		return (SG_STANZA_SM_ENABLED);
	}
	return (SG_STANZA_OTHER);
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

static void
stanza_start(struct sg_tracker *t, const char *name, const char **atts)
{
	struct qname q;
	const char **a;
	int f;
	size_t i;

	t->st_start = pos(t);
	t->st_tag_end = t->st_start + (uint64_t)XML_GetCurrentByteCount(t->p);
	qname_split(name, &q);
	t->st.len = 0;
	for (i = 0; i < F_COUNT; i++)
		t->off[i] = NONE;
	if (keep(t, F_NAME, q.local, q.locallen) != 0 ||
	    keep(t, F_NS, q.uri, q.urilen) != 0)
		return;
	for (a = atts; *a != NULL; a += 2)
		if ((f = attr_field(a[0])) != -1 &&
		    keep(t, f, a[1], strlen(a[1])) != 0)
			return;
	t->sm_resume = 0;
	t->kind = classify(&q, atts, &t->sm_resume);
	/* Text inside stanzas is none of our business: spare the calls. */
	XML_SetCharacterDataHandler(t->p, NULL);
}

/* The condition is the first child in its namespace other than <text>. */
static void
error_condition(struct sg_tracker *t, const char *name)
{
	struct qname q;

	qname_split(name, &q);
	if (eq(q.uri, q.urilen, NS_ERRORS) && !eq(q.local, q.locallen, "text"))
		(void)keep(t, F_COND, q.local, q.locallen);
}

static const char *
field(const struct sg_tracker *t, enum field f)
{

	return (t->off[f] == NONE ? NULL : t->st.b + t->off[f]);
}

static void XMLCALL on_text(void *, const XML_Char *, int);

static void
stanza_end(struct sg_tracker *t)
{
	struct sg_tracker_event ev;
	int count = XML_GetCurrentByteCount(t->p);

	memset(&ev, 0, sizeof(ev));
	ev.type = SG_EV_STANZA;
	ev.start = t->st_start;
	/* An empty element's end event has no bytes of its own. */
	ev.end = count == 0 ? t->st_tag_end : pos(t) + (uint64_t)count;
	if (ev.end - t->mark > t->lim.max_stanza) {
		(void)fail(t, SG_TRACK_STANZA_TOO_LARGE);
		return;
	}
	ev.default_ns = default_ns(t);
	ev.kind = t->kind;
	ev.name = field(t, F_NAME);
	ev.ns = field(t, F_NS);
	ev.condition = field(t, F_COND);
	ev.sm_resume = t->sm_resume;
	ev.id = field(t, F_ID);
	ev.stanza_type = field(t, F_TYPE);
	ev.from = field(t, F_FROM);
	ev.to = field(t, F_TO);
	report(t, &ev);
	XML_SetCharacterDataHandler(t->p, on_text);
	if (t->kind == SG_STANZA_SASL_SUCCESS)
		stop_at(t, T_RESTART, ev.end);
	else if (t->kind == SG_STANZA_TLS_PROCEED ||
	    t->kind == SG_STANZA_COMPRESSED)
		stop_at(t, T_OPAQUE, ev.end);
}

static void
stream_end(struct sg_tracker *t)
{
	struct sg_tracker_event ev;
	int count = XML_GetCurrentByteCount(t->p);

	memset(&ev, 0, sizeof(ev));
	ev.type = SG_EV_CLOSE;
	/* <stream:stream/>: the close is the empty span after the header. */
	ev.start = count == 0 ? t->mark : pos(t);
	ev.end = ev.start + (uint64_t)count;
	report(t, &ev);
	stop_at(t, T_CLOSED, ev.end);
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sg_tracker *t = ud;

	if (t->halt)
		return;
	t->depth++;
	if (t->replay || check_element(t, name, atts) != 0)
		return;
	if (t->depth == 2)
		stanza_start(t, name, atts);
	else if (t->depth == 1)
		root_start(t, name, atts);
	else if (t->depth == 3 && t->kind == SG_STANZA_STREAM_ERROR &&
	    t->off[F_COND] == NONE)
		error_condition(t, name);
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct sg_tracker *t = ud;

	(void)name;
	if (t->halt)
		return;
	if (t->depth == 2)
		stanza_end(t);
	else if (t->depth == 1)
		stream_end(t);
	t->depth--;
}

/* Only ever installed at depth 1: whitespace between stanzas. */
static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	struct sg_tracker *t = ud;
	uint64_t start, end;
	int i;

	if (t->halt || t->replay)
		return;
	start = pos(t);
	end = start + (uint64_t)XML_GetCurrentByteCount(t->p);
	for (i = 0; i < len && is_ws(s[i]); i++)
		;
	if (i < len) {
		/* Leading blanks: a data token maps 1:1 to its bytes. */
		if (i > 0)
			keepalive(t, start, start + (uint64_t)i);
		(void)fail(t, SG_TRACK_NOT_WELL_FORMED);
		return;
	}
	if (start < t->ws_done)
		start = t->ws_done;
	if (start < end)
		keepalive(t, start, end);
}

static void XMLCALL
on_nsdecl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
	struct sg_tracker *t = ud;
	size_t off, tag, namelen;

	if (t->halt || t->replay)
		return;
	t->nsdecls++;
	prefix = prefix == NULL ? "" : prefix;
	uri = uri == NULL ? "" : uri;
	tag = (size_t)XML_GetCurrentByteCount(t->p);
	/* The attribute's name is xmlns or xmlns:prefix. */
	namelen = *prefix == '\0' ? 5 : 6 + strlen(prefix);
	if (tag > t->lim.max_name && namelen > t->lim.max_name) {
		(void)fail(t, SG_TRACK_NAME_TOO_LONG);
		return;
	}
	if (tag > t->lim.max_value && strlen(uri) > t->lim.max_value) {
		(void)fail(t, SG_TRACK_VALUE_TOO_LONG);
		return;
	}
	if (t->depth != 0)
		return;
	/* The stream element's own: kept to rebuild the parser. */
	if (sb_put(&t->hdr, prefix, strlen(prefix), &off) != 0 ||
	    sb_put(&t->hdr, uri, strlen(uri), &off) != 0) {
		(void)fail(t, SG_TRACK_NOMEM);
		return;
	}
	t->decl_end = t->hdr.len;
	if (*prefix == '\0')
		t->dns_off = off;
}

static void
restricted(struct sg_tracker *t)
{

	if (!t->halt)
		(void)fail(t, SG_TRACK_RESTRICTED_XML);
}

static void XMLCALL
on_comment(void *ud, const XML_Char *data)
{

	(void)data;
	restricted(ud);
}

static void XMLCALL
on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{

	(void)target;
	(void)data;
	restricted(ud);
}

/*
 * Refused at its start: no entity can ever be declared, so none beyond the
 * five predefined can be referred to (expat: undefined entity) and none is
 * ever expanded.
 */
static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	restricted(ud);
}

/* A CDATA section between stanzas is text, never a keepalive. */
static void XMLCALL
on_cdata(void *ud)
{
	struct sg_tracker *t = ud;

	if (!t->halt && t->depth == 1)
		(void)fail(t, SG_TRACK_NOT_WELL_FORMED);
}

/*
 * Reparse deferral (expat 2.6) holds a partial token back until enough
 * new bytes arrive, so events would come late, by a chunking-dependent
 * amount.  Debian 12 backported it into 2.5.0 without changing the
 * version macros: below 2.6, reach the switch through a weak reference,
 * which is NULL in a genuine 2.5.
 */
#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
XML_Bool XML_SetReparseDeferralEnabled(XML_Parser, XML_Bool)
    __attribute__((weak));
#endif

static void
no_deferral(XML_Parser p)
{

#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
	if (XML_SetReparseDeferralEnabled == NULL)
		return;
#endif
	(void)XML_SetReparseDeferralEnabled(p, XML_FALSE);
}

static void
install(struct sg_tracker *t)
{
	XML_Parser p = t->p;

	XML_SetUserData(p, t);
	XML_SetReturnNSTriplet(p, XML_TRUE);
	(void)XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	no_deferral(p);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartNamespaceDeclHandler(p, on_nsdecl);
	XML_SetCommentHandler(p, on_comment);
	XML_SetProcessingInstructionHandler(p, on_pi);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetStartCdataSectionHandler(p, on_cdata);
}

/* Escaped for a '-quoted value; tabs and newlines would become spaces. */
static int
cat_escaped(struct strbuf *sb, const char *s)
{
	static const char special[] = "&<'\t\n\r";
	static const char *const esc[] = {
		"&amp;", "&lt;", "&apos;", "&#9;", "&#10;", "&#13;"
	};
	const char *e;
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		if ((e = strchr(special, *s)) == NULL)
			r = sb_cat(sb, s, 1);
		else
			r = sb_cat(sb, esc[e - special],
			    strlen(esc[e - special]));
	}
	return (r);
}

/* <P:stream xmlns:P='...' xmlns='...'>: the stream's namespace state. */
static int
synth_header(struct sg_tracker *t, struct strbuf *sb)
{
	const char *pfx = t->hdr.b + t->prefix_off, *d, *uri;
	int r;

	sb->len = 0;
	r = sb_cat(sb, "<", 1);
	if (*pfx != '\0')
		r |= sb_cat(sb, pfx, strlen(pfx)) | sb_cat(sb, ":", 1);
	r |= sb_cat(sb, "stream", 6);
	/* hdr holds "prefix NUL uri NUL" for each declaration. */
	for (d = t->hdr.b; d < t->hdr.b + t->decl_end;
	    d = uri + strlen(uri) + 1) {
		uri = d + strlen(d) + 1;
		r |= sb_cat(sb, " xmlns", 6);
		if (*d != '\0')
			r |= sb_cat(sb, ":", 1) | sb_cat(sb, d, strlen(d));
		r |= sb_cat(sb, "='", 2) | cat_escaped(sb, uri) |
		    sb_cat(sb, "'", 1);
	}
	return (r | sb_cat(sb, ">", 1));
}

/* After a release: bring a new parser to depth 1, events suppressed. */
static int
replay_header(struct sg_tracker *t)
{
	enum XML_Status s;

	if (synth_header(t, &t->st) != 0 || t->st.len > INT_MAX)
		return (-1);
	t->depth = 0;
	t->replay = 1;
	s = XML_Parse(t->p, t->st.b, (int)t->st.len, XML_FALSE);
	t->replay = 0;
	if (s != XML_STATUS_OK || t->depth != 1)
		return (-1);
	t->delta = t->fed - t->st.len;
	return (0);
}

static int
parser_start(struct sg_tracker *t)
{

	if (t->p == NULL) {
		if ((t->p = XML_ParserCreateNS("UTF-8", SEP)) == NULL)
			return (-1);
	} else if (XML_ParserReset(t->p, "UTF-8") == XML_FALSE)
		return (-1);
	install(t);
	if (!t->need_doc)
		return (replay_header(t));
	t->need_doc = 0;
	t->delta = t->fed;
	t->depth = 0;
	return (0);
}

static enum sg_tracker_result
map_error(enum XML_Error e)
{

	switch (e) {
	case XML_ERROR_NO_MEMORY:
		return (SG_TRACK_NOMEM);
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_PARAM_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
		return (SG_TRACK_RESTRICTED_XML);
	default:
		return (SG_TRACK_NOT_WELL_FORMED);
	}
}

/*
 * Never let expat hold more than max_stanza bytes past the last event: a
 * huge attribute value fails once the limit is crossed, and the result
 * does not depend on how the bytes were split.
 */
static size_t
window(const struct sg_tracker *t, size_t len)
{
	uint64_t room = t->lim.max_stanza - (t->fed - t->mark);

	if (room < len)
		len = (size_t)room + 1;
	return (len > INT_MAX ? INT_MAX : len);
}

/*
 * Even with UTF-8 forced, expat switches to UTF-16 on a NUL or a byte
 * order mark in a document's first two bytes, and whether it does depends
 * on how those two bytes were split.  None of them is valid there.
 */
static int
bad_doc_start(const struct sg_tracker *t, const char *buf, size_t len)
{
	uint64_t at = t->fed - t->doc_start;
	unsigned char c;

	for (; at < 2 && len > 0; at++, buf++, len--) {
		c = (unsigned char)*buf;
		if (c == 0x00 || c == 0xfe || c == 0xff)
			return (1);
	}
	return (0);
}

/* Parse the first bytes of buf; return how many were taken. */
static size_t
feed_xml(struct sg_tracker *t, const char *buf, size_t len)
{
	enum XML_Status s;
	size_t n;

	if ((t->p == NULL || t->need_doc) && parser_start(t) != 0) {
		(void)fail(t, SG_TRACK_NOMEM);
		return (0);
	}
	if (bad_doc_start(t, buf, len)) {
		(void)fail(t, SG_TRACK_NOT_WELL_FORMED);
		return (0);
	}
	n = window(t, len);
	t->in_parse = 1;
	s = XML_Parse(t->p, buf, (int)n, XML_FALSE);
	t->in_parse = 0;
	if (t->turn != T_NONE) {
		n = (size_t)(t->turn_at - t->fed);
		t->fed = t->turn_at;
		take_turn(t, t->turn);
		return (n);
	}
	t->fed += n;
	if (t->err != SG_TRACK_OK)
		return (n);
	if (s != XML_STATUS_OK)
		(void)fail(t, map_error(XML_GetErrorCode(t->p)));
	else if (t->fed - t->mark > t->lim.max_stanza)
		(void)fail(t, SG_TRACK_STANZA_TOO_LARGE);
	return (n);
}

static size_t
feed_closed(struct sg_tracker *t, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_ws(buf[i])) {
			(void)fail(t, SG_TRACK_AFTER_CLOSE);
			break;
		}
	t->fed += i;
	return (len);
}

/*
 * expat keeps a CR at the end of a buffer until it sees whether LF
 * follows.  A lone pending CR at depth 1 can only be whitespace, so report
 * it now and clip it from the newline expat reports later.
 */
static void
report_held_cr(struct sg_tracker *t, char last)
{

	if (last != '\r' || t->mode != M_XML || t->err != SG_TRACK_OK ||
	    t->p == NULL || t->need_doc || t->depth != 1 ||
	    t->fed - t->mark != 1)
		return;
	keepalive(t, t->fed - 1, t->fed);
	t->ws_done = t->fed;
}

void
sg_tracker_limits_default(struct sg_tracker_limits *lim)
{

	lim->max_stanza = SG_TRACKER_DEFAULT_MAX_STANZA;
	lim->max_depth = SG_TRACKER_DEFAULT_MAX_DEPTH;
	lim->max_attrs = SG_TRACKER_DEFAULT_MAX_ATTRS;
	lim->max_name = SG_TRACKER_DEFAULT_MAX_NAME;
	lim->max_value = SG_TRACKER_DEFAULT_MAX_VALUE;
}

struct sg_tracker *
sg_tracker_new(const struct sg_tracker_limits *lim, sg_tracker_cb *cb,
    void *ctx)
{
	struct sg_tracker *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	t->lim = *lim;
	t->cb = cb;
	t->ctx = ctx;
	t->need_doc = 1;
	t->dns_off = NONE;
	return (t);
}

void
sg_tracker_free(struct sg_tracker *t)
{

	if (t == NULL)
		return;
	drop_parser(t);
	sb_free(&t->hdr);
	free(t);
}

enum sg_tracker_result
sg_tracker_feed(struct sg_tracker *t, const char *buf, size_t len)
{
	char last;
	size_t n;

	if (t->err != SG_TRACK_OK || len == 0)
		return (t->err);
	last = buf[len - 1];
	if (t->req != T_NONE)
		apply_request(t);
	while (len > 0 && t->err == SG_TRACK_OK) {
		if (t->mode == M_XML)
			n = feed_xml(t, buf, len);
		else if (t->mode == M_CLOSED)
			n = feed_closed(t, buf, len);
		else {
			n = len;
			t->fed += n;
		}
		buf += n;
		len -= n;
	}
	report_held_cr(t, last);
	if (t->err == SG_TRACK_OK)
		flush_keepalive(t);
	return (t->err);
}

void
sg_tracker_expect_restart(struct sg_tracker *t)
{

	request(t, T_RESTART);
}

void
sg_tracker_set_opaque(struct sg_tracker *t)
{

	request(t, T_OPAQUE);
}

int
sg_tracker_is_opaque(const struct sg_tracker *t)
{

	return (t->mode == M_OPAQUE);
}

uint64_t
sg_tracker_offset(const struct sg_tracker *t)
{

	return (t->fed);
}

int
sg_tracker_release_idle(struct sg_tracker *t)
{

	if (t->p == NULL || t->mode != M_XML || t->err != SG_TRACK_OK ||
	    t->in_cb || t->in_parse || t->fed != t->mark || t->depth > 1)
		return (0);
	drop_parser(t);
	/* Nothing of this document yet: start it afresh at the same byte. */
	if (t->depth == 0)
		t->need_doc = 1;
	t->depth = 0;
	return (1);
}

const char *
sg_tracker_strerror(enum sg_tracker_result r)
{

	if ((unsigned)r >= SG_TRACK_RESULT_COUNT)
		return ("unknown tracker result");
	return (results[r].text);
}

const char *
sg_tracker_condition(enum sg_tracker_result r)
{

	if ((unsigned)r >= SG_TRACK_RESULT_COUNT)
		return ("internal-server-error");
	return (results[r].condition);
}
