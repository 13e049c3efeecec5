/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pools: per-thread caches and the paths around them. The cache hit itself
 * is inline in <udma/pool.h> (udma_pool_get/put, compiled out of line in
 * noinline.c); this file has what it falls back on. Each thread has a table
 * of caches, one slot per pool (a pool's slot is its own while fewer than
 * UDMA_POOL_TLS_SLOTS pools live). The shared stack is touched under the
 * pool lock in batches of half a cache.
 *
 * Stealing. When the shared stack is empty, a get pulls the free blocks out
 * of other threads' caches rather than fail (DPDK strands them). An owner
 * marks itself active around each push/pop and then checks the cache's
 * steal flag; a thief, holding the pool lock, sets steal, issues
 * membarrier(PRIVATE_EXPEDITED) - a full barrier on every CPU running this
 * process, which stands in for the store-load fence the owner skipped -
 * waits for active to drop, and empties the cache. Without membarrier the
 * owners fence themselves (UDMA_POOL_FAST_FENCE); under
 * ThreadSanitizer the owners use seq_cst as well, so it sees the ordering.
 *
 * Lifetimes. A thread's caches go back to their pools when it exits (a
 * pthread key destructor). Attaching, detaching and destroy take g_lock, so
 * an exiting thread never flushes into a pool being freed.
 */
#include <assert.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/ptrset.h"
#include "pool_internal.h"

_Static_assert(sizeof(struct udma_pool_tcache) % sizeof(uintptr_t) == 0, "objs[] follows the header");

/* Matches no pool (ids start at 1), so the hot path needs no NULL checks. */
static struct udma_pool_tcache tc_none;
static struct udma_pool_tls tls_none = { .c = { [0 ... UDMA_POOL_TLS_SLOTS - 1] = &tc_none } };
/* initial-exec: one load from the thread pointer, no __tls_get_addr call */
__thread struct udma_pool_tls *udma_pool_tls_ __attribute__((tls_model("initial-exec"))) = &tls_none;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* caches' attach/detach, ids, slots */
static struct ptrset g_live; /* pools not yet destroyed: a second destroy is refused */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_init_err;
static int g_fence; /* no membarrier(): owners fence themselves */
static uint64_t g_next_id = 1;
static uint64_t g_slots; /* slots owned by a live pool */

static void tls_exit(void *arg);

static void global_init_once(void)
{
	if (pthread_key_create(&g_key, tls_exit)) {
		g_init_err = -EAGAIN;
		return;
	}
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		g_fence = 1;
		udma_dbg("membarrier() unavailable (%s): pool caches use fences", strerror(errno));
	}
}

int _udma_pool_global_init(void)
{
	pthread_once(&g_once, global_init_once);
	return g_init_err;
}

int _udma_pool_register(struct udma_pool *p)
{
	pthread_mutex_lock(&g_lock);
	if (_udma_ptrset_add(&g_live, p)) {
		pthread_mutex_unlock(&g_lock);
		return -ENOMEM;
	}
	p->fast.id = g_next_id++;
	if (g_fence)
		p->fast.flags |= UDMA_POOL_FAST_FENCE;
	if (~g_slots) {
		p->fast.slot = (uint32_t)__builtin_ctzll(~g_slots);
		g_slots |= 1ull << p->fast.slot;
		p->slot_owned = 1;
	} else {
		p->fast.slot = (uint32_t)(p->fast.id % UDMA_POOL_TLS_SLOTS); /* shared: caches of the two evict each other */
	}
	pthread_mutex_unlock(&g_lock);
	return 0;
}

static inline uint32_t tc_count(const struct udma_pool_tcache *c)
{
	return __atomic_load_n(&c->count, RELAXED);
}

static inline void tc_set_count(struct udma_pool_tcache *c, uint32_t n)
{
	/* relaxed: only the owner (or a thief it has handed over to) writes it */
	__atomic_store_n(&c->count, n, RELAXED);
}

