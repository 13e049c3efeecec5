/* SPDX-License-Identifier: BSD-3-Clause */
/* Seed 003 side: the kernel's dma_pool (mm/dmapool.c) on udma's native pool. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udma/pool.h>
#include <linux/dma-mapping.h>

#include "../core/log.h"
#include "compat_internal.h"

#define DMA_POOL_PAGE 4096ul
#define DMA_BLOCK_MIN 16ul /* sizeof(struct dma_block) on 64-bit: the kernel's floor */
#define GFP_KNOWN (__GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_ZERO | __GFP_NOWARN | \
		   __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

struct dma_pool {
	struct udma_pool *p;
	struct device *dev;
	size_t size; /* block size after the kernel's rounding */
	char name[32];
};

struct dma_pool *dma_pool_create(const char *name, struct device *dev, size_t size, size_t align,
				 size_t boundary)
{
	struct udma_pool_opts o = { .size = sizeof(o), .flags = UDMA_POOL_GROW };
	struct udma_domain *d = dma_device_domain(dev);
	struct dma_pool *dp;
	size_t allocation;

	if (!d)
		return udma_fail_null(EINVAL, "NULL device");
	/* The kernel's parameter normalisation, in its order. */
	if (!align)
		align = 1;
	else if (align & (align - 1))
		return udma_fail_null(EINVAL, "align %zu is not a power of two", align);
	if (!size || size > INT_MAX)
		return udma_fail_null(EINVAL, "size %zu is 0 or above INT_MAX", size);
	if (size < DMA_BLOCK_MIN)
		size = DMA_BLOCK_MIN;
	if (align > UDMA_POOL_MAX_ALIGN || size > UDMA_POOL_MAX_BLOCK_SIZE)
		return udma_fail_null(EINVAL, "size %zu or align %zu too large", size, align);
	size = (size + align - 1) & ~(align - 1);
	allocation = size > DMA_POOL_PAGE ? size : DMA_POOL_PAGE;
	if (!boundary)
		boundary = allocation;
	else if (boundary < size || (boundary & (boundary - 1)))
		return udma_fail_null(EINVAL, "boundary %zu must be a power of two >= size %zu", boundary, size);
	/* The kernel's min(boundary, allocation), up to a page. Above a page it
	 * puts one block in each allocation, aligned to its power-of-two order,
	 * so the caller's boundary holds there too; udma packs blocks, so it
	 * keeps the caller's boundary. */
	if (boundary > allocation && size <= DMA_POOL_PAGE)
		boundary = allocation;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return udma_fail_null(ENOMEM, "out of memory");
	snprintf(dp->name, sizeof(dp->name), "%s", name ? name : "dma_pool");
	dp->size = size;
	o.block_size = size;
	o.align = align;
	/* A boundary that is not a power of two is a whole allocation of one
	 * block (size > PAGE_SIZE, no boundary given): nothing more to enforce. */
	o.boundary = (boundary & (boundary - 1)) ? 0 : boundary;
	/* Start with 64 KiB (at least one allocation, one boundary unit) where
	 * the kernel starts with one page: fewer growth steps, each a memory
	 * allocation. */
	size_t first = allocation < (64u << 10) ? (64u << 10) / allocation * allocation : allocation;
	size_t units = o.boundary && first > o.boundary ? first / o.boundary : 1;
	o.block_count = (uint32_t)(o.boundary ? units * (o.boundary / size) : first / size);
	o.name = dp->name;
	dp->p = udma_pool_create(d, &o);
	if (!dp->p) {
		int err = errno;
		free(dp);
		return udma_fail_null(err, "dma_pool_create %s: size %zu align %zu boundary %zu failed", name ? name : "",
				      size, align, boundary);
	}
	dp->dev = dev;
	_udma_compat_device_hold(dev);
	return dp;
}

void dma_pool_destroy(struct dma_pool *pool)
{
	if (!pool)
		return;
	if (udma_pool_destroy(pool->p, 0)) {
		/* The kernel leaks the busy pages too; the blocks stay valid. */
		udma_err("dma_pool_destroy %s, busy: blocks still allocated; the pool is left alive", pool->name);
		return;
	}
	_udma_compat_device_release(pool->dev);
	free(pool);
}

void *dma_pool_alloc(struct dma_pool *pool, gfp_t mem_flags, dma_addr_t *handle)
{
	uint64_t iova;
	void *va;

	if (!pool || !handle)
		return udma_fail_null(EINVAL, "NULL pool or handle");
	if (mem_flags & ~GFP_KNOWN)
		return udma_fail_null(EINVAL, "unknown gfp bits 0x%x", mem_flags & ~GFP_KNOWN);
	va = udma_pool_get_iova(pool->p, &iova);
	if (!va)
		return NULL;
	if (mem_flags & __GFP_ZERO)
		memset(va, 0, pool->size);
	*handle = iova;
	return va;
}

void dma_pool_free(struct dma_pool *pool, void *vaddr, dma_addr_t dma)
{
	uint64_t iova;

	if (!pool) {
		udma_dbg("NULL pool");
		return;
	}
	iova = udma_pool_iova(pool->p, vaddr);
	if (iova != UDMA_BAD_IOVA && iova != dma) {
		udma_err("dma_pool_free %s, %p/0x%llx (bad dma: the block is at 0x%llx)", pool->name, vaddr,
			 (unsigned long long)dma, (unsigned long long)iova);
		return;
	}
	/* Not in use (double free) or not ours: put rejects, counts and logs it. */
	if (udma_pool_put(pool->p, vaddr))
		udma_err("dma_pool_free %s, %p/0x%llx (bad vaddr or already free)", pool->name, vaddr,
			 (unsigned long long)dma);
}
