/*
 * notify: the exact datagrams sent to NOTIFY_SOCKET, the watchdog interval,
 * and which inherited listening socket each listener takes.  Runs with
 * CK_FORK=no too: every test puts the environment and fds 3.. back.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <systemd/sd-daemon.h>

#include "notify.h"
#include "suites.h"

/* Until suites.h declares it. */

#define MAXFDS	3

struct dgram {
	int fd;
	char path[108];
	char dir[64];
};

/* A datagram socket at a fresh path, named in NOTIFY_SOCKET. */
static void
dgram_open(struct dgram *d)
{
	struct sockaddr_un sun;
	struct timeval tv = { 2, 0 };

	strcpy(d->dir, "/tmp/sg-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/notify", d->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, d->path);
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(d->fd, 0);
	ck_assert_int_eq(bind(d->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(setsockopt(d->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", d->path, 1), 0);
}

static void
dgram_close(struct dgram *d)
{

	unsetenv("NOTIFY_SOCKET");
	close(d->fd);
	unlink(d->path);
	rmdir(d->dir);
}

/* The next datagram, NUL-terminated, in buf. */
static const char *
dgram_recv(struct dgram *d, char *buf, size_t len)
{
	ssize_t r;

	r = recv(d->fd, buf, len - 1, 0);
	ck_assert_int_gt(r, 0);
	buf[r] = '\0';
	return (buf);
}

START_TEST(ready_status_stopping_send_exact_states)
{
	struct sg_notify *n;
	struct dgram d;
	char buf[1024];

	dgram_open(&d);
	ck_assert_ptr_nonnull(n = sg_notify_new());
	sg_notify_ready(n, "2 listeners, 0 sessions");
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)),
	    "READY=1\nSTATUS=2 listeners, 0 sessions");
	sg_notify_ready(n, NULL);
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)), "READY=1");
	sg_notify_status(n, "5 sessions");
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)),
	    "STATUS=5 sessions");
	sg_notify_stopping(n, "draining 5 sessions");
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)),
	    "STOPPING=1\nSTATUS=draining 5 sessions");
	sg_notify_free(n);
	dgram_close(&d);
}
END_TEST

START_TEST(status_cannot_add_assignments)
{
	struct sg_notify *n;
	struct dgram d;
	char buf[1024];

	dgram_open(&d);
	ck_assert_ptr_nonnull(n = sg_notify_new());
	sg_notify_status(n, "a\nREADY=1\r\nb");
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)),
	    "STATUS=a READY=1  b");
	sg_notify_free(n);
	dgram_close(&d);
}
END_TEST

START_TEST(reloading_carries_monotonic_usec)
{
	struct sg_notify *n;
	struct dgram d;
	struct timespec ts;
	unsigned long long usec, before;
	char buf[1024];
	int used = 0;

	dgram_open(&d);
	ck_assert_ptr_nonnull(n = sg_notify_new());
	clock_gettime(CLOCK_MONOTONIC, &ts);
	before = (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000;
	sg_notify_reloading(n);
	dgram_recv(&d, buf, sizeof(buf));
	ck_assert_int_eq(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu\n%n",
	    &usec, &used), 1);
	ck_assert_int_gt(used, 0);
	ck_assert_str_eq(buf + used, "STATUS=reloading configuration");
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_lt(usec, before + 10000000);
	sg_notify_free(n);
	dgram_close(&d);
}
END_TEST

START_TEST(watchdog_is_half_of_watchdog_usec)
{
	struct sg_notify *n;
	struct dgram d;
	char buf[64];

	dgram_open(&d);
	setenv("WATCHDOG_USEC", "2000000", 1);
	ck_assert_ptr_nonnull(n = sg_notify_new());
	ck_assert_uint_eq(sg_notify_watchdog_usec(n), 1000000);
	sg_notify_watchdog(n);
	ck_assert_str_eq(dgram_recv(&d, buf, sizeof(buf)), "WATCHDOG=1");
	sg_notify_free(n);
	unsetenv("WATCHDOG_USEC");
	dgram_close(&d);
}
END_TEST

START_TEST(watchdog_for_another_pid_is_off)
{
	struct sg_notify *n;

	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	ck_assert_ptr_nonnull(n = sg_notify_new());
	ck_assert_uint_eq(sg_notify_watchdog_usec(n), 0);
	sg_notify_free(n);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}
END_TEST

START_TEST(without_systemd_everything_is_a_noop)
{
	struct sg_notify *n;
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_ptr_nonnull(n = sg_notify_new());
	ck_assert_uint_eq(sg_notify_watchdog_usec(n), 0);
	ck_assert_uint_eq(sg_notify_unused_listen_fds(n), 0);
	ck_assert_int_eq(sg_notify_take_listen_fd(n, "c2s",
	    (struct sockaddr *)&sin, sizeof(sin)), -1);
	sg_notify_ready(n, "ready");
	sg_notify_watchdog(n);
	sg_notify_free(n);
	sg_notify_free(NULL);
}
END_TEST

/*
 * Inherited sockets: listening TCP sockets on 127.0.0.1 moved to fds 3..,
 * with LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES set as systemd does.  What was
 * at 3.. (Check's own message pipe, among others) is saved and put back by
 * inherit_restore(); in between, no ck_assert may run, since it writes to
 * that pipe: the tests note what they see and assert after the restore.
 */
struct inherit {
	int saved[MAXFDS];
	struct sockaddr_in addr[MAXFDS];
	int nfds;
};

/* A listening socket on 127.0.0.1, any port; its address in sin. */
static int
listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int s;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)sin, &len), 0);
	return (s);
}

