#ifndef SG_ADDRMATCH_H
#define SG_ADDRMATCH_H

/*
 * A list of IPv4 and IPv6 networks ("10.0.0.0/8 fd00::/8 127.0.0.1"), and
 * whether an address is in one of them: for trusted-proxies, the peers
 * whose PROXY protocol header is believed.
 *
 * An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d; it is
 * matched as the IPv4 address it is, so "127.0.0.1" trusts it either way.
 */

#include <stddef.h>
#include <sys/socket.h>

/* Opaque types. */
struct sg_addrmatch;

/*
 * sg_addrmatch_parse(list, err, errlen):
 * Parse list: networks apart by spaces or commas, each ADDR or ADDR/BITS
 * (a bare address is the host alone).  Returns a new list (maybe empty),
 * or NULL with the first bad word named in err ("bad network '10.0.0.0/33'"),
 * or "out of memory".  Host bits set under the mask are refused as a likely
 * typo ("10.1.2.3/8" for "10.0.0.0/8").
 */
struct sg_addrmatch *sg_addrmatch_parse(const char *list, char *err,
    size_t errlen);

/*
 * sg_addrmatch_contains(m, sa):
 * 1 if sa (AF_INET or AF_INET6) is in one of m's networks, else 0.
 */
int sg_addrmatch_contains(const struct sg_addrmatch *m,
    const struct sockaddr *sa);

/*
 * sg_addrmatch_free(m):
 * Free m.  A NULL m is a no-op.
 */
void sg_addrmatch_free(struct sg_addrmatch *m);

#endif /* !SG_ADDRMATCH_H */
