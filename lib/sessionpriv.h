#ifndef SG_SESSIONPRIV_H
#define SG_SESSIONPRIV_H

/*
 * The close engine's state, shared by its parts: session.c (the state
 * machine of spec/close-handshake.md), held.c (each direction's held
 * bytes: forwarded, dropped or kept until a stanza is whole) and
 * undeliv.c (rule 5: what cannot be delivered is bounced or named).
 * Private to those three files: the structs are open to them, and
 * nothing else may include this header; everyone else sees session.h.
 */

#include <stdint.h>
#include <stdio.h>

#include "ledger.h"
#include "session.h"

#define OTHER(side)	((enum sg_side)(1 - (side)))
#define MAX_ACTIONS	32
#define SMALL		64

/* What one side sends: parsed, held until a stanza is whole. */
struct sg_dir {
	struct sg_session *s;
	enum sg_side from;
	struct sg_tracker *trk;
	struct sg_bq *held;	/* bytes from done on, from earlier reads */
	uint64_t done;		/* bytes before this are forwarded or gone */
	const char *cur;	/* the chunk being fed, starting at cur_base */
	uint64_t cur_base;
	size_t cur_len;
	int partial;		/* held has bytes: a stanza is under way */
	uint64_t partial_since;	/* when it started */
	int closed;		/* nothing more goes to the other side */
	int dead;		/* its bytes are no longer parsed */
	int have_header;
	char ns[SMALL];		/* of the header it sent */
};

/* What goes to one side, and how its end of the stream stands. */
struct sg_peer {
	struct sg_bq *out;
	struct sg_ledger *ledger;
	uint64_t appended;	/* bytes ever queued */
	uint64_t written;	/* bytes ever written */
	int header_out;		/* it has been sent a stream header */
	char out_prefix[SMALL];	/* of that header */
	char out_ns[SMALL];
	int tag_sent;		/* a close tag went (or goes) to it */
	uint64_t tag_at;
	int notag;		/* shut down without a tag (gone, opaque) */
	int eof;
	int shut;
	uint64_t shut_at;
	int finished;		/* EOF, or we stopped waiting for it */
	int paused;
};

struct sg_session {
	struct sg_session_params p;
	struct sg_dir dir[2];
	struct sg_peer peer[2];
	uint64_t now;
	uint64_t last_active;
	int closing;
	int over;
	int upstream_failed;
	uint64_t failed_at;
	/*
	 * The domain the client asked for, or NULL: in c_to_room if it fits,
	 * so that the usual one is not a small block allocated among the
	 * parser's (it would keep their pages once they are given back).
	 */
	char *c_to;
	char c_to_room[SMALL];
	struct sg_session_stats st;
	struct sg_undelivered *undel;	/* named, not yet taken */
	size_t nundel, undel_cap;
	/* Pending actions as bytes: an idle session keeps it small. */
	struct {
		unsigned char type, side;
	} act[MAX_ACTIONS];
	size_t nact;
};

/* Copy src (NULL is "") into dst, cut to fit. */
static inline void
sg_session_copy_str(char *dst, size_t size, const char *src)
{

	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/*
 * The parts' ways back into the state machine, all in session.c.
 *
 * sg_session_push_action(s, type, side): ask the caller for (type, side),
 * once however often it is asked; after the end only SG_ACT_CLOSE.
 */
void sg_session_push_action(struct sg_session *s, enum sg_action_type type,
    enum sg_side side);

/* Out of memory: end the session at once, reason "internal". */
void sg_session_fail_internal(struct sg_session *s);

/* Pause or resume reading the side that writes to `to`, by its queue. */
void sg_session_update_backpressure(struct sg_session *s, enum sg_side to);

/* Queue len bytes of buf for side `to` (on failure, fail_internal). */
void sg_session_out_append(struct sg_session *s, enum sg_side to,
    const char *buf, size_t len);

/* Queue for `to` all that scratch holds, and empty it. */
void sg_session_out_take(struct sg_session *s, enum sg_side to,
    struct sg_bq *scratch);

#endif /* SG_SESSIONPRIV_H */
