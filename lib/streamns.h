#ifndef SG_STREAMNS_H
#define SG_STREAMNS_H

/*
 * The stream element's namespace context: the namespaces its start tag
 * declares and the prefix it is written with.  The tracker keeps it for two
 * things: the default namespace that every event carries, and a stream
 * header that brings a rebuilt parser back into the same context after
 * sg_tracker_release_idle().  An idle tracker holds this and little else,
 * so it is kept small: one buffer of C strings.
 */

#include "strbuf.h"

/* Opaque types. */
struct sg_streamns;

/*
 * sg_streamns_new(void):
 * An empty context: no declarations, no prefix.  Returns NULL on
 * allocation failure.
 */
struct sg_streamns *sg_streamns_new(void);

/*
 * sg_streamns_free(ns):
 * Free ns.  A NULL ns is a no-op.
 */
void sg_streamns_free(struct sg_streamns *ns);

/*
 * sg_streamns_clear(ns):
 * Forget everything, for a new stream or none, and give back the memory.
 */
void sg_streamns_clear(struct sg_streamns *ns);

/*
 * sg_streamns_declare(ns, prefix, uri):
 * Add a declaration of the stream element, in document order: prefix ""
 * is the default namespace, uri "" undeclares.  Must come before
 * sg_streamns_set_prefix(), as expat reports declarations before their
 * element.  Returns 0, or -1 on allocation failure, with ns unchanged.
 */
int sg_streamns_declare(struct sg_streamns *ns, const char *prefix,
    const char *uri);

/*
 * sg_streamns_set_prefix(ns, prefix):
 * The stream element is written prefix:stream ("" for none).  Returns 0,
 * or -1 on allocation failure, with ns unchanged.
 */
int sg_streamns_set_prefix(struct sg_streamns *ns, const char *prefix);

/*
 * sg_streamns_default(ns):
 * The default namespace the stream element declares, or "" if none.  Valid
 * until ns is next changed.
 */
const char *sg_streamns_default(const struct sg_streamns *ns);

/*
 * sg_streamns_header(ns, sb):
 * Replace the contents of sb with a start tag, <P:stream xmlns:P='...'
 * xmlns='...'>, that declares exactly what ns holds (values escaped, no NUL
 * added).  Returns 0, or -1 on allocation failure, with sb's contents
 * undefined.
 */
int sg_streamns_header(const struct sg_streamns *ns, struct sg_strbuf *sb);

#endif /* !SG_STREAMNS_H */
