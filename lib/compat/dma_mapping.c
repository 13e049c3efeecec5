/* SPDX-License-Identifier: BSD-3-Clause */
/* Seed 003: the kernel's DMA-mapping API, in user space, on udma. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <udma/memory.h>
#include <linux/dma-mapping.h>

#include "../core/log.h"
#include "compat_internal.h"

/* A coherent allocation the device still owns. */
struct coherent {
	void *va;
	size_t size;
	struct coherent *next;
};

struct device {
	struct udma_domain *domain;
	pthread_mutex_t lock;
	struct coherent **buckets; /* still allocated, freed at close: a hash on the address */
	size_t nallocs, nbuckets;
	unsigned pools; /* dma_pools on it: the domain lives until the last goes */
	int closed;
};

#define GFP_KNOWN (__GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_ZERO | __GFP_NOWARN | \
		   __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define ATTR_KNOWN (DMA_ATTR_WEAK_ORDERING | DMA_ATTR_WRITE_COMBINE | DMA_ATTR_NO_KERNEL_MAPPING | \
		    DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_FORCE_CONTIGUOUS | DMA_ATTR_ALLOC_SINGLE_PAGES | \
		    DMA_ATTR_NO_WARN | DMA_ATTR_PRIVILEGED)

struct device *dma_device_open(const char *name)
{
	struct device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return udma_fail_null(ENOMEM, "out of memory");
	dev->domain = _udma_compat_open_domain(name);
	if (!dev->domain) {
		int err = errno;
		free(dev);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&dev->lock, NULL);
	return dev;
}

static void device_free(struct device *dev)
{
	if (udma_domain_destroy(dev->domain))
		udma_err("device domain still busy at release; it is leaked");
	free(dev->buckets);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

/*
 * Closing is the device's release: what it still owns goes, as devres frees a
 * driver's managed resources at unbind. Streaming mappings are ended with a
 * warning (the kernel's dma-debug warns the same); dma_pools keep the device's
 * memory alive, so the domain goes when the last of them is destroyed.
 */
void dma_device_close(struct device *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	for (size_t i = 0; i < dev->nbuckets; i++)
		while (dev->buckets[i]) {
			struct coherent *c = dev->buckets[i];
			dev->buckets[i] = c->next;
			udma_mem_free(dev->domain, c->va, c->size);
			free(c);
		}
	dev->nallocs = 0;
	int left = udma_unmap_all(dev->domain);
	if (left > 0)
		udma_warn("device closed with %d streaming mapping%s live: unmapped", left, left > 1 ? "s" : "");
	dev->closed = 1;
	unsigned pools = dev->pools;
	pthread_mutex_unlock(&dev->lock);
	if (pools)
		udma_warn("device closed with %u dma_pool%s live: released when the last is destroyed", pools,
			  pools > 1 ? "s" : "");
	else
		device_free(dev);
}

void _udma_compat_device_hold(struct device *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->pools++;
	pthread_mutex_unlock(&dev->lock);
}

void _udma_compat_device_release(struct device *dev)
{
	pthread_mutex_lock(&dev->lock);
	int last = --dev->pools == 0 && dev->closed;
	pthread_mutex_unlock(&dev->lock);
	if (last)
		device_free(dev);
}

struct udma_domain *dma_device_domain(struct device *dev)
{
	return dev ? dev->domain : NULL;
}

static size_t bucket_of(const struct device *dev, const void *va)
{
	/* Fibonacci hashing of the page number; nbuckets is a power of two */
	return (size_t)((((uintptr_t)va >> 12) * 0x9e3779b97f4a7c15ull) >> 32) & (dev->nbuckets - 1);
}

/* Double the table. Without memory the chains just get longer. */
static void grow(struct device *dev)
{
	size_t old = dev->nbuckets;
	struct coherent **was = dev->buckets, **b = calloc(old ? 2 * old : 16, sizeof(*b));

	if (!b)
		return;
	dev->buckets = b;
	dev->nbuckets = old ? 2 * old : 16;
	for (size_t i = 0; i < old; i++)
		while (was[i]) {
			struct coherent *e = was[i];
			was[i] = e->next;
			e->next = b[bucket_of(dev, e->va)];
			b[bucket_of(dev, e->va)] = e;
		}
	free(was);
}

/* Remember an allocation. */
static int track(struct device *dev, void *va, size_t size)
{
	struct coherent *c;

	if (dev->nallocs >= dev->nbuckets)
		grow(dev);
	if (!dev->nbuckets || !(c = malloc(sizeof(*c))))
		return -ENOMEM;
	size_t i = bucket_of(dev, va);
	*c = (struct coherent){ va, size, dev->buckets[i] };
	dev->buckets[i] = c;
	dev->nallocs++;
	return 0;
}

static void untrack(struct device *dev, void *va)
{
	if (!dev->nbuckets)
		return;
	for (struct coherent **p = &dev->buckets[bucket_of(dev, va)]; *p; p = &(*p)->next)
		if ((*p)->va == va) {
			struct coherent *c = *p;
			*p = c->next;
			free(c);
			dev->nallocs--;
			return;
		}
}

void *dma_alloc_attrs(struct device *dev, size_t size, dma_addr_t *dma_handle, gfp_t flag, unsigned long attrs)
{
	/* Coherent memory is one range of device addresses, like the kernel's. */
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_CONTIG };
	struct udma_mem m;
	int err;

	if (!dev || !dma_handle)
		return udma_fail_null(EINVAL, "NULL device or dma_handle");
	if (flag & ~GFP_KNOWN)
		return udma_fail_null(EINVAL, "unknown gfp bits 0x%x", flag & ~GFP_KNOWN);
	if (attrs & ~ATTR_KNOWN)
		return udma_fail_null(EINVAL, "unknown DMA_ATTR bits 0x%lx", attrs & ~ATTR_KNOWN);
	if (attrs & DMA_ATTR_FORCE_CONTIGUOUS)
		o.flags |= UDMA_MEM_PHYS_CONTIG;
	/* Large buffers get 2 MiB pages when free (fewer TLB misses), as the
	 * IOMMU path tries high orders; ALLOC_SINGLE_PAGES says not to bother.
	 * FORCE_CONTIGUOUS past one page needs them: 4 KiB pages are rarely adjacent. */
	if ((!(attrs & DMA_ATTR_ALLOC_SINGLE_PAGES) && size >= (2u << 20)) ||
	    ((attrs & DMA_ATTR_FORCE_CONTIGUOUS) && size > 4096))
		o.flags |= UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK;

	pthread_mutex_lock(&dev->lock);
	err = udma_mem_alloc(dev->domain, size, &o, &m);
	if (!err && (err = track(dev, m.va, size)))
		udma_mem_free(dev->domain, m.va, size);
	pthread_mutex_unlock(&dev->lock);
	if (err) {
		*dma_handle = DMA_MAPPING_ERROR;
		if (!(attrs & DMA_ATTR_NO_WARN) && !(flag & __GFP_NOWARN))
			udma_warn("dma_alloc_attrs of %zu bytes failed: %s", size, strerror(-err));
		errno = -err;
		return NULL;
	}
	*dma_handle = m.iova;
	return m.va;
}

