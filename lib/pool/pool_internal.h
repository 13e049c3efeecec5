/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of a pool, shared by pool.c (layout, memory, statistics)
 * and cache.c (per-thread caches, get/put). */
#ifndef UDMA_LIB_POOL_INT_H
#define UDMA_LIB_POOL_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <udma/pool.h>

#include "../core/log.h"

#define RELAXED __ATOMIC_RELAXED
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define POOL_MAX_SEGS 32
#define POOL_MAX_CACHE 4096u

/* One piece of memory carved into slots. Immutable once published. */
struct pool_seg {
	uintptr_t base;         /* VA of slot 0 */
	uintptr_t span;         /* base .. end of the last slot */
	uint64_t nslots;
	uint64_t usable;
	uint8_t *state;         /* UDMA_POOL_ST_* per slot, accessed with __atomic builtins */
	uint64_t *iova;         /* per-slot device address (PA mode, bridge); NULL: iova_base + offset */
	uint64_t iova_base;
	void *mem;              /* what to give back: udma allocation or bridge memory */
	size_t mem_len;
};

struct udma_pool {
	struct udma_pool_fast fast; /* first: the inline get/put read it; immutable */
	int shift;              /* log2(stride) if a power of two, else -1 */
	unsigned int bshift;    /* log2(boundary) when boundaries leave gaps, else 0 */
	uint64_t per_b;         /* blocks per boundary unit (bshift != 0) */
	int nocache;
	uint32_t nseg;          /* published segments (release/acquire) */
	struct pool_seg seg[POOL_MAX_SEGS];
	struct { uintptr_t base, span; } range[POOL_MAX_SEGS]; /* seg[i]'s, packed for the search */

	/* Slow path: everything below changes under lock. */
	alignas(64) pthread_mutex_t lock;
	uintptr_t *stack;       /* shared free stack of block starts */
	uint64_t top, stack_cap;
	struct udma_pool_tcache *caches; /* threads' caches of this pool */
	uint32_t cache_cap;
	int slot_owned;         /* slot is this pool's alone */
	/* counters: __atomic builtins, relaxed (statistics only) */
	uint64_t usable;
	uint64_t shared_free; /* == top, for lock-free readers */
	uint64_t alloc_failures, bad_frees, double_frees, skipped, steals, grows, hwm;

	struct udma_domain *domain;
	struct udma_pool_bridge bridge;
	int has_bridge;
	size_t align, boundary, base_align;
	uint32_t flags;
	int numa_node;
	uint64_t max_blocks, grow_next;
	char name[32];
};

/* off / stride in O(1): a multiply-high (Lemire) - exact for power-of-two
 * strides, and for others below 4 GiB - else a shift or a divide. */
static inline uint64_t pool_div(const struct udma_pool *p, uint64_t off)
{
	if (likely(p->fast.magic))
		return (uint64_t)(((unsigned __int128)p->fast.magic * off) >> 64);
	return p->shift >= 0 ? off >> p->shift : off / p->fast.stride;
}

UDMA_HIDDEN const struct pool_seg *_udma_pool_find_seg(const struct udma_pool *p, uintptr_t a);

/* Slot holding address a: its segment, index and start. 0, or -1 if a is
 * not inside a slot (outside the pool, or in the gap before a boundary). */
static inline int pool_locate(const struct udma_pool *p, uintptr_t a, const struct pool_seg **sp,
			      uint64_t *jp, uintptr_t *startp)
{
	const struct pool_seg *s = &p->seg[0];
	uintptr_t off = a - s->base;
	uint64_t j;

	if (unlikely(off >= s->span)) {
		s = _udma_pool_find_seg(p, a);
		if (!s)
			return -1;
		off = a - s->base;
	}
	if (likely(!p->bshift)) {
		/* off < span: j < nslots */
		j = pool_div(p, off);
		*startp = s->base + j * p->fast.stride;
	} else {
		uint64_t u = off >> p->bshift, k = pool_div(p, off & (((uintptr_t)1 << p->bshift) - 1));
		if (k >= p->per_b)
			return -1;
		j = u * p->per_b + k;
		*startp = s->base + (u << p->bshift) + k * p->fast.stride;
		if (unlikely(j >= s->nslots))
			return -1;
	}
	*sp = s;
	*jp = j;
	return 0;
}

/* cache.c */
UDMA_HIDDEN int _udma_pool_global_init(void);
/* Give p its cache slot and list it among the live pools. 0 or -ENOMEM. */
UDMA_HIDDEN int _udma_pool_register(struct udma_pool *p);
/* Destroy's check and detach: -EINVAL if p is not a live pool (destroyed, or
 * never created), -EBUSY unless every block is free (or force). */
UDMA_HIDDEN int _udma_pool_retire(struct udma_pool *p, int force);
/* Under p->lock: free blocks in the shared stack plus every cache. */
UDMA_HIDDEN uint64_t _udma_pool_free_locked(struct udma_pool *p, uint64_t *cached);

/* pool.c, under p->lock: add memory (UDMA_POOL_GROW). 0 or -errno. */
UDMA_HIDDEN int _udma_pool_grow_locked(struct udma_pool *p);

#endif
