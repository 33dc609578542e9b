#ifndef SG_CLASSIFY_H
#define SG_CLASSIFY_H

/*
 * What the stream header and each stanza are, from their tags: whether the
 * root is a stream element, a stanza's kind (enum sg_stanza_kind) from its
 * namespace and name, the attributes an event carries (id, type, from,
 * to), a stream error's condition and XEP-0198's resume flag.  A stanza's
 * start tag is gone from expat by its end tag, so what the event needs is
 * copied, once, into one buffer that is reused for every stanza.  Names
 * are as expat reports them to the tracker (see xmlparser.h).
 */

#include <stdint.h>

#include "trackdefs.h"

/* Opaque types. */
struct sg_classify;

/*
 * sg_classify_new(void):
 * A classifier for one stanza at a time.  Returns NULL on allocation
 * failure.
 */
struct sg_classify *sg_classify_new(void);

/*
 * sg_classify_free(c):
 * Free c.  A NULL c is a no-op.
 */
void sg_classify_free(struct sg_classify *c);

/*
 * sg_classify_header(name, atts, ev):
 * If the root element name is a stream element, set ev's prefix, version,
 * id, stanza_type, from and to (pointing into name and atts; absent: NULL)
 * and return 0; else return -1 with ev unchanged.
 */
int sg_classify_header(const char *name, const char **atts,
    struct sg_tracker_event *ev);

/*
 * sg_classify_stanza(c, name, atts):
 * A stanza starts with this tag: forget the last one and keep what its
 * event needs.  Returns 0; 1 if the tag is a stream element (a header
 * inside the stream), keeping nothing; or -1 on allocation failure.
 */
int sg_classify_stanza(struct sg_classify *c, const char *name,
    const char **atts);

/*
 * sg_classify_child(c, name):
 * A child of the stanza starts: for a stream error, it may be the
 * condition.  Returns 1 if it is a <starttls/> in <stream:features> (its
 * span goes to sg_classify_starttls()), 0 otherwise, or -1 on allocation
 * failure.
 */
int sg_classify_child(struct sg_classify *c, const char *name);

/*
 * sg_classify_starttls(c, start, end):
 * The <starttls/> child that sg_classify_child() found spans [start, end).
 * Returns 0, or -1 on allocation failure.
 */
int sg_classify_starttls(struct sg_classify *c, uint64_t start,
    uint64_t end);

/*
 * sg_classify_fill(c, ev):
 * Set ev's kind, name, ns, condition, sm_resume, starttls, nstarttls, id,
 * stanza_type, from and to for the stanza.  The strings and spans stay
 * valid until c is next changed.
 */
void sg_classify_fill(const struct sg_classify *c,
    struct sg_tracker_event *ev);

#endif /* !SG_CLASSIFY_H */
