/*
 * Session log lines.
 *
 * Owns nothing; calls log, addr and tls (the TLS description), reads
 * lib/session's statistics and takes its undelivered stanzas.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "session.h"
#include "sesslog.h"
#include "tls.h"

/* Room for the undeliverable stanzas the session names, escaped. */
#define LIST_MAX	(SG_UNDELIVERABLE_NAMED * 320)

/* The client's TLS, if any. */
static void
log_tls(struct sg_log_rec *r, const struct sg_tls_info *tls)
{

	if (tls == NULL)
		return;
	sg_log_str(r, "tls", tls->version);
	sg_log_str(r, "cipher", tls->cipher);
	if (tls->sni[0] != '\0') {
		sg_log_str(r, "sni", tls->sni);
		if (!tls->sni_match)
			sg_log_str(r, "sni_match", "no");
	}
	if (tls->alpn[0] != '\0')
		sg_log_str(r, "alpn", tls->alpn);
}

/* Who: the client, and the balancer it came through. */
static void
log_client(struct sg_log_rec *r, const struct sg_sesslog *sl)
{
	char a[SG_ADDR_STRLEN];

	sg_log_str(r, "client", sg_addr_format(sl->client, a, sizeof(a)));
	if (sl->via != NULL)
		sg_log_str(r, "via", sg_addr_format(sl->via, a, sizeof(a)));
}

void
sg_sesslog_start(struct sg_log *log, const struct sg_sesslog *sl)
{
	struct sg_log_rec r;

	if (!sg_log_enabled(log, LOG_INFO))
		return;
	sg_log_begin(&r, log, LOG_INFO, "session-start");
	sg_log_u64(&r, "session", sl->id);
	sg_log_str(&r, "listener", sl->listener);
	log_client(&r, sl);
	log_tls(&r, sl->tls);
	sg_log_end(&r);
}

/*
 * Append s, %XX-escaping what would make the list ambiguous: its
 * separators ' ' and ':', '%' itself, and control bytes.  sg_log escapes
 * the whole value again for the log format; this only keeps items apart.
 */
static size_t
list_put(char *buf, size_t len, size_t off, const char *s, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;
	size_t i;

	for (i = 0; i < max && s[i] != '\0' && off + 4 < len; i++) {
		ch = (unsigned char)s[i];
		if (ch == ' ' || ch == ':' || ch == '%' || ch < 0x20 ||
		    ch == 0x7f) {
			buf[off++] = '%';
			buf[off++] = hex[ch >> 4];
			buf[off++] = hex[ch & 15];
		} else
			buf[off++] = (char)ch;
	}
	buf[off] = '\0';
	return (off);
}

static size_t
list_sep(char *buf, size_t len, size_t off, char sep)
{

	if (off + 1 < len) {
		buf[off++] = sep;
		buf[off] = '\0';
	}
	return (off);
}

/*
 * "c2s:message:id1:chat s2c:iq:id7:set", and "..." if fewer than total
 * are named: the undeliverable stanzas, or those handed back.
 */
static void
stanza_list(const struct sg_undelivered *named, size_t nnamed,
    uint64_t total, char *buf, size_t len)
{
	const struct sg_undelivered *u;
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < nnamed && i < SG_UNDELIVERABLE_NAMED; i++) {
		u = &named[i];
		if (i > 0)
			off = list_sep(buf, len, off, ' ');
		off = list_put(buf, len, off,
		    u->from == SG_CLIENT ? "c2s" : "s2c", 3);
		off = list_sep(buf, len, off, ':');
		off = list_put(buf, len, off, u->name, sizeof(u->name));
		off = list_sep(buf, len, off, ':');
		off = list_put(buf, len, off, u->id, sizeof(u->id));
		off = list_sep(buf, len, off, ':');
		off = list_put(buf, len, off, u->type, sizeof(u->type));
	}
	if (total > nnamed && off + 5 < len)
		strcpy(buf + off, off > 0 ? " ..." : "...");
}

static const char *
sm_name(const struct sg_session_stats *ss)
{

	if (ss->sm_resumable)
		return ("resumable");
	if (ss->sm)
		return ("client");
	if (ss->sm_handback)
		return ("handback");
	return (ss->sm_refused ? "refused" : "no");
}

/* The per-side counts, as c_<what> and s_<what>. */
static void
log_sides(struct sg_log_rec *r, const struct sg_session_stats *ss)
{

	sg_log_str(r, "c_closed", sg_answer_name(ss->answer[SG_CLIENT]));
	sg_log_str(r, "s_closed", sg_answer_name(ss->answer[SG_SERVER]));
	sg_log_u64(r, "c_bytes_in", ss->bytes_in[SG_CLIENT]);
	sg_log_u64(r, "c_bytes_out", ss->bytes_out[SG_CLIENT]);
	sg_log_u64(r, "s_bytes_in", ss->bytes_in[SG_SERVER]);
	sg_log_u64(r, "s_bytes_out", ss->bytes_out[SG_SERVER]);
	sg_log_u64(r, "c_stanzas", ss->stanzas_in[SG_CLIENT]);
	sg_log_u64(r, "s_stanzas", ss->stanzas_in[SG_SERVER]);
	sg_log_u64(r, "bounced_to_c", ss->bounced[SG_CLIENT]);
	sg_log_u64(r, "bounced_to_s", ss->bounced[SG_SERVER]);
	sg_log_u64(r, "undeliverable_c", ss->undeliverable[SG_CLIENT]);
	sg_log_u64(r, "undeliverable_s", ss->undeliverable[SG_SERVER]);
	sg_log_u64(r, "truncated", ss->truncated[SG_CLIENT] +
	    ss->truncated[SG_SERVER]);
}

