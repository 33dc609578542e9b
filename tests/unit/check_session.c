/*
 * The close engine, one race or spec row per test: events in, and the
 * exact bytes and actions out.  The harness plays the proxy: it writes
 * whatever is queued at once, unless a side is "stalled".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sessharness.h"
#include "session.h"
#include "suites.h"

START_TEST(test_relay_stanzas_whole)
{
	struct h *h = opened();

	/* Half a stanza is held; whitespace keepalives pass at once. */
	feed(h, SG_CLIENT, "<message to='bob@example.com' id='m1' ");
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_CLIENT, "type='chat'><body>hi</body></message> ");
	EXPECT_OUT(h, SG_SERVER, C_MSG " ");
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG);
	ck_assert_uint_eq(stats(h)->stanzas_in[SG_CLIENT], 1);
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_CLIENT], 1);
	EXPECT_TRACE(h, "");
	h_free(h);
}
END_TEST

/* The ordinary handshake, C first, with a stanza crossing C's tag. */
START_TEST(test_client_closes_first)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "");		/* no shutdown before S answers */
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG);
	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "SsSc");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_CLIENT);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TAG);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 0);
	h_free(h);
}
END_TEST

START_TEST(test_server_closes_first)
{
	struct h *h = opened();

	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "ScSs");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SERVER);
	h_free(h);
}
END_TEST

/* Both tags cross: each is relayed once, nothing is added. */
START_TEST(test_both_close_at_once)
{
	struct h *h = opened();

	sg_session_on_bytes(h->s, SG_CLIENT, TAG, strlen(TAG), h->now);
	sg_session_on_bytes(h->s, SG_SERVER, TAG, strlen(TAG), h->now);
	run(h);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "SsSc");
	finish(h);
	h_free(h);
}
END_TEST

START_TEST(test_server_error_then_tag_relayed)
{
	struct h *h = opened();
	const char *err = "<stream:error><conflict xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-streams'/></stream:error>";

	feed(h, SG_SERVER, err);
	ck_assert_str_eq(h->out[SG_CLIENT], err);
	feed(h, SG_SERVER, TAG);
	ck_assert_str_eq(stats(h)->error_in[SG_SERVER], "conflict");
	feed(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "ScSs");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SERVER);
	h_free(h);
}
END_TEST

/* The legacy idle cut-off: error, then TCP closed without a tag. */
START_TEST(test_server_vanishes_after_error)
{
	struct h *h = opened();
	const char *err = "<stream:error><connection-timeout xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-streams'/></stream:error>";
	char want[512];

	feed(h, SG_SERVER, S_MSG);
	feed(h, SG_SERVER, err);
	feed(h, SG_SERVER, "<message id='partial'>");
	eof(h, SG_SERVER);
	snprintf(want, sizeof(want), "%s%s%s", S_MSG, err, TAG);
	EXPECT_OUT(h, SG_CLIENT, want);
	EXPECT_TRACE(h, "Ss");
	/* C's stanzas sent meanwhile cannot reach S: named in the log. */
	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "Sc");
	eof(h, SG_CLIENT);
	EXPECT_TRACE(h, "X");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SERVER_VANISHED);
	ck_assert_uint_eq(stats(h)->truncated[SG_SERVER], 1);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 1);
	ck_assert_uint_eq(stats(h)->nnamed, 1);
	ck_assert_str_eq(stats(h)->named[0].id, "m1");
	ck_assert_str_eq(stats(h)->named[0].name, "message");
	ck_assert_str_eq(stats(h)->named[0].type, "chat");
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_EOF);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TAG);
	h_free(h);
}
END_TEST

START_TEST(test_rewrite_idle_error)
{
	struct sg_session_params p = params();
	struct h *h;

	p.rewrite_idle_errors = 1;
	h = opened_with(p);
	feed(h, SG_SERVER, "<stream:error><connection-timeout xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-streams'/></stream:error>");
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	ck_assert_str_eq(stats(h)->error_in[SG_SERVER], "connection-timeout");
	h_free(h);
}
END_TEST

/* C vanishes while S->C stanzas wait for it: they go back to S. */
START_TEST(test_client_vanishes_bounces_queued)
{
	struct h *h = opened();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	feed(h, SG_SERVER, "<presence from='bob@example.com/x'/>");
	feed(h, SG_CLIENT, C_MSG "<iq type='get' id='q");
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, C_MSG BOUNCE_S_MSG TAG);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	ck_assert_str_eq(stats(h)->named[0].name, "presence");
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 1);
	/* S's stanzas in flight now are undeliverable; its tag ends it. */
	feed(h, SG_SERVER, S_MSG TAG);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 2);
	unstall(h, SG_CLIENT);
	EXPECT_OUT(h, SG_CLIENT, "");
	eof(h, SG_SERVER);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_CLIENT_VANISHED);
	ck_assert_ptr_nonnull(strchr(h->trace, 'X'));
	h_free(h);
}
END_TEST

/* A bounce its sender never got is not a bounce: the stanza is named. */
START_TEST(test_unsent_bounce_is_named)
{
	struct h *h = opened();

	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	h->stalled[SG_SERVER] = 1;
	feed(h, SG_SERVER, S_MSG);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	ck_assert_str_eq(stats(h)->named[0].id, "s7");
	ck_assert_uint_eq(h->undelivered, 1);
	h_free(h);
}
END_TEST

/* Idle, client first: the spec's five steps. */
START_TEST(test_idle_client_first)
{
	struct h *h = opened();

	advance(h, IDLE - 1);
	EXPECT_OUT(h, SG_CLIENT, "");
	advance(h, 1);
	EXPECT_OUT(h, SG_CLIENT, TAG);		/* 1 */
	feed(h, SG_CLIENT, C_MSG);
	EXPECT_OUT(h, SG_SERVER, C_MSG);	/* 2 */
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_SERVER, BOUNCE_S_MSG);	/* 3 */
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);		/* 4 */
	EXPECT_TRACE(h, "Sc");
	feed(h, SG_SERVER, S_MSG TAG);		/* 5 */
	EXPECT_OUT(h, SG_CLIENT, "");
	EXPECT_TRACE(h, "Ss");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_IDLE);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	h_free(h);
}
END_TEST

START_TEST(test_idle_server_first)
{
	struct sg_session_params p = params();
	struct h *h;

	p.server_first = 1;
	h = opened_with(p);
	advance(h, IDLE);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG);
	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, "");
	EXPECT_TRACE(h, "SsSc");
	finish(h);
	h_free(h);
}
END_TEST

/* Reading bytes pushes the idle deadline back, without a timer call. */
START_TEST(test_idle_deadline_moves_with_traffic)
{
	struct h *h = opened();

	ck_assert_uint_eq(sg_session_deadline(h->s), 1000 + IDLE);
	h->now += 1000;
	feed(h, SG_SERVER, " ");
	ck_assert_uint_eq(sg_session_deadline(h->s), 2000 + IDLE);
	advance(h, IDLE - 1);
	EXPECT_OUT(h, SG_CLIENT, " ");
	h_free(h);
}
END_TEST

