#ifndef SG_PROXYPROTO_H
#define SG_PROXYPROTO_H

/*
 * The HAProxy PROXY protocol, versions 1 (a text line) and 2 (binary), as
 * of haproxy.org/download/2.6/doc/proxy-protocol.txt: the header a proxy
 * puts in front of a TCP stream to say who the client is.  Composing one
 * (towards the upstream, send-proxy) and parsing one (from a balancer in
 * front of us, accept-proxy), on bytes only: no sockets.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Opaque types. */
struct sg_proxyproto;

enum sg_proxyproto_version {
	SG_PROXYPROTO_V1 = 1,
	SG_PROXYPROTO_V2 = 2
};

/* The longest header sg_proxyproto_compose() writes (v1's limit). */
#define SG_PROXYPROTO_MAX		107
/* The longest v1 line accepted, CRLF included (the spec's limit). */
#define SG_PROXYPROTO_V1_MAX		107
/*
 * The longest v2 address and TLV block accepted (its length field): a
 * sender that needs more is broken or hostile.  The spec allows 65535.
 */
#define SG_PROXYPROTO_V2_MAX_LEN	2048

/*
 * sg_proxyproto_compose(v, src, dst, buf, size, len):
 * Write to buf the version v header for a TCP connection from src (the
 * client) to dst (the address it connected to), and set *len to its
 * length.  Both AF_INET: "PROXY TCP4 ...\r\n" or v2 TCP over IPv4; else
 * both AF_INET or AF_INET6: TCP6, an IPv4 address as ::ffff:a.b.c.d (two
 * IPv4-mapped addresses, as on a dual-stack listener, go as TCP4); any
 * other family: "PROXY UNKNOWN\r\n" or v2 LOCAL.  v1 is not NUL-
 * terminated.  Returns 0, or -1 if size is too small (SG_PROXYPROTO_MAX
 * always suffices) or v is neither version.
 */
int sg_proxyproto_compose(enum sg_proxyproto_version v,
    const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    char *buf, size_t size, size_t *len);

enum sg_proxyproto_status {
	SG_PROXYPROTO_NEED_MORE,	/* no verdict yet: feed more bytes */
	SG_PROXYPROTO_DONE,		/* a whole header: see the result */
	SG_PROXYPROTO_ERROR		/* refused: see the reason */
};

struct sg_proxyproto_result {
	enum sg_proxyproto_version version;
	size_t len;		/* bytes of the header */
	/*
	 * v1 UNKNOWN, v2 LOCAL, or v2 over UNIX or UDP sockets or an
	 * unspecified family: use the socket's own addresses (src and dst
	 * are zeroed).  Otherwise src and dst are AF_INET or AF_INET6.
	 */
	int local;
	struct sockaddr_storage src;	/* the client */
	struct sockaddr_storage dst;	/* the address it connected to */
};

/*
 * sg_proxyproto_new(void):
 * A parser for the first bytes of one connection, v1 or v2 as they come.
 * Returns NULL on allocation failure.
 */
struct sg_proxyproto *sg_proxyproto_new(void);

/*
 * sg_proxyproto_free(pp):
 * Free pp.  A NULL pp is a no-op.
 */
void sg_proxyproto_free(struct sg_proxyproto *pp);

/*
 * sg_proxyproto_feed(pp, buf, len, used):
 * The next len bytes of the connection, split anywhere.  Sets *used to how
 * many of them the header took: on DONE, the bytes from buf + *used on are
 * the stream after the header (it never takes more than the header); on
 * NEED_MORE, all of them.  Once DONE or ERROR, it stays so and takes
 * nothing more.  A refusal is decided at the first byte that makes the
 * header wrong (a byte that is neither "PROXY " nor the v2 signature is
 * refused at once, so a client that sends no header fails fast).
 */
enum sg_proxyproto_status sg_proxyproto_feed(struct sg_proxyproto *pp,
    const char *buf, size_t len, size_t *used);

/*
 * sg_proxyproto_result(pp):
 * The header's content, once sg_proxyproto_feed() returned DONE.
 */
const struct sg_proxyproto_result *sg_proxyproto_result(
    const struct sg_proxyproto *pp);

/*
 * sg_proxyproto_error(pp):
 * Why the header was refused ("not a PROXY header", "v1 line too long",
 * "bad address", "v2 CRC32c mismatch"...), a short fixed English string
 * for the log; NULL unless sg_proxyproto_feed() returned ERROR.  A v2
 * header with the PROXY command and a CRC32c TLV (PP2_TYPE_CRC32C) is
 * refused unless its value is 4 bytes ("bad v2 CRC32c TLV length"), the
 * only one ("v2 CRC32c TLV repeated") and the header's CRC32c computed
 * with it zero ("v2 CRC32c mismatch").
 */
const char *sg_proxyproto_error(const struct sg_proxyproto *pp);

#endif /* !SG_PROXYPROTO_H */
