/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WarpDrive (UADK v1) block memory pools, as seed 000 documents them, on
 * udma's native pool (<udma/pool.h>). docs/pool.md lists where this
 * differs from UADK's code and why.
 *
 * A pool handle is opaque (void *). Every function may be called from any
 * thread, except that wd_blkpool_destroy() must not race with other calls
 * on the same pool.
 */
#ifndef UDMA_COMPAT_WD_BMM_H
#define UDMA_COMPAT_WD_BMM_H

#include <wd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory pool creating parameters */
struct wd_blkpool_setup {
	__u32 block_size;   /* Block buffer size */
	__u32 block_num;    /* Block buffer number */
	__u32 align_size;   /* Block buffer startging address align size */
	struct wd_mm_br br; /* memory from user if don't use WD memory */
};

/*
 * Create a block pool on the WD queue using WD memory (br.alloc and br.free
 * both NULL: memory in the queue's device) or user memory (br.alloc,
 * br.free and br.iova_map all set; q may be NULL).
 * With WD memory, setup->block_num is in/out: it returns the number of
 * blocks created, and creation fails if that is less than 90% of the
 * number asked for. With user memory every block must map.
 * align_size: a power of two (1 .. 1 GiB). Blocks are ALIGN(block_size,
 * align_size) bytes (wd_blksize()).
 * Returns the pool, or NULL (errno EINVAL for a bad setup, ENOMEM).
 */
UDMA_API void *wd_blkpool_create(struct wd_queue *q, struct wd_blkpool_setup *setup);

/* Destroy a pool. Refused (logged, pool unchanged and usable) while blocks are allocated. */
UDMA_API void wd_blkpool_destroy(void *pool);

/* Start address of a free block, or NULL (empty: counted in wd_blk_alloc_failures). */
UDMA_API void *wd_alloc_blk(void *pool);

/* Release the block containing blk (any address within it). A pointer
 * outside the pool or a block already free is rejected and logged. */
UDMA_API void wd_free_blk(void *pool, void *blk);

/* IOVA of blk (any address within an allocated block); NULL on failure. */
UDMA_API void *wd_blk_iova_map(void *pool, void *blk);

/* No operation: block mappings live as long as the pool (no-IOMMU mode as
 * documented, and in the other modes too). */
UDMA_API void wd_blk_iova_unmap(void *pool, void *blk_iova, void *blk);

/* Free blocks (including those in per-thread caches). WD_SUCCESS or -WD_EINVAL. */
UDMA_API int wd_get_free_blk_num(void *pool, __u32 *free_num);

/* Allocation failures so far. WD_SUCCESS or -WD_EINVAL (as the document's
 * prototype, the return type is unsigned int). */
UDMA_API unsigned int wd_blk_alloc_failures(void *pool, __u32 *fail_num);

/* Block size (ALIGN(block_size, align_size)); 0 for NULL. */
UDMA_API __u32 wd_blksize(void *pool);

/*
 * wd_alloc_blk() and wd_free_blk() are inline in optimised builds, as
 * DPDK's rte_mempool_get/put are: the pool handle is a udma pool, so a call
 * is its inline get/put (<udma/pool.h>) behind the NULL checks, and NULL
 * arguments go to the exported functions, which log. The macros replace
 * calls only: the name without a call after it (an address, a callback) and
 * (wd_alloc_blk)(pool) are the exported functions, which stay; a build
 * without optimisation, in strict C99, or with UDMA_WD_BMM_NO_INLINE
 * defined, calls them always.
 */
#if defined(__OPTIMIZE__) && !defined(UDMA_WD_BMM_NO_INLINE) &&                                     \
	(defined(__cplusplus) || !defined(__STRICT_ANSI__) || __STDC_VERSION__ >= 201112L)
/* (<udma/pool.h> needs C11 or GNU C: strict C99 clients call the functions) */
#include <udma/pool.h>

static inline __attribute__((always_inline)) void *udma_wd_alloc_blk_(void *pool)
{
	if (__builtin_expect(pool == NULL, 0))
		return (wd_alloc_blk)(pool);
	return udma_pool_get((struct udma_pool *)pool);
}

static inline __attribute__((always_inline)) void udma_wd_free_blk_(void *pool, void *blk)
{
	if (__builtin_expect(pool == NULL || blk == NULL, 0))
		(wd_free_blk)(pool, blk);
	else
		udma_pool_put((struct udma_pool *)pool, blk); /* rejections are counted and logged there */
}

#define wd_alloc_blk(pool) udma_wd_alloc_blk_(pool)
#define wd_free_blk(pool, blk) udma_wd_free_blk_(pool, blk)
#endif

#ifdef __cplusplus
}
#endif
#endif