/* A peer that never answers our tag: close-timeout, then on. */
START_TEST(test_close_timeout)
{
	struct h *h = opened();

	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	advance(h, CLOSE);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "Sc");
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	feed(h, SG_CLIENT, C_MSG);		/* too late */
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "Ss");
	eof(h, SG_SERVER);
	/* C never sends EOF either: we stop waiting after close-timeout. */
	advance(h, CLOSE);
	EXPECT_TRACE(h, "X");
	h_free(h);
}
END_TEST

/* close-timeout counts silence: a peer still sending is not cut off. */
START_TEST(test_close_timeout_counts_silence)
{
	struct h *h = opened();

	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	advance(h, CLOSE - 1);
	feed(h, SG_CLIENT, C_MSG);
	advance(h, CLOSE - 1);
	EXPECT_OUT(h, SG_SERVER, C_MSG);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_NONE);
	advance(h, 1);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	h_free(h);
}
END_TEST

START_TEST(test_stanza_timeout)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, "<message><body>slow");
	advance(h, STANZA - 1);
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_CLIENT, "l");
	advance(h, 1);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_STANZA_TIMEOUT);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 1);
	feed(h, SG_CLIENT, "</body></message>");
	EXPECT_OUT(h, SG_SERVER, "");
	h_free(h);
}
END_TEST

/*
 * A peer that takes none of the bytes waiting for it for stanza-timeout
 * is gone, as if its socket had failed: what waits for it is bounced, the
 * other side gets our close tag, and the session ends.
 */
START_TEST(test_write_timeout)
{
	struct h *h = opened();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	advance(h, STANZA - 1);
	EXPECT_OUT(h, SG_SERVER, "");
	EXPECT_TRACE(h, "");
	advance(h, 1);
	EXPECT_OUT(h, SG_SERVER, BOUNCE_S_MSG TAG);
	EXPECT_TRACE(h, "Sc");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_WRITE_TIMEOUT);
	ck_assert_str_eq(sg_close_reason_name(stats(h)->reason),
	    "write-timeout");
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	feed(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "Ss");
	eof(h, SG_SERVER);
	advance(h, CLOSE);
	EXPECT_TRACE(h, "X");
	h_free(h);
}
END_TEST

/* Any byte taken restarts the clock: a slow reader is not cut off. */
START_TEST(test_write_timeout_counts_progress)
{
	struct h *h = opened();

	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	advance(h, STANZA - 1);
	sg_session_on_written(h->s, SG_CLIENT, 1, h->now);
	advance(h, STANZA - 1);
	EXPECT_TRACE(h, "");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_NONE);
	advance(h, 1);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_WRITE_TIMEOUT);
	h_free(h);
}
END_TEST

/*
 * Our close tag to C waits behind a backlog C takes slowly: close-timeout
 * counts from when C was written the tag, not from when it was queued
 * (found in review: a slow reader had its backlog bounced).
 */
/* C stalled behind S_MSG, then the idle close: our tag queued behind it. */
static struct h *
idle_close_behind_backlog(uint64_t stall_ms)
{
	struct sg_session_params p = params();
	struct h *h;

	p.stanza_timeout = stall_ms;
	h = opened_with(p);
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, S_MSG);
	advance(h, IDLE);
	return (h);
}

START_TEST(test_close_timeout_from_tag_taken)
{
	struct h *h = idle_close_behind_backlog(10 * IDLE);

	advance(h, 2 * CLOSE);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_NONE);
	unstall(h, SG_CLIENT);
	EXPECT_OUT(h, SG_CLIENT, S_MSG TAG);
	advance(h, CLOSE - 1);
	EXPECT_OUT(h, SG_SERVER, "");
	advance(h, 1);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	h_free(h);
}
END_TEST

/*
 * Our close tag to C waits behind stanzas C never reads: C's stall ends
 * it; they go back to S, S is closed, and C's shutdown no longer waits
 * for a queue that never drains.  The close reason stays idle.
 */
START_TEST(test_idle_close_unread_tag)
{
	struct h *h = idle_close_behind_backlog(2 * IDLE);

	advance(h, IDLE - 1);
	EXPECT_OUT(h, SG_SERVER, "");
	advance(h, 1);
	EXPECT_OUT(h, SG_SERVER, BOUNCE_S_MSG TAG);
	EXPECT_TRACE(h, "Sc");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_IDLE);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 1);
	feed(h, SG_SERVER, TAG);
	eof(h, SG_SERVER);
	advance(h, CLOSE);
	EXPECT_TRACE(h, "SsX");
	h_free(h);
}
END_TEST

/*
 * Server-first: C's stream to S is over, C's stanzas bounce back to it,
 * and C stops reading: its stall is logged as its answer (found in
 * review: c_closed=-).
 */
START_TEST(test_write_timeout_after_own_stream_closed)
{
	struct sg_session_params p = params();
	struct h *h;

	p.server_first = 1;
	p.close_timeout = 10 * STANZA;
	h = opened_with(p);
	advance(h, IDLE);
	EXPECT_OUT(h, SG_SERVER, TAG);
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_CLIENT, C_MSG);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 1);
	advance(h, STANZA);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_IDLE);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	/* The bounce C never took is named. */
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 0);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_CLIENT], 1);
	h_free(h);
}
END_TEST

/*
 * S cut the session while C is behind, then C's partial stanza times
 * out: both streams were over already, and C is still shut down.
 */
START_TEST(test_stanza_timeout_after_server_gone)
{
	struct sg_session_params p = params();
	struct h *h;

	p.close_timeout = 10 * STANZA;
	h = opened_with(p);
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_CLIENT, "<message><body>slow");
	advance(h, 1);
	feed(h, SG_SERVER, S_MSG);
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "Ss");
	advance(h, STANZA - 1);
	EXPECT_TRACE(h, "Sc");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SERVER_VANISHED);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 1);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	h_free(h);
}
END_TEST

START_TEST(test_eof_mid_stanza)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, C_MSG "<message><bo");
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, C_MSG TAG);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 1);
	h_free(h);
}
END_TEST

START_TEST(test_bytes_after_close_tag_dropped)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, TAG "<message id='late'/>");
	EXPECT_OUT(h, SG_SERVER, TAG);
	feed(h, SG_CLIENT, "more");
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(stats(h)->dropped_bytes[SG_CLIENT], 24);
	h_free(h);
}
END_TEST

START_TEST(test_service_stop)
{
	struct h *h = opened();

	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	feed(h, SG_SERVER, TAG);
	EXPECT_TRACE(h, "ScSs");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SHUTDOWN);
	ck_assert_int_eq(stats(h)->forced, 0);
	h_free(h);
}
END_TEST

/* A session opened with p, server first, stopped: S got our tag. */
static struct h *
stopped_server_first_with(struct sg_session_params p)
{
	struct h *h;

	p.server_first = 1;
	h = opened_with(p);
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	return (h);
}

static struct h *
stopped_server_first(void)
{

	return (stopped_server_first_with(params()));
}

/* server-first: S is never told <system-shutdown/>; C is, before S's tag. */
START_TEST(test_service_stop_server_first)
{
	struct h *h = stopped_server_first();

	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_CLIENT, S_MSG);
	feed(h, SG_SERVER, " " TAG);
	EXPECT_OUT(h, SG_CLIENT, " " SYS_SHUTDOWN TAG);
	feed(h, SG_CLIENT, TAG);
	EXPECT_OUT(h, SG_SERVER, "");
	EXPECT_TRACE(h, "SsSc");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SHUTDOWN);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_TAG);
	h_free(h);
}
END_TEST

