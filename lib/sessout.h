#ifndef SG_SESSOUT_H
#define SG_SESSOUT_H

/*
 * The close engine's state and its output side, shared by its parts:
 * session.c (the state machine of spec/close-handshake.md), closing.c
 * (how a direction ends), held.c (each direction's held bytes:
 * forwarded, dropped or kept until a stanza is whole), undeliv.c (rule 5:
 * what cannot be delivered is bounced or named) and smback.c (stream
 * management on C's behalf).  Each of them calls down into this module
 * to queue bytes and ask the caller for actions; this module calls none
 * of them.  Nothing outside the engine includes this
 * header: everyone else sees session.h.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "bq.h"
#include "ledger.h"
#include "sessiondefs.h"

struct sg_smback;

#define OTHER(side)	((enum sg_side)(1 - (side)))
#define MAX_ACTIONS	32
#define SMALL		64

/*
 * What one side sends: parsed, held until a stanza is whole.  Every
 * session keeps two of these and two sg_peer for its whole life, idle or
 * not: flags are bits, and the 64-bit fields come first, so neither has
 * padding.
 */
struct sg_dir {
	struct sg_session *s;
	struct sg_tracker *trk;
	struct sg_bq *held;	/* bytes from done on, from earlier reads */
	uint64_t done;		/* bytes before this are forwarded or gone */
	const char *cur;	/* the chunk being fed, starting at cur_base */
	uint64_t cur_base;
	size_t cur_len;
	uint64_t partial_since;	/* when held's stanza started */
	enum sg_side from;
	unsigned partial:1;	/* held has bytes: a stanza is under way */
	unsigned closed:1;	/* nothing more goes to the other side */
	unsigned dead:1;	/* its bytes are no longer parsed */
	unsigned have_header:1;
};

/* What goes to one side, and how its end of the stream stands. */
struct sg_peer {
	struct sg_bq *out;
	struct sg_ledger *ledger;
	uint64_t appended;	/* bytes ever queued */
	uint64_t written;	/* bytes ever written */
	uint64_t tag_at;
	uint64_t shut_at;
	uint64_t stall_at;	/* bytes wait for it; none taken since */
	char out_prefix[SMALL];	/* of the stream header it was sent */
	char out_ns[SMALL];
	unsigned header_out:1;	/* it has been sent a stream header */
	unsigned tag_sent:1;	/* a close tag went (or goes) to it */
	unsigned notag:1;	/* shut down without a tag (gone, opaque) */
	unsigned eof:1;
	unsigned shut:1;
	unsigned finished:1;	/* EOF, or we stopped waiting for it */
	unsigned paused:1;
};

struct sg_session {
	struct sg_session_params p;
	struct sg_dir dir[2];
	struct sg_peer peer[2];
	uint64_t now;
	uint64_t last_active;
	uint64_t failed_at;
	/*
	 * The domain the client asked for, or NULL: in c_to_room if it fits,
	 * so that the usual one is not a small block allocated among the
	 * parser's (it would keep their pages once they are given back).
	 */
	char *c_to;
	struct sg_undelivered *undel;	/* named, not yet taken */
	struct sg_smback *sm;	/* NULL until S offers stream management */
	unsigned nundel, undel_cap;	/* 2^32 of them would not fit anyway */
	struct sg_session_stats st;
	char c_to_room[SMALL];
	/* The default namespace of the client's header (only its is read). */
	char c_ns[SMALL];
	/* Pending actions as bytes: an idle session keeps it small. */
	struct {
		unsigned char type, side;
	} act[MAX_ACTIONS];
	unsigned char nact;
	/* C's queue offset from which S->C stanzas are numbered (SM). */
	uint64_t handback_from;
	unsigned closing:1;
	unsigned over:1;
	unsigned upstream_failed:1;
	/* S counts our acks: S->C stanzas not delivered are handed back. */
	unsigned handback:1;
};

_Static_assert(MAX_ACTIONS <= UCHAR_MAX, "nact is a byte");

/* Copy src (NULL is "") into dst, cut to fit. */
static inline void
sg_sessout_copy_str(char *dst, size_t size, const char *src)
{

	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/*
 * sg_sessout_push_action(s, type, side):
 * Ask the caller for (type, side), once however often it is asked; after
 * the end only SG_ACT_CLOSE.
 */
void sg_sessout_push_action(struct sg_session *s, enum sg_action_type type,
    enum sg_side side);

/*
 * sg_sessout_set_reason(s, r):
 * The session is closing, for reason r unless one was given before.
 */
void sg_sessout_set_reason(struct sg_session *s, enum sg_close_reason r);

/*
 * sg_sessout_check_done(s):
 * If both sides are shut down and finished, the session is over: ask for
 * SG_ACT_CLOSE.
 */
void sg_sessout_check_done(struct sg_session *s);

/*
 * sg_sessout_fail_internal(s):
 * Out of memory: end the session at once, reason "internal".
 */
void sg_sessout_fail_internal(struct sg_session *s);

/*
 * sg_sessout_backpressure(s, to):
 * The queue to `to` changed: pause or resume reading the sides that fill
 * it (the other side; `to` itself while its stanzas are bounced to it).
 */
void sg_sessout_backpressure(struct sg_session *s, enum sg_side to);

/*
 * sg_sessout_append(s, to, buf, len):
 * Queue len bytes of buf for side `to` (on failure, fail_internal).
 */
void sg_sessout_append(struct sg_session *s, enum sg_side to,
    const char *buf, size_t len);

/*
 * sg_sessout_take(s, to, scratch):
 * Queue for `to` all that scratch holds, and empty it.
 */
void sg_sessout_take(struct sg_session *s, enum sg_side to,
    struct sg_bq *scratch);

/*
 * sg_sessout_compose_for(s, to, q, err):
 * What a compose function just wrote to the new queue q goes to side
 * `to`, unless it failed (err non-zero, or q NULL): then the session
 * fails.  q is freed either way.  0, or -1 on failure.
 */
int sg_sessout_compose_for(struct sg_session *s, enum sg_side to,
    struct sg_bq *q, int err);

#endif /* !SG_SESSOUT_H */
