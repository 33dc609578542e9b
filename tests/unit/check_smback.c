/*
 * Stream management on C's behalf (spec: "Handing undelivered stanzas
 * back"), one numbered point or close reason per test, through the close
 * engine: the exact bytes each side is sent, and the counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sessharness.h"
#include "smback.h"
#include "suites.h"

#define NS_SM "urn:xmpp:sm:3"
#define S_FEATURES "<stream:features><bind xmlns='urn:ietf:params:xml:" \
	"ns:xmpp-bind'/><sm xmlns='" NS_SM "'/></stream:features>"
#define C_BIND "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-bind'><resource>r</resource></bind></iq>"
#define S_BIND "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-bind'><jid>alice@example.com/r</jid></bind></iq>"
#define C_SESSION "<iq type='set' id='s1'><session xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-session'/></iq>"
#define C_PRES "<presence/>"
#define ENABLE "<enable xmlns='" NS_SM "'/>"
#define ENABLED "<enabled xmlns='" NS_SM "'/>"
#define FAILED "<failed xmlns='" NS_SM "'/>"
#define R "<r xmlns='" NS_SM "'/>"
#define A(n) "<a xmlns='" NS_SM "' h='" #n "'/>"
#define C_FAILED "<failed xmlns='" NS_SM "'><unexpected-request " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
#define S_ERROR "<stream:error><connection-timeout xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-streams'/></stream:error>"
#define C_MSG2 "<message to='bob@example.com' id='m2' type='chat'>" \
	"<body>hi</body></message>"
#define BOUNCE_C_MSG2 "<message from='bob@example.com' id='m2' " \
	"type='error'><error type='wait'><recipient-unavailable " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
#define C_MSG3 "<message to='bob@example.com' id='m3' type='chat'>" \
	"<body>hi</body></message>"
#define CSI "<inactive xmlns='urn:xmpp:csi:0'/>"
#define BOUNCE_C_MSG3 "<message from='bob@example.com' id='m3' " \
	"type='error'><error type='wait'><recipient-unavailable " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"

static struct sg_session_params
sm_params(void)
{
	struct sg_session_params p = params();

	p.sm_handback = 1;
	return (p);
}

/* Opened, S offers SM, C bound. */
static struct h *
bound_with(struct sg_session_params p)
{
	struct h *h = opened_with(p);

	feed(h, SG_SERVER, S_FEATURES);
	feed(h, SG_CLIENT, C_BIND);
	feed(h, SG_SERVER, S_BIND);
	EXPECT_OUT(h, SG_CLIENT, S_FEATURES S_BIND);
	EXPECT_OUT(h, SG_SERVER, C_BIND);
	return (h);
}

/* Bound, then SM enabled on C's behalf by C's first presence. */
static struct h *
handing_back(void)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, ENABLE C_PRES);
	feed(h, SG_SERVER, ENABLED);
	/* Hidden from C; S is asked for its count of the presence. */
	EXPECT_OUT(h, SG_CLIENT, "");
	EXPECT_OUT(h, SG_SERVER, R);
	feed(h, SG_SERVER, A(1));
	EXPECT_OUT(h, SG_CLIENT, "");
	ck_assert_int_eq(stats(h)->sm_handback, 1);
	ck_assert_int_eq(stats(h)->sm, 0);
	return (h);
}

/* All bytes written to C so far acknowledged by C's TCP. */
static void
acked_all(struct h *h)
{
	uint64_t w = stats(h)->bytes_out[SG_CLIENT];

	if (sg_session_counts_acks(h->s))
		sg_session_on_acked(h->s, w, h->now);
	run(h);
}

/* Handing back, S reading nothing, and C's stanzas queued for it. */
static struct h *
queued_for_server(const char *stanzas)
{
	struct h *h = handing_back();

	h->stalled[SG_SERVER] = 1;
	feed(h, SG_CLIENT, stanzas);
	return (h);
}

/* Rule 5's identity for S's stanzas (stream errors are counted too). */
static void
server_stanzas_add_up(struct h *h)
{
	const struct sg_session_stats *st = stats(h);

	ck_assert_uint_eq(st->stanzas_in[SG_SERVER],
	    st->stanzas_out[SG_CLIENT] + st->bounced[SG_SERVER] +
	    st->undeliverable[SG_SERVER] + st->sm_own[SG_SERVER] +
	    st->rewritten + st->handed_back);
}

