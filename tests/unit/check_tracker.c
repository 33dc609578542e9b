/*
 * The stream tracker: exact events for sample sessions, the same events
 * however the bytes are split, and a sample for every refusal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "suites.h"
#include "tracker.h"
#include "tracker_corpus.h"
#include "xmlparser.h"

/* One event as recorded; NULL strings are recorded as "(null)". */
struct rec {
	enum sg_tracker_event_type type;
	uint64_t start;
	uint64_t end;
	enum sg_stanza_kind kind;
	int sm_resume;
	char name[24];
	char ns[48];
	char id[40];
	char stype[16];
	char from[40];
	char to[40];
	char cond[24];
	char prefix[8];
	char dns[48];
	char version[8];
};

struct log {
	struct rec *r;
	size_t n;
	size_t cap;
	int in_stanza;		/* sg_tracker_in_stanza() at the end */
};

static void
copy(char *dst, size_t size, const char *s)
{
	size_t n;

	s = s == NULL ? "(null)" : s;
	n = strlen(s);
	n = n < size - 1 ? n : size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A stanza's packed block holds its strings but NULL ones, in order. */
static void
check_packed(const struct sg_tracker_event *ev)
{
	const char *f[] = { ev->name, ev->ns, ev->id, ev->stanza_type,
	    ev->from, ev->to };
	const char *p = ev->packed;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i] == NULL)
			continue;
		ck_assert_uint_lt((size_t)(p - ev->packed), ev->packed_len);
		ck_assert_str_eq(p, f[i]);
		p += strlen(p) + 1;
	}
	ck_assert_uint_eq((size_t)(p - ev->packed), ev->packed_len);
}

/* Record ev; adjacent keepalives are merged, as chunking may split them. */
static void
record(void *ctx, const struct sg_tracker_event *ev)
{
	struct log *log = ctx;
	struct rec *r;

	if (log->n > 0 && ev->type == SG_EV_KEEPALIVE &&
	    log->r[log->n - 1].type == SG_EV_KEEPALIVE &&
	    log->r[log->n - 1].end == ev->start) {
		log->r[log->n - 1].end = ev->end;
		return;
	}
	if (log->n == log->cap) {
		log->cap = log->cap == 0 ? 64 : 2 * log->cap;
		log->r = realloc(log->r, log->cap * sizeof(*log->r));
		ck_assert_ptr_nonnull(log->r);
	}
	if (ev->type == SG_EV_STANZA)
		check_packed(ev);
	r = &log->r[log->n++];
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->start = ev->start;
	r->end = ev->end;
	r->kind = ev->kind;
	r->sm_resume = ev->sm_resume;
	copy(r->name, sizeof(r->name), ev->name);
	copy(r->ns, sizeof(r->ns), ev->ns);
	copy(r->id, sizeof(r->id), ev->id);
	copy(r->stype, sizeof(r->stype), ev->stanza_type);
	copy(r->from, sizeof(r->from), ev->from);
	copy(r->to, sizeof(r->to), ev->to);
	copy(r->cond, sizeof(r->cond), ev->condition);
	copy(r->prefix, sizeof(r->prefix), ev->prefix);
	copy(r->dns, sizeof(r->dns), ev->default_ns);
	copy(r->version, sizeof(r->version), ev->version);
}

static void
apply_turn(struct sg_tracker *t, const struct sg_corpus_sample *s)
{

	if (s->turn == SG_CORPUS_RESTART)
		sg_tracker_expect_restart(t);
	else
		sg_tracker_set_opaque(t);
}

static size_t
min3(size_t a, size_t b, size_t c)
{

	a = a < b ? a : b;
	return (a < c ? a : c);
}

/*
 * Feed s in pieces of step bytes, also cut at offset cut (if non-zero)
 * and where its turn is, calling sg_tracker_release_idle() after each
 * piece if release is set.
 */
static enum sg_tracker_result
run(const struct sg_corpus_sample *s, size_t step, size_t cut, int release,
    struct log *log)
{
	struct sg_tracker_limits lim;
	struct sg_tracker *t;
	enum sg_tracker_result r = SG_TRACK_OK;
	size_t at = 0, next, turn = sg_corpus_turn_offset(s);

