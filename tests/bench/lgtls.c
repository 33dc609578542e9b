/*
 * lgtls: the TLS client side of loadgen; see lgtls.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "lgtls.h"

#define SNI_NAME	"localhost"
#define ERRORS_SHOWN	5
#define SESSIONS_KEPT	256

/*
 * Sessions are used once each, as TLS 1.3 tickets should be (RFC 8446,
 * C.4; servers may refuse a ticket they saw): a connection takes the
 * newest one kept, and every ticket it is handed goes on the stack, the
 * oldest falling off when it is full.
 */
struct lgtls {
	SSL_CTX *ctx;
	int resume;
	unsigned failures;
	size_t nsess;
	SSL_SESSION *sess[SESSIONS_KEPT];	/* [nsess - 1]: newest */
};

/* OpenSSL hands us every new session (TLS 1.3: every ticket). */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct lgtls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (t->nsess == SESSIONS_KEPT) {
		SSL_SESSION_free(t->sess[0]);
		memmove(t->sess, t->sess + 1, --t->nsess * sizeof(*t->sess));
	}
	t->sess[t->nsess++] = sess;
	return (1);		/* we keep the reference */
}

struct lgtls *
lgtls_new(const char *ca, int resume)
{
	struct lgtls *t;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	t->resume = resume;
	SSL_CTX_set_app_data(t->ctx, t);
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A proxy that drops the TCP connection is an EOF, as for plain. */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1)
			goto fail;
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	}
	if (resume) {
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(t->ctx, on_new_session);
	} else {
		/* Full handshakes only: no ticket is asked for or kept. */
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	}
	return (t);

fail:
	fprintf(stderr, "loadgen: TLS context%s%s: %s\n", ca ? " with CA " :
	    "", ca ? ca : "", ERR_reason_error_string(ERR_get_error()));
	lgtls_free(t);
	return (NULL);
}

void
lgtls_free(struct lgtls *t)
{

	if (t == NULL)
		return;
	while (t->nsess > 0)
		SSL_SESSION_free(t->sess[--t->nsess]);
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *
lgtls_open(struct lgtls *t, int fd)
{
	SSL_SESSION *sess = NULL;
	SSL *ssl;

	if ((ssl = SSL_new(t->ctx)) == NULL)
		return (NULL);
	if (t->resume && t->nsess > 0)
		sess = t->sess[--t->nsess];
	if (SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, SNI_NAME) != 1 ||
	    (SSL_CTX_get_verify_mode(t->ctx) != SSL_VERIFY_NONE &&
	    SSL_set1_host(ssl, SNI_NAME) != 1) ||
	    (sess != NULL && SSL_set_session(ssl, sess) != 1)) {
		SSL_SESSION_free(sess);
		SSL_free(ssl);
		return (NULL);
	}
	SSL_SESSION_free(sess);		/* ssl holds its own reference */
	SSL_set_connect_state(ssl);
	return (ssl);
}

enum lgtls_step
lgtls_handshake(struct lgtls *t, SSL *ssl)
{
	int r = SSL_do_handshake(ssl);
	unsigned long e;

	if (r == 1)
		return (LGTLS_DONE);
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return (LGTLS_WANT_READ);
	case SSL_ERROR_WANT_WRITE:
		return (LGTLS_WANT_WRITE);
	default:
		break;
	}
	if (t->failures++ < ERRORS_SHOWN) {
		e = ERR_peek_error();
		fprintf(stderr, "loadgen: TLS handshake: %s\n", e != 0 ?
		    ERR_reason_error_string(e) : "connection closed");
	}
	ERR_clear_error();
	return (LGTLS_FAIL);
}

/* errno and *want_out after SSL_read or SSL_write returned r <= 0. */
static ssize_t
io_error(SSL *ssl, int r, int *want_out)
{

	*want_out = 0;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		*want_out = 1;
		/* FALLTHROUGH */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_ZERO_RETURN:
		return (0);
	default:
		ERR_clear_error();
		errno = EIO;
		return (-1);
	}
}

ssize_t
lgtls_read(SSL *ssl, void *buf, size_t len, int *want_out)
{
	size_t got = 0, n;
	int r;

	*want_out = 0;
	/* One record per SSL_read: take what is there, like one recv(). */
	while (got < len) {
		r = SSL_read_ex(ssl, (char *)buf + got, len - got, &n);
		if (r != 1)
			return (got > 0 ? (ssize_t)got : io_error(ssl, r,
			    want_out));
		got += n;
	}
	return ((ssize_t)got);
}

ssize_t
lgtls_write(SSL *ssl, const void *buf, size_t len, int *want_out)
{
	size_t n;
	int r;

	*want_out = 0;
	if ((r = SSL_write_ex(ssl, buf, len, &n)) == 1)
		return ((ssize_t)n);
	return (io_error(ssl, r, want_out));
}

int
lgtls_pending(const SSL *ssl)
{

	return (SSL_has_pending(ssl));
}

int
lgtls_resumed(const SSL *ssl)
{

	return (SSL_session_reused(ssl));
}

void
lgtls_close(SSL *ssl)
{

	if (ssl == NULL)
		return;
	if (SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}

unsigned
lgtls_failures(const struct lgtls *t)
{

	return (t->failures);
}