static inline struct udma_pool_tcache *tc_mine(const struct udma_pool *p)
{
	struct udma_pool_tcache *c = udma_pool_tls_->c[p->fast.slot];
	/* relaxed: id changes only in this thread or in destroy, which must not race with use */
	return __atomic_load_n(&c->id, RELAXED) == p->fast.id ? c : NULL;
}

static inline __attribute__((always_inline)) void mark_used(const struct udma_pool *p, uintptr_t b)
{
	const struct pool_seg *s;
	uint64_t j;
	uintptr_t start;
	int err = pool_locate(p, b, &s, &j, &start);

	assert(!err && start == b && __atomic_load_n(&s->state[j], RELAXED) == UDMA_POOL_ST_FREE_);
	if (likely(!err))
		/* relaxed: a free block's state is changed only by whoever holds it */
		__atomic_store_n(&s->state[j], UDMA_POOL_ST_USED_, RELAXED);
}

static void shared_sync(struct udma_pool *p)
{
	__atomic_store_n(&p->shared_free, p->top, RELAXED);
}

/* Under g_lock (which keeps c->pool_ alive): give c's blocks back and unlink it. */
static void cache_detach(struct udma_pool_tcache *c)
{
	struct udma_pool *p = c->pool_;
	uint32_t n;

	pthread_mutex_lock(&p->lock);
	n = tc_count(c);
	memcpy(&p->stack[p->top], udma_pool_objs_(c), n * sizeof(udma_pool_objs_(c)[0]));
	p->top += n;
	shared_sync(p);
	tc_set_count(c, 0);
	if (c->prev_)
		c->prev_->next_ = c->next_;
	else
		p->caches = c->next_;
	if (c->next_)
		c->next_->prev_ = c->prev_;
	c->next_ = c->prev_ = NULL;
	pthread_mutex_unlock(&p->lock);
	c->pool_ = NULL;
	__atomic_store_n(&c->id, 0, RELAXED);
}

/* Thread exit: every cache goes back to its pool. */
static void tls_exit(void *arg)
{
	struct udma_pool_tls *t = arg;

	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < UDMA_POOL_TLS_SLOTS; i++) {
		struct udma_pool_tcache *c = t->c[i];
		if (c == &tc_none)
			continue;
		if (c->pool_)
			cache_detach(c);
		free(c);
	}
	pthread_mutex_unlock(&g_lock);
	udma_pool_tls_ = &tls_none;
	free(t);
}

/* The calling thread's cache for p, made on first use; NULL if no memory. */
static struct udma_pool_tcache *tc_attach(struct udma_pool *p)
{
	struct udma_pool_tls *t = udma_pool_tls_;
	struct udma_pool_tcache *c;

	if (t == &tls_none) {
		t = malloc(sizeof(*t));
		if (!t)
			return NULL;
		for (int i = 0; i < UDMA_POOL_TLS_SLOTS; i++)
			t->c[i] = &tc_none;
		if (pthread_setspecific(g_key, t)) {
			free(t);
			return NULL;
		}
		udma_pool_tls_ = t;
	}
	c = t->c[p->fast.slot];
	if (__atomic_load_n(&c->id, RELAXED) == p->fast.id)
		return c;
	pthread_mutex_lock(&g_lock);
	if (c != &tc_none) {
		if (c->pool_) /* another pool shares the slot: evict its cache */
			cache_detach(c);
		if (c->cap != p->cache_cap) {
			free(c);
			c = t->c[p->fast.slot] = &tc_none;
		}
	}
	if (c == &tc_none) {
		c = zalloc_lines(sizeof(*c) + p->cache_cap * sizeof(udma_pool_objs_(c)[0]));
		if (!c) {
			pthread_mutex_unlock(&g_lock);
			return NULL;
		}
		c->cap = p->cache_cap;
	}
	tc_set_count(c, 0);
	__atomic_store_n(&c->active, 0, RELAXED);
	__atomic_store_n(&c->steal, 0, RELAXED);
	pthread_mutex_lock(&p->lock);
	c->pool_ = p;
	c->prev_ = NULL;
	c->next_ = p->caches;
	if (p->caches)
		p->caches->prev_ = c;
	p->caches = c;
	pthread_mutex_unlock(&p->lock);
	__atomic_store_n(&c->id, p->fast.id, RELAXED);
	t->c[p->fast.slot] = c;
	pthread_mutex_unlock(&g_lock);
	return c;
}

