/*
 * The PROXY protocol.  The parser keeps the header's bytes until it is
 * whole (v1 is at most 107 bytes, v2 at most 16 + SG_PROXYPROTO_V2_MAX_LEN)
 * and judges every byte as it comes, so that a split never changes the
 * verdict and it never reads past the header.  A v2 header's CRC32c TLV
 * is checked once the header is whole (it covers all of it); the CRC32c
 * is here, past this file's 500 lines, as nothing else uses it.
 *
 * Owns the parser's buffer; calls libc only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
#define V2_SIG_LEN	12
#define V2_HDR		16	/* signature, version/command, family, len */

/* v2 address block sizes, and the version/command and family bytes. */
#define V2_INET_LEN	12
#define V2_INET6_LEN	36
#define V2_UNIX_LEN	216
#define V2_VERSION	0x20
#define V2_CMD_LOCAL	0x00
#define V2_CMD_PROXY	0x01
#define V2_TCP4		0x11
#define V2_TCP6		0x21
#define PP2_TYPE_CRC32C	0x03	/* its value: 4 bytes, network order */
#define CRC32C_POLY	0x82f63b78	/* 0x1edc6f41, reflected */

struct sg_proxyproto {
	enum sg_proxyproto_status st;
	const char *error;
	size_t n;		/* bytes held */
	size_t want;		/* v2: the whole header, once known */
	struct sg_proxyproto_result res;
	unsigned char b[V2_HDR + SG_PROXYPROTO_V2_MAX_LEN];
};

/* Both ends of a TCP connection, in the header's terms. */
struct ends {
	int family;		/* AF_INET, AF_INET6, or 0: unknown */
	unsigned char src[16], dst[16];	/* network order */
	uint16_t sport, dport;		/* host order */
};

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* One end as AF_INET (also from an IPv4-mapped address) or AF_INET6. */
static int
end_of(const struct sockaddr_storage *ss, unsigned char addr[16],
    uint16_t *port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return (AF_INET);
	}
	if (ss->ss_family != AF_INET6)
		return (0);
	*port = ntohs(in6->sin6_port);
	if (memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0) {
		memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
		return (AF_INET);
	}
	memcpy(addr, in6->sin6_addr.s6_addr, 16);
	return (AF_INET6);
}

/* An IPv4 address in place as ::ffff:a.b.c.d. */
static void
map_v4(unsigned char addr[16])
{

	memmove(addr + 12, addr, 4);
	memcpy(addr, v4mapped, 12);
}

static void
ends_of(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    struct ends *e)
{
	int fs, fd;

	memset(e, 0, sizeof(*e));
	fs = end_of(src, e->src, &e->sport);
	fd = end_of(dst, e->dst, &e->dport);
	if (fs == 0 || fd == 0)
		return;
	if (fs != fd) {
		/* One end IPv4, the other IPv6: say both in IPv6. */
		map_v4(fs == AF_INET ? e->src : e->dst);
		fs = AF_INET6;
	}
	e->family = fs;
}

static int
compose_v1(const struct ends *e, char *buf, size_t size, size_t *len)
{
	char line[SG_PROXYPROTO_MAX + 1];
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int n;

	if (e->family == 0)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else if (inet_ntop(e->family, e->src, a, sizeof(a)) == NULL ||
	    inet_ntop(e->family, e->dst, b, sizeof(b)) == NULL)
		return (-1);
	else
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    e->family == AF_INET ? "TCP4" : "TCP6", a, b,
		    (unsigned)e->sport, (unsigned)e->dport);
	if (n < 0 || (size_t)n > size)
		return (-1);
	memcpy(buf, line, (size_t)n);
	*len = (size_t)n;
	return (0);
}

static void
put16(unsigned char *p, uint16_t v)
{

	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)(v & 0xff);
}

static int
compose_v2(const struct ends *e, char *buf, size_t size, size_t *len)
{
	unsigned char h[V2_HDR + V2_INET6_LEN];
	size_t alen = e->family == AF_INET ? 4 : 16;
	size_t blk = e->family == 0 ? 0 : 2 * alen + 4;

	memcpy(h, V2_SIG, V2_SIG_LEN);
	h[12] = V2_VERSION | (e->family == 0 ? V2_CMD_LOCAL : V2_CMD_PROXY);
	h[13] = e->family == AF_INET ? V2_TCP4 :
	    e->family == AF_INET6 ? V2_TCP6 : 0x00;
	put16(h + 14, (uint16_t)blk);
	if (blk > 0) {
		memcpy(h + V2_HDR, e->src, alen);
		memcpy(h + V2_HDR + alen, e->dst, alen);
		put16(h + V2_HDR + 2 * alen, e->sport);
		put16(h + V2_HDR + 2 * alen + 2, e->dport);
	}
	if (V2_HDR + blk > size)
		return (-1);
	memcpy(buf, h, V2_HDR + blk);
	*len = V2_HDR + blk;
	return (0);
}