static void
inherit(struct inherit *in, int nfds, const char *fdnames)
{
	int s[MAXFDS];
	char pid[32], cnt[16];
	int i;

	in->nfds = nfds;
	for (i = 0; i < nfds; i++)
		s[i] = listener(&in->addr[i]);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(cnt, sizeof(cnt), "%d", nfds);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", cnt, 1);
	if (fdnames != NULL)
		setenv("LISTEN_FDNAMES", fdnames, 1);
	/* From here on until inherit_restore(): no ck_assert. */
	for (i = 0; i < nfds; i++) {
		in->saved[i] = fcntl(SD_LISTEN_FDS_START + i, F_DUPFD_CLOEXEC,
		    64);
		dup2(s[i], SD_LISTEN_FDS_START + i);
		close(s[i]);
	}
}

/* Non-zero if fd is open. */
static int
is_open(int fd)
{

	return (fcntl(fd, F_GETFD) != -1 || errno != EBADF);
}

static void
inherit_restore(struct inherit *in)
{
	int i, fd;

	for (i = 0; i < in->nfds; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (in->saved[i] != -1) {
			dup2(in->saved[i], fd);
			close(in->saved[i]);
		} else
			close(fd);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* Take the socket for name/addr (addr NULL: none). */
static int
take(struct sg_notify *n, const char *name, const struct sockaddr_in *addr)
{

	return (sg_notify_take_listen_fd(n, name,
	    (const struct sockaddr *)addr, addr != NULL ? sizeof(*addr) : 0));
}

START_TEST(listener_takes_its_named_socket_first)
{
	struct sg_notify *n;
	struct inherit in;
	size_t unused0, unused1;
	int fd, nonblock, again, stays_open, env_gone;

	inherit(&in, 2, "s2s:c2s");
	n = sg_notify_new();
	env_gone = getenv("LISTEN_FDS") == NULL;
	unused0 = sg_notify_unused_listen_fds(n);
	/* Named c2s, though the config says s2s's address. */
	fd = take(n, "c2s", &in.addr[0]);
	nonblock = fd != -1 && (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	unused1 = sg_notify_unused_listen_fds(n);
	again = take(n, "c2s", &in.addr[1]);
	sg_notify_free(n);
	stays_open = is_open(SD_LISTEN_FDS_START + 1);
	inherit_restore(&in);

	ck_assert(env_gone);
	ck_assert_uint_eq(unused0, 2);
	ck_assert_int_eq(fd, SD_LISTEN_FDS_START + 1);
	ck_assert(nonblock);
	ck_assert_uint_eq(unused1, 1);
	ck_assert_int_eq(again, -1);
	ck_assert(stays_open);
}
END_TEST

START_TEST(listener_takes_socket_by_address_else)
{
	struct sg_notify *n;
	struct inherit in;
	struct sockaddr_in other;
	int fd, byport, noaddr;

	inherit(&in, 2, NULL);
	n = sg_notify_new();
	fd = take(n, "default", &in.addr[1]);
	other = in.addr[0];
	other.sin_port = htons(ntohs(in.addr[0].sin_port) ^ 1);
	byport = take(n, "default", &other);
	noaddr = take(n, "default", NULL);
	sg_notify_free(n);
	inherit_restore(&in);

	ck_assert_int_eq(fd, SD_LISTEN_FDS_START + 1);
	ck_assert_int_eq(byport, -1);
	ck_assert_int_eq(noaddr, -1);
}
END_TEST

START_TEST(same_name_prefers_the_matching_address)
{
	struct sg_notify *n;
	struct inherit in;
	int first, second;

	inherit(&in, 3, "c2s:c2s:c2s");
	n = sg_notify_new();
	first = take(n, "c2s", &in.addr[2]);
	second = take(n, "c2s", NULL);
	sg_notify_free(n);
	inherit_restore(&in);

	ck_assert_int_eq(first, SD_LISTEN_FDS_START + 2);
	ck_assert_int_eq(second, SD_LISTEN_FDS_START);
}
END_TEST

START_TEST(free_closes_sockets_nobody_took)
{
	struct sg_notify *n;
	struct inherit in;
	int fd, open0, open1;

	inherit(&in, 2, "c2s:s2s");
	n = sg_notify_new();
	fd = take(n, "s2s", NULL);
	sg_notify_free(n);
	open0 = is_open(SD_LISTEN_FDS_START);
	open1 = is_open(SD_LISTEN_FDS_START + 1);
	inherit_restore(&in);

	ck_assert_int_eq(fd, SD_LISTEN_FDS_START + 1);
	ck_assert(!open0);
	ck_assert(open1);
}
END_TEST

Suite *
sg_suite_notify(void)
{
	Suite *s = suite_create("notify");
	TCase *tc;

	tc = tcase_create("sd_notify");
	tcase_add_test(tc, ready_status_stopping_send_exact_states);
	tcase_add_test(tc, status_cannot_add_assignments);
	tcase_add_test(tc, reloading_carries_monotonic_usec);
	tcase_add_test(tc, watchdog_is_half_of_watchdog_usec);
	tcase_add_test(tc, watchdog_for_another_pid_is_off);
	tcase_add_test(tc, without_systemd_everything_is_a_noop);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen_fds");
	tcase_add_test(tc, listener_takes_its_named_socket_first);
	tcase_add_test(tc, listener_takes_socket_by_address_else);
	tcase_add_test(tc, same_name_prefers_the_matching_address);
	tcase_add_test(tc, free_closes_sockets_nobody_took);
	suite_add_tcase(s, tc);
	return (s);
}
