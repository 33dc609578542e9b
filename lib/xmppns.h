#ifndef SG_XMPPNS_H
#define SG_XMPPNS_H

/*
 * The XMPP namespaces stanzaguard reads (classify) or writes (compose,
 * front), written once.
 */

#define SG_NS_STREAMS		"http://etherx.jabber.org/streams"
#define SG_NS_STREAM_ERRORS	"urn:ietf:params:xml:ns:xmpp-streams"
#define SG_NS_STANZA_ERRORS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define SG_NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define SG_NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define SG_NS_COMPRESS		"http://jabber.org/protocol/compress"
#define SG_NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define SG_NS_SESSION		"urn:ietf:params:xml:ns:xmpp-session"
/* Stream management (XEP-0198): the one we speak, and the older one. */
#define SG_NS_SM		"urn:xmpp:sm:3"
#define SG_NS_SM2		"urn:xmpp:sm:2"

#endif /* !SG_XMPPNS_H */
