/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "ptrset.h"

static size_t home(const struct ptrset *s, const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32) & (s->cap - 1);
}

static size_t find(const struct ptrset *s, const void *p)
{
	size_t i = home(s, p);
	while (s->slot[i] && s->slot[i] != p)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int grow(struct ptrset *s)
{
	struct ptrset t = { .cap = s->cap ? s->cap * 2 : 16 };
	t.slot = calloc(t.cap, sizeof(*t.slot));
	if (!t.slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i])
			t.slot[find(&t, s->slot[i])] = s->slot[i];
	t.n = s->n;
	free(s->slot);
	*s = t;
	return 0;
}

int _udma_ptrset_add(struct ptrset *s, const void *p)
{
	if ((s->n + 1) * 4 > s->cap * 3 && grow(s))
		return -ENOMEM;
	size_t i = find(s, p);
	if (!s->slot[i]) {
		s->slot[i] = p;
		s->n++;
	}
	return 0;
}

int _udma_ptrset_has(const struct ptrset *s, const void *p)
{
	return s->cap && p && s->slot[find(s, p)] == p;
}

int _udma_ptrset_del(struct ptrset *s, const void *p)
{
	if (!_udma_ptrset_has(s, p))
		return 0;
	size_t i = find(s, p), j = i;
	s->slot[i] = NULL;
	s->n--;
	/* shift back the entries after the hole that would no longer be found */
	for (;;) {
		j = (j + 1) & (s->cap - 1);
		if (!s->slot[j])
			return 1;
		size_t h = home(s, s->slot[j]);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->slot[i] = s->slot[j];
			s->slot[j] = NULL;
			i = j;
		}
	}
}