/* Rule 5's identity for C's stanzas: each forwarded, bounced or named. */
static void
client_stanzas_add_up(struct h *h)
{

	ck_assert_uint_eq(stats(h)->stanzas_in[SG_CLIENT],
	    stats(h)->stanzas_out[SG_SERVER] + stats(h)->bounced[SG_CLIENT] +
	    stats(h)->undeliverable[SG_CLIENT] +
	    stats(h)->sm_own[SG_CLIENT]);
}

START_TEST(test_enable_after_bind)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG R);
	h_free(h);
}
END_TEST

START_TEST(test_legacy_session_iq_skipped)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, C_SESSION);
	EXPECT_OUT(h, SG_SERVER, C_SESSION);
	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, ENABLE C_PRES);
	h_free(h);
}
END_TEST

/* Found by fuzz_session: S gone before C's first element after bind. */
START_TEST(test_no_enable_after_server_gone)
{
	struct h *h = bound_with(sm_params());

	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, "");
	h_free(h);
}
END_TEST

START_TEST(test_off_without_option)
{
	struct h *h = bound_with(params());

	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, C_PRES);
	h_free(h);
}
END_TEST

START_TEST(test_off_without_offer)
{
	struct h *h = opened_with(sm_params());

	feed(h, SG_CLIENT, C_BIND);
	feed(h, SG_SERVER, S_BIND);
	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, C_BIND C_PRES);
	h_free(h);
}
END_TEST

START_TEST(test_client_does_sm_itself)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, "<enable xmlns='" NS_SM "' resume='true'/>");
	EXPECT_OUT(h, SG_SERVER, "<enable xmlns='" NS_SM "' resume='true'/>");
	feed(h, SG_SERVER, "<enabled xmlns='" NS_SM "' resume='true'/>" R);
	EXPECT_OUT(h, SG_CLIENT, "<enabled xmlns='" NS_SM "' resume='true'/>"
	    R);
	ck_assert_int_eq(stats(h)->sm_resumable, 1);
	ck_assert_int_eq(stats(h)->sm_handback, 0);
	h_free(h);
}
END_TEST

START_TEST(test_late_enable_from_client_failed)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, ENABLE);
	EXPECT_OUT(h, SG_SERVER, "");
	EXPECT_OUT(h, SG_CLIENT, C_FAILED);
	ck_assert_uint_eq(stats(h)->sm_own[SG_CLIENT], 1);
	h_free(h);
}
END_TEST

START_TEST(test_server_refuses)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, C_PRES);
	feed(h, SG_SERVER, FAILED S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG);
	ck_assert_int_eq(stats(h)->sm_refused, 1);
	/* As without SM: C's own enable goes to S, no <a/> at the end. */
	feed(h, SG_CLIENT, ENABLE TAG);
	EXPECT_OUT(h, SG_SERVER, ENABLE C_PRES ENABLE TAG);
	h_free(h);
}
END_TEST

/* Point 3 and 4: h counts what C's TCP acknowledged, at each <r/>. */
START_TEST(test_request_answered_with_tcp_count)
{
	struct h *h = handing_back();
	uint64_t before = stats(h)->bytes_out[SG_CLIENT];

	feed(h, SG_SERVER, S_MSG S_MSG S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG S_MSG S_MSG);
	ck_assert(sg_session_counts_acks(h->s));
	/* Two whole stanzas and a byte of the third. */
	sg_session_on_acked(h->s, before + 2 * strlen(S_MSG) + 1, h->now);
	feed(h, SG_SERVER, R);
	EXPECT_OUT(h, SG_SERVER, A(2));
	EXPECT_OUT(h, SG_CLIENT, "");
	acked_all(h);
	feed(h, SG_SERVER, R);
	EXPECT_OUT(h, SG_SERVER, A(3));
	ck_assert(!sg_session_counts_acks(h->s));
	h_free(h);
}
END_TEST

/*
 * The answer to an <r/> lags C's TCP: S is told the new count unasked at
 * the next look, and the looks stop once all is told.
 */
START_TEST(test_lagging_answer_told_later)
{
	struct h *h = handing_back();
	uint64_t all;

	feed(h, SG_SERVER, S_MSG S_MSG R);
	EXPECT_OUT(h, SG_SERVER, A(0));
	all = stats(h)->bytes_out[SG_CLIENT];
	ck_assert_uint_eq(sg_session_deadline(h->s), h->now + 20);
	sg_session_on_acked(h->s, all, h->now);
	run(h);
	EXPECT_OUT(h, SG_SERVER, "");
	h->now += 20;
	sg_session_on_acked(h->s, all, h->now);
	run(h);
	EXPECT_OUT(h, SG_SERVER, A(2));
	ck_assert_uint_gt(sg_session_deadline(h->s), h->now + 1000);
	h_free(h);
}
END_TEST