/* S's tag split over reads: the error still goes right before it. */
START_TEST(test_service_stop_server_first_split_tag)
{
	struct h *h = stopped_server_first();

	feed(h, SG_SERVER, "</stream:");
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_SERVER, "stream>");
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	h_free(h);
}
END_TEST

/* S answers our tag by closing TCP: C's tag is ours, after the error. */
START_TEST(test_service_stop_server_first_server_eof)
{
	struct h *h = stopped_server_first();

	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_EOF);
	h_free(h);
}
END_TEST

/* S cannot be written to any more: C still learns the service stops. */
START_TEST(test_service_stop_server_first_write_error)
{
	struct h *h = stopped_server_first();

	sg_session_on_write_error(h->s, SG_SERVER, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_SHUTDOWN);
	h_free(h);
}
END_TEST

START_TEST(test_service_stop_server_first_close_timeout)
{
	struct h *h = stopped_server_first();

	advance(h, CLOSE - 1);
	EXPECT_OUT(h, SG_CLIENT, "");
	advance(h, 1);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_TIMEOUT);
	h_free(h);
}
END_TEST

START_TEST(test_force_close_server_first)
{
	struct h *h = stopped_server_first();

	sg_session_on_force_close(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_int_eq(stats(h)->forced, 1);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_TIMEOUT);
	h_free(h);
}
END_TEST

/* A stream has one error: S's own, relayed, is not followed by ours. */
START_TEST(test_service_stop_server_first_server_error)
{
	struct h *h = stopped_server_first();
	const char *err = "<stream:error><conflict xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-streams'/></stream:error>";
	char want[256];

	feed(h, SG_SERVER, err);
	eof(h, SG_SERVER);
	snprintf(want, sizeof(want), "%s%s", err, TAG);
	EXPECT_OUT(h, SG_CLIENT, want);
	h_free(h);
}
END_TEST

/* S's <connection-timeout/> dropped by rewrite-idle-errors: C is told. */
START_TEST(test_service_stop_server_first_rewritten_error)
{
	struct sg_session_params p = params();
	struct h *h;

	p.rewrite_idle_errors = 1;
	h = stopped_server_first_with(p);
	feed(h, SG_SERVER, "<stream:error><connection-timeout xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-streams'/></stream:error>");
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	ck_assert_uint_eq(stats(h)->rewritten, 1);
	h_free(h);
}
END_TEST

/* An idle close is no service stop: no <system-shutdown/> either order. */
START_TEST(test_idle_server_first_server_eof)
{
	struct sg_session_params p = params();
	struct h *h;

	p.server_first = 1;
	h = opened_with(p);
	advance(h, IDLE);
	EXPECT_OUT(h, SG_SERVER, TAG);
	eof(h, SG_SERVER);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	h_free(h);
}
END_TEST

/* A close tag waits for no partial stanza: the partial is bounced later. */
START_TEST(test_stop_with_partial_stanza_from_server)
{
	struct h *h = opened();

	feed(h, SG_SERVER, "<message from='bob@example.com/x' to='alice@"
	    "example.com/y' id='s7' type='chat'><bo");
	sg_session_on_shutdown(h->s, h->now);
	run(h);
	ck_assert_ptr_null(strstr(h->out[SG_CLIENT], "<message"));
	feed(h, SG_SERVER, "dy>yo</body></message>");
	EXPECT_OUT(h, SG_SERVER, BOUNCE_S_MSG);
	h_free(h);
}
END_TEST

START_TEST(test_force_close)
{
	struct h *h = opened();

	sg_session_on_shutdown(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, SYS_SHUTDOWN TAG);
	sg_session_on_force_close(h->s, h->now);
	run(h);
	/* S is still told, as when C's close-timeout passes. */
	EXPECT_OUT(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	ck_assert_ptr_nonnull(strchr(h->trace, 'X'));
	ck_assert_int_eq(stats(h)->forced, 1);
	ck_assert_int_eq(stats(h)->answer[SG_CLIENT], SG_ANSWER_TIMEOUT);
	h_free(h);
}
END_TEST

START_TEST(test_bad_xml_from_client)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, C_MSG "<message><!-- no --></message>");
	EXPECT_OUT(h, SG_CLIENT, "<stream:error><restricted-xml xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-streams'/></stream:error>" TAG);
	EXPECT_OUT(h, SG_SERVER, C_MSG TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_BAD_XML);
	feed(h, SG_SERVER, S_MSG TAG);
	EXPECT_OUT(h, SG_CLIENT, "");
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	h_free(h);
}
END_TEST

/* A second header inside the stream is refused, never forwarded. */
START_TEST(test_nested_stream_header_refused)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, C_MSG "<stream:stream xmlns:stream='" NS_STREAMS
	    "' to='example.com'>" C_MSG TAG);
	EXPECT_OUT(h, SG_CLIENT, "<stream:error><invalid-xml xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-streams'/></stream:error>" TAG);
	EXPECT_OUT(h, SG_SERVER, C_MSG TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_BAD_XML);
	h_free(h);
}
END_TEST

/* Refused before its header: the client still gets header, error, tag. */
START_TEST(test_bad_xml_before_header)
{
	struct h *h = h_new_with(params());

	feed(h, SG_CLIENT, "<!DOCTYPE x [<!ENTITY a 'b'>]>");
	EXPECT_OUT(h, SG_CLIENT, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='" NS_STREAMS "' "
	    "version='1.0' id='stanzaguard'><stream:error><restricted-xml "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	    TAG);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_BAD_XML);
	h_free(h);
}
END_TEST

START_TEST(test_stanza_too_large)
{
	struct sg_session_params p = params();
	struct h *h;
	char big[300];

	p.limits.max_stanza = 200;
	h = opened_with(p);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(h, SG_CLIENT, "<message><body>");
	feed(h, SG_CLIENT, big);
	EXPECT_OUT(h, SG_CLIENT, "<stream:error><policy-violation xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-streams'/></stream:error>" TAG);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_LIMIT);
	h_free(h);
}
END_TEST

/*
 * A refused partial stanza counts once as truncated, whatever the chunks:
 * in one read, over many, the limit crossed at the first byte past it.
 * Bytes that are not a stanza (junk or a comment between stanzas) are no
 * partial stanza.  Each case: C_MSG, then the refused bytes; S gets only
 * C_MSG and our tag.
 */
#define BIG_BODY "<message id='big'><body>" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"</body></message>"

enum limit_kind { L_NONE, L_SIZE, L_DEPTH, L_ATTRS, L_NAME, L_VALUE };

