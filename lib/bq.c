/*
 * A byte queue (bq.h).  Owns its chunks and one spare chunk; calls libc
 * only: every other module that queues bytes calls this one.
 */
#include <stdlib.h>
#include <string.h>

#include "bq.h"
#include "bqpriv.h"

/*
 * Chunks hold SG_BQ_CHUNK bytes, or more when one append is larger, so a
 * large stanza stays in few iovecs.  The first chunk of an empty queue is
 * small (SG_BQ_FIRST, one malloc size class that glibc serves from its
 * per-thread cache), so a queue that only ever carries a stream header or
 * a few stanzas costs little.  A consumed chunk of at most SG_BQ_CHUNK
 * bytes is kept as the queue's one spare instead of freed (the larger of
 * two): a busy queue that fills and drains once per read would otherwise
 * malloc and free a chunk every time, a small one as often as a full one
 * when the reads are short (1,000 sessions: 1.3% of the proxy's CPU in
 * malloc and free).  sg_bq_trim() gives the spare back once the queue goes
 * quiet.
 */
#define SG_BQ_CHUNK	(16 * 1024)

struct sg_bq_chunk {
	struct sg_bq_chunk *next;
	size_t head;		/* first unconsumed byte */
	size_t tail;		/* one past the last byte */
	size_t size;
	char data[];
};

#define SG_BQ_FIRST	(1024 - sizeof(struct sg_bq_chunk))

struct sg_bq {
	struct sg_bq_chunk *first;
	struct sg_bq_chunk *last;
	struct sg_bq_chunk *spare;	/* NULL, or SG_BQ_CHUNK bytes, empty */
	size_t len;
};

struct sg_bq *
sg_bq_new(void)
{

	return (calloc(1, sizeof(struct sg_bq)));
}

void
sg_bq_free(struct sg_bq *q)
{

	if (q == NULL)
		return;
	sg_bq_clear(q);
	sg_bq_trim(q);
	free(q);
}

/* A chunk for at least atleast bytes, the spare if it will do. */
static struct sg_bq_chunk *
chunk_get(struct sg_bq *q, size_t atleast)
{
	struct sg_bq_chunk *c;
	size_t size = SG_BQ_CHUNK;

	if (q->spare != NULL && atleast <= q->spare->size) {
		c = q->spare;
		q->spare = NULL;
		return (c);
	}
	if (q->first == NULL && atleast <= SG_BQ_FIRST)
		size = SG_BQ_FIRST;
	else if (atleast > size)
		size = atleast;
	if ((c = malloc(sizeof(*c) + size)) == NULL)
		return (NULL);
	c->next = NULL;
	c->head = c->tail = 0;
	c->size = size;
	return (c);
}

/* A chunk is done with: keep it as the spare, or the spare kept. */
static void
chunk_put(struct sg_bq *q, struct sg_bq_chunk *c)
{

	if (c->size > SG_BQ_CHUNK ||
	    (q->spare != NULL && q->spare->size >= c->size)) {
		free(c);
		return;
	}
	free(q->spare);
	c->next = NULL;
	c->head = c->tail = 0;
	q->spare = c;
}

/* Copy len bytes to *cp, moving on to the next chunk when *cp is full. */
static void
fill(struct sg_bq_chunk **cp, const char *buf, size_t len)
{
	struct sg_bq_chunk *c = *cp;

	while (len > 0) {
		size_t n = c->size - c->tail;

		if (n == 0) {
			c = c->next;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(c->data + c->tail, buf, n);
		c->tail += n;
		buf += n;
		len -= n;
	}
	*cp = c;
}

int
sg_bq_appendv(struct sg_bq *q, const struct iovec *iov, int iovcnt)
{
	struct sg_bq_chunk *c = q->last;
	size_t room = c != NULL ? c->size - c->tail : 0;
	size_t len = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len == 0)
		return (0);
	/* Allocate first, so that a failure leaves q unchanged. */
	if (len > room) {
		struct sg_bq_chunk *nc = chunk_get(q, len - room);

		if (nc == NULL)
			return (-1);
		if (c != NULL)
			c->next = nc;
		else
			q->first = c = nc;
		q->last = nc;
	}
	for (i = 0; i < iovcnt; i++)
		fill(&c, iov[i].iov_base, iov[i].iov_len);
	q->len += len;
	return (0);
}

int
sg_bq_append(struct sg_bq *q, const void *buf, size_t len)
{
	struct sg_bq_chunk *c = q->last;
	struct iovec iov = { (void *)buf, len };

	/* Most appends are one stanza into the chunk being filled. */
	if (c != NULL && len <= c->size - c->tail) {
		memcpy(c->data + c->tail, buf, len);
		c->tail += len;
		q->len += len;
		return (0);
	}
	return (sg_bq_appendv(q, &iov, 1));
}

size_t
sg_bq_len(const struct sg_bq *q)
{

	return (q->len);
}

int
sg_bq_peek(const struct sg_bq *q, struct iovec *iov, int iovmax)
{
	const struct sg_bq_chunk *c;
	int n = 0;

	for (c = q->first; c != NULL && n < iovmax; c = c->next) {
		if (c->tail == c->head)
			continue;
		iov[n].iov_base = (void *)(c->data + c->head);
		iov[n].iov_len = c->tail - c->head;
		n++;
	}
	return (n);
}

size_t
sg_bq_copyout(const struct sg_bq *q, size_t off, void *buf, size_t len)
{
	const struct sg_bq_chunk *c;
	size_t done = 0;

	for (c = q->first; c != NULL && done < len; c = c->next) {
		size_t have = c->tail - c->head;
		size_t n;

		if (off >= have) {
			off -= have;
			continue;
		}
		n = have - off < len - done ? have - off : len - done;
		memcpy((char *)buf + done, c->data + c->head + off, n);
		done += n;
		off = 0;
	}
	return (done);
}

void
sg_bq_consume(struct sg_bq *q, size_t len)
{
	struct sg_bq_chunk *c;

	if (len > q->len)
		len = q->len;
	q->len -= len;
	while ((c = q->first) != NULL) {
		size_t have = c->tail - c->head;

		if (len < have) {
			c->head += len;
			return;
		}
		len -= have;
		q->first = c->next;
		if (q->first == NULL)
			q->last = NULL;
		chunk_put(q, c);
	}
}

void
sg_bq_truncate(struct sg_bq *q, size_t len)
{
	struct sg_bq_chunk *c, *next;
	size_t keep = len;

	if (len >= q->len)
		return;
	q->len = len;
	for (c = q->first; c != NULL; c = c->next) {
		size_t have = c->tail - c->head;

		if (keep <= have)
			break;
		keep -= have;
	}
	/* c holds the new last byte (or is first, when len is 0). */
	c->tail = c->head + keep;
	for (next = c->next; next != NULL; next = c->next) {
		c->next = next->next;
		chunk_put(q, next);
	}
	q->last = c;
	if (len == 0)
		sg_bq_clear(q);
}

void
sg_bq_clear(struct sg_bq *q)
{
	struct sg_bq_chunk *c, *next;

	for (c = q->first; c != NULL; c = next) {
		next = c->next;
		chunk_put(q, c);
	}
	q->first = q->last = NULL;
	q->len = 0;
}

void
sg_bq_trim(struct sg_bq *q)
{

	free(q->spare);
	q->spare = NULL;
}

size_t
sg_bq_held(const struct sg_bq *q)
{
	const struct sg_bq_chunk *c;
	size_t n = q->spare != NULL ? q->spare->size : 0;

	for (c = q->first; c != NULL; c = c->next)
		n += c->size;
	return (n);
}