/* Nothing moves: the looks grow apart, and nothing is told. */
START_TEST(test_poll_backs_off)
{
	struct h *h = handing_back();
	uint64_t t0;

	feed(h, SG_SERVER, S_MSG R);
	EXPECT_OUT(h, SG_SERVER, A(0));
	t0 = h->now;
	h->now += 20;
	sg_session_on_acked(h->s, 0, h->now);
	ck_assert_uint_eq(sg_session_deadline(h->s), h->now + 40);
	h->now += 40;
	sg_session_on_acked(h->s, 0, h->now);
	ck_assert_uint_eq(sg_session_deadline(h->s), h->now + 80);
	run(h);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(h->now, t0 + 60);
	h_free(h);
}
END_TEST

/*
 * All acknowledged before the look, or no count reported at it: the look
 * still ends or moves on, and the deadline is never left in the past.
 */
START_TEST(test_poll_deadline_never_stale)
{
	struct h *h = handing_back();

	feed(h, SG_SERVER, S_MSG R);
	EXPECT_OUT(h, SG_SERVER, A(0));
	/* C's ack of everything comes before the look is due. */
	acked_all(h);
	ck_assert(sg_session_counts_acks(h->s));
	h->now += 20;
	acked_all(h);
	EXPECT_OUT(h, SG_SERVER, A(1));
	ck_assert(!sg_session_counts_acks(h->s));
	ck_assert_uint_gt(sg_session_deadline(h->s), h->now);
	/* A look with no count reported at all. */
	feed(h, SG_SERVER, S_MSG R);
	EXPECT_OUT(h, SG_SERVER, A(1));
	advance(h, 20);
	ck_assert_uint_gt(sg_session_deadline(h->s), h->now);
	EXPECT_OUT(h, SG_SERVER, "");
	h_free(h);
}
END_TEST

START_TEST(test_count_never_past_written)
{
	struct h *h = handing_back();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG S_MSG);
	/* Nothing written yet: a figure past it must not count one. */
	sg_session_on_acked(h->s, UINT64_MAX, h->now);
	feed(h, SG_SERVER, R);
	EXPECT_OUT(h, SG_SERVER, A(0));
	h_free(h);
}
END_TEST

/* An S that never acknowledges: only the newest are followed. */
START_TEST(test_unacked_bounded)
{
	struct h *h = handing_back();
	char m[128];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(m, sizeof(m), "<message to='b@example.com' id='u%d' "
		    "type='chat'/>", i);
		feed(h, SG_CLIENT, m);
		h->outlen[SG_SERVER] = 0;
	}
	/* S acknowledges the presence and the first 900 messages. */
	feed(h, SG_SERVER, A(901));
	h->stalled[SG_CLIENT] = 1;	/* 4096 bounces: more than out[] */
	eof(h, SG_SERVER);
	ck_assert_uint_eq(stats(h)->s_unacked, 4096);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 4096);
	/* The bind, the presence and the 904 that were not followed. */
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], 5002 - 4096);
	h_free(h);
}
END_TEST

START_TEST(test_h_wraps)
{

	ck_assert_uint_eq(sg_smback_h_ahead(0, 3), 3);
	ck_assert_uint_eq(sg_smback_h_ahead(0xfffffffeULL, 1), 3);
	ck_assert_uint_eq(sg_smback_h_ahead(0x1fffffffeULL, 0), 2);
	ck_assert_uint_eq(sg_smback_h_ahead(5, 5), 0);
}
END_TEST

START_TEST(test_client_close_tag_gets_final_ack)
{
	struct h *h = handing_back();

	feed(h, SG_SERVER, S_MSG);
	acked_all(h);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(1) TAG);
	/* Point 5: from C's close tag on, S->C stanzas are S's to re-route. */
	feed(h, SG_SERVER, S_MSG TAG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 0);
	eof(h, SG_CLIENT);
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "SsScX");
	h_free(h);
}
END_TEST

/*
 * At C's close tag, what C has not begun to receive goes back to S rather
 * than on to C; a stanza begun on the wire is finished; written and not
 * acknowledged by C's TCP counts as handed back too.
 */
