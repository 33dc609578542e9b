/*
 * The stream tracker: expat with namespace triplets and a few handlers.
 * An absolute offset is XML_GetCurrentByteIndex() plus a delta fixed each
 * time a parser is (re)built.  Three things are done outside expat, each
 * in few places: the size limit (expat is never given more than one
 * stanza's worth of bytes past the last event), the bytes after the close
 * tag or a switch to opaque bytes, and a CR that expat holds back.
 *
 * This file is the state machine: modes, turns, offsets, events and the
 * expat handlers that drive them.  How the parser is made and rebuilt is
 * in xmlparser.c, the namespace context it is rebuilt from in streamns.c,
 * the limits and the result table in xmlrules.c, what a header or stanza
 * is in classify.c.  What is left reads and writes struct sg_tracker at
 * every step, so it stays one file rather than share that struct.
 */
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "classify.h"
#include "streamns.h"
#include "tracker.h"
#include "xmlparser.h"
#include "xmlrules.h"

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

struct sg_tracker {
	struct sg_tracker_limits lim;
	sg_tracker_cb *cb;
	void *ctx;
	XML_Parser p;		/* NULL until needed, and once released */
	struct sg_classify *cls;	/* the current stanza; lives with p */
	struct sg_streamns *ns;	/* the stream element's namespaces */
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
	uint64_t cut_start;	/* a <starttls/> in <stream:features> */
	uint64_t cut_tag_end;
	unsigned depth;		/* the stream element is 1 */
	unsigned nsdecls;	/* declared on the element being started */
	/*
	 * The bytes together, the flags as bits: an idle session keeps two
	 * trackers, and 200 bytes are a 208-byte malloc chunk.
	 */
	unsigned char lead[2];	/* the first nlead bytes after mark */
	unsigned nlead : 2;
	unsigned in_cut : 1;
	unsigned need_doc : 1;	/* a new document starts at fed */
	unsigned halt : 1;	/* handlers ignore all: error or turn */
	unsigned in_parse : 1;
	unsigned in_cb : 1;
	unsigned replay : 1;	/* feeding a synthesized header */
};

_Static_assert(sizeof(struct sg_tracker) <= 200,
    "an idle session keeps two trackers: mind the malloc chunk");

