/* SPDX-License-Identifier: BSD-3-Clause */
/* The library's one clock: monotonic nanoseconds. */
#ifndef UDMA_LIB_CLOCK_H
#define UDMA_LIB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#endif
