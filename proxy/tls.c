/*
 * TLS contexts: one SSL_CTX per certificate of a listener (SNI switches
 * between them with SSL_set_SSL_CTX), one per upstream route.
 *
 * Owns the SSL_CTXs; calls OpenSSL and log (certificate warnings).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

/* Certificates one listener may have. */
#define CERTS_MAX	16
#define PATH_LEN	1024

/* Mozilla "intermediate" for TLS 1.2, ECDHE and AEAD only. */
#define CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct sg_tls_server {
	size_t n;
	SSL_CTX *ctx[CERTS_MAX];	/* [0]: the default */
};

struct sg_tls_client {
	SSL_CTX *ctx;
	char *name;		/* SNI and the name verified */
	int verify;
};

char *
sg_tls_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	buf[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return (buf);
}

/* The next blank-separated word of *s into buf; 0 when there is none. */
static int
next_word(const char **s, char *buf, size_t len)
{
	const char *p = *s + strspn(*s, " \t");
	size_t n = strcspn(p, " \t");

	if (n == 0)
		return (0);
	snprintf(buf, len, "%.*s", (int)n, p);
	*s = p + n;
	return (1);
}

/* Settings shared by server and client contexts. */
static SSL_CTX *
ctx_new(const SSL_METHOD *m)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(m)) == NULL)
		return (NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, CIPHERS_12) != 1) {
		SSL_CTX_free(ctx);
		return (NULL);
	}
	/*
	 * EOF without close_notify reads as EOF: clients often omit it, and
	 * the close engine treats EOF without a close tag as a vanished peer
	 * anyway.  No renegotiation: SSL_write never needs to read.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return (ctx);
}

/* ALPN: xmpp-client or xmpp-server if offered, else go on without. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] =
	    "\x0bxmpp-client\x0bxmpp-server";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, ours,
	    sizeof(ours) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_OK);
	return (SSL_TLSEXT_ERR_NOACK);
}

static int
cert_matches(X509 *x, const char *name)
{

	return (x != NULL && name != NULL &&
	    X509_check_host(x, name, 0, 0, NULL) == 1);
}

static SSL_CTX *
pick(struct sg_tls_server *srv, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < srv->n; i++)
		if (cert_matches(SSL_CTX_get0_certificate(srv->ctx[i]), name))
			return (srv->ctx[i]);
	return (srv->ctx[0]);
}

/* SNI: switch to the matching certificate; none sent, keep the hint's. */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct sg_tls_server *srv = arg;
	const char *name;

	(void)alert;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return (SSL_TLSEXT_ERR_NOACK);
	/* No match: the default, and the log line says sni_match=no. */
	(void)SSL_set_SSL_CTX(ssl, pick(srv, name));
	return (SSL_TLSEXT_ERR_OK);
}

/* "cannot read: ..." or "" if path can be opened. */
static int
readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s %s: cannot read: %s", what, path,
		    strerror(errno));
		return (-1);
	}
	fclose(fp);
	return (0);
}

static void
asn1_time(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *b;
	int n;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (ASN1_TIME_print(b, t) == 1 && (n = BIO_read(b, buf,
	    (int)len - 1)) > 0)
		buf[n] = '\0';
	BIO_free(b);
}

/* Expired or not yet valid: a warning, not a refusal (see tls.h). */
static void
warn_validity(X509 *x, const char *listener, const char *path,
    struct sg_log *log)
{
	struct sg_log_rec r;
	char when[64];
	int late, early;

	late = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	early = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	if (!late && !early)
		return;
	asn1_time(late ? X509_get0_notAfter(x) : X509_get0_notBefore(x),
	    when, sizeof(when));
	sg_log_begin(&r, log, LOG_WARNING, "certificate-invalid");
	sg_log_str(&r, "listener", listener);
	sg_log_str(&r, "file", path);
	sg_log_str(&r, late ? "not_after" : "not_before", when);
	sg_log_str(&r, "msg", late ? "certificate has expired; loaded all "
	    "the same" : "certificate is not yet valid; loaded all the same");
	sg_log_end(&r);
}

/* One context with the certificate chain in cert and the key in key. */
static SSL_CTX *
server_ctx(struct sg_tls_server *srv, const char *listener,
    const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];

	if (readable("certificate", cert, err, errlen) == -1 ||
	    readable("key", key, err, errlen) == -1)
		return (NULL);
	if ((ctx = ctx_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "TLS: %s", sg_tls_reason(why,
		    sizeof(why)));
		return (NULL);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "certificate %s: no PEM certificate "
		    "(%s)", cert, sg_tls_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		sg_tls_reason(why, sizeof(why));
		if (strstr(why, "values mismatch") != NULL)
			snprintf(err, errlen, "key %s does not match "
			    "certificate %s", key, cert);
		else if (strcmp(key, cert) == 0)
			snprintf(err, errlen, "certificate %s holds no "
			    "private key (name its file in key =)", cert);
		else
			snprintf(err, errlen, "key %s: no PEM private key "
			    "(%s)", key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		    key, cert);
		ERR_clear_error();
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	(void)SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)listener, (unsigned)strlen(listener));
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, srv);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return (ctx);

fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

static int
load_all(struct sg_tls_server *srv, const char *listener, const char *certs,
    const char *keys, struct sg_log *log, char *err, size_t errlen)
{
	char cert[PATH_LEN], key[PATH_LEN];

	while (next_word(&certs, cert, sizeof(cert))) {
		if (keys != NULL && !next_word(&keys, key, sizeof(key))) {
			snprintf(err, errlen, "fewer keys than certificates "
			    "(none for %s)", cert);
			return (-1);
		}
		if (srv->n == CERTS_MAX) {
			snprintf(err, errlen, "more than %d certificates",
			    CERTS_MAX);
			return (-1);
		}
		srv->ctx[srv->n] = server_ctx(srv, listener, cert,
		    keys != NULL ? key : cert, err, errlen);
		if (srv->ctx[srv->n] == NULL)
			return (-1);
		warn_validity(SSL_CTX_get0_certificate(srv->ctx[srv->n]),
		    listener, cert, log);
		srv->n++;
	}
	if (keys != NULL && next_word(&keys, key, sizeof(key))) {
		snprintf(err, errlen, "more keys than certificates (%s)", key);
		return (-1);
	}
	if (srv->n == 0) {
		snprintf(err, errlen, "no certificate");
		return (-1);
	}
	return (0);
}

struct sg_tls_server *
sg_tls_server_new(const char *listener, const char *certs, const char *keys,
    struct sg_log *log, char *err, size_t errlen)
{
	struct sg_tls_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (load_all(srv, listener, certs, keys, log, err, errlen) == -1) {
		sg_tls_server_free(srv);
		return (NULL);
	}
	return (srv);
}

void
sg_tls_server_free(struct sg_tls_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n; i++)
		SSL_CTX_free(srv->ctx[i]);
	free(srv);
}

SSL *
sg_tls_server_ssl(struct sg_tls_server *srv, const char *hint)
{
	SSL *ssl;

	if ((ssl = SSL_new(pick(srv, hint))) != NULL)
		SSL_set_accept_state(ssl);
	return (ssl);
}

struct sg_tls_client *
sg_tls_client_new(const char *host, const char *name, const char *ca,
    int verify, char *err, size_t errlen)
{
	struct sg_tls_client *cl;
	char why[256];

	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->name = strdup(name != NULL ? name : host)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cl->verify = verify;
	if (ca != NULL && readable("upstream-tls-ca", ca, err, errlen) == -1)
		goto fail;
	if ((cl->ctx = ctx_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "TLS: %s", sg_tls_reason(why,
		    sizeof(why)));
		goto fail;
	}
	if (!verify)
		return (cl);
	SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
	if ((ca != NULL ? SSL_CTX_load_verify_locations(cl->ctx, ca, NULL) :
	    SSL_CTX_set_default_verify_paths(cl->ctx)) != 1) {
		snprintf(err, errlen, "upstream-tls-ca %s: %s",
		    ca != NULL ? ca : "(system store)",
		    sg_tls_reason(why, sizeof(why)));
		goto fail;
	}
	return (cl);

fail:
	sg_tls_client_free(cl);
	return (NULL);
}

void
sg_tls_client_free(struct sg_tls_client *cl)
{

	if (cl == NULL)
		return;
	SSL_CTX_free(cl->ctx);
	free(cl->name);
	free(cl);
}

static int
is_ip(const char *s)
{
	unsigned char b[16];

	return (inet_pton(AF_INET, s, b) == 1 ||
	    inet_pton(AF_INET6, s, b) == 1);
}

SSL *
sg_tls_client_ssl(struct sg_tls_client *cl)
{
	SSL *ssl;
	int ip = is_ip(cl->name), ok = 1;

	if ((ssl = SSL_new(cl->ctx)) == NULL)
		return (NULL);
	SSL_set_connect_state(ssl);
	/* RFC 6066: no SNI for an address. */
	if (!ip)
		ok = SSL_set_tlsext_host_name(ssl, cl->name) == 1;
	if (ok && cl->verify)
		ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    cl->name) == 1 : SSL_set1_host(ssl, cl->name) == 1;
	if (!ok) {
		SSL_free(ssl);
		return (NULL);
	}
	return (ssl);
}

void
sg_tls_describe(const SSL *ssl, int server, struct sg_tls_info *info)
{
	const unsigned char *alpn;
	unsigned int alen;
	const char *sni;

	memset(info, 0, sizeof(*info));
	info->version = SSL_get_version(ssl);
	info->cipher = SSL_get_cipher_name(ssl);
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL)
		snprintf(info->sni, sizeof(info->sni), "%s", sni);
	if (server && sni != NULL)
		info->sni_match = cert_matches(SSL_get_certificate(ssl), sni);
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	if (alen > 0 && alen < sizeof(info->alpn)) {
		memcpy(info->alpn, alpn, alen);
		info->alpn[alen] = '\0';
	}
}
