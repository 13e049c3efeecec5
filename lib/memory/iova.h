/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA space: hands out aligned, non-overlapping ranges of a window and takes
 * them back for reuse. First fit over a sorted list of free ranges, merged on
 * free. Callers serialise (the domain lock); not a hot path.
 */
#ifndef UDMA_LIB_IOVA_H
#define UDMA_LIB_IOVA_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"

struct iova_range {
	uint64_t start, len;
};

struct iova_space {
	uint64_t base, size;
	struct iova_range *free;  /* sorted by start, never adjacent */
	size_t nfree, cap;
	size_t nlive;             /* ranges handed out: at most nlive + 1 free ranges */
};

UDMA_HIDDEN int _udma_iova_space_init(struct iova_space *s, uint64_t base, uint64_t size);
UDMA_HIDDEN void _udma_iova_space_fini(struct iova_space *s);
/* len and align: powers-of-two align, len a multiple of 4 KiB. -ENOSPC if full. */
UDMA_HIDDEN int _udma_iova_alloc(struct iova_space *s, uint64_t len, uint64_t align, uint64_t *out);
/* -EINVAL if [start, start+len) is not wholly allocated. */
UDMA_HIDDEN int _udma_iova_free(struct iova_space *s, uint64_t start, uint64_t len);
UDMA_HIDDEN uint64_t _udma_iova_free_bytes(const struct iova_space *s);

#endif
