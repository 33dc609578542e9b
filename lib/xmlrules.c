/*
 * The XML that RFC 6120 section 11.1 forbids, and the size limits (see
 * xmlrules.h): pure checks on what expat reports; calls xmlparser's name
 * helpers only.
 */
#include <limits.h>
#include <string.h>

#include <expat.h>

#include "trackdefs.h"
#include "xmlparser.h"
#include "xmlrules.h"

static const struct {
	const char *text;
	const char *condition;
} results[] = {
	{ "ok", NULL },
	{ "not well-formed XML", "not-well-formed" },
	{ "XML that XMPP forbids", "restricted-xml" },
	{ "root element is not a stream", "invalid-namespace" },
	{ "data after the close tag", "not-well-formed" },
	/* Valid XML, but no stream that a server and we would agree on. */
	{ "stream header inside the stream", "invalid-xml" },
	{ "stanza too large", "policy-violation" },
	{ "elements nested too deep", "policy-violation" },
	{ "too many attributes", "policy-violation" },
	{ "name too long", "policy-violation" },
	{ "attribute value too long", "policy-violation" },
	{ "out of memory", "resource-constraint" }
};

_Static_assert(sizeof(results) / sizeof(results[0]) == SG_TRACK_RESULT_COUNT,
    "one line per result");

/* Whether the qualified name (prefix:local) is longer than max. */
static int
name_over(const char *name, size_t max)
{
	struct sg_xmlparser_qname q;

	sg_xmlparser_qname(name, &q);
	return (q.locallen + q.prefixlen + (q.prefixlen > 0) > max);
}

static int
names_over(const char *name, const char **atts, size_t max)
{

	for (; *atts != NULL; atts += 2)
		if (name_over(atts[0], max))
			return (1);
	return (name_over(name, max));
}

static int
values_over(const char **atts, size_t max)
{

	for (; *atts != NULL; atts += 2)
		if (strlen(atts[1]) > max)
			return (1);
	return (0);
}

enum sg_tracker_result
sg_xmlrules_element(const struct sg_tracker_limits *lim, unsigned depth,
    unsigned nattrs, size_t taglen, const char *name, const char **atts)
{

	if (depth > lim->max_depth)
		return (SG_TRACK_TOO_DEEP);
	if (nattrs > lim->max_attrs)
		return (SG_TRACK_TOO_MANY_ATTRS);
	/* No name or value is longer than its tag: most need no look. */
	if (taglen > lim->max_name && names_over(name, atts, lim->max_name))
		return (SG_TRACK_NAME_TOO_LONG);
	if (taglen > lim->max_value && values_over(atts, lim->max_value))
		return (SG_TRACK_VALUE_TOO_LONG);
	return (SG_TRACK_OK);
}

enum sg_tracker_result
sg_xmlrules_nsdecl(const struct sg_tracker_limits *lim, size_t taglen,
    const char *prefix, const char *uri)
{
	size_t namelen;

	/* The attribute's name is xmlns or xmlns:prefix. */
	namelen = *prefix == '\0' ? 5 : 6 + strlen(prefix);
	if (taglen > lim->max_name && namelen > lim->max_name)
		return (SG_TRACK_NAME_TOO_LONG);
	if (taglen > lim->max_value && strlen(uri) > lim->max_value)
		return (SG_TRACK_VALUE_TOO_LONG);
	return (SG_TRACK_OK);
}

/*
 * No entity can ever be declared (a DTD is refused at its start), so an
 * entity error is a reference to one beyond the five predefined.
 */
enum sg_tracker_result
sg_xmlrules_expat_error(enum XML_Error e)
{

	switch (e) {
	case XML_ERROR_NO_MEMORY:
		return (SG_TRACK_NOMEM);
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_PARAM_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
		return (SG_TRACK_RESTRICTED_XML);
	default:
		return (SG_TRACK_NOT_WELL_FORMED);
	}
}

/*
 * Even with UTF-8 forced, expat switches to UTF-16 on a NUL or a byte
 * order mark in a document's first two bytes, and whether it does depends
 * on how those two bytes were split.  None of them is valid there.
 */
int
sg_xmlrules_bad_start(uint64_t at, const char *buf, size_t len)
{
	unsigned char c;

	for (; at < 2 && len > 0; at++, buf++, len--) {
		c = (unsigned char)*buf;
		if (c == 0x00 || c == 0xfe || c == 0xff)
			return (1);
	}
	return (0);
}

/*
 * Never let expat hold more than max_stanza bytes past the last event: a
 * huge attribute value fails once the limit is crossed, and the result
 * does not depend on how the bytes were split.
 */
size_t
sg_xmlrules_window(const struct sg_tracker_limits *lim, uint64_t pending,
    size_t len)
{
	uint64_t room = lim->max_stanza - pending;

	if (room < len)
		len = (size_t)room + 1;
	return (len > INT_MAX ? INT_MAX : len);
}

const char *
sg_xmlrules_strerror(enum sg_tracker_result r)
{

	if ((unsigned)r >= SG_TRACK_RESULT_COUNT)
		return ("unknown tracker result");
	return (results[r].text);
}

const char *
sg_xmlrules_condition(enum sg_tracker_result r)
{

	if ((unsigned)r >= SG_TRACK_RESULT_COUNT)
		return ("internal-server-error");
	return (results[r].condition);
}
