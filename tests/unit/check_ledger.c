#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ledger.h"
#include "suites.h"

/* Stanza i: its id is "m<i>", every other one has no type. */
static void
info_of(unsigned i, char *id, size_t idlen, struct sg_stanza_info *st)
{

	snprintf(id, idlen, "m%u", i);
	st->kind = SG_STANZA_MESSAGE;
	st->name = "message";
	st->ns = "jabber:client";
	st->id = id;
	st->type = i % 2 ? NULL : "chat";
	st->from = NULL;
	st->to = "juliet@example.com";
	st->packed = NULL;
	st->packed_len = 0;
}

static void
push(struct sg_ledger *l, unsigned i)
{
	struct sg_stanza_info st;
	char id[32];

	info_of(i, id, sizeof(id), &st);
	ck_assert_int_eq(sg_ledger_push(l, (uint64_t)i * 100 + 7,
	    (uint64_t)(i + 1) * 100, &st, i % 5 == 0), 0);
}

/* The next record is stanza i, every field as pushed. */
static void
expect(struct sg_ledger *l, struct sg_ledger_entry *e, unsigned i)
{
	char id[32];

	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	snprintf(id, sizeof(id), "m%u", i);
	ck_assert_uint_eq(e->start, (uint64_t)i * 100 + 7);
	ck_assert_uint_eq(e->end, (uint64_t)(i + 1) * 100);
	ck_assert_int_eq(e->bounce, i % 5 == 0);
	ck_assert_int_eq(e->cut, 0);
	ck_assert_int_eq(e->info.kind, SG_STANZA_MESSAGE);
	ck_assert_str_eq(e->info.name, "message");
	ck_assert_str_eq(e->info.ns, "jabber:client");
	ck_assert_str_eq(e->info.id, id);
	if (i % 2)
		ck_assert_ptr_null(e->info.type);
	else
		ck_assert_str_eq(e->info.type, "chat");
	ck_assert_ptr_null(e->info.from);
	ck_assert_str_eq(e->info.to, "juliet@example.com");
}

START_TEST(test_ledger_empty)
{
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));

	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	sg_ledger_written(l, 1000);
	sg_ledger_trim(l);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	free(e);
	sg_ledger_free(l);
	sg_ledger_free(NULL);
}
END_TEST

/*
 * Pushed and written in steps that never line up with the ring's size:
 * the ring wraps around and grows while wrapped, and what is left comes
 * out in order, whole.
 */
START_TEST(test_ledger_ring_wraps_and_grows)
{
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	unsigned pushed = 0, gone = 0, round, i;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < 7 + round % 13; i++)
			push(l, pushed++);
		gone += 5 + round % 11;
		if (gone > pushed)
			gone = pushed;
		/* Mid-stanza: the one it cuts into stays. */
		sg_ledger_written(l, (uint64_t)gone * 100 + 50);
	}
	ck_assert_uint_gt(pushed - gone, 100);
	for (i = gone; i < pushed; i++)
		expect(l, e, i);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	free(e);
	sg_ledger_free(l);
}
END_TEST

/* Thousands of records reclaimed at once, then the ledger is reused. */
START_TEST(test_ledger_reclaim_many_then_reuse)
{
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	unsigned i;

	for (i = 0; i < 5000; i++)
		push(l, i);
	sg_ledger_written(l, 1000 * 100);
	for (i = 1000; i < 5000; i++)
		expect(l, e, i);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	sg_ledger_trim(l);
	for (i = 0; i < 3; i++)
		push(l, i);
	/* Trim keeps records that are still there. */
	sg_ledger_trim(l);
	for (i = 0; i < 3; i++)
		expect(l, e, i);
	sg_ledger_written(l, 1000);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	free(e);
	sg_ledger_free(l);
}
END_TEST

