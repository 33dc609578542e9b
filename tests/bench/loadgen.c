/*
 * loadgen: XMPP-like load against echo_upstream, directly or through a
 * proxy.  Opens N sessions (several 127.0.0.x source addresses, so more
 * than 64k sessions fit; at most MAX_PENDING handshakes at once, so no
 * listen backlog overflows), sends a stream header to each and waits for
 * the answering header, then runs one mode:
 *
 *   throughput  W stanzas of B bytes in flight per session: each one that
 *               comes back is replaced.  Stanzas/s, MB/s, latency.
 *   rate        R stanzas/s over all sessions, paced evenly, one write per
 *               stanza.  p50/p99/p99.9 round-trip latency (and with
 *               --hist, in throughput mode too, the whole histogram).
 *   idle        hold the sessions, send nothing ("ready" on stdout) until
 *               SIGTERM/SIGINT or the hold time is up.
 *   storm       hold the sessions, send SIGTERM to -k PID, answer every
 *               close tag with ours, time until every session had EOF.
 *   handshakes  -c slots, each a loop for -d seconds (after -u of warm-up)
 *               of: connect, (TLS handshake,) stream header, the answering
 *               header, our close tag, theirs, close.  Connections/s.
 *
 * --xmpp DOMAIN: a real XMPP server instead of echo_upstream (throughput and
 * rate modes).  Session i logs in as USER<i+1>@DOMAIN (--user USER, default
 * "u"; --password, default "secret") with SASL PLAIN, restarts the stream,
 * binds the resource "lg" (--resource RES), then sends its stanzas to its
 * own full JID, which the server routes back: loadgens that differ in RES
 * can share the accounts and the server at the same time.  A reply is
 * found by its </message>, matched by its id (the session's next one, in
 * order) and timed by its body.  With
 * --sm each session enables stream management (XEP-0198) after binding,
 * as a client that does it itself, and answers each <r/> with the count
 * of messages received before it: what stanzaguard's hand-back asks of
 * the server, without stanzaguard.
 *
 * --tls speaks TLS from the first byte (XEP-0368 direct TLS, lgtls.c):
 * SNI localhost, the certificate checked against --ca FILE or not at all.
 * In handshakes mode every handshake is a full one, or with --resume
 * every connection offers the session the previous one was handed.
 *
 * Every stanza is exactly B bytes:
 *   <message to='echo@bench.example' type='chat' id='NNNNNNNNNN'><body>
 *   TTTTTTTTTTTTTTTTTTTT xxx...</body></message>
 * T is CLOCK_MONOTONIC in ns when the stanza was handed to write(), so the
 * round trip is measured when its copy comes back; the fixed size finds
 * the stanzas in the returned bytes without parsing XML.  Under --xmpp
 * they go to the session's own JID, and the server's copies (serialized
 * its own way, a from added) are searched for their id and time.
 *
 * CPU: -P PID (repeatable) reads utime+stime of those processes from
 * /proc/PID/stat at the start and end of the measured window.
 *
 * Output: one line of key=value on stdout (and "ready" lines in idle and
 * storm modes).  Exit 0 if every session did what was asked, 1 if not.
 *
 * This file is longer than our usual 500 lines: five modes share one
 * session machine, and a benchmark tool split into modules would only be
 * harder to read in one go.  What OpenSSL needs is in lgtls.c.
 */
#define _GNU_SOURCE	/* epoll_pwait2 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lgstanza.h"
#include "lgtls.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define MAX_PORTS	8
#define MAX_CPU_PIDS	4
#define MAX_PENDING	256		/* handshakes under way at once */
#define MAX_EVENTS	512
#define IBUF		(16 * 1024)	/* --xmpp: bytes not yet taken */
#define XMPP_ROOM	1024		/* --xmpp: for auth, header, bind */
#define MAX_RESOURCE	64		/* --resource */
/* --sm: as Prosody writes its request; our answer carries recvd. */
#define SM_ENABLE	"<enable xmlns='urn:xmpp:sm:3'/>"
#define SM_REQUEST	"<r xmlns='urn:xmpp:sm:3'/>"
#define RBUF		(256 * 1024)
#define HBUF		512
#define NS		1000000000ULL

#define CLOSE_TAG	"</stream:stream>"
/* In echo_upstream's header: a proxy's own (with a stream error) is not. */
#define ECHO_ID		"id='echo'"
#define CLOSE_LEN	(sizeof(CLOSE_TAG) - 1)

/* The fixed layout of a stanza to echo_upstream (lgstanza.h). */
#define REC_HEAD	LGSTANZA_HEAD(LGSTANZA_ECHO_TO)
#define ID_OFF		(sizeof(REC_HEAD) - 1)
#define TS_OFF		(ID_OFF + LGSTANZA_ID_DIGITS + \
	sizeof(LGSTANZA_MID) - 1)
#define TS_DIGITS	LGSTANZA_TS_DIGITS
#define PREFIX		(TS_OFF + TS_DIGITS)	/* bytes we look at */
#define MIN_SIZE	(PREFIX + 1 + sizeof(LGSTANZA_TAIL) - 1)

/*
 * Latency histogram: exact below 256 ns, then 256 buckets per power of 2
 * (0.4%: 37 us wide at 10 ms, where the Prosody rows' p99 lies; 32 a
 * power made them 262 us wide, more than the proxies' differences).
 */
#define HIST_SUB_BITS	8
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	(HIST_SUB + (64 - HIST_SUB_BITS) * HIST_SUB)

enum mode { M_NONE, M_THROUGHPUT, M_RATE, M_IDLE, M_STORM, M_HANDSHAKES };
enum state { S_CONNECTING, S_TLS, S_HEADER, S_LOGIN, S_RUNNING, S_DONE };
/* --xmpp: what S_LOGIN waits for. */
enum login { L_FEATURES, L_SUCCESS, L_BIND_FEATURES, L_BOUND };

struct sess {
	int fd;
	SSL *ssl;		/* NULL without --tls */
	enum state st;
	int want_out;		/* EPOLLOUT is asked for */
	int tag_sent;		/* our close tag is queued */
	int tag_got;		/* theirs came */
	int shut;		/* we shut down our write half */
	int match;		/* bytes of CLOSE_TAG matched so far */
	char *out;		/* unwritten bytes: out[ooff..olen) */
	size_t ooff, olen, ocap;
	uint64_t sent, recvd;	/* stanzas */
	uint32_t next_id;
	size_t rec_off;		/* in the stanza being received */
	char pre[PREFIX];
	size_t hlen;
	char *hbuf;		/* answering header, while S_HEADER */
	/* --xmpp */
	enum login login;
	char *ibuf;		/* read, not yet taken: ibuf[0..ilen) */
	size_t ilen;
	struct lgstanza own;	/* the stanza to our own full JID */
	uint64_t done_at;
	uint64_t opened_at;	/* connect() was called */
};

