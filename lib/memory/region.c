/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "region.h"

/* First index whose end is above addr. */
static size_t lower(const struct region_set *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t _udma_region_first_ending_after(const struct region_set *s, uint64_t addr)
{
	return lower(s, addr);
}

long _udma_region_find(const struct region_set *s, uint64_t addr)
{
	size_t i = lower(s, addr);
	return i < s->n && s->r[i].start <= addr ? (long)i : -1;
}

int _udma_region_overlaps(const struct region_set *s, uint64_t start, uint64_t end)
{
	size_t i = lower(s, start);
	return i < s->n && s->r[i].start < end;
}

/* The n regions copied to the middle of a fresh buffer, with a hole at i:
 * twice as large when over half full, else as large (recentred). */
static int recentre(struct region_set *s, size_t i)
{
	size_t cap = !s->cap ? 16 : 2 * (s->n + 1) > s->cap ? 2 * s->cap : s->cap;
	size_t head = (cap - s->n - 1) / 2;
	struct region *buf = malloc(cap * sizeof(*buf));

	if (!buf)
		return -ENOMEM;
	if (s->n) {
		memcpy(buf + head, s->r, i * sizeof(*buf));
		memcpy(buf + head + i + 1, s->r + i, (s->n - i) * sizeof(*buf));
	}
	free(s->buf);
	s->buf = buf;
	s->cap = cap;
	s->r = buf + head;
	return 0;
}

int _udma_region_insert(struct region_set *s, const struct region *r)
{
	size_t i = lower(s, r->start), head = s->buf ? (size_t)(s->r - s->buf) : 0;
	int front = i < s->n - i;

	if (front ? head == 0 : head + s->n == s->cap) {
		if (recentre(s, i))
			return -ENOMEM;
	} else if (front) { /* the part before i moves down one */
		memmove(s->r - 1, s->r, i * sizeof(*r));
		s->r--;
	} else { /* the part from i moves up one */
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*r));
	}
	s->r[i] = *r;
	s->n++;
	return 0;
}

void _udma_region_remove(struct region_set *s, size_t idx)
{
	if (idx < s->n - idx - 1) { /* the front part moves up one */
		memmove(s->r + 1, s->r, idx * sizeof(s->r[0]));
		s->r++;
	} else {
		memmove(&s->r[idx], &s->r[idx + 1], (s->n - idx - 1) * sizeof(s->r[0]));
	}
	s->n--;
}

void _udma_region_set_fini(struct region_set *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}
