#ifndef SG_SESSIONDEFS_H
#define SG_SESSIONDEFS_H

/*
 * The close engine's vocabulary: sides, close reasons, answers, the
 * parameters a session is made with, the actions it asks of its caller and
 * the counts it keeps.  Apart from session.h so that the engine's parts
 * (sessout, held, undeliv, smback) can name them without including the
 * engine's entry points: the layers then read top to bottom.
 */

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

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
	SG_REASON_WRITE_TIMEOUT,	/* a peer took no bytes for a while */
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
	int sm_handback;		/* sm-handback = auto: stream management
					   towards S on C's behalf */
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
	int sm;				/* C enabled stream management */
	int sm_resumable;
	int sm_handback;		/* S counts our acks on C's behalf */
	int sm_refused;			/* S refused our <enable/> */
	int forced;			/* ended by sg_session_on_force_close */
	uint64_t bytes_in[2];		/* read from side */
	uint64_t bytes_out[2];		/* written to side */
	uint64_t stanzas_in[2];		/* complete stanzas read from side */
	uint64_t stanzas_out[2];	/* forwarded to side, not reclaimed */
	uint64_t rewritten;		/* connection-timeout errors dropped */
	uint64_t bounced[2];		/* bounced back to side */
	uint64_t undeliverable[2];	/* sent by side, not delivered */
	uint64_t handed_back;		/* S->C, left for S to re-route */
	uint64_t sm_own[2];		/* SM elements from side that were
					   ours to answer, not relayed */
	uint64_t s_unacked;		/* C->S that S never acknowledged */
	/*
	 * Rule 5 holds as: stanzas_in[X] == stanzas_out[Y] + bounced[X] +
	 * undeliverable[X] + sm_own[X] (+ rewritten + handed_back, for S).
	 */
	uint64_t truncated[2];		/* partial stanzas of side dropped */
	uint64_t dropped_bytes[2];	/* bytes of side after its close */
	char error_in[2][32];		/* stream error condition from side */
	size_t nnamed;
	/* Room for SG_UNDELIVERABLE_NAMED, taken at the first one. */
	struct sg_undelivered *named;
	size_t nhanded;			/* the same for those handed back */
	struct sg_undelivered *handed;
};

#define SG_NO_DEADLINE	UINT64_MAX

#endif /* !SG_SESSIONDEFS_H */
