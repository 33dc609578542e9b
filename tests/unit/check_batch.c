/*
 * proxy/batch.c: items run once each at the end of a loop's turn, each
 * with its owner; an item that keeps queuing itself is bounded.
 */
#include <string.h>

#include <check.h>
#include <ev.h>

#include "batch.h"
#include "suites.h"

/* An owner: how often it ran, and whether it queues itself again. */
struct owner {
	struct sg_batch *b;
	struct sg_batch_item item;
	int runs;
	int again;
};

static void
run_owner(void *arg, uint64_t now)
{
	struct owner *o = arg;

	(void)now;
	ck_assert(!o->item.queued);
	o->runs++;
	if (o->again)
		sg_batch_add(o->b, &o->item, o);
}

static void
owners_init(struct sg_batch *b, struct owner *o, int n)
{
	int i;

	sg_batch_init(b, run_owner);
	memset(o, 0, sizeof(*o) * (size_t)n);
	for (i = 0; i < n; i++)
		o[i].b = b;
}

START_TEST(test_batch_add_is_once)
{
	struct sg_batch b;
	struct owner o[2];

	owners_init(&b, o, 2);
	sg_batch_add(&b, &o[0].item, &o[0]);
	sg_batch_add(&b, &o[0].item, &o[0]);
	sg_batch_add(&b, &o[1].item, &o[1]);
	ck_assert_uint_eq(sg_batch_len(&b), 2);
	sg_batch_remove(&b, &o[1].item);
	sg_batch_remove(&b, &o[1].item);
	ck_assert_uint_eq(sg_batch_len(&b), 1);
	ck_assert_int_eq(sg_batch_run(&b, 0), 0);
	ck_assert_int_eq(o[0].runs, 1);
	ck_assert_int_eq(o[1].runs, 0);
	ck_assert_uint_eq(sg_batch_len(&b), 0);
	ck_assert_int_eq(sg_batch_run(&b, 0), 0);
	ck_assert_int_eq(o[0].runs, 1);
}
END_TEST

START_TEST(test_batch_requeue_bounded)
{
	struct sg_batch b;
	struct owner o[3];
	int i;

	owners_init(&b, o, 3);
	o[1].again = 1;
	for (i = 0; i < 3; i++)
		sg_batch_add(&b, &o[i].item, &o[i]);
	/*
	 * Six runs at most, in the order queued, o[1] behind the others each
	 * time it queues itself again: o[0], o[1], o[2], then o[1] 3 more.
	 */
	ck_assert_int_eq(sg_batch_run(&b, 0), -1);
	ck_assert_int_eq(o[0].runs, 1);
	ck_assert_int_eq(o[2].runs, 1);
	ck_assert_int_eq(o[1].runs, 4);
	ck_assert_uint_eq(sg_batch_len(&b), 1);
	o[1].again = 0;
	ck_assert_int_eq(sg_batch_run(&b, 0), 0);
	ck_assert_int_eq(o[1].runs, 5);
}
END_TEST

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{

	(void)loop;
	(void)revents;
	*(int *)w->data = 1;
}

/*
 * The loop runs the items before it waits, and does not wait while some
 * are left: the guard timer would fire only if it did.
 */
START_TEST(test_batch_runs_before_the_loop_waits)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sg_batch b;
	struct owner o[2];
	ev_timer guard;
	int waited = 0;

	ck_assert_ptr_nonnull(loop);
	owners_init(&b, o, 2);
	sg_batch_start(&b, loop);
	sg_batch_add(&b, &o[0].item, &o[0]);
	o[1].again = 1;
	sg_batch_add(&b, &o[1].item, &o[1]);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(o[0].runs, 1);
	ck_assert_int_eq(o[1].runs, 3);
	ck_assert_uint_eq(sg_batch_len(&b), 1);
	ev_timer_init(&guard, guard_cb, 1., 0.);
	guard.data = &waited;
	ev_timer_start(loop, &guard);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(waited, 0);
	ck_assert_int_eq(o[1].runs, 5);
	o[1].again = 0;
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(o[1].runs, 6);
	ck_assert_uint_eq(sg_batch_len(&b), 0);
	ev_timer_stop(loop, &guard);
	sg_batch_stop(&b, loop);
	ck_assert(!ev_is_active(&b.prepare) && !ev_is_active(&b.again));
	ev_loop_destroy(loop);
}
END_TEST

Suite *
sg_suite_batch(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("batch");

	tcase_add_test(tc, test_batch_add_is_once);
	tcase_add_test(tc, test_batch_requeue_bounded);
	tcase_add_test(tc, test_batch_runs_before_the_loop_waits);
	suite_add_tcase(s, tc);
	return (s);
}
