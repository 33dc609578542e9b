/*
 * expat as the tracker runs it (xmlparser.h).  Owns nothing (the
 * caller owns the XML_Parser); calls expat, streamns and strbuf.
 */
#include <limits.h>
#include <string.h>

#include <expat.h>

#include "streamns.h"
#include "strbuf.h"
#include "xmlparser.h"

/* 0xff never occurs in UTF-8, so never in a name or a namespace URI. */
#define SEP	'\xff'

/*
 * Reparse deferral (expat 2.6) holds a partial token back until enough
 * new bytes arrive, so events would come late, by a chunking-dependent
 * amount.  Debian 12 backported it into 2.5.0 without changing the
 * version macros: below 2.6, reach the switch through a weak reference,
 * which is NULL in a genuine 2.5.
 */
#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
XML_Bool XML_SetReparseDeferralEnabled(XML_Parser, XML_Bool)
    __attribute__((weak));
#endif

static void
no_deferral(XML_Parser p)
{

#if XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 6
	if (XML_SetReparseDeferralEnabled == NULL)
		return;
#endif
	(void)XML_SetReparseDeferralEnabled(p, XML_FALSE);
}

int
sg_xmlparser_start(XML_Parser *pp, const struct sg_xmlparser_handlers *h,
    void *ud)
{
	XML_Parser p;

	/* UTF-8 forced: a document's encoding declaration is not obeyed. */
	if (*pp == NULL) {
		if ((*pp = XML_ParserCreateNS("UTF-8", SEP)) == NULL)
			return (-1);
	} else if (XML_ParserReset(*pp, "UTF-8") == XML_FALSE)
		return (-1);
	p = *pp;
	XML_SetUserData(p, ud);
	XML_SetReturnNSTriplet(p, XML_TRUE);
	(void)XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	no_deferral(p);
	XML_SetElementHandler(p, h->start, h->end);
	XML_SetCharacterDataHandler(p, h->text);
	XML_SetStartNamespaceDeclHandler(p, h->nsdecl);
	XML_SetCommentHandler(p, h->comment);
	XML_SetProcessingInstructionHandler(p, h->pi);
	XML_SetStartDoctypeDeclHandler(p, h->doctype);
	XML_SetStartCdataSectionHandler(p, h->cdata);
	return (0);
}

/*
 * The tag is built for each rebuild rather than kept: an idle stream
 * holds only the declarations, and a rebuild allocates anyway.
 */
int
sg_xmlparser_replay(XML_Parser p, const struct sg_streamns *ns, size_t *len)
{
	struct sg_strbuf sb = { NULL, 0, 0 };
	enum XML_Status s = XML_STATUS_ERROR;

	if (sg_streamns_header(ns, &sb) == 0 && sb.len <= INT_MAX)
		s = XML_Parse(p, sb.b, (int)sb.len, XML_FALSE);
	*len = sb.len;
	sg_strbuf_free(&sb);
	return (s == XML_STATUS_OK ? 0 : -1);
}

/* With triplets: "uri SEP local [SEP prefix]", or "local" if no uri. */
void
sg_xmlparser_qname(const char *s, struct sg_xmlparser_qname *q)
{
	const char *a, *b;

	q->prefix = "";
	q->prefixlen = 0;
	if ((a = strchr(s, SEP)) == NULL) {
		q->uri = "";
		q->urilen = 0;
		q->local = s;
		q->locallen = strlen(s);
		return;
	}
	q->uri = s;
	q->urilen = (size_t)(a - s);
	q->local = a + 1;
	if ((b = strchr(a + 1, SEP)) == NULL) {
		q->locallen = strlen(a + 1);
		return;
	}
	q->locallen = (size_t)(b - q->local);
	q->prefix = b + 1;
	q->prefixlen = strlen(b + 1);
}

int
sg_xmlparser_is(const char *name, const char *uri, const char *local)
{
	size_t n = strlen(uri), m = strlen(local);

	return (strncmp(name, uri, n) == 0 && name[n] == SEP &&
	    strncmp(name + n + 1, local, m) == 0 &&
	    (name[n + 1 + m] == '\0' || name[n + 1 + m] == SEP));
}
