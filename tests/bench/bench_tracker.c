/*
 * How fast the tracker follows a stream, next to bare expat (namespaces,
 * empty handlers) on the same bytes and chunks, and how much memory an
 * idle tracker holds with and without sg_tracker_release_idle().  Last,
 * expat's floor: the least a tracker can do with expat (a plain parser,
 * no namespaces, start and end handlers that only track the depth) on
 * loadgen's own 200-byte stanzas (lgstanza.c, the same generator), in
 * microseconds per stanza: what any proxy that parses with expat pays per
 * stanza and direction.  Then what the tracker pays expat for on the same
 * bytes: handlers, namespace processing, and its own work.
 *
 * usage: bench_tracker              all of it
 *        bench_tracker --floor      the floor alone, one line of key=value
 *                                   (tests/bench/run.sh, for the limit),
 *                                   and the floor's parser with 128 and
 *                                   2,000 streams in turn (floor2_128_...,
 *                                   floor2_2000_...): 64 and 1,000 sessions
 *        bench_tracker --features   the floor and what the tracker adds
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "lgstanza.h"
#include "tracker.h"

#define TOTAL		(100 * 1000 * 1000)
#define BIG_SHARE	(10 * 1000 * 1000)	/* of it in 16 KiB stanzas */
#define CHUNK		(16 * 1024)
#define ROUNDS		5
#define IDLE_TRACKERS	1000
#define FLOOR_STANZAS	200000
#define FLOOR_SIZE	200

#define HEADER	"<?xml version='1.0'?><stream:stream from='example.com' " \
	"id='c2FtcGxl' xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

/* As in lib/xmlparser.c: Debian's 2.5.0 carries 2.6's reparse deferral. */
#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
XML_Bool XML_SetReparseDeferralEnabled(XML_Parser, XML_Bool)
    __attribute__((weak));
#endif

struct buf {
	char *b;
	size_t len;
	size_t cap;
};

static void
put(struct buf *b, const char *s, size_t len)
{

	if (b->len + len > b->cap) {
		fprintf(stderr, "bench: buffer too small\n");
		exit(1);
	}
	memcpy(b->b + b->len, s, len);
	b->len += len;
}

static const char *const bodies[] = {
	"Wherefore art thou, Romeo?",
	"I am here &amp; you are there &lt;3",
	"\xc2\xbf" "D\xc3\xb3nde est\xc3\xa1s? \xe6\x97\xa5\xe6\x9c\xac",
	"See you at the orchard at nine, bring the ladder."
};

/* ~200-byte chat messages with now and then a presence, iq or blank. */
static void
small_stanzas(struct buf *b, size_t upto)
{
	char s[512];
	unsigned i;
	int n;

	for (i = 0; b->len < upto; i++) {
		if (i % 10 == 3)
			n = snprintf(s, sizeof(s), "<presence from='romeo@"
			    "example.net/orchard' to='juliet@example.com/"
			    "balcony'><show>away</show></presence>");
		else if (i % 10 == 7)
			n = snprintf(s, sizeof(s), "<iq type='get' id='p%u' "
			    "to='example.com'><ping xmlns='urn:xmpp:ping'/>"
			    "</iq>\n", i);
		else
			n = snprintf(s, sizeof(s), "<message from='romeo@"
			    "example.net/orchard' to='juliet@example.com/"
			    "balcony' type='chat' id='m%08u'><body>%s</body>"
			    "</message>", i, bodies[i % 4]);
		put(b, s, (size_t)n);
	}
}

static void
big_stanzas(struct buf *b, size_t upto)
{
	static const char head[] = "<message to='juliet@example.com' "
	    "type='chat'><body>";
	static const char tail[] = "</body></message>\n";
	size_t text = 16 * 1024 - (sizeof(head) - 1) - (sizeof(tail) - 1);
	size_t i;

	while (b->len < upto) {
		put(b, head, sizeof(head) - 1);
		for (i = 0; i < text; i++)
			b->b[b->len + i] = i % 61 == 60 ? ' ' : 'a' + i % 26;
		b->len += text;
		put(b, tail, sizeof(tail) - 1);
	}
}