	memset(log, 0, sizeof(*log));
	if (s->lim != NULL)
		lim = *s->lim;
	else
		sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, record, log);
	ck_assert_ptr_nonnull(t);
	while (at < s->len) {
		if (at == turn)
			apply_turn(t, s);
		next = step == SIZE_MAX ? s->len : at + step;
		next = min3(next, s->len, cut > at ? cut : s->len);
		next = turn > at && turn < next ? turn : next;
		r = sg_tracker_feed(t, s->data + at, next - at);
		if (release)
			(void)sg_tracker_release_idle(t);
		at = next;
	}
	if (r == SG_TRACK_OK)
		ck_assert_uint_eq(sg_tracker_offset(t), s->len);
	log->in_stanza = sg_tracker_in_stanza(t);
	sg_tracker_free(t);
	return (r);
}

static void
assert_same(const struct sg_corpus_sample *s, const struct log *a,
    const struct log *b, const char *how, size_t arg)
{
	size_t i;

	for (i = 0; i < a->n && i < b->n; i++)
		ck_assert_msg(memcmp(&a->r[i], &b->r[i], sizeof(a->r[i])) == 0,
		    "%s, %s %zu: event %zu differs (%llu-%llu vs %llu-%llu)",
		    s->name, how, arg, i, (unsigned long long)a->r[i].start,
		    (unsigned long long)a->r[i].end,
		    (unsigned long long)b->r[i].start,
		    (unsigned long long)b->r[i].end);
	ck_assert_msg(a->n == b->n, "%s, %s %zu: %zu events, not %zu",
	    s->name, how, arg, b->n, a->n);
	ck_assert_msg(a->in_stanza == b->in_stanza, "%s, %s %zu: in_stanza "
	    "%d, not %d", s->name, how, arg, b->in_stanza, a->in_stanza);
}

static void
check_split(const struct sg_corpus_sample *s, const struct log *ref,
    enum sg_tracker_result want, size_t step, size_t cut, int release)
{
	struct log got;
	enum sg_tracker_result r;

	r = run(s, step, cut, release, &got);
	ck_assert_msg(r == want, "%s, step %zu cut %zu release %d: "
	    "result %d, not %d", s->name, step, cut, release, r, want);
	assert_same(s, ref, &got, step == SIZE_MAX ? "cut" : "step",
	    step == SIZE_MAX ? cut : step);
	free(got.r);
}

/* Events follow each other without a gap: every byte is accounted for. */
static void
assert_contiguous(const struct sg_corpus_sample *s, const struct log *log)
{
	uint64_t at = 0;
	size_t i;

	for (i = 0; i < log->n; at = log->r[i++].end)
		ck_assert_msg(log->r[i].start == at,
		    "%s: gap before event %zu", s->name, i);
}

START_TEST(test_split_anywhere)
{
	const struct sg_corpus_sample *s = &sg_tracker_corpus[_i];
	struct log ref;
	enum sg_tracker_result r;
	size_t cut;

	r = run(s, SIZE_MAX, 0, 0, &ref);
	ck_assert_msg(r == s->result, "%s: result %d (%s), not %d", s->name,
	    r, sg_tracker_strerror(r), s->result);
	assert_contiguous(s, &ref);
	for (cut = 1; cut < s->len; cut++) {
		check_split(s, &ref, r, SIZE_MAX, cut, 0);
		check_split(s, &ref, r, SIZE_MAX, cut, 1);
	}
	check_split(s, &ref, r, 1, 0, 0);
	check_split(s, &ref, r, 1, 0, 1);
	check_split(s, &ref, r, 7, 0, 1);
	free(ref.r);
}
END_TEST

/* What an event must be: from the next from to the end of the next to. */
struct want {
	enum sg_tracker_event_type type;
	const char *from;
	const char *to;
	enum sg_stanza_kind kind;
	const char *name;
	const char *id;
};

#define HEADER(from, to)	{ SG_EV_HEADER, from, to, 0, NULL, NULL }
#define BLANK(ws)		{ SG_EV_KEEPALIVE, ws, ws, 0, NULL, NULL }
#define CLOSE(tag)		{ SG_EV_CLOSE, tag, tag, 0, NULL, NULL }

static size_t
find(const struct sg_corpus_sample *s, size_t from, const char *what)
{
	size_t n = strlen(what);

	for (; from + n <= s->len; from++)
		if (memcmp(s->data + from, what, n) == 0)
			return (from);
	ck_abort_msg("%s: no %s after %zu", s->name, what, from);
	return (0);
}

static const char *
nul(const char *s)
{

	return (s == NULL ? "(null)" : s);
}

