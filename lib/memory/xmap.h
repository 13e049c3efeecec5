/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xmap: a lock-free-read, three-level translation table from 48-bit keys to
 * 64-bit values at 4 KiB granularity, with whole 2 MiB entries where a
 * mapping covers an aligned 2 MiB (the fast path: two loads).
 *
 *   L1: key bits 47..30, 2^18 pointers to L2 (reserved lazily, 2 MiB VA)
 *   L2: key bits 29..21, 512 entries: a 2 MiB entry or a pointer to L3
 *   L3: key bits 20..12, 512 4 KiB entries
 *
 * Entry = value of the page start (4 KiB aligned) | flag bits. Writers are
 * serialised by the caller (the domain lock). Tables are never freed before
 * _udma_xmap_fini(), so a reader racing a writer sees an old or a new entry, never
 * freed memory.
 */
#ifndef UDMA_LIB_XMAP_H
#define UDMA_LIB_XMAP_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"

#define XMAP_KEY_BITS 48
#define XMAP_L1_ENTRIES (1u << (XMAP_KEY_BITS - 30))
#define XMAP_PAGE 4096ull
#define XMAP_HUGE (2ull << 20)

#define XE_VALID 1ull  /* a 4 KiB (in L3) or 2 MiB (in L2) mapping */
#define XE_TABLE 2ull  /* L2 entry pointing to an L3 table */
#define XE_ADDR_MASK (~0xfffull)

struct xmap {
	uint64_t **l1;   /* XMAP_L1_ENTRIES pointers to L2 tables */
	/* Every L2/L3 table allocated, for _udma_xmap_fini(). Writer-side only. */
	void **tables;
	size_t ntables, captables;
};

UDMA_HIDDEN int _udma_xmap_init(struct xmap *m);
UDMA_HIDDEN void _udma_xmap_fini(struct xmap *m);
/* Map [key, key+len) to [val, val+len). All 4 KiB aligned. Overwrites. */
UDMA_HIDDEN int _udma_xmap_set(struct xmap *m, uint64_t key, uint64_t len, uint64_t val);
/* Unmap [key, key+len). 4 KiB aligned. */
UDMA_HIDDEN void _udma_xmap_clear(struct xmap *m, uint64_t key, uint64_t len);
/* Slow part of xmap_get: extend *len across following entries. */
UDMA_HIDDEN uint64_t _udma_xmap_extend(const struct xmap *m, uint64_t key, uint64_t val,
				 uint64_t have, uint64_t want);

/* One entry's value for key and the bytes left in its page; UINT64_MAX if unmapped. */
static inline uint64_t xmap_get1(const struct xmap *m, uint64_t key, uint64_t *left)
{
	if (__builtin_expect(key >> XMAP_KEY_BITS, 0))
		return UINT64_MAX;
	/* acquire: pairs with the release store that published the table */
	const uint64_t *l2 = __atomic_load_n(&m->l1[key >> 30], __ATOMIC_ACQUIRE);
	if (__builtin_expect(!l2, 0))
		return UINT64_MAX;
	uint64_t e = __atomic_load_n(&l2[(key >> 21) & 511], __ATOMIC_ACQUIRE);
	if (__builtin_expect(e & XE_VALID, 1)) {
		uint64_t off = key & (XMAP_HUGE - 1);
		*left = XMAP_HUGE - off;
		return (e & XE_ADDR_MASK) + off;
	}
	if (!(e & XE_TABLE))
		return UINT64_MAX;
	const uint64_t *l3 = (const uint64_t *)(uintptr_t)(e & XE_ADDR_MASK);
	e = __atomic_load_n(&l3[(key >> 12) & 511], __ATOMIC_ACQUIRE);
	if (!(e & XE_VALID))
		return UINT64_MAX;
	uint64_t off = key & (XMAP_PAGE - 1);
	*left = XMAP_PAGE - off;
	return (e & XE_ADDR_MASK) + off;
}

/*
 * Translate key. *len (if not NULL): in, wanted; out, contiguous length.
 * Returns UINT64_MAX if key is unmapped.
 */
static inline uint64_t xmap_get(const struct xmap *m, uint64_t key, size_t *len)
{
	uint64_t left;
	uint64_t val = xmap_get1(m, key, &left);

	if (__builtin_expect(val == UINT64_MAX, 0) || !len)
		return val;
	if (__builtin_expect(*len > left, 0))
		left = _udma_xmap_extend(m, key, val, left, *len);
	if (*len > left)
		*len = (size_t)left;
	return val;
}

#endif
