/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma pools: fixed-size, aligned blocks carved from DMA memory, each with
 * one contiguous range of device addresses.
 *
 * The memory comes from a domain (udma allocates it) or from the caller
 * through a bridge of callbacks (alloc/free/iova_map/iova_unmap + a user
 * handle, the WarpDrive wd_mm_br model).
 *
 * get/put are O(1). Each thread keeps a small cache of free blocks per pool,
 * so the common path takes no lock and makes no system call; the shared free
 * stack is touched in batches. When the shared stack runs dry, free blocks
 * are pulled back from other threads' caches before a get fails, and a
 * thread's cache is returned when the thread exits: blocks are never
 * stranded.
 *
 * Metadata is out of band (a state byte per block), so put accepts any
 * address inside a block, and rejects, counts and logs a pointer outside the
 * pool or a block that is already free - also when two threads free the
 * same block at once: exactly one wins (unless UDMA_POOL_RELAXED_FREE). A
 * rejected put changes nothing.
 *
 * Layout: blocks are ALIGN(block_size, align) bytes ("the block size"),
 * every byte of which belongs to the block. No block crosses a boundary
 * (if one is given) or a discontinuity of device addresses; a slot that
 * would (PA mode: physical pages that are not adjacent) is skipped, and
 * the number of usable blocks is reported.
 *
 * Thread safety: every function may be called from any thread, except that
 * udma_pool_destroy() must not race with other calls on the same pool.
 */
#ifndef UDMA_POOL_H
#define UDMA_POOL_H

#include <udma/core.h>
#include <udma/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_pool;

/*
 * Caller memory. alloc/free/iova_map are required, iova_unmap is optional.
 * alloc returns at least size bytes (NULL: failure); iova_map returns the
 * device address of [va, va+len), which must be contiguous for len bytes
 * (UDMA_BAD_IOVA: that block is skipped). At destroy, or when creation
 * fails, iova_unmap (if set) is called for every mapped block, then free.
 * The callbacks are called only from create, grow (get) and destroy.
 */
struct udma_pool_bridge {
	size_t size; /* sizeof(struct udma_pool_bridge) */
	void *(*alloc)(void *usr, size_t size);
	void (*free)(void *usr, void *va);
	uint64_t (*iova_map)(void *usr, void *va, size_t len);
	void (*iova_unmap)(void *usr, void *va, uint64_t iova, size_t len);
	void *usr;
};

/* Flags for udma_pool_opts.flags. Unknown bits: -EINVAL. */
#define UDMA_POOL_NUMA     (1u << 0) /* domain memory on opts->numa_node */
#define UDMA_POOL_NO_CACHE (1u << 1) /* no per-thread caches: every get/put takes the pool lock (exact statistics) */
#define UDMA_POOL_HUGE     (1u << 2) /* domain memory on 2 MiB pages, falling back to 4 KiB */
#define UDMA_POOL_GROW     (1u << 3) /* when empty, add memory (up to max_blocks) instead of failing */
/* put frees with a plain load and store, no locked instruction: a double
 * free is still refused when the two frees are ordered, but two frees of
 * one block at the same moment on two CPUs may both succeed */
#define UDMA_POOL_RELAXED_FREE (1u << 4)
#define UDMA_POOL_ALL_FLAGS 0x1fu

#define UDMA_POOL_MAX_BLOCK_SIZE (1ul << 30)  /* largest rounded block size */
#define UDMA_POOL_MAX_ALIGN      (1ul << 30)
#define UDMA_POOL_DEFAULT_ALIGN  64           /* align 0: one cache line */

/* Zero-initialise, set size and the fields you need. */
struct udma_pool_opts {
	size_t size;          /* sizeof(struct udma_pool_opts) */
	size_t block_size;    /* bytes, > 0; rounded up to a multiple of align */
	uint32_t block_count; /* blocks wanted, > 0 */
	uint32_t min_blocks;  /* creation fails with fewer usable blocks than this; 0 = block_count */
	size_t align;         /* power of two, 0 = UDMA_POOL_DEFAULT_ALIGN; VA and device address */
	size_t boundary;      /* 0, or a power of two >= the block size no block may cross */
	uint32_t flags;       /* UDMA_POOL_* */
	int numa_node;        /* with UDMA_POOL_NUMA */
	uint32_t cache_size;  /* per-thread cache, in blocks; 0 = automatic */
	uint32_t max_blocks;  /* with UDMA_POOL_GROW: upper limit, 0 = none */
	const struct udma_pool_bridge *bridge; /* caller memory; then d must be NULL */
	const char *name;     /* for logs; copied, at most 31 bytes used */
};

