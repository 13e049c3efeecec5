/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed 000: WarpDrive block pools, mapped onto udma's native pool. The
 * handle wd_blkpool_create() returns is the udma pool itself, so that
 * wd_alloc_blk/wd_free_blk go straight to its inline get/put without a
 * load of the pool from a wrapper first; a pool of user memory keeps the
 * caller's bridge in a struct wd_blkpool, its bridge's usr, found again at
 * destroy in a short list (only user-memory pools are on it).
 */
#define UDMA_WD_BMM_NO_INLINE 1 /* the exported definitions below */
#include <pthread.h>
#include <stdlib.h>
#include <udma/pool.h>
#include <wd_bmm.h>

#include "../core/log.h"

struct wd_blkpool {
	struct wd_mm_br br; /* user memory: the caller's bridge, called through the trampolines */
	struct udma_pool *pool;
	struct wd_blkpool *next;
};

static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wd_blkpool *user_pools; /* under user_lock */

/* Take p's wrapper off the list (NULL: not a user-memory pool). */
static struct wd_blkpool *user_take(struct udma_pool *p)
{
	struct wd_blkpool *w = NULL;

	pthread_mutex_lock(&user_lock);
	for (struct wd_blkpool **at = &user_pools; *at; at = &(*at)->next)
		if ((*at)->pool == p) {
			w = *at;
			*at = w->next;
			break;
		}
	pthread_mutex_unlock(&user_lock);
	return w;
}

static void user_put(struct wd_blkpool *w)
{
	pthread_mutex_lock(&user_lock);
	w->next = user_pools;
	user_pools = w;
	pthread_mutex_unlock(&user_lock);
}

static void *br_alloc(void *usr, size_t size)
{
	struct wd_blkpool *w = usr;
	return w->br.alloc(w->br.usr, size);
}

static void br_free(void *usr, void *va)
{
	struct wd_blkpool *w = usr;
	w->br.free(w->br.usr, va);
}

static uint64_t br_map(void *usr, void *va, size_t len)
{
	struct wd_blkpool *w = usr;
	void *iova = w->br.iova_map(w->br.usr, va, len);
	return iova ? (uint64_t)(uintptr_t)iova : UDMA_BAD_IOVA;
}

static void br_unmap(void *usr, void *va, uint64_t iova, size_t len)
{
	struct wd_blkpool *w = usr;
	if (w->br.iova_unmap)
		w->br.iova_unmap(w->br.usr, va, (void *)(uintptr_t)iova, len);
}

/* "less than 90% of the required number" fails: at least ceil(0.9 n). */
UDMA_HIDDEN uint32_t wd_bmm_min_blocks(uint32_t n);
uint32_t wd_bmm_min_blocks(uint32_t n)
{
	return (uint32_t)((9ull * n + 9) / 10);
}

void *wd_blkpool_create(struct wd_queue *q, struct wd_blkpool_setup *setup)
{
	/* relaxed frees: no locked instruction per free, as UADK's tag test
	 * before its lock (docs/pool.md) */
	struct udma_pool_opts o = { .size = sizeof(o), .name = "wd_blkpool", .flags = UDMA_POOL_RELAXED_FREE };
	struct udma_pool_bridge b = { .size = sizeof(b), .alloc = br_alloc, .free = br_free,
				      .iova_map = br_map, .iova_unmap = br_unmap };
	struct udma_domain *d = NULL;
	struct wd_blkpool *w;
	int user;

	if (!setup)
		return udma_fail_null(WD_EINVAL, "setup is NULL");
	if (!setup->block_size || !setup->block_num)
		return udma_fail_null(WD_EINVAL, "Invalid block_size %u or block_num %u", setup->block_size,
				      setup->block_num);
	if (!setup->align_size || (setup->align_size & (setup->align_size - 1)))
		return udma_fail_null(WD_EINVAL, "Invalid align_size %u: not a power of two", setup->align_size);
	user = setup->br.alloc || setup->br.free;
	if (user && (!setup->br.alloc || !setup->br.free || !setup->br.iova_map))
		return udma_fail_null(WD_EINVAL, "user memory needs br.alloc, br.free and br.iova_map");
	if (!user) {
		d = wd_queue_domain(q);
		if (!d)
			return udma_fail_null(WD_EINVAL, "q is NULL or not requested (WD memory needs a queue)");
	}
	w = user ? calloc(1, sizeof(*w)) : NULL;
	if (user && !w)
		return udma_fail_null(WD_ENOMEM, "out of memory");
	o.block_size = setup->block_size;
	o.block_count = setup->block_num;
	o.align = setup->align_size;
	if (user) {
		w->br = setup->br;
		b.usr = w;
		o.bridge = &b;
	} else {
		o.min_blocks = wd_bmm_min_blocks(setup->block_num);
	}
	struct udma_pool *p = udma_pool_create(d, &o);
	if (!p) {
		int err = errno;
		free(w);
		return udma_fail_null(err, "cannot create a pool of %u blocks of %u bytes", setup->block_num,
				      setup->block_size);
	}
	if (user) {
		w->pool = p;
		user_put(w);
	} else { /* in/out: the number of blocks created */
		struct udma_pool_stats s = { .size = sizeof(s) };
		udma_pool_stats(p, &s);
		setup->block_num = (__u32)s.blocks;
	}
	return p;
}

void wd_blkpool_destroy(void *pool)
{
	struct udma_pool *p = pool;

	if (!p) {
		udma_dbg("pool is NULL");
		return;
	}
	struct wd_blkpool *w = user_take(p);
	if (udma_pool_destroy(p, 0)) {
		if (w)
			user_put(w);
		udma_err("Can not destroy blk pool, as it's in use.");
		return;
	}
	free(w);
}

void *wd_alloc_blk(void *pool)
{
	if (!pool)
		return udma_fail_null(WD_EINVAL, "pool is NULL");
	return udma_pool_get(pool);
}

void wd_free_blk(void *pool, void *blk)
{
	if (!pool || !blk) {
		udma_dbg("pool or blk is NULL");
		return;
	}
	udma_pool_put(pool, blk); /* rejections are counted and logged there */
}

void *wd_blk_iova_map(void *pool, void *blk)
{
	uint64_t iova;

	if (!pool || !blk)
		return udma_fail_null(WD_EINVAL, "blk map err, pool or blk is NULL");
	iova = udma_pool_iova(pool, blk);
	return iova == UDMA_BAD_IOVA ? NULL : (void *)(uintptr_t)iova;
}

void wd_blk_iova_unmap(void *pool, void *blk_iova, void *blk)
{
	if (!pool || !blk)
		udma_dbg("pool or blk is NULL");
}

int wd_get_free_blk_num(void *pool, __u32 *free_num)
{
	struct udma_pool_stats s = { .size = sizeof(s) };

	if (!pool || !free_num)
		return udma_fail(WD_EINVAL, "pool or free_num is NULL");
	udma_pool_stats(pool, &s);
	*free_num = (__u32)s.free;
	return WD_SUCCESS;
}

unsigned int wd_blk_alloc_failures(void *pool, __u32 *fail_num)
{
	struct udma_pool_stats s = { .size = sizeof(s) };

	if (!pool || !fail_num)
		return (unsigned int)udma_fail(WD_EINVAL, "pool or fail_num is NULL");
	udma_pool_stats(pool, &s);
	*fail_num = (__u32)s.alloc_failures;
	return WD_SUCCESS;
}

__u32 wd_blksize(void *pool)
{
	return pool ? (__u32)udma_pool_block_size(pool) : 0;
}
