/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux kernel's DMA-mapping API (seed 003) in user space, on udma.
 * A struct device is a udma device domain opened by name; see
 * docs/compat-dma-mapping.md for what each attribute means here.
 */
#ifndef UDMA_COMPAT_LINUX_DMA_MAPPING_H
#define UDMA_COMPAT_LINUX_DMA_MAPPING_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t dma_addr_t;
typedef unsigned int gfp_t;

/* gfp_t bits understood here (values of Linux 5.x). Others: -EINVAL. */
#define __GFP_HIGH 0x20u
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
#define __GFP_ZERO 0x100u           /* memory is always zeroed anyway */
#define __GFP_NOWARN 0x200u         /* same as DMA_ATTR_NO_WARN */
#define __GFP_DIRECT_RECLAIM 0x400u
#define __GFP_KSWAPD_RECLAIM 0x800u
#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM)

/* Attributes, with the kernel's bit values. */
#define DMA_ATTR_WEAK_ORDERING (1UL << 1)
#define DMA_ATTR_WRITE_COMBINE (1UL << 2)
#define DMA_ATTR_NO_KERNEL_MAPPING (1UL << 4)
#define DMA_ATTR_SKIP_CPU_SYNC (1UL << 5)
#define DMA_ATTR_FORCE_CONTIGUOUS (1UL << 6)
#define DMA_ATTR_ALLOC_SINGLE_PAGES (1UL << 7)
#define DMA_ATTR_NO_WARN (1UL << 8)
#define DMA_ATTR_PRIVILEGED (1UL << 9)

#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

struct device;
struct udma_domain;

/* NULL or "": the default device (VA mode). "va", "pa", "iommu": that mode.
 * NULL + errno (ENODEV unknown name, EPERM "pa" without privilege). */
UDMA_API struct device *dma_device_open(const char *name);
/*
 * Release the device: coherent buffers still allocated are freed and
 * streaming mappings still live are unmapped (a warning says how many).
 * dma_pools created on it stay usable; the device's domain goes when the
 * last of them is destroyed. NULL is a no-op.
 */
UDMA_API void dma_device_close(struct device *dev);
UDMA_API struct udma_domain *dma_device_domain(struct device *dev);

/*
 * Zeroed, page-aligned memory, one contiguous range of device addresses.
 * NULL (errno EINVAL for bad arguments or unknown gfp/attrs bits, ENOMEM
 * when not to be had, with a reason at debug level; warn level unless NO_WARN).
 */
UDMA_API void *dma_alloc_attrs(struct device *dev, size_t size, dma_addr_t *dma_handle, gfp_t flag,
			       unsigned long attrs);
/* size, cpu_addr and dma_handle must match the allocation; otherwise nothing is freed. */
UDMA_API void dma_free_attrs(struct device *dev, size_t size, void *cpu_addr, dma_addr_t dma_handle,
			     unsigned long attrs);

static inline void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *dma_handle, gfp_t gfp)
{
	return dma_alloc_attrs(dev, size, dma_handle, gfp, (gfp & __GFP_NOWARN) ? DMA_ATTR_NO_WARN : 0);
}

static inline void dma_free_coherent(struct device *dev, size_t size, void *cpu_addr, dma_addr_t dma_handle)
{
	dma_free_attrs(dev, size, cpu_addr, dma_handle, 0);
}

static inline void *dma_alloc_wc(struct device *dev, size_t size, dma_addr_t *dma_addr, gfp_t gfp)
{
	unsigned long attrs = DMA_ATTR_WRITE_COMBINE;

	if (gfp & __GFP_NOWARN)
		attrs |= DMA_ATTR_NO_WARN;
	return dma_alloc_attrs(dev, size, dma_addr, gfp, attrs);
}

static inline void dma_free_wc(struct device *dev, size_t size, void *cpu_addr, dma_addr_t dma_addr)
{
	dma_free_attrs(dev, size, cpu_addr, dma_addr, DMA_ATTR_WRITE_COMBINE);
}

/* 0 if addr is a real mapping, -ENOMEM if it is DMA_MAPPING_ERROR. */
static inline int dma_mapping_error(struct device *dev, dma_addr_t dma_addr)
{
	(void)dev;
	return dma_addr == DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/* Streaming mappings. DMA_MAPPING_ERROR on failure (errno set). */
UDMA_API dma_addr_t dma_map_single(struct device *dev, void *ptr, size_t size, enum dma_data_direction dir);
UDMA_API void dma_unmap_single(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir);
/* Hand the buffer to the CPU / to the device. Caches are coherent here, so
 * these order memory (a full fence) and check the mapping exists. */
UDMA_API void dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
				      enum dma_data_direction dir);
UDMA_API void dma_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size,
					 enum dma_data_direction dir);

/*
 * DMA pools (mm/dmapool.c): fixed-size blocks of coherent memory, on udma's
 * native pool. The kernel's rules: align 0 is 1, otherwise a power of two;
 * size 1 .. INT_MAX, raised to 16 and to a multiple of align; boundary 0
 * or a power of two >= size, capped at max(size, PAGE_SIZE); no block
 * crosses it. The pool grows on demand and gives memory back only at
 * destroy. NULL + errno EINVAL for bad parameters.
 */
struct dma_pool;

UDMA_API struct dma_pool *dma_pool_create(const char *name, struct device *dev, size_t size, size_t align,
					  size_t boundary);
/* Busy (blocks still allocated): logged, and the pool is left alive. */
UDMA_API void dma_pool_destroy(struct dma_pool *pool);
/* A block and its device address in *handle; NULL (errno ENOMEM, EINVAL). */
UDMA_API void *dma_pool_alloc(struct dma_pool *pool, gfp_t mem_flags, dma_addr_t *handle);
/* vaddr and dma must belong together; otherwise logged and nothing is freed. */
UDMA_API void dma_pool_free(struct dma_pool *pool, void *vaddr, dma_addr_t dma);

static inline void *dma_pool_zalloc(struct dma_pool *pool, gfp_t mem_flags, dma_addr_t *handle)
{
	return dma_pool_alloc(pool, mem_flags | __GFP_ZERO, handle);
}

#ifdef __cplusplus
}
#endif
#endif
