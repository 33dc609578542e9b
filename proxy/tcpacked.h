#ifndef SG_TCPACKED_H
#define SG_TCPACKED_H

/*
 * How many bytes the peer's TCP stack has acknowledged on a socket, from
 * TCP_INFO's tcpi_bytes_acked: unlike "written minus SIOCOUTQ", it
 * survives a reset (the kernel drops the send queue, and SIOCOUTQ then
 * reads 0 as if everything had arrived).  In a module of its own because
 * it needs <linux/tcp.h>, which clashes with <netinet/tcp.h>.
 */

#include <stdint.h>

/*
 * sg_tcp_bytes_acked(fd, acked):
 * Set *acked to the data bytes the peer acknowledged since the connection
 * began.  0, or -1 with errno (not a TCP socket, or a kernel without the
 * figure: ENOTSUP).
 */
int sg_tcp_bytes_acked(int fd, uint64_t *acked);

#endif /* !SG_TCPACKED_H */
