/*
 * The close engine's test harness (see sessharness.h).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sessharness.h"

size_t
take_names(struct h *h)
{
	struct sg_undelivered u[4];
	size_t n, total = 0;

	while ((n = sg_session_take_undelivered(h->s, u, 4)) > 0)
		total += n;
	return (total);
}

struct sg_session_params
params(void)
{
	struct sg_session_params p;

	memset(&p, 0, sizeof(p));
	sg_tracker_limits_default(&p.limits);
	p.idle_timeout = IDLE;
	p.close_timeout = CLOSE;
	p.stanza_timeout = STANZA;
	p.policy = SG_POLICY_AUTO;
	p.high_water = 1024 * 1024;
	p.low_water = 256 * 1024;
	return (p);
}

void
write_out(struct h *h, enum sg_side side)
{
	struct sg_bq *q = sg_session_outq(h->s, side);
	size_t n = sg_bq_len(q);

	ck_assert_uint_lt(h->outlen[side] + n, sizeof(h->out[0]));
	sg_bq_copyout(q, 0, h->out[side] + h->outlen[side], n);
	h->outlen[side] += n;
	h->out[side][h->outlen[side]] = '\0';
	sg_session_on_written(h->s, side, n, h->now);
}

void
trace(struct h *h, char c, enum sg_side side)
{
	size_t n = strlen(h->trace);

	ck_assert_uint_lt(n + 3, sizeof(h->trace));
	h->trace[n] = c;
	h->trace[n + 1] = c == 'X' ? '\0' : (side == SG_CLIENT ? 'c' : 's');
	h->trace[n + 2] = '\0';
}

void
run(struct h *h)
{
	static const char letter[] = { 'W', 'S', 'P', 'R', 'X', 'U' };
	struct sg_action a[8];
	size_t i, n;
	int rounds;

	for (rounds = 0; rounds < 100; rounds++) {
		if ((n = sg_session_take_actions(h->s, a, 8)) == 0)
			return;
		for (i = 0; i < n; i++) {
			/* Writes and names are checked by what they carry. */
			if (a[i].type == SG_ACT_UNDELIVERED)
				h->undelivered += take_names(h);
			else if (a[i].type != SG_ACT_WRITE)
				trace(h, letter[a[i].type], a[i].side);
			if (a[i].type == SG_ACT_WRITE && !h->stalled[a[i].side])
				write_out(h, a[i].side);
		}
	}
	ck_abort_msg("actions never settle");
}

struct h *
h_new_with(struct sg_session_params p)
{
	struct h *h = calloc(1, sizeof(*h));

	h->now = 1000;
	h->s = sg_session_new(&p, h->now);
	ck_assert_ptr_nonnull(h->s);
	return (h);
}

void
h_free(struct h *h)
{

	sg_session_free(h->s);
	free(h);
}

void
feed(struct h *h, enum sg_side side, const char *bytes)
{

	sg_session_on_bytes(h->s, side, bytes, strlen(bytes), h->now);
	run(h);
}

void
eof(struct h *h, enum sg_side side)
{

	sg_session_on_eof(h->s, side, h->now);
	run(h);
}

void
advance(struct h *h, uint64_t ms)
{

	h->now += ms;
	if (sg_session_deadline(h->s) <= h->now)
		sg_session_on_timer(h->s, h->now);
	run(h);
}

void
unstall(struct h *h, enum sg_side side)
{

	h->stalled[side] = 0;
	write_out(h, side);
	run(h);
}

/* Both streams open and the initial bytes consumed. */
struct h *
opened_with(struct sg_session_params p)
{
	struct h *h = h_new_with(p);

	feed(h, SG_CLIENT, C_HDR);
	feed(h, SG_SERVER, S_HDR);
	EXPECT_OUT(h, SG_SERVER, C_HDR);
	EXPECT_OUT(h, SG_CLIENT, S_HDR);
	EXPECT_TRACE(h, "");
	return (h);
}

struct h *
opened(void)
{

	return (opened_with(params()));
}

const struct sg_session_stats *
stats(struct h *h)
{

	return (sg_session_stats(h->s));
}

/* Both sides have answered and gone: the session ends. */
void
finish(struct h *h)
{

	eof(h, SG_CLIENT);
	eof(h, SG_SERVER);
	EXPECT_TRACE(h, "X");
}
