/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "iova.h"

/* Room for n free ranges. */
static int reserve(struct iova_space *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 16;
	while (cap < n)
		cap *= 2;
	struct iova_range *r = realloc(s->free, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->free = r;
	s->cap = cap;
	return 0;
}

int _udma_iova_space_init(struct iova_space *s, uint64_t base, uint64_t size)
{
	memset(s, 0, sizeof(*s));
	if (!size || base + size < base || (base | size) & 4095)
		return -EINVAL;
	s->base = base;
	s->size = size;
	if (reserve(s, s->nfree + 1))
		return -ENOMEM;
	s->free[0] = (struct iova_range){ base, size };
	s->nfree = 1;
	return 0;
}

void _udma_iova_space_fini(struct iova_space *s)
{
	free(s->free);
	memset(s, 0, sizeof(*s));
}

int _udma_iova_alloc(struct iova_space *s, uint64_t len, uint64_t align, uint64_t *out)
{
	if (!len || (len & 4095) || !align || (align & (align - 1)))
		return -EINVAL;
	/* room for every free range there can be once this one is freed: frees never allocate */
	if (reserve(s, s->nlive + 2))
		return -ENOMEM;
	for (size_t i = 0; i < s->nfree; i++) {
		struct iova_range *r = &s->free[i];
		uint64_t start = (r->start + align - 1) & ~(align - 1);
		if (start < r->start || start - r->start >= r->len || r->len - (start - r->start) < len)
			continue;
		uint64_t head = start - r->start, tail = r->len - head - len;
		if (head && tail) { /* split in two: the tail becomes a new range */
			if (reserve(s, s->nfree + 1))
				return -ENOMEM;
			r = &s->free[i];
			memmove(&s->free[i + 2], &s->free[i + 1], (s->nfree - i - 1) * sizeof(*r));
			s->free[i + 1] = (struct iova_range){ start + len, tail };
			s->nfree++;
			r->len = head;
		} else if (head) {
			r->len = head;
		} else if (tail) {
			r->start = start + len;
			r->len = tail;
		} else {
			memmove(r, r + 1, (s->nfree - i - 1) * sizeof(*r));
			s->nfree--;
		}
		*out = start;
		s->nlive++;
		return 0;
	}
	return -ENOSPC;
}

int _udma_iova_free(struct iova_space *s, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;

	if (!len || end < start || start < s->base || end > s->base + s->size)
		return -EINVAL;
	/* i: first free range starting after start */
	size_t i = 0;
	while (i < s->nfree && s->free[i].start <= start)
		i++;
	/* Must not overlap a free range on either side (double free). */
	if (i > 0 && s->free[i - 1].start + s->free[i - 1].len > start)
		return -EINVAL;
	if (i < s->nfree && s->free[i].start < end)
		return -EINVAL;
	int merge_prev = i > 0 && s->free[i - 1].start + s->free[i - 1].len == start;
	int merge_next = i < s->nfree && s->free[i].start == end;

	if (merge_prev && merge_next) {
		s->free[i - 1].len += len + s->free[i].len;
		memmove(&s->free[i], &s->free[i + 1], (s->nfree - i - 1) * sizeof(s->free[0]));
		s->nfree--;
	} else if (merge_prev) {
		s->free[i - 1].len += len;
	} else if (merge_next) {
		s->free[i].start = start;
		s->free[i].len += len;
	} else {
		if (reserve(s, s->nfree + 1))
			return -ENOMEM;
		memmove(&s->free[i + 1], &s->free[i], (s->nfree - i) * sizeof(s->free[0]));
		s->free[i] = (struct iova_range){ start, len };
		s->nfree++;
	}
	s->nlive--;
	return 0;
}

uint64_t _udma_iova_free_bytes(const struct iova_space *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->nfree; i++)
		n += s->free[i].len;
	return n;
}
