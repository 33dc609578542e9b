/*
 * Legacy servers as they really write their streams: bytes captured from
 * the interop matrix (tests/interop/matrix.py, the relay between
 * stanzaguard and the server), fed to the close engine.  One test per
 * server behaviour that stanzaguard has to live with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "session.h"
#include "suites.h"

#define NS_STREAMS "http://etherx.jabber.org/streams"
#define TAG "</stream:stream>"
/* What the clients sent, cut down: the servers' side is the point. */
#define C_HDR "<?xml version='1.0'?><stream:stream to='localhost' " \
	"xmlns:stream='" NS_STREAMS "' xmlns='jabber:client' " \
	"xml:lang='en' version='1.0'>"
#define C_AUTH "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' " \
	"mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>"
#define C_BIND "<iq id='b1' type='set'><bind xmlns='urn:ietf:params:xml:" \
	"ns:xmpp-bind'><resource>server-cut</resource></bind></iq>"

/*
 * jabberd2 2.7 (c2s): the prefix "ack" bound on the stream header to the
 * draft XEP-0198 namespace and <ack:ack/> offered with it; the stream
 * prefix declared again on <stream:features> and <stream:error>;
 * xmlns='jabber:client' on every stanza.
 */
#define JD2_HDR(id) "<?xml version='1.0'?><stream:stream xmlns:stream='" \
	NS_STREAMS "' xmlns='jabber:client' from='localhost' version='1.0' " \
	"id='" id "' xmlns:ack='http://www.xmpp.org/extensions/xep-0198." \
	"html#ns'>"
#define JD2_FEATURES1 "<stream:features xmlns:stream='" NS_STREAMS "'>" \
	"<address xmlns='http://affinix.com/jabber/address'>127.0.0.1" \
	"</address><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" \
	"<mechanism>PLAIN</mechanism></mechanisms><auth xmlns='http://" \
	"jabber.org/features/iq-auth'></auth></stream:features>"
#define JD2_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" \
	"</success>"
#define JD2_FEATURES2 "<stream:features xmlns:stream='" NS_STREAMS "'>" \
	"<ack:ack/><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/>" \
	"</bind><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver " \
	"xmlns='urn:xmpp:features:rosterver'></ver></stream:features>"
#define JD2_BOUND "<iq xmlns='jabber:client' id='b1' type='result'><bind " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/" \
	"server-cut</jid></bind></iq>"
#define JD2_MSG "<message xmlns='jabber:client' from='bob@localhost/" \
	"server-cut' xml:lang='en' id='server-cut-bob-2' to='alice@" \
	"localhost/server-cut' type='chat'><body>hello</body></message>"
/*
 * Its idle cut-off (c2s.xml <io><check><idle>): <host-gone/>, not
 * <connection-timeout/>, then its close tag and at once its FIN, without
 * waiting for the answer.
 */
#define JD2_IDLE_CUT "<stream:error xmlns:stream='" NS_STREAMS "'>" \
	"<host-gone xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-streams'>connection timed out" \
	"</text></stream:error></stream:stream>"

/*
 * ejabberd 23.01 (fast_xml): the header's attributes in its own order,
 * xmlns:stream before from and the default namespace last.
 */
#define EJ_HDR(id) "<?xml version='1.0'?><stream:stream id='" id "' " \
	"version='1.0' xml:lang='en' xmlns:stream='" NS_STREAMS "' " \
	"from='localhost' xmlns='jabber:client'>"
#define EJ_FEATURES1 "<stream:features><mechanisms xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>" \
	"</stream:features>"
#define EJ_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
#define EJ_FEATURES2 "<stream:features><bind xmlns='urn:ietf:params:xml:" \
	"ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'>" \
	"<optional/></session></stream:features>"
#define EJ_BOUND "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-bind'><jid>alice@localhost/server-cut</jid></bind></iq>"
#define EJ_MSG "<message xml:lang='en' to='alice@localhost' from='bob@" \
	"localhost/server-cut' type='chat' id='server-cut-bob-2'><body>hello" \
	"</body></message>"
/*
 * `ejabberdctl kick_session`: <conflict/> with the reason as text, its
 * close tag, and its FIN at once.
 */
#define EJ_KICK "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:" \
	"xmpp-streams'/><text xml:lang='en' xmlns='urn:ietf:params:xml:ns:" \
	"xmpp-streams'>interop-cut</text></stream:error></stream:stream>"

/* A session and what it wrote to each side. */
struct q {
	struct sg_session *s;
	uint64_t now;
	char out[2][8192];
	size_t len[2];
};

static void
settle(struct q *q)
{
	struct sg_action a[8];
	struct sg_undelivered u[4];
	struct sg_bq *bq;
	size_t i, n, len;
	int rounds;

	for (rounds = 0; rounds < 100; rounds++) {
		if ((n = sg_session_take_actions(q->s, a, 8)) == 0)
			return;
		for (i = 0; i < n; i++) {
			if (a[i].type == SG_ACT_UNDELIVERED)
				while (sg_session_take_undelivered(q->s, u, 4))
					;
			if (a[i].type != SG_ACT_WRITE)
				continue;
			bq = sg_session_outq(q->s, a[i].side);
			len = sg_bq_len(bq);
			ck_assert_uint_lt(q->len[a[i].side] + len,
			    sizeof(q->out[0]));
			sg_bq_copyout(bq, 0, q->out[a[i].side] +
			    q->len[a[i].side], len);
			q->len[a[i].side] += len;
			q->out[a[i].side][q->len[a[i].side]] = '\0';
			sg_session_on_written(q->s, a[i].side, len, q->now);
		}
	}
	ck_abort_msg("actions never settle");
}

