/*
 * Sample streams.  Sessions are written the way Prosody, ejabberd and
 * common clients put them on the wire; each is one direction only, so a
 * c2s login is two samples (client and server side).
 */
#include <string.h>

#include "tracker_corpus.h"

#define XMLDECL	"<?xml version='1.0'?>"
#define NS_STREAM "xmlns:stream='http://etherx.jabber.org/streams'"
#define HDR	"<stream:stream " NS_STREAM " xmlns='jabber:client'>"
#define CLOSE	"</stream:stream>"
#define X10	"xxxxxxxxxx"
#define B10	" \n \t \r\n   "

#define S(data)	data, sizeof(data) - 1

/* Each with one limit small, for the at-limit and over-limit samples. */
static const struct sg_tracker_limits lim_stanza = {
	128, SG_TRACKER_DEFAULT_MAX_DEPTH, SG_TRACKER_DEFAULT_MAX_ATTRS,
	SG_TRACKER_DEFAULT_MAX_NAME, SG_TRACKER_DEFAULT_MAX_VALUE
};
static const struct sg_tracker_limits lim_depth = {
	SG_TRACKER_DEFAULT_MAX_STANZA, 4, SG_TRACKER_DEFAULT_MAX_ATTRS,
	SG_TRACKER_DEFAULT_MAX_NAME, SG_TRACKER_DEFAULT_MAX_VALUE
};
static const struct sg_tracker_limits lim_attrs = {
	SG_TRACKER_DEFAULT_MAX_STANZA, SG_TRACKER_DEFAULT_MAX_DEPTH, 3,
	SG_TRACKER_DEFAULT_MAX_NAME, SG_TRACKER_DEFAULT_MAX_VALUE
};
static const struct sg_tracker_limits lim_name = {
	SG_TRACKER_DEFAULT_MAX_STANZA, SG_TRACKER_DEFAULT_MAX_DEPTH,
	SG_TRACKER_DEFAULT_MAX_ATTRS, 16, SG_TRACKER_DEFAULT_MAX_VALUE
};
static const struct sg_tracker_limits lim_value = {
	SG_TRACKER_DEFAULT_MAX_STANZA, SG_TRACKER_DEFAULT_MAX_DEPTH,
	SG_TRACKER_DEFAULT_MAX_ATTRS, SG_TRACKER_DEFAULT_MAX_NAME, 40
};