void dma_free_attrs(struct device *dev, size_t size, void *cpu_addr, dma_addr_t dma_handle, unsigned long attrs)
{
	struct udma_mem m;

	if (!dev || !cpu_addr) {
		udma_dbg("NULL device or cpu_addr");
		return;
	}
	pthread_mutex_lock(&dev->lock);
	if (udma_mem_query(dev->domain, cpu_addr, &m) || m.va != cpu_addr || m.iova != dma_handle) {
		udma_err("dma_free_attrs(%p, handle 0x%llx): not an allocation of this device with that handle",
			 cpu_addr, (unsigned long long)dma_handle);
	} else if (!udma_mem_free(dev->domain, cpu_addr, size)) {
		untrack(dev, cpu_addr);
	} else {
		udma_err("dma_free_attrs(%p): size %zu does not match the allocation", cpu_addr, size);
	}
	pthread_mutex_unlock(&dev->lock);
}

dma_addr_t dma_map_single(struct device *dev, void *ptr, size_t size, enum dma_data_direction dir)
{
	if (!dev || dir == DMA_NONE || (unsigned)dir > DMA_NONE) {
		udma_dbg("NULL device or bad direction %d", (int)dir);
		errno = EINVAL;
		return DMA_MAPPING_ERROR;
	}
	uint64_t iova = udma_map(dev->domain, ptr, size, (enum udma_dir)dir);
	return iova == UDMA_BAD_IOVA ? DMA_MAPPING_ERROR : iova;
}

void dma_unmap_single(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	if (!dev || udma_unmap(dev->domain, addr, size))
		udma_err("dma_unmap_single(0x%llx, %zu): no such mapping", (unsigned long long)addr, size);
}

static void sync_single(struct device *dev, dma_addr_t addr, size_t size, const char *who)
{
	size_t have = size;

	if (!dev || !udma_iova_to_va(dev->domain, addr, &have) || have < size)
		udma_err("%s(0x%llx, %zu): not a mapping of this device", who, (unsigned long long)addr, size);
	/* Coherent caches: ordering is all a hand-over needs. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	sync_single(dev, addr, size, __func__);
}

void dma_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	sync_single(dev, addr, size, __func__);
}
