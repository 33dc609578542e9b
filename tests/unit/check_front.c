/*
 * The starttls front: our answers byte for byte, the same whatever the
 * split, and every refusal.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bq.h"
#include "front.h"
#include "suites.h"

#define NS_TLS	"urn:ietf:params:xml:ns:xmpp-tls"
#define HDR \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.test' " \
	"version='1.0'>"
#define OUR_HDR \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' " \
	"from='example.test' id='abc'>"
#define FEATURES \
	"<stream:features><starttls xmlns='" NS_TLS "'><required/>" \
	"</starttls></stream:features>"
#define PROCEED	"<proceed xmlns='" NS_TLS "'/>"
#define TLS_REQ \
	"<stream:error><policy-violation " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>TLS is " \
	"required: send &lt;starttls/&gt; first</text></stream:error>" \
	"</stream:stream>"

static struct sg_front *
front(void)
{
	struct sg_tracker_limits lim;
	struct sg_front *f;

	sg_tracker_limits_default(&lim);
	ck_assert_ptr_nonnull(f = sg_front_new(&lim, "abc"));
	return (f);
}

/* Everything queued, as a string (the caller frees it). */
static char *
take(struct sg_front *f)
{
	struct sg_bq *q = sg_front_outq(f);
	size_t n = sg_bq_len(q);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	sg_bq_copyout(q, 0, s, n);
	s[n] = '\0';
	sg_bq_consume(q, n);
	return (s);
}

static void
expect(struct sg_front *f, const char *want)
{
	char *got = take(f);

	ck_assert_str_eq(got, want);
	free(got);
}

/* in, split at byte i, gives outcome and out. */
static void
split_run(const char *in, size_t i, enum sg_front_outcome want,
    const char *out)
{
	struct sg_front *f = front();
	enum sg_front_outcome o;

	o = sg_front_feed(f, in, i);
	if (o == SG_FRONT_NEED_MORE)
		o = sg_front_feed(f, in + i, strlen(in) - i);
	ck_assert_int_eq(o, want);
	expect(f, out);
	sg_front_free(f);
}

static const char starttls[] = HDR "<starttls xmlns='" NS_TLS "'/>";

START_TEST(test_header_and_starttls_split_anywhere)
{
	split_run(starttls, (size_t)_i, SG_FRONT_PROCEED,
	    OUR_HDR FEATURES PROCEED);
}
END_TEST

START_TEST(test_prefixed_starttls)
{
	static const char st[] = "<t:starttls xmlns:t='" NS_TLS "'>"
	    "</t:starttls>\n";
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, HDR, strlen(HDR)),
	    SG_FRONT_NEED_MORE);
	expect(f, OUR_HDR FEATURES);
	ck_assert_str_eq(sg_front_to(f), "example.test");
	ck_assert_int_eq(sg_front_feed(f, "\n \n", 3), SG_FRONT_NEED_MORE);
	ck_assert_int_eq(sg_front_feed(f, st, strlen(st)), SG_FRONT_PROCEED);
	expect(f, PROCEED);
	sg_front_free(f);
}
END_TEST

START_TEST(test_server_namespace_echoed)
{
	static const char h[] = "<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'>";
	struct sg_front *f = front();
	char *got;

	ck_assert_int_eq(sg_front_feed(f, h, strlen(h)), SG_FRONT_NEED_MORE);
	got = take(f);
	ck_assert_ptr_nonnull(strstr(got, "xmlns='jabber:server'"));
	ck_assert_ptr_null(strstr(got, "from="));
	free(got);
	ck_assert_str_eq(sg_front_to(f), "");
	sg_front_free(f);
}
END_TEST

START_TEST(test_auth_before_starttls_refused)
{
	static const char in[] = HDR "<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>";

	split_run(in, (size_t)_i, SG_FRONT_REFUSE, OUR_HDR FEATURES TLS_REQ);
}
END_TEST

START_TEST(test_stanza_before_starttls_refused)
{
	struct sg_front *f = front();
	static const char in[] = HDR "<message to='a@b'><body>x</body>"
	    "</message>";

	ck_assert_int_eq(sg_front_feed(f, in, strlen(in)), SG_FRONT_REFUSE);
	expect(f, OUR_HDR FEATURES TLS_REQ);
	ck_assert_str_eq(sg_front_why(f), "a stanza before <starttls/>");
	/* Final: more bytes change nothing. */
	ck_assert_int_eq(sg_front_feed(f, "<x/>", 4), SG_FRONT_REFUSE);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	sg_front_free(f);
}
END_TEST