int
sg_proxyproto_compose(enum sg_proxyproto_version v,
    const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    char *buf, size_t size, size_t *len)
{
	struct ends e;

	ends_of(src, dst, &e);
	if (v == SG_PROXYPROTO_V1)
		return (compose_v1(&e, buf, size, len));
	if (v == SG_PROXYPROTO_V2)
		return (compose_v2(&e, buf, size, len));
	return (-1);
}

struct sg_proxyproto *
sg_proxyproto_new(void)
{

	return (calloc(1, sizeof(struct sg_proxyproto)));
}

void
sg_proxyproto_free(struct sg_proxyproto *pp)
{

	free(pp);
}

static enum sg_proxyproto_status
refuse(struct sg_proxyproto *pp, const char *why)
{

	pp->error = why;
	return (SG_PROXYPROTO_ERROR);
}

static enum sg_proxyproto_status
done(struct sg_proxyproto *pp, enum sg_proxyproto_version v)
{

	pp->res.version = v;
	pp->res.len = pp->n;
	return (SG_PROXYPROTO_DONE);
}

/* Characters an address may have: anything else (a NUL) is refused. */
static int
addr_chars(const char *s, size_t len)
{

	return (len > 0 && strspn(s, "0123456789abcdefABCDEF.:") == len);
}

static int
v1_addr(const char *tok, size_t len, int family, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char s[INET6_ADDRSTRLEN];

	if (len >= sizeof(s))
		return (-1);
	memcpy(s, tok, len);
	s[len] = '\0';
	if (!addr_chars(s, len))
		return (-1);
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		return (inet_pton(AF_INET, s, &in->sin_addr) == 1 ? 0 : -1);
	return (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1 ? 0 : -1);
}

/* A port: 1 to 5 decimal digits, at most 65535. */
static int
v1_port(const char *tok, size_t len, struct sockaddr_storage *ss)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return (-1);
	for (i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(tok[i] - '0');
	}
	if (v > 65535)
		return (-1);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)v);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)v);
	return (0);
}

#define V1_FIELDS	6	/* PROXY TCPn src dst sport dport */

/* Split the line at single spaces; returns the number of fields. */
static size_t
v1_split(const char *line, size_t len, const char *f[], size_t flen[],
    size_t max)
{
	size_t nf = 0, i, start = 0;

	for (i = 0; i <= len && nf < max; i++)
		if (i == len || line[i] == ' ') {
			f[nf] = line + start;
			flen[nf++] = i - start;
			start = i + 1;
		}
	return (i <= len ? max + 1 : nf);
}

static int
is_word(const char *s, size_t len, const char *w)
{

	return (strlen(w) == len && memcmp(s, w, len) == 0);
}

/* A whole line, CRLF at its end. */
static enum sg_proxyproto_status
parse_v1(struct sg_proxyproto *pp)
{
	const char *line = (const char *)pp->b;
	size_t len = pp->n - 2, flen[V1_FIELDS], nf;
	const char *f[V1_FIELDS];
	int family;

	/* UNKNOWN: whatever follows is to be ignored. */
	if (len >= 13 && memcmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (len == 13 || line[13] == ' ')) {
		pp->res.local = 1;
		return (done(pp, SG_PROXYPROTO_V1));
	}
	nf = v1_split(line, len, f, flen, V1_FIELDS);
	if (is_word(f[1], flen[1], "TCP4"))
		family = AF_INET;
	else if (is_word(f[1], flen[1], "TCP6"))
		family = AF_INET6;
	else
		return (refuse(pp, "unknown v1 protocol"));
	if (nf != V1_FIELDS)
		return (refuse(pp, "bad v1 line"));
	if (v1_addr(f[2], flen[2], family, &pp->res.src) != 0 ||
	    v1_addr(f[3], flen[3], family, &pp->res.dst) != 0)
		return (refuse(pp, "bad address"));
	if (v1_port(f[4], flen[4], &pp->res.src) != 0 ||
	    v1_port(f[5], flen[5], &pp->res.dst) != 0)
		return (refuse(pp, "bad port"));
	return (done(pp, SG_PROXYPROTO_V1));
}

