/*
 * Parsing, resolving and formatting of "HOST:PORT" addresses.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Longest host name we accept, as DNS does. */
#define HOST_MAX	256
#define PORT_MAX	32

/*
 * Split "host:port" or "[v6]:port" into its parts.  A v6 address must be
 * in brackets, else its colons would be ambiguous.  Returns 0 or -1.
 */
static int
split(const char *hp, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *close;
	size_t n;

	if (hp[0] == '[') {
		if ((close = strchr(hp, ']')) == NULL || close[1] != ':')
			return (-1);
		n = (size_t)(close - hp - 1);
		colon = close + 1;
		hp++;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL ||
		    memchr(hp, ':', (size_t)(colon - hp)) != NULL)
			return (-1);
		n = (size_t)(colon - hp);
	}
	if (n >= hostlen || strlen(colon + 1) >= portlen ||
	    colon[1] == '\0')
		return (-1);
	memcpy(host, hp, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return (0);
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
	char host[HOST_MAX], port[PORT_MAX];
	const char *node;
	int rc;

	out->n = 0;
	if (split(hostport, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "%s: not HOST:PORT or [IPV6]:PORT",
		    hostport);
		return (SG_ADDR_INVALID);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	node = host;
	if (passive && (host[0] == '\0' || strcmp(host, "*") == 0)) {
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
