/*
 * lgstanza: loadgen's stanza, one layout for loadgen and for
 * bench_tracker's expat floor, so that the floor is measured on the very
 * bytes loadgen sends.  Every stanza is exactly size bytes:
 *   <message to='TO' type='chat' id='NNNNNNNNNN'><body>
 *   TTTTTTTTTTTTTTTTTTTT xxx...</body></message>
 * N is a sequence number, T CLOCK_MONOTONIC in ns when it was sent.
 */
#ifndef LGSTANZA_H
#define LGSTANZA_H

#include <stddef.h>
#include <stdint.h>

/* The stream header loadgen sends, to the domain to. */
#define LGSTANZA_HEADER(to) "<?xml version='1.0'?><stream:stream to='" to \
	"' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/" \
	"streams' version='1.0'>"
/* Where echo_upstream's stanzas go (to echo_upstream, nowhere). */
#define LGSTANZA_ECHO_DOMAIN	"bench.example"
#define LGSTANZA_ECHO_TO	"echo@" LGSTANZA_ECHO_DOMAIN

#define LGSTANZA_OPEN		"<message to='"
#define LGSTANZA_ATTRS		"' type='chat' id='"
#define LGSTANZA_HEAD(to)	LGSTANZA_OPEN to LGSTANZA_ATTRS
#define LGSTANZA_MID		"'><body>"
#define LGSTANZA_TAIL		"</body></message>"
#define LGSTANZA_ID_DIGITS	10
#define LGSTANZA_TS_DIGITS	20

struct lgstanza {
	char *tmpl;		/* one stanza, id and time to fill in */
	size_t size;
	size_t id_off;		/* where the id's digits start */
	size_t ts_off;		/* where the time's digits start */
};

/*
 * The template of size-byte stanzas to the JID to (copied).  0, or -1 if
 * size is too small for the layout (errno EINVAL) or memory is short.
 */
int lgstanza_init(struct lgstanza *st, const char *to, size_t size);

/* Write one stanza at p (st->size bytes) with this id and time. */
void lgstanza_put(const struct lgstanza *st, char *p, uint64_t id,
    uint64_t ns);

/* The template's memory; st may be zeroed or already freed. */
void lgstanza_free(struct lgstanza *st);

#endif
