/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal allocation helpers. */
#ifndef UDMA_LIB_ALLOC_H
#define UDMA_LIB_ALLOC_H

#include <stdlib.h>
#include <string.h>

/* n bytes, zeroed, on whole cache lines of their own: for objects whose
 * fields are laid out by line (aligned(64) members) or shared between
 * threads. NULL when out of memory. free() releases it. */
static inline void *zalloc_lines(size_t n)
{
	size_t sz = (n + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz ? sz : 64);
	if (p)
		memset(p, 0, sz ? sz : 64);
	return p;
}

#endif