/* A value over the limit is cut and marked; absent and empty differ. */
START_TEST(test_ledger_cut_and_absent)
{
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	struct sg_stanza_info st = { SG_STANZA_IQ, "iq", "jabber:server",
	    NULL, "get", "", NULL, NULL, 0 };
	char *big = malloc(5000);

	memset(big, 'i', 4999);
	big[4999] = '\0';
	st.id = big;
	ck_assert_int_eq(sg_ledger_push(l, 0, 10, &st, 0), 0);
	st.id = NULL;
	ck_assert_int_eq(sg_ledger_push(l, 10, 20, &st, 1), 0);
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_int_eq(e->cut, 1);
	ck_assert_uint_eq(strlen(e->info.id), SG_LEDGER_MAX_VALUE);
	ck_assert_int_eq(memcmp(e->info.id, big, SG_LEDGER_MAX_VALUE), 0);
	ck_assert_str_eq(e->info.type, "get");
	ck_assert_str_eq(e->info.from, "");
	ck_assert_ptr_null(e->info.to);
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_int_eq(e->cut, 0);
	ck_assert_int_eq(e->bounce, 1);
	ck_assert_uint_eq(e->end, 20);
	ck_assert_int_eq(e->info.kind, SG_STANZA_IQ);
	ck_assert_str_eq(e->info.name, "iq");
	ck_assert_str_eq(e->info.ns, "jabber:server");
	ck_assert_ptr_null(e->info.id);
	ck_assert_str_eq(e->info.from, "");
	free(big);
	free(e);
	sg_ledger_free(l);
}
END_TEST

/*
 * A packed block is taken as it is; one too long to hold only uncut
 * strings is not, and its long value is cut as without a block.
 */
START_TEST(test_ledger_packed_block)
{
	static const char block[] = "presence\0jabber:client\0p1\0"
	    "romeo@example.net";
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	struct sg_stanza_info st = { SG_STANZA_PRESENCE, block, block + 9,
	    block + 23, NULL, block + 26, NULL, block, sizeof(block) };
	char *big = malloc(3000);

	ck_assert_int_eq(sg_ledger_push(l, 40, 50, &st, 0), 0);
	memset(big, 'f', 2999);
	big[2999] = '\0';
	st.from = big;
	st.packed = big;
	st.packed_len = 3000;
	ck_assert_int_eq(sg_ledger_push(l, 50, 60, &st, 0), 0);
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_int_eq(e->cut, 0);
	ck_assert_str_eq(e->info.name, "presence");
	ck_assert_str_eq(e->info.ns, "jabber:client");
	ck_assert_str_eq(e->info.id, "p1");
	ck_assert_ptr_null(e->info.type);
	ck_assert_str_eq(e->info.from, "romeo@example.net");
	ck_assert_ptr_null(e->info.to);
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_int_eq(e->cut, 1);
	ck_assert_uint_eq(strlen(e->info.from), SG_LEDGER_MAX_VALUE);
	ck_assert_str_eq(e->info.id, "p1");
	free(big);
	free(e);
	sg_ledger_free(l);
}
END_TEST

struct taken {
	unsigned n;
	char ids[64][8];
	uint64_t starts[64];
};

static void
note_taken(void *arg, const struct sg_ledger_entry *e)
{
	struct taken *t = arg;

	ck_assert_uint_lt(t->n, 64);
	snprintf(t->ids[t->n], sizeof(t->ids[0]), "%s", e->info.id);
	t->starts[t->n++] = e->start;
}

