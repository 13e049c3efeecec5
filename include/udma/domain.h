/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma domains: address spaces some engine can reach.
 *
 * This header covers device domains: the address space a DMA engine sees
 * when it reads host memory. Each has one address mode, fixed at creation:
 *
 *   VA     the device address is the process virtual address (SVA, or an
 *          IOMMU programmed 1:1). Always available.
 *   PA     the device address is the physical address read from
 *          /proc/self/pagemap. Needs CAP_SYS_ADMIN; memory is pinned and,
 *          where possible, hugepage-backed so pages stay put.
 *   IOMMU  the device address is an IOVA chosen by the domain's own IOVA
 *          allocator. With a VFIO type1 container the mappings go to the
 *          kernel; without one the IOMMU is emulated: software engines turn
 *          IOVAs back into VAs through the domain, and a VA passed where an
 *          IOVA is due fails loudly.
 *
 * Thread safety: every function here may be called from any thread.
 * Translation (see memory.h) is lock-free; changes are serialised per domain.
 */
#ifndef UDMA_DOMAIN_H
#define UDMA_DOMAIN_H

#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_domain;

enum udma_addr_mode {
	UDMA_ADDR_VA = 0,
	UDMA_ADDR_PA = 1,
	UDMA_ADDR_IOMMU = 2,
};

/* Options for a device domain. Zero-initialise, then set size. */
struct udma_device_opts {
	size_t size;             /* sizeof(struct udma_device_opts) */
	enum udma_addr_mode mode;
	const char *name;        /* copied; NULL gives "dev-<mode>"; at most 63 bytes */
	/* IOMMU mode only. A VFIO type1 container fd (VFIO_SET_IOMMU done) to
	 * program, or -1 to emulate. The domain does not close it. */
	int vfio_container_fd;
	uint64_t iova_base;      /* IOMMU mode: IOVA window; 0,0 = default window */
	uint64_t iova_size;
};

/*
 * Create a device domain. NULL opts means VA mode with defaults.
 * Errors (NULL + errno): EINVAL bad opts or unknown mode; EPERM PA mode
 * without the privilege to read physical addresses; ENOMEM.
 */
UDMA_API struct udma_domain *udma_device_domain_create(const struct udma_device_opts *opts);

/*
 * Destroy a domain. -EBUSY (and the domain stays usable) while memory is
 * still allocated, registered or stream-mapped in it. NULL: -EINVAL.
 */
UDMA_API int udma_domain_destroy(struct udma_domain *d);

UDMA_API enum udma_addr_mode udma_domain_mode(const struct udma_domain *d);
UDMA_API const char *udma_domain_name(const struct udma_domain *d);

/* "va", "pa", "iommu"; NULL for an unknown mode. */
UDMA_API const char *udma_mode_name(enum udma_addr_mode mode);

/*
 * Can a domain of this mode be created here? 0 if so, else a negative
 * errno, with the reason written to why (if not NULL).
 */
UDMA_API int udma_mode_probe(enum udma_addr_mode mode, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
