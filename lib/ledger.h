#ifndef SG_LEDGER_H
#define SG_LEDGER_H

/*
 * The ledger of one output queue: what stanzas it holds and where each
 * ends, so that when the peer it leads to is gone, every stanza still in
 * the queue can be bounced or named (spec rule 5) without parsing the bytes
 * again.  No allocation per stanza: records live in a ring, their strings
 * in a byte queue, both kept for reuse until sg_ledger_trim().
 */

#include <stdint.h>

#include "compose.h"

/* Opaque types. */
struct sg_ledger;

/* Longer attribute values are cut, and the entry is marked cut. */
#define SG_LEDGER_MAX_VALUE	1023

/* One record, copied out; info's strings point into buf. */
struct sg_ledger_entry {
	uint64_t start;		/* queue offset where the stanza begins */
	uint64_t end;		/* queue offset one past the stanza */
	int cut;		/* a value was cut: do not bounce */
	int bounce;		/* our bounce of info, not info itself */
	struct sg_stanza_info info;
	char buf[6 * (SG_LEDGER_MAX_VALUE + 1)];
};

/*
 * sg_ledger_new(void):
 * An empty ledger, or NULL on allocation failure.
 */
struct sg_ledger *sg_ledger_new(void);

/*
 * sg_ledger_free(l):
 * Free l.  A NULL l is a no-op.
 */
void sg_ledger_free(struct sg_ledger *l);

/*
 * sg_ledger_push(l, start, end, st, bounce):
 * Record a stanza queued at offsets [start, end) (offsets count every byte
 * ever appended to the queue); with bounce, what is queued is our bounce
 * of st.  Returns 0, or -1 on allocation failure.
 */
int sg_ledger_push(struct sg_ledger *l, uint64_t start, uint64_t end,
    const struct sg_stanza_info *st, int bounce);

/*
 * sg_ledger_written(l, written):
 * The queue has been written up to offset written: forget the stanzas that
 * ended there or before.
 */
void sg_ledger_written(struct sg_ledger *l, uint64_t written);

/*
 * sg_ledger_drop(l, n):
 * Forget the n oldest records (all of them if there are fewer).
 */
void sg_ledger_drop(struct sg_ledger *l, uint64_t n);

/*
 * sg_ledger_count(l):
 * How many records l holds.
 */
size_t sg_ledger_count(const struct sg_ledger *l);

/*
 * sg_ledger_shift(l, e):
 * Move the oldest record into e.  Returns 1, or 0 if l is empty.
 */
int sg_ledger_shift(struct sg_ledger *l, struct sg_ledger_entry *e);

/*
 * sg_ledger_take_after(l, cut, e, fn, arg):
 * Each record that ends after offset cut, oldest first, copied into e and
 * given to fn(arg, e); then l forgets them.  fn must not change l.
 */
void sg_ledger_take_after(struct sg_ledger *l, uint64_t cut,
    struct sg_ledger_entry *e,
    void (*fn)(void *arg, const struct sg_ledger_entry *e), void *arg);

/*
 * sg_ledger_move_after(dst, src, cut, delta):
 * Move the records of src that end after offset cut, oldest first, to the
 * end of dst, each with its offsets lowered by delta (every field kept,
 * the cut mark too).  Returns 0, or -1 on allocation failure (src and dst
 * unchanged).
 */
int sg_ledger_move_after(struct sg_ledger *dst, struct sg_ledger *src,
    uint64_t cut, uint64_t delta);

/*
 * sg_ledger_last_end(l, end):
 * Set *end to the newest record's end and return 1, or return 0 if l is
 * empty.
 */
int sg_ledger_last_end(const struct sg_ledger *l, uint64_t *end);

/*
 * sg_ledger_trim(l):
 * Give back the memory l keeps for records to come; the records stay.
 */
void sg_ledger_trim(struct sg_ledger *l);

#endif /* !SG_LEDGER_H */
