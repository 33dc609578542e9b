#ifndef SG_TRACKER_CORPUS_H
#define SG_TRACKER_CORPUS_H

/*
 * Sample XMPP traffic, one direction of one session each, with the result
 * the tracker must give: realistic sessions (c2s with SASL and a restart,
 * s2s with dialback, a component, STARTTLS, stream errors) for the tracker
 * and session tests, and one sample for every way a stream can be refused.
 */

#include <stddef.h>

#include "tracker.h"

/* What the other direction did, which this one must be told about. */
enum sg_corpus_turn {
	SG_CORPUS_NONE,
	SG_CORPUS_RESTART,	/* call sg_tracker_expect_restart() */
	SG_CORPUS_OPAQUE	/* call sg_tracker_set_opaque() */
};

struct sg_corpus_sample {
	const char *name;
	const char *data;
	size_t len;
	enum sg_tracker_result result;	/* of feeding all of data */
	enum sg_corpus_turn turn;
	const char *turn_before;	/* turn happens where this first is */
	const struct sg_tracker_limits *lim;	/* NULL: the defaults */
};

extern const struct sg_corpus_sample sg_tracker_corpus[];
extern const size_t sg_tracker_corpus_count;

/*
 * sg_corpus_find(name):
 * The sample called name, or NULL.
 */
const struct sg_corpus_sample *sg_corpus_find(const char *name);

/*
 * sg_corpus_turn_offset(s):
 * The offset before which s's turn must be applied, or s->len + 1 if s
 * has none.
 */
size_t sg_corpus_turn_offset(const struct sg_corpus_sample *s);

#endif /* !SG_TRACKER_CORPUS_H */