struct hist {
	uint64_t n;
	uint64_t b[HIST_BUCKETS];
};

struct snap {
	uint64_t t, stanzas, bytes;
	uint64_t cpu_ms[MAX_CPU_PIDS];
	uint64_t user_ms[MAX_CPU_PIDS];
	uint64_t cs[MAX_CPU_PIDS];
	uint64_t self_ms;
};

struct lg {
	/* options */
	enum mode mode;
	unsigned nsess, window, nsrc, nports, ncpu;
	size_t size;
	double seconds, warmup, hold, rate;
	int ports[MAX_PORTS];
	pid_t cpu_pid[MAX_CPU_PIDS];
	pid_t kill_pid;
	struct in_addr host;
	int use_tls, resume;
	int print_hist;			/* --hist */
	int sm;				/* --sm */
	const char *ca;
	const char *domain;	/* --xmpp; NULL: echo_upstream */
	const char *user, *password;
	const char *resource;		/* --xmpp: what each session binds */
	/* state */
	int ep;
	struct lgtls *tls;
	struct sess *s;
	struct lgstanza tmpl;	/* the stanza to echo_upstream */
	char *header;		/* our stream header */
	size_t header_len;
	unsigned opened, pending, up, done, failed, unexpected_eof, bad;
	uint64_t stanzas, bytes;	/* received, all sessions */
	uint64_t sent_total, skipped;
	int measuring, stopping;
	uint64_t w0, w1;
	struct hist lat;
	struct hist done_hist;	/* storm: time to EOF per session */
	uint64_t first_tag;
	/* handshakes: closed cleanly, of them resumed, ended otherwise */
	uint64_t cycles, resumed, broken;
	double up_ms;		/* until every session was up (and bound) */
	char rbuf[RBUF];
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{

	(void)sig;
	stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec);
}

static unsigned
hist_index(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return ((unsigned)v);
	e = 63 - (unsigned)__builtin_clzll(v);	/* HIST_SUB_BITS to 63 */
	return (HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	    (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1)));
}

/* The middle of bucket i, in ns. */
static double
hist_value(unsigned i)
{
	unsigned e;
	double lo, w;

	if (i < HIST_SUB)
		return (i);
	e = (i - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	w = (double)(1ULL << (e - HIST_SUB_BITS));
	lo = (double)(1ULL << e) + (double)((i - HIST_SUB) % HIST_SUB) * w;
	return (lo + w / 2);
}

static void
hist_add(struct hist *h, uint64_t v)
{

	h->b[hist_index(v)]++;
	h->n++;
}

/* The q-quantile (0..1) in microseconds, 0 when empty. */
static double
hist_quantile_us(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->n == 0)
		return (0);
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return (hist_value(i) / 1000.);
	}
	return (hist_value(HIST_BUCKETS - 1) / 1000.);
}

/*
 * " hist=V:N,V:N...": each bucket that holds N > 0 round trips, by its
 * middle V in ns, so that the runs of a kind can be pooled (run.sh).
 */
static void
hist_print(const struct hist *h)
{
	const char *sep = "=";
	unsigned i;

	printf(" hist");
	for (i = 0; i < HIST_BUCKETS; i++) {
		if (h->b[i] == 0)
			continue;
		printf("%s%.0f:%llu", sep, hist_value(i),
		    (unsigned long long)h->b[i]);
		sep = ",";
	}
	if (*sep == '=')
		printf("=");
}

/*
 * utime + stime of pid in ms, from /proc/PID/stat, and utime alone in
 * *user; 0 if gone.
 */
static uint64_t
cpu_ms_of(pid_t pid, uint64_t *user)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, hz = (unsigned long long)sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	*user = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces: count fields after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return (0);
	*user = ut * 1000 / hz;
	return ((ut + st) * 1000 / hz);
}

/*
 * Context switches of pid, voluntary and not, from /proc/PID/status; 0 if
 * gone.  A process that sleeps in epoll_wait until a peer's write wakes it
 * switches once per wake-up, and the writer pays for the wake-up.
 */
static uint64_t
switches_of(pid_t pid)
{
	char path[64], line[256];
	unsigned long long v, sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			sum += v;
	fclose(f);
	return (sum);
}

/* pid has exited: no /proc entry, or a zombie waiting for its parent. */
static int
exited(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (1);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return (p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X');
}

static void
take_snap(struct lg *g, struct snap *sn)
{
	struct rusage ru;
	unsigned i;

	sn->t = now_ns();
	sn->stanzas = g->stanzas;
	sn->bytes = g->bytes;
	for (i = 0; i < g->ncpu; i++) {
		sn->cpu_ms[i] = cpu_ms_of(g->cpu_pid[i], &sn->user_ms[i]);
		sn->cs[i] = switches_of(g->cpu_pid[i]);
	}
	getrusage(RUSAGE_SELF, &ru);
	sn->self_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    1000 + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
	    1000;
}

static int
watch(struct lg *g, struct sess *s, int op, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = s;
	return (epoll_ctl(g->ep, op, s->fd, &ev));
}

static void
sess_end(struct lg *g, struct sess *s, uint64_t now)
{

	if (s->st == S_DONE)
		return;
	if (s->st == S_CONNECTING || s->st == S_TLS || s->st == S_HEADER ||
	    s->st == S_LOGIN) {
		g->pending--;
		g->failed++;
	}
	if (g->mode == M_HANDSHAKES && g->measuring && !s->tag_got)
		g->broken++;
	lgtls_close(s->ssl);
	s->ssl = NULL;
	close(s->fd);
	s->fd = -1;
	s->st = S_DONE;
	s->done_at = now;
	free(s->hbuf);
	s->hbuf = NULL;
	g->done++;
}

/* Ask for EPOLLOUT, or stop asking. */
static void
want_out(struct lg *g, struct sess *s, int on)
{

	if (on != s->want_out && watch(g, s, EPOLL_CTL_MOD,
	    on ? EPOLLIN | EPOLLOUT : EPOLLIN) == 0)
		s->want_out = on;
}

/* send(), or SSL_write under --tls; *out: it waits for writability. */
static ssize_t
sess_send(struct sess *s, const char *p, size_t len, int *out)
{

	*out = 1;
	if (s->ssl != NULL)
		return (lgtls_write(s->ssl, p, len, out));
	return (send(s->fd, p, len, MSG_NOSIGNAL));
}

/* recv(), or SSL_read under --tls; *out: it waits for writability. */
static ssize_t
sess_recv(struct sess *s, char *p, size_t len, int *out)
{

	*out = 0;
	if (s->ssl != NULL)
		return (lgtls_read(s->ssl, p, len, out));
	return (recv(s->fd, p, len, 0));
}

/* Write what is queued; ask for EPOLLOUT while the socket is full. */
static void
flush(struct lg *g, struct sess *s, uint64_t now)
{
	ssize_t n;
	int out;

	while (s->ooff < s->olen) {
		n = sess_send(s, s->out + s->ooff, s->olen - s->ooff, &out);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* TLS waiting to read: EPOLLIN is always asked. */
			if (out)
				want_out(g, s, 1);
			return;
		}
		if (n == -1) {
			g->unexpected_eof++;
			sess_end(g, s, now);
			return;
		}
		s->ooff += (size_t)n;
	}
	s->ooff = s->olen = 0;
	want_out(g, s, 0);
}