static int
is_ws(char c)
{

	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static uint64_t
pos(const struct sg_tracker *t)
{

	/* Unsigned wrap-around is fine: delta may be "negative". */
	return ((uint64_t)XML_GetCurrentByteIndex(t->p) + t->delta);
}

/* What follows the mark is new: its lead bytes are to be noted again. */
static void
set_mark(struct sg_tracker *t, uint64_t at)
{

	if (at != t->mark)
		t->nlead = 0;
	t->mark = at;
}

static void
emit(struct sg_tracker *t, const struct sg_tracker_event *ev)
{

	t->in_cb = 1;
	t->cb(t->ctx, ev);
	t->in_cb = 0;
	set_mark(t, ev->end);
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
	t->ka_end = end;
	set_mark(t, end);
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
	sg_classify_free(t->cls);
	t->cls = NULL;
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
		set_mark(t, t->fed);
		t->doc_start = t->fed;
		sg_streamns_clear(t->ns);
		break;
	case T_CLOSED:
	case T_OPAQUE:
		t->mode = turn == T_CLOSED ? M_CLOSED : M_OPAQUE;
		drop_parser(t);
		sg_streamns_clear(t->ns);
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

static int
check_element(struct sg_tracker *t, const char *name, const char **atts)
{
	enum sg_tracker_result r;
	unsigned n;

	/* expat counts names and values, and namespace declarations apart. */
	n = (unsigned)XML_GetSpecifiedAttributeCount(t->p) / 2 + t->nsdecls;
	t->nsdecls = 0;
	r = sg_xmlrules_element(&t->lim, t->depth, n,
	    (size_t)XML_GetCurrentByteCount(t->p), name, atts);
	return (r == SG_TRACK_OK ? 0 : fail(t, r));
}

static void
root_start(struct sg_tracker *t, const char *name, const char **atts)
{
	struct sg_tracker_event ev;

	memset(&ev, 0, sizeof(ev));
	if (sg_classify_header(name, atts, &ev) != 0) {
		(void)fail(t, SG_TRACK_INVALID_NAMESPACE);
		return;
	}
	ev.type = SG_EV_HEADER;
	ev.start = t->doc_start;
	ev.end = pos(t) + (uint64_t)XML_GetCurrentByteCount(t->p);
	if (ev.end - t->mark > t->lim.max_stanza) {
		(void)fail(t, SG_TRACK_STANZA_TOO_LARGE);
		return;
	}
	/* Kept to rebuild the parser. */
	if (sg_streamns_set_prefix(t->ns, ev.prefix) != 0) {
		(void)fail(t, SG_TRACK_NOMEM);
		return;
	}
	ev.default_ns = sg_streamns_default(t->ns);
	report(t, &ev);
}

static void
stanza_start(struct sg_tracker *t, const char *name, const char **atts)
{

	switch (sg_classify_stanza(t->cls, name, atts)) {
	case 0:
		break;
	case 1:
		(void)fail(t, SG_TRACK_NESTED_STREAM);
		return;
	default:
		(void)fail(t, SG_TRACK_NOMEM);
		return;
	}
	t->st_start = pos(t);
	t->st_tag_end = t->st_start + (uint64_t)XML_GetCurrentByteCount(t->p);
	t->in_cut = 0;
	/* Text inside stanzas is none of our business: spare the calls. */
	XML_SetCharacterDataHandler(t->p, NULL);
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
	ev.default_ns = sg_streamns_default(t->ns);
	sg_classify_fill(t->cls, &ev);
	report(t, &ev);
	XML_SetCharacterDataHandler(t->p, on_text);
	if (ev.kind == SG_STANZA_SASL_SUCCESS)
		stop_at(t, T_RESTART, ev.end);
	else if (ev.kind == SG_STANZA_TLS_PROCEED ||
	    ev.kind == SG_STANZA_COMPRESSED)
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

static void
child_start(struct sg_tracker *t, const char *name)
{

	switch (sg_classify_child(t->cls, name)) {
	case -1:
		(void)fail(t, SG_TRACK_NOMEM);
		break;
	case 1:
		t->in_cut = 1;
		t->cut_start = pos(t);
		t->cut_tag_end = t->cut_start +
		    (uint64_t)XML_GetCurrentByteCount(t->p);
		break;
	default:
		break;
	}
}

static void
child_end(struct sg_tracker *t)
{
	int count = XML_GetCurrentByteCount(t->p);
	uint64_t end = count == 0 ? t->cut_tag_end : pos(t) + (uint64_t)count;

	t->in_cut = 0;
	if (sg_classify_starttls(t->cls, t->cut_start, end) != 0)
		(void)fail(t, SG_TRACK_NOMEM);
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
	else if (t->depth == 3)
		child_start(t, name);
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
	else if (t->depth == 3 && t->in_cut)
		child_end(t);
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
	enum sg_tracker_result r;

	if (t->halt || t->replay)
		return;
	t->nsdecls++;
	prefix = prefix == NULL ? "" : prefix;
	uri = uri == NULL ? "" : uri;
	r = sg_xmlrules_nsdecl(&t->lim, (size_t)XML_GetCurrentByteCount(t->p),
	    prefix, uri);
	if (r != SG_TRACK_OK) {
		(void)fail(t, r);
		return;
	}
	/* The stream element's own: kept to rebuild the parser. */
	if (t->depth == 0 && sg_streamns_declare(t->ns, prefix, uri) != 0)
		(void)fail(t, SG_TRACK_NOMEM);
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

static const struct sg_xmlparser_handlers handlers = {
	on_start, on_end, on_text, on_nsdecl,
	on_comment, on_pi, on_doctype, on_cdata
};

/* A new document at t->fed, or the rebuilt parser of a released one. */
static int
parser_start(struct sg_tracker *t)
{
	size_t len;
	int r;

	if (sg_xmlparser_start(&t->p, &handlers, t) != 0 ||
	    (t->cls == NULL && (t->cls = sg_classify_new()) == NULL))
		return (-1);
	t->depth = 0;
	if (t->need_doc) {
		t->need_doc = 0;
		t->delta = t->fed;
		return (0);
	}
	/* Back to depth 1, every handler but on_start's depth++ silent. */
	t->replay = 1;
	r = sg_xmlparser_replay(t->p, t->ns, &len);
	t->replay = 0;
	if (r != 0 || t->depth != 1)
		return (-1);
	t->delta = t->fed - len;
	return (0);
}

/*
 * Keep the first two bytes after the last event, buf holding the bytes
 * [at, at + n): what they begin (a stanza or not) is known from them.
 */
static void
note_lead(struct sg_tracker *t, const char *buf, uint64_t at, size_t n)
{

	while (t->nlead < sizeof(t->lead) && t->mark + t->nlead >= at &&
	    t->mark + t->nlead < at + n) {
		t->lead[t->nlead] = (unsigned char)buf[t->mark + t->nlead - at];
		t->nlead++;
	}
}

/* The most given to expat at once. */
#define FEED_SLICE	(8 * 1024)

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
	if (sg_xmlrules_bad_start(t->fed - t->doc_start, buf, len)) {
		(void)fail(t, SG_TRACK_NOT_WELL_FORMED);
		return (0);
	}
	n = sg_xmlrules_window(&t->lim, t->fed - t->mark, len);
	/*
	 * expat copies what it is given into a buffer that doubles to fit the
	 * largest feed and never shrinks: small slices keep it small (a 64 KiB
	 * read would leave ~128 KiB per direction).  The caller loops.
	 */
	if (n > FEED_SLICE)
		n = FEED_SLICE;
	t->in_parse = 1;
	s = XML_Parse(t->p, buf, (int)n, XML_FALSE);
	t->in_parse = 0;
	if (t->turn != T_NONE) {
		n = (size_t)(t->turn_at - t->fed);
		t->fed = t->turn_at;
		take_turn(t, t->turn);
		return (n);
	}
	note_lead(t, buf, t->fed, n);
	t->fed += n;
	if (t->err != SG_TRACK_OK)
		return (n);
	if (s != XML_STATUS_OK)
		(void)fail(t, sg_xmlrules_expat_error(XML_GetErrorCode(t->p)));
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
		goto err0;
	if ((t->ns = sg_streamns_new()) == NULL)
		goto err1;
	t->lim = *lim;
	t->cb = cb;
	t->ctx = ctx;
	t->need_doc = 1;
	return (t);

err1:
	free(t);
err0:
	return (NULL);
}

void
sg_tracker_free(struct sg_tracker *t)
{

	if (t == NULL)
		return;
	drop_parser(t);
	sg_streamns_free(t->ns);
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

/*
 * The bytes after the last event are a stanza begun when the stream's
 * header was reported (mark is past doc_start) and they open an element:
 * "<" then a name, or a lone "<" so far.  Not "</" (the close tag), "<!"
 * (comment, CDATA, DOCTYPE), "<?" (PI), nor text.  Whitespace between
 * stanzas is always reported, so it is never what follows mark.
 */
int
sg_tracker_in_stanza(const struct sg_tracker *t)
{

	if (t->mode != M_XML || t->need_doc || t->mark == t->doc_start ||
	    t->nlead == 0 || t->fed == t->mark)
		return (0);
	if (t->lead[0] != '<')
		return (0);
	return (t->nlead == 1 || (t->lead[1] != '/' && t->lead[1] != '!' &&
	    t->lead[1] != '?'));
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

	return (sg_xmlrules_strerror(r));
}

const char *
sg_tracker_condition(enum sg_tracker_result r)
{

	return (sg_xmlrules_condition(r));
}
