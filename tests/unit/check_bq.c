#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bq.h"
#include "bqpriv.h"
#include "suites.h"

/* Read the whole queue through sg_bq_peek, as writev would. */
static size_t
drain_peek(struct sg_bq *q, char *out, size_t max)
{
	struct iovec iov[4];
	size_t n = 0;
	int i, cnt;

	while ((cnt = sg_bq_peek(q, iov, 4)) > 0) {
		for (i = 0; i < cnt; i++) {
			ck_assert_uint_le(n + iov[i].iov_len, max);
			memcpy(out + n, iov[i].iov_base, iov[i].iov_len);
			n += iov[i].iov_len;
			sg_bq_consume(q, iov[i].iov_len);
		}
	}
	return (n);
}

START_TEST(test_bq_empty)
{
	struct sg_bq *q = sg_bq_new();
	struct iovec iov[1];

	ck_assert_uint_eq(sg_bq_len(q), 0);
	ck_assert_int_eq(sg_bq_peek(q, iov, 1), 0);
	sg_bq_consume(q, 10);
	sg_bq_truncate(q, 0);
	ck_assert_uint_eq(sg_bq_len(q), 0);
	sg_bq_free(q);
	sg_bq_free(NULL);
}
END_TEST

/* Appends of every size across chunk edges come out in order. */
START_TEST(test_bq_order_across_chunks)
{
	struct sg_bq *q = sg_bq_new();
	size_t total = 200 * 1024, done = 0, step = 1;
	char *in = malloc(total), *out = malloc(total);
	size_t i;

	for (i = 0; i < total; i++)
		in[i] = (char)(i * 7 + i / 251);
	while (done < total) {
		size_t n = step < total - done ? step : total - done;

		ck_assert_int_eq(sg_bq_append(q, in + done, n), 0);
		done += n;
		step = step * 3 + 1;
	}
	ck_assert_uint_eq(sg_bq_len(q), total);
	ck_assert_uint_eq(drain_peek(q, out, total), total);
	ck_assert_int_eq(memcmp(in, out, total), 0);
	ck_assert_uint_eq(sg_bq_len(q), 0);
	free(in);
	free(out);
	sg_bq_free(q);
}
END_TEST

START_TEST(test_bq_partial_consume_and_copyout)
{
	struct sg_bq *q = sg_bq_new();
	char big[40000], out[64];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	sg_bq_append(q, "hello ", 6);
	sg_bq_append(q, big, sizeof(big));
	sg_bq_consume(q, 3);
	ck_assert_uint_eq(sg_bq_copyout(q, 0, out, 5), 5);
	ck_assert_int_eq(memcmp(out, "lo ab", 5), 0);
	/* Across the edge between the small and the large chunk. */
	ck_assert_uint_eq(sg_bq_copyout(q, 16380, out, 8), 8);
	ck_assert_int_eq(memcmp(out, big + 16377, 8), 0);
	ck_assert_uint_eq(sg_bq_copyout(q, sizeof(big) + 1, out, 8), 2);
	sg_bq_free(q);
}
END_TEST

START_TEST(test_bq_truncate_keeps_head)
{
	struct sg_bq *q = sg_bq_new();
	char big[50000], out[50000];

	memset(big, 'x', sizeof(big));
	sg_bq_append(q, "abc", 3);
	sg_bq_append(q, big, sizeof(big));
	sg_bq_truncate(q, 20000);
	ck_assert_uint_eq(sg_bq_len(q), 20000);
	sg_bq_append(q, "END", 3);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), 20003);
	ck_assert_int_eq(memcmp(out, "abcxx", 5), 0);
	ck_assert_int_eq(memcmp(out + 20000, "END", 3), 0);
	sg_bq_append(q, "again", 5);
	sg_bq_truncate(q, 0);
	ck_assert_uint_eq(sg_bq_len(q), 0);
	sg_bq_append(q, "z", 1);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), 1);
	sg_bq_free(q);
}
END_TEST

