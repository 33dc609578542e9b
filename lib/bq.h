#ifndef SG_BQ_H
#define SG_BQ_H

/*
 * A byte queue: bytes appended at the tail, written out from the head with
 * writev().  Memory is held in chunks that are freed as soon as they are
 * consumed, but for one spare chunk kept for the next bytes until
 * sg_bq_trim(): an idle, trimmed queue costs nothing but its header.
 */

#include <stddef.h>
#include <sys/uio.h>

/* Opaque types. */
struct sg_bq;

/*
 * sg_bq_new(void):
 * Create an empty queue.  Returns NULL on allocation failure.
 */
struct sg_bq *sg_bq_new(void);

/*
 * sg_bq_free(q):
 * Free q and every byte it holds.  A NULL q is a no-op.
 */
void sg_bq_free(struct sg_bq *q);

/*
 * sg_bq_append(q, buf, len):
 * Copy len bytes from buf to the tail of q.  Returns 0, or -1 on allocation
 * failure, in which case q is unchanged.
 */
int sg_bq_append(struct sg_bq *q, const void *buf, size_t len);

/*
 * sg_bq_appendv(q, iov, iovcnt):
 * Copy the bytes of iov[0], ..., iov[iovcnt - 1] to the tail of q, in
 * order: one append of all of them.  Returns 0, or -1 on allocation
 * failure, in which case q is unchanged.
 */
int sg_bq_appendv(struct sg_bq *q, const struct iovec *iov, int iovcnt);

/*
 * sg_bq_len(q):
 * The number of bytes in q.
 */
size_t sg_bq_len(const struct sg_bq *q);

/*
 * sg_bq_peek(q, iov, iovmax):
 * Fill at most iovmax entries of iov with the bytes at the head of q, in
 * order, without consuming them.  Returns the number of entries filled (0 if
 * q is empty).  The pointers stay valid until q is next changed.
 */
int sg_bq_peek(const struct sg_bq *q, struct iovec *iov, int iovmax);

/*
 * sg_bq_copyout(q, off, buf, len):
 * Copy up to len bytes starting off bytes after the head of q into buf
 * without consuming them.  Returns the number of bytes copied.
 */
size_t sg_bq_copyout(const struct sg_bq *q, size_t off, void *buf,
    size_t len);

/*
 * sg_bq_consume(q, len):
 * Remove len bytes (at most sg_bq_len(q)) from the head of q.
 */
void sg_bq_consume(struct sg_bq *q, size_t len);

/*
 * sg_bq_truncate(q, len):
 * Keep only the first len bytes of q, dropping the rest from the tail.
 */
void sg_bq_truncate(struct sg_bq *q, size_t len);

/*
 * sg_bq_clear(q):
 * Drop every byte in q.
 */
void sg_bq_clear(struct sg_bq *q);

/*
 * sg_bq_trim(q):
 * Give back the memory q keeps for bytes to come (its spare chunk); the
 * bytes in q stay.  For a queue that has gone quiet.
 */
void sg_bq_trim(struct sg_bq *q);

#endif /* !SG_BQ_H */