uint64_t _udma_pool_free_locked(struct udma_pool *p, uint64_t *cached)
{
	uint64_t n = 0;

	for (struct udma_pool_tcache *c = p->caches; c; c = c->next_)
		n += tc_count(c);
	if (cached)
		*cached = n;
	return p->top + n;
}

static void hwm_locked(struct udma_pool *p)
{
	uint64_t usable = __atomic_load_n(&p->usable, RELAXED);
	uint64_t free = _udma_pool_free_locked(p, NULL), used = usable > free ? usable - free : 0;

	if (used > __atomic_load_n(&p->hwm, RELAXED))
		__atomic_store_n(&p->hwm, used, RELAXED);
}

/* Under p->lock: move the free blocks of other threads' caches to the shared stack. */
static uint64_t steal_locked(struct udma_pool *p, struct udma_pool_tcache *self)
{
	struct udma_pool_tcache *c;
	uint64_t moved = 0;
	int any = 0;

	for (c = p->caches; c; c = c->next_)
		if (c != self && tc_count(c)) {
			__atomic_store_n(&c->steal, 1, __ATOMIC_SEQ_CST);
			any = 1;
		}
	if (!any)
		return 0;
	/* Always the barrier, also under ThreadSanitizer: the owners may be in
	 * code built without it (relaxed store + compiler barrier). */
	if (p->fast.flags & UDMA_POOL_FAST_FENCE) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	} else if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)) {
		/* An owner's section could be missed: leave the caches alone. */
		udma_warn("pool %s: membarrier() failed (%s); not reclaiming cached blocks", p->name,
			  strerror(errno));
		for (c = p->caches; c; c = c->next_)
			__atomic_store_n(&c->steal, 0, __ATOMIC_RELEASE);
		return 0;
	}
	for (c = p->caches; c; c = c->next_) {
		if (!__atomic_load_n(&c->steal, RELAXED))
			continue;
		/* acquire: pairs with the owner's udma_pool_leave_() */
		while (__atomic_load_n(&c->active, __ATOMIC_ACQUIRE))
			sched_yield();
		uint32_t n = tc_count(c);
		memcpy(&p->stack[p->top], udma_pool_objs_(c), n * sizeof(udma_pool_objs_(c)[0]));
		p->top += n;
		moved += n;
		tc_set_count(c, 0);
		/* release: the owner's next udma_pool_enter_() sees the emptied cache */
		__atomic_store_n(&c->steal, 0, __ATOMIC_RELEASE);
	}
	shared_sync(p);
	if (moved) {
		__atomic_fetch_add(&p->steals, 1, RELAXED);
		udma_dbg("pool %s: reclaimed %llu blocks from other threads' caches", p->name,
			 (unsigned long long)moved);
	}
	return moved;
}

/* Under p->lock: at least need blocks in the shared stack and c, by
 * reclaiming from other caches or growing. 1 if so. */
static int ensure_locked(struct udma_pool *p, struct udma_pool_tcache *c, uint64_t need)
{
	if (p->top + (c ? tc_count(c) : 0) >= need)
		return 1;
	if (p->cache_cap)
		steal_locked(p, c);
	while (p->top + (c ? tc_count(c) : 0) < need)
		if (_udma_pool_grow_locked(p))
			return 0;
	return 1;
}

/* Under p->lock: refill c (empty or not) with up to half its capacity. */
static uint32_t refill_locked(struct udma_pool *p, struct udma_pool_tcache *c)
{
	uint32_t n = tc_count(c);
	uint64_t k = c->cap / 2 ? c->cap / 2 : 1;

	if (k > c->cap - n)
		k = c->cap - n;
	if (k > p->top)
		k = p->top;
	/* keep LIFO order: the top of the stack becomes the top of the cache */
	memcpy(&udma_pool_objs_(c)[n], &p->stack[p->top - k], k * sizeof(udma_pool_objs_(c)[0]));
	p->top -= k;
	shared_sync(p);
	tc_set_count(c, n + (uint32_t)k);
	return n + (uint32_t)k;
}

