#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

/*
 * systemd integration through libsystemd: readiness and status (sd_notify),
 * the watchdog, and listening sockets passed by socket activation
 * (sd_listen_fds).  Everything is a no-op when not run by systemd.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Opaque types. */
struct sg_notify;

/*
 * sg_notify_new(void):
 * Read the environment systemd gave us (NOTIFY_SOCKET, WATCHDOG_USEC,
 * LISTEN_FDS, LISTEN_FDNAMES).  Returns NULL on allocation failure.
 */
struct sg_notify *sg_notify_new(void);

/*
 * sg_notify_free(n):
 * Free n; sockets taken with sg_notify_take_listen_fd stay open, the others
 * are closed.  A NULL n is a no-op.
 */
void sg_notify_free(struct sg_notify *n);

/*
 * sg_notify_take_listen_fd(n, name, addr, addrlen):
 * An inherited listening socket for a listener: the one whose
 * FileDescriptorName= is name, else the one bound to addr.  Returns the fd
 * (now owned by the caller), or -1 if systemd passed none that matches.
 */
int sg_notify_take_listen_fd(struct sg_notify *n, const char *name,
    const struct sockaddr *addr, socklen_t addrlen);

/*
 * sg_notify_unused_listen_fds(n):
 * How many inherited sockets no listener took (the daemon logs them).
 */
size_t sg_notify_unused_listen_fds(const struct sg_notify *n);

/*
 * sg_notify_pass_listen_fds(n):
 * Hand every inherited socket on to this process's next sg_notify_new(),
 * as systemd would: set LISTEN_PID (to getpid()), LISTEN_FDS and
 * LISTEN_FDNAMES, and forget the sockets so that freeing n leaves them
 * open.  For a worker process just forked by the master, whose sockets
 * are the master's.  Returns 0, or -1 (out of memory, or a socket was
 * already taken) with nothing passed.
 */
int sg_notify_pass_listen_fds(struct sg_notify *n);

/*
 * sg_notify_watchdog_usec(n):
 * How often WATCHDOG=1 must be sent (half of WATCHDOG_USEC), 0 if never.
 */
uint64_t sg_notify_watchdog_usec(const struct sg_notify *n);

/* READY=1 plus STATUS=. */
void sg_notify_ready(struct sg_notify *n, const char *status);
/* STATUS= alone. */
void sg_notify_status(struct sg_notify *n, const char *status);
/* RELOADING=1 with MONOTONIC_USEC=, then READY=1 when done. */
void sg_notify_reloading(struct sg_notify *n);
/* STOPPING=1 plus STATUS=. */
void sg_notify_stopping(struct sg_notify *n, const char *status);
/* WATCHDOG=1. */
void sg_notify_watchdog(struct sg_notify *n);

#endif /* !SG_NOTIFY_H */