static struct log
expect(const char *name, const struct want *w, size_t nw)
{
	const struct sg_corpus_sample *s = sg_corpus_find(name);
	struct log log;
	size_t i, at = 0, start, end;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(run(s, SIZE_MAX, 0, 0, &log), s->result);
	for (i = 0; i < nw && i < log.n; i++) {
		start = find(s, at, w[i].from);
		end = find(s, start, w[i].to) + strlen(w[i].to);
		ck_assert_msg(log.r[i].type == w[i].type &&
		    log.r[i].start == start && log.r[i].end == end,
		    "%s: event %zu is %d %llu-%llu, not %d %zu-%zu", name, i,
		    log.r[i].type, (unsigned long long)log.r[i].start,
		    (unsigned long long)log.r[i].end, w[i].type, start, end);
		if (w[i].type == SG_EV_STANZA) {
			ck_assert_int_eq(log.r[i].kind, w[i].kind);
			ck_assert_str_eq(log.r[i].name, nul(w[i].name));
			ck_assert_str_eq(log.r[i].id, nul(w[i].id));
		}
		at = end;
	}
	ck_assert_uint_eq(log.n, nw);
	return (log);
}

#define STANZA(f, t, k, n, id)	{ SG_EV_STANZA, f, t, SG_STANZA_##k, n, id }
#define NW(w)			(sizeof(w) / sizeof(w[0]))

START_TEST(test_c2s_client_events)
{
	static const struct want w[] = {
		HEADER("<?xml", "xml:lang='en'>"),
		BLANK("\n"),
		STANZA("<auth", "</auth>", OTHER, "auth", NULL),
		HEADER("<?xml", "xml:lang='en'>"),
		STANZA("<iq", "</iq>", IQ, "iq", "bind_1"),
		BLANK("\n"),
		STANZA("<iq", "</iq>", IQ, "iq", "roster_1"),
		BLANK("\n"),
		STANZA("<presence/>", "<presence/>", PRESENCE, "presence",
		    NULL),
		BLANK("\n"),
		STANZA("<enable", "/>", SM_ENABLE, "enable", NULL),
		BLANK("\n"),
		STANZA("<message", "</message>", MESSAGE, "message", "m1"),
		BLANK("\n"),
		STANZA("<message", "</message>", MESSAGE, "message", "m2"),
		BLANK("\n"),
		STANZA("<r ", "/>", SM_REQUEST, "r", NULL),
		STANZA("<a ", "/>", SM_ACK, "a", NULL),
		BLANK("\r\n \t\r\n"),
		CLOSE("</stream:stream>")
	};
	struct log log = expect("c2s_client", w, NW(w));

	ck_assert_str_eq(log.r[0].prefix, "stream");
	ck_assert_str_eq(log.r[0].dns, "jabber:client");
	ck_assert_str_eq(log.r[0].to, "example.com");
	ck_assert_str_eq(log.r[0].version, "1.0");
	ck_assert_str_eq(log.r[2].ns, "urn:ietf:params:xml:ns:xmpp-sasl");
	ck_assert_str_eq(log.r[4].stype, "set");
	ck_assert_str_eq(log.r[4].dns, "jabber:client");
	ck_assert_str_eq(log.r[12].to, "romeo@example.net");
	ck_assert_str_eq(log.r[12].stype, "chat");
	ck_assert_str_eq(log.r[12].from, "(null)");
	ck_assert_str_eq(log.r[16].ns, "urn:xmpp:sm:3");
	free(log.r);
}
END_TEST

START_TEST(test_c2s_server_events)
{
	static const struct want w[] = {
		HEADER("<?xml", "xml:lang='en'>"),
		STANZA("<stream:features>", "</stream:features>", OTHER,
		    "features", NULL),
		STANZA("<success", "</success>", SASL_SUCCESS, "success",
		    NULL),
		HEADER("<?xml", "xml:lang='en'>"),
		STANZA("<stream:features>", "</stream:features>", OTHER,
		    "features", NULL),
		STANZA("<iq", "</iq>", IQ, "iq", "bind_1"),
		STANZA("<iq", "</iq>", IQ, "iq", "roster_1"),
		STANZA("<enabled", "/>", SM_ENABLED, "enabled",
		    "c2FtcGxlLXNtLWlk"),
		STANZA("<presence", "</presence>", PRESENCE, "presence", NULL),
		STANZA("<message", "</message>", MESSAGE, "message", "r1"),
		STANZA("<r ", "/>", SM_REQUEST, "r", NULL),
		STANZA("<a ", "/>", SM_ACK, "a", NULL),
		STANZA("<stream:error>", "</stream:error>", STREAM_ERROR,
		    "error", NULL),
		CLOSE("</stream:stream>")
	};
	struct log log = expect("c2s_server", w, NW(w));

	ck_assert_str_eq(log.r[0].id, "++TR84Sm6A3hnt3Q065SnAbbk3Y=");
	ck_assert_str_eq(log.r[0].from, "example.com");
	ck_assert_str_eq(log.r[3].id, "gPybzaOzBmaADgxKXu9UClbprp0=");
	ck_assert_str_eq(log.r[1].ns, "http://etherx.jabber.org/streams");
	ck_assert_int_eq(log.r[7].sm_resume, 1);
	ck_assert_str_eq(log.r[8].from, "romeo@example.net/orchard");
	ck_assert_str_eq(log.r[8].to, "juliet@example.com/balcony");
	ck_assert_str_eq(log.r[12].cond, "connection-timeout");
	ck_assert_str_eq(log.r[11].cond, "(null)");
	free(log.r);
}
END_TEST