/* The line so far, its last byte new: CR only right before the LF. */
static enum sg_proxyproto_status
step_v1(struct sg_proxyproto *pp)
{
	unsigned char last = pp->b[pp->n - 1];
	int after_cr = pp->n >= 2 && pp->b[pp->n - 2] == '\r';

	if (last == '\n' && after_cr)
		return (parse_v1(pp));
	if (last == '\n' || after_cr)
		return (refuse(pp, "v1 line not ended by CRLF"));
	if (pp->n >= SG_PROXYPROTO_V1_MAX)
		return (refuse(pp, "v1 line too long"));
	return (SG_PROXYPROTO_NEED_MORE);
}

static uint16_t
get16(const unsigned char *p)
{

	return ((uint16_t)(p[0] << 8 | p[1]));
}

/*
 * CRC32c (Castagnoli) of len bytes, carried on from crc: bit by bit, as a
 * header is at most 2 KiB and checked once per connection.  Start from
 * 0xffffffff and invert the result: "123456789" gives 0xE3069283
 * (polynomial 0x1EDC6F41, as a v2 header's CRC32c TLV carries it).
 */
static uint32_t
crc32c_add(uint32_t crc, const unsigned char *p, size_t len)
{
	int k;

	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0U - (crc & 1)));
	}
	return (crc);
}

/*
 * The CRC32c of the whole header held, with the 4 bytes of the CRC32c
 * TLV's value at `at` taken as zero (proxy-protocol.txt, 2.2.5).
 */
static int
crc32c_matches(const struct sg_proxyproto *pp, size_t at)
{
	static const unsigned char zero[4];
	uint32_t want, crc;

	want = (uint32_t)pp->b[at] << 24 | (uint32_t)pp->b[at + 1] << 16 |
	    (uint32_t)pp->b[at + 2] << 8 | pp->b[at + 3];
	crc = crc32c_add(0xffffffffU, pp->b, at);
	crc = crc32c_add(crc, zero, sizeof(zero));
	crc = crc32c_add(crc, pp->b + at + 4, pp->n - at - 4);
	return (~crc == want);
}

/*
 * The TLVs, from offset off, must fill the rest of the header exactly;
 * a CRC32c TLV (at most one, its value 4 bytes) must match the header.
 * Returns NULL, or why the header is refused.  Other TLVs are skipped.
 */
static const char *
tlvs_check(const struct sg_proxyproto *pp, size_t off)
{
	size_t l, crc_at = 0;

	while (off < pp->n) {
		if (pp->n - off < 3)
			return ("bad v2 TLV");
		l = get16(pp->b + off + 1);
		if (l > pp->n - off - 3)
			return ("bad v2 TLV");
		if (pp->b[off] == PP2_TYPE_CRC32C) {
			if (l != 4)
				return ("bad v2 CRC32c TLV length");
			if (crc_at != 0)
				return ("v2 CRC32c TLV repeated");
			crc_at = off + 3;
		}
		off += 3 + l;
	}
	if (crc_at != 0 && !crc32c_matches(pp, crc_at))
		return ("v2 CRC32c mismatch");
	return (NULL);
}

static void
v2_inet(struct sg_proxyproto *pp)
{
	struct sockaddr_in *s = (struct sockaddr_in *)&pp->res.src;
	struct sockaddr_in *d = (struct sockaddr_in *)&pp->res.dst;
	const unsigned char *a = pp->b + V2_HDR;

	s->sin_family = d->sin_family = AF_INET;
	memcpy(&s->sin_addr, a, 4);
	memcpy(&d->sin_addr, a + 4, 4);
	s->sin_port = htons(get16(a + 8));
	d->sin_port = htons(get16(a + 10));
}

static void
v2_inet6(struct sg_proxyproto *pp)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&pp->res.src;
	struct sockaddr_in6 *d = (struct sockaddr_in6 *)&pp->res.dst;
	const unsigned char *a = pp->b + V2_HDR;

	s->sin6_family = d->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, a, 16);
	memcpy(&d->sin6_addr, a + 16, 16);
	s->sin6_port = htons(get16(a + 32));
	d->sin6_port = htons(get16(a + 34));
}

