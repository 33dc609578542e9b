#ifndef SG_STATS_H
#define SG_STATS_H

/*
 * Totals over the daemon's life: sessions accepted, refused, open, ended
 * by each close reason, and the bytes, stanzas, bounces and undeliverable
 * stanzas of the sessions that have ended.  Written periodically as an
 * event=totals log line and a short systemd STATUS=.
 */

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Opaque types. */
struct sg_stats;
struct sg_log;

/*
 * The counters, as a worker process reports them to its master
 * (workers.c), which adds them up.  All uint64_t: sg_stats_add() adds
 * them member by member.
 */
struct sg_stats_counts {
	uint64_t accepted;
	uint64_t refused;
	uint64_t ended;
	uint64_t forced;
	uint64_t by_reason[SG_REASON_COUNT];
	uint64_t bytes_in[2];		/* read from each side */
	uint64_t stanzas[2];
	uint64_t bounced;
	uint64_t undeliverable;
	uint64_t truncated;
	uint64_t sm_handback;		/* sessions with SM on C's behalf */
	uint64_t handed_back;
	uint64_t s_unacked;
	uint64_t lost;			/* ended with a worker that died */
};

/*
 * sg_stats_new(void):
 * Zeroed totals.  Returns NULL on allocation failure.
 */
struct sg_stats *sg_stats_new(void);

/*
 * sg_stats_free(st):
 * Free st.  A NULL st is a no-op.
 */
void sg_stats_free(struct sg_stats *st);

/*
 * sg_stats_accepted(st), sg_stats_refused(st):
 * A session started; a connection was refused (max-connections).
 */
void sg_stats_accepted(struct sg_stats *st);
void sg_stats_refused(struct sg_stats *st);

/*
 * sg_stats_ended(st, ss):
 * A session that sg_stats_accepted() counted has ended with ss.
 */
void sg_stats_ended(struct sg_stats *st, const struct sg_session_stats *ss);

/*
 * sg_stats_log(st, log, closing):
 * Write the event=totals line; closing is the number of open sessions
 * with a close handshake under way.
 */
void sg_stats_log(const struct sg_stats *st, struct sg_log *log,
    size_t closing);

/*
 * sg_stats_log_workers(st, log, closing, workers, restarts):
 * The master's event=totals line, for the whole daemon: the fields of
 * sg_stats_log(), then workers=, restarts= (workers restarted after an
 * unexpected exit) and lost= (sessions that died with a worker).
 */
void sg_stats_log_workers(const struct sg_stats *st, struct sg_log *log,
    size_t closing, unsigned workers, uint64_t restarts);

/*
 * sg_stats_get(st, c), sg_stats_add(st, c):
 * Copy st's counters into c; add c's counters to st's.
 */
void sg_stats_get(const struct sg_stats *st, struct sg_stats_counts *c);
void sg_stats_add(struct sg_stats *st, const struct sg_stats_counts *c);

/*
 * sg_stats_lost(st, n):
 * n sessions counted as accepted will never end (their worker died):
 * count them as ended, and as lost.
 */
void sg_stats_lost(struct sg_stats *st, uint64_t n);

/*
 * sg_stats_status(st, closing, buf, len):
 * "sessions: N active, M closing" into buf (NUL-terminated); returns buf.
 */
char *sg_stats_status(const struct sg_stats *st, size_t closing, char *buf,
    size_t len);

#endif /* !SG_STATS_H */