static void *fail_empty(struct udma_pool *p)
{
	__atomic_fetch_add(&p->alloc_failures, 1, RELAXED);
	return udma_fail_null(ENOMEM, "pool %s is empty (%llu blocks, all in use)", p->name,
			      (unsigned long long)__atomic_load_n(&p->usable, RELAXED));
}

void *udma_pool_get_slow_(struct udma_pool *p)
{
	struct udma_pool_tcache *c;
	uintptr_t b;

	if (unlikely(!p))
		return udma_fail_null(EINVAL, "NULL pool");
	c = p->nocache ? NULL : tc_attach(p);

	pthread_mutex_lock(&p->lock);
	if (!ensure_locked(p, c, 1)) {
		pthread_mutex_unlock(&p->lock);
		return fail_empty(p);
	}
	uint32_t n = c ? tc_count(c) : 0;
	if (c && !n && p->top)
		n = refill_locked(p, c);
	if (n) {
		b = udma_pool_objs_(c)[n - 1];
		tc_set_count(c, n - 1);
	} else {
		b = p->stack[--p->top];
		shared_sync(p);
	}
	hwm_locked(p);
	pthread_mutex_unlock(&p->lock);
	mark_used(p, b);
	return (void *)b;
}

void *udma_pool_take_(struct udma_pool *p, void *block)
{
	mark_used(p, (uintptr_t)block);
	return block;
}

void *udma_pool_get_iova(struct udma_pool *p, uint64_t *iova)
{
	void *b;

	if (unlikely(!iova))
		return udma_fail_null(EINVAL, "NULL iova");
	b = udma_pool_get(p);
	if (b)
		*iova = udma_pool_iova(p, b);
	return b;
}

__attribute__((cold)) int udma_pool_refuse_(struct udma_pool *p, const void *ptr, uint8_t st)
{
	if (!p)
		return udma_fail(EINVAL, "NULL pool");
	if (st == UDMA_POOL_ST_FREE_) {
		__atomic_fetch_add(&p->double_frees, 1, RELAXED);
		return udma_fail(EALREADY, "pool %s: block of %p is already free (double free)", p->name, ptr);
	}
	__atomic_fetch_add(&p->bad_frees, 1, RELAXED);
	return udma_fail(EINVAL, "pool %s: %p is not inside a block of this pool", p->name, ptr);
}

/* Under p->lock: move the oldest blocks of a full cache to the shared stack. */
static uint32_t flush_locked(struct udma_pool *p, struct udma_pool_tcache *c, uint32_t keep)
{
	uint32_t n = tc_count(c), k = n - keep;

	memcpy(&p->stack[p->top], udma_pool_objs_(c), k * sizeof(udma_pool_objs_(c)[0]));
	p->top += k;
	shared_sync(p);
	memmove(udma_pool_objs_(c), &udma_pool_objs_(c)[k], keep * sizeof(udma_pool_objs_(c)[0]));
	tc_set_count(c, keep);
	return keep;
}

/* The put freed the block (state FREE) but could not cache it. The check
 * keeps a stray call from pushing something that is not a free block. */
