/*
 * Parsing, resolving and formatting of "HOST:PORT" addresses, and a
 * connection's addresses (client, local, balancer).  Owns nothing past the
 * call; calls the resolver and the socket only.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Room for the longest host name we accept (253 bytes, as DNS). */
#define HOST_MAX	256
#define PORT_MAX	8	/* "65535" */

/* A bracketed IPv6 address, with an optional %scope. */
static int
valid_v6(const char *host)
{
	char a[INET6_ADDRSTRLEN];
	unsigned char a6[16];
	size_t n = strcspn(host, "%");

	if (n >= sizeof(a) || (host[n] == '%' && host[n + 1] == '\0'))
		return (0);
	memcpy(a, host, n);
	a[n] = '\0';
	return (inet_pton(AF_INET6, a, a6) == 1);
}

/* A host name or IPv4 address, or for passive "*"; n bytes long. */
static int
valid_host(const char *host, size_t n, int passive)
{

	if (passive && strcmp(host, "*") == 0)
		return (1);
	return (strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n);
}

int
sg_addr_split(const char *s, int passive, char *host, size_t hostlen,
    unsigned *port, char *err, size_t errlen)
{
	const char *colon, *h = s, *p;
	unsigned long v;
	size_t n;

	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			goto notaddr;
		h = s + 1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto notaddr;
		n = (size_t)(colon - s);
		if (memchr(s, ':', n) != NULL) {
			snprintf(err, errlen, "needs brackets around an IPv6 "
			    "address, like [::1]:5222");
			return (-1);
		}
	}
	if (n == 0 || n >= hostlen || n > 253)
		goto notaddr;
	memcpy(host, h, n);
	host[n] = '\0';
	if (h != s ? !valid_v6(host) : !valid_host(host, n, passive))
		goto notaddr;
	p = colon + 1;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
		goto notaddr;
	v = strtoul(p, NULL, 10);	/* saturates: out of range */
	if (v < 1 || v > 65535) {
		snprintf(err, errlen, "has port %s, not in 1..65535", p);
		return (-1);
	}
	*port = (unsigned)v;
	return (0);
notaddr:
	snprintf(err, errlen, "is not %s:PORT (like 127.0.0.1:5222 or "
	    "[::1]:5222)", passive ? "ADDR" : "HOST");
	return (-1);
}

/* Names that do not exist are configuration errors; the rest may pass. */
static enum sg_addr_result
classify(int gaierr)
{

	switch (gaierr) {
	case EAI_NONAME:
	case EAI_SERVICE:
	case EAI_FAMILY:
	case EAI_BADFLAGS:
		return (SG_ADDR_INVALID);
	default:
		return (SG_ADDR_FAILED);
	}
}

enum sg_addr_result
sg_addr_resolve(const char *hostport, int passive, struct sg_addrs *out,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char host[HOST_MAX], port[PORT_MAX], why[128];
	const char *node;
	unsigned pn;
	int rc;

	out->n = 0;
	if (sg_addr_split(hostport, passive, host, sizeof(host), &pn, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s %s", hostport, why);
		return (SG_ADDR_INVALID);
	}
	snprintf(port, sizeof(port), "%u", pn);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	node = host;
	if (passive && strcmp(host, "*") == 0) {
		hints.ai_flags = AI_PASSIVE;
		node = NULL;
	}
	if ((rc = getaddrinfo(node, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
		return (classify(rc));
	}
	for (ai = res; ai != NULL && out->n < SG_ADDR_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->ss[0]))
			continue;
		memcpy(&out->ss[out->n], ai->ai_addr, ai->ai_addrlen);
		out->len[out->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (out->n == 0) {
		snprintf(err, errlen, "%s: no usable address", hostport);
		return (SG_ADDR_INVALID);
	}
	return (SG_ADDR_OK);
}

char *
sg_addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char a[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, len, "family-%d", sa->sa_family);
		break;
	}
	return (buf);
}

int
sg_addr_equal(const struct sockaddr *a, socklen_t alen,
    const struct sockaddr *b, socklen_t blen)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a->sa_family != b->sa_family || alen != blen)
		return (0);
	switch (a->sa_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return (a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0);
	default:
		return (memcmp(a, b, alen) == 0);
	}
}

void
sg_addr_conn_of(struct sg_addr_conn *addrs, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	socklen_t len = sizeof(addrs->local);

	memset(addrs, 0, sizeof(*addrs));
	memcpy(&addrs->client, sa, salen < sizeof(addrs->client) ? salen :
	    sizeof(addrs->client));
	if (getsockname(fd, &addrs->local.sa, &len) == -1)
		addrs->local.sa.sa_family = AF_UNSPEC;
	addrs->via.sa.sa_family = AF_UNSPEC;
}
