/* SPDX-License-Identifier: BSD-3-Clause */
/* Streaming mappings: dense array, open-addressed index on the handle. */
#include <errno.h>
#include <stdlib.h>
#include "stream_set.h"

static size_t home(const struct stream_set *s, uint64_t iova)
{
	/* handles are 4 KiB-page addresses plus an offset: mix the bits down */
	return (size_t)((iova * 0x9e3779b97f4a7c15ull) >> 32) & (s->nslots - 1);
}

/* The slot holding index i (which is in the index). */
static size_t slot_of(const struct stream_set *s, size_t i)
{
	size_t k = home(s, s->v[i].iova);

	while (s->slot[k] != i + 1)
		k = (k + 1) & (s->nslots - 1);
	return k;
}

void _udma_stream_set_index(struct stream_set *s, size_t i)
{
	size_t k = home(s, s->v[i].iova);

	while (s->slot[k])
		k = (k + 1) & (s->nslots - 1);
	s->slot[k] = (uint32_t)(i + 1);
}

/* Keep the index at most half full: probes stay short. */
static int index_grow(struct stream_set *s)
{
	size_t nslots = s->nslots ? 2 * s->nslots : 4 * STREAM_SCAN_MAX;
	uint32_t *slot = calloc(nslots, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	free(s->slot);
	s->slot = slot;
	s->nslots = nslots;
	for (size_t i = 0; i < s->n; i++)
		_udma_stream_set_index(s, i);
	return 0;
}

struct stream_map *_udma_stream_set_reserve_slow(struct stream_set *s)
{
	if (s->n >= UINT32_MAX - 1)
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct stream_map *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	if ((s->nslots ? 2 * (s->n + 1) > s->nslots : s->n + 1 > STREAM_SCAN_MAX) && index_grow(s))
		return NULL;
	return &s->v[s->n];
}

long _udma_stream_set_find(const struct stream_set *s, uint64_t iova, size_t len)
{
	if (!s->nslots) {
		for (size_t i = s->n; i-- > 0;) /* newest first: map/unmap pairs */
			if (s->v[i].iova == iova && (!len || s->v[i].len == len))
				return (long)i;
		return -1;
	}
	for (size_t k = home(s, iova); s->slot[k]; k = (k + 1) & (s->nslots - 1)) {
		const struct stream_map *m = &s->v[s->slot[k] - 1];
		if (m->iova == iova && (!len || m->len == len))
			return (long)(s->slot[k] - 1);
	}
	return -1;
}

void _udma_stream_set_remove(struct stream_set *s, size_t i)
{
	size_t mask = s->nslots - 1, hole, last = s->n - 1;

	if (!s->nslots) {
		if (i != last)
			s->v[i] = s->v[last];
		s->n = last;
		return;
	}
	/* Linear probing's deletion: pull back each later entry of the run
	 * that may sit no nearer its home than the hole. */
	hole = slot_of(s, i);
	s->slot[hole] = 0;
	for (size_t k = (hole + 1) & mask; s->slot[k]; k = (k + 1) & mask) {
		size_t h = home(s, s->v[s->slot[k] - 1].iova);
		if (((k - h) & mask) >= ((k - hole) & mask)) {
			s->slot[hole] = s->slot[k];
			s->slot[k] = 0;
			hole = k;
		}
	}
	if (i != last) {
		s->slot[slot_of(s, last)] = (uint32_t)(i + 1);
		s->v[i] = s->v[last];
	}
	s->n = last;
}

void _udma_stream_set_fini(struct stream_set *s)
{
	free(s->v);
	free(s->slot);
	*s = (struct stream_set){ 0 };
}