static const struct {
	const char *bad;
	enum limit_kind limit;
	enum sg_close_reason reason;
	uint64_t truncated;
	const char *fwd;	/* forwarded after C_MSG, before our tag */
} refusals[] = {
	{ BIG_BODY, L_SIZE, SG_REASON_LIMIT, 1, NULL },
	/* An open tag alone over the limit: still a stanza begun. */
	{ "<message id='"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  L_SIZE, SG_REASON_LIMIT, 1, NULL },
	{ "<message><a><b><c>x</c></b></a></message>", L_DEPTH,
	  SG_REASON_LIMIT, 1, NULL },
	{ "<message a='1' b='2' c='3' d='4' e='5' f='6'/>", L_ATTRS,
	  SG_REASON_LIMIT, 1, NULL },
	{ "<message><a-very-very-long-name/></message>", L_NAME,
	  SG_REASON_LIMIT, 1, NULL },
	{ "<message id='0123456789012345678901234567890123456789x'/>", L_VALUE,
	  SG_REASON_LIMIT, 1, NULL },
	{ "<message><body>x</iq>", L_NONE, SG_REASON_BAD_XML, 1, NULL },
	{ "<message><!-- no --></message>", L_NONE, SG_REASON_BAD_XML, 1, NULL },
	{ "<message id='a' id='b'/>", L_NONE, SG_REASON_BAD_XML, 1, NULL },
	{ "<message><body>\xff</body></message>", L_NONE, SG_REASON_BAD_XML,
	  1, NULL },
	/* Not inside a stanza: nothing partial to count. */
	{ " junk", L_NONE, SG_REASON_BAD_XML, 0, " " },
	{ "<!-- a comment -->", L_NONE, SG_REASON_BAD_XML, 0, NULL },
	{ "<?pi x?>", L_NONE, SG_REASON_BAD_XML, 0, NULL },
};
#define N_REFUSALS (sizeof(refusals) / sizeof(refusals[0]))

/* 0: all of it in one read. */
static const size_t chunk_sizes[] = { 0, 1, 2, 3, 7, 16, 64, 100, 199, 200,
    201 };
#define N_CHUNK_SIZES (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))

static void
feed_chunked(struct h *h, enum sg_side side, const char *in, size_t len,
    size_t step)
{
	size_t off, n;

	if (step == 0)
		step = len;
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		sg_session_on_bytes(h->s, side, in + off, n, h->now);
		run(h);
	}
}

static struct sg_session_params
refusal_params(enum limit_kind limit)
{
	struct sg_session_params p = params();

	switch (limit) {
	case L_SIZE:
		p.limits.max_stanza = 200;
		break;
	case L_DEPTH:
		p.limits.max_depth = 4;
		break;
	/* Limits that the stream headers and C_MSG still pass. */
	case L_ATTRS:
		p.limits.max_attrs = 5;
		break;
	case L_NAME:
		p.limits.max_name = 16;
		break;
	case L_VALUE:
		p.limits.max_value = 40;
		break;
	case L_NONE:
		break;
	}
	return (p);
}

START_TEST(test_refused_partial_counted_once)
{
	size_t c = (size_t)_i / N_CHUNK_SIZES;
	size_t step = chunk_sizes[(size_t)_i % N_CHUNK_SIZES];
	struct h *h = opened_with(refusal_params(refusals[c].limit));
	char in[1024], want[256];
	int n;

	n = snprintf(in, sizeof(in), "%s%s", C_MSG, refusals[c].bad);
	ck_assert_int_lt(n, (int)sizeof(in));
	feed_chunked(h, SG_CLIENT, in, (size_t)n, step);
	/* More bytes after the refusal are dropped, never counted again. */
	feed(h, SG_CLIENT, "<message><body>more");
	snprintf(want, sizeof(want), "%s%s%s", C_MSG,
	    refusals[c].fwd != NULL ? refusals[c].fwd : "", TAG);
	EXPECT_OUT(h, SG_SERVER, want);
	ck_assert_int_eq(stats(h)->reason, refusals[c].reason);
	ck_assert_msg(stats(h)->truncated[SG_CLIENT] == refusals[c].truncated,
	    "case %zu (%s), chunks of %zu: truncated=%llu", c,
	    refusals[c].bad, step,
	    (unsigned long long)stats(h)->truncated[SG_CLIENT]);
	ck_assert_uint_eq(stats(h)->truncated[SG_SERVER], 0);
	h_free(h);
}
END_TEST

/*
 * max-stanza = 200: 200 bytes pass; the limit crossed by the 201st byte,
 * alone in its read or not, or a stanza that starts in the read that
 * crosses it: truncated=1 each time.
 */
START_TEST(test_too_large_at_first_byte_past_limit)
{
	static const size_t firsts[] = { 200, 199, 1, 0 };
	struct sg_session_params p = params();
	char big[202];
	size_t first = firsts[_i];
	struct h *h;

	p.limits.max_stanza = 200;
	h = opened_with(p);
	memcpy(big, "<message><body>", 15);
	memset(big + 15, 'a', sizeof(big) - 16);
	big[sizeof(big) - 1] = '\0';
	ck_assert_uint_eq(strlen(big), 201);
	feed(h, SG_CLIENT, C_MSG);
	if (first > 0)
		feed_chunked(h, SG_CLIENT, big, first, first);
	EXPECT_OUT(h, SG_SERVER, C_MSG);
	EXPECT_TRACE(h, "");
	feed(h, SG_CLIENT, big + first);
	EXPECT_OUT(h, SG_SERVER, TAG);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_LIMIT);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 1);
	h_free(h);
}
END_TEST

/* The same from S: the rule is written once for both directions. */
START_TEST(test_refused_partial_from_server)
{
	struct sg_session_params p = params();
	struct h *h;

	p.limits.max_stanza = 200;
	h = opened_with(p);
	feed(h, SG_SERVER, S_MSG BIG_BODY);
	EXPECT_OUT(h, SG_CLIENT, S_MSG TAG);
	ck_assert_uint_eq(stats(h)->truncated[SG_SERVER], 1);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 0);
	h_free(h);
}
END_TEST

/* A partial close tag or stream header is no stanza: not truncated. */
START_TEST(test_vanish_mid_close_tag_not_truncated)
{
	struct h *h = opened();
	struct h *h2 = h_new_with(params());

	feed(h, SG_CLIENT, C_MSG "</stream:str");
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, C_MSG TAG);
	ck_assert_uint_eq(stats(h)->truncated[SG_CLIENT], 0);
	h_free(h);
	feed(h2, SG_CLIENT, "<?xml version='1.0'?><stream:stream xmlns='ja");
	eof(h2, SG_CLIENT);
	ck_assert_uint_eq(stats(h2)->truncated[SG_CLIENT], 0);
	h_free(h2);
}
END_TEST

START_TEST(test_upstream_unreachable_after_header)
{
	struct h *h = h_new_with(params());

	h->stalled[SG_SERVER] = 1;	/* not connected yet */
	feed(h, SG_CLIENT, C_HDR);
	sg_session_on_upstream_failed(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='" NS_STREAMS "' "
	    "version='1.0' from='example.com' id='stanzaguard'>"
	    "<stream:error><remote-connection-failed xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-streams'/></stream:error>" TAG);
	EXPECT_OUT(h, SG_SERVER, "");
	feed(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "Sc");
	eof(h, SG_CLIENT);
	EXPECT_TRACE(h, "X");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_UPSTREAM_UNREACHABLE);
	h_free(h);
}
END_TEST

