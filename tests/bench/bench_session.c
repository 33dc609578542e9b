/*
 * The close engine's common path without sockets: what the proxy's user
 * time per stanza is made of, apart from libev and the system calls.
 * Sessions take stanzas from C in reads of K stanzas, queue them for S,
 * "write" them all at once, take the same bytes back from S and write them
 * to C: what tests/bench/loadgen and echo_upstream make the proxy do.  One
 * stanza here is one round trip, as in loadgen's cpu_us_per_stanza.
 *
 *   bench_session [-n STANZAS] [-k PER_READ] [-s SESSIONS] [-r ROUNDS] [-m]
 *
 * -m: stream management on C's behalf (sm-handback = auto) is on: S offers
 * it, C binds without it, every S->C stanza is numbered and C's TCP
 * acknowledgements are reported after each write to C, as the daemon does.
 *
 * Deterministic, so `valgrind --tool=callgrind bench_session -n 100000 -r 1`
 * gives instructions per stanza (subtract a run with -n 0 for the setup).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#define C_HEADER	"<?xml version='1.0'?><stream:stream " \
	"to='bench.example' xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define S_HEADER	"<?xml version='1.0'?><stream:stream " \
	"from='bench.example' id='bench' xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define STANZA_LEN	200
#define NS_SM		"urn:xmpp:sm:3"
#define S_FEATURES	"<stream:features><bind xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-bind'/><sm xmlns='" NS_SM "'/></stream:features>"
#define C_BIND		"<iq type='set' id='b'><bind xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-bind'/></iq>"
#define S_BOUND		"<iq type='result' id='b'><bind xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-bind'><jid>echo@bench.example/b</jid></bind>" \
	"</iq>"
#define C_PRESENCE	"<presence/>"
#define S_ENABLED	"<enabled xmlns='" NS_SM "'/>"

/* loadgen's stanza: 200 bytes, an id, a time stamp and filler. */
static void
make_stanza(char *s, unsigned id)
{
	static const char tail[] = "</body></message>";
	int n;

	n = snprintf(s, STANZA_LEN + 1, "<message to='echo@bench.example' "
	    "type='chat' id='%010u'><body>%020u ", id, id * 7919u);
	memset(s + n, 'x', STANZA_LEN - (size_t)n - (sizeof(tail) - 1));
	memcpy(s + STANZA_LEN - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Write everything queued towards side, as a socket that always takes it. */
static void
drain(struct sg_session *s, enum sg_side side)
{
	struct sg_action a[32];
	struct iovec iov[64];
	size_t len;
	int i, n;

	while (sg_session_take_actions(s, a, 32) > 0)
		;
	while ((n = sg_bq_peek(sg_session_outq(s, side), iov, 64)) > 0) {
		for (len = 0, i = 0; i < n; i++)
			len += iov[i].iov_len;
		sg_session_on_written(s, side, len, 0);
	}
	/* A socket that takes everything: C's TCP acknowledges it all. */
	if (side == SG_CLIENT && sg_session_counts_acks(s))
		sg_session_on_acked(s, sg_session_stats(s)->bytes_out[SG_CLIENT],
		    0);
	while (sg_session_take_actions(s, a, 32) > 0)
		;
}

static void
feed(struct sg_session *s, enum sg_side from, const char *buf, size_t len)
{

	sg_session_on_bytes(s, from, buf, len, 0);
	drain(s, from == SG_CLIENT ? SG_SERVER : SG_CLIENT);
}

/* want stanzas each way after the setup's (base, for S and for C). */
static void
check(struct sg_session *s, uint64_t want, const uint64_t base[2])
{
	const struct sg_session_stats *st = sg_session_stats(s);

	if (st->stanzas_out[SG_SERVER] != want + base[SG_SERVER] ||
	    st->stanzas_out[SG_CLIENT] != want + base[SG_CLIENT] ||
	    st->reason != SG_REASON_NONE || (base[0] > 0 && !st->sm_handback)) {
		fprintf(stderr, "bench: session lost stanzas or closed\n");
		exit(1);
	}
}

/* Both headers; with sm, C bound and SM enabled on its behalf. */
static struct sg_session *
session_open(const struct sg_session_params *p, int sm)
{
	struct sg_session *s;

	if ((s = sg_session_new(p, 0)) == NULL)
		exit(1);
	feed(s, SG_CLIENT, C_HEADER, sizeof(C_HEADER) - 1);
	feed(s, SG_SERVER, S_HEADER, sizeof(S_HEADER) - 1);
	if (sm) {
		feed(s, SG_SERVER, S_FEATURES, sizeof(S_FEATURES) - 1);
		feed(s, SG_CLIENT, C_BIND, sizeof(C_BIND) - 1);
		feed(s, SG_SERVER, S_BOUND, sizeof(S_BOUND) - 1);
		feed(s, SG_CLIENT, C_PRESENCE, sizeof(C_PRESENCE) - 1);
		feed(s, SG_SERVER, S_ENABLED, sizeof(S_ENABLED) - 1);
	}
	return (s);
}

static double
run(unsigned nst, unsigned per_read, unsigned nsess, char *reads, int sm)
{
	struct sg_session_params p;
	struct sg_session **s;
	size_t rlen = (size_t)per_read * STANZA_LEN;
	uint64_t base[2] = { 0, 0 };
	unsigned done, i;
	double t0;

	memset(&p, 0, sizeof(p));
	sg_tracker_limits_default(&p.limits);
	p.idle_timeout = p.close_timeout = p.stanza_timeout = 1000000;
	p.high_water = 1 << 20;
	p.low_water = 1 << 18;
	p.sm_handback = sm;
	if ((s = calloc(nsess, sizeof(*s))) == NULL)
		exit(1);
	for (i = 0; i < nsess; i++)
		s[i] = session_open(&p, sm);
	base[SG_SERVER] = sg_session_stats(s[0])->stanzas_out[SG_SERVER];
	base[SG_CLIENT] = sg_session_stats(s[0])->stanzas_out[SG_CLIENT];
	t0 = now();
	for (done = 0, i = 0; done < nst; done += per_read, i = (i + 1) % nsess) {
		const char *r = reads + (size_t)(i % 16) * rlen;

		feed(s[i], SG_CLIENT, r, rlen);
		feed(s[i], SG_SERVER, r, rlen);
	}
	t0 = now() - t0;
	for (i = 0; i < nsess; i++) {
		check(s[i], (uint64_t)(nst / per_read / nsess +
		    (i < nst / per_read % nsess)) * per_read, base);
		sg_session_free(s[i]);
	}
	free(s);
	return (t0);
}

static unsigned
arg(const char *s)
{

	return ((unsigned)strtoul(s, NULL, 10));
}

int
main(int argc, char **argv)
{
	unsigned nst = 2000000, per_read = 8, nsess = 64, rounds = 3, i;
	double best = 1e9, d;
	char *reads;
	int o, sm = 0;

	while ((o = getopt(argc, argv, "n:k:s:r:m")) != -1) {
		switch (o) {
		case 'm': sm = 1; break;
		case 'n': nst = arg(optarg); break;
		case 'k': per_read = arg(optarg); break;
		case 's': nsess = arg(optarg); break;
		case 'r': rounds = arg(optarg); break;
		default:
			fprintf(stderr, "usage: bench_session [-n stanzas] "
			    "[-k per read] [-s sessions] [-r rounds] [-m]\n");
			return (2);
		}
	}
	if (per_read == 0 || nsess == 0 || rounds == 0)
		return (2);
	nst -= nst % per_read;
	/* 16 different reads, so ids and time stamps vary. */
	if ((reads = malloc((size_t)16 * per_read * STANZA_LEN + 1)) == NULL)
		return (1);
	for (i = 0; i < 16 * per_read; i++)
		make_stanza(reads + (size_t)i * STANZA_LEN, i);
	for (i = 0; i < rounds; i++)
		if ((d = run(nst, per_read, nsess, reads, sm)) < best)
			best = d;
	printf("session: %u stanzas of %d B, each way, %u per read, "
	    "%u sessions, best of %u%s\n", nst, STANZA_LEN, per_read, nsess,
	    rounds, sm ? ", sm-handback" : "");
	printf("session: %.0f ns per stanza (round trip), %.0f stanzas/s\n",
	    nst ? best * 1e9 / nst : 0., nst ? nst / best : 0.);
	free(reads);
	return (0);
}