/*
 * Create a pool in domain d (udma allocates the memory there, one range of
 * device addresses per block), or on bridge memory (d NULL). d may be a
 * shared-memory domain: the blocks are in its segment and their device
 * addresses are offsets there, for a peer that imported it (in an imported
 * segment: EPERM, as its creator allocates). min(block_count,
 * usable) blocks are made; more are never made. In PA mode, when slots are
 * skipped, udma retries with more memory before settling for fewer blocks.
 * Errors (NULL + errno): EINVAL bad options (zero sizes, align or boundary
 * not a power of two, boundary below the block size, unknown flags, bridge
 * without alloc/free/iova_map, both d and bridge, neither); ENOMEM no memory,
 * or fewer than min_blocks usable blocks (the reason is logged).
 */
UDMA_API struct udma_pool *udma_pool_create(struct udma_domain *d, const struct udma_pool_opts *opts);

#define UDMA_POOL_FORCE (1u << 0) /* destroy even with blocks in use (they become invalid) */

/*
 * Destroy. Blocks cached by threads count as free. -EBUSY (and the pool
 * stays usable, unchanged) while blocks are in use, unless UDMA_POOL_FORCE.
 * -EINVAL for NULL, unknown flags, or a pool already destroyed (checked
 * against the live pools; every other call on a destroyed pool, get and
 * put above all, is undefined: the fast path does not check).
 */
UDMA_API int udma_pool_destroy(struct udma_pool *p, unsigned int flags);

/*
 * udma_pool_get() and udma_pool_put() are inline (below), as DPDK's are:
 *
 * void *udma_pool_get(struct udma_pool *p);
 *   A free block (its start), or NULL with errno ENOMEM (empty: counted as
 *   an allocation failure) or EINVAL (NULL pool). Contents are not cleared.
 *
 * int udma_pool_put(struct udma_pool *p, void *ptr);
 *   Return the block containing ptr (any address inside it). 0; -EINVAL if
 *   ptr is not inside a usable block of p; -EALREADY if the block is free
 *   (double free). A rejected put is counted and logged and changes nothing.
 *
 * udma_pool_get_noinline() and udma_pool_put_noinline() are the same code
 * as functions (for bindings that cannot use inline code).
 */
UDMA_API void *udma_pool_get_noinline(struct udma_pool *p);
UDMA_API int udma_pool_put_noinline(struct udma_pool *p, void *ptr);

/* Same as udma_pool_get, and the block's device address in *iova. */
UDMA_API void *udma_pool_get_iova(struct udma_pool *p, uint64_t *iova);

/* n blocks into blocks[], all or none: 0, or -ENOMEM (nothing taken, one
 * failure counted), -EINVAL. */
UDMA_API int udma_pool_get_bulk(struct udma_pool *p, void **blocks, unsigned int n);
/* Put each of n blocks. Every valid one is returned; the result is 0 or
 * the error of the first one rejected. */
UDMA_API int udma_pool_put_bulk(struct udma_pool *p, void *const *blocks, unsigned int n);

/*
 * Device address of ptr, any address inside a block in use; O(1), no lock.
 * UDMA_BAD_IOVA with errno EINVAL if ptr is not inside a block of p that is
 * in use.
 */
UDMA_API uint64_t udma_pool_iova(struct udma_pool *p, const void *ptr);
/* Start of the block in use that contains ptr; NULL + EINVAL otherwise. */
UDMA_API void *udma_pool_block(struct udma_pool *p, const void *ptr);

/* The (rounded) block size; 0 for NULL. */
UDMA_API size_t udma_pool_block_size(const struct udma_pool *p);
/* The domain the memory is in (NULL for bridge memory or a NULL pool). */
UDMA_API struct udma_domain *udma_pool_domain(const struct udma_pool *p);

/* Return the calling thread's cached blocks of p to the shared stack. */
UDMA_API int udma_pool_cache_flush(struct udma_pool *p);