START_TEST(test_s2s_events)
{
	static const struct want w[] = {
		HEADER("<?xml", "version='1.0'>"),
		BLANK("\n"),
		STANZA("<db:result", "</db:result>", OTHER, "result", NULL),
		BLANK("\n"),
		STANZA("<message", "</message>", MESSAGE, "message", "s2s1"),
		BLANK("\n"),
		STANZA("<iq", "</iq>", IQ, "iq", "ping1"),
		BLANK("\n"),
		CLOSE("</stream:stream>")
	};
	struct log log = expect("s2s_dialback", w, NW(w));

	ck_assert_str_eq(log.r[0].dns, "jabber:server");
	ck_assert_str_eq(log.r[2].ns, "jabber:server:dialback");
	ck_assert_str_eq(log.r[4].ns, "jabber:server");
	free(log.r);
}
END_TEST

START_TEST(test_component_events)
{
	static const struct want w[] = {
		HEADER("<stream:stream", "lit'>"),
		STANZA("<handshake>", "</handshake>", OTHER, "handshake",
		    NULL),
		STANZA("<message", "</message>", MESSAGE, "message", "c1"),
		STANZA("<presence", "/>", PRESENCE, "presence", NULL),
		CLOSE("</stream:stream>")
	};
	struct log log = expect("component", w, NW(w));

	ck_assert_str_eq(log.r[0].dns, "jabber:component:accept");
	ck_assert_str_eq(log.r[0].version, "(null)");
	ck_assert_str_eq(log.r[3].stype, "unavailable");
	free(log.r);
}
END_TEST

START_TEST(test_prefix_and_default_ns_streams)
{
	static const struct want w1[] = {
		HEADER("<foo:stream", "'1.0'>"),
		STANZA("<foo:features/>", "/>", OTHER, "features", NULL),
		STANZA("<message", "</message>", MESSAGE, "message", "cp1"),
		CLOSE("</foo:stream>")
	};
	static const struct want w2[] = {
		HEADER("<?xml", "\"example.com\">"),
		STANZA("<features>", "</features>", OTHER, "features", NULL),
		STANZA("<message", "</message>", MESSAGE, "message", "dn1"),
		BLANK("\r\n"),
		CLOSE("</stream>")
	};
	struct log log;

	log = expect("custom_prefix", w1, NW(w1));
	ck_assert_str_eq(log.r[0].prefix, "foo");
	ck_assert_str_eq(log.r[1].ns, "http://etherx.jabber.org/streams");
	free(log.r);
	log = expect("default_ns_stream", w2, NW(w2));
	ck_assert_str_eq(log.r[0].prefix, "");
	ck_assert_str_eq(log.r[0].dns, "http://etherx.jabber.org/streams");
	ck_assert_str_eq(log.r[2].ns, "jabber:client");
	free(log.r);
}
END_TEST

START_TEST(test_opaque_after_proceed)
{
	static const struct want w1[] = {
		HEADER("<?xml", "'1.0'>"),
		STANZA("<stream:features>", "</stream:features>", OTHER,
		    "features", NULL),
		STANZA("<proceed", "/>", TLS_PROCEED, "proceed", NULL)
	};
	static const struct want w2[] = {
		HEADER("<?xml", "'1.0'>"),
		BLANK("\n"),
		STANZA("<starttls", "/>", OTHER, "starttls", NULL)
	};
	static const struct want w3[] = {
		HEADER("<stream", "client'>"),
		STANZA("<compress", "</compress>", OTHER, "compress", NULL),
		STANZA("<compressed", "/>", COMPRESSED, "compressed", NULL)
	};

	free(expect("starttls_server", w1, NW(w1)).r);
	free(expect("starttls_client", w2, NW(w2)).r);
	free(expect("compressed", w3, NW(w3)).r);
}
END_TEST

