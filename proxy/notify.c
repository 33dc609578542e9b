/*
 * systemd integration (notify.h).  Owns the watchdog interval and the
 * sockets systemd passed until they are taken; calls libsystemd and
 * clock.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "notify.h"

/*
 * Everything systemd handed us at start.  Sockets are taken by listeners
 * one by one (fds[i] becomes -1); whatever is left is closed on free, so a
 * socket unit that lists a port the config no longer has does not keep a
 * dead listening socket open in this process.
 */
struct sg_notify {
	int *fds;		/* inherited sockets, -1 once taken */
	char **names;		/* FileDescriptorName=s, else "unknown" */
	size_t nfds;
	uint64_t watchdog_usec;	/* half of WATCHDOG_USEC; 0: no watchdog */
};

/* How a listener may match an inherited socket, most specific first. */
enum match {
	MATCH_NAME_AND_ADDR,
	MATCH_NAME,
	MATCH_ADDR
};

/* One datagram to NOTIFY_SOCKET is at most this long; status is cut. */
#define NOTIFY_MSG	512

static void
free_names(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read LISTEN_FDS/LISTEN_FDNAMES into n; on failure close what came. */
static int
read_listen_fds(struct sg_notify *n)
{
	char **names = NULL;
	int i, cnt;

	/* Unset LISTEN_*: nothing we start should believe they are its. */
	if ((cnt = sd_listen_fds_with_names(1, &names)) <= 0)
		return (0);
	if ((n->fds = calloc((size_t)cnt, sizeof(int))) == NULL)
		goto err0;
	for (i = 0; i < cnt; i++)
		n->fds[i] = SD_LISTEN_FDS_START + i;
	n->names = names;
	n->nfds = (size_t)cnt;
	return (0);

err0:
	for (i = 0; i < cnt; i++)
		(void)close(SD_LISTEN_FDS_START + i);
	free_names(names, (size_t)cnt);
	return (-1);
}

struct sg_notify *
sg_notify_new(void)
{
	struct sg_notify *n;
	uint64_t usec = 0;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	if (read_listen_fds(n))
		goto err0;

	/* Without WATCHDOG_PID, or with ours: the watchdog is for us. */
	if (sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_usec = usec / 2;
	return (n);

err0:
	free(n);
	return (NULL);
}

void
sg_notify_free(struct sg_notify *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nfds; i++)
		if (n->fds[i] != -1)
			(void)close(n->fds[i]);
	free(n->fds);
	free_names(n->names, n->nfds);
	free(n);
}

/* Non-zero if fd is a listening stream socket bound to addr. */
static int
bound_to(int fd, const struct sockaddr *addr, socklen_t addrlen)
{

	return (addr != NULL && sd_is_socket_sockaddr(fd, SOCK_STREAM, addr,
	    (unsigned)addrlen, 1) > 0);
}

/* Non-zero if inherited socket i is a match of kind m for the listener. */
static int
fd_matches(const struct sg_notify *n, size_t i, enum match m,
    const char *name, const struct sockaddr *addr, socklen_t addrlen)
{
	int fd = n->fds[i];
	int named = name != NULL && strcmp(n->names[i], name) == 0;

	if (fd == -1)
		return (0);
	switch (m) {
	case MATCH_NAME_AND_ADDR:
		return (named && bound_to(fd, addr, addrlen));
	case MATCH_NAME:
		/* Named right, but it must still be a listening stream. */
		return (named &&
		    sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0);
	case MATCH_ADDR:
		return (bound_to(fd, addr, addrlen));
	}
	return (0);
}

int
sg_notify_take_listen_fd(struct sg_notify *n, const char *name,
    const struct sockaddr *addr, socklen_t addrlen)
{
	static const enum match order[] = {
		MATCH_NAME_AND_ADDR, MATCH_NAME, MATCH_ADDR
	};
	size_t i, k;
	int fd, fl;

	if (n == NULL)
		return (-1);
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (i = 0; i < n->nfds; i++) {
			if (!fd_matches(n, i, order[k], name, addr, addrlen))
				continue;
			fd = n->fds[i];
			n->fds[i] = -1;
			/*
			 * systemd passes blocking sockets unless NonBlocking=;
			 * an accept() that blocks would stall the whole loop.
			 */
			if ((fl = fcntl(fd, F_GETFL)) != -1)
				(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
			return (fd);
		}
	}
	return (-1);
}

size_t
sg_notify_unused_listen_fds(const struct sg_notify *n)
{
	size_t i, cnt = 0;

	if (n == NULL)
		return (0);
	for (i = 0; i < n->nfds; i++)
		if (n->fds[i] != -1)
			cnt++;
	return (cnt);
}

int
sg_notify_pass_listen_fds(struct sg_notify *n)
{
	char num[32], *names;
	size_t i, len = 1;

	if (n == NULL || n->nfds == 0)
		return (0);
	for (i = 0; i < n->nfds; i++) {
		/* sd_listen_fds() wants them at 3, 4, ... as they came. */
		if (n->fds[i] != SD_LISTEN_FDS_START + (int)i)
			return (-1);
		len += strlen(n->names[i]) + 1;
	}
	if ((names = malloc(len)) == NULL)
		return (-1);
	names[0] = '\0';
	for (i = 0; i < n->nfds; i++) {
		if (i > 0)
			strcat(names, ":");
		strcat(names, n->names[i]);
	}
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	if (setenv("LISTEN_PID", num, 1) == -1 ||
	    setenv("LISTEN_FDNAMES", names, 1) == -1)
		goto err;
	snprintf(num, sizeof(num), "%zu", n->nfds);
	if (setenv("LISTEN_FDS", num, 1) == -1)
		goto err;
	free(names);
	for (i = 0; i < n->nfds; i++)
		n->fds[i] = -1;
	return (0);

err:
	free(names);
	return (-1);
}

uint64_t
sg_notify_watchdog_usec(const struct sg_notify *n)
{

	return (n != NULL ? n->watchdog_usec : 0);
}

/*
 * Send state (fixed assignments, newline-separated; may be NULL) and, if
 * status is not NULL, STATUS=status with any newline in it made a space so
 * that it cannot add assignments of its own.  A status too long for one
 * datagram is cut.  Errors are ignored: systemd gone is no reason to stop
 * proxying.
 */
static void
send_state(const char *state, const char *status)
{
	char msg[NOTIFY_MSG];
	size_t len = 0;
	int r;

	if (state != NULL) {
		r = snprintf(msg, sizeof(msg), "%s%s", state,
		    status != NULL ? "\n" : "");
		if (r < 0 || (size_t)r >= sizeof(msg))
			return;
		len = (size_t)r;
	}
	if (status != NULL) {
		(void)snprintf(msg + len, sizeof(msg) - len, "STATUS=%s",
		    status);
		for (len += sizeof("STATUS=") - 1; msg[len] != '\0'; len++)
			if (msg[len] == '\n' || msg[len] == '\r')
				msg[len] = ' ';
	}
	(void)sd_notify(0, msg);
}

void
sg_notify_ready(struct sg_notify *n, const char *status)
{

	if (n != NULL)
		send_state("READY=1", status);
}

void
sg_notify_status(struct sg_notify *n, const char *status)
{

	if (n != NULL && status != NULL)
		send_state(NULL, status);
}

/*
 * MONOTONIC_USEC= lets a systemd that knows Type=notify-reload (253 and
 * later) tell this reload from an earlier one; 252 ignores it.  The caller
 * sends READY=1 (sg_notify_ready) once the new config is in force or was
 * rejected.
 */
void
sg_notify_reloading(struct sg_notify *n)
{
	char state[64];

	if (n == NULL)
		return;
	(void)snprintf(state, sizeof(state),
	    "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, sg_clock_usec());
	send_state(state, "reloading configuration");
}

void
sg_notify_stopping(struct sg_notify *n, const char *status)
{

	if (n != NULL)
		send_state("STOPPING=1", status);
}

void
sg_notify_watchdog(struct sg_notify *n)
{

	if (n != NULL && n->watchdog_usec != 0)
		send_state("WATCHDOG=1", NULL);
}