/* The records after a cut, oldest first; the rest stay, whole. */
START_TEST(test_ledger_take_after)
{
	struct sg_ledger *l = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	struct taken t = { 0 };
	unsigned i;

	sg_ledger_take_after(l, 0, e, note_taken, &t);
	ck_assert_uint_eq(t.n, 0);
	for (i = 0; i < 40; i++)
		push(l, i);
	sg_ledger_take_after(l, 3750, e, note_taken, &t);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.ids[0], "m37");
	ck_assert_uint_eq(t.starts[0], 3707);
	ck_assert_str_eq(t.ids[2], "m39");
	ck_assert_uint_eq(sg_ledger_count(l), 37);
	/* Pushed again after the cut: the strings follow the rest. */
	push(l, 37);
	sg_ledger_written(l, 350);
	sg_ledger_drop(l, 2);
	ck_assert_uint_eq(sg_ledger_count(l), 33);
	expect(l, e, 5);
	t.n = 0;
	sg_ledger_take_after(l, 0, e, note_taken, &t);
	ck_assert_uint_eq(t.n, 32);
	ck_assert_str_eq(t.ids[0], "m6");
	ck_assert_str_eq(t.ids[31], "m37");
	ck_assert_uint_eq(sg_ledger_count(l), 0);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	free(e);
	sg_ledger_free(l);
}
END_TEST

/*
 * Records moved to another ledger keep every field, the cut mark too,
 * their offsets lowered; moved back, they follow what stayed.
 */
START_TEST(test_ledger_move_after)
{
	struct sg_ledger *l = sg_ledger_new(), *m = sg_ledger_new();
	struct sg_ledger_entry *e = malloc(sizeof(*e));
	struct sg_stanza_info st = { SG_STANZA_IQ, "iq", "jabber:server",
	    NULL, "get", NULL, NULL, NULL, 0 };
	char *big = malloc(2000);
	unsigned i;

	ck_assert_int_eq(sg_ledger_move_after(m, l, 0, 0), 0);
	for (i = 0; i < 20; i++)
		push(l, i);
	memset(big, 'c', 1999);
	big[1999] = '\0';
	st.id = big;
	ck_assert_int_eq(sg_ledger_push(l, 2000, 2100, &st, 0), 0);
	ck_assert_int_eq(sg_ledger_move_after(m, l, 1850, 500), 0);
	ck_assert_uint_eq(sg_ledger_count(l), 18);
	ck_assert_uint_eq(sg_ledger_count(m), 3);
	ck_assert_int_eq(sg_ledger_shift(m, e), 1);
	ck_assert_str_eq(e->info.id, "m18");
	ck_assert_uint_eq(e->start, 1807 - 500);
	ck_assert_uint_eq(e->end, 1900 - 500);
	ck_assert_int_eq(sg_ledger_move_after(l, m, 0, 0), 0);
	ck_assert_uint_eq(sg_ledger_count(m), 0);
	for (i = 0; i < 18; i++)
		expect(l, e, i);
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_str_eq(e->info.id, "m19");
	ck_assert_int_eq(sg_ledger_shift(l, e), 1);
	ck_assert_int_eq(e->cut, 1);
	ck_assert_uint_eq(e->start, 1500);
	ck_assert_uint_eq(strlen(e->info.id), SG_LEDGER_MAX_VALUE);
	ck_assert_int_eq(sg_ledger_shift(l, e), 0);
	free(big);
	free(e);
	sg_ledger_free(l);
	sg_ledger_free(m);
}
END_TEST

/* Freed with records in it: no leak (check-san). */
START_TEST(test_ledger_free_with_records)
{
	struct sg_ledger *l = sg_ledger_new();
	unsigned i;

	for (i = 0; i < 300; i++)
		push(l, i);
	sg_ledger_free(l);
}
END_TEST

Suite *
sg_suite_ledger(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");

	tcase_add_test(tc, test_ledger_empty);
	tcase_add_test(tc, test_ledger_take_after);
	tcase_add_test(tc, test_ledger_ring_wraps_and_grows);
	tcase_add_test(tc, test_ledger_reclaim_many_then_reuse);
	tcase_add_test(tc, test_ledger_cut_and_absent);
	tcase_add_test(tc, test_ledger_packed_block);
	tcase_add_test(tc, test_ledger_move_after);
	tcase_add_test(tc, test_ledger_free_with_records);
	suite_add_tcase(s, tc);
	return (s);
}