/* Room for len more bytes in s->out, or 0. */
static char *
out_room(struct sess *s, size_t len)
{

	if (s->olen + len > s->ocap && s->ooff > 0) {
		memmove(s->out, s->out + s->ooff, s->olen - s->ooff);
		s->olen -= s->ooff;
		s->ooff = 0;
	}
	return (s->olen + len <= s->ocap ? s->out + s->olen : NULL);
}

/* Queue k stanzas stamped with now; returns how many fitted. */
static unsigned
queue_stanzas(struct lg *g, struct sess *s, unsigned k, uint64_t now)
{
	unsigned i;
	char *p;

	for (i = 0; i < k; i++) {
		if ((p = out_room(s, g->size)) == NULL)
			break;
		lgstanza_put(g->domain != NULL ? &s->own : &g->tmpl, p,
		    s->next_id++, now);
		s->olen += g->size;
		s->sent++;
	}
	return (i);
}

static void
queue_close(struct lg *g, struct sess *s, uint64_t now)
{
	char *p;

	if (s->tag_sent || s->st != S_RUNNING)
		return;
	if ((p = out_room(s, CLOSE_LEN)) == NULL)
		return;		/* cannot happen: room is kept for it */
	memcpy(p, CLOSE_TAG, CLOSE_LEN);
	s->olen += CLOSE_LEN;
	s->tag_sent = 1;
	flush(g, s, now);
}

/* A whole stanza came back: its round trip, and maybe the next one. */
static void
stanza_back(struct lg *g, struct sess *s, uint64_t now)
{
	uint64_t ts = 0;
	int i;

	s->recvd++;
	if (memcmp(s->pre, REC_HEAD, ID_OFF) != 0)
		g->bad++;
	for (i = 0; i < TS_DIGITS; i++)
		ts = ts * 10 + (uint64_t)(s->pre[TS_OFF + i] - '0');
	if (g->measuring) {
		g->stanzas++;
		g->bytes += g->size;
		if (ts <= now)
			hist_add(&g->lat, now - ts);
	}
	if (g->mode == M_THROUGHPUT && !g->stopping)
		queue_stanzas(g, s, 1, now);
}

/* handshakes: both close tags crossed, so a client closes now. */
static void
cycle_done(struct lg *g, struct sess *s, uint64_t now)
{

	if (g->measuring) {
		g->cycles++;
		if (s->ssl != NULL && lgtls_resumed(s->ssl))
			g->resumed++;
		hist_add(&g->lat, now - s->opened_at);
	}
	sess_end(g, s, now);
}

/* Both tags crossed: a client closes TCP now. */
static void
maybe_shut(struct lg *g, struct sess *s)
{

	if (s->tag_got && s->tag_sent && !s->shut && g->mode != M_STORM &&
	    s->ooff == s->olen) {
		s->shut = 1;
		(void)shutdown(s->fd, SHUT_WR);
	}
}

/* Bytes after the stream header: stanzas, then maybe a close tag. */
static void
take_bytes(struct lg *g, struct sess *s, const char *p, size_t n,
    uint64_t now)
{
	size_t k;

	while (n > 0 && s->recvd < s->sent) {
		k = g->size - s->rec_off < n ? g->size - s->rec_off : n;
		if (s->rec_off < PREFIX)
			memcpy(s->pre + s->rec_off, p, s->rec_off + k <
			    PREFIX ? k : PREFIX - s->rec_off);
		s->rec_off += k;
		p += k;
		n -= k;
		if (s->rec_off == g->size) {
			s->rec_off = 0;
			stanza_back(g, s, now);
		}
	}
	/* Past every stanza we sent: only a close tag may come. */
	for (; n > 0 && !s->tag_got; p++, n--) {
		if (*p == CLOSE_TAG[s->match])
			s->match++;
		else
			s->match = *p == '<';
		if ((size_t)s->match < CLOSE_LEN)
			continue;
		s->tag_got = 1;
		if (g->first_tag == 0)
			g->first_tag = now;
		if (g->mode == M_STORM)
			queue_close(g, s, now);
		if (g->mode == M_HANDSHAKES) {
			cycle_done(g, s, now);
			return;
		}
	}
	maybe_shut(g, s);
}

/* The end of "<stream:stream ...>" in h, or 0 if not there yet. */
static size_t
header_end(const char *h, size_t len)
{
	const char *p, *q;

	for (p = h; p + 14 <= h + len; p++) {
		if (memcmp(p, "<stream:stream", 14) != 0)
			continue;
		if ((q = memchr(p, '>', (size_t)(h + len - p))) == NULL)
			return (0);
		return ((size_t)(q - h) + 1);
	}
	return (0);
}

static void
header_bytes(struct lg *g, struct sess *s, const char *p, size_t n,
    uint64_t now)
{
	size_t end, k = HBUF - s->hlen < n ? HBUF - s->hlen : n;
	size_t before = s->hlen;

	memcpy(s->hbuf + s->hlen, p, k);
	s->hlen += k;
	if ((end = header_end(s->hbuf, s->hlen)) == 0) {
		if (s->hlen == HBUF) {
			g->bad++;
			sess_end(g, s, now);
		}
		return;
	}
	/* handshakes: the stanzas of other modes show the path works. */
	if (g->mode == M_HANDSHAKES &&
	    memmem(s->hbuf, end, ECHO_ID, sizeof(ECHO_ID) - 1) == NULL) {
		if (g->bad++ == 0)
			fprintf(stderr, "loadgen: not echo_upstream's header: "
			    "%.*s\n", (int)s->hlen, s->hbuf);
		sess_end(g, s, now);
		return;
	}
	free(s->hbuf);
	s->hbuf = NULL;
	s->st = S_RUNNING;
	g->pending--;
	g->up++;
	if (g->mode == M_HANDSHAKES)
		queue_close(g, s, now);
	if (s->st != S_DONE && end - before < n)
		take_bytes(g, s, p + (end - before), n - (end - before), now);
}

/* --xmpp: where str starts in b[0..len), or NULL. */
static const char *
find(const char *b, size_t len, const char *str)
{

	return (memmem(b, len, str, strlen(str)));
}

