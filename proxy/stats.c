/*
 * Totals.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "session.h"
#include "stats.h"

struct sg_stats {
	uint64_t accepted;
	uint64_t refused;
	uint64_t ended;
	uint64_t forced;
	uint64_t by_reason[SG_REASON_COUNT];
	uint64_t bytes_in[2];		/* read from each side */
	uint64_t stanzas[2];
	uint64_t bounced;
	uint64_t undeliverable;
	uint64_t truncated;
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

	st->accepted++;
}

void
sg_stats_refused(struct sg_stats *st)
{

	st->refused++;
}

void
sg_stats_ended(struct sg_stats *st, const struct sg_session_stats *ss)
{
	int i;

	st->ended++;
	if ((unsigned)ss->reason < SG_REASON_COUNT)
		st->by_reason[ss->reason]++;
	if (ss->forced)
		st->forced++;
	for (i = 0; i < 2; i++) {
		st->bytes_in[i] += ss->bytes_in[i];
		st->stanzas[i] += ss->stanzas_in[i];
		st->bounced += ss->bounced[i];
		st->undeliverable += ss->undeliverable[i];
		st->truncated += ss->truncated[i];
	}
}

uint64_t
sg_stats_active(const struct sg_stats *st)
{

	return (st->accepted - st->ended);
}

void
sg_stats_log(const struct sg_stats *st, struct sg_log *log, size_t closing)
{
	struct sg_log_rec r;
	int i;

	if (!sg_log_enabled(log, LOG_INFO))
		return;
	sg_log_begin(&r, log, LOG_INFO, "totals");
	sg_log_u64(&r, "active", sg_stats_active(st));
	sg_log_u64(&r, "accepted", st->accepted);
	sg_log_u64(&r, "closing", closing);
	sg_log_u64(&r, "refused", st->refused);
	sg_log_u64(&r, "bytes_c2s", st->bytes_in[SG_CLIENT]);
	sg_log_u64(&r, "bytes_s2c", st->bytes_in[SG_SERVER]);
	sg_log_u64(&r, "stanzas_c2s", st->stanzas[SG_CLIENT]);
	sg_log_u64(&r, "stanzas_s2c", st->stanzas[SG_SERVER]);
	sg_log_u64(&r, "stanzas", st->stanzas[0] + st->stanzas[1]);
	sg_log_u64(&r, "bounced", st->bounced);
	sg_log_u64(&r, "undeliverable", st->undeliverable);
	sg_log_u64(&r, "truncated", st->truncated);
	sg_log_u64(&r, "forced", st->forced);
	for (i = SG_REASON_NONE + 1; i < SG_REASON_COUNT; i++)
		sg_log_u64(&r, reason_key[i], st->by_reason[i]);
	sg_log_end(&r);
}

char *
sg_stats_status(const struct sg_stats *st, size_t closing, char *buf,
    size_t len)
{

	snprintf(buf, len, "sessions: %llu active, %zu closing",
	    (unsigned long long)sg_stats_active(st), closing);
	return (buf);
}
