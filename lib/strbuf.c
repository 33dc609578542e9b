/*
 * A growable buffer of bytes (strbuf.h).  Owns its bytes; calls libc
 * only.
 */
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static int
room(struct sg_strbuf *sb, size_t len)
{
	size_t cap;
	char *nb;

	if (sb->cap - sb->len >= len)
		return (0);
	cap = sb->cap < 128 ? 128 : sb->cap;
	while (cap - sb->len < len)
		cap *= 2;
	if ((nb = realloc(sb->b, cap)) == NULL)
		return (-1);
	sb->b = nb;
	sb->cap = cap;
	return (0);
}

int
sg_strbuf_reserve(struct sg_strbuf *sb, size_t len)
{

	return (room(sb, len));
}

int
sg_strbuf_cat(struct sg_strbuf *sb, const char *s, size_t len)
{

	if (len == 0)
		return (0);
	if (room(sb, len) != 0)
		return (-1);
	memcpy(sb->b + sb->len, s, len);
	sb->len += len;
	return (0);
}

int
sg_strbuf_put(struct sg_strbuf *sb, const char *s, size_t len, size_t *off)
{

	if (room(sb, len + 1) != 0)
		return (-1);
	*off = sb->len;
	memcpy(sb->b + sb->len, s, len);
	sb->b[sb->len + len] = '\0';
	sb->len += len + 1;
	return (0);
}

void
sg_strbuf_free(struct sg_strbuf *sb)
{

	free(sb->b);
	sb->b = NULL;
	sb->len = sb->cap = 0;
}