/* A queue that fills and drains again reuses its chunk: no new memory. */
START_TEST(test_bq_spare_chunk_reused)
{
	struct sg_bq *q = sg_bq_new();
	char buf[6000], out[6000];
	size_t held;
	int i;

	memset(buf, 's', sizeof(buf));
	ck_assert_uint_eq(sg_bq_held(q), 0);
	ck_assert_int_eq(sg_bq_append(q, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), sizeof(buf));
	held = sg_bq_held(q);
	ck_assert_uint_gt(held, 0);
	for (i = 0; i < 100; i++) {
		buf[0] = (char)i;
		ck_assert_int_eq(sg_bq_append(q, buf, sizeof(buf)), 0);
		ck_assert_uint_eq(sg_bq_held(q), held);
		ck_assert_uint_eq(drain_peek(q, out, sizeof(out)),
		    sizeof(buf));
		ck_assert_int_eq(out[0], (char)i);
		ck_assert_uint_eq(sg_bq_held(q), held);
	}
	sg_bq_trim(q);
	ck_assert_uint_eq(sg_bq_held(q), 0);
	sg_bq_free(q);
}
END_TEST

/* Trim keeps the bytes; clear and truncate keep at most one spare. */
START_TEST(test_bq_trim_keeps_bytes)
{
	struct sg_bq *q = sg_bq_new();
	char big[70000], out[70000];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* Many full chunks, then dropped: one of them stays, as the spare. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(sg_bq_append(q, big, 7000), 0);
	sg_bq_clear(q);
	ck_assert_uint_le(sg_bq_held(q), 16 * 1024);
	ck_assert_int_eq(sg_bq_append(q, big, 100), 0);
	sg_bq_trim(q);
	ck_assert_uint_eq(sg_bq_len(q), 100);
	ck_assert_uint_ge(sg_bq_held(q), 100);
	ck_assert_int_eq(sg_bq_append(q, big + 100, sizeof(big) - 100), 0);
	sg_bq_truncate(q, 30000);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), 30000);
	ck_assert_int_eq(memcmp(out, big, 30000), 0);
	ck_assert_uint_le(sg_bq_held(q), 16 * 1024);
	/* The spare is given back by sg_bq_free too: ASan sees any leak. */
	sg_bq_free(q);
}
END_TEST

/* A small first chunk: a queue that carried a header holds little. */
START_TEST(test_bq_small_first_chunk)
{
	struct sg_bq *q = sg_bq_new();
	static char big[5000], out[5000];

	ck_assert_int_eq(sg_bq_append(q, "<stream:stream>", 15), 0);
	ck_assert_uint_le(sg_bq_held(q), 1024);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), 15);
	/* Kept as the spare, and taken again for the next bytes. */
	ck_assert_uint_le(sg_bq_held(q), 1024);
	ck_assert_uint_gt(sg_bq_held(q), 0);
	ck_assert_int_eq(sg_bq_append(q, "<presence/>", 11), 0);
	ck_assert_uint_le(sg_bq_held(q), 1024);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), 11);
	ck_assert_int_eq(memcmp(out, "<presence/>", 11), 0);
	/* A full chunk replaces it as the spare: one spare at a time. */
	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(sg_bq_append(q, big, sizeof(big)), 0);
	ck_assert_uint_eq(drain_peek(q, out, sizeof(out)), sizeof(big));
	ck_assert_uint_eq(sg_bq_held(q), 16 * 1024);
	sg_bq_trim(q);
	ck_assert_uint_eq(sg_bq_held(q), 0);
	sg_bq_free(q);
}
END_TEST

Suite *
sg_suite_bq(void)
{
	Suite *s = suite_create("bq");
	TCase *tc = tcase_create("bq");

	tcase_add_test(tc, test_bq_empty);
	tcase_add_test(tc, test_bq_order_across_chunks);
	tcase_add_test(tc, test_bq_partial_consume_and_copyout);
	tcase_add_test(tc, test_bq_truncate_keeps_head);
	tcase_add_test(tc, test_bq_spare_chunk_reused);
	tcase_add_test(tc, test_bq_trim_keeps_bytes);
	tcase_add_test(tc, test_bq_small_first_chunk);
	suite_add_tcase(s, tc);
	return (s);
}
