#ifndef SG_XMLPARSER_H
#define SG_XMLPARSER_H

/*
 * expat as the tracker runs it: how a parser is made or reset with its
 * handlers and settings, how a released one is rebuilt inside the stream
 * element, and how to read the names it reports.  The caller owns the
 * XML_Parser, calls expat on it directly where speed matters, and frees it
 * with XML_ParserFree().
 */

#include <stddef.h>

#include <expat.h>

/* Opaque types. */
struct sg_streamns;

/* The handlers a parser is made with; none may be NULL. */
struct sg_xmlparser_handlers {
	XML_StartElementHandler start;
	XML_EndElementHandler end;
	XML_CharacterDataHandler text;
	XML_StartNamespaceDeclHandler nsdecl;
	XML_CommentHandler comment;
	XML_ProcessingInstructionHandler pi;
	XML_StartDoctypeDeclHandler doctype;
	XML_StartCdataSectionHandler cdata;
};

/*
 * An element or attribute name as the parser reports it, split in place:
 * the pointers are into the reported string, and only prefix is
 * NUL-terminated.  "" and 0 for a part that is absent.
 */
struct sg_xmlparser_qname {
	const char *uri;
	const char *local;
	const char *prefix;
	size_t urilen;
	size_t locallen;
	size_t prefixlen;
};

/*
 * sg_xmlparser_start(pp, h, ud):
 * Make *pp ready for a new document: a new parser if *pp is NULL, else *pp
 * reset.  Input is UTF-8 whatever the document says, names come with
 * namespace URI and prefix, no external or parameter entity is read, and
 * a partial token is parsed as soon as it completes (no reparse deferral),
 * so events do not depend on how the bytes are split.  Every handler of h
 * is set, each called with ud.  Returns 0, or -1 on allocation failure
 * (*pp, if not NULL, still to be freed).
 */
int sg_xmlparser_start(XML_Parser *pp, const struct sg_xmlparser_handlers *h,
    void *ud);

/*
 * sg_xmlparser_replay(p, ns, len):
 * Feed a freshly started p a stream start tag that declares what ns holds,
 * bringing it to depth 1 in the stream's namespace context as if it had
 * parsed the stream so far.  p's handlers run on it; the caller has them
 * ignore what they see.  *len is set to the tag's length: the caller's
 * offsets for p are shifted by it.  Returns 0, or -1 on allocation failure
 * or if p refused the tag.
 */
int sg_xmlparser_replay(XML_Parser p, const struct sg_streamns *ns,
    size_t *len);

/*
 * sg_xmlparser_qname(name, q):
 * Split name, as the parser gave it to a handler, into q.
 */
void sg_xmlparser_qname(const char *name, struct sg_xmlparser_qname *q);

/*
 * sg_xmlparser_is(name, uri, local):
 * Non-zero if name, as the parser gives it, is local in namespace uri,
 * with any prefix.  Cheaper than a split for a name that is not.
 */
int sg_xmlparser_is(const char *name, const char *uri, const char *local);

#endif /* !SG_XMLPARSER_H */