/*
 * --xmpp: the length from b to the end of the first complete element
 * <name .../> or <name ...>...</name> in b[0..len), or 0 if it has not
 * all come yet.
 */
static size_t
elem_end(const char *b, size_t len, const char *name)
{
	const char *p = b, *end = b + len, *q;
	size_t nl = strlen(name);
	char close[64];
	int n;

	for (;;) {
		if ((p = memchr(p, '<', (size_t)(end - p))) == NULL ||
		    (size_t)(end - p) < nl + 2)
			return (0);
		if (memcmp(p + 1, name, nl) == 0 && (p[nl + 1] == ' ' ||
		    p[nl + 1] == '>' || p[nl + 1] == '/'))
			break;
		p++;
	}
	if ((q = memchr(p, '>', (size_t)(end - p))) == NULL)
		return (0);
	if (q[-1] == '/')
		return ((size_t)(q - b) + 1);
	n = snprintf(close, sizeof(close), "</%s>", name);
	if ((q = memmem(q, (size_t)(end - q), close, (size_t)n)) == NULL)
		return (0);
	return ((size_t)(q - b) + (size_t)n);
}

/* --xmpp: the n digits at p, or -1 if they are not all there. */
static int
get_digits(const char *p, const char *end, int n, uint64_t *v)
{

	*v = 0;
	if (end - p < n)
		return (-1);
	for (; n > 0; n--, p++) {
		if (*p < '0' || *p > '9')
			return (-1);
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	return (0);
}

/* --xmpp: the session fails; the first failure says why and shows b. */
static void
xmpp_fail(struct lg *g, struct sess *s, uint64_t now, const char *why,
    const char *b, size_t len)
{

	if (g->bad++ == 0)
		fprintf(stderr, "loadgen: session %u: %s: %.*s\n",
		    (unsigned)(s - g->s), why, (int)(len < 400 ? len : 400), b);
	sess_end(g, s, now);
}

/* Queue len bytes; -1 if there is no room (cannot happen: XMPP_ROOM). */
static int
queue_bytes(struct sess *s, const char *p, size_t len)
{
	char *o;

	if ((o = out_room(s, len)) == NULL)
		return (-1);
	memcpy(o, p, len);
	s->olen += len;
	return (0);
}

/* --xmpp: "\0USER<i+1>\0PASSWORD" in base64, in an <auth/> element. */
static int
queue_auth(struct lg *g, struct sess *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char head[] = "<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='PLAIN'>";
	char plain[256], out[400];
	size_t len, i, o = 0;
	uint32_t v;
	int n;

	n = snprintf(plain, sizeof(plain), "%c%s%u%c%s", 0, g->user,
	    (unsigned)(s - g->s) + 1, 0, g->password);
	if (n < 0 || (size_t)n >= sizeof(plain))
		return (-1);
	len = (size_t)n;
	memcpy(out, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)(unsigned char)plain[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)plain[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	memcpy(out + o, "</auth>", 7);
	return (queue_bytes(s, out, o + 7));
}

/* --xmpp: bound as jid[0..len): stanzas go to it from now on. */
static void
xmpp_bound(struct lg *g, struct sess *s, const char *jid, size_t len,
    uint64_t now)
{
	char to[256];

	if (len >= sizeof(to)) {
		xmpp_fail(g, s, now, "JID too long", jid, len);
		return;
	}
	memcpy(to, jid, len);
	to[len] = '\0';
	if (lgstanza_init(&s->own, to, g->size) == -1) {
		xmpp_fail(g, s, now, "-b too small for a stanza to", jid, len);
		return;
	}
	if (g->sm && queue_bytes(s, SM_ENABLE, sizeof(SM_ENABLE) - 1) == -1) {
		xmpp_fail(g, s, now, "no room to queue", jid, len);
		return;
	}
	s->st = S_RUNNING;
	g->pending--;
	g->up++;
}

/*
 * --xmpp: one step of the login on the element that ends e bytes into b:
 * the features (auth), success (restart), the features again (bind), the
 * bind result (running).
 */
static void
login_step(struct lg *g, struct sess *s, const char *b, size_t e,
    uint64_t now)
{
	char bind[MAX_RESOURCE + 128];
	const char *j, *je;
	int r = 0, n;

	switch (s->login) {
	case L_FEATURES:
		if (find(b, e, ">PLAIN<") == NULL) {
			xmpp_fail(g, s, now, "no SASL PLAIN offered", b, e);
			return;
		}
		r = queue_auth(g, s);
		s->login = L_SUCCESS;
		break;
	case L_SUCCESS:
		r = queue_bytes(s, g->header, g->header_len);
		s->login = L_BIND_FEATURES;
		break;
	case L_BIND_FEATURES:
		n = snprintf(bind, sizeof(bind), "<iq type='set' id='bind'><bind "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s"
		    "</resource></bind></iq>", g->resource);
		r = queue_bytes(s, bind, (size_t)n);
		s->login = L_BOUND;
		break;
	case L_BOUND:
		if (find(b, e, "type='result'") == NULL ||
		    (j = find(b, e, "<jid>")) == NULL ||
		    (je = find(j, (size_t)(b + e - j), "</jid>")) == NULL) {
			xmpp_fail(g, s, now, "bind failed", b, e);
			return;
		}
		xmpp_bound(g, s, j + 5, (size_t)(je - j - 5), now);
		return;
	}
	if (r == -1)
		xmpp_fail(g, s, now, "no room to queue", b, e);
	else
		flush(g, s, now);
}

/* --xmpp: the element each login step waits for. */
static const char *const login_wants[] = {
	[L_FEATURES] = "stream:features",
	[L_SUCCESS] = "success",
	[L_BIND_FEATURES] = "stream:features",
	[L_BOUND] = "iq"
};

/* --xmpp: the login, as far as the bytes from *at go; moves *at on. */
static void
xmpp_login(struct lg *g, struct sess *s, size_t *at, uint64_t now)
{
	const char *b;
	size_t len, e;

	/* Each round takes an element or returns. */
	while (s->st == S_LOGIN) {
		b = s->ibuf + *at;
		len = s->ilen - *at;
		if (elem_end(b, len, "stream:error") > 0 ||
		    elem_end(b, len, "failure") > 0) {
			xmpp_fail(g, s, now, "login failed", b, len);
			return;
		}
		if ((e = elem_end(b, len, login_wants[s->login])) == 0)
			return;
		login_step(g, s, b, e, now);
		*at += e;
	}
}

/* --xmpp: a reply b[0..e), up to its </message>: match, time, replace. */
static void
xmpp_reply(struct lg *g, struct sess *s, const char *b, size_t e,
    uint64_t now)
{
	const char *id, *body;
	uint64_t n, ts;

	if ((id = find(b, e, " id='")) == NULL ||
	    get_digits(id + 5, b + e, LGSTANZA_ID_DIGITS, &n) == -1 ||
	    (body = find(b, e, "<body>")) == NULL ||
	    get_digits(body + 6, b + e, LGSTANZA_TS_DIGITS, &ts) == -1) {
		xmpp_fail(g, s, now, "not one of our stanzas", b, e);
		return;
	}
	if (n != s->recvd + 1) {
		xmpp_fail(g, s, now, "a reply out of order", b, e);
		return;
	}
	s->recvd++;
	if (g->measuring) {
		g->stanzas++;
		g->bytes += e;
		if (ts <= now)
			hist_add(&g->lat, now - ts);
	}
	if (g->mode == M_THROUGHPUT && !g->stopping)
		queue_stanzas(g, s, 1, now);
}

/* --sm: the server's <r/> at r, answered with the messages before it. */
static void
sm_answer(struct lg *g, struct sess *s, const char *r, uint64_t now)
{
	char a[64];
	int n;

	n = snprintf(a, sizeof(a), "<a xmlns='urn:xmpp:sm:3' h='%u'/>",
	    (unsigned)(s->recvd & 0xffffffffu));
	if (queue_bytes(s, a, (size_t)n) == -1)
		xmpp_fail(g, s, now, "no room to queue", r, sizeof(SM_REQUEST) - 1);
	else
		flush(g, s, now);
}

/* --xmpp: the replies from *at, then maybe the server's close tag. */
static void
xmpp_replies(struct lg *g, struct sess *s, size_t *at, uint64_t now)
{
	const char *b, *m, *r;
	size_t len, e;

	for (;;) {
		b = s->ibuf + *at;
		len = s->ilen - *at;
		m = find(b, len, "</message>");
		/* A request before the next reply counts the replies so far. */
		if (g->sm && (r = find(b, m != NULL ? (size_t)(m - b) : len,
		    SM_REQUEST)) != NULL) {
			sm_answer(g, s, r, now);
			if (s->st == S_DONE)
				return;
			*at += (size_t)(r - b) + sizeof(SM_REQUEST) - 1;
			continue;
		}
		if (m == NULL)
			break;
		e = (size_t)(m - b) + sizeof("</message>") - 1;
		xmpp_reply(g, s, b, e, now);
		if (s->st == S_DONE)
			return;
		*at += e;
	}
	if (s->tag_got || find(b, len, CLOSE_TAG) == NULL)
		return;
	if (!s->tag_sent) {
		xmpp_fail(g, s, now, "the server closed the stream", b, len);
		return;
	}
	s->tag_got = 1;
	*at = s->ilen;
	maybe_shut(g, s);
}

/* --xmpp: what came in s->ibuf; keeps what is not complete yet. */
static void
xmpp_bytes(struct lg *g, struct sess *s, uint64_t now)
{
	size_t at = 0;

	if (s->st == S_LOGIN)
		xmpp_login(g, s, &at, now);
	if (s->st == S_RUNNING)
		xmpp_replies(g, s, &at, now);
	if (s->st == S_DONE)
		return;
	memmove(s->ibuf, s->ibuf + at, s->ilen - at);
	s->ilen -= at;
	if (s->ilen == IBUF)
		xmpp_fail(g, s, now, "an element over 16 KiB", s->ibuf, 64);
}

static void
on_readable(struct lg *g, struct sess *s, uint64_t now)
{
	ssize_t n;
	int out;

	/* TLS may hold decrypted bytes that epoll will not announce. */
	do {
		/* --xmpp: into what is left of the last read. */
		n = g->domain != NULL ?
		    sess_recv(s, s->ibuf + s->ilen, IBUF - s->ilen, &out) :
		    sess_recv(s, g->rbuf, sizeof(g->rbuf), &out);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (out)
				want_out(g, s, 1);
			break;
		}
		if (n <= 0) {
			/* Expected only once our close tag went, or in a storm. */
			if (!s->tag_sent && g->mode != M_STORM)
				g->unexpected_eof++;
			if (g->mode == M_STORM && g->kill_pid > 0)
				hist_add(&g->done_hist, now - g->w0);
			sess_end(g, s, now);
			return;
		}
		if (g->domain != NULL) {
			s->ilen += (size_t)n;
			xmpp_bytes(g, s, now);
		} else if (s->st == S_HEADER)
			header_bytes(g, s, g->rbuf, (size_t)n, now);
		else
			take_bytes(g, s, g->rbuf, (size_t)n, now);
	} while (s->st != S_DONE && s->ssl != NULL && lgtls_pending(s->ssl));
	/* What came back made room: the replacements go in one write. */
	if (s->st != S_DONE && s->ooff < s->olen)
		flush(g, s, now);
}

static void
send_header(struct lg *g, struct sess *s, uint64_t now)
{

	s->st = g->domain != NULL ? S_LOGIN : S_HEADER;
	s->login = L_FEATURES;
	s->ilen = 0;
	memcpy(s->out, g->header, g->header_len);
	s->olen = g->header_len;
	flush(g, s, now);	/* and drops EPOLLOUT when done */
}

/* One step of the TLS handshake; the stream header once it is done. */
static void
tls_step(struct lg *g, struct sess *s, uint64_t now)
{

	switch (lgtls_handshake(g->tls, s->ssl)) {
	case LGTLS_DONE:
		send_header(g, s, now);
		break;
	case LGTLS_WANT_READ:
		want_out(g, s, 0);
		break;
	case LGTLS_WANT_WRITE:
		want_out(g, s, 1);
		break;
	case LGTLS_FAIL:
		sess_end(g, s, now);
		break;
	}
}

static void
on_connected(struct lg *g, struct sess *s, uint64_t now)
{
	socklen_t len = sizeof(int);
	int e = 0;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 ||
	    e != 0) {
		fprintf(stderr, "loadgen: connect: %s\n", strerror(e));
		sess_end(g, s, now);
		return;
	}
	if (g->tls == NULL) {
		send_header(g, s, now);
		return;
	}
	if ((s->ssl = lgtls_open(g->tls, s->fd)) == NULL) {
		fprintf(stderr, "loadgen: SSL_new failed\n");
		sess_end(g, s, now);
		return;
	}
	s->st = S_TLS;
	tls_step(g, s, now);
}

