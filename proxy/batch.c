/*
 * Work deferred to the end of a loop's turn (batch.h); calls libev and
 * clock only.
 */
#include "batch.h"
#include "clock.h"

void
sg_batch_add(struct sg_batch *b, struct sg_batch_item *item, void *owner)
{

	if (item->queued)
		return;
	item->owner = owner;
	item->queued = 1;
	TAILQ_INSERT_TAIL(&b->items, item, link);
	b->n++;
}

void
sg_batch_remove(struct sg_batch *b, struct sg_batch_item *item)
{

	if (!item->queued)
		return;
	item->queued = 0;
	TAILQ_REMOVE(&b->items, item, link);
	b->n--;
}

size_t
sg_batch_len(const struct sg_batch *b)
{

	return (b->n);
}

/*
 * Bounded: an item that queues itself again every time it runs (a write
 * that ends a close, then the close) must neither keep the loop from its
 * events nor the other items from their turn.
 */
int
sg_batch_run(struct sg_batch *b, uint64_t now)
{
	struct sg_batch_item *item;
	size_t k, max = 2 * b->n;

	for (k = 0; k < max && (item = TAILQ_FIRST(&b->items)) != NULL; k++) {
		sg_batch_remove(b, item);
		b->fn(item->owner, now);
	}
	return (TAILQ_EMPTY(&b->items) ? 0 : -1);
}

/* Items left for the next turn: that turn must not sleep first. */
static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sg_batch *b = w->data;

	(void)revents;
	if (sg_batch_run(b, sg_clock_ms()) != 0)
		ev_idle_start(loop, &b->again);
}

static void
again_cb(struct ev_loop *loop, ev_idle *w, int revents)
{

	(void)revents;
	ev_idle_stop(loop, w);
}

void
sg_batch_init(struct sg_batch *b, sg_batch_fn *fn)
{

	TAILQ_INIT(&b->items);
	b->n = 0;
	b->fn = fn;
	ev_prepare_init(&b->prepare, prepare_cb);
	ev_idle_init(&b->again, again_cb);
	b->prepare.data = b;
}

void
sg_batch_start(struct sg_batch *b, struct ev_loop *loop)
{

	ev_prepare_start(loop, &b->prepare);
}

void
sg_batch_stop(struct sg_batch *b, struct ev_loop *loop)
{

	ev_prepare_stop(loop, &b->prepare);
	ev_idle_stop(loop, &b->again);
}