START_TEST(test_keepalive_shapes)
{
	static const struct want w[] = {
		HEADER("<stream", "client'>"),
		BLANK(" \n\r\n\t\r\r\n"),
		STANZA("<presence/>", "/>", PRESENCE, "presence", NULL),
		BLANK("\r"),
		STANZA("<iq", "/>", IQ, "iq", "p"),
		BLANK("\n\n&#32;&#x9; "),
		STANZA("<message>", "</message>", MESSAGE, "message", NULL),
		BLANK("\r"),
		CLOSE("</stream:stream>")
	};

	free(expect("keepalives", w, NW(w)).r);
}
END_TEST

START_TEST(test_restarts_and_empty_stream)
{
	static const struct want w1[] = {
		HEADER("<stream", "client'>"),
		STANZA("<success", "/>", SASL_SUCCESS, "success", NULL),
		HEADER("<?xml", "client'>"),
		STANZA("<success", "/>", SASL_SUCCESS, "success", NULL),
		HEADER("<stream", "server'>"),
		STANZA("<message", "/>", MESSAGE, "message", "after"),
		CLOSE("</stream:stream>")
	};
	static const struct want w2[] = {
		HEADER("<?xml", "/>"),
		CLOSE("")
	};
	struct log log;

	log = expect("two_restarts", w1, NW(w1));
	ck_assert_str_eq(log.r[4].dns, "jabber:server");
	ck_assert_str_eq(log.r[5].ns, "jabber:server");
	free(log.r);
	log = expect("empty_stream_element", w2, NW(w2));
	ck_assert_uint_eq(log.r[1].start, log.r[0].end);
	free(log.r);
}
END_TEST

/* Events before an error are reported, then nothing. */
START_TEST(test_events_before_errors)
{
	static const struct want w1[] = {
		HEADER("<stream", "client'>"),
		STANZA("<presence/>", "/>", PRESENCE, "presence", NULL),
		BLANK("  ")
	};
	static const struct want w2[] = {
		HEADER("<stream", "client'>"),
		STANZA("<presence/>", "/>", PRESENCE, "presence", NULL),
		BLANK("\n ")
	};
	static const struct want w3[] = {
		HEADER("<stream", "client'>"),
		STANZA("<presence/>", "/>", PRESENCE, "presence", NULL),
		CLOSE("</stream:stream>")
	};
	static const struct want w4[] = {
		HEADER("<stream", "client'>"),
		STANZA("<message", "</message>", MESSAGE, "message", "a")
	};

	free(expect("comment_between", w1, NW(w1)).r);
	free(expect("text_between", w2, NW(w2)).r);
	free(expect("stanza_after_close", w3, NW(w3)).r);
	free(expect("stanza_at_limit", w4, NW(w4)).r);
	free(expect("stanza_over_limit", w4, 1).r);
}
END_TEST

static void
noop(void *ctx, const struct sg_tracker_event *ev)
{

	(void)ctx;
	(void)ev;
}

static struct sg_tracker *
tracker(void)
{
	struct sg_tracker_limits lim;
	struct sg_tracker *t;

	sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, noop, NULL);
	ck_assert_ptr_nonnull(t);
	return (t);
}

#define FEED(t, lit)	sg_tracker_feed(t, lit, sizeof(lit) - 1)
#define HDR	"<stream:stream xmlns:stream='http://etherx.jabber.org/" \
		"streams' xmlns='jabber:client'>"
#define X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* A 10 MB attribute fails once max_stanza bytes are pending. */
START_TEST(test_huge_value_fails_early)
{
	struct sg_tracker *t = tracker();
	size_t len = 10 * 1024 * 1024;
	char *big = malloc(len);

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', len);
	memcpy(big, "<message to='", 13);
	ck_assert_int_eq(FEED(t, HDR), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_feed(t, big, len),
	    SG_TRACK_STANZA_TOO_LARGE);
	ck_assert_uint_le(sg_tracker_offset(t),
	    sizeof(HDR) + SG_TRACKER_DEFAULT_MAX_STANZA);
	ck_assert_int_eq(sg_tracker_feed(t, "<x/>", 4),
	    SG_TRACK_STANZA_TOO_LARGE);
	free(big);
	sg_tracker_free(t);
}
END_TEST

