/*
 * accept-proxy's reader on a socket pair: the header is taken and not a
 * byte more, whole or split, and refusals say why.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "proxyin.h"
#include "suites.h"

#define V1	"PROXY TCP4 203.0.113.7 192.0.2.1 40000 5222\r\n"
#define AFTER	"<?xml version='1.0'?><stream:stream>"

struct pair {
	int in;		/* read by the reader, non-blocking */
	int out;	/* written by the test */
};

static struct pair
pair_new(void)
{
	int sv[2];
	struct pair p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ne(fcntl(sv[0], F_SETFL, O_NONBLOCK), -1);
	p.in = sv[0];
	p.out = sv[1];
	return (p);
}

static void
pair_free(struct pair p)
{

	close(p.in);
	if (p.out >= 0)
		close(p.out);
}

static void
put(struct pair p, const char *s, size_t len)
{

	ck_assert_int_eq(write(p.out, s, len), (ssize_t)len);
}

/* What is left in the socket after the header. */
static void
assert_rest(struct pair p, const char *want)
{
	char buf[256];
	ssize_t n;

	n = read(p.in, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
}

static void
assert_v1_client(const struct sg_proxyin *pi)
{
	const struct sg_proxyproto_result *r = sg_proxyin_result(pi);
	const struct sockaddr_in *src =
	    (const struct sockaddr_in *)(const void *)&r->src;
	char ip[INET_ADDRSTRLEN];

	ck_assert_int_eq(r->local, 0);
	ck_assert_int_eq(src->sin_family, AF_INET);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &src->sin_addr, ip,
	    sizeof(ip)));
	ck_assert_str_eq(ip, "203.0.113.7");
	ck_assert_uint_eq(ntohs(src->sin_port), 40000);
}

START_TEST(test_whole_header_and_no_more)
{
	struct pair p = pair_new();
	struct sg_proxyin *pi = sg_proxyin_new();

	put(p, V1 AFTER, strlen(V1 AFTER));
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_DONE);
	assert_v1_client(pi);
	assert_rest(p, AFTER);
	sg_proxyin_free(pi);
	pair_free(p);
}
END_TEST

START_TEST(test_split_at_every_offset)
{
	size_t len = strlen(V1);
	size_t cut = (size_t)_i;
	struct pair p = pair_new();
	struct sg_proxyin *pi = sg_proxyin_new();

	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_NEED_MORE);
	put(p, V1, cut);
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_NEED_MORE);
	put(p, V1 + cut, len - cut);
	put(p, AFTER, strlen(AFTER));
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_DONE);
	assert_v1_client(pi);
	assert_rest(p, AFTER);
	sg_proxyin_free(pi);
	pair_free(p);
}
END_TEST

START_TEST(test_not_a_header_is_refused)
{
	struct pair p = pair_new();
	struct sg_proxyin *pi = sg_proxyin_new();

	put(p, AFTER, strlen(AFTER));
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_ERROR);
	ck_assert_str_eq(sg_proxyin_error(pi), "not a PROXY header");
	sg_proxyin_free(pi);
	pair_free(p);
}
END_TEST

START_TEST(test_eof_inside_the_header)
{
	struct pair p = pair_new();
	struct sg_proxyin *pi = sg_proxyin_new();

	put(p, V1, 10);
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_NEED_MORE);
	close(p.out);
	p.out = -1;
	ck_assert_int_eq(sg_proxyin_read(pi, p.in), SG_PROXYPROTO_ERROR);
	ck_assert_str_eq(sg_proxyin_error(pi),
	    "closed before the end of the PROXY header");
	sg_proxyin_free(pi);
	pair_free(p);
}
END_TEST

Suite *
sg_suite_proxyin(void)
{
	Suite *s = suite_create("proxyin");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_whole_header_and_no_more);
	tcase_add_loop_test(tc, test_split_at_every_offset, 1,
	    (int)strlen(V1));
	tcase_add_test(tc, test_not_a_header_is_refused);
	tcase_add_test(tc, test_eof_inside_the_header);
	suite_add_tcase(s, tc);
	return (s);
}
