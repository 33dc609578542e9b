/*
 * echo_upstream: the fastest XMPP-like server we can think of, for the
 * benchmarks.  It accepts on 127.0.0.1, reads the client's stream header,
 * answers with a header of its own, then writes back every byte that
 * follows, as it came.  The load generator sends only <message/> stanzas,
 * so the echo is a valid stream of stanzas; its close tag comes back as our
 * close tag.  A connection is closed once the peer's EOF was read and all
 * of its bytes were written back.
 *
 * One thread, epoll, level-triggered.  A connection is read only while
 * nothing of it waits to be written, so a slow reader stops its own
 * sender (TCP backpressure) and the memory per connection stays bounded.
 *
 * usage: echo_upstream -p PORT [-p PORT ...] [-t SECONDS]
 * Prints "ready" on stdout once every port listens; exits on SIGTERM,
 * SIGINT or after SECONDS (default 1800).
 */
#define _GNU_SOURCE	/* accept4 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS	8
#define RBUF		(64 * 1024)
#define HBUF		1024		/* longest client header we take */
#define MAX_EVENTS	256
#define ACCEPTS_PER_CB	64
#define READS_PER_CB	4

#define OUR_HEADER	"<?xml version='1.0'?><stream:stream " \
	"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/" \
	"streams' from='bench.example' id='echo' version='1.0'>"

struct econn {
	int fd;
	int listener;		/* a listening socket, not a connection */
	int in_header;		/* still reading the client's header */
	int eof;
	size_t hlen;
	char *pend;		/* bytes to write back, not yet written */
	size_t pendoff, pendlen;
	char hbuf[];		/* the header so far, while in_header */
};

static volatile sig_atomic_t stop;
static char rbuf[RBUF];

static void
on_signal(int sig)
{

	(void)sig;
	stop = 1;
}

static void
econn_close(struct econn *c)
{

	close(c->fd);
	free(c->pend);
	free(c);
}

static int
watch(int ep, int op, struct econn *c, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	return (epoll_ctl(ep, op, c->fd, &ev));
}

/*
 * Write buf to c; keep what the socket does not take and switch c to
 * waiting for writability.  Returns -1 if c is dead.
 */
static int
send_back(int ep, struct econn *c, const char *buf, size_t len)
{
	ssize_t n;

	n = write(c->fd, buf, len);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		return (-1);
	if (n == -1)
		n = 0;
	if ((size_t)n == len)
		return (0);
	if ((c->pend = malloc(len - (size_t)n)) == NULL)
		return (-1);
	memcpy(c->pend, buf + n, len - (size_t)n);
	c->pendoff = 0;
	c->pendlen = len - (size_t)n;
	return (watch(ep, EPOLL_CTL_MOD, c, EPOLLOUT));
}

/* The end of the client's header, "<stream:stream ...>": offset or 0. */
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

/* Bytes of the client while its header is incomplete. */
static int
take_header(int ep, struct econn *c, const char *buf, size_t len)
{
	size_t end, rest, k = HBUF - c->hlen;
	char *out;
	int r;

	if (k > len)
		k = len;
	memcpy(c->hbuf + c->hlen, buf, k);
	c->hlen += k;
	if ((end = header_end(c->hbuf, c->hlen)) == 0)
		return (c->hlen == HBUF ? -1 : 0);
	c->in_header = 0;
	/* Our header and the first echoed bytes in one write. */
	rest = c->hlen - end;
	if ((out = malloc(sizeof(OUR_HEADER) + rest + len - k)) == NULL)
		return (-1);
	memcpy(out, OUR_HEADER, sizeof(OUR_HEADER) - 1);
	memcpy(out + sizeof(OUR_HEADER) - 1, c->hbuf + end, rest);
	memcpy(out + sizeof(OUR_HEADER) - 1 + rest, buf + k, len - k);
	r = send_back(ep, c, out, sizeof(OUR_HEADER) - 1 + rest + len - k);
	free(out);
	return (r);
}

static int
on_readable(int ep, struct econn *c)
{
	ssize_t n;
	int k;

	for (k = 0; k < READS_PER_CB && c->pend == NULL; k++) {
		n = read(c->fd, rbuf, sizeof(rbuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (n <= 0)
			return (-1);	/* EOF or reset: nothing more to echo */
		if (c->in_header ? take_header(ep, c, rbuf, (size_t)n) :
		    send_back(ep, c, rbuf, (size_t)n))
			return (-1);
		if ((size_t)n < sizeof(rbuf))
			return (0);
	}
	return (0);
}

static int
on_writable(int ep, struct econn *c)
{
	ssize_t n;

	n = write(c->fd, c->pend + c->pendoff, c->pendlen - c->pendoff);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
	c->pendoff += (size_t)n;
	if (c->pendoff < c->pendlen)
		return (0);
	free(c->pend);
	c->pend = NULL;
	return (watch(ep, EPOLL_CTL_MOD, c, EPOLLIN));
}

static void
on_accept(int ep, struct econn *l)
{
	struct econn *c;
	int fd, k, one = 1;

	for (k = 0; k < ACCEPTS_PER_CB; k++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((c = calloc(1, sizeof(*c) + HBUF)) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->in_header = 1;
		if (watch(ep, EPOLL_CTL_ADD, c, EPOLLIN) == -1)
			econn_close(c);
	}
}

static int
listen_on(int ep, int port)
{
	struct sockaddr_in sin;
	struct econn *l;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 || (l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return (-1);
	}
	l->fd = fd;
	l->listener = 1;
	return (watch(ep, EPOLL_CTL_ADD, l, EPOLLIN));
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS];
	struct sigaction sa;
	struct econn *c;
	time_t until;
	long secs = 1800;
	int ep, i, n, opt, nports = 0;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("echo_upstream: epoll_create1");
		return (1);
	}
	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p' && nports < MAX_PORTS) {
			if (listen_on(ep, atoi(optarg)) == -1) {
				fprintf(stderr, "echo_upstream: port %s: %s\n",
				    optarg, strerror(errno));
				return (1);
			}
			nports++;
		} else if (opt == 't')
			secs = atol(optarg);
		else {
			fprintf(stderr, "usage: echo_upstream -p PORT "
			    "[-p PORT ...] [-t SECONDS]\n");
			return (2);
		}
	}
	if (nports == 0) {
		fprintf(stderr, "echo_upstream: no -p PORT\n");
		return (2);
	}
	raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("ready\n");
	fflush(stdout);

	until = time(NULL) + secs;
	while (!stop && time(NULL) < until) {
		n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->listener)
				on_accept(ep, c);
			else if ((c->pend != NULL ? on_writable(ep, c) :
			    on_readable(ep, c)) == -1)
				econn_close(c);
		}
	}
	return (0);
}