/* A to= too long for the session's own room is kept on the heap, whole. */
START_TEST(test_upstream_unreachable_long_to)
{
	struct h *h = h_new_with(params());
	char dom[101], hdr[512], want[512];

	memset(dom, 'd', 96);
	memcpy(dom + 96, ".org", 5);
	snprintf(hdr, sizeof(hdr), "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='" NS_STREAMS "' to='%s' "
	    "version='1.0'>", dom);
	snprintf(want, sizeof(want), "version='1.0' from='%s' "
	    "id='stanzaguard'>", dom);
	h->stalled[SG_SERVER] = 1;
	feed(h, SG_CLIENT, hdr);
	sg_session_on_upstream_failed(h->s, h->now);
	run(h);
	ck_assert_ptr_nonnull(strstr(h->out[SG_CLIENT], want));
	h_free(h);
}
END_TEST

START_TEST(test_upstream_unreachable_before_header)
{
	struct h *h = h_new_with(params());

	sg_session_on_upstream_failed(h->s, h->now);
	run(h);
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_CLIENT, "<?xml version='1.0'?>");
	EXPECT_OUT(h, SG_CLIENT, "");
	feed(h, SG_CLIENT, C_HDR + 21);
	ck_assert_ptr_nonnull(strstr(h->out[SG_CLIENT],
	    "<remote-connection-failed"));
	h_free(h);
}
END_TEST

START_TEST(test_upstream_unreachable_silent_client)
{
	struct h *h = h_new_with(params());

	sg_session_on_upstream_failed(h->s, h->now);
	run(h);
	advance(h, CLOSE);
	EXPECT_TRACE(h, "Sc");
	/* The wait for its header is over: no deadline left in the past
	 * (it was, and the daemon's timer would fire without end). */
	ck_assert_uint_gt(sg_session_deadline(h->s), h->now);
	eof(h, SG_CLIENT);
	EXPECT_TRACE(h, "X");
	EXPECT_OUT(h, SG_CLIENT, "");
	h_free(h);
}
END_TEST

#define SM_ENABLED(resume) "<enabled xmlns='urn:xmpp:sm:3' id='sm1' " \
	"resume='" resume "'/>"

/* Resumable stream management: a vanished client stays a disconnect. */
START_TEST(test_sm_resumable_vanish_no_tag)
{
	struct h *h = opened();

	feed(h, SG_CLIENT, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
	feed(h, SG_SERVER, SM_ENABLED("true"));
	EXPECT_OUT(h, SG_SERVER, "<enable xmlns='urn:xmpp:sm:3' "
	    "resume='true'/>");
	EXPECT_OUT(h, SG_CLIENT, SM_ENABLED("true"));
	feed(h, SG_CLIENT, C_MSG);
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, C_MSG);	/* no close tag */
	EXPECT_TRACE(h, "SsSc");
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "X");
	ck_assert_int_eq(stats(h)->sm_resumable, 1);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_CLIENT_VANISHED);
	h_free(h);
}
END_TEST

/* A resumed session (XEP-0198 <resumed/>) is resumable again. */
START_TEST(test_sm_resumed_is_resumable)
{
	struct h *h = opened();

	feed(h, SG_SERVER, "<resumed xmlns='urn:xmpp:sm:3' h='5' "
	    "previd='sm1'/>");
	ck_assert_int_eq(stats(h)->sm, 1);
	ck_assert_int_eq(stats(h)->sm_resumable, 1);
	eof(h, SG_CLIENT);
	EXPECT_OUT(h, SG_SERVER, "");		/* a plain disconnect */
	h_free(h);
}
END_TEST

/* Stream management on, not resumable: tags, but no bounces (auto). */
START_TEST(test_sm_on_logs_instead_of_bounce)
{
	struct h *h = opened();

	feed(h, SG_SERVER, SM_ENABLED("false"));
	EXPECT_OUT(h, SG_CLIENT, SM_ENABLED("false"));
	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER], 0);
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	ck_assert_int_eq(stats(h)->sm, 1);
	ck_assert_int_eq(stats(h)->sm_resumable, 0);
	h_free(h);
}
END_TEST

START_TEST(test_policy_bounce_overrides_sm)
{
	struct sg_session_params p = params();
	struct h *h;

	p.policy = SG_POLICY_BOUNCE;
	h = opened_with(p);
	feed(h, SG_SERVER, SM_ENABLED("false"));
	advance(h, IDLE);
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_SERVER, BOUNCE_S_MSG);
	h_free(h);
}
END_TEST

START_TEST(test_policy_log_never_bounces)
{
	struct sg_session_params p = params();
	struct h *h;

	p.policy = SG_POLICY_LOG;
	h = opened_with(p);
	advance(h, IDLE);
	feed(h, SG_SERVER, S_MSG);
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 1);
	h_free(h);
}
END_TEST

/* Only messages and get/set iqs are bounced (rule 5). */
START_TEST(test_bounce_rules)
{
	struct h *h = opened();

	advance(h, IDLE);
	feed(h, SG_SERVER, "<message type='groupchat' id='g'/>"
	    "<message type='error' id='e'/><presence/><r xmlns='urn:xmpp:sm:3'/>"
	    "<iq type='result' id='r'/>");
	EXPECT_OUT(h, SG_SERVER, "");
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 5);
	feed(h, SG_SERVER, "<iq type='set' id='q&amp;1' from='a@b/c'><query "
	    "xmlns='jabber:iq:roster'/></iq>");
	EXPECT_OUT(h, SG_SERVER, "<iq to='a@b/c' id='q&amp;1' type='error'>"
	    "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-stanzas'/></error></iq>");
	ck_assert_uint_eq(stats(h)->nnamed, 5);
	ck_assert_uint_eq(h->undelivered, 5);
	h_free(h);
}
END_TEST

/* Past the last line's room, every undeliverable stanza is still named. */
START_TEST(test_many_undeliverable_all_named)
{
	struct h *h = opened();
	int i;

	advance(h, IDLE);
	for (i = 0; i < 20; i++)
		feed(h, SG_SERVER, "<presence from='bob@example.com/x'/>");
	ck_assert_uint_eq(stats(h)->undeliverable[SG_SERVER], 20);
	ck_assert_uint_eq(stats(h)->nnamed, SG_UNDELIVERABLE_NAMED);
	ck_assert_uint_eq(h->undelivered, 20);
	h_free(h);
}
END_TEST

