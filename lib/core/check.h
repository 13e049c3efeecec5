/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Invariants as debug assertions: checked in debug builds (-Dbuildtype=debug)
 * and sanitizer builds, where meson defines UDMA_DEBUG; compiled away
 * elsewhere, so the fast paths pay nothing in the builds that are measured.
 */
#ifndef UDMA_LIB_CHECK_H
#define UDMA_LIB_CHECK_H

#include <assert.h>
#include <pthread.h>

#ifdef UDMA_DEBUG
#define UDMA_ASSERT(cond) assert(cond)
#else
#define UDMA_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

/* Some thread holds m (a trylock that succeeds proves nobody did). Debug
 * builds only: "Under the lock" is asserted, not written in a comment. */
static inline int check_locked(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m))
		return 1;
	pthread_mutex_unlock(m);
	return 0;
}
#define UDMA_ASSERT_LOCKED(m) UDMA_ASSERT(check_locked(m))

#endif