static int
sess_open(struct lg *g, struct sess *s, unsigned i)
{
	struct sockaddr_in src, dst;
	int one = 1;

	/* handshakes mode opens each slot again and again */
	s->tag_sent = s->tag_got = s->shut = s->match = 0;
	s->ooff = s->olen = s->rec_off = s->hlen = 0;
	s->sent = s->recvd = 0;
	s->opened_at = now_ns();
	if ((s->hbuf = malloc(HBUF)) == NULL)
		return (-1);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return (-1);
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The port is chosen at connect(): per (source, destination). */
	(void)setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + i % g->nsrc);
	if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) == -1)
		return (-1);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_addr = g->host;
	dst.sin_port = htons((uint16_t)g->ports[i % g->nports]);
	if (connect(s->fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS)
		return (-1);
	s->st = S_CONNECTING;
	s->want_out = 1;
	return (watch(g, s, EPOLL_CTL_ADD, EPOLLOUT));
}

/* Open sessions while fewer than MAX_PENDING handshakes are under way. */
static int
open_more(struct lg *g)
{
	struct sess *s;

	while (g->opened < g->nsess && g->pending < MAX_PENDING) {
		s = &g->s[g->opened];
		if (sess_open(g, s, g->opened) == -1) {
			fprintf(stderr, "loadgen: session %u: %s\n", g->opened,
			    strerror(errno));
			return (-1);
		}
		g->opened++;
		g->pending++;
	}
	return (0);
}

