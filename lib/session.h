#ifndef SG_SESSION_H
#define SG_SESSION_H

/*
 * The close engine: one proxied XMPP session between a client C and the
 * upstream server S, as a pure state machine.  Events go in (bytes read
 * from a side, end of file, bytes written, the clock passing a deadline,
 * service stop); actions come out (bytes queued towards a side, shut down
 * a side's write half, pause or resume reading a side, end the session).
 * It reads no clock and touches no socket: the caller passes the time in
 * milliseconds of a monotonic clock with every event.
 *
 * The rules are those of spec/close-handshake.md: stanzas are stored and
 * forwarded whole, close tags are only written between stanzas and nothing
 * ever after them, and every complete stanza read is forwarded, bounced to
 * its sender, or counted as undeliverable.
 */

#include <stddef.h>
#include <stdint.h>

#include "bq.h"
#include "tracker.h"

/* Opaque types. */
struct sg_session;

enum sg_side {
	SG_CLIENT = 0,		/* C: the peer that connected to us */
	SG_SERVER = 1		/* S: the upstream we connected to */
};

/* Who started the end of the session, and why.  Names in the log. */
enum sg_close_reason {
	SG_REASON_NONE,
	SG_REASON_CLIENT,		/* C sent its close tag (or EOF, opaque) */
	SG_REASON_SERVER,		/* S sent its close tag (or EOF, opaque) */
	SG_REASON_IDLE,
	SG_REASON_CLIENT_VANISHED,	/* C closed TCP without a close tag */
	SG_REASON_SERVER_VANISHED,	/* S closed TCP without a close tag */
	SG_REASON_STANZA_TIMEOUT,
	SG_REASON_SHUTDOWN,
	SG_REASON_LIMIT,
	SG_REASON_BAD_XML,
	SG_REASON_UPSTREAM_UNREACHABLE,
	SG_REASON_INTERNAL,		/* out of memory */
	SG_REASON_COUNT
};

/* How a side ended its stream towards us. */
enum sg_answer {
	SG_ANSWER_NONE,		/* not yet, or nothing was asked */
	SG_ANSWER_TAG,		/* its close tag: "yes" */
	SG_ANSWER_EOF,		/* TCP closed without a close tag */
	SG_ANSWER_TIMEOUT	/* no answer within close-timeout */
};

enum sg_undeliverable_policy {
	SG_POLICY_AUTO,		/* bounce, unless stream management is on */
	SG_POLICY_BOUNCE,
	SG_POLICY_LOG
};

struct sg_session_params {
	struct sg_tracker_limits limits;
	uint64_t idle_timeout;		/* ms */
	uint64_t close_timeout;		/* ms */
	uint64_t stanza_timeout;	/* ms */
	int server_first;		/* close-order = server-first */
	enum sg_undeliverable_policy policy;
	int rewrite_idle_errors;
	int hide_starttls;		/* we terminate C's TLS: cut <starttls/>
					   out of S's <stream:features> */
	size_t high_water;		/* stop reading the other side above */
	size_t low_water;		/* read it again below */
};

enum sg_action_type {
	SG_ACT_WRITE,		/* bytes were queued towards side */
	SG_ACT_SHUTDOWN,	/* shut down the write half towards side */
	SG_ACT_PAUSE,		/* stop reading side */
	SG_ACT_RESUME,		/* read side again */
	SG_ACT_CLOSE,		/* the session is over: tear down, log */
	SG_ACT_UNDELIVERED	/* stanzas from side could not be delivered:
				   sg_session_take_undelivered() names them */
};

struct sg_action {
	enum sg_action_type type;
	enum sg_side side;
};

/* A stanza that could not be delivered, for the log line. */
#define SG_UNDELIVERABLE_NAMED	8
struct sg_undelivered {
	enum sg_side from;	/* the side that sent it */
	char name[16];
	char type[16];
	char id[64];
};

struct sg_session_stats {
	enum sg_close_reason reason;
	enum sg_answer answer[2];	/* indexed by side */
	int opaque;			/* STARTTLS or compression */
	int sm;				/* stream management enabled */
	int sm_resumable;
	int forced;			/* ended by sg_session_on_force_close */
	uint64_t bytes_in[2];		/* read from side */
	uint64_t bytes_out[2];		/* written to side */
	uint64_t stanzas_in[2];		/* complete stanzas read from side */
	uint64_t stanzas_out[2];	/* forwarded to side, not reclaimed */
	uint64_t rewritten;		/* connection-timeout errors dropped */
	uint64_t bounced[2];		/* bounced back to side */
	uint64_t undeliverable[2];	/* sent by side, not delivered */
	/*
	 * Rule 5 holds as: stanzas_in[X] == stanzas_out[Y] + bounced[X] +
	 * undeliverable[X] (+ rewritten, for S).
	 */
	uint64_t truncated[2];		/* partial stanzas of side dropped */
	uint64_t dropped_bytes[2];	/* bytes of side after its close */
	char error_in[2][32];		/* stream error condition from side */
	size_t nnamed;
	/* Room for SG_UNDELIVERABLE_NAMED, taken at the first one. */
	struct sg_undelivered *named;
};

