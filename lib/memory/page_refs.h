/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PA mode: the pages that pinned streaming mappings cover, counted, with
 * their physical address. An unmap asks it which of its pages other
 * mappings still cover, and what their reverse entries were, in time that
 * grows with the unmapped span, not with the number of mappings live.
 * Open addressing on the page address. Callers serialise (the domain lock).
 */
#ifndef UDMA_LIB_PAGE_REFS_H
#define UDMA_LIB_PAGE_REFS_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"

struct page_ref {
	uint64_t va;  /* page address; 0 = empty slot (page 0 is never mapped) */
	uint64_t pa;
	uint64_t n;   /* mappings covering it */
};

struct page_refs {
	struct page_ref *v;
	size_t cap;   /* a power of two, or 0 */
	size_t n;     /* pages in the table */
};

/* Count `pages` pages from va (page aligned), at physical pa onwards. All or nothing: -ENOMEM. */
UDMA_HIDDEN int _udma_page_refs_add(struct page_refs *t, uint64_t va, uint64_t pa, size_t pages);
/* Uncount them; a page nobody covers leaves the table. */
UDMA_HIDDEN void _udma_page_refs_drop(struct page_refs *t, uint64_t va, size_t pages);
/* The entry of the page at va, or NULL if no mapping covers it. */
UDMA_HIDDEN const struct page_ref *_udma_page_refs_find(const struct page_refs *t, uint64_t va);
/* Call fn for each counted page in [start, end): a lookup per page or a
 * walk of the table, whichever is shorter. */
UDMA_HIDDEN void _udma_page_refs_each(const struct page_refs *t, uint64_t start, uint64_t end,
				void (*fn)(const struct page_ref *r, void *arg), void *arg);
UDMA_HIDDEN void _udma_page_refs_fini(struct page_refs *t);

#endif