/* One round of events; wait at most timeout_ns. */
static void
poll_once(struct lg *g, uint64_t timeout_ns)
{
	struct epoll_event evs[MAX_EVENTS];
	struct timespec ts;
	struct sess *s;
	uint64_t now;
	int i, n;

	ts.tv_sec = (time_t)(timeout_ns / NS);
	ts.tv_nsec = (long)(timeout_ns % NS);
	n = epoll_pwait2(g->ep, evs, MAX_EVENTS, &ts, NULL);
	now = now_ns();
	for (i = 0; i < n; i++) {
		s = evs[i].data.ptr;
		if (s->st == S_DONE)
			continue;
		if (s->st == S_CONNECTING) {
			on_connected(g, s, now);
			continue;
		}
		if (s->st == S_TLS) {
			tls_step(g, s, now);
			continue;
		}
		if (evs[i].events & EPOLLOUT)
			flush(g, s, now);
		/* TLS: a write may have waited for bytes to read, or back. */
		if (s->st != S_DONE && (s->ssl != NULL ||
		    (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))))
			on_readable(g, s, now);
	}
}

/* Run the event loop until cond(g) or the deadline; 0 if cond was met. */
static int
loop_until(struct lg *g, int (*cond)(struct lg *), uint64_t deadline)
{
	uint64_t now;

	while (!cond(g) && !stop) {
		now = now_ns();
		if (now >= deadline)
			return (-1);
		poll_once(g, deadline - now < NS / 10 ? deadline - now :
		    NS / 10);
	}
	return (cond(g) ? 0 : -1);
}

static int
all_up(struct lg *g)
{

	if (g->opened < g->nsess && open_more(g) == -1)
		stop = 1;
	return (g->up + g->failed == g->nsess && g->pending == 0);
}

static int
all_done(struct lg *g)
{

	return (g->done == g->nsess);
}

static int
never(struct lg *g)
{

	(void)g;
	return (0);
}

/* Stop sending stanzas; every session sends its close tag. */
static void
begin_close(struct lg *g)
{
	uint64_t now = now_ns();
	unsigned i;

	g->stopping = 1;
	for (i = 0; i < g->nsess; i++)
		queue_close(g, &g->s[i], now);
}

/* rate mode: send what is due at g->rate stanzas/s, round robin. */
static void
run_rate(struct lg *g, uint64_t t0, uint64_t until)
{
	uint64_t now, due, next;
	unsigned rr = 0, tries;
	struct sess *s = NULL;

	while (!stop && (now = now_ns()) < until) {
		due = (uint64_t)((double)(now - t0) * g->rate / 1e9);
		while (g->sent_total < due) {
			g->sent_total++;
			for (tries = 0; tries < g->nsess; tries++) {
				s = &g->s[rr++ % g->nsess];
				if (s->st == S_RUNNING)
					break;
			}
			if (s == NULL || s->st != S_RUNNING ||
			    queue_stanzas(g, s, 1, now) == 0) {
				g->skipped++;
				continue;
			}
			flush(g, s, now);
		}
		next = t0 + (uint64_t)((double)(g->sent_total + 1) * 1e9 /
		    g->rate);
		poll_once(g, next > now ? next - now : 0);
	}
}

/* CPU of each -P process in the window, in all and per unit of work. */
static void
report_cpu(const struct lg *g, const struct snap *a, const struct snap *b,
    uint64_t count, const char *unit)
{
	double n = count > 0 ? (double)count : 1.;
	uint64_t ms, user;
	unsigned i;

	for (i = 0; i < g->ncpu; i++) {
		ms = b->cpu_ms[i] - a->cpu_ms[i];
		user = b->user_ms[i] - a->user_ms[i];
		printf(" cpu%u_pid=%d cpu%u_ms=%llu cpu%u_user_ms=%llu"
		    " cpu%u_us_per_%s=%.3f cpu%u_user_us_per_%s=%.3f",
		    i + 1, (int)g->cpu_pid[i], i + 1, (unsigned long long)ms,
		    i + 1, (unsigned long long)user, i + 1, unit,
		    (double)ms * 1000. / n, i + 1, unit,
		    (double)user * 1000. / n);
		printf(" cpu%u_cs_per_%s=%.4f", i + 1, unit,
		    (double)(b->cs[i] - a->cs[i]) / n);
	}
	printf(" self_cpu_ms=%llu",
	    (unsigned long long)(b->self_ms - a->self_ms));
}

/* throughput and rate: warm up, measure, close, report. */
static int
run_traffic(struct lg *g)
{
	struct snap a, b;
	uint64_t t0 = now_ns(), now;
	uint64_t warm = t0 + (uint64_t)(g->warmup * 1e9);
	uint64_t end = warm + (uint64_t)(g->seconds * 1e9);
	unsigned i;
	double secs;

	if (g->mode == M_THROUGHPUT) {
		for (i = 0; i < g->nsess; i++) {
			queue_stanzas(g, &g->s[i], g->window, t0);
			flush(g, &g->s[i], t0);
		}
		loop_until(g, never, warm);
		g->measuring = 1;
		take_snap(g, &a);
		loop_until(g, never, end);
	} else {
		run_rate(g, t0, warm);
		g->measuring = 1;
		take_snap(g, &a);
		run_rate(g, t0, end);
	}
	take_snap(g, &b);
	g->measuring = 0;
	begin_close(g);
	now = now_ns();
	loop_until(g, all_done, now + 10 * NS);
	secs = (double)(b.t - a.t) / 1e9;
	printf("mode=%s sessions=%u size=%zu window=%u rate=%.0f "
	    "seconds=%.3f stanzas=%llu stanzas_s=%.0f mbytes_s=%.2f "
	    "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f",
	    g->mode == M_THROUGHPUT ? "throughput" : "rate", g->nsess,
	    g->size, g->window, g->rate, secs,
	    (unsigned long long)(b.stanzas - a.stanzas),
	    (double)(b.stanzas - a.stanzas) / secs,
	    (double)(b.bytes - a.bytes) / secs / 1e6,
	    hist_quantile_us(&g->lat, .50), hist_quantile_us(&g->lat, .99),
	    hist_quantile_us(&g->lat, .999), hist_quantile_us(&g->lat, 1.));
	report_cpu(g, &a, &b, b.stanzas - a.stanzas, "stanza");
	if (g->print_hist)
		hist_print(&g->lat);
	printf(" skipped=%llu bad=%u unexpected_eof=%u unclosed=%u "
	    "upstream=%s up_ms=%.1f\n", (unsigned long long)g->skipped, g->bad,
	    g->unexpected_eof, g->nsess - g->done,
	    g->domain != NULL ? "xmpp" : "echo", g->up_ms);
	return (g->bad || g->unexpected_eof || g->done < g->nsess ? -1 : 0);
}

