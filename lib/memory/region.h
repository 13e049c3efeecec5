/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The allocations and registrations of one domain, sorted by start address,
 * so that free/unregister can check a pointer is ours and register can
 * refuse overlaps. Writer-side bookkeeping under the domain lock; the hot
 * read path (translation) never looks here.
 */
#ifndef UDMA_LIB_REGION_H
#define UDMA_LIB_REGION_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"
#include "os.h"

enum region_kind { REGION_ALLOC = 1, REGION_REGISTERED = 2 };

struct region {
	uint64_t start, end;   /* page-rounded VA span in the tables */
	uintptr_t user_va;     /* what the caller passed or got */
	size_t user_len;       /* registered length, or size asked for */
	uint64_t iova;         /* device address of start */
	uint64_t iova_len;     /* IOMMU mode: IOVA range owned (0 otherwise) */
	enum region_kind kind;
	uint32_t flags;        /* UDMA_MEM_* granted */
	int contiguous;
	int vfio_mapped;
	int locked;            /* we mlock()ed it */
	struct os_map map;     /* REGION_ALLOC: the pages */
};

/*
 * Sorted, with room kept at both ends of buf: an insert or remove moves the
 * shorter side. mmap hands out falling addresses, so new regions arrive at
 * the front while the oldest are freed from the back; both stay O(1).
 */
struct region_set {
	struct region *r;   /* the first of n, inside buf */
	size_t n;
	struct region *buf;
	size_t cap;
};

/* Index of the first region ending above addr (s->n if none): start of an overlap walk. */
UDMA_HIDDEN size_t _udma_region_first_ending_after(const struct region_set *s, uint64_t addr);
/* Index of the region containing addr, or -1. */
UDMA_HIDDEN long _udma_region_find(const struct region_set *s, uint64_t addr);
/* Does [start, end) overlap any region? */
UDMA_HIDDEN int _udma_region_overlaps(const struct region_set *s, uint64_t start, uint64_t end);
UDMA_HIDDEN int _udma_region_insert(struct region_set *s, const struct region *r);
UDMA_HIDDEN void _udma_region_remove(struct region_set *s, size_t idx);
UDMA_HIDDEN void _udma_region_set_fini(struct region_set *s);

#endif
