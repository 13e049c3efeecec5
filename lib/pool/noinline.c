/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma_pool_get_noinline() and udma_pool_put_noinline(): the inline get and
 * put of <udma/pool.h>, compiled once as exported functions, as liburing's
 * src/ffi.c compiles liburing.h. One copy of the fast path.
 */
#define UDMA_POOL_NOINLINE_ 1
#include "pool_internal.h"

/* Here and always_inline (it stays exported), so that the out-of-line put
 * looks a slot up without another call. */
__attribute__((always_inline)) inline uint8_t *udma_pool_slot_(struct udma_pool *p, const void *ptr, uintptr_t *start)
{
	const struct pool_seg *s;
	uint64_t j;

	if (!p || pool_locate(p, (uintptr_t)ptr, &s, &j, start))
		return NULL;
	return &s->state[j];
}