struct udma_pool_stats {
	size_t size;             /* in: sizeof(struct udma_pool_stats); fields past it are not written */
	uint64_t blocks;         /* usable blocks */
	uint64_t free;           /* free blocks, including those in per-thread caches */
	uint64_t cached;         /* of those, in per-thread caches */
	uint64_t in_use;         /* blocks - free */
	uint64_t hwm;            /* most blocks in use at once, sampled when a cache refills (exact with NO_CACHE) */
	uint64_t alloc_failures; /* gets that found the pool empty */
	uint64_t bad_frees;      /* puts of pointers not inside a usable block */
	uint64_t double_frees;   /* puts of blocks already free */
	uint64_t skipped;        /* slots not used: device-address discontinuity, misalignment, bridge refusal */
	uint64_t steals;         /* times free blocks were pulled from other threads' caches */
	uint64_t grows;          /* memory added by UDMA_POOL_GROW */
	size_t block_size;       /* rounded */
	size_t align;
	size_t boundary;
	uint32_t cache_size;     /* per-thread cache capacity, 0 with NO_CACHE */
};

/*
 * Counters, read without stopping other threads: each value is exact when
 * the pool is quiescent. -EINVAL for NULL arguments or a size too small.
 */
UDMA_API int udma_pool_stats(struct udma_pool *p, struct udma_pool_stats *st);

/* ---- inline fast path ------------------------------------------------
 * What the inline get/put read; the layout is part of the ABI. A cache hit
 * costs no call, no lock and no system call; everything else goes through
 * the exported functions. Not for direct use.
 */
#define UDMA_POOL_TLS_SLOTS 64

/* A thread's cache of free blocks of one pool. The owner pushes and pops
 * between enter and leave; anyone else only under the pool lock, and a
 * thief (reclaiming blocks for an empty pool) only after the active/steal
 * handshake: see lib/pool/cache.c. */
struct udma_pool_tcache {
	uint64_t id;       /* pool served; 0: none */
	uint32_t count;    /* blocks in objs[] */
	uint32_t cap;
	uint32_t active;   /* the owner is inside enter..leave */
	uint32_t steal;    /* a thief wants the blocks */
	struct udma_pool *pool_;                 /* udma's */
	struct udma_pool_tcache *next_, *prev_;  /* udma's */
	/* followed by uintptr_t objs[cap]: block starts, objs[count-1] the hottest */
};

/* The objs[] array after the header (no flexible array member: C++ has none). */
#define udma_pool_objs_(c) ((uintptr_t *)((c) + 1))

struct udma_pool_tls {
	struct udma_pool_tcache *c[UDMA_POOL_TLS_SLOTS];
};

/* A slot's state byte. */
enum { UDMA_POOL_ST_NONE_ = 0 /* not a usable block */, UDMA_POOL_ST_FREE_ = 1, UDMA_POOL_ST_USED_ = 2 };

/* The first bytes of every struct udma_pool; immutable after create. */
struct udma_pool_fast {
	uint64_t id;      /* never 0 */
	uint32_t slot;    /* index in the thread's udma_pool_tls */
	uint32_t flags;   /* UDMA_POOL_FAST_* */
	uint64_t magic;   /* block index = (magic * (va - base)) >> 64 */
	uint64_t stride;  /* block size */
	uintptr_t base;   /* first memory segment */
	uintptr_t span;
	uint8_t *state;   /* per block: UDMA_POOL_ST_* */
};

#define UDMA_POOL_FAST_DIRECT 1u /* no boundary gaps, exact magic: state[] indexed inline below span */
#define UDMA_POOL_FAST_FENCE  2u /* no membarrier(): owners fence themselves */
#define UDMA_POOL_FAST_RELAXED 4u /* UDMA_POOL_RELAXED_FREE */

