#ifndef SG_SESSHARNESS_H
#define SG_SESSHARNESS_H

/*
 * The close engine's test harness, shared by check_session.c and
 * check_smback.c: it plays the proxy, writing whatever the session queues
 * at once unless a side is "stalled", and records the actions.
 */

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define NS_STREAMS "http://etherx.jabber.org/streams"
#define C_HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='" NS_STREAMS "' to='example.com' version='1.0'>"
#define S_HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='" NS_STREAMS "' from='example.com' id='s1' " \
	"version='1.0'>"
#define TAG "</stream:stream>"
#define C_MSG "<message to='bob@example.com' id='m1' type='chat'>" \
	"<body>hi</body></message>"
#define S_MSG "<message from='bob@example.com/x' to='alice@example.com/y' " \
	"id='s7' type='chat'><body>yo</body></message>"
#define BOUNCE_S_MSG "<message from='alice@example.com/y' " \
	"to='bob@example.com/x' id='s7' type='error'><error type='wait'>" \
	"<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" \
	"</error></message>"
#define SYS_SHUTDOWN "<stream:error><system-shutdown xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-streams'/></stream:error>"
#define OTHER_SIDE(side)	((enum sg_side)(1 - (side)))
#define IDLE	300000
#define CLOSE	5000
#define STANZA	30000

struct h {
	struct sg_session *s;
	uint64_t now;
	int stalled[2];
	char out[2][65536];
	size_t outlen[2];
	char trace[512];	/* actions: W/S/P/R + c/s, X for close */
	size_t undelivered;	/* stanzas named by SG_ACT_UNDELIVERED */
};

/* What side received since the last call, compared exactly. */
#define EXPECT_OUT(h, side, str) do {					\
	ck_assert_str_eq((h)->out[side], (str));			\
	(h)->outlen[side] = 0;						\
	(h)->out[side][0] = '\0';					\
} while (0)

#define EXPECT_TRACE(h, str) do {					\
	ck_assert_str_eq((h)->trace, (str));				\
	(h)->trace[0] = '\0';						\
} while (0)

size_t take_names(struct h *h);
struct sg_session_params params(void);
void write_out(struct h *h, enum sg_side side);
void trace(struct h *h, char c, enum sg_side side);
void run(struct h *h);
struct h *h_new_with(struct sg_session_params p);
void h_free(struct h *h);
void feed(struct h *h, enum sg_side side, const char *bytes);
void eof(struct h *h, enum sg_side side);
void advance(struct h *h, uint64_t ms);
void unstall(struct h *h, enum sg_side side);
struct h *opened_with(struct sg_session_params p);
struct h *opened(void);
const struct sg_session_stats *stats(struct h *h);
void finish(struct h *h);

#endif /* !SG_SESSHARNESS_H */
