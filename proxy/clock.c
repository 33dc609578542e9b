/*
 * The monotonic clock (clock.h).  Calls nothing of the daemon.
 */
#include <time.h>

#include "clock.h"

uint64_t
sg_clock_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

uint64_t
sg_clock_ms(void)
{

	return (sg_clock_usec() / 1000);
}
