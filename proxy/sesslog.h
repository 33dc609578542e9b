#ifndef SG_SESSLOG_H
#define SG_SESSLOG_H

/*
 * The two log lines of every session: event=session-start when a client is
 * accepted, event=session-end with the outcome, counts and undeliverable
 * stanzas when it is torn down.  Values a peer controls (stream error
 * conditions, stanza names, ids, types) are escaped by sg_log.
 */

#include <stdint.h>
#include <sys/socket.h>

#include "session.h"

/* Opaque types. */
struct sg_log;
struct sg_tls_info;

/* What the end line says besides the session's own stats. */
struct sg_sesslog {
	uint64_t id;
	const char *listener;
	const struct sockaddr *client;
	const struct sockaddr *via;	/* accept-proxy: the balancer, or NULL */
	const struct sockaddr *upstream;	/* the address tried last */
	uint64_t duration_ms;
	int sockerr[2];		/* last socket errno per side, 0 if none */
	const struct sg_tls_info *tls;	/* the client's TLS, or NULL */
};

/*
 * sg_sesslog_start(log, sl):
 * "event=session-start session=<id> listener=<name> client=<ip:port>",
 * "via=<ip:port>" when a balancer's PROXY header named the client, and
 * with TLS "tls=TLSv1.3 cipher=... [sni=... [sni_match=no]] [alpn=...]",
 * as the end line has them too.  Only sl's id, listener, client, via and
 * tls are read.
 */
void sg_sesslog_start(struct sg_log *log, const struct sg_sesslog *sl);

/*
 * sg_sesslog_end(log, sl, ss):
 * The event=session-end line of a session described by sl and ss.
 */
void sg_sesslog_end(struct sg_log *log, const struct sg_sesslog *sl,
    const struct sg_session_stats *ss);

/*
 * sg_sesslog_undelivered(log, id, s):
 * "event=undeliverable session=<id> dir=c2s|s2c name= id= type=": one line
 * per stanza that session s could not deliver, taken from s
 * (sg_session_take_undelivered) as it happens (rule 5: every one is
 * named, even past the room in the session-end line).
 */
void sg_sesslog_undelivered(struct sg_log *log, uint64_t id,
    struct sg_session *s);

/*
 * sg_sesslog_tls_error(log, id, side, why):
 * "event=tls-error session=<id> side=client|upstream reason=<why>": a
 * TLS protocol error made that peer count as vanished.  Nothing if why
 * is empty.
 */
void sg_sesslog_tls_error(struct sg_log *log, uint64_t id, enum sg_side side,
    const char *why);

#endif /* !SG_SESSLOG_H */