/* This thread's caches. initial-exec: one load from the thread pointer. */
UDMA_API extern __thread struct udma_pool_tls *udma_pool_tls_ __attribute__((tls_model("initial-exec")));
/* Out-of-line halves of get/put. */
UDMA_API void *udma_pool_get_slow_(struct udma_pool *p);          /* no cache hit */
UDMA_API void *udma_pool_take_(struct udma_pool *p, void *block);  /* mark a block from a cache in use */
UDMA_API int udma_pool_put_slow_(struct udma_pool *p, void *block); /* freed, not cached */
/* State byte of the slot holding ptr, and the slot's start; NULL if none. */
UDMA_API uint8_t *udma_pool_slot_(struct udma_pool *p, const void *ptr, uintptr_t *start);
/* A put refused: the block was in state st. Counts, logs, returns the error. */
UDMA_API int udma_pool_refuse_(struct udma_pool *p, const void *ptr, uint8_t st);

#define UDMA_POOL_INLINE_ static inline __attribute__((always_inline))

#if defined(__SANITIZE_THREAD__)
#define UDMA_POOL_TSAN_ 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UDMA_POOL_TSAN_ 1
#endif
#endif
#ifndef UDMA_POOL_TSAN_
#define UDMA_POOL_TSAN_ 0
#endif

/* Enter the own cache; 0 if a thief is at work (then leave and go slow). */
UDMA_POOL_INLINE_ int udma_pool_enter_(const struct udma_pool_fast *f, struct udma_pool_tcache *c)
{
#if UDMA_POOL_TSAN_
	(void)f;
	__atomic_store_n(&c->active, 1, __ATOMIC_SEQ_CST);
	return !__atomic_load_n(&c->steal, __ATOMIC_SEQ_CST);
#else
	__atomic_store_n(&c->active, 1, __ATOMIC_RELAXED);
	/* store active, load steal: the thief's membarrier() orders the two
	 * for us (an asymmetric fence); the compiler must not. Without
	 * membarrier() the owner fences itself. */
	if (__builtin_expect(f->flags & UDMA_POOL_FAST_FENCE, 0))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* acquire: a thief's changes to the cache come with its steal = 0 */
	return !__atomic_load_n(&c->steal, __ATOMIC_ACQUIRE);
#endif
}

UDMA_POOL_INLINE_ void udma_pool_leave_(struct udma_pool_tcache *c)
{
	/* release: a thief that reads 0 sees our pushes and pops */
	__atomic_store_n(&c->active, 0, __ATOMIC_RELEASE);
}

__extension__ typedef unsigned __int128 udma_pool_u128_;

UDMA_POOL_INLINE_ uint64_t udma_pool_index_(const struct udma_pool_fast *f, uintptr_t off)
{
	return (uint64_t)(((udma_pool_u128_)f->magic * off) >> 64);
}

/* The state byte and start of the slot holding va, found inline: in the
 * first segment of a pool without gaps. 0: not found here (look out of line). */
UDMA_POOL_INLINE_ int udma_pool_direct_(const struct udma_pool_fast *f, uintptr_t va, uint8_t **state,
					uintptr_t *start)
{
	uintptr_t off = va - f->base;
	uint64_t j;

	if (__builtin_expect(!(f->flags & UDMA_POOL_FAST_DIRECT) || off >= f->span, 0))
		return 0;
	j = udma_pool_index_(f, off);
	*state = &f->state[j];
	*start = f->base + j * f->stride;
	return 1;
}

/*
 * udma_pool_get() and udma_pool_put(). lib/pool/noinline.c defines
 * UDMA_POOL_NOINLINE_ and includes this header, as liburing's src/ffi.c
 * does: the same bodies are then compiled once more as the exported
 * udma_pool_get_noinline() and udma_pool_put_noinline(). The inline put
 * hands a pointer it cannot place without a call (outside the first
 * segment, or in a pool with gaps) to that out-of-line copy, whole.
 */
#ifdef UDMA_POOL_NOINLINE_
#define UDMA_POOL_ENTRY_
#define UDMA_POOL_NAME_(name) name##_noinline
#define UDMA_POOL_OUT_OF_LINE_ 1
#else
#define UDMA_POOL_ENTRY_ UDMA_POOL_INLINE_
#define UDMA_POOL_NAME_(name) name
#define UDMA_POOL_OUT_OF_LINE_ 0
#endif

