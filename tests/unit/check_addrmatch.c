/*
 * trusted-proxies networks: parsing, refusals with the word named, and
 * membership across families, including IPv4-mapped client addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "addrmatch.h"
#include "suites.h"

static struct sockaddr_storage
ip(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, s, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return (ss);
}

static int
contains(const char *list, const char *addr)
{
	char err[128];
	struct sg_addrmatch *m;
	struct sockaddr_storage ss = ip(addr);
	int r;

	m = sg_addrmatch_parse(list, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s: %s", list, err);
	r = sg_addrmatch_contains(m, (struct sockaddr *)&ss);
	sg_addrmatch_free(m);
	return (r);
}

START_TEST(test_v4_networks)
{

	ck_assert_int_eq(contains("10.0.0.0/8", "10.255.1.2"), 1);
	ck_assert_int_eq(contains("10.0.0.0/8", "11.0.0.1"), 0);
	ck_assert_int_eq(contains("127.0.0.1", "127.0.0.1"), 1);
	ck_assert_int_eq(contains("127.0.0.1", "127.0.0.2"), 0);
	ck_assert_int_eq(contains("192.168.4.0/23", "192.168.5.9"), 1);
	ck_assert_int_eq(contains("192.168.4.0/23", "192.168.6.1"), 0);
	ck_assert_int_eq(contains("0.0.0.0/0", "203.0.113.7"), 1);
	/* An IPv4 network says nothing about IPv6 addresses. */
	ck_assert_int_eq(contains("0.0.0.0/0", "2001:db8::1"), 0);
}
END_TEST

START_TEST(test_v6_networks)
{

	ck_assert_int_eq(contains("fd00::/8", "fd12:3456::1"), 1);
	ck_assert_int_eq(contains("fd00::/8", "fe80::1"), 0);
	ck_assert_int_eq(contains("::1", "::1"), 1);
	ck_assert_int_eq(contains("2001:db8::/33", "2001:db8:7fff::1"), 1);
	ck_assert_int_eq(contains("2001:db8::/33", "2001:db8:8000::1"), 0);
}
END_TEST

START_TEST(test_mapped_client_matches_v4_network)
{

	ck_assert_int_eq(contains("127.0.0.0/8", "::ffff:127.0.0.5"), 1);
	ck_assert_int_eq(contains("127.0.0.0/8", "::ffff:10.0.0.5"), 0);
	ck_assert_int_eq(contains("127.0.0.1", "::ffff:127.0.0.1"), 1);
}
END_TEST

START_TEST(test_lists)
{
	char err[128];
	struct sg_addrmatch *m;

	ck_assert_int_eq(contains(" 10.0.0.0/8,  fd00::/8 ,127.0.0.1 ",
	    "fd00::2"), 1);
	ck_assert_int_eq(contains("10.0.0.0/8 fd00::/8", "127.0.0.1"), 0);
	m = sg_addrmatch_parse("10.0.0.0/8, fd00::/8 127.0.0.1", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(m);
	sg_addrmatch_free(m);
	/* Each of the three networks is in the list, and nothing else. */
	ck_assert_int_eq(contains("10.0.0.0/8, fd00::/8 127.0.0.1",
	    "10.9.8.7"), 1);
	ck_assert_int_eq(contains("10.0.0.0/8, fd00::/8 127.0.0.1",
	    "fd00::1"), 1);
	ck_assert_int_eq(contains("10.0.0.0/8, fd00::/8 127.0.0.1",
	    "127.0.0.1"), 1);
	ck_assert_int_eq(contains("10.0.0.0/8, fd00::/8 127.0.0.1",
	    "127.0.0.2"), 0);
	/* An empty list is a list: it holds nothing. */
	m = sg_addrmatch_parse("", err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	sg_addrmatch_free(m);
	ck_assert_int_eq(contains("", "127.0.0.1"), 0);
	ck_assert_int_eq(contains("", "::1"), 0);
}
END_TEST

static const char *const bad[] = {
	"10.0.0.0/33", "fd00::/129", "10.1.2.3/8", "10.0.0.0/", "10.0.0.0/x",
	"10.0.0.0/-1", "10.0.0", "example.org", "fd00::1/8", "1.2.3.4/8/8",
	"10.0.0.0/08x",
};

START_TEST(test_refusals_name_the_word)
{
	char err[128], list[96], want[96];
	struct sg_addrmatch *m;

	snprintf(list, sizeof(list), "127.0.0.1 %s ::1", bad[_i]);
	snprintf(want, sizeof(want), "bad network '%s'", bad[_i]);
	m = sg_addrmatch_parse(list, err, sizeof(err));
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_other_families_never_match)
{
	char err[128];
	struct sg_addrmatch *m;
	struct sockaddr sa;

	m = sg_addrmatch_parse("0.0.0.0/0 ::/0", err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_int_eq(sg_addrmatch_contains(m, &sa), 0);
	sg_addrmatch_free(m);
}
END_TEST

Suite *
sg_suite_addrmatch(void)
{
	Suite *s = suite_create("addrmatch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v4_networks);
	tcase_add_test(tc, test_v6_networks);
	tcase_add_test(tc, test_mapped_client_matches_v4_network);
	tcase_add_test(tc, test_lists);
	tcase_add_loop_test(tc, test_refusals_name_the_word, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_other_families_never_match);
	suite_add_tcase(s, tc);
	return (s);
}
