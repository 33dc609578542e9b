/*
 * One buffer holds "prefix NUL uri NUL" for each declaration, up to
 * decl_end, and after them the element's prefix.  The buffer is the
 * struct's own room until it outgrows it, then a heap copy that grows.
 *
 * Owns the declarations' buffer; calls strbuf.  Used by the tracker and
 * xmlparser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "streamns.h"

#define NONE	SIZE_MAX
/*
 * Room in the struct, enough for a usual stream header's declarations: a
 * buffer first allocated while the header is parsed would sit among the
 * parser's blocks and keep their pages from going back to the system when
 * an idle session gives its parser back.  In the struct rather than a
 * block of its own, it costs no malloc header.
 */
#define ROOM	128

struct sg_streamns {
	struct sg_strbuf sb;	/* sb.b is room, or on the heap */
	size_t decl_end;
	size_t prefix_off;	/* or NONE */
	size_t dns_off;		/* the default namespace, or NONE */
	char room[ROOM];
};

/*
 * Before a put of len bytes: if they do not fit in the room, move to the
 * heap, where sg_strbuf grows the buffer as it does any other.
 */
static int
outgrow(struct sg_streamns *ns, size_t len)
{
	char *b;

	if (ns->sb.b != ns->room || ns->sb.cap - ns->sb.len >= len)
		return (0);
	if ((b = malloc(ns->sb.cap)) == NULL)
		return (-1);
	memcpy(b, ns->room, ns->sb.len);
	ns->sb.b = b;
	return (0);
}

static int
put(struct sg_streamns *ns, const char *s, size_t *off)
{
	size_t len = strlen(s);

	if (outgrow(ns, len + 1) != 0)
		return (-1);
	return (sg_strbuf_put(&ns->sb, s, len, off));
}

struct sg_streamns *
sg_streamns_new(void)
{
	struct sg_streamns *ns;

	if ((ns = calloc(1, sizeof(*ns))) == NULL)
		return (NULL);
	ns->sb.b = ns->room;
	ns->sb.cap = ROOM;
	ns->prefix_off = ns->dns_off = NONE;
	return (ns);
}

void
sg_streamns_free(struct sg_streamns *ns)
{

	if (ns == NULL)
		return;
	if (ns->sb.b != ns->room)
		sg_strbuf_free(&ns->sb);
	free(ns);
}

void
sg_streamns_clear(struct sg_streamns *ns)
{

	/* The room is kept, for the same reason it was taken early. */
	ns->sb.len = 0;
	ns->decl_end = 0;
	ns->prefix_off = ns->dns_off = NONE;
}

int
sg_streamns_declare(struct sg_streamns *ns, const char *prefix,
    const char *uri)
{
	size_t len = ns->sb.len, poff, uoff;

	if (put(ns, prefix, &poff) != 0 || put(ns, uri, &uoff) != 0) {
		ns->sb.len = len;
		return (-1);
	}
	ns->decl_end = ns->sb.len;
	if (*prefix == '\0')
		ns->dns_off = uoff;
	return (0);
}

int
sg_streamns_set_prefix(struct sg_streamns *ns, const char *prefix)
{

	return (put(ns, prefix, &ns->prefix_off));
}

const char *
sg_streamns_default(const struct sg_streamns *ns)
{

	return (ns->dns_off == NONE ? "" : ns->sb.b + ns->dns_off);
}

/* Escaped for a '-quoted value; tabs and newlines would become spaces. */
static int
cat_escaped(struct sg_strbuf *sb, const char *s)
{
	static const char special[] = "&<'\t\n\r";
	static const char *const esc[] = {
		"&amp;", "&lt;", "&apos;", "&#9;", "&#10;", "&#13;"
	};
	const char *e;
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		if ((e = strchr(special, *s)) == NULL)
			r = sg_strbuf_cat(sb, s, 1);
		else
			r = sg_strbuf_cat(sb, esc[e - special],
			    strlen(esc[e - special]));
	}
	return (r);
}

static int
cat_decl(struct sg_strbuf *sb, const char *prefix, const char *uri)
{
	int r;

	r = sg_strbuf_cat(sb, " xmlns", 6);
	if (*prefix != '\0')
		r |= sg_strbuf_cat(sb, ":", 1) |
		    sg_strbuf_cat(sb, prefix, strlen(prefix));
	return (r | sg_strbuf_cat(sb, "='", 2) | cat_escaped(sb, uri) |
	    sg_strbuf_cat(sb, "'", 1));
}

int
sg_streamns_header(const struct sg_streamns *ns, struct sg_strbuf *sb)
{
	const char *pfx, *d, *uri;
	size_t off;
	int r;

	pfx = ns->prefix_off == NONE ? "" : ns->sb.b + ns->prefix_off;
	sb->len = 0;
	r = sg_strbuf_cat(sb, "<", 1);
	if (*pfx != '\0')
		r |= sg_strbuf_cat(sb, pfx, strlen(pfx)) |
		    sg_strbuf_cat(sb, ":", 1);
	r |= sg_strbuf_cat(sb, "stream", 6);
	off = 0;
	while (off < ns->decl_end) {
		d = ns->sb.b + off;
		uri = d + strlen(d) + 1;
		r |= cat_decl(sb, d, uri);
		off = (size_t)(uri - ns->sb.b) + strlen(uri) + 1;
	}
	return (r | sg_strbuf_cat(sb, ">", 1));
}
