/* lgstanza: loadgen's stanza (see lgstanza.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lgstanza.h"

static void
put_digits(char *p, uint64_t v, int n)
{

	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
lgstanza_init(struct lgstanza *st, const char *to, size_t size)
{
	static const char head1[] = LGSTANZA_OPEN;
	static const char head2[] = LGSTANZA_ATTRS;
	size_t tolen = strlen(to), tail = sizeof(LGSTANZA_TAIL) - 1;
	char *t;

	st->tmpl = NULL;
	st->id_off = sizeof(head1) - 1 + tolen + sizeof(head2) - 1;
	st->ts_off = st->id_off + LGSTANZA_ID_DIGITS +
	    sizeof(LGSTANZA_MID) - 1;
	st->size = size;
	/* The time, a space, the tail. */
	if (size < st->ts_off + LGSTANZA_TS_DIGITS + 1 + tail) {
		errno = EINVAL;
		return (-1);
	}
	if ((t = st->tmpl = malloc(size)) == NULL)
		return (-1);
	memset(t, 'x', size);
	memcpy(t, head1, sizeof(head1) - 1);
	memcpy(t + sizeof(head1) - 1, to, tolen);
	memcpy(t + sizeof(head1) - 1 + tolen, head2, sizeof(head2) - 1);
	memcpy(t + st->id_off + LGSTANZA_ID_DIGITS, LGSTANZA_MID,
	    sizeof(LGSTANZA_MID) - 1);
	t[st->ts_off + LGSTANZA_TS_DIGITS] = ' ';
	memcpy(t + size - tail, LGSTANZA_TAIL, tail);
	return (0);
}

void
lgstanza_put(const struct lgstanza *st, char *p, uint64_t id, uint64_t ns)
{

	memcpy(p, st->tmpl, st->size);
	put_digits(p + st->id_off, id, LGSTANZA_ID_DIGITS);
	put_digits(p + st->ts_off, ns, LGSTANZA_TS_DIGITS);
}

void
lgstanza_free(struct lgstanza *st)
{

	free(st->tmpl);
	st->tmpl = NULL;
}
