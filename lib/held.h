#ifndef SG_HELD_H
#define SG_HELD_H

/*
 * A direction's inbound bytes, a part of the close engine: what the
 * tracker has not yet seen as a whole stanza is held; then it is forwarded
 * to the other side or dropped.  Called by the close engine (session.c,
 * closing.c) only; it works on the session's state (sessout.h).  Offsets
 * count the bytes ever read from the direction's side; d->done is where
 * forwarding or dropping reached.
 */

#include <stdint.h>

#include "bq.h"
#include "tracker.h"

/* Opaque types. */
struct sg_dir;

/*
 * sg_held_dispose(d, end, keep):
 * Forward (keep) or drop d's bytes up to offset end: first those held from
 * earlier reads, then those of the chunk being fed.  No-op if end <= done.
 */
void sg_held_dispose(struct sg_dir *d, uint64_t end, int keep);

/*
 * sg_held_take(d, end, q):
 * As sg_held_dispose(d, end, 1), but into q instead of the other side's
 * queue: bytes held back for later.  0, or -1 out of memory.
 */
int sg_held_take(struct sg_dir *d, uint64_t end, struct sg_bq *q);

/*
 * sg_held_forward(d, ev):
 * Forward a stanza up to ev->end.  When we terminate TLS for C, S's offer
 * of STARTTLS would have C tunnel TLS in TLS: those children are dropped.
 */
void sg_held_forward(struct sg_dir *d, const struct sg_tracker_event *ev);

/*
 * sg_held_drop_partial(d):
 * Drop what d holds and stop parsing d's bytes.  A stanza begun and not
 * complete (held or in the chunk being fed; see held.c for the rule) is
 * counted as truncated, unless d was already dead.
 */
void sg_held_drop_partial(struct sg_dir *d);

/*
 * sg_held_stash_rest(d):
 * After a feed: keep what is not yet a whole stanza and start its clock,
 * or count it dropped if d is dead or the session over.
 */
void sg_held_stash_rest(struct sg_dir *d);

#endif /* SG_HELD_H */