UDMA_POOL_ENTRY_ void *UDMA_POOL_NAME_(udma_pool_get)(struct udma_pool *p)
{
	const struct udma_pool_fast *f = (const struct udma_pool_fast *)p;

	if (__builtin_expect(p != NULL, 1)) {
		struct udma_pool_tcache *c = udma_pool_tls_->c[f->slot];
		/* relaxed: id changes in this thread, or in destroy, which must not race with use */
		if (__builtin_expect(__atomic_load_n(&c->id, __ATOMIC_RELAXED) == f->id, 1)) {
			if (__builtin_expect(udma_pool_enter_(f, c), 1)) {
				uint32_t n = __atomic_load_n(&c->count, __ATOMIC_RELAXED);
				if (__builtin_expect(n != 0, 1)) {
					uintptr_t b = udma_pool_objs_(c)[n - 1], start;
					uint8_t *state;
					__atomic_store_n(&c->count, n - 1, __ATOMIC_RELAXED);
					udma_pool_leave_(c);
					if (__builtin_expect(!udma_pool_direct_(f, b, &state, &start), 0))
						return udma_pool_take_(p, (void *)b);
					/* relaxed: a free block's state changes only by whoever holds it */
					__atomic_store_n(state, UDMA_POOL_ST_USED_, __ATOMIC_RELAXED);
					return (void *)b;
				}
			}
			udma_pool_leave_(c);
		}
	}
	return udma_pool_get_slow_(p);
}

UDMA_POOL_ENTRY_ int UDMA_POOL_NAME_(udma_pool_put)(struct udma_pool *p, void *ptr)
{
	const struct udma_pool_fast *f = (const struct udma_pool_fast *)p;
	struct udma_pool_tcache *c;
	uint8_t *state, st;
	uintptr_t start;

	if (__builtin_expect(p == NULL, 0))
		return udma_pool_refuse_(p, ptr, UDMA_POOL_ST_NONE_);
	c = udma_pool_tls_->c[f->slot];
	if (__builtin_expect(!udma_pool_direct_(f, (uintptr_t)ptr, &state, &start), 0)) {
		if (!UDMA_POOL_OUT_OF_LINE_)
			return udma_pool_put_noinline(p, ptr);
		uintptr_t s; /* not &start: start stays in a register */
		state = udma_pool_slot_(p, ptr, &s);
		if (!state)
			return udma_pool_refuse_(p, ptr, UDMA_POOL_ST_NONE_);
		start = s;
	}
	/* Exactly one of two racing frees wins: the one whose exchange finds
	 * the block in use. The plain load first keeps the exchange off a slot
	 * that is no block (its state never changes); an exchange costs less
	 * than a compare-and-swap. relaxed: the block itself travels through
	 * the caches and the pool lock, which order its data. */
	st = __atomic_load_n(state, __ATOMIC_RELAXED);
	if (__builtin_expect(st != UDMA_POOL_ST_USED_, 0))
		return udma_pool_refuse_(p, ptr, st);
	if (f->flags & UDMA_POOL_FAST_RELAXED) {
		__atomic_store_n(state, UDMA_POOL_ST_FREE_, __ATOMIC_RELAXED);
	} else {
		st = __atomic_exchange_n(state, UDMA_POOL_ST_FREE_, __ATOMIC_RELAXED);
		if (__builtin_expect(st != UDMA_POOL_ST_USED_, 0))
			return udma_pool_refuse_(p, ptr, st);
	}
	if (__builtin_expect(__atomic_load_n(&c->id, __ATOMIC_RELAXED) == f->id, 1)) {
		if (__builtin_expect(udma_pool_enter_(f, c), 1)) {
			uint32_t n = __atomic_load_n(&c->count, __ATOMIC_RELAXED);
			if (__builtin_expect(n < c->cap, 1)) {
				/* The caller's pointer when it is the block's start, as
				 * it usually is: chosen by a branch, so that the next
				 * get's block does not wait for the multiplications
				 * that located this one. */
				uintptr_t v = (uintptr_t)ptr;
				if (__builtin_expect(v != start, 0))
					__asm__("" : "=r"(v) : "0"(start)); /* a branch, not a cmov */
				udma_pool_objs_(c)[n] = v;
				__atomic_store_n(&c->count, n + 1, __ATOMIC_RELAXED);
				udma_pool_leave_(c);
				return 0;
			}
		}
		udma_pool_leave_(c);
	}
	return udma_pool_put_slow_(p, (void *)start);
}

#ifdef __cplusplus
}
#endif
#endif
