/*
 * Totals.
 *
 * Owns the counters; calls log, and reads lib/session's statistics.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "session.h"
#include "stats.h"

struct sg_stats {
	struct sg_stats_counts c;
};

/*
 * Keys of the per-reason counts: log keys are static strings of [a-z0-9_],
 * so the reason names cannot be used as they are ("client-vanished").
 */
static const char *const reason_key[] = {
	[SG_REASON_NONE] = "close_none",
	[SG_REASON_CLIENT] = "close_client",
	[SG_REASON_SERVER] = "close_server",
	[SG_REASON_IDLE] = "close_idle",
	[SG_REASON_CLIENT_VANISHED] = "close_client_vanished",
	[SG_REASON_SERVER_VANISHED] = "close_server_vanished",
	[SG_REASON_STANZA_TIMEOUT] = "close_stanza_timeout",
	[SG_REASON_WRITE_TIMEOUT] = "close_write_timeout",
	[SG_REASON_SHUTDOWN] = "close_shutdown",
	[SG_REASON_LIMIT] = "close_limit",
	[SG_REASON_BAD_XML] = "close_bad_xml",
	[SG_REASON_UPSTREAM_UNREACHABLE] = "close_upstream_unreachable",
	[SG_REASON_INTERNAL] = "close_internal"
};
_Static_assert(sizeof(reason_key) / sizeof(reason_key[0]) ==
    SG_REASON_COUNT, "one key per close reason");

struct sg_stats *
sg_stats_new(void)
{

	return (calloc(1, sizeof(struct sg_stats)));
}

void
sg_stats_free(struct sg_stats *st)
{

	free(st);
}

void
sg_stats_accepted(struct sg_stats *st)
{

	st->c.accepted++;
}

void
sg_stats_refused(struct sg_stats *st)
{

	st->c.refused++;
}

void
sg_stats_ended(struct sg_stats *st, const struct sg_session_stats *ss)
{
	int i;

	st->c.ended++;
	if ((unsigned)ss->reason < SG_REASON_COUNT)
		st->c.by_reason[ss->reason]++;
	if (ss->forced)
		st->c.forced++;
	st->c.sm_handback += ss->sm_handback != 0;
	st->c.handed_back += ss->handed_back;
	st->c.s_unacked += ss->s_unacked;
	for (i = 0; i < 2; i++) {
		st->c.bytes_in[i] += ss->bytes_in[i];
		st->c.stanzas[i] += ss->stanzas_in[i];
		st->c.bounced += ss->bounced[i];
		st->c.undeliverable += ss->undeliverable[i];
		st->c.truncated += ss->truncated[i];
	}
}

/* Sessions accepted and not yet ended. */
static uint64_t
active(const struct sg_stats *st)
{

	return (st->c.accepted - st->c.ended);
}

/* The fields of a totals line, for one process or the whole daemon. */
static void
totals_fields(struct sg_log_rec *r, const struct sg_stats *st,
    size_t closing)
{
	int i;

	sg_log_u64(r, "active", active(st));
	sg_log_u64(r, "accepted", st->c.accepted);
	sg_log_u64(r, "closing", closing);
	sg_log_u64(r, "refused", st->c.refused);
	sg_log_u64(r, "bytes_c2s", st->c.bytes_in[SG_CLIENT]);
	sg_log_u64(r, "bytes_s2c", st->c.bytes_in[SG_SERVER]);
	sg_log_u64(r, "stanzas_c2s", st->c.stanzas[SG_CLIENT]);
	sg_log_u64(r, "stanzas_s2c", st->c.stanzas[SG_SERVER]);
	sg_log_u64(r, "stanzas", st->c.stanzas[0] + st->c.stanzas[1]);
	sg_log_u64(r, "bounced", st->c.bounced);
	sg_log_u64(r, "undeliverable", st->c.undeliverable);
	sg_log_u64(r, "truncated", st->c.truncated);
	sg_log_u64(r, "sm_handback", st->c.sm_handback);
	sg_log_u64(r, "handed_back", st->c.handed_back);
	sg_log_u64(r, "s_unacked", st->c.s_unacked);
	sg_log_u64(r, "forced", st->c.forced);
	for (i = SG_REASON_NONE + 1; i < SG_REASON_COUNT; i++)
		sg_log_u64(r, reason_key[i], st->c.by_reason[i]);
}

void
sg_stats_log(const struct sg_stats *st, struct sg_log *log, size_t closing)
{
	struct sg_log_rec r;

	if (!sg_log_enabled(log, LOG_INFO))
		return;
	sg_log_begin(&r, log, LOG_INFO, "totals");
	totals_fields(&r, st, closing);
	sg_log_end(&r);
}

void
sg_stats_log_workers(const struct sg_stats *st, struct sg_log *log,
    size_t closing, unsigned workers, uint64_t restarts)
{
	struct sg_log_rec r;

	if (!sg_log_enabled(log, LOG_INFO))
		return;
	sg_log_begin(&r, log, LOG_INFO, "totals");
	totals_fields(&r, st, closing);
	sg_log_u64(&r, "workers", workers);
	sg_log_u64(&r, "restarts", restarts);
	sg_log_u64(&r, "lost", st->c.lost);
	sg_log_end(&r);
}

void
sg_stats_get(const struct sg_stats *st, struct sg_stats_counts *c)
{

	*c = st->c;
}

void
sg_stats_add(struct sg_stats *st, const struct sg_stats_counts *c)
{
	const uint64_t *from = (const uint64_t *)c;
	uint64_t *to = (uint64_t *)&st->c;
	size_t i;

	for (i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		to[i] += from[i];
}

void
sg_stats_lost(struct sg_stats *st, uint64_t n)
{

	st->c.ended += n;
	st->c.lost += n;
}

char *
sg_stats_status(const struct sg_stats *st, size_t closing, char *buf,
    size_t len)
{

	snprintf(buf, len, "sessions: %llu active, %zu closing",
	    (unsigned long long)active(st), closing);
	return (buf);
}