START_TEST(test_client_close_trims_unbegun)
{
	struct h *h = handing_back();
	struct sg_bq *q = sg_session_outq(h->s, SG_CLIENT);
	const struct sg_session_stats *st;

	feed(h, SG_SERVER, S_MSG);	/* written, never acknowledged */
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG S_MSG S_MSG);
	/* Half of the first queued stanza is on the wire. */
	sg_session_on_written(h->s, SG_CLIENT, 10, h->now);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	ck_assert_uint_eq(sg_bq_len(q), strlen(S_MSG) - 10);
	st = stats(h);
	ck_assert_uint_eq(st->handed_back, 3);
	ck_assert_uint_eq(st->stanzas_in[SG_SERVER], st->stanzas_out[SG_CLIENT] +
	    st->handed_back + st->bounced[SG_SERVER] +
	    st->undeliverable[SG_SERVER] + st->sm_own[SG_SERVER]);
	h_free(h);
}
END_TEST

/* Found by fuzz_session: what is not a numbered stanza is never cut. */
START_TEST(test_trim_keeps_unwritten_header)
{
	struct h *h = h_new_with(sm_params());

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_CLIENT, C_HDR);
	feed(h, SG_SERVER, S_HDR S_FEATURES);
	feed(h, SG_CLIENT, C_BIND);
	feed(h, SG_SERVER, S_BIND);
	feed(h, SG_CLIENT, C_PRES);
	feed(h, SG_SERVER, ENABLED S_MSG);
	feed(h, SG_CLIENT, TAG);
	unstall(h, SG_CLIENT);
	EXPECT_OUT(h, SG_CLIENT, S_HDR S_FEATURES S_BIND);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	h_free(h);
}
END_TEST

START_TEST(test_client_close_at_boundary_trims_all)
{
	struct h *h = handing_back();

	feed(h, SG_SERVER, S_MSG);
	acked_all(h);
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG S_MSG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(1) TAG);
	ck_assert_uint_eq(sg_bq_len(sg_session_outq(h->s, SG_CLIENT)), 0);
	ck_assert_uint_eq(stats(h)->handed_back, 2);
	ck_assert_uint_eq(stats(h)->nhanded, 2);
	h_free(h);
}
END_TEST

START_TEST(test_idle_client_first_hands_back)
{
	struct h *h = handing_back();

	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_CLIENT, "");
	EXPECT_OUT(h, SG_SERVER, "");
	/* An <r/> while the close is under way is answered at once. */
	feed(h, SG_SERVER, R);
	EXPECT_OUT(h, SG_SERVER, A(0));
	feed(h, SG_CLIENT, C_MSG2 TAG);
	EXPECT_OUT(h, SG_SERVER, C_MSG2 R A(0) TAG);
	feed(h, SG_SERVER, S_MSG TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 2);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	ck_assert_uint_eq(stats(h)->nhanded, 2);
	ck_assert_str_eq(stats(h)->handed[0].id, "s7");
	eof(h, SG_CLIENT);
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "ScSsX");
	h_free(h);
}
END_TEST

START_TEST(test_idle_server_first_hands_back)
{
	struct sg_session_params p = sm_params();
	struct h *h;

	p.server_first = 1;
	h = opened_with(p);
	feed(h, SG_SERVER, S_FEATURES);
	feed(h, SG_CLIENT, C_BIND);
	feed(h, SG_SERVER, S_BIND);
	feed(h, SG_CLIENT, C_PRES);
	feed(h, SG_SERVER, ENABLED A(1) S_MSG);
	acked_all(h);
	EXPECT_OUT(h, SG_CLIENT, S_FEATURES S_BIND S_MSG);
	EXPECT_OUT(h, SG_SERVER, C_BIND ENABLE C_PRES R);
	advance(h, IDLE);
	EXPECT_OUT(h, SG_SERVER, A(1) TAG);
	/* After our <a/>, what S sends would be delivered twice. */
	feed(h, SG_SERVER, S_MSG TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	h_free(h);
}
END_TEST

START_TEST(test_client_vanishes_queued_handed_back)
{
	struct h *h = handing_back();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG S_MSG);
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 2);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	ck_assert_uint_eq(h->undelivered, 0);
	h_free(h);
}
END_TEST

/*
 * Found in review: a stanza S sent before its <enabled/> is in no count of
 * S's, so S would not re-route it: it is bounced, not handed back.
 */
