#ifndef SG_WORKMSG_H
#define SG_WORKMSG_H

/*
 * The wire between the master (workers.c) and a worker (worker.c): one
 * struct sg_workmsg a datagram of a SOCK_SEQPACKET pair.  Both ends are
 * the same binary, so the struct goes as it is.  Private to those two.
 */

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

enum sg_workmsg_type {
	/* worker to master */
	SG_WORKMSG_LISTENING,
	SG_WORKMSG_RELOADED,
	SG_WORKMSG_RELOAD_FAILED,
	SG_WORKMSG_STATS,
	SG_WORKMSG_FINAL,
	SG_WORKMSG_PONG,
	/* master to worker */
	SG_WORKMSG_REPORT,
	SG_WORKMSG_PING
};

struct sg_workmsg {
	uint32_t type;
	uint32_t pad;
	uint64_t closing;
	uint64_t stopped;		/* SG_WORKMSG_FINAL */
	uint64_t forced;
	struct sg_stats_counts counts;
};

/*
 * sg_workmsg_init(m, type, st):
 * Clear m and set its type and, if st is not NULL, the counters of st.
 */
void sg_workmsg_init(struct sg_workmsg *m, enum sg_workmsg_type type,
    const struct sg_stats *st);

/*
 * sg_workmsg_send(fd, m):
 * Send m without blocking.  Returns 0, or -1 if it could not go (the
 * other end is gone or not reading).
 */
int sg_workmsg_send(int fd, const struct sg_workmsg *m);

/*
 * sg_workmsg_tell(fd, type):
 * Send a message of type with nothing else in it; 0 or -1.
 */
int sg_workmsg_tell(int fd, enum sg_workmsg_type type);

/*
 * sg_workmsg_recv(fd, m):
 * Read one message without blocking.  Returns 1 with a message in m, 0
 * if none is waiting, -1 if the other end is gone.
 */
int sg_workmsg_recv(int fd, struct sg_workmsg *m);

#endif /* !SG_WORKMSG_H */