START_TEST(test_starttls_goes_opaque)
{
	struct h *h = opened();
	const char bin[] = "\x16\x03\x01\x00\x05hello";

	feed(h, SG_CLIENT, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	feed(h, SG_SERVER, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	EXPECT_OUT(h, SG_CLIENT, "<proceed xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'/>");
	EXPECT_OUT(h, SG_SERVER, "<starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'/>");
	feed(h, SG_CLIENT, bin);
	EXPECT_OUT(h, SG_SERVER, bin);
	ck_assert_int_eq(stats(h)->opaque, 1);
	/* Half-close is relayed, never a tag. */
	eof(h, SG_CLIENT);
	EXPECT_TRACE(h, "Ss");
	feed(h, SG_SERVER, "<<not xml>>");
	EXPECT_OUT(h, SG_CLIENT, "<<not xml>>");
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "ScX");
	ck_assert_int_eq(stats(h)->reason, SG_REASON_CLIENT);
	h_free(h);
}
END_TEST

START_TEST(test_sasl_restart)
{
	struct h *h = opened();
	const char *s2 = "<stream:stream xmlns='jabber:client' xmlns:stream='"
	    NS_STREAMS "' id='s2' version='1.0'>";

	feed(h, SG_CLIENT, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGEAYg==</auth>");
	feed(h, SG_SERVER, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
	    "/>");
	feed(h, SG_CLIENT, C_HDR);
	feed(h, SG_SERVER, s2);
	EXPECT_OUT(h, SG_CLIENT, "<success xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl'/><stream:stream xmlns='jabber:client' xmlns:stream='"
	    NS_STREAMS "' id='s2' version='1.0'>");
	feed(h, SG_CLIENT, C_MSG TAG);
	feed(h, SG_SERVER, TAG);
	EXPECT_OUT(h, SG_CLIENT, TAG);
	EXPECT_TRACE(h, "SsSc");
	finish(h);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_CLIENT);
	h_free(h);
}
END_TEST

/* s2s closes the same way; the bounce is addressed in jabber:server. */
START_TEST(test_s2s_idle_close_bounces)
{
#define S2S_HDR "<stream:stream xmlns='jabber:server' xmlns:stream='" \
	NS_STREAMS "' xmlns:db='jabber:server:dialback' version='1.0'>"
	struct h *h = h_new_with(params());

	feed(h, SG_CLIENT, S2S_HDR);
	feed(h, SG_SERVER, S2S_HDR);
	feed(h, SG_CLIENT, "<db:result from='a.example' to='b.example'>k"
	    "</db:result>");
	EXPECT_OUT(h, SG_SERVER, S2S_HDR "<db:result from='a.example' "
	    "to='b.example'>k</db:result>");
	advance(h, IDLE);
	EXPECT_OUT(h, SG_CLIENT, S2S_HDR TAG);
	feed(h, SG_SERVER, "<message from='u@b.example' to='v@a.example' "
	    "id='x1'><body>hi</body></message>");
	EXPECT_OUT(h, SG_SERVER, "<message from='v@a.example' to='u@b.example' "
	    "id='x1' type='error'><error type='wait'><recipient-unavailable "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
	h_free(h);
}
END_TEST

/* A custom prefix: our own close tag uses it. */
START_TEST(test_custom_prefix_close_tag)
{
	struct h *h = h_new_with(params());

	feed(h, SG_CLIENT, "<x:stream xmlns='jabber:client' xmlns:x='"
	    NS_STREAMS "'>");
	feed(h, SG_SERVER, "<stream xmlns='" NS_STREAMS "'>");
	advance(h, IDLE);
	ck_assert_ptr_nonnull(strstr(h->out[SG_CLIENT], "></stream>"));
	feed(h, SG_CLIENT, "</x:stream>");
	ck_assert_ptr_nonnull(strstr(h->out[SG_SERVER], "</x:stream>"));
	h_free(h);
}
END_TEST

/*
 * S stalled, C sends n stanzas of about 1 kB towards a high-water mark of
 * 5000 bytes: the fifth pauses C.  S's stall is not timed out before
 * stall_ms.
 */
static struct h *
stalled_server_for(int n, uint64_t stall_ms)
{
	struct sg_session_params p = params();
	struct h *h;
	char msg[1100];
	int i;

	p.high_water = 5000;
	p.low_water = 1024;
	p.stanza_timeout = stall_ms;
	h = opened_with(p);
	h->stalled[SG_SERVER] = 1;
	snprintf(msg, sizeof(msg), "<message><body>%01000d</body></message>",
	    0);
	for (i = 0; i < n; i++)
		feed(h, SG_CLIENT, msg);
	return (h);
}

static struct h *
stalled_server(int n)
{

	return (stalled_server_for(n, 10 * IDLE));
}

START_TEST(test_backpressure)
{
	struct h *h = stalled_server(4);

	EXPECT_TRACE(h, "");
	h_free(h);
	h = stalled_server(5);
	EXPECT_TRACE(h, "Pc");
	unstall(h, SG_SERVER);
	EXPECT_TRACE(h, "Rc");
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], 5);
	h_free(h);
}
END_TEST

/*
 * Server-first idle close: C's stanzas now bounce back into C's own
 * queue, so it is C that must stop being read when C does not read
 * (found in review: only S was paused, and C's queue grew without bound).
 */
static struct h *
bouncing_client(void)
{
	struct sg_session_params p = params();
	struct h *h;
	int i;

	p.server_first = 1;
	p.high_water = 5000;
	p.low_water = 1024;
	h = opened_with(p);
	advance(h, IDLE);
	EXPECT_OUT(h, SG_SERVER, TAG);
	h->stalled[SG_CLIENT] = 1;
	for (i = 0; i < 40; i++)
		feed(h, SG_CLIENT, C_MSG);
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 40);
	return (h);
}

START_TEST(test_bounces_pause_their_sender)
{
	struct h *h = bouncing_client();

	EXPECT_TRACE(h, "PsPc");
	unstall(h, SG_CLIENT);
	EXPECT_TRACE(h, "RsRc");
	h_free(h);
}
END_TEST

/* The last of the pauses and resumes of a side asked at once wins. */
static char
last_pause_or_resume(const char *trace, char side)
{
	char last = 0;
	size_t i;

	for (i = 0; trace[i] != '\0' && trace[i + 1] != '\0'; i += 2)
		if ((trace[i] == 'P' || trace[i] == 'R') &&
		    trace[i + 1] == side)
			last = trace[i];
	return (last);
}

/*
 * Found in review: C drains (resume asked), its next read bounces it full
 * again (pause asked), then its socket fails (resume asked): a repeat
 * dropped left the caller with S paused for good.
 */
START_TEST(test_pause_then_resume_in_one_turn)
{
	struct h *h = bouncing_client();
	size_t queued = sg_bq_len(sg_session_outq(h->s, SG_CLIENT));
	int i;

	EXPECT_TRACE(h, "PsPc");
	sg_session_on_written(h->s, SG_CLIENT, queued, h->now);
	for (i = 0; i < 40; i++)
		sg_session_on_bytes(h->s, SG_CLIENT, C_MSG, strlen(C_MSG),
		    h->now);
	sg_session_on_write_error(h->s, SG_CLIENT, h->now);
	run(h);
	ck_assert_int_eq(last_pause_or_resume(h->trace, 's'), 'R');
	ck_assert_int_eq(last_pause_or_resume(h->trace, 'c'), 'R');
	h_free(h);
}
END_TEST

/*
 * Found by fuzz_session: a side paused by backpressure in the middle of a
 * stanza is no idle session, and the idle deadline is not left in the
 * past either (the daemon's timer would fire without end).
 */
START_TEST(test_paused_mid_stanza_not_idle)
{
	struct h *h = stalled_server(5);

	feed(h, SG_CLIENT, "<message><body>part");
	EXPECT_TRACE(h, "Pc");
	advance(h, IDLE);
	ck_assert_uint_gt(sg_session_deadline(h->s), h->now);
	ck_assert(!sg_session_closing(h->s));
	unstall(h, SG_SERVER);
	EXPECT_TRACE(h, "Rc");
	h_free(h);
}
END_TEST