START_TEST(test_client_vanishes_before_enabled_not_handed_back)
{
	struct h *h = bound_with(sm_params());

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, ENABLE C_PRES);
	feed(h, SG_SERVER, ENABLED S_MSG);
	eof(h, SG_CLIENT);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	ck_assert_ptr_nonnull(strstr(h->out[SG_SERVER], BOUNCE_S_MSG));
	h_free(h);
}
END_TEST

/* A reset: the last figure taken before it counts, not a later 0. */
START_TEST(test_client_reset_keeps_count)
{
	struct h *h = handing_back();

	feed(h, SG_SERVER, S_MSG);
	acked_all(h);
	sg_session_on_acked(h->s, 0, h->now);
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, A(1) TAG);
	h_free(h);
}
END_TEST

/* Point 6: S vanishes with C->S stanzas it never acknowledged. */
START_TEST(test_server_vanishes_unacked_bounced)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG R);
	feed(h, SG_SERVER, A(2));
	feed(h, SG_CLIENT, C_MSG2);
	EXPECT_OUT(h, SG_SERVER, C_MSG2 R);
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	ck_assert_uint_eq(stats(h)->s_unacked, 1);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 1);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* S's end is held back from C while S owes an ack; its EOF releases. */
START_TEST(test_server_end_held_until_eof)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 S_ERROR TAG);
	ck_assert_uint_eq(stats(h)->s_unacked, 1);
	h_free(h);
}
END_TEST

/*
 * Found in review (rule 6): S's end is released by S's EOF while C's
 * stanza still waits in S's queue.  S can never acknowledge it now: it
 * goes back to C before S's close tag, and not on to S.
 */
START_TEST(test_server_eof_takes_back_queued)
{
	struct h *h = queued_for_server(C_MSG2);
	/* Counted forwarded when queued; no longer once bounced. */
	uint64_t out = stats(h)->stanzas_out[SG_SERVER] - 1;

	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], out);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 1);
	client_stanzas_add_up(h);
	/* C->S goes on as before: C's answer gets the last count. */
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	h_free(h);
}
END_TEST

/*
 * The same at close-timeout, with C's first stanza half written: it is
 * finished on the wire (S's stream stays whole) and bounced once, though
 * S's socket then fails with its rest still queued; the second is taken
 * back.
 */
START_TEST(test_server_end_released_begun_bounced_once)
{
	struct h *h = queued_for_server(C_MSG2 C_MSG2);
	uint64_t out = stats(h)->stanzas_out[SG_SERVER] - 2;

	sg_session_on_written(h->s, SG_SERVER, 10, h->now);
	feed(h, SG_SERVER, TAG);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 BOUNCE_C_MSG2 TAG);
	ck_assert_uint_eq(sg_bq_len(sg_session_outq(h->s, SG_SERVER)),
	    strlen(C_MSG2 R) - 10);
	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, "");
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 2);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 0);
	ck_assert_uint_eq(stats(h)->s_unacked, 1);
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], out);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* Found in review: those taken back are bounced in the order C sent them. */
START_TEST(test_taken_back_bounced_in_order)
{
	struct h *h = queued_for_server(C_MSG2 C_MSG3);

	feed(h, SG_SERVER, TAG);
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 BOUNCE_C_MSG3 TAG);
	h_free(h);
}
END_TEST

/*
 * Found in review: S's stream error alone was held, so S's stream is still
 * read after the take-back.  Our <r/> taken back with C_MSG2 is no longer
 * outstanding (C's next stanza gets one), and S's count, which never
 * included C_MSG2, is read right: C_MSG, acknowledged, is not named when
 * S's socket then fails.
 */
START_TEST(test_take_back_keeps_counts)
{
	struct h *h = queued_for_server(C_MSG2);

	feed(h, SG_SERVER, S_ERROR);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 S_ERROR TAG);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG R);
	feed(h, SG_SERVER, A(2));
	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->s_unacked, 0);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 0);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* The same with C_MSG2 begun: it stays in S's count, C_MSG3 does not. */
START_TEST(test_take_back_keeps_counts_begun)
{
	struct h *h = queued_for_server(C_MSG2 C_MSG3);

	sg_session_on_written(h->s, SG_SERVER, 10, h->now);
	feed(h, SG_SERVER, S_ERROR);
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 BOUNCE_C_MSG3 S_ERROR TAG);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, (C_MSG2 R) + 10);
	feed(h, SG_SERVER, A(2));
	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG R);
	feed(h, SG_SERVER, A(3));
	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 0);
	ck_assert_uint_eq(stats(h)->s_unacked, 1);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* Found in review: our answer to S's <r/>, taken back, is given again. */
