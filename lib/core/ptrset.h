/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A set of pointers (open addressing, linear probing, backward-shift
 * deletion): which handles are alive, so that a destroy of a handle already
 * freed, or never made, is refused instead of touching freed memory. Not
 * thread-safe: the owner's lock guards it.
 */
#ifndef UDMA_LIB_PTRSET_H
#define UDMA_LIB_PTRSET_H

#include <stddef.h>

#include "log.h"

struct ptrset {
	const void **slot;
	size_t cap, n; /* cap: 0 or a power of two */
};

/* 0, or -ENOMEM (the set is unchanged). */
UDMA_HIDDEN int _udma_ptrset_add(struct ptrset *s, const void *p);
/* 1 if p was there (and is now gone), else 0. */
UDMA_HIDDEN int _udma_ptrset_del(struct ptrset *s, const void *p);
UDMA_HIDDEN int _udma_ptrset_has(const struct ptrset *s, const void *p);

#endif
