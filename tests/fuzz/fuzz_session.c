/*
 * libFuzzer target for the close engine: the input is a program of events
 * (XMPP fragments or raw bytes from either side, EOF, time passing, partial
 * writes, write errors, service stop, upstream failure).  After every step
 * the spec's invariants are checked, and abort() on a breach:
 *  - what is written to each side parses as an XMPP stream (close tags at
 *    stanza boundaries, well-formed composed XML), and nothing follows the
 *    close tag, nor any shutdown;
 *  - no action after CLOSE, and no deadline left in the past by a timer;
 *  - rule 5: every complete stanza read is forwarded, handed back, bounced
 *    or counted (stream management on C's behalf when bit 5 of the first
 *    byte is set: SM fragments below, and C's TCP acknowledgements);
 *  - every <stream:features> C gets is one S sent, byte for byte, with its
 *    <starttls/> children cut out if and only if hide_starttls is on
 *    (bit 4 of the first byte).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "tracker.h"

#define HDR_C "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='a.example'>"
#define HDR_S "<stream:stream xmlns='jabber:client' xmlns:stream=" \
	"'http://etherx.jabber.org/streams' from='a.example' id='x'>"

static const char *fragments[] = {
	HDR_C, HDR_S, "</stream:stream>", " ", "\n",
	"<message to='b@a.example' id='m1' type='chat'><body>hi</body>"
	    "</message>",
	"<message from='b@a.example/r' id='m2'><body>&lt;yo&gt;</body>"
	    "</message>",
	"<iq type='get' id='q1' from='c@a.example/r'><ping xmlns='urn:xmpp:"
	    "ping'/></iq>",
	"<iq type='result' id='q1'/>", "<presence/>",
	"<message type='groupchat' id='g'/>",
	"<message><body>part", "ial</body></message>", "<iq type='set' id",
	"='z'/>",
	"<stream:error><connection-timeout xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-streams'/></stream:error>",
	"<enabled xmlns='urn:xmpp:sm:3' resume='true'/>",
	"<enabled xmlns='urn:xmpp:sm:3'/>", "<r xmlns='urn:xmpp:sm:3'/>",
	"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
	"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
	"<!-- no -->", "<message><body>&foo;</body></message>",
	/* New ones at the end: the seeds' indices stay what they were. */
	"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
	    "<required/></starttls><mechanisms xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
	    "</stream:features>",
	"<stream:features><tls:starttls xmlns:tls='urn:ietf:params:xml:ns:"
	    "xmpp-tls'/>",
	"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
	"</stream:features>",
	"<stream:features><sm xmlns='urn:xmpp:sm:3'/></stream:features>",
	"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-"
	    "bind'/></iq>",
	"<iq type='result' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-"
	    "bind'><jid>c@a.example/r</jid></bind></iq>",
	"<failed xmlns='urn:xmpp:sm:3'/>", "<a xmlns='urn:xmpp:sm:3' h='1'/>",
	"<a xmlns='urn:xmpp:sm:3' h='4294967295'/>",
	"<enable xmlns='urn:xmpp:sm:3'/>",
};
#define NFRAG (sizeof(fragments) / sizeof(fragments[0]))

/* Every byte fed to a tracker, to read its events' spans back. */
struct bytelog {
	char *b;
	size_t len, cap;
};

static void
log_bytes(struct bytelog *l, const char *buf, size_t n)
{

	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2;
		if ((l->b = realloc(l->b, l->cap)) == NULL)
			abort();
	}
	memcpy(l->b + l->len, buf, n);
	l->len += n;
}

/* The <stream:features> S sent, as C must get them, oldest first. */
struct expected {
	char **f;
	size_t head, n, cap;
};

static int
is_features(const struct sg_tracker_event *ev)
{

	return (ev->type == SG_EV_STANZA && strcmp(ev->name, "features") == 0 &&
	    strcmp(ev->ns, "http://etherx.jabber.org/streams") == 0);
}

/* What S sent, parsed as the session does. */
struct sender {
	struct sg_tracker *trk;
	struct bytelog log;
	struct expected *exp;
	int hide;
};

static void
on_sender_event(void *ctx, const struct sg_tracker_event *ev)
{
	struct sender *sd = ctx;
	struct expected *e = sd->exp;
	uint64_t at = ev->start;
	size_t i, k = 0;
	char *f;

	if (!is_features(ev))
		return;
	if ((f = malloc((size_t)(ev->end - ev->start) + 1)) == NULL)
		abort();
	for (i = 0; sd->hide && i < ev->nstarttls; i++) {
		memcpy(f + k, sd->log.b + at, ev->starttls[i].start - at);
		k += ev->starttls[i].start - at;
		at = ev->starttls[i].end;
	}
	memcpy(f + k, sd->log.b + at, ev->end - at);
	f[k + (ev->end - at)] = '\0';
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		if ((e->f = realloc(e->f, e->cap * sizeof(*e->f))) == NULL)
			abort();
	}
	e->f[e->n++] = f;
}