/* The address block's size for family byte fam, or -1 if invalid. */
static int
v2_block(unsigned char fam)
{

	switch (fam) {
	case 0x00:
		return (0);
	case 0x11:
	case 0x12:
		return (V2_INET_LEN);
	case 0x21:
	case 0x22:
		return (V2_INET6_LEN);
	case 0x31:
	case 0x32:
		return (V2_UNIX_LEN);
	default:
		return (-1);
	}
}

/*
 * A whole v2 header.  The spec has a receiver fall back to the socket's
 * addresses for a valid family it does not support (UDP, UNIX): those
 * are not a TCP client's address anyway.  Its TLVs are checked (CRC32c
 * included) for the PROXY command only: a LOCAL header's block is
 * discarded whole, as haproxy does.
 */
static enum sg_proxyproto_status
parse_v2(struct sg_proxyproto *pp)
{
	unsigned char fam = pp->b[13];
	size_t len = pp->n - V2_HDR;
	const char *why;
	int blk;

	/* LOCAL: the block, family included, is to be discarded. */
	if ((pp->b[12] & 0x0f) == V2_CMD_LOCAL) {
		pp->res.local = 1;
		return (done(pp, SG_PROXYPROTO_V2));
	}
	if ((blk = v2_block(fam)) < 0)
		return (refuse(pp, "bad v2 address family"));
	if ((size_t)blk > len)
		return (refuse(pp, "v2 length too short for its addresses"));
	if ((why = tlvs_check(pp, V2_HDR + (size_t)blk)) != NULL)
		return (refuse(pp, why));
	if (fam == V2_TCP4)
		v2_inet(pp);
	else if (fam == V2_TCP6)
		v2_inet6(pp);
	else
		pp->res.local = 1;
	return (done(pp, SG_PROXYPROTO_V2));
}

static enum sg_proxyproto_status
step_v2(struct sg_proxyproto *pp)
{
	size_t len;

	if (pp->n < V2_HDR)
		return (SG_PROXYPROTO_NEED_MORE);
	if (pp->n == V2_HDR) {
		if ((pp->b[12] & 0xf0) != V2_VERSION)
			return (refuse(pp, "unsupported v2 version"));
		if ((pp->b[12] & 0x0f) > V2_CMD_PROXY)
			return (refuse(pp, "unsupported v2 command"));
		if ((len = get16(pp->b + 14)) > SG_PROXYPROTO_V2_MAX_LEN)
			return (refuse(pp, "v2 header too long"));
		pp->want = V2_HDR + len;
	}
	if (pp->n < pp->want)
		return (SG_PROXYPROTO_NEED_MORE);
	return (parse_v2(pp));
}

/* Judge the bytes held, the last one new. */
static enum sg_proxyproto_status
step(struct sg_proxyproto *pp)
{
	size_t n = pp->n;

	if (pp->b[0] == 'P') {
		if (memcmp(pp->b, V1_PREFIX, n < V1_PREFIX_LEN ? n :
		    V1_PREFIX_LEN) != 0)
			return (refuse(pp, "not a PROXY header"));
		return (n <= V1_PREFIX_LEN ? SG_PROXYPROTO_NEED_MORE :
		    step_v1(pp));
	}
	if (memcmp(pp->b, V2_SIG, n < V2_SIG_LEN ? n : V2_SIG_LEN) != 0)
		return (refuse(pp, "not a PROXY header"));
	return (step_v2(pp));
}

enum sg_proxyproto_status
sg_proxyproto_feed(struct sg_proxyproto *pp, const char *buf, size_t len,
    size_t *used)
{
	size_t i = 0, k;

	while (i < len && pp->st == SG_PROXYPROTO_NEED_MORE) {
		/* A v2 body in one go; anything else a byte at a time. */
		k = pp->want > pp->n ? pp->want - pp->n : 1;
		if (k > len - i)
			k = len - i;
		memcpy(pp->b + pp->n, buf + i, k);
		pp->n += k;
		i += k;
		pp->st = step(pp);
	}
	*used = i;
	return (pp->st);
}

const struct sg_proxyproto_result *
sg_proxyproto_result(const struct sg_proxyproto *pp)
{

	return (&pp->res);
}

const char *
sg_proxyproto_error(const struct sg_proxyproto *pp)
{

	return (pp->st == SG_PROXYPROTO_ERROR ? pp->error : NULL);
}
