/*
 * Networks as 16-byte prefixes: an IPv4 network is kept as the IPv4-mapped
 * IPv6 network (::ffff:0:0/96 plus its bits), so that one comparison serves
 * both families and a mapped client address needs no special case.
 *
 * Owns a parsed list of networks (struct sg_addrmatch); calls libc only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrmatch.h"

#define WORD_MAX	64	/* longer than any address/bits */
#define MAPPED_BITS	96	/* ::ffff:0:0/96 */

struct net {
	unsigned char addr[16];
	unsigned bits;
};

struct sg_addrmatch {
	struct net *nets;
	size_t n;
};

static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static void
map_v4(unsigned char out[16], const void *v4)
{

	memcpy(out, mapped_prefix, sizeof(mapped_prefix));
	memcpy(out + 12, v4, 4);
}

/* Whether the first bits of a and b agree. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, whole) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (unsigned char)(0xff << (8 - rest));
	return ((a[whole] & mask) == (b[whole] & mask));
}

/* Whether any bit of a past the first bits is set. */
static int
host_bits_set(const unsigned char a[16], unsigned bits)
{
	unsigned i;

	for (i = bits; i < 128; i++)
		if ((a[i / 8] >> (7 - i % 8)) & 1)
			return (1);
	return (0);
}

/* Parse one word "ADDR" or "ADDR/BITS" into n; 0, or -1 if bad. */
static int
parse_net(const char *word, struct net *n)
{
	char buf[WORD_MAX];
	char *slash, *end;
	unsigned char v4[4];
	unsigned long bits;
	unsigned max;

	if (strlen(word) >= sizeof(buf))
		return (-1);
	strcpy(buf, word);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, v4) == 1) {
		map_v4(n->addr, v4);
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		max = 128;
	} else
		return (-1);
	bits = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return (-1);
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > max)
			return (-1);
	}
	n->bits = (unsigned)bits + (max == 32 ? MAPPED_BITS : 0);
	return (host_bits_set(n->addr, n->bits) ? -1 : 0);
}

static int
add_net(struct sg_addrmatch *m, const struct net *n)
{
	struct net *nets;

	nets = realloc(m->nets, (m->n + 1) * sizeof(*nets));
	if (nets == NULL)
		return (-1);
	m->nets = nets;
	m->nets[m->n++] = *n;
	return (0);
}

struct sg_addrmatch *
sg_addrmatch_parse(const char *list, char *err, size_t errlen)
{
	static const char seps[] = " \t,";
	struct sg_addrmatch *m;
	struct net n;
	char word[WORD_MAX];
	size_t len;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto nomem;
	while (*(list += strspn(list, seps)) != '\0') {
		len = strcspn(list, seps);
		snprintf(word, sizeof(word), "%.*s", (int)len, list);
		if (len >= sizeof(word) || parse_net(word, &n) != 0) {
			snprintf(err, errlen, "bad network '%.*s'",
			    (int)(len > 80 ? 80 : len), list);
			sg_addrmatch_free(m);
			return (NULL);
		}
		if (add_net(m, &n) != 0)
			goto nomem;
		list += len;
	}
	return (m);
nomem:
	sg_addrmatch_free(m);
	snprintf(err, errlen, "out of memory");
	return (NULL);
}

int
sg_addrmatch_contains(const struct sg_addrmatch *m, const struct sockaddr *sa)
{
	unsigned char a[16];
	size_t i;

	if (sa->sa_family == AF_INET)
		map_v4(a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr);
	else if (sa->sa_family == AF_INET6)
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	else
		return (0);
	for (i = 0; i < m->n; i++)
		if (prefix_equal(a, m->nets[i].addr, m->nets[i].bits))
			return (1);
	return (0);
}

void
sg_addrmatch_free(struct sg_addrmatch *m)
{

	if (m == NULL)
		return;
	free(m->nets);
	free(m);
}