/*
 * Features C got: the next ones S sent that match, those before it were
 * not delivered.  None matching is a change the session made.
 */
static void
check_features(struct expected *e, const char *got, size_t len)
{

	for (; e->head < e->n; e->head++)
		if (strlen(e->f[e->head]) == len &&
		    memcmp(e->f[e->head], got, len) == 0) {
			e->head++;
			return;
		}
	abort();
}

/* What one side has been sent, parsed again as that side would. */
struct view {
	struct sg_tracker *trk;
	struct bytelog log;
	struct expected *exp;	/* C's view: check features against */
	int closed;		/* a close tag has been seen */
	int shut;
	int opaque;
	uint64_t after_close;	/* non-whitespace bytes after the tag */
	struct view *other;
};

static void
on_view_event(void *ctx, const struct sg_tracker_event *ev)
{
	struct view *v = ctx;

	if (ev->type == SG_EV_CLOSE)
		v->closed = 1;
	if (ev->type != SG_EV_STANZA)
		return;
	if (v->exp != NULL && is_features(ev))
		check_features(v->exp, v->log.b + ev->start,
		    (size_t)(ev->end - ev->start));
	if (ev->kind == SG_STANZA_SASL_SUCCESS)
		sg_tracker_expect_restart(v->other->trk);
	if (ev->kind == SG_STANZA_TLS_PROCEED) {
		sg_tracker_set_opaque(v->other->trk);
		v->opaque = v->other->opaque = 1;
	}
}

struct world {
	struct sg_session *s;
	struct view view[2];
	struct sender sender;
	struct expected exp;
	uint64_t now;
	int over;
	int restarted;		/* a SASL <success/> was fed */
};

static void
check_accounting(const struct sg_session_stats *st)
{
	int x;

	for (x = 0; x < 2; x++) {
		uint64_t rw = x == SG_SERVER ? st->rewritten +
		    st->handed_back : 0;

		if (st->stanzas_in[x] != st->stanzas_out[1 - x] +
		    st->bounced[x] + st->undeliverable[x] + st->sm_own[x] + rw)
			abort();
	}
}

static void
write_some(struct world *w, enum sg_side side, size_t max)
{
	struct sg_bq *q = sg_session_outq(w->s, side);
	struct view *v = &w->view[side];
	char buf[4096];
	size_t n = sg_bq_len(q);

	if (n > max)
		n = max;
	if (n > sizeof(buf))
		n = sizeof(buf);
	if (n == 0)
		return;
	if (v->shut)
		abort();
	sg_bq_copyout(q, 0, buf, n);
	if (v->closed && !sg_session_stats(w->s)->opaque) {
		size_t i;

		for (i = 0; i < n; i++)
			if (buf[i] != ' ' && buf[i] != '\n')
				abort();
	}
	if (getenv("FUZZ_DEBUG") != NULL)
		fprintf(stderr, "to %c: %.*s\n", side == SG_CLIENT ? 'C' : 'S',
		    (int)n, buf);
	log_bytes(&v->log, buf, n);
	/* The sender's parse of S's stream no longer follows the session's. */
	if (w->restarted || v->opaque || sg_session_stats(w->s)->opaque)
		v->exp = NULL;
	/*
	 * Once opaque or restarted, a view may not have seen the <proceed/>
	 * or <success/> that the other side was sent: the fuzzer's peers
	 * pipeline where real ones wait, so the view cannot follow.
	 */
	if (sg_tracker_feed(v->trk, buf, n) != SG_TRACK_OK && !v->opaque &&
	    !sg_session_stats(w->s)->opaque && !w->restarted)
		abort();
	sg_session_on_written(w->s, side, n, w->now);
}

static void
take_actions(struct world *w)
{
	struct sg_action a[8];
	size_t i, n;
	int rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		if ((n = sg_session_take_actions(w->s, a, 8)) == 0)
			break;
		if (w->over)
			abort();
		for (i = 0; i < n; i++) {
			if (a[i].type == SG_ACT_SHUTDOWN) {
				if (sg_bq_len(sg_session_outq(w->s,
				    a[i].side)) != 0)
					abort();
				w->view[a[i].side].shut = 1;
			}
			if (a[i].type == SG_ACT_CLOSE)
				w->over = 1;
		}
	}
	check_accounting(sg_session_stats(w->s));
}