START_TEST(test_take_back_answers_again)
{
	struct h *h = queued_for_server(C_MSG2);

	feed(h, SG_SERVER, S_MSG);
	acked_all(h);
	feed(h, SG_SERVER, R TAG);
	eof(h, SG_SERVER);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, A(1));
	h_free(h);
}
END_TEST

/*
 * Found in review: C->S is over as well (C's close tag, our last <a/>
 * and the tag queued behind C_MSG2) when S's held end is released at
 * close-timeout.  C_MSG2 is taken back all the same, and what follows it
 * still goes to S.
 */
START_TEST(test_take_back_behind_client_close)
{
	struct h *h = queued_for_server(C_MSG2);
	/* Counted forwarded when queued; no longer once bounced. */
	uint64_t out = stats(h)->stanzas_out[SG_SERVER] - 1;

	feed(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, TAG);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, R A(0) TAG);
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], out);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * Found in review: what follows C_MSG2 before C's tag is C's too (a
 * nonza, keepalive whitespace, C's stream error): it is kept, in order,
 * with its ledger record, and C_MSG2 is still taken back.
 */
START_TEST(test_take_back_keeps_what_follows)
{
	struct h *h = queued_for_server(C_MSG2 CSI "\n ");

	feed(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, S_ERROR TAG);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 1);
	/* S's socket fails: the nonza and the error, never written, named. */
	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 2);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* The same, written: S gets all but C_MSG2. */
START_TEST(test_take_back_keeps_what_follows_written)
{
	struct h *h = queued_for_server(C_MSG2 CSI "\n ");

	feed(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, TAG);
	advance(h, CLOSE);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, R CSI "\n " A(0) TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 0);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * Found in review: S has taken nothing for most of stanza-timeout when the
 * take-back queues its tail again: S's stall still counts from then.
 */
START_TEST(test_take_back_keeps_stall)
{
	struct h *h = queued_for_server(C_MSG2);

	advance(h, STANZA - CLOSE - 1000);
	feed(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, TAG);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	/* Taken for gone (write-timeout): its queue reclaimed. */
	advance(h, 1000);
	ck_assert_uint_eq(sg_bq_len(sg_session_outq(h->s, SG_SERVER)), 0);
	h_free(h);
}
END_TEST

/* The same with C gone: C_MSG2 is named, not bounced. */
START_TEST(test_take_back_client_gone_named)
{
	struct h *h = queued_for_server(C_MSG2);

	feed(h, SG_SERVER, TAG);
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_CLIENT, "");
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 1);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 0);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, R A(0) TAG);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * Found by the hand-back interop test: S's stream error held, then S's
 * EOF without a close tag (a legacy cut): the error reaches C after the
 * bounces, then our close tag, and the session says why.
 */
START_TEST(test_server_error_held_then_eof)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	EXPECT_OUT(h, SG_CLIENT, "");
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 S_ERROR TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SERVER_VANISHED);
	ck_assert_uint_eq(stats(h)->s_unacked, 1);
	/* C's stanzas after it are bounced no more: named. */
	feed(h, SG_CLIENT, C_MSG2 TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 1);
	h_free(h);
}
END_TEST

/*
 * Found in review: S acknowledges after its stream error, before its
 * close tag: the error goes to C at once, and the tag is not held.
 */
START_TEST(test_server_error_held_until_acked)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_SERVER, A(2));
	EXPECT_OUT(h, SG_CLIENT, S_ERROR);
	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	ck_assert_uint_eq(stats(h)->s_unacked, 0);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 0);
	h_free(h);
}
END_TEST

START_TEST(test_server_error_held_then_silence)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 S_ERROR TAG);
	h_free(h);
}
END_TEST

START_TEST(test_server_end_held_until_timeout)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	advance(h, CLOSE - 1);
	EXPECT_OUT(h, SG_CLIENT, "");
	advance(h, 1);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	h_free(h);
}
END_TEST

/*
 * Found by fuzz_session: only S's end is ever held, not C's error.  Our
 * final <a/> goes before C's error, not between it and C's close tag
 * (found in review: RFC 6120 4.9.1.1 allows only the tag after it).
 */
START_TEST(test_client_error_not_held)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	EXPECT_OUT(h, SG_SERVER, C_MSG2 R);
	feed(h, SG_CLIENT, S_ERROR);
	EXPECT_OUT(h, SG_SERVER, A(0) S_ERROR);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	h_free(h);
}
END_TEST

