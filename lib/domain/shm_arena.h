/* SPDX-License-Identifier: BSD-3-Clause */
/* The allocator of a shared-memory segment: first fit over [0, size) by
 * offsets, so a peer that maps the same segment finds each allocation at
 * the same offset. The table is this process's: only the segment's creator
 * allocates (lib/domain/shm.c). */
#ifndef UDMA_LIB_SHM_ARENA_H
#define UDMA_LIB_SHM_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/log.h"

struct shm_block {
	uint64_t off;      /* start in the segment */
	uint64_t len;      /* bytes taken (a multiple of the page) */
	uint64_t user_len; /* bytes asked for */
};

struct shm_arena {
	struct shm_block *b; /* sorted by off, never overlapping */
	size_t n, cap;
	uint64_t size;       /* of the segment */
};

/* The first gap of len bytes: its offset in *off and the block recorded.
 * -ENOMEM when no gap is large enough (or no memory for the table). */
UDMA_HIDDEN int _udma_arena_alloc(struct shm_arena *a, uint64_t len, uint64_t user_len, uint64_t *off);
/* Index of the block that starts at off, or -1. */
UDMA_HIDDEN long _udma_arena_at(const struct shm_arena *a, uint64_t off);
/* Index of the block that contains off, or -1. */
UDMA_HIDDEN long _udma_arena_find(const struct shm_arena *a, uint64_t off);
UDMA_HIDDEN void _udma_arena_remove(struct shm_arena *a, size_t i);
UDMA_HIDDEN void _udma_arena_fini(struct shm_arena *a);

#endif
