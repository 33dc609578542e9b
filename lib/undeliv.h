#ifndef SG_UNDELIV_H
#define SG_UNDELIV_H

/*
 * Rule 5 of spec/close-handshake.md, a part of the close engine: every
 * complete stanza that cannot be delivered is bounced to its sender or
 * named (counted, kept for the session line, and handed out through
 * sg_session_take_undelivered).  Called by the close engine (session.c,
 * closing.c) only; it works on the session's state (sessout.h).
 */

#include <stddef.h>

#include "compose.h"
#include "sessiondefs.h"

/*
 * sg_undeliv_stanza(s, sender, info, cut):
 * A complete stanza from sender cannot be delivered: hand it back if S
 * counts our acks on C's behalf (an S->C message, presence or iq, sent
 * since S's <enabled/>), else bounce it if the policy, the sender's stream
 * and the stanza allow (never if cut, a value was cut), else name it.
 * May queue bytes for sender and push actions.
 */
void sg_undeliv_stanza(struct sg_session *s, enum sg_side sender,
    const struct sg_stanza_info *info, int cut);

/*
 * sg_undeliv_reclaim(s, to):
 * Everything still queued for side `to` will never reach it: account for
 * each stanza in the queue as above and drop its bytes.
 */
void sg_undeliv_reclaim(struct sg_session *s, enum sg_side to);

/*
 * sg_undeliv_reclaim_from(s, to, cut, name_only):
 * As sg_undeliv_reclaim(), but only for what is queued for `to` from
 * offset cut on, a stanza boundary not yet written: the stanzas there are
 * accounted for, oldest first (with name_only, none is bounced), and every
 * byte from cut on is dropped.
 */
void sg_undeliv_reclaim_from(struct sg_session *s, enum sg_side to,
    uint64_t cut, int name_only);

/*
 * sg_undeliv_take(s, out, max):
 * What sg_session_take_undelivered does (see session.h); the list's
 * memory is freed once it is empty.
 */
size_t sg_undeliv_take(struct sg_session *s, struct sg_undelivered *out,
    size_t max);

#endif /* SG_UNDELIV_H */
