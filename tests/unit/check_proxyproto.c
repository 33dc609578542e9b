/*
 * The PROXY protocol: composed headers against hand-written bytes, every
 * header parsed split at every offset and a byte at a time with stream
 * bytes after it, round trips, and every refusal.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <check.h>

#include "proxyproto.h"
#include "suites.h"

/* Byte strings with NULs in them: their length from sizeof. */
#define B(lit)	{ lit, sizeof(lit) - 1 }
#define SIG	"\r\n\r\n\0\r\nQUIT\n"
#define AFTER	"<?xml version='1.0'?>"
/* 14 + 45 + 46 + 2: the longest v1 line, 107 bytes. */
#define X45	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X46	X45 "x"

struct bytes {
	const char *b;
	size_t len;
};

static struct sockaddr_storage
addr(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return (ss);
}

static struct sockaddr_storage
unix_addr(void)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	strcpy(((struct sockaddr_un *)&ss)->sun_path, "/run/x.sock");
	return (ss);
}

/* "ip port" of an address, for comparing. */
static void
show(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	const void *p;
	unsigned port;

	if (ss->ss_family == AF_INET) {
		p = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		ck_assert_int_eq(ss->ss_family, AF_INET6);
		p = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	ck_assert_ptr_nonnull(inet_ntop(ss->ss_family, p, a, sizeof(a)));
	snprintf(out, size, "%s %u", a, port);
}

static const struct {
	enum sg_proxyproto_version v;
	const char *src, *dst;	/* NULL: AF_UNIX */
	unsigned sport, dport;
	struct bytes want;
} composed[] = {
	{ SG_PROXYPROTO_V1, "192.0.2.1", "198.51.100.7", 56324, 5222,
	  B("PROXY TCP4 192.0.2.1 198.51.100.7 56324 5222\r\n") },
	{ SG_PROXYPROTO_V1, "2001:db8::1", "2001:db8::2", 40000, 5222,
	  B("PROXY TCP6 2001:db8::1 2001:db8::2 40000 5222\r\n") },
	{ SG_PROXYPROTO_V1, "192.0.2.1", "2001:db8::2", 1, 5222,
	  B("PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 5222\r\n") },
	{ SG_PROXYPROTO_V1, "::ffff:192.0.2.1", "::ffff:198.51.100.7", 0,
	  65535, B("PROXY TCP4 192.0.2.1 198.51.100.7 0 65535\r\n") },
	{ SG_PROXYPROTO_V1, NULL, NULL, 0, 0, B("PROXY UNKNOWN\r\n") },
	{ SG_PROXYPROTO_V1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535,
	  B("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n") },
	{ SG_PROXYPROTO_V2, "192.0.2.1", "198.51.100.7", 56324, 5222,
	  B(SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66") },
	{ SG_PROXYPROTO_V2, "2001:db8::1", "2001:db8::2", 40000, 5222,
	  B(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
	    "\x9c\x40" "\x14\x66") },
	{ SG_PROXYPROTO_V2, NULL, NULL, 0, 0, B(SIG "\x20\x00\x00\x00") },
};
#define N_COMPOSED (sizeof(composed) / sizeof(composed[0]))

static void
compose_case(size_t i, char *buf, size_t size, size_t *len)
{
	struct sockaddr_storage s, d;

	s = composed[i].src ? addr(composed[i].src, composed[i].sport) :
	    unix_addr();
	d = composed[i].dst ? addr(composed[i].dst, composed[i].dport) :
	    unix_addr();
	ck_assert_int_eq(sg_proxyproto_compose(composed[i].v, &s, &d, buf,
	    size, len), 0);
}

START_TEST(test_compose_bytes)
{
	char buf[SG_PROXYPROTO_MAX];
	size_t len = 0;

	compose_case((size_t)_i, buf, sizeof(buf), &len);
	ck_assert_uint_eq(len, composed[_i].want.len);
	ck_assert_int_eq(memcmp(buf, composed[_i].want.b, len), 0);
}
END_TEST

/* One byte short is refused and writes nothing past size. */
START_TEST(test_compose_buffer_too_small)
{
	struct sockaddr_storage s = addr("2001:db8::1", 1);
	struct sockaddr_storage d = addr("2001:db8::2", 2);
	char buf[SG_PROXYPROTO_MAX + 1];
	size_t len = 0, need;

	ck_assert_int_eq(sg_proxyproto_compose(_i + 1, &s, &d, buf,
	    sizeof(buf), &need), 0);
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(sg_proxyproto_compose(_i + 1, &s, &d, buf,
	    need - 1, &len), -1);
	ck_assert_int_eq(buf[need - 1], 'x');
	ck_assert_int_eq(sg_proxyproto_compose(_i + 1, &s, &d, buf, need,
	    &len), 0);
	ck_assert_uint_eq(len, need);
	ck_assert_int_eq(sg_proxyproto_compose(3, &s, &d, buf, sizeof(buf),
	    &len), -1);
}
END_TEST

/*
 * Feed in, cut at `cut`, the rest in pieces of `step`, until a verdict.
 * *taken: bytes the parser took.
 */
static enum sg_proxyproto_status
feed(struct sg_proxyproto *pp, const char *in, size_t len, size_t cut,
    size_t step, size_t *taken)
{
	enum sg_proxyproto_status st = SG_PROXYPROTO_NEED_MORE;
	size_t at = 0, n, used;

	*taken = 0;
	while (at < len && st == SG_PROXYPROTO_NEED_MORE) {
		n = at < cut ? cut - at : step;
		if (n > len - at)
			n = len - at;
		st = sg_proxyproto_feed(pp, in + at, n, &used);
		ck_assert_uint_le(used, n);
		if (st == SG_PROXYPROTO_NEED_MORE)
			ck_assert_uint_eq(used, n);
		*taken += used;
		at += n;
	}
	return (st);
}

/* Valid headers: with AFTER behind them, what the parser must find. */
static const struct {
	struct bytes in;
	enum sg_proxyproto_version v;
	const char *src, *dst;	/* "ip port"; NULL: local */
} valid[] = {
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 56324 5222\r\n"),
	  SG_PROXYPROTO_V1, "192.0.2.1 56324", "198.51.100.7 5222" },
	{ B("PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 0 65535\r\n"),
	  SG_PROXYPROTO_V1, "2001:db8::1 0", "::ffff:1.2.3.4 65535" },
	{ B("PROXY UNKNOWN\r\n"), SG_PROXYPROTO_V1, NULL, NULL },
	{ B("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"),
	  SG_PROXYPROTO_V1, NULL, NULL },
	/* The longest line there may be: 107 bytes. */
	{ B("PROXY UNKNOWN " X45 X46 "\r\n"),
	  SG_PROXYPROTO_V1, NULL, NULL },
	{ B(SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66"),
	  SG_PROXYPROTO_V2, "192.0.2.1 56324", "198.51.100.7 5222" },
	/* TLVs: NOOP, AUTHORITY, an empty one; skipped. */
	{ B(SIG "\x21\x11\x00\x23" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66" "\x04\x00\x03xyz" "\x02\x00\x0b"
	    "example.com" "\xe0\x00\x00"),
	  SG_PROXYPROTO_V2, "192.0.2.1 56324", "198.51.100.7 5222" },
	{ B(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
	    "\x9c\x40" "\x14\x66"),
	  SG_PROXYPROTO_V2, "2001:db8::1 40000", "2001:db8::2 5222" },
	/* LOCAL: whatever family and block it has are discarded. */
	{ B(SIG "\x20\x00\x00\x00"), SG_PROXYPROTO_V2, NULL, NULL },
	{ B(SIG "\x20\x77\x00\x03" "abc"), SG_PROXYPROTO_V2, NULL, NULL },
	/* PROXY over UNSPEC, UDP: the socket's addresses. */
	{ B(SIG "\x21\x00\x00\x00"), SG_PROXYPROTO_V2, NULL, NULL },
	{ B(SIG "\x21\x12\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66"), SG_PROXYPROTO_V2, NULL, NULL },
};
#define N_VALID (sizeof(valid) / sizeof(valid[0]))

/* A valid header hdr, AFTER behind it: it parses to v, src and dst. */
static void
check_valid_bytes(const char *hdr, size_t len, enum sg_proxyproto_version v,
    const char *src, const char *dst, size_t cut, size_t step)
{
	const struct sg_proxyproto_result *r;
	struct sg_proxyproto *pp = sg_proxyproto_new();
	char in[512], got[128];
	size_t taken, used;

	ck_assert_ptr_nonnull(pp);
	ck_assert_uint_le(len + strlen(AFTER), sizeof(in));
	memcpy(in, hdr, len);
	memcpy(in + len, AFTER, strlen(AFTER));
	ck_assert_int_eq(feed(pp, in, len + strlen(AFTER), cut, step, &taken),
	    SG_PROXYPROTO_DONE);
	ck_assert_uint_eq(taken, len);
	ck_assert_ptr_null(sg_proxyproto_error(pp));
	r = sg_proxyproto_result(pp);
	ck_assert_int_eq(r->version, v);
	ck_assert_uint_eq(r->len, len);
	ck_assert_int_eq(r->local, src == NULL);
	if (src != NULL) {
		show(&r->src, got, sizeof(got));
		ck_assert_str_eq(got, src);
		show(&r->dst, got, sizeof(got));
		ck_assert_str_eq(got, dst);
	}
	/* Done is done: nothing more is taken. */
	ck_assert_int_eq(sg_proxyproto_feed(pp, AFTER, 3, &used),
	    SG_PROXYPROTO_DONE);
	ck_assert_uint_eq(used, 0);
	sg_proxyproto_free(pp);
}

static void
check_valid(size_t i, size_t cut, size_t step)
{

	check_valid_bytes(valid[i].in.b, valid[i].in.len, valid[i].v,
	    valid[i].src, valid[i].dst, cut, step);
}

START_TEST(test_parse_split_everywhere)
{
	size_t cut;

	for (cut = 0; cut <= valid[_i].in.len; cut++)
		check_valid((size_t)_i, cut, 4096);
	check_valid((size_t)_i, 0, 1);
	check_valid((size_t)_i, 0, 2);
}
END_TEST

/* Refused headers, and why: the same at every split. */
static const struct {
	struct bytes in;
	const char *why;
} invalid[] = {
	{ B("GET / HTTP/1.0\r\n"), "not a PROXY header" },
	{ B("PROXZ TCP4"), "not a PROXY header" },
	{ B(AFTER), "not a PROXY header" },
	{ B("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x00"), "not a PROXY header" },
	{ B("PROXY UNKNOWN " X45 X46 "x\r\n"),
	  "v1 line too long" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n"),
	  "v1 line not ended by CRLF" },
	{ B("PROXY TCP4 192.0.2.1\r198.51.100.7 1 2\r\n"),
	  "v1 line not ended by CRLF" },
	{ B("PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n"),
	  "unknown v1 protocol" },
	{ B("PROXY UNKNOWNX\r\n"), "unknown v1 protocol" },
	{ B("PROXY \r\n"), "unknown v1 protocol" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n"), "bad v1 line" },
	{ B("PROXY TCP4 192.0.2.1  198.51.100.7 1 2\r\n"), "bad v1 line" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n"), "bad v1 line" },
	{ B("PROXY TCP4 192.0.2.256 198.51.100.7 1 2\r\n"), "bad address" },
	{ B("PROXY TCP4 ::1 ::2 1 2\r\n"), "bad address" },
	{ B("PROXY TCP6 192.0.2.1 ::2 1 2\r\n"), "bad address" },
	{ B("PROXY TCP4 192.0.2.1\0 198.51.100.7 1 2\r\n"), "bad address" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 65536 2\r\n"), "bad port" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 1 -2\r\n"), "bad port" },
	{ B("PROXY TCP4 192.0.2.1 198.51.100.7 000001 2\r\n"), "bad port" },
	{ B(SIG "\x11\x11\x00\x0c"), "unsupported v2 version" },
	{ B(SIG "\x22\x11\x00\x0c"), "unsupported v2 command" },
	{ B(SIG "\x21\x11\x08\x01"), "v2 header too long" },
	{ B(SIG "\x21\x41\x00\x00"), "bad v2 address family" },
	{ B(SIG "\x21\x13\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66"), "bad v2 address family" },
	{ B(SIG "\x21\x11\x00\x08" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"),
	  "v2 length too short for its addresses" },
	{ B(SIG "\x21\x21\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66"), "v2 length too short for its addresses" },
	{ B(SIG "\x21\x11\x00\x0e" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66" "\x04\x00"), "bad v2 TLV" },
	{ B(SIG "\x21\x11\x00\x11" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xdc\x04" "\x14\x66" "\x04\x00\x03xy"), "bad v2 TLV" },
};
#define N_INVALID (sizeof(invalid) / sizeof(invalid[0]))

START_TEST(test_parse_refused)
{
	size_t cut, taken, used;

	for (cut = 0; cut <= invalid[_i].in.len; cut++) {
		struct sg_proxyproto *pp = sg_proxyproto_new();

		ck_assert_int_eq(feed(pp, invalid[_i].in.b, invalid[_i].in.len,
		    cut, cut % 3 + 1, &taken), SG_PROXYPROTO_ERROR);
		ck_assert_str_eq(sg_proxyproto_error(pp), invalid[_i].why);
		ck_assert_int_eq(sg_proxyproto_feed(pp, "x", 1, &used),
		    SG_PROXYPROTO_ERROR);
		ck_assert_uint_eq(used, 0);
		sg_proxyproto_free(pp);
	}
}
END_TEST

/*
 * CRC32c, written apart from the library's, table-driven and built here:
 * the headers below are checked against an independent computation.
 */
static uint32_t
test_crc32c(const unsigned char *p, size_t len)
{
	static uint32_t table[256];
	uint32_t c;
	size_t i;
	int k;

	if (table[1] == 0)
		for (i = 0; i < 256; i++) {
			for (c = (uint32_t)i, k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
			table[i] = c;
		}
	for (c = 0xffffffff, i = 0; i < len; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return (c ^ 0xffffffff);
}

/*
 * The standard check value, and iSCSI's (RFC 3720, B.4) 32-byte vectors:
 * the computation the library's CRC is checked against below (its own is
 * static, seen only through the headers it accepts and refuses).
 */
START_TEST(test_crc32c_vectors)
{
	unsigned char b[32];

	ck_assert_uint_eq(test_crc32c((const unsigned char *)"123456789", 9),
	    0xe3069283);
	ck_assert_uint_eq(test_crc32c(b, 0), 0);
	memset(b, 0, sizeof(b));
	ck_assert_uint_eq(test_crc32c(b, sizeof(b)), 0x8a9136aa);
	memset(b, 0xff, sizeof(b));
	ck_assert_uint_eq(test_crc32c(b, sizeof(b)), 0x62a8ab43);
}
END_TEST

/* A TCP4 header's fixed part and addresses (192.0.2.1:56324 to
 * 198.51.100.7:5222), its length field still to be set. */
#define V2_TCP4_ADDRS	SIG "\x21\x11\x00\x00" "\xc0\x00\x02\x01" \
	"\xc6\x33\x64\x07" "\xdc\x04" "\x14\x66"

/*
 * v2 headers with a CRC32c TLV: tlvs after the addresses, where the
 * CRC32c value is "CCCC", filled in by crc_header(); the CRC32c value
 * given is the right one XOR flip.
 */
static const struct {
	struct bytes tlvs;
	uint32_t flip;
	const char *why;	/* NULL: valid */
} crc_cases[] = {
	{ B("\x03\x00\x04" "CCCC"), 0, NULL },
	/* Anywhere among the others. */
	{ B("\x04\x00\x03xyz" "\x03\x00\x04" "CCCC" "\x02\x00\x0b"
	    "example.com"), 0, NULL },
	{ B("\x03\x00\x04" "CCCC"), 1, "v2 CRC32c mismatch" },
	{ B("\x03\x00\x04" "CCCC"), 0x80000000, "v2 CRC32c mismatch" },
	{ B("\x04\x00\x03xyz" "\x03\x00\x04" "CCCC"), 0xffffffff,
	  "v2 CRC32c mismatch" },
	{ B("\x03\x00\x03" "CCC"), 0, "bad v2 CRC32c TLV length" },
	{ B("\x03\x00\x05" "CCCCx"), 0, "bad v2 CRC32c TLV length" },
	{ B("\x03\x00\x00"), 0, "bad v2 CRC32c TLV length" },
	{ B("\x03\x00\x04" "CCCC" "\x03\x00\x04" "CCCC"), 0,
	  "v2 CRC32c TLV repeated" },
};
#define N_CRC_CASES (sizeof(crc_cases) / sizeof(crc_cases[0]))

/* Case i's header into buf; returns its length. */
static size_t
crc_header(size_t i, char *buf, size_t size)
{
	static const char addrs[] = V2_TCP4_ADDRS;
	size_t alen = sizeof(addrs) - 1, len = alen + crc_cases[i].tlvs.len;
	unsigned char *b = (unsigned char *)buf;
	uint32_t crc;
	char *c = NULL;
	size_t k;

	ck_assert_uint_le(len, size);
	memcpy(buf, addrs, alen);
	memcpy(buf + alen, crc_cases[i].tlvs.b, crc_cases[i].tlvs.len);
	b[14] = (unsigned char)((len - 16) >> 8);
	b[15] = (unsigned char)((len - 16) & 0xff);
	/* The value is computed with itself zero (2.2.5), then put in. */
	for (k = alen; c == NULL && k + 4 <= len; k++)
		if (memcmp(buf + k, "CCCC", 4) == 0)
			c = buf + k;
	if (c == NULL)
		return (len);
	memset(c, 0, 4);
	crc = test_crc32c(b, len) ^ crc_cases[i].flip;
	c[0] = (char)(crc >> 24);
	c[1] = (char)(crc >> 16);
	c[2] = (char)(crc >> 8);
	c[3] = (char)crc;
	return (len);
}

START_TEST(test_parse_crc32c_split_everywhere)
{
	char hdr[256];
	size_t len = crc_header((size_t)_i, hdr, sizeof(hdr)), cut, taken;

	for (cut = 0; cut <= len; cut++) {
		struct sg_proxyproto *pp;

		if (crc_cases[_i].why == NULL) {
			check_valid_bytes(hdr, len, SG_PROXYPROTO_V2,
			    "192.0.2.1 56324", "198.51.100.7 5222", cut, 4096);
			check_valid_bytes(hdr, len, SG_PROXYPROTO_V2,
			    "192.0.2.1 56324", "198.51.100.7 5222", cut, 1);
			continue;
		}
		pp = sg_proxyproto_new();
		ck_assert_int_eq(feed(pp, hdr, len, cut, cut % 3 + 1, &taken),
		    SG_PROXYPROTO_ERROR);
		ck_assert_str_eq(sg_proxyproto_error(pp), crc_cases[_i].why);
		sg_proxyproto_free(pp);
	}
}
END_TEST

/* No header at all: refused at the first byte, before any more comes. */
START_TEST(test_refused_at_first_wrong_byte)
{
	struct sg_proxyproto *pp = sg_proxyproto_new();
	size_t used;

	ck_assert_int_eq(sg_proxyproto_feed(pp, "PRO", 3, &used),
	    SG_PROXYPROTO_NEED_MORE);
	ck_assert_ptr_null(sg_proxyproto_error(pp));
	ck_assert_int_eq(sg_proxyproto_feed(pp, "<stream", 7, &used),
	    SG_PROXYPROTO_ERROR);
	ck_assert_uint_eq(used, 1);
	sg_proxyproto_free(pp);
}
END_TEST

/* What compose writes, parse reads back, for both versions. */
START_TEST(test_round_trip)
{
	static const char *ends[][2] = {
		{ "192.0.2.1 56324", "198.51.100.7 5222" },
		{ "2001:db8::1 40000", "2001:db8::2 5222" },
		{ "0.0.0.0 0", "255.255.255.255 65535" },
	};
	const struct sg_proxyproto_result *r;
	struct sockaddr_storage s, d;
	char buf[SG_PROXYPROTO_MAX], ip[64], got[128];
	unsigned port;
	size_t i, len, taken;
	int v;

	for (v = SG_PROXYPROTO_V1; v <= SG_PROXYPROTO_V2; v++)
		for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			struct sg_proxyproto *pp = sg_proxyproto_new();

			ck_assert_int_eq(sscanf(ends[i][0], "%63s %u", ip,
			    &port), 2);
			s = addr(ip, port);
			ck_assert_int_eq(sscanf(ends[i][1], "%63s %u", ip,
			    &port), 2);
			d = addr(ip, port);
			ck_assert_int_eq(sg_proxyproto_compose(v, &s, &d, buf,
			    sizeof(buf), &len), 0);
			ck_assert_int_eq(feed(pp, buf, len, 0, 4096, &taken),
			    SG_PROXYPROTO_DONE);
			r = sg_proxyproto_result(pp);
			ck_assert_uint_eq(taken, len);
			ck_assert_int_eq(r->version, v);
			ck_assert_int_eq(r->local, 0);
			show(&r->src, got, sizeof(got));
			ck_assert_str_eq(got, ends[i][0]);
			show(&r->dst, got, sizeof(got));
			ck_assert_str_eq(got, ends[i][1]);
			sg_proxyproto_free(pp);
		}
}
END_TEST

/* An unknown family goes as UNKNOWN or LOCAL and comes back local. */
START_TEST(test_round_trip_unknown)
{
	struct sockaddr_storage u = unix_addr();
	char buf[SG_PROXYPROTO_MAX];
	size_t len, taken;
	int v;

	for (v = SG_PROXYPROTO_V1; v <= SG_PROXYPROTO_V2; v++) {
		struct sg_proxyproto *pp = sg_proxyproto_new();

		ck_assert_int_eq(sg_proxyproto_compose(v, &u, &u, buf,
		    sizeof(buf), &len), 0);
		ck_assert_int_eq(feed(pp, buf, len, 0, 4096, &taken),
		    SG_PROXYPROTO_DONE);
		ck_assert_int_eq(sg_proxyproto_result(pp)->local, 1);
		sg_proxyproto_free(pp);
	}
}
END_TEST

Suite *
sg_suite_proxyproto(void)
{
	Suite *s = suite_create("proxyproto");
	TCase *compose = tcase_create("compose");
	TCase *parse = tcase_create("parse");

	tcase_add_loop_test(compose, test_compose_bytes, 0, N_COMPOSED);
	tcase_add_loop_test(compose, test_compose_buffer_too_small, 0, 2);
	tcase_add_loop_test(parse, test_parse_split_everywhere, 0, N_VALID);
	tcase_add_loop_test(parse, test_parse_refused, 0, N_INVALID);
	tcase_add_test(parse, test_refused_at_first_wrong_byte);
	tcase_add_test(parse, test_crc32c_vectors);
	tcase_add_loop_test(parse, test_parse_crc32c_split_everywhere, 0,
	    N_CRC_CASES);
	tcase_add_test(parse, test_round_trip);
	tcase_add_test(parse, test_round_trip_unknown);
	suite_add_tcase(s, compose);
	suite_add_tcase(s, parse);
	return (s);
}