START_TEST(test_data_after_starttls_refused)
{
	struct sg_front *f = front();
	static const char in[] = HDR "<starttls xmlns='" NS_TLS "'/>\x16\x03";

	ck_assert_int_eq(sg_front_feed(f, in, sizeof(in) - 1),
	    SG_FRONT_REFUSE);
	expect(f, OUR_HDR FEATURES TLS_REQ);
	sg_front_free(f);
}
END_TEST

START_TEST(test_bad_xml)
{
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, HDR "<a></b>", strlen(HDR) + 7),
	    SG_FRONT_REFUSE);
	expect(f, OUR_HDR FEATURES "<stream:error><not-well-formed "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	    "</stream:stream>");
	sg_front_free(f);
}
END_TEST

START_TEST(test_bad_xml_before_header)
{
	struct sg_front *f = front();
	char *got;

	ck_assert_int_eq(sg_front_feed(f, "<<<", 3), SG_FRONT_REFUSE);
	got = take(f);
	/* Our header first: the client must be able to parse the error. */
	ck_assert_ptr_nonnull(strstr(got,
	    "<stream:stream xmlns='jabber:client'"));
	ck_assert_ptr_nonnull(strstr(got, "<not-well-formed"));
	free(got);
	sg_front_free(f);
}
END_TEST

START_TEST(test_client_closes)
{
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, HDR " </stream:stream>",
	    strlen(HDR) + 17), SG_FRONT_CLOSED);
	expect(f, OUR_HDR FEATURES "</stream:stream>");
	sg_front_free(f);
}
END_TEST

#define SHUTDOWN \
	"<stream:error><system-shutdown " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" \
	"</stream:stream>"

START_TEST(test_shutdown_after_features)
{
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, HDR, strlen(HDR)),
	    SG_FRONT_NEED_MORE);
	expect(f, OUR_HDR FEATURES);
	ck_assert_int_eq(sg_front_shutdown(f), SG_FRONT_REFUSE);
	expect(f, SHUTDOWN);
	ck_assert_str_eq(sg_front_why(f), "the service is stopping");
	/* Final: the client's <starttls/> now changes nothing. */
	ck_assert_int_eq(sg_front_feed(f, "<starttls xmlns='" NS_TLS "'/>",
	    strlen("<starttls xmlns='" NS_TLS "'/>")), SG_FRONT_REFUSE);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	sg_front_free(f);
}
END_TEST

START_TEST(test_shutdown_before_header)
{
	struct sg_front *f = front();

	/* Half a header: ours must still come first, in jabber:client. */
	ck_assert_int_eq(sg_front_feed(f, HDR, 20), SG_FRONT_NEED_MORE);
	ck_assert_int_eq(sg_front_shutdown(f), SG_FRONT_REFUSE);
	expect(f, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
	    "id='abc'>" SHUTDOWN);
	sg_front_free(f);
}
END_TEST

START_TEST(test_shutdown_after_proceed_says_nothing)
{
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, starttls, strlen(starttls)),
	    SG_FRONT_PROCEED);
	expect(f, OUR_HDR FEATURES PROCEED);
	ck_assert_int_eq(sg_front_shutdown(f), SG_FRONT_PROCEED);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	sg_front_free(f);
}
END_TEST

#define BUSY \
	"<stream:error><resource-constraint " \
	"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" \
	"</stream:stream>"
#define BUSY_WHY	"over max-connections"

/* A front that refuses every client at its header, as over capacity. */
static struct sg_front *
busy_front(void)
{
	struct sg_front *f = front();

	sg_front_refuse_at_header(f, "resource-constraint", BUSY_WHY);
	return (f);
}

START_TEST(test_refuse_at_header_split_anywhere)
{
	struct sg_front *f = busy_front();
	enum sg_front_outcome o;
	size_t i = (size_t)_i;

	o = sg_front_feed(f, HDR, i);
	if (o == SG_FRONT_NEED_MORE) {
		/* Nothing before the whole header: no features, ever. */
		ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
		o = sg_front_feed(f, HDR + i, strlen(HDR) - i);
	}
	ck_assert_int_eq(o, SG_FRONT_REFUSE);
	expect(f, OUR_HDR BUSY);
	ck_assert_str_eq(sg_front_why(f), BUSY_WHY);
	ck_assert_str_eq(sg_front_to(f), "example.test");
	sg_front_free(f);
}
END_TEST

