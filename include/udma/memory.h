/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma memory: DMA memory in a domain and the device addresses (IOVAs) an
 * engine sees.
 *
 * Allocation returns zeroed, page-aligned memory, its size rounded up to the
 * backing page size, and its device address. Registration makes memory the
 * caller already has reachable. Translation turns a VA into an IOVA (and
 * back, for the emulated IOMMU) and says how far the result stays
 * contiguous; it is O(1) and lock-free.
 *
 * Ownership: udma owns what it allocates until udma_mem_free(); the caller
 * owns what it registers and must unregister it before unmapping it.
 * Thread safety: all functions may be called from any thread; translation
 * never blocks, and a concurrent (un)register is seen either before or
 * after, never torn.
 */
#ifndef UDMA_MEMORY_H
#define UDMA_MEMORY_H

#include <udma/core.h>
#include <udma/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Attribute flags for udma_mem_alloc(). Unknown bits: -EINVAL. */
#define UDMA_MEM_CONTIG        (1u << 0) /* one device-address range (PA mode: physically contiguous) */
#define UDMA_MEM_PHYS_CONTIG   (1u << 1) /* physically contiguous in every mode (needs PA access) */
#define UDMA_MEM_HUGE_2M       (1u << 2) /* back with 2 MiB hugepages */
#define UDMA_MEM_HUGE_1G       (1u << 3) /* back with 1 GiB hugepages */
#define UDMA_MEM_HUGE_FALLBACK (1u << 4) /* no such hugepages free: try the next smaller page size */
#define UDMA_MEM_SHARED        (1u << 5) /* memfd-backed, MAP_SHARED; fd exportable to other processes (the peer: udma_shm_import_fd) */
#define UDMA_MEM_PINNED        (1u << 6) /* mlock()ed: resident (PA mode always pins); not inherited by fork() unless SHARED */
#define UDMA_MEM_NUMA          (1u << 7) /* place on opts->numa_node; placement verified */
#define UDMA_MEM_ALL_FLAGS     0xffu

struct udma_mem_opts {
	size_t size;     /* sizeof(struct udma_mem_opts) */
	uint32_t flags;  /* UDMA_MEM_* */
	int numa_node;   /* with UDMA_MEM_NUMA */
};

/* What an allocation or a registration is. */
struct udma_mem {
	void *va;          /* CPU address */
	uint64_t iova;     /* device address of va */
	size_t len;        /* bytes (allocations: rounded up to page_size) */
	size_t page_size;  /* backing page size: 4 KiB, 2 MiB or 1 GiB */
	int fd;            /* UDMA_MEM_SHARED: the memfd, owned by udma (dup() to keep); else -1 */
	uint32_t flags;    /* UDMA_MEM_* actually granted */
	int numa_node;     /* node of the first page, -1 if unknown */
	int contiguous;    /* 1 if [iova, iova+len) is one device-address range */
};

/*
 * Allocate size bytes of DMA memory in d, a device domain or a shared-memory
 * one. opts may be NULL (4 KiB pages, no flags). Errors: -EINVAL (NULL d or
 * out, another kind of domain, size 0 or absurd, unknown flags, bad node,
 * both HUGE flags); -ENOMEM (no memory, no free hugepages without
 * HUGE_FALLBACK, contiguity not to be had); -EPERM (PHYS_CONTIG without PA
 * access); -ENOSPC (IOVA window full).
 *
 * In a shared-memory domain (<udma/domain.h>) the memory is carved from the
 * segment: iova is its offset there, fd the segment's memfd, the page size
 * the segment's; always CONTIG and SHARED. There PHYS_CONTIG, PINNED and
 * NUMA, and a HUGE size other than the segment's without HUGE_FALLBACK, are
 * -EINVAL; a full segment is -ENOMEM; an imported segment is -EPERM (its
 * creator allocates). free, query and the two translations take shm
 * domains too.
 */
UDMA_API int udma_mem_alloc(struct udma_domain *d, size_t size,
			    const struct udma_mem_opts *opts, struct udma_mem *out);

/*
 * Free an allocation. va must be the start udma returned and len the size
 * asked for or the rounded size. -EINVAL for a pointer or size that is not
 * one of ours (including a second free); nothing is freed then.
 */
UDMA_API int udma_mem_free(struct udma_domain *d, void *va, size_t len);

/*
 * Register [va, va+len) (any VA range; whole pages around it become
 * reachable). out may be NULL. -EBUSY if it overlaps a registration or
 * allocation; -EFAULT if the range is not mapped; -EINVAL bad arguments.
 */
UDMA_API int udma_mem_register(struct udma_domain *d, void *va, size_t len,
			       struct udma_mem *out);

/*
 * Unregister exactly what was registered. -ERANGE if [va, va+len) is only
 * part of a registration; -ENOENT if nothing is registered there; -EINVAL
 * for an allocation (free it instead).
 */
UDMA_API int udma_mem_unregister(struct udma_domain *d, void *va, size_t len);

/* Describe the allocation or registration containing va. -ENOENT if none. */
UDMA_API int udma_mem_query(struct udma_domain *d, const void *va, struct udma_mem *out);

/*
 * VA -> device address. If len is not NULL, on entry it is the length
 * wanted and on return the length (<= wanted) for which the result is
 * contiguous. Unregistered memory: UDMA_BAD_IOVA, errno EFAULT.
 */
UDMA_API uint64_t udma_va_to_iova(struct udma_domain *d, const void *va, size_t *len);

/*
 * Device address -> VA (reverse translation, used by software engines in
 * IOMMU and PA modes; identity in VA mode for registered memory). len as
 * above. Unknown address: NULL, errno EFAULT, logged.
 */
UDMA_API void *udma_iova_to_va(struct udma_domain *d, uint64_t iova, size_t *len);

/* Direction of a streaming mapping, as the device sees it. */
enum udma_dir {
	UDMA_DIR_BIDI = 0,
	UDMA_DIR_TO_DEVICE = 1,
	UDMA_DIR_FROM_DEVICE = 2,
};

/*
 * Streaming mapping of [va, va+len) for one transfer (dma_map_single's
 * model). Memory already in d translates to its address; other memory is
 * pinned and given a device address of its own (IOMMU: a fresh IOVA range
 * that only the mapping uses; PA: must be physically contiguous, else
 * -ENOMEM). The same memory may be mapped several times.
 * Errors: UDMA_BAD_IOVA and errno.
 */
UDMA_API uint64_t udma_map(struct udma_domain *d, void *va, size_t len, enum udma_dir dir);

/* End a streaming mapping: the address and length udma_map() took. -ENOENT if none. */
UDMA_API int udma_unmap(struct udma_domain *d, uint64_t iova, size_t len);
/* End every streaming mapping of d (a device being released); how many there were. */
UDMA_API int udma_unmap_all(struct udma_domain *d);

/* Hugepages of page_size (bytes) free on node (-1: all nodes); negative errno on error. */
UDMA_API long udma_hugepages_free(size_t page_size, int node);

#ifdef __cplusplus
}
#endif
#endif