/* handshakes: open every slot that is done again, until the deadline. */
static void
cycle_until(struct lg *g, uint64_t deadline)
{
	uint64_t now;
	unsigned i;

	while (!stop && (now = now_ns()) < deadline) {
		for (i = 0; i < g->nsess && g->done > 0; i++) {
			if (g->s[i].st != S_DONE)
				continue;
			if (sess_open(g, &g->s[i], g->opened++) == -1) {
				fprintf(stderr, "loadgen: connection %u: %s\n",
				    g->opened, strerror(errno));
				stop = 1;
				return;
			}
			g->done--;
			g->pending++;
		}
		poll_once(g, deadline - now < NS / 10 ? deadline - now :
		    NS / 10);
	}
}

/* handshakes: C slots cycling; connections closed cleanly per second. */
static int
run_handshakes(struct lg *g)
{
	struct snap a, b;
	uint64_t t0 = now_ns();
	uint64_t warm = t0 + (uint64_t)(g->warmup * 1e9);
	unsigned i;
	double secs;
	int ok;

	for (i = 0; i < g->nsess; i++)
		g->s[i].st = S_DONE;
	g->done = g->nsess;
	cycle_until(g, warm);
	g->measuring = 1;
	take_snap(g, &a);
	cycle_until(g, warm + (uint64_t)(g->seconds * 1e9));
	take_snap(g, &b);
	g->measuring = 0;
	secs = (double)(b.t - a.t) / 1e9;
	printf("mode=handshakes tls=%d resume=%d slots=%u seconds=%.3f "
	    "handshakes=%llu handshakes_s=%.1f resumed=%llu p50_ms=%.2f "
	    "p99_ms=%.2f", g->tls != NULL, g->resume, g->nsess, secs,
	    (unsigned long long)g->cycles, (double)g->cycles / secs,
	    (unsigned long long)g->resumed, hist_quantile_us(&g->lat, .50) /
	    1000., hist_quantile_us(&g->lat, .99) / 1000.);
	report_cpu(g, &a, &b, g->cycles, "handshake");
	printf(" broken=%llu tls_failures=%u bad=%u\n",
	    (unsigned long long)g->broken, g->tls ? lgtls_failures(g->tls) :
	    0, g->bad);
	ok = g->cycles > 0 && g->broken == 0 && g->bad == 0;
	/* Asked to resume and the server would not: not what we measure. */
	if (g->resume && g->resumed * 10 < g->cycles * 9) {
		fprintf(stderr, "loadgen: only %llu of %llu handshakes "
		    "resumed\n", (unsigned long long)g->resumed,
		    (unsigned long long)g->cycles);
		ok = 0;
	}
	return (ok ? 0 : -1);
}

/* storm: SIGTERM the proxy, answer its close tags, time the EOFs. */
static int
run_storm(struct lg *g)
{
	uint64_t deadline, t_exit = 0, now;

	g->w0 = now_ns();
	if (kill(g->kill_pid, SIGTERM) == -1) {
		perror("loadgen: kill");
		return (-1);
	}
	deadline = g->w0 + (uint64_t)(g->hold * 1e9);
	loop_until(g, all_done, deadline);
	g->w1 = now_ns();
	/* And how long until the process itself is gone (bounded). */
	while ((now = now_ns()) < deadline && !stop) {
		if (exited(g->kill_pid)) {
			t_exit = now;
			break;
		}
		usleep(1000);
	}
	printf("mode=storm sessions=%u closed=%u first_tag_ms=%.1f "
	    "all_eof_ms=%.1f p50_eof_ms=%.1f p99_eof_ms=%.1f exit_ms=%.1f "
	    "bad=%u\n", g->nsess, g->done,
	    g->first_tag ? (double)(g->first_tag - g->w0) / 1e6 : -1.,
	    (double)(g->w1 - g->w0) / 1e6,
	    hist_quantile_us(&g->done_hist, .50) / 1000.,
	    hist_quantile_us(&g->done_hist, .99) / 1000.,
	    t_exit ? (double)(t_exit - g->w0) / 1e6 : -1., g->bad);
	return (g->done == g->nsess ? 0 : -1);
}

static void __attribute__((noreturn))
usage(void)
{

	fprintf(stderr,
	    "usage: loadgen -m throughput|rate|idle|storm|handshakes\n"
	    "    -c SESSIONS -p PORT[,PORT...] [-H 127.0.0.1] [-s SOURCES]\n"
	    "    [-b BYTES] [-w WINDOW] [-r RATE] [-d SECONDS] [-u WARMUP]\n"
	    "    [-t HOLD] [-P PID]... [-k PID] [--tls [--ca FILE]"
	    " [--resume]]\n"
	    "    [--xmpp DOMAIN [--user PREFIX] [--password SECRET]"
	    " [--resource RES] [--sm]] [--hist]\n");
	exit(2);
}

static void
parse_ports(struct lg *g, char *arg)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok != NULL &&
	    g->nports < MAX_PORTS; tok = strtok_r(NULL, ",", &save))
		g->ports[g->nports++] = atoi(tok);
}

enum {
	OPT_TLS = 256, OPT_CA, OPT_RESUME, OPT_XMPP, OPT_USER, OPT_PASSWORD,
	OPT_RESOURCE, OPT_HIST, OPT_SM
};