START_TEST(test_refuse_at_header_ignores_what_follows)
{
	static const char in[] = HDR "<starttls xmlns='" NS_TLS "'/>"
	    "<message><body>x</body></message>";
	struct sg_front *f = busy_front();

	ck_assert_int_eq(sg_front_feed(f, in, strlen(in)), SG_FRONT_REFUSE);
	expect(f, OUR_HDR BUSY);
	ck_assert_int_eq(sg_front_feed(f, "</stream:stream>", 16),
	    SG_FRONT_REFUSE);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	/* Decided: a stop now says nothing more. */
	ck_assert_int_eq(sg_front_shutdown(f), SG_FRONT_REFUSE);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	ck_assert_str_eq(sg_front_why(f), BUSY_WHY);
	sg_front_free(f);
}
END_TEST

START_TEST(test_refuse_at_header_server_namespace)
{
	static const char h[] = "<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='b.example' version='1.0'>";
	struct sg_front *f = busy_front();

	ck_assert_int_eq(sg_front_feed(f, h, strlen(h)), SG_FRONT_REFUSE);
	expect(f, "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
	    "from='b.example' id='abc'>" BUSY);
	sg_front_free(f);
}
END_TEST

START_TEST(test_refuse_at_header_bad_xml)
{
	struct sg_front *f = busy_front();
	char *got;

	/* Not XML at all: said as such, our header first. */
	ck_assert_int_eq(sg_front_feed(f, "\x16\x03\x01", 3),
	    SG_FRONT_REFUSE);
	got = take(f);
	ck_assert_ptr_nonnull(strstr(got,
	    "<stream:stream xmlns='jabber:client'"));
	ck_assert_ptr_nonnull(strstr(got, "<not-well-formed"));
	free(got);
	sg_front_free(f);
}
END_TEST

START_TEST(test_refuse_before_header)
{
	struct sg_front *f = busy_front();

	/* Silent, or half a header, when the time is up: ours comes first. */
	ck_assert_int_eq(sg_front_feed(f, HDR, 20), SG_FRONT_NEED_MORE);
	ck_assert_int_eq(sg_front_refuse(f, "resource-constraint",
	    "no header"), SG_FRONT_REFUSE);
	expect(f, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
	    "id='abc'>" BUSY);
	ck_assert_str_eq(sg_front_why(f), "no header");
	/* Final: the rest of the header changes nothing. */
	ck_assert_int_eq(sg_front_feed(f, HDR + 20, strlen(HDR) - 20),
	    SG_FRONT_REFUSE);
	ck_assert_uint_eq(sg_bq_len(sg_front_outq(f)), 0);
	sg_front_free(f);
}
END_TEST

START_TEST(test_refuse_after_features)
{
	struct sg_front *f = front();

	ck_assert_int_eq(sg_front_feed(f, HDR, strlen(HDR)),
	    SG_FRONT_NEED_MORE);
	expect(f, OUR_HDR FEATURES);
	ck_assert_int_eq(sg_front_refuse(f, "resource-constraint", BUSY_WHY),
	    SG_FRONT_REFUSE);
	expect(f, BUSY);
	sg_front_free(f);
}
END_TEST

Suite *
sg_suite_front(void)
{
	Suite *s = suite_create("front");
	TCase *tc = tcase_create("front");

	tcase_add_loop_test(tc, test_header_and_starttls_split_anywhere, 0,
	    (int)sizeof(starttls) - 1);
	tcase_add_test(tc, test_prefixed_starttls);
	tcase_add_test(tc, test_server_namespace_echoed);
	tcase_add_loop_test(tc, test_auth_before_starttls_refused, 0,
	    (int)strlen(HDR) + 10);
	tcase_add_test(tc, test_stanza_before_starttls_refused);
	tcase_add_test(tc, test_data_after_starttls_refused);
	tcase_add_test(tc, test_bad_xml);
	tcase_add_test(tc, test_bad_xml_before_header);
	tcase_add_test(tc, test_client_closes);
	tcase_add_test(tc, test_shutdown_after_features);
	tcase_add_test(tc, test_shutdown_before_header);
	tcase_add_test(tc, test_shutdown_after_proceed_says_nothing);
	tcase_add_loop_test(tc, test_refuse_at_header_split_anywhere, 0,
	    (int)strlen(HDR));
	tcase_add_test(tc, test_refuse_at_header_ignores_what_follows);
	tcase_add_test(tc, test_refuse_at_header_server_namespace);
	tcase_add_test(tc, test_refuse_at_header_bad_xml);
	tcase_add_test(tc, test_refuse_before_header);
	tcase_add_test(tc, test_refuse_after_features);
	suite_add_tcase(s, tc);
	return (s);
}
