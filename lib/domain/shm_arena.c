/* SPDX-License-Identifier: BSD-3-Clause */
/* First-fit allocation by offsets inside a shared-memory segment. A sorted
 * array: segments hold tens of allocations (pools, rings), not millions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/check.h"
#include "shm_arena.h"

int _udma_arena_alloc(struct shm_arena *a, uint64_t len, uint64_t user_len, uint64_t *off)
{
	uint64_t at = 0;
	size_t i = 0;

	UDMA_ASSERT(len && user_len <= len);
	/* the gap before block i is [at, b[i].off); after the last, up to size */
	for (; i < a->n; at = a->b[i].off + a->b[i].len, i++)
		if (a->b[i].off - at >= len)
			break;
	if (at > a->size || a->size - at < len)
		return -ENOMEM;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct shm_block *nb = realloc(a->b, cap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		a->b = nb, a->cap = cap;
	}
	memmove(&a->b[i + 1], &a->b[i], (a->n - i) * sizeof(*a->b));
	a->b[i] = (struct shm_block){ .off = at, .len = len, .user_len = user_len };
	a->n++;
	*off = at;
	return 0;
}

long _udma_arena_find(const struct shm_arena *a, uint64_t off)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) { /* the last block starting at or before off */
		size_t mid = (lo + hi) / 2;
		if (a->b[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || off - a->b[lo - 1].off >= a->b[lo - 1].len)
		return -1;
	return (long)lo - 1;
}

long _udma_arena_at(const struct shm_arena *a, uint64_t off)
{
	long i = _udma_arena_find(a, off);
	return i >= 0 && a->b[i].off == off ? i : -1;
}

void _udma_arena_remove(struct shm_arena *a, size_t i)
{
	UDMA_ASSERT(i < a->n);
	memmove(&a->b[i], &a->b[i + 1], (a->n - i - 1) * sizeof(*a->b));
	a->n--;
}

void _udma_arena_fini(struct shm_arena *a)
{
	free(a->b);
	memset(a, 0, sizeof(*a));
}
