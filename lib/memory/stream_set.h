/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The streaming mappings of one domain: a dense array (walked for overlap
 * checks) with, past a few dozen, a hash index on the device address handed
 * out, so that unmapping, and looking up a handle as given, cost the same
 * with 10 or 100 000 mappings live. Several mappings may share an address
 * (one buffer mapped twice). Callers serialise (the domain lock).
 */
#ifndef UDMA_LIB_STREAM_SET_H
#define UDMA_LIB_STREAM_SET_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"

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

struct stream_set {
	struct stream_map *v;
	size_t n, cap;
	uint32_t *slot;       /* index + 1 into v, 0 = empty; nslots a power of two */
	size_t nslots;
};

/* Up to this many mappings a backward scan is cheaper than hashing; past
 * it the index is built and kept. */
#define STREAM_SCAN_MAX 32

UDMA_HIDDEN struct stream_map *_udma_stream_set_reserve_slow(struct stream_set *s);
/* Enter v[i] in the index (which exists). */
UDMA_HIDDEN void _udma_stream_set_index(struct stream_set *s, size_t i);

/*
 * Where to build one more mapping (NULL: out of memory); it counts once
 * committed, and nothing else may touch the set in between. Built in place
 * because a copy of a struct the caller has just written reads it back
 * wider than it was stored (a store-forwarding stall, 5 ns a map).
 */
static inline struct stream_map *stream_set_reserve(struct stream_set *s)
{
	if (s->n == s->cap || s->nslots || s->n >= STREAM_SCAN_MAX)
		return _udma_stream_set_reserve_slow(s);
	return &s->v[s->n];
}

static inline void stream_set_commit(struct stream_set *s)
{
	if (s->nslots)
		_udma_stream_set_index(s, s->n);
	s->n++;
}
/* Index of a mapping with this handle (and len, unless len is 0), or -1. */
UDMA_HIDDEN long _udma_stream_set_find(const struct stream_set *s, uint64_t iova, size_t len);
/* Removes v[i]; the last mapping takes its place. */
UDMA_HIDDEN void _udma_stream_set_remove(struct stream_set *s, size_t i);
UDMA_HIDDEN void _udma_stream_set_fini(struct stream_set *s);

#endif
