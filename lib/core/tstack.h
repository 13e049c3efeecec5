/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A lock-free stack of array elements, for free lists: the head holds an
 * ABA tag in its upper 32 bits and the top element's index + 1 below (0:
 * empty); each element keeps the index + 1 of the one under it in a
 * uint32_t at offset `off` of a `stride`-byte element. Pushes and pops may
 * race from any thread; the _solo variants are for a stack only one thread
 * touches (plain loads and stores). Inline: with constant stride and off
 * the arithmetic folds away. Tested alone by tests/unit/test_queues.c and
 * tests/stress/test_queues_stress.c.
 */
#ifndef UDMA_LIB_TSTACK_H
#define UDMA_LIB_TSTACK_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t *tstack_link(void *base, size_t stride, size_t off, uint32_t idx)
{
	return (uint32_t *)((char *)base + (size_t)idx * stride + off);
}

/* The top element's index, or -1 when empty. */
static inline int64_t tstack_pop(uint64_t *head, void *base, size_t stride, size_t off)
{
	uint64_t h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	for (;;) {
		uint32_t top1 = (uint32_t)h;
		if (!top1)
			return -1;
		uint32_t next1 = __atomic_load_n(tstack_link(base, stride, off, top1 - 1), __ATOMIC_RELAXED);
		uint64_t nh = (((h >> 32) + 1) << 32) | next1;
		/* the tag makes a stale head fail the CAS (ABA) */
		if (__atomic_compare_exchange_n(head, &h, nh, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return top1 - 1;
	}
}

static inline void tstack_push(uint64_t *head, void *base, size_t stride, size_t off, uint32_t idx)
{
	uint64_t h = __atomic_load_n(head, __ATOMIC_RELAXED), nh;
	do {
		__atomic_store_n(tstack_link(base, stride, off, idx), (uint32_t)h, __ATOMIC_RELAXED);
		nh = (((h >> 32) + 1) << 32) | (idx + 1);
	} while (!__atomic_compare_exchange_n(head, &h, nh, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

static inline int64_t tstack_pop_solo(uint64_t *head, void *base, size_t stride, size_t off)
{
	uint64_t h = __atomic_load_n(head, __ATOMIC_RELAXED);
	uint32_t top1 = (uint32_t)h;
	if (!top1)
		return -1;
	__atomic_store_n(head, (h & ~0xffffffffull) | *tstack_link(base, stride, off, top1 - 1), __ATOMIC_RELAXED);
	return top1 - 1;
}

static inline void tstack_push_solo(uint64_t *head, void *base, size_t stride, size_t off, uint32_t idx)
{
	uint64_t h = __atomic_load_n(head, __ATOMIC_RELAXED);
	*tstack_link(base, stride, off, idx) = (uint32_t)h;
	__atomic_store_n(head, (h & ~0xffffffffull) | (idx + 1), __ATOMIC_RELAXED);
}

#endif
