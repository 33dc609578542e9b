/*
 * TCP_INFO's tcpi_bytes_acked (see tcpacked.h).  Calls nothing of ours.
 */
#include <sys/socket.h>

#include <linux/tcp.h>
#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "tcpacked.h"

int
sg_tcp_bytes_acked(int fd, uint64_t *acked)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return (-1);
	/* Older kernels fill less of the struct than this header knows. */
	if (len < offsetof(struct tcp_info, tcpi_bytes_acked) +
	    sizeof(ti.tcpi_bytes_acked)) {
		errno = ENOTSUP;
		return (-1);
	}
	*acked = ti.tcpi_bytes_acked;
	return (0);
}