/*
 * Found in review: after C's stream error C->S is over for us too.  S's
 * <r/> gets no answer (only C's close tag may follow the error), and
 * S's stanzas, h being final, are handed back, not relayed.
 */
START_TEST(test_nothing_after_client_error)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	EXPECT_OUT(h, SG_SERVER, C_MSG2 R);
	feed(h, SG_CLIENT, S_ERROR);
	EXPECT_OUT(h, SG_SERVER, A(0) S_ERROR);
	feed(h, SG_SERVER, R S_MSG);
	EXPECT_OUT(h, SG_SERVER, "");
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	server_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/* The same while our <enable/> is unanswered: no <r/> after the error. */
START_TEST(test_no_request_after_client_error)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, C_PRES);
	EXPECT_OUT(h, SG_SERVER, ENABLE C_PRES);
	feed(h, SG_CLIENT, S_ERROR);
	EXPECT_OUT(h, SG_SERVER, A(0) S_ERROR);
	feed(h, SG_SERVER, ENABLED);
	EXPECT_OUT(h, SG_SERVER, "");
	h_free(h);
}
END_TEST

/* Found in review: C's stream error right after bind enables nothing. */
START_TEST(test_client_error_decides_nothing)
{
	struct h *h = bound_with(sm_params());

	feed(h, SG_CLIENT, S_ERROR);
	EXPECT_OUT(h, SG_SERVER, S_ERROR);
	h_free(h);
}
END_TEST

/*
 * Found in review: S's held end expires after C's stream error: C_MSG2 is
 * taken back, and our final <a/> and C's error, after it, still go to S.
 */
START_TEST(test_take_back_after_client_error)
{
	struct h *h = queued_for_server(C_MSG2);

	feed(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, S_ERROR);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 TAG);
	feed(h, SG_CLIENT, TAG);
	unstall(h, SG_SERVER);
	EXPECT_OUT(h, SG_SERVER, R A(0) S_ERROR TAG);
	client_stanzas_add_up(h);
	h_free(h);
}
END_TEST

START_TEST(test_server_end_not_held_when_acked)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, A(2) TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	ck_assert_uint_eq(stats(h)->s_unacked, 0);
	h_free(h);
}
END_TEST

START_TEST(test_stop_final_ack_and_handback)
{
	struct h *h = handing_back();

	feed(h, SG_SERVER, S_MSG);
	acked_all(h);
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, S_MSG SYS_SHUTDOWN TAG);
	feed(h, SG_SERVER, S_MSG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(1) TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	h_free(h);
}
END_TEST

/*
 * Found in review: a stop while S's stream error is held.  C gets S's
 * error, as without the hold, not a bare close tag.
 */
START_TEST(test_stop_relays_held_error)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	EXPECT_OUT(h, SG_CLIENT, "");
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 S_ERROR TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 0);
	server_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * C's bad XML while S's stream error is held: C gets our error, and S's,
 * never relayed, is named, not counted forwarded.
 */
START_TEST(test_held_error_superseded_named)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	feed(h, SG_CLIENT, "<message><</message>");
	EXPECT_OUT(h, SG_CLIENT, BOUNCE_C_MSG2 "<stream:error><not-well-"
	    "formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "</stream:error>" TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	ck_assert_uint_eq(h->undelivered, 1);
	server_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * Found in review: S's held stream error, relayed by a stop, is named
 * when C's socket then fails with it still queued, as one relayed unheld.
 */
START_TEST(test_relayed_held_error_named_if_unwritten)
{
	struct h *h = handing_back();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_CLIENT, C_MSG2);
	feed(h, SG_SERVER, S_ERROR);
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	sg_session_on_write_error(h->s, SG_CLIENT, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	server_stanzas_add_up(h);
	h_free(h);
}
END_TEST

/*
 * Found in review: S acknowledges after its held stream error, which then
 * goes to C behind an S->C stanza C has not begun to receive; C's close
 * tag takes that stanza back for S, and the error with it: named.
 */
START_TEST(test_released_error_trimmed_named)
{
	struct h *h = handing_back();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	feed(h, SG_CLIENT, C_MSG2);
	EXPECT_OUT(h, SG_SERVER, C_MSG2 R);
	feed(h, SG_SERVER, S_ERROR A(2));
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	feed(h, SG_SERVER, TAG);
	unstall(h, SG_CLIENT);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	ck_assert_uint_eq(stats(h)->handed_back, 1);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	server_stanzas_add_up(h);
	h_free(h);
}
END_TEST

START_TEST(test_bad_xml_from_client_final_ack)
{
	struct h *h = handing_back();

	feed(h, SG_CLIENT, "<message><</message>");
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_BAD_XML);
	h_free(h);
}
END_TEST

