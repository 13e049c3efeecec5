/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xmap.h"

int _udma_xmap_init(struct xmap *m)
{
	memset(m, 0, sizeof(*m));
	/* NORESERVE: untouched L1 pages cost nothing but address space. */
	void *p = mmap(NULL, XMAP_L1_ENTRIES * sizeof(uint64_t *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	m->l1 = p;
	return 0;
}

void _udma_xmap_fini(struct xmap *m)
{
	for (size_t i = 0; i < m->ntables; i++)
		free(m->tables[i]);
	free(m->tables);
	if (m->l1)
		munmap(m->l1, XMAP_L1_ENTRIES * sizeof(uint64_t *));
	memset(m, 0, sizeof(*m));
}

static uint64_t *table_new(struct xmap *m)
{
	if (m->ntables == m->captables) {
		size_t cap = m->captables ? m->captables * 2 : 64;
		void **t = realloc(m->tables, cap * sizeof(*t));
		if (!t)
			return NULL;
		m->tables = t;
		m->captables = cap;
	}
	uint64_t *t = aligned_alloc(4096, 512 * sizeof(uint64_t));
	if (!t)
		return NULL;
	memset(t, 0, 512 * sizeof(uint64_t));
	m->tables[m->ntables++] = t;
	return t;
}

static uint64_t *l2_of(struct xmap *m, uint64_t key, int create)
{
	uint64_t **slot = &m->l1[key >> 30];
	uint64_t *l2 = *slot;

	if (!l2 && create) {
		l2 = table_new(m);
		if (l2) /* release: the zeroed table is visible before the pointer */
			__atomic_store_n(slot, l2, __ATOMIC_RELEASE);
	}
	return l2;
}

int _udma_xmap_set(struct xmap *m, uint64_t key, uint64_t len, uint64_t val)
{
	if ((key | len | val) & (XMAP_PAGE - 1) || key + len < key ||
	    (key + len) > (1ull << XMAP_KEY_BITS))
		return -EINVAL;
	while (len) {
		uint64_t *l2 = l2_of(m, key, 1);
		if (!l2)
			return -ENOMEM;
		uint64_t *e2 = &l2[(key >> 21) & 511];
		uint64_t cur = *e2;

		/* A whole aligned 2 MiB with no 4 KiB table under it: one entry. */
		if (!(key & (XMAP_HUGE - 1)) && len >= XMAP_HUGE && !(cur & XE_TABLE)) {
			__atomic_store_n(e2, val | XE_VALID, __ATOMIC_RELEASE);
			key += XMAP_HUGE, val += XMAP_HUGE, len -= XMAP_HUGE;
			continue;
		}
		uint64_t *l3;
		if (cur & XE_TABLE) {
			l3 = (uint64_t *)(uintptr_t)(cur & XE_ADDR_MASK);
		} else {
			l3 = table_new(m);
			if (!l3)
				return -ENOMEM;
			if (cur & XE_VALID) /* split an existing 2 MiB entry */
				for (unsigned i = 0; i < 512; i++)
					l3[i] = ((cur & XE_ADDR_MASK) + i * XMAP_PAGE) | XE_VALID;
			__atomic_store_n(e2, (uint64_t)(uintptr_t)l3 | XE_TABLE, __ATOMIC_RELEASE);
		}
		do {
			__atomic_store_n(&l3[(key >> 12) & 511], val | XE_VALID, __ATOMIC_RELEASE);
			key += XMAP_PAGE, val += XMAP_PAGE, len -= XMAP_PAGE;
		} while (len && (key & (XMAP_HUGE - 1)));
	}
	return 0;
}

void _udma_xmap_clear(struct xmap *m, uint64_t key, uint64_t len)
{
	while (len) {
		uint64_t *l2 = l2_of(m, key, 0);
		uint64_t step = XMAP_HUGE - (key & (XMAP_HUGE - 1));

		if (step > len)
			step = len;
		if (l2) {
			uint64_t *e2 = &l2[(key >> 21) & 511];
			uint64_t cur = *e2;
			if (cur & XE_TABLE) {
				uint64_t *l3 = (uint64_t *)(uintptr_t)(cur & XE_ADDR_MASK);
				for (uint64_t k = key; k < key + step; k += XMAP_PAGE)
					__atomic_store_n(&l3[(k >> 12) & 511], 0, __ATOMIC_RELEASE);
			} else if (cur & XE_VALID) {
				/* Registrations never share a 2 MiB entry, so it goes whole. */
				__atomic_store_n(e2, 0, __ATOMIC_RELEASE);
			}
		}
		key += step, len -= step;
	}
}

uint64_t _udma_xmap_extend(const struct xmap *m, uint64_t key, uint64_t val, uint64_t have,
		     uint64_t want)
{
	while (have < want) {
		uint64_t left = 0;
		uint64_t next = xmap_get1(m, key + have, &left);

		if (next != val + have)
			break;
		have += left;
	}
	return have;
}
