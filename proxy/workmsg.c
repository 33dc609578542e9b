/*
 * The master-worker wire: fixed-size datagrams on a SOCK_SEQPACKET pair,
 * never blocking either side (a master that waited on a stuck worker
 * would stop watching the others).
 *
 * Owns nothing; calls the socket and stats (the counters it carries).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "stats.h"
#include "workmsg.h"

void
sg_workmsg_init(struct sg_workmsg *m, enum sg_workmsg_type type,
    const struct sg_stats *st)
{

	memset(m, 0, sizeof(*m));
	m->type = type;
	if (st != NULL)
		sg_stats_get(st, &m->counts);
}

int
sg_workmsg_send(int fd, const struct sg_workmsg *m)
{

	return (send(fd, m, sizeof(*m), MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(*m) ? 0 : -1);
}

int
sg_workmsg_tell(int fd, enum sg_workmsg_type type)
{
	struct sg_workmsg m;

	sg_workmsg_init(&m, type, NULL);
	return (sg_workmsg_send(fd, &m));
}

int
sg_workmsg_recv(int fd, struct sg_workmsg *m)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, m, sizeof(*m), MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(*m))
			return (1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (n > 0)
			continue;	/* not ours: cannot happen */
		return (-1);
	}
}
