/*
 * lgtls: the TLS client side of loadgen (OpenSSL).  One context per run,
 * one SSL per connection on a non-blocking socket.  Reads and writes look
 * like recv() and send() to loadgen: -1 with errno EAGAIN while OpenSSL
 * waits for the socket, and *want_out says whether it waits to write.
 */
#ifndef LGTLS_H
#define LGTLS_H

#include <sys/types.h>

#include <openssl/ssl.h>

struct lgtls;

enum lgtls_step {
	LGTLS_DONE,		/* the handshake is complete */
	LGTLS_WANT_READ,
	LGTLS_WANT_WRITE,
	LGTLS_FAIL
};

/*
 * A client context: TLS 1.2 at least, SNI "localhost"; the server's
 * certificate is checked against the PEM file ca (and the name
 * localhost), or not at all when ca is NULL.  With resume, a connection
 * offers the newest session a server handed out that no connection
 * offered yet (none at first).  NULL on error, with the reason on stderr.
 */
struct lgtls *lgtls_new(const char *ca, int resume);

/* Frees t and the session it kept; NULL is a no-op. */
void lgtls_free(struct lgtls *t);

/* A client SSL on the connected (or connecting) fd; NULL on error. */
SSL *lgtls_open(struct lgtls *t, int fd);

/*
 * One step of the handshake.  The first few failures are explained on
 * stderr, later ones only counted.
 */
enum lgtls_step lgtls_handshake(struct lgtls *t, SSL *ssl);

/*
 * Up to len plaintext bytes, as many as OpenSSL has without waiting: > 0
 * bytes, 0 at the peer's EOF (with or without close_notify), -1 with
 * errno EAGAIN (wait; *want_out set if for writability) or EIO.
 */
ssize_t lgtls_read(SSL *ssl, void *buf, size_t len, int *want_out);

/* Like send(): bytes taken (> 0), or -1 with errno EAGAIN or EIO. */
ssize_t lgtls_write(SSL *ssl, const void *buf, size_t len, int *want_out);

/* Decrypted bytes wait in ssl that the socket will not signal. */
int lgtls_pending(const SSL *ssl);

/* The handshake resumed a session. */
int lgtls_resumed(const SSL *ssl);

/* Sends close_notify if it fits without waiting, frees ssl (not the fd). */
void lgtls_close(SSL *ssl);

/* How many handshakes failed. */
unsigned lgtls_failures(const struct lgtls *t);

#endif