/*
 * Found in review: paused mid-stanza, C's idle and stanza clocks both
 * stop; S, which takes nothing, is what ends the session.
 */
START_TEST(test_paused_mid_stanza_write_timeout)
{
	struct h *h = stalled_server_for(5, STANZA);

	feed(h, SG_CLIENT, "<message><body>part");
	EXPECT_TRACE(h, "Pc");
	ck_assert_uint_eq(sg_session_deadline(h->s), h->now + STANZA);
	advance(h, STANZA);
	ck_assert_int_eq(stats(h)->reason, SG_REASON_WRITE_TIMEOUT);
	ck_assert_int_eq(stats(h)->answer[SG_SERVER], SG_ANSWER_TIMEOUT);
	/* C's five stanzas that S never took go back to C, then our tag. */
	ck_assert_uint_eq(stats(h)->bounced[SG_CLIENT], 5);
	ck_assert_ptr_nonnull(strstr(h->out[SG_CLIENT], "</message>" TAG));
	h_free(h);
}
END_TEST

/* A big stanza held over many reads comes out whole (many chunks). */
START_TEST(test_big_stanza_over_many_reads)
{
	struct sg_session_params p = params();
	struct h *h;
	static char body[600 * 1024 + 64];
	size_t i, len, off;

	p.limits.max_stanza = 1024 * 1024;
	p.high_water = 2 * 1024 * 1024;
	h = opened_with(p);
	len = (size_t)snprintf(body, 16, "<message><body>");
	for (i = 0; i < 600 * 1024; i++)
		body[len++] = (char)('a' + i % 26);
	memcpy(body + len, "</body></message>", 18);
	len += 17;
	for (off = 0; off < len; off += 1000)
		sg_session_on_bytes(h->s, SG_CLIENT, body + off,
		    len - off < 1000 ? len - off : 1000, h->now);
	h->stalled[SG_SERVER] = 1;
	run(h);
	ck_assert_uint_eq(sg_bq_len(sg_session_outq(h->s, SG_SERVER)), len);
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_SERVER], 1);
	{
		char *out = malloc(len);

		sg_bq_copyout(sg_session_outq(h->s, SG_SERVER), 0, out, len);
		ck_assert_int_eq(memcmp(out, body, len), 0);
		free(out);
	}
	h_free(h);
}
END_TEST

/* One byte at a time gives the very same bytes out. */
START_TEST(test_byte_at_a_time)
{
	struct h *h = h_new_with(params());
	const char *in = C_HDR C_MSG " <presence/>" TAG;
	size_t i;

	for (i = 0; in[i] != '\0'; i++) {
		sg_session_on_bytes(h->s, SG_CLIENT, in + i, 1, h->now);
		run(h);
	}
	EXPECT_OUT(h, SG_SERVER, C_HDR C_MSG " <presence/>" TAG);
	h_free(h);
}
END_TEST

/*
 * hide_starttls: what S sends, and what C must get.  Each is followed by
 * S_MSG, which must pass unchanged.
 */
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define MECHS "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" \
	"<mechanism>PLAIN</mechanism></mechanisms>"
static const struct {
	const char *in;
	const char *hidden;	/* out with hide_starttls, else out = in */
} tls_cases[] = {
	/* first, self-closing */
	{ "<stream:features><starttls xmlns='" NS_TLS "'/>" MECHS
	    "</stream:features>",
	  "<stream:features>" MECHS "</stream:features>" },
	/* last, with <required/> */
	{ "<stream:features>" MECHS "<starttls xmlns='" NS_TLS "'>"
	    "<required/></starttls></stream:features>",
	  "<stream:features>" MECHS "</stream:features>" },
	/* alone, not self-closing, with the whitespace around it kept */
	{ "<stream:features>\n <starttls xmlns='" NS_TLS "'>\n  <required/>"
	    "\n </starttls>\n</stream:features>",
	  "<stream:features>\n \n</stream:features>" },
	{ "<stream:features><starttls xmlns='" NS_TLS "'></starttls>"
	    "</stream:features>",
	  "<stream:features></stream:features>" },
	/* a prefix on starttls, declared there or on the features */
	{ "<stream:features><tls:starttls xmlns:tls='" NS_TLS "'>"
	    "<tls:required/></tls:starttls><bind xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-bind'/></stream:features>",
	  "<stream:features><bind xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-bind'/></stream:features>" },
	{ "<stream:features xmlns:t='" NS_TLS "'><t:starttls/>"
	    "</stream:features>",
	  "<stream:features xmlns:t='" NS_TLS "'></stream:features>" },
	/* features under another prefix */
	{ "<f:features xmlns:f='" NS_STREAMS "'><starttls xmlns='" NS_TLS
	    "'/></f:features>",
	  "<f:features xmlns:f='" NS_STREAMS "'></f:features>" },
	/* two offers: both go */
	{ "<stream:features><starttls xmlns='" NS_TLS "'/>" MECHS
	    "<starttls xmlns='" NS_TLS "'><required/></starttls>"
	    "</stream:features>",
	  "<stream:features>" MECHS "</stream:features>" },
	/* untouched: no starttls, another namespace, another stanza, deeper */
	{ "<stream:features>" MECHS "</stream:features>", NULL },
	{ "<stream:features><starttls xmlns='urn:example:tls'/>"
	    "</stream:features>", NULL },
	{ "<features xmlns='urn:example'><starttls xmlns='" NS_TLS "'/>"
	    "</features>", NULL },
	{ "<message id='t'><starttls xmlns='" NS_TLS "'/></message>", NULL },
	{ "<stream:features><x xmlns='urn:example'><starttls xmlns='" NS_TLS
	    "'/></x></stream:features>", NULL },
};
#define N_TLS_CASES (sizeof(tls_cases) / sizeof(tls_cases[0]))

/* S's bytes split at every offset give the same bytes to C. */
static void
check_tls_case(size_t i, int hide, enum sg_side from)
{
	struct sg_session_params p = params();
	char in[1024], want[1024];
	size_t len, k;

	p.hide_starttls = hide;
	snprintf(in, sizeof(in), "%s%s", tls_cases[i].in, S_MSG);
	snprintf(want, sizeof(want), "%s%s", hide && from == SG_SERVER &&
	    tls_cases[i].hidden != NULL ? tls_cases[i].hidden :
	    tls_cases[i].in, S_MSG);
	len = strlen(in);
	for (k = 0; k < len; k++) {
		struct h *h = opened_with(p);

		sg_session_on_bytes(h->s, from, in, k, h->now);
		sg_session_on_bytes(h->s, from, in + k, len - k, h->now);
		run(h);
		EXPECT_OUT(h, OTHER_SIDE(from), want);
		ck_assert_uint_eq(stats(h)->stanzas_out[OTHER_SIDE(from)], 2);
		EXPECT_TRACE(h, "");
		h_free(h);
	}
}

START_TEST(test_hide_starttls)
{

	check_tls_case((size_t)_i, 1, SG_SERVER);
}
END_TEST

START_TEST(test_hide_starttls_off_unchanged)
{

	check_tls_case((size_t)_i, 0, SG_SERVER);
}
END_TEST

/* Only what S offers is changed: C's bytes go as they came. */
START_TEST(test_hide_starttls_client_unchanged)
{

	check_tls_case((size_t)_i, 1, SG_CLIENT);
}
END_TEST

