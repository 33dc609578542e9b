#include <stdlib.h>
#include <string.h>

#include "bq.h"
#include "ledger.h"

#define NFIELDS	6

/* Serialized record: this header, then NFIELDS strings with their NULs. */
struct rec_head {
	uint64_t end;
	uint32_t size;		/* of the strings */
	uint8_t kind;
	uint8_t cut;
	uint8_t bounce;
	uint8_t present;	/* bit i: field i was not NULL */
};

struct sg_ledger {
	struct sg_bq *q;
	size_t nrec;
};

struct sg_ledger *
sg_ledger_new(void)
{
	struct sg_ledger *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto err0;
	if ((l->q = sg_bq_new()) == NULL)
		goto err1;
	return (l);

err1:
	free(l);
err0:
	return (NULL);
}

void
sg_ledger_free(struct sg_ledger *l)
{

	if (l == NULL)
		return;
	sg_bq_free(l->q);
	free(l);
}

static void
fields_of(const struct sg_stanza_info *st, const char *f[NFIELDS])
{

	f[0] = st->name;
	f[1] = st->ns;
	f[2] = st->id;
	f[3] = st->type;
	f[4] = st->from;
	f[5] = st->to;
}

int
sg_ledger_push(struct sg_ledger *l, uint64_t end,
    const struct sg_stanza_info *st, int bounce)
{
	struct rec_head h = { .end = end, .kind = (uint8_t)st->kind,
	    .bounce = bounce != 0 };
	const char *f[NFIELDS];
	size_t len[NFIELDS];
	size_t before = sg_bq_len(l->q);
	int i;

	fields_of(st, f);
	for (i = 0; i < NFIELDS; i++) {
		len[i] = f[i] != NULL ? strlen(f[i]) : 0;
		if (len[i] > SG_LEDGER_MAX_VALUE) {
			len[i] = SG_LEDGER_MAX_VALUE;
			h.cut = 1;
		}
		if (f[i] != NULL)
			h.present |= (uint8_t)(1u << i);
		h.size += (uint32_t)len[i] + 1;
	}
	if (sg_bq_append(l->q, &h, sizeof(h)))
		goto fail;
	for (i = 0; i < NFIELDS; i++) {
		if (sg_bq_append(l->q, f[i] != NULL ? f[i] : "", len[i]) ||
		    sg_bq_append(l->q, "", 1))
			goto fail;
	}
	l->nrec++;
	return (0);

fail:
	sg_bq_truncate(l->q, before);
	return (-1);
}

void
sg_ledger_written(struct sg_ledger *l, uint64_t written)
{
	struct rec_head h;

	while (l->nrec > 0) {
		sg_bq_copyout(l->q, 0, &h, sizeof(h));
		if (h.end > written)
			return;
		sg_bq_consume(l->q, sizeof(h) + h.size);
		l->nrec--;
	}
}

int
sg_ledger_shift(struct sg_ledger *l, struct sg_ledger_entry *e)
{
	struct rec_head h;
	const char **f[NFIELDS] = { &e->info.name, &e->info.ns, &e->info.id,
	    &e->info.type, &e->info.from, &e->info.to };
	const char *p = e->buf;
	int i;

	if (l->nrec == 0)
		return (0);
	sg_bq_copyout(l->q, 0, &h, sizeof(h));
	sg_bq_copyout(l->q, sizeof(h), e->buf, h.size);
	sg_bq_consume(l->q, sizeof(h) + h.size);
	l->nrec--;
	e->end = h.end;
	e->cut = h.cut;
	e->bounce = h.bounce;
	e->info.kind = (enum sg_stanza_kind)h.kind;
	for (i = 0; i < NFIELDS; i++) {
		*f[i] = (h.present & (1u << i)) ? p : NULL;
		p += strlen(p) + 1;
	}
	return (1);
}

void
sg_ledger_trim(struct sg_ledger *l)
{

	sg_bq_trim(l->q);
}