#define SG_NO_DEADLINE	UINT64_MAX

/*
 * sg_session_new(params, now):
 * A session whose client has just connected and whose upstream connection
 * is being made.  Bytes for S are queued until the caller can write them.
 * params is copied.  Returns NULL on allocation failure.
 */
struct sg_session *sg_session_new(const struct sg_session_params *params,
    uint64_t now);

/*
 * sg_session_free(s):
 * Free s.  A NULL s is a no-op.
 */
void sg_session_free(struct sg_session *s);

/*
 * sg_session_on_bytes(s, side, buf, len, now):
 * len > 0 bytes were read from side.  buf is not kept.
 */
void sg_session_on_bytes(struct sg_session *s, enum sg_side side,
    const char *buf, size_t len, uint64_t now);

/*
 * sg_session_on_eof(s, side, now):
 * Reading side gave end of file or an error (a reset): nothing more will
 * come from it.
 */
void sg_session_on_eof(struct sg_session *s, enum sg_side side,
    uint64_t now);

/*
 * sg_session_on_written(s, side, len, now):
 * The first len bytes of sg_session_outq(s, side) were written; the
 * session consumes them from the queue.
 */
void sg_session_on_written(struct sg_session *s, enum sg_side side,
    size_t len, uint64_t now);

/*
 * sg_session_on_write_error(s, side, now):
 * Writing to side failed for good (EPIPE, reset): what is queued towards
 * it will never arrive and is accounted for.
 */
void sg_session_on_write_error(struct sg_session *s, enum sg_side side,
    uint64_t now);

/*
 * sg_session_on_upstream_failed(s, now):
 * The connection to S could not be made (refused, timed out, unreachable).
 */
void sg_session_on_upstream_failed(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_timer(s, now):
 * The deadline returned by sg_session_deadline() has passed (it may have
 * moved since; the session checks).
 */
void sg_session_on_timer(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_shutdown(s, now):
 * The service is stopping: close by the idle procedure now, the client
 * told <system-shutdown/> first.
 */
void sg_session_on_shutdown(struct sg_session *s, uint64_t now);

/*
 * sg_session_on_force_close(s, now):
 * The drain timeout has passed: end now, whatever is unanswered.
 */
void sg_session_on_force_close(struct sg_session *s, uint64_t now);

/*
 * sg_session_take_actions(s, out, max):
 * Move up to max pending actions, oldest first, to out; returns how many.
 * Actions are not repeated: one SG_ACT_WRITE stands for every byte queued
 * towards that side since the last take.
 */
size_t sg_session_take_actions(struct sg_session *s, struct sg_action *out,
    size_t max);

/*
 * sg_session_take_undelivered(s, out, max):
 * Move up to max of the stanzas named undeliverable since the last take,
 * oldest first, to out; returns how many.  Every undeliverable stanza is
 * named here once (rule 5), however many; the stats keep only the first
 * SG_UNDELIVERABLE_NAMED for the session's last line.
 */
size_t sg_session_take_undelivered(struct sg_session *s,
    struct sg_undelivered *out, size_t max);

/*
 * sg_session_outq(s, side):
 * The bytes waiting to be written to side.  The caller writes from its head
 * and then calls sg_session_on_written().
 */
struct sg_bq *sg_session_outq(struct sg_session *s, enum sg_side side);

/*
 * sg_session_deadline(s):
 * When sg_session_on_timer() must next be called, or SG_NO_DEADLINE.  It
 * only moves earlier on an event; bytes read move it later without any
 * timer work (the caller may re-arm lazily, when the old deadline fires).
 */
uint64_t sg_session_deadline(const struct sg_session *s);

/*
 * sg_session_closing(s):
 * Non-zero once a close handshake is under way (for the totals).
 */
int sg_session_closing(const struct sg_session *s);

/*
 * sg_session_release_idle(s):
 * Give back parser memory of directions that are between stanzas, and the
 * memory queues keep for bytes to come: for a session gone quiet.
 */
void sg_session_release_idle(struct sg_session *s);

/*
 * sg_session_stats(s):
 * Counts and outcome, for the log line.
 */
const struct sg_session_stats *sg_session_stats(const struct sg_session *s);

/*
 * sg_close_reason_name(r), sg_answer_name(a):
 * The fixed names used in log lines: "client-vanished", "timeout"...
 */
const char *sg_close_reason_name(enum sg_close_reason r);
const char *sg_answer_name(enum sg_answer a);

#endif /* !SG_SESSION_H */