static void
parse_args(struct lg *g, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "xmpp", required_argument, NULL, OPT_XMPP },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password", required_argument, NULL, OPT_PASSWORD },
		{ "resource", required_argument, NULL, OPT_RESOURCE },
		{ "hist", no_argument, NULL, OPT_HIST },
		{ "sm", no_argument, NULL, OPT_SM },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	g->nsess = 1;
	g->window = 16;
	g->nsrc = 4;
	g->size = 200;
	g->seconds = 3;
	g->warmup = 1;
	g->hold = 60;
	g->rate = 10000;
	g->user = "u";
	g->password = "secret";
	g->resource = "lg";
	inet_pton(AF_INET, "127.0.0.1", &g->host);
	while ((opt = getopt_long(argc, argv, "m:c:p:H:s:b:w:r:d:u:t:P:k:",
	    longs, NULL)) != -1) {
		switch (opt) {
		case 'm':
			g->mode = strcmp(optarg, "throughput") == 0 ?
			    M_THROUGHPUT : strcmp(optarg, "rate") == 0 ? M_RATE :
			    strcmp(optarg, "idle") == 0 ? M_IDLE :
			    strcmp(optarg, "storm") == 0 ? M_STORM :
			    strcmp(optarg, "handshakes") == 0 ? M_HANDSHAKES :
			    M_NONE;
			break;
		case OPT_TLS:
			g->use_tls = 1;
			break;
		case OPT_CA:
			g->ca = optarg;
			break;
		case OPT_RESUME:
			g->resume = 1;
			break;
		case OPT_XMPP:
			g->domain = optarg;
			break;
		case OPT_USER:
			g->user = optarg;
			break;
		case OPT_PASSWORD:
			g->password = optarg;
			break;
		case OPT_HIST:
			g->print_hist = 1;
			break;
		case OPT_SM:
			g->sm = 1;
			break;
		case OPT_RESOURCE:
			/* Put in the bind request as it is: letters, digits. */
			if (optarg[0] == '\0' ||
			    strlen(optarg) > MAX_RESOURCE ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
			    strlen(optarg))
				usage();
			g->resource = optarg;
			break;
		case 'c':
			g->nsess = (unsigned)atol(optarg);
			break;
		case 'p':
			parse_ports(g, optarg);
			break;
		case 'H':
			if (inet_pton(AF_INET, optarg, &g->host) != 1)
				usage();
			break;
		case 's':
			g->nsrc = (unsigned)atol(optarg);
			break;
		case 'b':
			g->size = (size_t)atol(optarg);
			break;
		case 'w':
			g->window = (unsigned)atol(optarg);
			break;
		case 'r':
			g->rate = atof(optarg);
			break;
		case 'd':
			g->seconds = atof(optarg);
			break;
		case 'u':
			g->warmup = atof(optarg);
			break;
		case 't':
			g->hold = atof(optarg);
			break;
		case 'P':
			if (g->ncpu < MAX_CPU_PIDS)
				g->cpu_pid[g->ncpu++] = (pid_t)atol(optarg);
			break;
		case 'k':
			g->kill_pid = (pid_t)atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (g->mode == M_NONE || g->nsess == 0 || g->nports == 0 ||
	    g->nsrc == 0 || g->nsrc > 250 || g->size < MIN_SIZE ||
	    g->window == 0 || g->rate <= 0 || g->seconds <= 0 ||
	    (g->mode == M_STORM && g->kill_pid <= 0) ||
	    ((g->ca != NULL || g->resume) && !g->use_tls) ||
	    (g->domain != NULL && (g->use_tls || (g->mode != M_THROUGHPUT &&
	    g->mode != M_RATE))))
		usage();
}

/* Session buffers and the stanza template. */
static int
setup(struct lg *g)
{
	struct rlimit rl;
	const char *domain;
	size_t cap;
	unsigned i;
	int n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)g->nsess + 16) {
		fprintf(stderr, "loadgen: %u sessions need more descriptors "
		    "than RLIMIT_NOFILE (%llu)\n", g->nsess,
		    (unsigned long long)rl.rlim_cur);
		return (-1);
	}
	if (g->use_tls && (g->tls = lgtls_new(g->ca, g->resume)) == NULL)
		return (-1);
	if ((g->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (g->s = calloc(g->nsess, sizeof(*g->s))) == NULL ||
	    lgstanza_init(&g->tmpl, LGSTANZA_ECHO_TO, g->size) == -1)
		return (-1);
	/* LGSTANZA_HEADER("%s") is a format: the domain goes in. */
	domain = g->domain != NULL ? g->domain : LGSTANZA_ECHO_DOMAIN;
	if ((n = snprintf(NULL, 0, LGSTANZA_HEADER("%s"), domain)) < 0 ||
	    (g->header = malloc((size_t)n + 1)) == NULL)
		return (-1);
	g->header_len = (size_t)snprintf(g->header, (size_t)n + 1,
	    LGSTANZA_HEADER("%s"), domain);
	/* A full window (throughput) or a burst of 64 (rate), and a tag. */
	cap = (g->mode == M_THROUGHPUT ? g->window : g->mode == M_RATE ? 64 :
	    0) * g->size + g->header_len + CLOSE_LEN;
	/* --xmpp: the login's auth, second header and bind too. */
	if (g->domain != NULL)
		cap += g->header_len + XMPP_ROOM;
	for (i = 0; i < g->nsess; i++) {
		g->s[i].fd = -1;
		g->s[i].ocap = cap;
		g->s[i].next_id = 1;
		if ((g->s[i].out = malloc(cap)) == NULL)
			return (-1);
		if (g->domain != NULL &&
		    (g->s[i].ibuf = malloc(IBUF)) == NULL)
			return (-1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	static struct lg g;
	struct sigaction sa;
	uint64_t t0;
	int r;

	parse_args(&g, argc, argv);
	if (setup(&g) == -1) {
		perror("loadgen: setup");
		return (1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Pacing to 100 us needs timers that fire on time. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	if (g.mode == M_HANDSHAKES) {
		r = run_handshakes(&g);
		fflush(stdout);
		return (r == 0 ? 0 : 1);
	}
	t0 = now_ns();
	if (loop_until(&g, all_up, t0 + (30 + g.nsess / 1000) * NS) == -1 ||
	    g.failed > 0) {
		fprintf(stderr, "loadgen: %u of %u sessions up, %u failed\n",
		    g.up, g.nsess, g.failed);
		return (1);
	}
	g.up_ms = (double)(now_ns() - t0) / 1e6;
	if (g.mode == M_IDLE || g.mode == M_STORM) {
		printf("ready sessions=%u connect_ms=%.1f\n", g.up, g.up_ms);
		fflush(stdout);
	}
	switch (g.mode) {
	case M_THROUGHPUT:
	case M_RATE:
		r = run_traffic(&g);
		break;
	case M_IDLE:
		loop_until(&g, never, now_ns() + (uint64_t)(g.hold * 1e9));
		printf("mode=idle sessions=%u still_open=%u\n", g.nsess,
		    g.nsess - g.done);
		r = g.done == 0 ? 0 : -1;
		break;
	case M_STORM:
		r = run_storm(&g);
		break;
	default:
		r = -1;
	}
	fflush(stdout);
	return (r == 0 ? 0 : 1);
}
