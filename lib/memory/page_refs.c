/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "page_refs.h"

#define PAGE 4096ull

static size_t home(const struct page_refs *t, uint64_t va)
{
	return (size_t)(((va / PAGE) * 0x9e3779b97f4a7c15ull) >> 20) & (t->cap - 1);
}

static struct page_ref *slot_of(const struct page_refs *t, uint64_t va)
{
	size_t i = home(t, va);
	while (t->v[i].va && t->v[i].va != va)
		i = (i + 1) & (t->cap - 1);
	return &t->v[i];
}

/* Room for `more` pages at a load of one half at most. */
static int reserve(struct page_refs *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 64;
	while (2 * (t->n + more) > cap)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	struct page_refs g = { calloc(cap, sizeof(*g.v)), cap, t->n };
	if (!g.v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].va)
			*slot_of(&g, t->v[i].va) = t->v[i];
	free(t->v);
	*t = g;
	return 0;
}

int _udma_page_refs_add(struct page_refs *t, uint64_t va, uint64_t pa, size_t pages)
{
	int err = reserve(t, pages);
	if (err)
		return err;
	for (size_t i = 0; i < pages; i++) {
		struct page_ref *r = slot_of(t, va + i * PAGE);
		if (!r->va) {
			*r = (struct page_ref){ va + i * PAGE, pa + i * PAGE, 0 };
			t->n++;
		}
		r->n++;
	}
	return 0;
}

/* Empty slot i, moving back the entries after it that would no longer be
 * found (linear probing's deletion, no tombstones). */
static void vacate(struct page_refs *t, size_t i)
{
	size_t j = i, mask = t->cap - 1;
	for (;;) {
		t->v[i].va = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (!t->v[j].va)
				return;
			size_t h = home(t, t->v[j].va);
			/* stays if its home lies cyclically in (i, j] */
			if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
				continue;
			break;
		}
		t->v[i] = t->v[j];
		i = j;
	}
}

void _udma_page_refs_drop(struct page_refs *t, uint64_t va, size_t pages)
{
	for (size_t i = 0; t->cap && i < pages; i++) {
		struct page_ref *r = slot_of(t, va + i * PAGE);
		if (r->va && !--r->n) {
			vacate(t, (size_t)(r - t->v));
			t->n--;
		}
	}
}

const struct page_ref *_udma_page_refs_find(const struct page_refs *t, uint64_t va)
{
	if (!t->n)
		return NULL;
	const struct page_ref *r = slot_of(t, va);
	return r->va ? r : NULL;
}

void _udma_page_refs_each(const struct page_refs *t, uint64_t start, uint64_t end,
		    void (*fn)(const struct page_ref *r, void *arg), void *arg)
{
	if (!t->n || start >= end)
		return;
	if ((end - start) / PAGE <= t->cap) {
		for (uint64_t va = start & ~(PAGE - 1); va < end; va += PAGE) {
			const struct page_ref *r = slot_of(t, va);
			if (r->va)
				fn(r, arg);
		}
		return;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].va && t->v[i].va >= (start & ~(PAGE - 1)) && t->v[i].va < end)
			fn(&t->v[i], arg);
}

void _udma_page_refs_fini(struct page_refs *t)
{
	free(t->v);
	*t = (struct page_refs){ 0 };
}