const struct sg_corpus_sample sg_tracker_corpus[] = {
	/* c2s, client side: SASL PLAIN, restart, bind, roster, chat, SM. */
	{ "c2s_client", S(XMLDECL "\n"
	    "<stream:stream to='example.com' xmlns='jabber:client' "
	    NS_STREAM " version='1.0' xml:lang='en'>\n"
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>"
	    XMLDECL "<stream:stream to='example.com' xmlns='jabber:client' "
	    NS_STREAM " version='1.0' xml:lang='en'>"
	    "<iq type='set' id='bind_1'>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
	    "<resource>balcony</resource></bind></iq>\n"
	    "<iq type='get' id='roster_1'>"
	    "<query xmlns='jabber:iq:roster'/></iq>\n"
	    "<presence/>\n"
	    "<enable xmlns='urn:xmpp:sm:3' resume='true'/>\n"
	    "<message to='romeo@example.net' type='chat' id='m1' "
	    "xml:lang='en'><body>Wherefore art thou, Romeo? "
	    "\xc2\xbf" "D\xc3\xb3nde est\xc3\xa1s? "
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8c\xb9"
	    "</body></message>\n"
	    "<message to='romeo@example.net' type='chat' id='m2'>"
	    "<body>Hi!</body>"
	    "<html xmlns='http://jabber.org/protocol/xhtml-im'>"
	    "<body xmlns='http://www.w3.org/1999/xhtml'>"
	    "<p style='font-weight:bold'>Hi!</p></body></html></message>\n"
	    "<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='2'/>"
	    "\r\n \t\r\n"
	    CLOSE), SG_TRACK_OK, SG_CORPUS_RESTART, XMLDECL "<stream", NULL },

	/* c2s, server side: features, SASL success, restart, SM enabled. */
	{ "c2s_server", S(XMLDECL
	    "<stream:stream from='example.com' "
	    "id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' xmlns='jabber:client' "
	    NS_STREAM " version='1.0' xml:lang='en'>"
	    "<stream:features>"
	    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	    "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>"
	    "</mechanisms></stream:features>"
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	    "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>"
	    XMLDECL "<stream:stream from='example.com' "
	    "id='gPybzaOzBmaADgxKXu9UClbprp0=' xmlns='jabber:client' "
	    NS_STREAM " version='1.0' xml:lang='en'>"
	    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
	    "<sm xmlns='urn:xmpp:sm:3'/></stream:features>"
	    "<iq type='result' id='bind_1'>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
	    "<jid>juliet@example.com/balcony</jid></bind></iq>"
	    "<iq type='result' id='roster_1' to='juliet@example.com/balcony'>"
	    "<query xmlns='jabber:iq:roster' ver='ver7'>"
	    "<item jid='romeo@example.net' name='Romeo' subscription='both'>"
	    "<group>Friends</group></item></query></iq>"
	    "<enabled xmlns='urn:xmpp:sm:3' id='c2FtcGxlLXNtLWlk' "
	    "resume='true'/>"
	    "<presence from='romeo@example.net/orchard' "
	    "to='juliet@example.com/balcony'><show>away</show>"
	    "<status>En el jard\xc3\xadn</status></presence>"
	    "<message from='romeo@example.net/orchard' "
	    "to='juliet@example.com/balcony' type='chat' id='r1'>"
	    "<body>I am here &amp; you are there &lt;3 &#x1F339;</body>"
	    "</message>"
	    "<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='3'/>"
	    "<stream:error><connection-timeout "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' "
	    "xml:lang='en'>Idle connection</text></stream:error>"
	    CLOSE), SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* s2s with dialback; the closing peer sends a trailing newline. */
	{ "s2s_dialback", S(XMLDECL "\n"
	    "<stream:stream " NS_STREAM " xmlns='jabber:server' "
	    "xmlns:db='jabber:server:dialback' to='example.net' "
	    "from='example.com' version='1.0'>\n"
	    "<db:result from='example.com' to='example.net'>"
	    "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3"
	    "</db:result>\n"
	    "<message from='juliet@example.com/balcony' "
	    "to='romeo@example.net' type='chat' id='s2s1'>"
	    "<body>Art thou not Romeo, and a Montague?</body></message>\n"
	    "<iq from='example.com' to='example.net' type='get' id='ping1'>"
	    "<ping xmlns='urn:xmpp:ping'/></iq>\n"
	    CLOSE "\n"), SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* XEP-0114 component, no XML declaration. */
	{ "component", S("<stream:stream xmlns='jabber:component:accept' "
	    NS_STREAM " to='plays.shakespeare.lit'>"
	    "<handshake>aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e</handshake>"
	    "<message from='bard@plays.shakespeare.lit' "
	    "to='juliet@example.com' id='c1'>"
	    "<body>Exit, pursued by a bear.</body></message>"
	    "<presence from='bard@plays.shakespeare.lit' "
	    "to='juliet@example.com' type='unavailable'/>"
	    CLOSE), SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* A stream error with text, then nothing: the peer will cut TCP. */
	{ "stream_error_no_close", S(XMLDECL HDR
	    "<stream:error><system-shutdown "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"
	    "Going down for maintenance</text></stream:error>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	{ "custom_prefix", S("<foo:stream "
	    "xmlns:foo='http://etherx.jabber.org/streams' "
	    "xmlns='jabber:client' to='example.com' version='1.0'>"
	    "<foo:features/>"
	    "<message to='romeo@example.net' id='cp1'><body>x</body>"
	    "</message></foo:stream>"), SG_TRACK_OK, SG_CORPUS_NONE,
	    NULL, NULL },

	{ "default_ns_stream", S("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<stream xmlns=\"http://etherx.jabber.org/streams\" "
	    "version=\"1.0\" to=\"example.com\">"
	    "<features><starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>"
	    "</features><message xmlns=\"jabber:client\" to=\"a@example.com\" "
	    "id=\"dn1\"><body>hello</body></message>\r\n</stream>\n"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* STARTTLS, server side: <proceed/>, then a TLS ServerHello. */
	{ "starttls_server", S(XMLDECL
	    "<stream:stream from='example.com' id='t1' xmlns='jabber:client' "
	    NS_STREAM " version='1.0'><stream:features>"
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
	    "</starttls></stream:features>"
	    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" "<\0\xff"
	    CLOSE "\r\x80"), SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* STARTTLS, client side: told of <proceed/> by the other side. */
	{ "starttls_client", S(XMLDECL
	    "<stream:stream to='example.com' xmlns='jabber:client' "
	    NS_STREAM " version='1.0'>\n"
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03</>\0"),
	    SG_TRACK_OK, SG_CORPUS_OPAQUE, "\x16", NULL },

	{ "compressed", S(HDR
	    "<compress xmlns='http://jabber.org/protocol/compress'>"
	    "<method>zlib</method></compress>"
	    "<compressed xmlns='http://jabber.org/protocol/compress'/>"
	    "\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* Keepalives of every shape, a char reference among them. */
	{ "keepalives", S(HDR " \n\r\n\t\r\r\n"
	    "<presence/>\r<iq type='get' id='p'/>\n\n&#32;&#x9; "
	    "<message><body>a\r\nb</body></message>\r"
	    CLOSE " \r\n\t"), SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* Restarting twice, the second time without a declaration. */
	{ "two_restarts", S(HDR
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    XMLDECL HDR
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    "<stream:stream " NS_STREAM " xmlns='jabber:server'>"
	    "<message id='after'/>" CLOSE), SG_TRACK_OK, SG_CORPUS_NONE,
	    NULL, NULL },

	{ "empty_stream_element", S(XMLDECL
	    "<stream:stream " NS_STREAM "/>"), SG_TRACK_OK, SG_CORPUS_NONE,
	    NULL, NULL },

	/* RFC 6120 section 11.1: restricted XML. */
	{ "doctype", S(XMLDECL "<!DOCTYPE stream:stream>" HDR CLOSE),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "billion_laughs", S(XMLDECL "<!DOCTYPE lolz [\n"
	    "<!ENTITY lol \"lol\">\n"
	    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    "]>\n<lolz>&lol3;</lolz>"), SG_TRACK_RESTRICTED_XML,
	    SG_CORPUS_NONE, NULL, NULL },
	{ "entity_decl", S("<!DOCTYPE stream:stream "
	    "[<!ENTITY jid 'juliet@example.com'>]>"
	    HDR "<message to='&jid;'/>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "undefined_entity", S(HDR "<message><body>&foo;</body></message>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "undefined_entity_attr", S(HDR "<message to='&foo;'/>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "pi_after_header", S(HDR "\n<?php echo 1; ?><presence/>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "pi_in_stanza", S(HDR "<message><?foo bar?></message>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "comment_before_header", S(XMLDECL "<!-- hi -->" HDR),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "comment_between", S(HDR "<presence/>  <!-- ping --><presence/>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },
	{ "comment_in_stanza", S(HDR "<message><!-- x --></message>"),
	    SG_TRACK_RESTRICTED_XML, SG_CORPUS_NONE, NULL, NULL },

	/* Ill-formed. */
	{ "invalid_utf8", S(HDR "<message><body>caf\xc3\x28</body></message>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "overlong_utf8", S(HDR "<message><body>\xc0\xaf</body></message>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "surrogate_utf8", S(HDR "<message><body>\xed\xa0\x80</body>"
	    "</message>"), SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE,
	    NULL, NULL },
	{ "nul_byte", S(HDR "<message><body>a\0b</body></message>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "nul_between", S(HDR "<presence/> \0"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "text_between", S(HDR "<presence/>\n hello<presence/>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "entity_between", S(HDR "<presence/> &amp;"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "cdata_between", S(HDR "<presence/><![CDATA[ ]]>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "mismatched_tag", S(HDR "<message><body>x</message>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "unbound_prefix", S("<stream:stream xmlns='jabber:client'>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "wrong_close_prefix", S(HDR "<presence/></foo:stream>"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "misplaced_xmldecl", S(HDR "<presence/>" XMLDECL),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "garbage", S("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	/* expat would take these for UTF-16, split or not. */
	{ "utf16le", S("<\0s\0t\0r\0e\0a\0m\0>\0"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "utf16_bom", S("\xff\xfe<\0s\0>\0"),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "nul_second", S("A\0\xf0 "),
	    SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE, NULL, NULL },
	{ "utf16_after_restart", S(HDR
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    "\xfe\xff\0<\0s"), SG_TRACK_NOT_WELL_FORMED, SG_CORPUS_NONE,
	    NULL, NULL },
	{ "utf8_bom", S("\xef\xbb\xbf" HDR CLOSE),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, NULL },

	/* Not a stream. */
	{ "html_root", S("<html xmlns='http://www.w3.org/1999/xhtml'>"),
	    SG_TRACK_INVALID_NAMESPACE, SG_CORPUS_NONE, NULL, NULL },
	{ "stream_wrong_ns", S("<stream:stream xmlns:stream='jabber:client'>"),
	    SG_TRACK_INVALID_NAMESPACE, SG_CORPUS_NONE, NULL, NULL },
	{ "stream_no_ns", S("<stream>"),
	    SG_TRACK_INVALID_NAMESPACE, SG_CORPUS_NONE, NULL, NULL },

	/* After the close tag. */
	{ "junk_after_close", S(HDR CLOSE " \n junk"),
	    SG_TRACK_AFTER_CLOSE, SG_CORPUS_NONE, NULL, NULL },
	{ "stanza_after_close", S(HDR "<presence/>" CLOSE "\n<presence/>"),
	    SG_TRACK_AFTER_CLOSE, SG_CORPUS_NONE, NULL, NULL },
	{ "comment_after_close", S(HDR CLOSE "<!-- bye -->"),
	    SG_TRACK_AFTER_CLOSE, SG_CORPUS_NONE, NULL, NULL },
	{ "nul_after_close", S(HDR CLOSE "\0"),
	    SG_TRACK_AFTER_CLOSE, SG_CORPUS_NONE, NULL, NULL },

	/* Limits: just at, and just over. */
	{ "stanza_at_limit", S(HDR "<message id='a'><body>"
	    X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxxxxx</body></message>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_stanza },
	{ "stanza_over_limit", S(HDR "<message id='a'><body>"
	    X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxxxxxx</body></message>"),
	    SG_TRACK_STANZA_TOO_LARGE, SG_CORPUS_NONE, NULL, &lim_stanza },
	/* Keepalives do not count towards the stanza after them. */
	{ "stanza_at_limit_after_blanks", S(HDR B10 B10 B10 B10 B10 B10 B10
	    B10 B10 B10 B10 B10 B10 B10 "<message id='a'><body>"
	    X10 X10 X10 X10 X10 X10 X10 X10 "xxxxxxxxx</body></message>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_stanza },
	{ "header_at_limit", S(XMLDECL "<stream:stream " NS_STREAM
	    " to='example.com.example.com.example.com.ne'>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_stanza },
	{ "header_over_limit", S(XMLDECL "<stream:stream " NS_STREAM
	    " to='example.com.example.com.example.com.net'>"),
	    SG_TRACK_STANZA_TOO_LARGE, SG_CORPUS_NONE, NULL, &lim_stanza },
	{ "depth_at_limit", S(HDR "<message><html><body/></html></message>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_depth },
	{ "depth_over_limit", S(HDR "<message><html><body><p/></body></html>"
	    "</message>"), SG_TRACK_TOO_DEEP, SG_CORPUS_NONE, NULL,
	    &lim_depth },
	{ "attrs_at_limit", S(HDR "<message xmlns='jabber:client' to='a' "
	    "id='b'/>"), SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_attrs },
	{ "attrs_over_limit", S(HDR "<message to='a' id='b' type='chat' "
	    "from='c'/>"), SG_TRACK_TOO_MANY_ATTRS, SG_CORPUS_NONE, NULL,
	    &lim_attrs },
	{ "name_at_limit", S(HDR "<abcdefghijklmnop a:bcdefghijklmno='1' "
	    "xmlns:a='u'/>"), SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_name },
	{ "name_over_limit", S(HDR "<x:abcdefghijklmno xmlns:x='u'/>"),
	    SG_TRACK_NAME_TOO_LONG, SG_CORPUS_NONE, NULL, &lim_name },
	{ "attr_name_over_limit", S(HDR "<x abcdefghijklmnopq='1'/>"),
	    SG_TRACK_NAME_TOO_LONG, SG_CORPUS_NONE, NULL, &lim_name },
	{ "ns_prefix_over_limit", S(HDR "<x xmlns:abcdefghijk='u'/>"),
	    SG_TRACK_NAME_TOO_LONG, SG_CORPUS_NONE, NULL, &lim_name },
	{ "value_at_limit", S(HDR "<x a='" X10 X10 X10 X10 "' "
	    "b='&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
	    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
	    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
	    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;'/>"),
	    SG_TRACK_OK, SG_CORPUS_NONE, NULL, &lim_value },
	{ "value_over_limit", S(HDR "<x a='" X10 X10 X10 X10 "x'/>"),
	    SG_TRACK_VALUE_TOO_LONG, SG_CORPUS_NONE, NULL, &lim_value },
	{ "ns_value_over_limit", S(HDR "<x xmlns='" X10 X10 X10 X10 "x'/>"),
	    SG_TRACK_VALUE_TOO_LONG, SG_CORPUS_NONE, NULL, &lim_value },
};

const size_t sg_tracker_corpus_count =
    sizeof(sg_tracker_corpus) / sizeof(sg_tracker_corpus[0]);

const struct sg_corpus_sample *
sg_corpus_find(const char *name)
{
	size_t i;

	for (i = 0; i < sg_tracker_corpus_count; i++)
		if (strcmp(sg_tracker_corpus[i].name, name) == 0)
			return (&sg_tracker_corpus[i]);
	return (NULL);
}

size_t
sg_corpus_turn_offset(const struct sg_corpus_sample *s)
{
	size_t n, i;

	if (s->turn == SG_CORPUS_NONE)
		return (s->len + 1);
	n = strlen(s->turn_before);
	for (i = 0; i + n <= s->len; i++)
		if (memcmp(s->data + i, s->turn_before, n) == 0)
			return (i);
	return (s->len + 1);
}
