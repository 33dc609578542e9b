#ifndef SG_STRBUF_H
#define SG_STRBUF_H

/*
 * A growable buffer of bytes, most often a row of C strings kept by offset:
 * the buffer moves when it grows, so an offset stays good where a pointer
 * would not.  It grows by doubling from 128 bytes and never shrinks until
 * it is freed, so a buffer that is emptied and refilled for every stanza
 * settles at one allocation.
 */

#include <stddef.h>

/*
 * Not opaque: a buffer lives inside its owner's struct or on the stack, so
 * it costs no allocation of its own.  Read b and len; change them only
 * through the functions below, but for len = 0 to empty it.  All zeroes is
 * an empty buffer.
 */
struct sg_strbuf {
	char *b;
	size_t len;
	size_t cap;
};

/*
 * sg_strbuf_cat(sb, s, len):
 * Append the len bytes at s (no NUL added).  Returns 0, or -1 on allocation
 * failure, with sb unchanged.
 */
int sg_strbuf_cat(struct sg_strbuf *sb, const char *s, size_t len);

/*
 * sg_strbuf_reserve(sb, len):
 * Make room for len more bytes, so that appends of that many in all cannot
 * fail.  Returns 0, or -1 on allocation failure, with sb unchanged.
 */
int sg_strbuf_reserve(struct sg_strbuf *sb, size_t len);

/*
 * sg_strbuf_put(sb, s, len, off):
 * Append the len bytes at s and a NUL: a C string that starts at
 * sb->b + *off.  Returns 0, or -1 on allocation failure, with sb and *off
 * unchanged.
 */
int sg_strbuf_put(struct sg_strbuf *sb, const char *s, size_t len,
    size_t *off);

/*
 * sg_strbuf_free(sb):
 * Give back sb's memory; sb is empty afterwards and may be used again.
 */
void sg_strbuf_free(struct sg_strbuf *sb);

#endif /* !SG_STRBUF_H */