static void
traffic(struct buf *b)
{

	b->cap = TOTAL + 64 * 1024;
	if ((b->b = malloc(b->cap)) == NULL) {
		perror("malloc");
		exit(1);
	}
	b->len = 0;
	put(b, HEADER, sizeof(HEADER) - 1);
	small_stanzas(b, (TOTAL - BIG_SHARE) / 2);
	big_stanzas(b, (TOTAL - BIG_SHARE) / 2 + BIG_SHARE);
	small_stanzas(b, TOTAL);
	put(b, "</stream:stream>", 16);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static void XMLCALL
bare_start(void *ud, const XML_Char *name, const XML_Char **atts)
{

	(void)ud;
	(void)name;
	(void)atts;
}

static void XMLCALL
bare_end(void *ud, const XML_Char *name)
{

	(void)ud;
	(void)name;
}

static void XMLCALL
bare_text(void *ud, const XML_Char *s, int len)
{

	(void)ud;
	(void)s;
	(void)len;
}

/* Feed b to p in CHUNK slices; the seconds it took.  Frees p. */
static double
parse_all(XML_Parser p, const struct buf *b)
{
	size_t at, n;
	double t0;

	t0 = now();
	for (at = 0; at < b->len; at += n) {
		n = b->len - at < CHUNK ? b->len - at : CHUNK;
		if (XML_Parse(p, b->b + at, (int)n, XML_FALSE) !=
		    XML_STATUS_OK) {
			fprintf(stderr, "expat: %s\n",
			    XML_ErrorString(XML_GetErrorCode(p)));
			exit(1);
		}
	}
	t0 = now() - t0;
	XML_ParserFree(p);
	return (t0);
}

static double
run_expat(const struct buf *b)
{
	XML_Parser p;

	p = XML_ParserCreateNS("UTF-8", '\xff');
	XML_SetReturnNSTriplet(p, XML_TRUE);
	XML_SetElementHandler(p, bare_start, bare_end);
	XML_SetCharacterDataHandler(p, bare_text);
#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
	if (XML_SetReparseDeferralEnabled != NULL)
#endif
		(void)XML_SetReparseDeferralEnabled(p, XML_FALSE);
	return (parse_all(p, b));
}

static void
count(void *ctx, const struct sg_tracker_event *ev)
{

	(void)ev;
	(*(uint64_t *)ctx)++;
}

static double
run_tracker(const struct buf *b, uint64_t *events)
{
	struct sg_tracker_limits lim;
	struct sg_tracker *t;
	enum sg_tracker_result r;
	size_t at, n;
	double t0;

	sg_tracker_limits_default(&lim);
	*events = 0;
	t = sg_tracker_new(&lim, count, events);
	t0 = now();
	for (at = 0; at < b->len; at += n) {
		n = b->len - at < CHUNK ? b->len - at : CHUNK;
		if ((r = sg_tracker_feed(t, b->b + at, n)) != SG_TRACK_OK) {
			fprintf(stderr, "tracker: %s\n",
			    sg_tracker_strerror(r));
			exit(1);
		}
	}
	t0 = now() - t0;
	sg_tracker_free(t);
	return (t0);
}

static size_t
heap_used(void)
{

	return (mallinfo2().uordblks);
}

/* Bytes per tracker after a login-sized exchange, then after release. */
static void
idle_memory(void)
{
	static const char traffic_in[] = HEADER
	    "<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-bind'><resource>balcony</resource></bind></iq>\n"
	    "<presence/><message to='romeo@example.net' id='m1'><body>"
	    "Hello</body></message>\n";
	struct sg_tracker_limits lim;
	struct sg_tracker **t;
	uint64_t ev;
	size_t base, held, released, i;

	sg_tracker_limits_default(&lim);
	if ((t = calloc(IDLE_TRACKERS, sizeof(*t))) == NULL)
		exit(1);
	base = heap_used();
	for (i = 0; i < IDLE_TRACKERS; i++) {
		t[i] = sg_tracker_new(&lim, count, &ev);
		(void)sg_tracker_feed(t[i], traffic_in,
		    sizeof(traffic_in) - 1);
	}
	held = heap_used() - base;
	for (i = 0; i < IDLE_TRACKERS; i++)
		(void)sg_tracker_release_idle(t[i]);
	released = heap_used() - base;
	printf("idle tracker: %zu bytes held, %zu after release_idle "
	    "(mallinfo2, mean of %d, malloc overhead included)\n",
	    held / IDLE_TRACKERS, released / IDLE_TRACKERS, IDLE_TRACKERS);
	for (i = 0; i < IDLE_TRACKERS; i++)
		sg_tracker_free(t[i]);
	free(t);
}

/* The figure that loadgen's 16 KiB throughput runs compare with. */
static double
big_only_mbytes_s(void)
{
	struct buf b;
	double best = 1e9, d;
	int i;

	b.cap = BIG_SHARE + 64 * 1024;
	if ((b.b = malloc(b.cap)) == NULL) {
		perror("malloc");
		exit(1);
	}
	b.len = 0;
	put(&b, HEADER, sizeof(HEADER) - 1);
	big_stanzas(&b, BIG_SHARE);
	for (i = 0; i < ROUNDS; i++)
		if ((d = run_expat(&b)) < best)
			best = d;
	free(b.b);
	return (b.len / 1e6 / best);
}

/*
 * loadgen's stream as it reaches echo_upstream: its header, then n of its
 * stanzas (lgstanza.c), numbered from 1 and stamped 1 us apart.
 */
static void
loadgen_stanzas(struct buf *b, size_t n)
{
	static const char header[] = LGSTANZA_HEADER(LGSTANZA_ECHO_DOMAIN);
	struct lgstanza st;
	uint64_t t0 = (uint64_t)(now() * 1e9);
	size_t i;

	if (lgstanza_init(&st, LGSTANZA_ECHO_TO, FLOOR_SIZE) == -1) {
		perror("lgstanza_init");
		exit(1);
	}
	b->cap = sizeof(header) + n * FLOOR_SIZE;
	if ((b->b = malloc(b->cap)) == NULL) {
		perror("malloc");
		exit(1);
	}
	b->len = 0;
	put(b, header, sizeof(header) - 1);
	for (i = 0; i < n; i++) {
		lgstanza_put(&st, b->b + b->len, i + 1, t0 + i * 1000);
		b->len += FLOOR_SIZE;
	}
	lgstanza_free(&st);
}

static void XMLCALL
depth_start(void *ud, const XML_Char *name, const XML_Char **atts)
{

	(void)name;
	(void)atts;
	(*(int *)ud)++;
}

static void XMLCALL
depth_end(void *ud, const XML_Char *name)
{

	(void)name;
	(*(int *)ud)--;
}

/*
 * What the tracker pays expat for, on loadgen's stream (issue 14): the
 * floor is V_DEPTH; V_BARE has no handlers, V_NS adds namespace
 * processing with triplets (what the tracker asks of expat), V_TRACKER is
 * the tracker itself, all its handlers and classification included.
 */
enum variant { V_BARE, V_DEPTH, V_NS, V_TRACKER, V_COUNT };

static const char *const variant_name[V_COUNT] = {
	"plain parser, no handlers",
	"plain parser, depth handlers (the floor)",
	"namespaces and triplets, depth handlers",
	"the tracker (lib/tracker.c)"
};

/*
 * A parser as variant v (not V_TRACKER) has it, its depth in *depth.
 * Reparse deferral off, as lib/xmlparser.c has it: on, expat may scan a
 * chunk's last token twice, which no tracker needs to pay.
 */
static XML_Parser
variant_parser(enum variant v, int *depth)
{
	XML_Parser p = v == V_NS ? XML_ParserCreateNS(NULL, '\xff') :
	    XML_ParserCreate(NULL);

	if (p == NULL)
		exit(1);
	if (v == V_NS)
		XML_SetReturnNSTriplet(p, XML_TRUE);
	XML_SetUserData(p, depth);
	if (v != V_BARE)
		XML_SetElementHandler(p, depth_start, depth_end);
#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
	if (XML_SetReparseDeferralEnabled != NULL)
#endif
		(void)XML_SetReparseDeferralEnabled(p, XML_FALSE);
	return (p);
}

/* One parse of b with variant v. */
static double
run_variant(const struct buf *b, enum variant v)
{
	double t;
	int depth = 0;

	if (v == V_TRACKER) {
		uint64_t events = 0;

		return (run_tracker(b, &events));
	}
	t = parse_all(variant_parser(v, &depth), b);
	/* Inside the stream, every stanza closed. */
	if (v != V_BARE && depth != 1) {
		fprintf(stderr, "floor: depth %d at the end\n", depth);
		exit(1);
	}
	return (t);
}

/* The best of ROUNDS parses of loadgen's stream, in seconds. */
static double
variant_best(const struct buf *b, enum variant v)
{
	double best = 1e9, d;
	int i;

	for (i = 0; i < ROUNDS; i++)
		if ((d = run_variant(b, v)) < best)
			best = d;
	return (best);
}

static double
floor_best(const struct buf *b)
{

	return (variant_best(b, V_DEPTH));
}

/*
 * The floor's parser as the proxy uses it: nstreams of them in turn, each
 * given per_feed stanzas at a time (a read's worth), the same source bytes
 * for all in one turn (the proxy reads every socket into one buffer).  At
 * 1,000 sessions the proxy keeps 2,000 parsers, whose state no cache
 * holds; the floor keeps one, fed 16 KiB at a time.  Seconds per stanza.
 * 8 stanzas a feed: the proxy's reads at 1,000 sessions (16 a feed, or 1
 * stream at 8, were within 3% of the same).
 */
#define STREAM_STANZAS	400000
#define STREAM_FEED	8

/* The same len bytes at s to each of the n parsers. */
static void
feed_each(XML_Parser *p, int n, const char *s, size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (XML_Parse(p[i], s, (int)len, XML_FALSE) != XML_STATUS_OK)
			exit(1);
}

static double
streams_in_turn(const struct buf *b, size_t hdr, int nstreams, int per_feed)
{
	XML_Parser *p = calloc((size_t)nstreams, sizeof(*p));
	int *depth = calloc((size_t)nstreams, sizeof(*depth));
	size_t feed = (size_t)per_feed * FLOOR_SIZE, off = hdr, done;
	double t0;
	int i;

	if (p == NULL || depth == NULL)
		exit(1);
	for (i = 0; i < nstreams; i++)
		p[i] = variant_parser(V_DEPTH, &depth[i]);
	feed_each(p, nstreams, b->b, hdr);
	/* One turn untimed: each parser's buffer grown, as in a busy proxy. */
	feed_each(p, nstreams, b->b + off, feed);
	off += feed;
	t0 = now();
	for (done = 0; done < STREAM_STANZAS;
	    done += (size_t)nstreams * (size_t)per_feed) {
		if (off + feed > b->len)
			off = hdr;
		feed_each(p, nstreams, b->b + off, feed);
		off += feed;
	}
	t0 = now() - t0;
	for (i = 0; i < nstreams; i++) {
		if (depth[i] != 1)
			exit(1);
		XML_ParserFree(p[i]);
	}
	free(p);
	free(depth);
	return (t0 / (double)done);
}

/* The best of ROUNDS, in seconds per stanza and direction. */
static double
streams_best(const struct buf *b, int nstreams)
{
	size_t hdr = b->len - FLOOR_STANZAS * (size_t)FLOOR_SIZE;
	double best = 1e9, d;
	int r;

	for (r = 0; r < ROUNDS; r++)
		if ((d = streams_in_turn(b, hdr, nstreams, STREAM_FEED)) < best)
			best = d;
	return (best);
}

/* One stream, then the parsers of 64 and of 1,000 sessions. */
static const int session_streams[] = { 1, 128, 2000 };
#define NSESSION_STREAMS \
	(sizeof(session_streams) / sizeof(session_streams[0]))

static void
expat_streams(const struct buf *b, double floor_s)
{
	size_t i;

	for (i = 0; i < NSESSION_STREAMS; i++) {
		double t = streams_best(b, session_streams[i]);

		printf("floor's parser, %4d streams in turn         %7.1f ns per "
		    "stanza, %.2fx the floor\n", session_streams[i], t * 1e9,
		    t / (floor_s / FLOOR_STANZAS));
	}
}

/* Each variant per stanza, and over the floor. */
static void
expat_features(void)
{
	struct buf b;
	double t[V_COUNT];
	int v;

	loadgen_stanzas(&b, FLOOR_STANZAS);
	for (v = 0; v < V_COUNT; v++)
		t[v] = variant_best(&b, (enum variant)v);
	for (v = 0; v < V_COUNT; v++)
		printf("%-42s %7.1f ns per stanza, %.2fx the floor\n",
		    variant_name[v], t[v] * 1e9 / FLOOR_STANZAS,
		    t[v] / t[V_DEPTH]);
	expat_streams(&b, t[V_DEPTH]);
	free(b.b);
}

static void
expat_floor(int kv)
{
	struct buf b;
	double best;

	loadgen_stanzas(&b, FLOOR_STANZAS);
	best = floor_best(&b);
	if (kv)
		printf("floor_ns_per_stanza=%.1f floor2_us_per_stanza=%.3f "
		    "floor_mbytes_s=%.0f stanza_bytes=%d stanzas=%d "
		    "rounds=%d floor2_128_us_per_stanza=%.3f "
		    "floor2_2000_us_per_stanza=%.3f\n",
		    best * 1e9 / FLOOR_STANZAS,
		    2 * best * 1e6 / FLOOR_STANZAS, b.len / 1e6 / best,
		    FLOOR_SIZE, FLOOR_STANZAS, ROUNDS,
		    2 * streams_best(&b, 128) * 1e6,
		    2 * streams_best(&b, 2000) * 1e6);
	else
		printf("expat floor: %.3f us per %d-byte stanza of loadgen's "
		    "(plain parser, depth handlers; %.0f MB/s), %.3f us per "
		    "echoed stanza (parsed both ways)\n",
		    best * 1e6 / FLOOR_STANZAS, FLOOR_SIZE, b.len / 1e6 / best,
		    2 * best * 1e6 / FLOOR_STANZAS);
	free(b.b);
}

int
main(int argc, char **argv)
{
	struct buf b;
	double bare = 1e9, trk = 1e9, d;
	uint64_t events = 0;
	int i;

	if (argc == 2 && strcmp(argv[1], "--floor") == 0) {
		expat_floor(1);
		return (0);
	}
	if (argc == 2 && strcmp(argv[1], "--features") == 0) {
		expat_features();
		return (0);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: bench_tracker [--floor | --features]\n");
		return (2);
	}

	traffic(&b);
	for (i = 0; i < ROUNDS; i++) {
		if ((d = run_expat(&b)) < bare)
			bare = d;
		if ((d = run_tracker(&b, &events)) < trk)
			trk = d;
	}
	printf("stream: %.1f MB, %llu events, %d KiB chunks, best of %d\n",
	    b.len / 1e6, (unsigned long long)events, CHUNK / 1024, ROUNDS);
	printf("bare expat: %.0f MB/s\n", b.len / 1e6 / bare);
	printf("bare expat, 16 KiB stanzas alone: %.0f MB/s\n",
	    big_only_mbytes_s());
	printf("tracker:    %.0f MB/s (%.2fx the time of bare expat)\n",
	    b.len / 1e6 / trk, trk / bare);
	idle_memory();
	free(b.b);
	expat_floor(0);
	expat_features();
	return (0);
}
