/* SPDX-License-Identifier: BSD-3-Clause */
/* Device domains: the domain kind whose addresses are device addresses of
 * this process's memory, and the state memory code keeps for it. */
#ifndef UDMA_LIB_DEVICE_H
#define UDMA_LIB_DEVICE_H

#include "../core/check.h"
#include "../domain/domain_internal.h"
#include "iova.h"
#include "page_refs.h"
#include "region.h"
#include "stream_set.h"
#include "xmap.h"

/* Default IOVA window of the emulated IOMMU: 64 GiB .. 1 TiB, far from
 * where Linux places mmaps and the heap, so a stray VA does not look like
 * a live IOVA, and below 40 bits as narrow IOMMUs need. */
#define UDMA_IOVA_DEFAULT_BASE (64ull << 30)
#define UDMA_IOVA_DEFAULT_SIZE ((1ull << 40) - UDMA_IOVA_DEFAULT_BASE)

/* Tables, IOVA space, regions. */
struct device_state {
	enum udma_addr_mode mode;
	int vfio_fd;              /* IOMMU mode with a real container, else -1 */
	struct xmap fwd;          /* VA -> device address */
	struct xmap rev;          /* device address -> VA (PA and IOMMU modes) */
	struct iova_space iova;   /* IOMMU mode */
	struct region_set regions;
	struct stream_set streams;
	struct page_refs stream_pages; /* PA mode: pages pinned streaming mappings cover */
	int pa_aliases;           /* PA mode: a physical page has been entered at two VAs */
};

struct device_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	struct device_state dev;
};

UDMA_HIDDEN extern const struct domain_kind _udma_device_kind;

static inline int is_device(const struct udma_domain *d)
{
	return d && d->k == &_udma_device_kind;
}

static inline struct device_state *dev_of(const struct udma_domain *d)
{
	UDMA_ASSERT(is_device(d));
	return &((struct device_domain *)(uintptr_t)d)->dev;
}

/* vfio.c */
UDMA_HIDDEN int _udma_vfio_map(int fd, uint64_t va, uint64_t iova, uint64_t len);
UDMA_HIDDEN int _udma_vfio_unmap(int fd, uint64_t iova, uint64_t len);

#endif