static void
from_side(struct world *w, enum sg_side side, const char *buf, size_t n)
{

	if (side == SG_SERVER) {
		log_bytes(&w->sender.log, buf, n);
		(void)sg_tracker_feed(w->sender.trk, buf, n);
	}
	sg_session_on_bytes(w->s, side, buf, n, w->now);
}

static void
world_free(struct world *w)
{
	size_t i;
	int side;

	for (side = 0; side < 2; side++) {
		sg_tracker_free(w->view[side].trk);
		free(w->view[side].log.b);
	}
	sg_tracker_free(w->sender.trk);
	free(w->sender.log.b);
	for (i = 0; i < w->exp.n; i++)
		free(w->exp.f[i]);
	free(w->exp.f);
	sg_session_free(w->s);
}

static size_t
step(struct world *w, const uint8_t *p, size_t len)
{
	enum sg_side side = (p[0] & 1) ? SG_SERVER : SG_CLIENT;
	unsigned arg = len > 1 ? p[1] : 0;

	switch ((p[0] >> 1) % 11) {
	case 0:
	case 1:
	case 2: {
		const char *f = fragments[arg % NFRAG];

		if (strstr(f, "<success") != NULL)
			w->restarted = 1;
		from_side(w, side, f, strlen(f));
		return (2);
	}
	case 3: {
		size_t n;

		if (len < 3)
			return (len);
		n = arg < len - 2 ? arg : len - 2;
		if (n == 0)
			return (2);
		from_side(w, side, (const char *)p + 2, n);
		return (2 + n);
	}
	case 4:
		sg_session_on_eof(w->s, side, w->now);
		return (1);
	case 5:
		w->now += (uint64_t)arg * 500;
		if (sg_session_deadline(w->s) <= w->now) {
			sg_session_on_timer(w->s, w->now);
			/* A deadline left in the past would spin the timer. */
			if (sg_session_deadline(w->s) <= w->now)
				abort();
		}
		return (2);
	case 6:
		write_some(w, side, arg == 0 ? SIZE_MAX : arg * 4);
		return (2);
	case 7:
		sg_session_on_write_error(w->s, side, w->now);
		return (1);
	case 8:
		if (arg & 1)
			sg_session_on_shutdown(w->s, w->now);
		else if (arg & 2)
			sg_session_on_upstream_failed(w->s, w->now);
		else
			sg_session_on_force_close(w->s, w->now);
		return (2);
	case 9:
		/* C's TCP acknowledged a part of what it was written. */
		sg_session_on_acked(w->s, w->view[SG_CLIENT].log.len * arg / 255,
		    w->now);
		return (2);
	default:
		write_some(w, SG_CLIENT, SIZE_MAX);
		write_some(w, SG_SERVER, SIZE_MAX);
		return (1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_session_params p;
	struct world w;
	int side, steps = 0;

	memset(&p, 0, sizeof(p));
	memset(&w, 0, sizeof(w));
	sg_tracker_limits_default(&p.limits);
	p.limits.max_stanza = 4096;
	p.idle_timeout = 60000;
	p.close_timeout = 5000;
	p.stanza_timeout = 20000;
	p.policy = size > 0 ? data[0] % 3 : 0;
	p.server_first = size > 0 && (data[0] & 4);
	p.rewrite_idle_errors = size > 0 && (data[0] & 8);
	p.hide_starttls = size > 0 && (data[0] & 16);
	p.sm_handback = size > 0 && (data[0] & 32);
	p.high_water = 2048;
	p.low_water = 512;
	w.now = 1;
	if ((w.s = sg_session_new(&p, w.now)) == NULL)
		return (0);
	for (side = 0; side < 2; side++) {
		w.view[side].trk = sg_tracker_new(&p.limits, on_view_event,
		    &w.view[side]);
		w.view[side].other = &w.view[1 - side];
	}
	w.view[SG_CLIENT].exp = &w.exp;
	w.sender.exp = &w.exp;
	w.sender.hide = p.hide_starttls;
	w.sender.trk = sg_tracker_new(&p.limits, on_sender_event, &w.sender);
	if (size > 0) {
		data++;
		size--;
	}
	while (size > 0 && steps++ < 512) {
		size_t used = step(&w, data, size);

		if (used > size)
			used = size;
		take_actions(&w);
		data += used;
		size -= used;
	}
	world_free(&w);
	return (0);
}
