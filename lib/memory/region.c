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

size_t region_first_ending_after(const struct region_set *s, uint64_t addr)
{
	return lower(s, addr);
}

long region_find(const struct region_set *s, uint64_t addr)
{
	size_t i = lower(s, addr);
	return i < s->n && s->r[i].start <= addr ? (long)i : -1;
}

int region_overlaps(const struct region_set *s, uint64_t start, uint64_t end)
{
	size_t i = lower(s, start);
	return i < s->n && s->r[i].start < end;
}

int region_insert(struct region_set *s, const struct region *r)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct region *n = realloc(s->r, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->r = n;
		s->cap = cap;
	}
	size_t i = lower(s, r->start);
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*r));
	s->r[i] = *r;
	s->n++;
	return 0;
}

void region_remove(struct region_set *s, size_t idx)
{
	memmove(&s->r[idx], &s->r[idx + 1], (s->n - idx - 1) * sizeof(s->r[0]));
	s->n--;
}

void region_set_fini(struct region_set *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}