START_TEST(test_errors_stick)
{
	struct log log;
	struct sg_tracker_limits lim;
	struct sg_tracker *t;

	memset(&log, 0, sizeof(log));
	sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, record, &log);
	ck_assert_int_eq(FEED(t, HDR "<!--"), SG_TRACK_OK);
	ck_assert_int_eq(FEED(t, "-->"), SG_TRACK_RESTRICTED_XML);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_int_eq(FEED(t, "<presence/>"), SG_TRACK_RESTRICTED_XML);
	ck_assert_int_eq(FEED(t, "</stream:stream>"),
	    SG_TRACK_RESTRICTED_XML);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	sg_tracker_free(t);
	free(log.r);
}
END_TEST

/* expat holds back a final CR; the tracker still reports it at once. */
START_TEST(test_trailing_cr_reported)
{
	struct log log;
	struct sg_tracker_limits lim;
	struct sg_tracker *t;

	memset(&log, 0, sizeof(log));
	sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, record, &log);
	ck_assert_int_eq(FEED(t, HDR "<presence/>\r"), SG_TRACK_OK);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_uint_eq(log.r[2].type, SG_EV_KEEPALIVE);
	ck_assert_uint_eq(log.r[2].end, sizeof(HDR "<presence/>\r") - 1);
	ck_assert_int_eq(FEED(t, "\n"), SG_TRACK_OK);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_uint_eq(log.r[2].end, sizeof(HDR "<presence/>\r\n") - 1);
	ck_assert_int_eq(FEED(t, "\r"), SG_TRACK_OK);
	ck_assert_int_eq(FEED(t, "<presence/>"), SG_TRACK_OK);
	ck_assert_uint_eq(log.n, 4);
	ck_assert_uint_eq(log.r[2].end, sizeof(HDR "<presence/>\r\n\r") - 1);
	ck_assert_uint_eq(log.r[3].start, log.r[2].end);
	sg_tracker_free(t);
	free(log.r);
}
END_TEST

