#ifndef SG_CLOCK_H
#define SG_CLOCK_H

/*
 * The daemon's one clock: CLOCK_MONOTONIC, which never jumps (ev_now()
 * follows the wall clock, which can), through the vDSO at next to no
 * cost.  The session engine's time, the accept warning's rate limit and
 * systemd's MONOTONIC_USEC= all read it here.
 */

#include <stdint.h>

/*
 * sg_clock_usec(void), sg_clock_ms(void):
 * Monotonic time in microseconds, and in milliseconds.
 */
uint64_t sg_clock_usec(void);
uint64_t sg_clock_ms(void);

#endif /* !SG_CLOCK_H */