/* One byte at a time, around and inside the cut. */
START_TEST(test_hide_starttls_byte_at_a_time)
{
	struct sg_session_params p = params();
	struct h *h;
	const char *in = tls_cases[2].in;
	size_t i;

	p.hide_starttls = 1;
	h = opened_with(p);
	for (i = 0; in[i] != '\0'; i++) {
		sg_session_on_bytes(h->s, SG_SERVER, in + i, 1, h->now);
		run(h);
	}
	EXPECT_OUT(h, SG_CLIENT, tls_cases[2].hidden);
	h_free(h);
}
END_TEST

/*
 * The ledger holds the shorter features: once exactly those bytes are
 * written, a write error leaves only the message after them to account
 * for (bounced to S), and the features count as delivered.
 */
START_TEST(test_hide_starttls_ledger)
{
	struct sg_session_params p = params();
	struct h *h;
	size_t n = strlen(tls_cases[0].hidden);

	p.hide_starttls = 1;
	h = opened_with(p);
	h->stalled[SG_CLIENT] = 1;
	feed(h, SG_SERVER, tls_cases[0].in);
	feed(h, SG_SERVER, S_MSG);
	ck_assert_uint_eq(sg_bq_len(sg_session_outq(h->s, SG_CLIENT)),
	    n + strlen(S_MSG));
	sg_session_on_written(h->s, SG_CLIENT, n, h->now);
	sg_session_on_write_error(h->s, SG_CLIENT, h->now);
	run(h);
	ck_assert_uint_eq(stats(h)->stanzas_in[SG_SERVER], 2);
	ck_assert_uint_eq(stats(h)->stanzas_out[SG_CLIENT], 1);
	ck_assert_uint_eq(stats(h)->bounced[SG_SERVER] +
	    stats(h)->undeliverable[SG_SERVER], 1);
	h_free(h);
}
END_TEST

Suite *
sg_suite_session(void)
{
	Suite *s = suite_create("session");
	TCase *relay = tcase_create("relay");
	TCase *close = tcase_create("close");
	TCase *fault = tcase_create("fault");
	TCase *proto = tcase_create("protocol");

	tcase_add_test(relay, test_relay_stanzas_whole);
	tcase_add_test(relay, test_backpressure);
	tcase_add_test(relay, test_paused_mid_stanza_not_idle);
	tcase_add_test(relay, test_bounces_pause_their_sender);
	tcase_add_test(relay, test_pause_then_resume_in_one_turn);
	tcase_add_test(relay, test_paused_mid_stanza_write_timeout);
	tcase_add_test(relay, test_byte_at_a_time);
	tcase_add_test(relay, test_big_stanza_over_many_reads);
	tcase_add_test(close, test_client_closes_first);
	tcase_add_test(close, test_server_closes_first);
	tcase_add_test(close, test_both_close_at_once);
	tcase_add_test(close, test_server_error_then_tag_relayed);
	tcase_add_test(close, test_idle_client_first);
	tcase_add_test(close, test_unsent_bounce_is_named);
	tcase_add_test(close, test_idle_server_first);
	tcase_add_test(close, test_idle_deadline_moves_with_traffic);
	tcase_add_test(close, test_close_timeout);
	tcase_add_test(close, test_close_timeout_counts_silence);
	tcase_add_test(close, test_service_stop);
	tcase_add_test(close, test_stop_with_partial_stanza_from_server);
	tcase_add_test(close, test_force_close);
	tcase_add_test(close, test_service_stop_server_first);
	tcase_add_test(close, test_service_stop_server_first_split_tag);
	tcase_add_test(close, test_service_stop_server_first_server_eof);
	tcase_add_test(close, test_service_stop_server_first_write_error);
	tcase_add_test(close, test_service_stop_server_first_close_timeout);
	tcase_add_test(close, test_force_close_server_first);
	tcase_add_test(close, test_service_stop_server_first_server_error);
	tcase_add_test(close, test_service_stop_server_first_rewritten_error);
	tcase_add_test(close, test_idle_server_first_server_eof);
	tcase_add_test(close, test_custom_prefix_close_tag);
	tcase_add_test(close, test_s2s_idle_close_bounces);
	tcase_add_test(fault, test_server_vanishes_after_error);
	tcase_add_test(fault, test_rewrite_idle_error);
	tcase_add_test(fault, test_client_vanishes_bounces_queued);
	tcase_add_test(fault, test_stanza_timeout);
	tcase_add_test(fault, test_write_timeout);
	tcase_add_test(fault, test_write_timeout_counts_progress);
	tcase_add_test(fault, test_close_timeout_from_tag_taken);
	tcase_add_test(fault, test_idle_close_unread_tag);
	tcase_add_test(fault, test_write_timeout_after_own_stream_closed);
	tcase_add_test(fault, test_stanza_timeout_after_server_gone);
	tcase_add_test(fault, test_eof_mid_stanza);
	tcase_add_test(fault, test_bytes_after_close_tag_dropped);
	tcase_add_test(fault, test_bad_xml_from_client);
	tcase_add_test(fault, test_bad_xml_before_header);
	tcase_add_test(fault, test_nested_stream_header_refused);
	tcase_add_test(fault, test_stanza_too_large);
	tcase_add_loop_test(fault, test_refused_partial_counted_once, 0,
	    N_REFUSALS * N_CHUNK_SIZES);
	tcase_add_loop_test(fault, test_too_large_at_first_byte_past_limit, 0,
	    4);
	tcase_add_test(fault, test_refused_partial_from_server);
	tcase_add_test(fault, test_vanish_mid_close_tag_not_truncated);
	tcase_add_test(fault, test_upstream_unreachable_after_header);
	tcase_add_test(fault, test_upstream_unreachable_long_to);
	tcase_add_test(fault, test_upstream_unreachable_before_header);
	tcase_add_test(fault, test_upstream_unreachable_silent_client);
	tcase_add_test(proto, test_sm_resumable_vanish_no_tag);
	tcase_add_test(proto, test_sm_resumed_is_resumable);
	tcase_add_test(proto, test_sm_on_logs_instead_of_bounce);
	tcase_add_test(proto, test_policy_bounce_overrides_sm);
	tcase_add_test(proto, test_policy_log_never_bounces);
	tcase_add_test(proto, test_bounce_rules);
	tcase_add_test(proto, test_many_undeliverable_all_named);
	tcase_add_test(proto, test_starttls_goes_opaque);
	tcase_add_test(proto, test_sasl_restart);
	tcase_add_loop_test(proto, test_hide_starttls, 0, N_TLS_CASES);
	tcase_add_loop_test(proto, test_hide_starttls_off_unchanged, 0,
	    N_TLS_CASES);
	tcase_add_loop_test(proto, test_hide_starttls_client_unchanged, 0,
	    N_TLS_CASES);
	tcase_add_test(proto, test_hide_starttls_byte_at_a_time);
	tcase_add_test(proto, test_hide_starttls_ledger);
	suite_add_tcase(s, relay);
	suite_add_tcase(s, close);
	suite_add_tcase(s, fault);
	suite_add_tcase(s, proto);
	return (s);
}
