#ifndef SG_XMLRULES_H
#define SG_XMLRULES_H

/*
 * The tracker's rules on what XML it lets through, as pure functions of
 * what expat reports: the limits of struct sg_tracker_limits, which expat
 * errors are XML that XMPP forbids (RFC 6120 section 11.1), a document's
 * first bytes, how many bytes expat may be given, and what each result is
 * called.  Comments, processing instructions and DTDs are refused by the
 * tracker's handlers as expat meets them: they need no rule beyond "never".
 */

#include <stddef.h>
#include <stdint.h>

#include <expat.h>

#include "trackdefs.h"

/*
 * sg_xmlrules_element(lim, depth, nattrs, taglen, name, atts):
 * Whether an element with expat's name and atts, nattrs attributes
 * including namespace declarations, at depth depth (the stream element
 * being 1), from a tag of taglen bytes, keeps within lim.  Returns
 * SG_TRACK_OK or the first limit crossed: depth, attribute count, name
 * length, value length.
 */
enum sg_tracker_result sg_xmlrules_element(
    const struct sg_tracker_limits *lim, unsigned depth, unsigned nattrs,
    size_t taglen, const char *name, const char **atts);

/*
 * sg_xmlrules_nsdecl(lim, taglen, prefix, uri):
 * Whether a namespace declaration (prefix "" for xmlns=) in a tag of
 * taglen bytes keeps within lim's name and value lengths.  Returns
 * SG_TRACK_OK, SG_TRACK_NAME_TOO_LONG or SG_TRACK_VALUE_TOO_LONG.
 */
enum sg_tracker_result sg_xmlrules_nsdecl(const struct sg_tracker_limits *lim,
    size_t taglen, const char *prefix, const char *uri);

/*
 * sg_xmlrules_expat_error(e):
 * The result for expat's error e: SG_TRACK_RESTRICTED_XML for an entity
 * reference, SG_TRACK_NOMEM, else SG_TRACK_NOT_WELL_FORMED.
 */
enum sg_tracker_result sg_xmlrules_expat_error(enum XML_Error e);

/*
 * sg_xmlrules_bad_start(at, buf, len):
 * Non-zero if buf, whose first byte is byte at of a document, puts a byte
 * that would switch expat to UTF-16 into the document's first two.
 */
int sg_xmlrules_bad_start(uint64_t at, const char *buf, size_t len);

/*
 * sg_xmlrules_window(lim, pending, len):
 * How many of the next len bytes expat may be given when it already holds
 * pending bytes past the last event (at most lim->max_stanza): enough to
 * cross the stanza size limit by one byte, never more than INT_MAX.
 */
size_t sg_xmlrules_window(const struct sg_tracker_limits *lim,
    uint64_t pending, size_t len);

/*
 * sg_xmlrules_strerror(r), sg_xmlrules_condition(r):
 * What sg_tracker_strerror() and sg_tracker_condition() say of r.
 */
const char *sg_xmlrules_strerror(enum sg_tracker_result r);
const char *sg_xmlrules_condition(enum sg_tracker_result r);

#endif /* !SG_XMLRULES_H */
