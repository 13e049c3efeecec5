/* SPDX-License-Identifier: BSD-3-Clause */
/* Giving a page-aligned VA span device addresses in a domain, and taking them away. */
#ifndef UDMA_LIB_SPAN_H
#define UDMA_LIB_SPAN_H

#include "../domain/domain_internal.h"

#define SPAN_PAGE 4096ull

/* Where a span's device addresses went. */
struct span_dev {
	uint64_t iova;      /* device address of the span start */
	uint64_t iova_len;  /* IOMMU: IOVA range owned, else 0 */
	int contiguous;
	int vfio_mapped;
};

/*
 * Under d->lock. Fill the reverse table (and the forward table if fwd) for
 * [start, start+len) and program VFIO. All or nothing. mark_private (PA
 * mode, the caller's pinned memory): MADV_DONTFORK its private pages as
 * their physical addresses are read (_udma_os_virt_to_phys_pages).
 */
UDMA_HIDDEN int _udma_span_map(struct udma_domain *d, uint64_t start, uint64_t len, int fwd, int mark_private,
			 struct span_dev *out);
UDMA_HIDDEN void _udma_span_unmap(struct udma_domain *d, uint64_t start, uint64_t len, int fwd,
			    const struct span_dev *sd);

/*
 * Under d->lock, after a pinned mapping of [start, start+len) left the
 * registry: unpin the parts no live locked region or streaming mapping
 * still covers (pins do not nest, so covered pages are left alone).
 */
UDMA_HIDDEN void _udma_span_unpin(struct udma_domain *d, uint64_t start, uint64_t len);

#endif