START_TEST(test_force_close_final_ack)
{
	struct h *h = handing_back();

	sg_session_on_force_close(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_SERVER, A(0) TAG);
	h_free(h);
}
END_TEST

Suite *
sg_suite_smback(void)
{
	Suite *s = suite_create("smback");
	TCase *on = tcase_create("enable");
	TCase *acks = tcase_create("acks");
	TCase *ends = tcase_create("ends");

	tcase_add_test(on, test_enable_after_bind);
	tcase_add_test(on, test_legacy_session_iq_skipped);
	tcase_add_test(on, test_no_enable_after_server_gone);
	tcase_add_test(on, test_off_without_option);
	tcase_add_test(on, test_off_without_offer);
	tcase_add_test(on, test_client_does_sm_itself);
	tcase_add_test(on, test_late_enable_from_client_failed);
	tcase_add_test(on, test_server_refuses);
	tcase_add_test(acks, test_request_answered_with_tcp_count);
	tcase_add_test(acks, test_count_never_past_written);
	tcase_add_test(acks, test_lagging_answer_told_later);
	tcase_add_test(acks, test_poll_backs_off);
	tcase_add_test(acks, test_poll_deadline_never_stale);
	tcase_add_test(acks, test_h_wraps);
	tcase_add_test(acks, test_unacked_bounded);
	tcase_add_test(ends, test_client_close_tag_gets_final_ack);
	tcase_add_test(ends, test_client_close_trims_unbegun);
	tcase_add_test(ends, test_client_close_at_boundary_trims_all);
	tcase_add_test(ends, test_trim_keeps_unwritten_header);
	tcase_add_test(ends, test_idle_client_first_hands_back);
	tcase_add_test(ends, test_idle_server_first_hands_back);
	tcase_add_test(ends, test_client_vanishes_queued_handed_back);
	tcase_add_test(ends,
	    test_client_vanishes_before_enabled_not_handed_back);
	tcase_add_test(ends, test_client_reset_keeps_count);
	tcase_add_test(ends, test_server_vanishes_unacked_bounced);
	tcase_add_test(ends, test_server_end_held_until_eof);
	tcase_add_test(ends, test_server_end_held_until_timeout);
	tcase_add_test(ends, test_server_error_held_then_eof);
	tcase_add_test(ends, test_server_error_held_until_acked);
	tcase_add_test(ends, test_server_eof_takes_back_queued);
	tcase_add_test(ends, test_server_end_released_begun_bounced_once);
	tcase_add_test(ends, test_taken_back_bounced_in_order);
	tcase_add_test(ends, test_take_back_keeps_counts);
	tcase_add_test(ends, test_take_back_keeps_counts_begun);
	tcase_add_test(ends, test_take_back_answers_again);
	tcase_add_test(ends, test_take_back_behind_client_close);
	tcase_add_test(ends, test_take_back_client_gone_named);
	tcase_add_test(ends, test_take_back_keeps_what_follows);
	tcase_add_test(ends, test_take_back_keeps_what_follows_written);
	tcase_add_test(ends, test_take_back_keeps_stall);
	tcase_add_test(ends, test_server_error_held_then_silence);
	tcase_add_test(ends, test_server_end_not_held_when_acked);
	tcase_add_test(ends, test_client_error_not_held);
	tcase_add_test(ends, test_nothing_after_client_error);
	tcase_add_test(ends, test_no_request_after_client_error);
	tcase_add_test(ends, test_client_error_decides_nothing);
	tcase_add_test(ends, test_take_back_after_client_error);
	tcase_add_test(ends, test_stop_final_ack_and_handback);
	tcase_add_test(ends, test_stop_relays_held_error);
	tcase_add_test(ends, test_held_error_superseded_named);
	tcase_add_test(ends, test_relayed_held_error_named_if_unwritten);
	tcase_add_test(ends, test_released_error_trimmed_named);
	tcase_add_test(ends, test_bad_xml_from_client_final_ack);
	tcase_add_test(ends, test_force_close_final_ack);
	suite_add_tcase(s, on);
	suite_add_tcase(s, acks);
	suite_add_tcase(s, ends);
	return (s);
}
