#ifndef SG_TLS_H
#define SG_TLS_H

/*
 * TLS contexts (OpenSSL): the certificates a listener presents to its
 * clients, and how a route talks TLS to its upstream.  Both are made when
 * a route is made (at start and on every SIGHUP), so a reload re-reads the
 * files; sessions keep the SSL objects they have, which hold their own
 * reference to the context they came from.
 *
 * Settings: TLS 1.2 and 1.3 only; for 1.2 ECDHE with AEAD ciphers (the
 * Mozilla "intermediate" list without DHE); renegotiation off; a server
 * session cache (session id context: the listener's name) and tickets;
 * ALPN xmpp-client or xmpp-server chosen when the client offers one, and
 * no ALPN at all (not a failure) when it offers neither.
 */

#include <stddef.h>

#include <openssl/ssl.h>

/* Opaque types. */
struct sg_log;
struct sg_tls_server;
struct sg_tls_client;

/*
 * sg_tls_server_new(listener, certs, keys, log, err, errlen):
 * Load the certificates of listener: certs and keys are lists of file
 * names separated by blanks, keys as many as certs, or keys NULL when
 * each certificate file holds its key too.  A file may hold a chain
 * (leaf first).  A certificate that has expired or is not yet valid is
 * loaded all the same, with a warning naming the file and the date in
 * log: refusing it would turn a forgotten renewal into an outage, and a
 * verifying client refuses it anyway.  Returns the contexts, or NULL with
 * one line in err naming the file and what is wrong with it.
 */
struct sg_tls_server *sg_tls_server_new(const char *listener,
    const char *certs, const char *keys, struct sg_log *log, char *err,
    size_t errlen);

/*
 * sg_tls_server_free(srv):
 * Drop srv; SSL objects made from it stay valid.  NULL is a no-op.
 */
void sg_tls_server_free(struct sg_tls_server *srv);

/*
 * sg_tls_server_ssl(srv, hint):
 * A server-side SSL for one client, presenting the certificate that
 * matches hint (the stream's to domain in starttls mode; NULL if none)
 * until the client's SNI picks another one.  The certificate for a name
 * is the first whose names match it (X509_check_host: DNS names of the
 * subjectAltName, a leading wildcard included, else the CN); none
 * matching, the first certificate.  Returns NULL on allocation failure.
 */
SSL *sg_tls_server_ssl(struct sg_tls_server *srv, const char *hint);

/*
 * sg_tls_client_new(host, name, ca, verify, err, errlen):
 * How to reach an upstream over TLS.  name (or host, the upstream's host
 * as written, if name is NULL) is sent as SNI and, with verify, checked
 * against the certificate, which must chain to ca (a PEM file) or, if ca
 * is NULL, to the system's store.  Returns NULL with the reason in err.
 */
struct sg_tls_client *sg_tls_client_new(const char *host, const char *name,
    const char *ca, int verify, char *err, size_t errlen);

/*
 * sg_tls_client_free(cl):
 * Drop cl; SSL objects made from it stay valid.  NULL is a no-op.
 */
void sg_tls_client_free(struct sg_tls_client *cl);

/*
 * sg_tls_client_ssl(cl):
 * A client-side SSL for one upstream connection.  NULL on failure.
 */
SSL *sg_tls_client_ssl(struct sg_tls_client *cl);

/* What a session's log lines say about its TLS. */
struct sg_tls_info {
	const char *version;	/* "TLSv1.3" */
	const char *cipher;
	char sni[256];		/* "": none sent */
	int sni_match;		/* the certificate presented matches sni */
	char alpn[32];		/* "" if none negotiated */
};

/*
 * sg_tls_describe(ssl, server, info):
 * Fill info for ssl after its handshake; server: ssl is ours as a server
 * (sni_match is then worked out).  version and cipher are static.
 */
void sg_tls_describe(const SSL *ssl, int server, struct sg_tls_info *info);

/*
 * sg_tls_reason(buf, len):
 * The first error of OpenSSL's queue as one line (library: reason), or
 * "" if there is none; the queue is emptied.  Returns buf.
 */
char *sg_tls_reason(char *buf, size_t len);

#endif /* !SG_TLS_H */
