#ifndef SG_ADDR_H
#define SG_ADDR_H

/*
 * Socket addresses as the configuration writes them: "HOST:PORT",
 * "[V6ADDR]:PORT", "*:PORT" (any address).  Parsing, resolving with
 * getaddrinfo() (IPv4 and IPv6), and formatting for log lines; and the
 * addresses of one connection (client, local, balancer).
 */

#include <stddef.h>
#include <sys/socket.h>

#include <netinet/in.h>

/* Addresses kept for one name: the ones tried in turn on connect. */
#define SG_ADDR_MAX	8

/* Room for "[v6addr%scope]:65535" and a NUL. */
#define SG_ADDR_STRLEN	(INET6_ADDRSTRLEN + 16)

struct sg_addrs {
	size_t n;
	struct sockaddr_storage ss[SG_ADDR_MAX];
	socklen_t len[SG_ADDR_MAX];
};

enum sg_addr_result {
	SG_ADDR_OK,
	SG_ADDR_INVALID,	/* bad syntax, or the name does not exist */
	SG_ADDR_FAILED		/* the resolver failed: may work later */
};

/*
 * sg_addr_split(s, passive, host, hostlen, port, err, errlen):
 * Check the syntax of s without resolving it, and split it into host
 * (without brackets) and port.  s is "HOST:PORT" (a name of letters,
 * digits, '.', '-' and '_', or an IPv4 address), "[V6ADDR]:PORT" or
 * "[V6ADDR%SCOPE]:PORT", and with passive also "*:PORT" (any address);
 * the port is decimal, 1..65535.  Returns 0, or -1 if s is not valid or
 * the host does not fit in hostlen bytes, with the reason in err as a
 * predicate on s ("is not HOST:PORT (...)"); err may be NULL if errlen
 * is 0.
 */
int sg_addr_split(const char *s, int passive, char *host, size_t hostlen,
    unsigned *port, char *err, size_t errlen);

/*
 * sg_addr_resolve(hostport, passive, out, err, errlen):
 * Parse hostport with sg_addr_split() and resolve it into out, in the
 * resolver's order.  With passive, a "*" host is the wildcard address
 * (for bind()).  On failure err holds one line naming hostport and the
 * cause.
 */
enum sg_addr_result sg_addr_resolve(const char *hostport, int passive,
    struct sg_addrs *out, char *err, size_t errlen);

/*
 * sg_addr_format(sa, buf, len):
 * Write sa as "1.2.3.4:5" or "[::1]:5" into buf (always NUL-terminated);
 * returns buf.
 */
char *sg_addr_format(const struct sockaddr *sa, char *buf, size_t len);

/*
 * sg_addr_equal(a, alen, b, blen):
 * Non-zero if a and b are the same family, address and port.
 */
int sg_addr_equal(const struct sockaddr *a, socklen_t alen,
    const struct sockaddr *b, socklen_t blen);

/*
 * An address of a TCP connection: listeners and PROXY headers give no
 * family but AF_INET and AF_INET6 (or AF_UNSPEC), so it is kept in their
 * size, not a sockaddr_storage's (every session keeps three).
 */
union sg_addr_ip {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * Who a session's client is: as it logs it, and as send-proxy tells the
 * upstream.  With accept-proxy, client and local come from the balancer's
 * PROXY header and via is the balancer; otherwise via's family is
 * AF_UNSPEC.
 */
struct sg_addr_conn {
	union sg_addr_ip client;	/* the client */
	union sg_addr_ip local;		/* the address it connected to */
	union sg_addr_ip via;		/* the balancer, or AF_UNSPEC */
};

/*
 * sg_addr_conn_of(addrs, fd, sa, salen):
 * Fill addrs for the accepted socket fd from the peer sa: client sa,
 * local fd's own address, no via.
 */
void sg_addr_conn_of(struct sg_addr_conn *addrs, int fd,
    const struct sockaddr *sa, socklen_t salen);

#endif /* !SG_ADDR_H */
