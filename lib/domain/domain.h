/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of a domain. Memory code reaches into it; clients never do. */
#ifndef UDMA_LIB_DOMAIN_H
#define UDMA_LIB_DOMAIN_H

#include <pthread.h>
#include <udma/domain.h>

#include "../core/log.h"
#include "../memory/iova.h"
#include "../memory/region.h"
#include "../memory/xmap.h"

/* A streaming mapping (udma_map): may overlap others and registrations. */
struct stream_map {
	uint64_t iova;        /* handle given out */
	size_t len;
	uintptr_t va;
	uint64_t span_start;  /* page-rounded VA span */
	uint64_t span_len;
	uint64_t iova_base;   /* IOMMU: IOVA range owned; 0 if none */
	int vfio_mapped;
	int locked;
};

struct udma_domain {
	char name[64];
	enum udma_addr_mode mode;
	int vfio_fd;              /* IOMMU mode with a real container, else -1 */
	pthread_mutex_t lock;     /* serialises every change below */
	struct xmap fwd;          /* VA -> device address */
	struct xmap rev;          /* device address -> VA (PA and IOMMU modes) */
	struct iova_space iova;   /* IOMMU mode */
	struct region_set regions;
	struct stream_map *streams;
	size_t nstreams, capstreams;
};

/* Default IOVA window of the emulated IOMMU: 64 GiB .. 1 TiB, far from
 * where Linux places mmaps and the heap, so a stray VA does not look like
 * a live IOVA, and below 40 bits as narrow IOMMUs need. */
#define UDMA_IOVA_DEFAULT_BASE (64ull << 30)
#define UDMA_IOVA_DEFAULT_SIZE ((1ull << 40) - UDMA_IOVA_DEFAULT_BASE)

UDMA_HIDDEN int vfio_map(int fd, uint64_t va, uint64_t iova, uint64_t len);
UDMA_HIDDEN int vfio_unmap(int fd, uint64_t iova, uint64_t len);

#endif