START_TEST(test_release_idle_only_between_stanzas)
{
	struct sg_tracker *t = tracker();

	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, "<?xml version='1.0'?>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, HDR), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, "<message><body>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, "</body></message> "), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(FEED(t, "<pres"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, "ence/><proceed "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_is_opaque(t), 1);
	ck_assert_int_eq(sg_tracker_release_idle(t), 0);
	ck_assert_int_eq(FEED(t, "\x16\x03\x01"), SG_TRACK_OK);
	ck_assert_uint_eq(sg_tracker_offset(t), sizeof(HDR "<message><body>"
	    "</body></message> <presence/><proceed "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01") - 1 +
	    sizeof("<?xml version='1.0'?>") - 1);
	sg_tracker_free(t);
}
END_TEST

/* The synthesized header must keep every binding the stanzas rely on. */
START_TEST(test_release_keeps_namespaces)
{
	struct log log;
	struct sg_tracker_limits lim;
	struct sg_tracker *t;

	memset(&log, 0, sizeof(log));
	sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, record, &log);
	ck_assert_int_eq(FEED(t, "<s:stream xmlns:s='http://etherx.jabber.org"
	    "/streams' xmlns=\"a'b&amp;c&#10;d\" xmlns:db='jabber:server:"
	    "dialback'>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(FEED(t, "<db:result/>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(FEED(t, "<x/></s:stream>"), SG_TRACK_OK);
	ck_assert_uint_eq(log.n, 4);
	ck_assert_str_eq(log.r[1].ns, "jabber:server:dialback");
	ck_assert_str_eq(log.r[2].ns, "a'b&c\nd");
	ck_assert_str_eq(log.r[2].dns, "a'b&c\nd");
	ck_assert_uint_eq(log.r[3].type, SG_EV_CLOSE);
	sg_tracker_free(t);
	free(log.r);
}
END_TEST

/* Declarations past the stream context's own room survive a release. */
START_TEST(test_release_keeps_long_namespaces)
{
	struct log log;
	struct sg_tracker_limits lim;
	struct sg_tracker *t;

	memset(&log, 0, sizeof(log));
	sg_tracker_limits_default(&lim);
	t = sg_tracker_new(&lim, record, &log);
	/* About 170 bytes of declarations: more than the 128 it starts with. */
	ck_assert_int_eq(FEED(t, "<s:stream xmlns:s='http://etherx.jabber.org"
	    "/streams' xmlns='urn:example:default-namespace-a' xmlns:db='"
	    "jabber:server:dialback' xmlns:x='urn:example:second-declaration-x'"
	    " xmlns:y='urn:example:third-declaration-y'>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(FEED(t, "<x:a/><y:b/>"), SG_TRACK_OK);
	ck_assert_int_eq(sg_tracker_release_idle(t), 1);
	ck_assert_int_eq(FEED(t, "<db:result/><z/></s:stream>"), SG_TRACK_OK);
	ck_assert_uint_eq(log.n, 6);
	ck_assert_str_eq(log.r[1].ns, "urn:example:second-declaration-x");
	ck_assert_str_eq(log.r[2].ns, "urn:example:third-declaration-y");
	ck_assert_str_eq(log.r[3].ns, "jabber:server:dialback");
	ck_assert_str_eq(log.r[4].ns, "urn:example:default-namespace-a");
	ck_assert_str_eq(log.r[4].dns, "urn:example:default-namespace-a");
	ck_assert_uint_eq(log.r[5].type, SG_EV_CLOSE);
	sg_tracker_free(t);
	free(log.r);
}
END_TEST

static int restarted;

static void
on_success(void *ctx, const struct sg_tracker_event *ev)
{

	/* As the session does: the other direction restarts. */
	if (ev->kind == SG_STANZA_SASL_SUCCESS) {
		sg_tracker_expect_restart(ctx);
		restarted++;
	}
}

START_TEST(test_turn_from_other_callback)
{
	struct sg_tracker_limits lim;
	struct sg_tracker *c, *s;

	sg_tracker_limits_default(&lim);
	c = tracker();
	s = sg_tracker_new(&lim, on_success, c);
	restarted = 0;
	ck_assert_int_eq(FEED(c, HDR "<auth/>"), SG_TRACK_OK);
	ck_assert_int_eq(FEED(s, HDR "<success "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), SG_TRACK_OK);
	ck_assert_int_eq(restarted, 1);
	ck_assert_int_eq(FEED(c, "<?xml version='1.0'?>" HDR), SG_TRACK_OK);
	sg_tracker_set_opaque(c);
	ck_assert_int_eq(sg_tracker_is_opaque(c), 1);
	ck_assert_int_eq(FEED(c, "\0\1\2"), SG_TRACK_OK);
	sg_tracker_free(c);
	sg_tracker_free(s);
}
END_TEST

/*
 * Whether the bytes after the last event begin a stanza: split at every
 * offset, fed whole or with an error in them.
 */
#define T_HDR "<stream:stream xmlns:stream='http://etherx.jabber.org/" \
	"streams' xmlns='jabber:client'>"

static const struct {
	const char *in;
	size_t max_stanza;	/* 0: the default */
	int in_stanza;
	enum sg_tracker_result result;
} in_stanza_cases[] = {
	{ T_HDR "<message><body>hi", 0, 1, SG_TRACK_OK },
	{ T_HDR "<", 0, 1, SG_TRACK_OK },
	{ T_HDR "<a/> <iq", 0, 1, SG_TRACK_OK },
	{ T_HDR "<a/>", 0, 0, SG_TRACK_OK },
	{ T_HDR "<a/> \r", 0, 0, SG_TRACK_OK },
	{ T_HDR "</stream:str", 0, 0, SG_TRACK_OK },
	{ "<stream:stream xmlns='jabber:cl", 0, 0, SG_TRACK_OK },
	{ T_HDR "<message><!-- no -->", 0, 1, SG_TRACK_RESTRICTED_XML },
	{ T_HDR "<a/><message><body>x</iq>", 0, 1, SG_TRACK_NOT_WELL_FORMED },
	{ T_HDR "<a/> junk", 0, 0, SG_TRACK_NOT_WELL_FORMED },
	{ T_HDR "<!-- no -->", 0, 0, SG_TRACK_RESTRICTED_XML },
	{ T_HDR "<a/></stream:stream><b/>", 0, 0, SG_TRACK_AFTER_CLOSE },
	/* T_HDR is 85 bytes: under 100, the stanzas over it. */
	{ T_HDR "<a/><message><body>" X50 X50, 100, 1,
	  SG_TRACK_STANZA_TOO_LARGE },
	{ T_HDR "<message id='" X50 X50, 100, 1, SG_TRACK_STANZA_TOO_LARGE },
	{ T_HDR "<!-- " X50 X50, 100, 0, SG_TRACK_STANZA_TOO_LARGE },
};

START_TEST(test_in_stanza_split_anywhere)
{
	const char *in = in_stanza_cases[_i].in;
	size_t len = strlen(in), cut, step;
	struct sg_tracker_limits lim;
	struct log log;

	sg_tracker_limits_default(&lim);
	if (in_stanza_cases[_i].max_stanza > 0)
		lim.max_stanza = in_stanza_cases[_i].max_stanza;
	for (step = 1; step <= 2; step++)
		for (cut = 0; cut <= len; cut++) {
			struct sg_tracker *t;
			enum sg_tracker_result r = SG_TRACK_OK;
			size_t at = 0, n;

			memset(&log, 0, sizeof(log));
			t = sg_tracker_new(&lim, record, &log);
			ck_assert_ptr_nonnull(t);
			while (at < len) {
				n = at < cut ? cut - at : (step == 1 ?
				    len - at : 1);
				r = sg_tracker_feed(t, in + at, n);
				at += n;
			}
			ck_assert_int_eq(r, in_stanza_cases[_i].result);
			ck_assert_msg(sg_tracker_in_stanza(t) ==
			    in_stanza_cases[_i].in_stanza,
			    "case %d cut %zu step %zu: in_stanza %d", _i, cut,
			    step, sg_tracker_in_stanza(t));
			sg_tracker_free(t);
			free(log.r);
		}
}
END_TEST

START_TEST(test_result_tables)
{
	int r;

	ck_assert_ptr_null(sg_tracker_condition(SG_TRACK_OK));
	for (r = 1; r < SG_TRACK_RESULT_COUNT; r++) {
		ck_assert_ptr_nonnull(sg_tracker_strerror(r));
		ck_assert_ptr_nonnull(sg_tracker_condition(r));
	}
	ck_assert_str_eq(sg_tracker_condition(SG_TRACK_RESTRICTED_XML),
	    "restricted-xml");
	ck_assert_str_eq(sg_tracker_condition(SG_TRACK_TOO_DEEP),
	    "policy-violation");
	ck_assert_str_eq(sg_tracker_condition(SG_TRACK_NOMEM),
	    "resource-constraint");
}
END_TEST

/* Names as expat gives them to the tracker: uri, local, maybe prefix. */
START_TEST(test_xmlparser_is)
{
	static const char ns[] = "http://etherx.jabber.org/streams";

	ck_assert(sg_xmlparser_is("http://etherx.jabber.org/streams\xff"
	    "stream\xffstream", ns, "stream"));
	ck_assert(sg_xmlparser_is("http://etherx.jabber.org/streams\xff"
	    "stream", ns, "stream"));
	ck_assert(!sg_xmlparser_is("http://etherx.jabber.org/streams\xff"
	    "streams", ns, "stream"));
	ck_assert(!sg_xmlparser_is("http://etherx.jabber.org/streams\xff"
	    "strea", ns, "stream"));
	ck_assert(!sg_xmlparser_is("http://etherx.jabber.org/streamsx\xff"
	    "stream", ns, "stream"));
	ck_assert(!sg_xmlparser_is("stream", ns, "stream"));
	ck_assert(!sg_xmlparser_is("jabber:client\xffmessage", ns,
	    "stream"));
}
END_TEST

Suite *
sg_suite_tracker(void)
{
	Suite *s = suite_create("tracker");
	TCase *tc;

	tc = tcase_create("events");
	tcase_add_test(tc, test_xmlparser_is);
	tcase_add_test(tc, test_c2s_client_events);
	tcase_add_test(tc, test_c2s_server_events);
	tcase_add_test(tc, test_s2s_events);
	tcase_add_test(tc, test_component_events);
	tcase_add_test(tc, test_prefix_and_default_ns_streams);
	tcase_add_test(tc, test_opaque_after_proceed);
	tcase_add_test(tc, test_keepalive_shapes);
	tcase_add_test(tc, test_restarts_and_empty_stream);
	tcase_add_test(tc, test_events_before_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunking");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_split_anywhere, 0,
	    (int)sg_tracker_corpus_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_huge_value_fails_early);
	tcase_add_test(tc, test_errors_stick);
	tcase_add_test(tc, test_trailing_cr_reported);
	tcase_add_test(tc, test_release_idle_only_between_stanzas);
	tcase_add_test(tc, test_release_keeps_namespaces);
	tcase_add_test(tc, test_release_keeps_long_namespaces);
	tcase_add_test(tc, test_turn_from_other_callback);
	tcase_add_test(tc, test_result_tables);
	tcase_add_loop_test(tc, test_in_stanza_split_anywhere, 0,
	    (int)(sizeof(in_stanza_cases) / sizeof(in_stanza_cases[0])));
	suite_add_tcase(s, tc);
	return (s);
}
