#ifndef SG_BATCH_H
#define SG_BATCH_H

/*
 * Work deferred to the end of a turn of a libev loop: items queued during
 * the turn are run once each just before the loop waits for events (an
 * ev_prepare watcher), or earlier when the owner asks.  The daemon queues
 * sessions with writes to make, so that a peer is woken once for all the
 * reads of a turn, not once per read (conn.c).
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

/*
 * Run what owner queued: it is off the queue already, and may queue itself
 * again.  now: sg_clock_ms().
 */
typedef void sg_batch_fn(void *owner, uint64_t now);

/* Embedded in what is queued; zeroed before its first use. */
struct sg_batch_item {
	TAILQ_ENTRY(sg_batch_item) link;
	void *owner;
	unsigned queued:1;
};

/* Embedded in its owner: batch.c's own, set up by sg_batch_init(). */
struct sg_batch {
	TAILQ_HEAD(, sg_batch_item) items;	/* in the order queued */
	size_t n;
	sg_batch_fn *fn;
	ev_prepare prepare;
	ev_idle again;
};

/*
 * sg_batch_init(b, fn):
 * An empty b whose items fn runs.
 */
void sg_batch_init(struct sg_batch *b, sg_batch_fn *fn);

/*
 * sg_batch_start(b, loop), sg_batch_stop(b, loop):
 * Run b's items before loop waits for events, from now on; no more.
 * Items queued stay queued across a stop.
 */
void sg_batch_start(struct sg_batch *b, struct ev_loop *loop);
void sg_batch_stop(struct sg_batch *b, struct ev_loop *loop);

/*
 * sg_batch_add(b, item, owner), sg_batch_remove(b, item):
 * Queue item for owner if it is not queued; take it off if it is.
 */
void sg_batch_add(struct sg_batch *b, struct sg_batch_item *item,
    void *owner);
void sg_batch_remove(struct sg_batch *b, struct sg_batch_item *item);

/* sg_batch_len(b): how many items are queued. */
size_t sg_batch_len(const struct sg_batch *b);

/*
 * sg_batch_run(b, now):
 * Run the queued items in the order queued, each at most twice in all
 * (one that queues itself again goes behind the others).  Returns 0, or -1
 * if some are queued still.
 */
int sg_batch_run(struct sg_batch *b, uint64_t now);

#endif /* !SG_BATCH_H */