static void
feed(struct q *q, enum sg_side side, const char *bytes)
{

	q->now += 10;
	sg_session_on_bytes(q->s, side, bytes, strlen(bytes), q->now);
	settle(q);
}

static void
eof(struct q *q, enum sg_side side)
{

	q->now += 10;
	sg_session_on_eof(q->s, side, q->now);
	settle(q);
}

/* Everything written to side since the last call is want, exactly. */
static void
expect_out(struct q *q, enum sg_side side, const char *want)
{

	ck_assert_str_eq(q->out[side], want);
	q->len[side] = 0;
	q->out[side][0] = '\0';
}

static struct q *
q_new(void)
{
	struct sg_session_params p;
	struct q *q = calloc(1, sizeof(*q));

	ck_assert_ptr_nonnull(q);
	memset(&p, 0, sizeof(p));
	sg_tracker_limits_default(&p.limits);
	p.idle_timeout = 300000;
	p.close_timeout = 5000;
	p.stanza_timeout = 30000;
	p.policy = SG_POLICY_AUTO;
	p.high_water = 1024 * 1024;
	p.low_water = 256 * 1024;
	q->now = 1000;
	q->s = sg_session_new(&p, q->now);
	ck_assert_ptr_nonnull(q->s);
	return (q);
}

/* Log in through the session: every byte relayed as it came. */
static void
login(struct q *q, const char *hdr1, const char *features1,
    const char *success, const char *hdr2, const char *features2,
    const char *bound)
{
	char first[1024];

	feed(q, SG_CLIENT, C_HDR);
	expect_out(q, SG_SERVER, C_HDR);
	feed(q, SG_SERVER, hdr1);
	feed(q, SG_SERVER, features1);
	snprintf(first, sizeof(first), "%s%s", hdr1, features1);
	expect_out(q, SG_CLIENT, first);
	feed(q, SG_CLIENT, C_AUTH);
	feed(q, SG_SERVER, success);
	feed(q, SG_CLIENT, C_HDR);
	feed(q, SG_SERVER, hdr2);
	feed(q, SG_SERVER, features2);
	feed(q, SG_CLIENT, C_BIND);
	feed(q, SG_SERVER, bound);
	expect_out(q, SG_SERVER, C_AUTH C_HDR C_BIND);
}

/*
 * The server's close tag comes with its stream error and its FIN at once:
 * the client gets both and answers; the session ends as the server's
 * close, the server's side answered with its tag.
 */
static void
server_closes_and_leaves(struct q *q, const char *cut, const char *cond)
{
	const struct sg_session_stats *st;

	feed(q, SG_SERVER, cut);
	eof(q, SG_SERVER);
	expect_out(q, SG_CLIENT, cut);
	feed(q, SG_CLIENT, TAG);
	eof(q, SG_CLIENT);
	st = sg_session_stats(q->s);
	ck_assert_int_eq(st->reason, SG_REASON_SERVER);
	ck_assert_int_eq(st->answer[SG_SERVER], SG_ANSWER_TAG);
	ck_assert_int_eq(st->answer[SG_CLIENT], SG_ANSWER_TAG);
	ck_assert_str_eq(st->error_in[SG_SERVER], cond);
	ck_assert_uint_eq(st->undeliverable[SG_CLIENT], 0);
	ck_assert_uint_eq(st->bounced[SG_CLIENT], 0);
}

START_TEST(test_jabberd2_stream_and_idle_cut)
{
	struct q *q = q_new();
	const struct sg_session_stats *st;

	login(q, JD2_HDR("gfq8oqnjg83m8ilk3249i63njuipxgvdvlljc83t"),
	    JD2_FEATURES1, JD2_SUCCESS,
	    JD2_HDR("7fqp1at3f2mm6960rvx7qb3cxno6qhoxxenypg25"),
	    JD2_FEATURES2, JD2_BOUND);
	expect_out(q, SG_CLIENT, JD2_SUCCESS
	    JD2_HDR("7fqp1at3f2mm6960rvx7qb3cxno6qhoxxenypg25")
	    JD2_FEATURES2 JD2_BOUND);
	feed(q, SG_SERVER, JD2_MSG);
	expect_out(q, SG_CLIENT, JD2_MSG);
	st = sg_session_stats(q->s);
	/* The draft <ack:ack/> is not XEP-0198: no stream management. */
	ck_assert_int_eq(st->sm, 0);
	server_closes_and_leaves(q, JD2_IDLE_CUT, "host-gone");
	sg_session_free(q->s);
	free(q);
}
END_TEST

START_TEST(test_ejabberd_header_and_kick)
{
	struct q *q = q_new();

	login(q, EJ_HDR("4514409188490856"), EJ_FEATURES1, EJ_SUCCESS,
	    EJ_HDR("18214663976692646500"), EJ_FEATURES2, EJ_BOUND);
	expect_out(q, SG_CLIENT, EJ_SUCCESS EJ_HDR("18214663976692646500")
	    EJ_FEATURES2 EJ_BOUND);
	feed(q, SG_SERVER, EJ_MSG);
	expect_out(q, SG_CLIENT, EJ_MSG);
	server_closes_and_leaves(q, EJ_KICK, "conflict");
	sg_session_free(q->s);
	free(q);
}
END_TEST

Suite *
sg_suite_quirks(void)
{
	Suite *s = suite_create("quirks");
	TCase *tc = tcase_create("servers");

	tcase_add_test(tc, test_jabberd2_stream_and_idle_cut);
	tcase_add_test(tc, test_ejabberd_header_and_kick);
	suite_add_tcase(s, tc);
	return (s);
}