int udma_pool_put_slow_(struct udma_pool *p, void *block)
{
	struct udma_pool_tcache *c;
	uintptr_t start;
	uint8_t *state = udma_pool_slot_(p, block, &start);

	if (!state || start != (uintptr_t)block || __atomic_load_n(state, RELAXED) != UDMA_POOL_ST_FREE_)
		return udma_fail(EINVAL, "%p is not a freed block start", block);
	c = p->nocache ? NULL : tc_attach(p);
	pthread_mutex_lock(&p->lock);
	if (c) {
		uint32_t n = tc_count(c);
		if (n >= c->cap)
			n = flush_locked(p, c, c->cap / 2);
		udma_pool_objs_(c)[n] = start;
		tc_set_count(c, n + 1);
	} else {
		p->stack[p->top++] = start;
		shared_sync(p);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int get_bulk_slow(struct udma_pool *p, void **blocks, unsigned int n)
{
	struct udma_pool_tcache *c = p->nocache ? NULL : tc_attach(p);
	unsigned int i = 0;

	pthread_mutex_lock(&p->lock);
	if (!ensure_locked(p, c, n)) {
		pthread_mutex_unlock(&p->lock);
		__atomic_fetch_add(&p->alloc_failures, 1, RELAXED);
		return udma_fail(ENOMEM, "pool %s: %u blocks wanted, fewer free", p->name, n);
	}
	if (c) {
		uint32_t k = tc_count(c);
		while (i < n && k)
			blocks[i++] = (void *)udma_pool_objs_(c)[--k];
		tc_set_count(c, k);
	}
	while (i < n)
		blocks[i++] = (void *)p->stack[--p->top];
	shared_sync(p);
	if (c && !tc_count(c) && p->top)
		refill_locked(p, c);
	hwm_locked(p);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		mark_used(p, (uintptr_t)blocks[i]);
	return 0;
}

int udma_pool_get_bulk(struct udma_pool *p, void **blocks, unsigned int n)
{
	struct udma_pool_tcache *c;

	if (unlikely(!p || (!blocks && n)))
		return udma_fail(EINVAL, "NULL pool or array");
	if (!n)
		return 0;
	c = tc_mine(p);
	if (c) {
		if (likely(udma_pool_enter_(&p->fast, c))) {
			uint32_t k = tc_count(c);
			if (likely(k >= n)) {
				for (unsigned int i = 0; i < n; i++)
					blocks[i] = (void *)udma_pool_objs_(c)[k - 1 - i];
				tc_set_count(c, k - n);
				udma_pool_leave_(c);
				for (unsigned int i = 0; i < n; i++)
					mark_used(p, (uintptr_t)blocks[i]);
				return 0;
			}
		}
		udma_pool_leave_(c);
	}
	return get_bulk_slow(p, blocks, n);
}

int udma_pool_put_bulk(struct udma_pool *p, void *const *blocks, unsigned int n)
{
	int first = 0;

	if (unlikely(!p || (!blocks && n)))
		return udma_fail(EINVAL, "NULL pool or array");
	for (unsigned int i = 0; i < n; i++) {
		int err = udma_pool_put(p, blocks[i]);
		if (err && !first)
			first = err;
	}
	return first;
}

int udma_pool_cache_flush(struct udma_pool *p)
{
	struct udma_pool_tcache *c;

	if (!p)
		return udma_fail(EINVAL, "NULL pool");
	c = tc_mine(p);
	if (!c)
		return 0;
	pthread_mutex_lock(&p->lock);
	flush_locked(p, c, 0);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int _udma_pool_retire(struct udma_pool *p, int force)
{
	uint64_t usable, free;

	pthread_mutex_lock(&g_lock);
	if (!_udma_ptrset_has(&g_live, p)) {
		pthread_mutex_unlock(&g_lock);
		return udma_fail(EINVAL, "%p is not a pool (never created, or destroyed)", (void *)p);
	}
	pthread_mutex_lock(&p->lock);
	usable = __atomic_load_n(&p->usable, RELAXED);
	free = _udma_pool_free_locked(p, NULL);
	if (free < usable && !force) {
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&g_lock);
		return udma_fail(EBUSY, "pool %s: %llu of %llu blocks still in use", p->name,
				 (unsigned long long)(usable - free), (unsigned long long)usable);
	}
	if (free < usable)
		udma_warn("pool %s destroyed with %llu blocks in use", p->name, (unsigned long long)(usable - free));
	for (struct udma_pool_tcache *c = p->caches, *next; c; c = next) {
		next = c->next_;
		tc_set_count(c, 0);
		c->pool_ = NULL;
		c->next_ = c->prev_ = NULL;
		__atomic_store_n(&c->id, 0, RELAXED);
	}
	p->caches = NULL;
	if (p->slot_owned)
		g_slots &= ~(1ull << p->fast.slot);
	_udma_ptrset_del(&g_live, p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&g_lock);
	return 0;
}
