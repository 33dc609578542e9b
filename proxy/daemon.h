#ifndef SG_DAEMON_H
#define SG_DAEMON_H

/*
 * The daemon's state: everything that is mutable and shared between
 * sessions lives in this one struct, owned by main.c and passed by pointer
 * to the modules that need it.  There are no other globals.
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "batch.h"
#include "config.h"
#include "upconn.h"

/* Opaque types. */
struct sg_conn;
struct sg_listener;
struct sg_log;
struct sg_notify;
struct sg_prelude;
struct sg_stats;
struct sg_worker;

/* Bytes read from a socket in one read(): one buffer for the whole loop. */
#define SG_DAEMON_RBUF	(64 * 1024)
/* Reads per callback, sessions' and preludes': fairness between them. */
#define SG_DAEMON_READS_PER_CB	4

struct sg_daemon {
	struct ev_loop *loop;
	struct sg_config *cfg;		/* the settings in force */
	struct sg_log *log;
	struct sg_notify *notify;
	struct sg_stats *stats;
	struct sg_worker *worker;	/* workers > 1: link to the master */

	struct sg_listener **listeners;
	size_t nlisteners;

	/* sys/queue.h lists: unlinked in O(1) without the head. */
	LIST_HEAD(, sg_conn) conns;	/* every open session, newest first */
	LIST_HEAD(, sg_prelude) preludes;	/* before their session */
	struct sg_batch flushing;	/* sessions with writes to make */
	size_t nconns;			/* sessions and preludes */
	size_t nrefusing;		/* preludes refusing over
					   max-connections: not in nconns */
	uint64_t next_id;		/* session ids */
	struct sg_upconn_pool upconns;	/* kept for the next connects */

	int stopping;			/* SIGTERM seen: draining */
	size_t stop_sessions;		/* sessions open when it came */
	size_t stop_forced;		/* of those, closed by force */
	uint64_t emfile_logged;		/* s (monotonic): rate-limits a warning */

	ev_signal sigterm, sigint, sighup;
	ev_timer drain;			/* drain-timeout after SIGTERM */
	ev_timer stats_timer;		/* stats-interval */
	ev_timer watchdog;		/* WATCHDOG=1 */
	ev_timer sweep;			/* parser memory of quiet sessions */

	char rbuf[SG_DAEMON_RBUF];
};

/*
 * sg_daemon_drained(d):
 * Nothing left open: no session, no prelude, no refusal.  A stopping
 * daemon leaves its loop then.
 */
static inline int
sg_daemon_drained(const struct sg_daemon *d)
{

	return (d->nconns == 0 && d->nrefusing == 0);
}

#endif /* !SG_DAEMON_H */