/* Only what is there: stream errors received, socket errors seen. */
static void
log_errors(struct sg_log_rec *r, const struct sg_sesslog *sl,
    const struct sg_session_stats *ss)
{
	size_t n = sizeof(ss->error_in[0]);

	if (ss->error_in[SG_CLIENT][0] != '\0')
		sg_log_strn(r, "c_error", ss->error_in[SG_CLIENT],
		    strnlen(ss->error_in[SG_CLIENT], n));
	if (ss->error_in[SG_SERVER][0] != '\0')
		sg_log_strn(r, "s_error", ss->error_in[SG_SERVER],
		    strnlen(ss->error_in[SG_SERVER], n));
	if (sl->sockerr[SG_CLIENT] != 0)
		sg_log_str(r, "c_sockerr", strerror(sl->sockerr[SG_CLIENT]));
	if (sl->sockerr[SG_SERVER] != 0)
		sg_log_str(r, "s_sockerr", strerror(sl->sockerr[SG_SERVER]));
}

void
sg_sesslog_end(struct sg_log *log, const struct sg_sesslog *sl,
    const struct sg_session_stats *ss)
{
	struct sg_log_rec r;
	char a[SG_ADDR_STRLEN], list[LIST_MAX];

	if (!sg_log_enabled(log, LOG_INFO))
		return;
	sg_log_begin(&r, log, LOG_INFO, "session-end");
	sg_log_u64(&r, "session", sl->id);
	sg_log_str(&r, "listener", sl->listener);
	log_client(&r, sl);
	sg_log_str(&r, "upstream", sg_addr_format(sl->upstream, a,
	    sizeof(a)));
	sg_log_ms(&r, "duration", sl->duration_ms);
	log_tls(&r, sl->tls);
	sg_log_str(&r, "mode", ss->opaque ? "opaque" : "xml");
	sg_log_str(&r, "close", sg_close_reason_name(ss->reason));
	log_sides(&r, ss);
	sg_log_str(&r, "sm", sm_name(ss));
	if (ss->sm_handback) {
		sg_log_u64(&r, "handed_back", ss->handed_back);
		sg_log_u64(&r, "s_unacked", ss->s_unacked);
	}
	if (ss->forced)
		sg_log_str(&r, "forced", "yes");
	log_errors(&r, sl, ss);
	if (ss->nnamed > 0) {
		stanza_list(ss->named, ss->nnamed, ss->undeliverable[0] +
		    ss->undeliverable[1], list, sizeof(list));
		sg_log_str(&r, "undeliverable_list", list);
	}
	if (ss->nhanded > 0) {
		stanza_list(ss->handed, ss->nhanded, ss->handed_back, list,
		    sizeof(list));
		sg_log_str(&r, "handed_back_list", list);
	}
	sg_log_end(&r);
}

/* One event=undeliverable line. */
static void
log_undelivered(struct sg_log *log, uint64_t id,
    const struct sg_undelivered *u)
{
	struct sg_log_rec r;

	if (!sg_log_enabled(log, LOG_NOTICE))
		return;
	sg_log_begin(&r, log, LOG_NOTICE, "undeliverable");
	sg_log_u64(&r, "session", id);
	sg_log_str(&r, "dir", u->from == SG_CLIENT ? "c2s" : "s2c");
	sg_log_strn(&r, "name", u->name, strnlen(u->name, sizeof(u->name)));
	sg_log_strn(&r, "id", u->id, strnlen(u->id, sizeof(u->id)));
	sg_log_strn(&r, "type", u->type, strnlen(u->type, sizeof(u->type)));
	sg_log_end(&r);
}

void
sg_sesslog_undelivered(struct sg_log *log, uint64_t id,
    struct sg_session *s)
{
	struct sg_undelivered u[8];
	size_t i, n;

	while ((n = sg_session_take_undelivered(s, u, 8)) > 0)
		for (i = 0; i < n; i++)
			log_undelivered(log, id, &u[i]);
}

void
sg_sesslog_tls_error(struct sg_log *log, uint64_t id, enum sg_side side,
    const char *why)
{
	struct sg_log_rec r;

	if (why[0] == '\0' || !sg_log_enabled(log, LOG_NOTICE))
		return;
	sg_log_begin(&r, log, LOG_NOTICE, "tls-error");
	sg_log_u64(&r, "session", id);
	sg_log_str(&r, "side", side == SG_CLIENT ? "client" : "upstream");
	sg_log_str(&r, "reason", why);
	sg_log_end(&r);
}
