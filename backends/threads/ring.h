/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bounded lock-free multi-producer multi-consumer ring of pointers
 * (Vyukov's sequence-numbered cells): each cell's sequence says whose turn
 * it is, so producers and consumers claim positions with one CAS and never
 * wait for each other. Producers' and consumers' positions sit on cache
 * lines of their own. Tested alone by tests/unit/test_queues.c and
 * tests/stress/test_queues_stress.c.
 */
#ifndef UDMA_THREADS_RING_H
#define UDMA_THREADS_RING_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct ring_cell {
	uint64_t seq;
	void *p;
};

struct ring {
	struct ring_cell *cells;
	uint64_t mask;
	uint64_t enq __attribute__((aligned(64))); /* producers' position */
	uint64_t deq __attribute__((aligned(64))); /* consumers' position */
	char end[0] __attribute__((aligned(64)));
};

/* size: a power of two >= 2. 0 or -ENOMEM / -EINVAL. */
static inline int ring_init(struct ring *r, uint32_t size)
{
	if (size < 2 || (size & (size - 1)))
		return -EINVAL;
	r->cells = calloc(size, sizeof(*r->cells));
	if (!r->cells)
		return -ENOMEM;
	r->mask = size - 1;
	r->enq = r->deq = 0;
	for (uint64_t i = 0; i < size; i++)
		r->cells[i].seq = i;
	return 0;
}

static inline void ring_fini(struct ring *r)
{
	free(r->cells);
	r->cells = NULL;
}

/* 1 when p went in, 0 when the ring is full. */
static inline int ring_put(struct ring *r, void *p)
{
	uint64_t pos = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
	for (;;) {
		struct ring_cell *c = &r->cells[pos & r->mask];
		/* acquire: the consumer's release of this cell */
		uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&r->enq, &pos, pos + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				c->p = p;
				__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE); /* publish p */
				return 1;
			}
		} else if (dif < 0) {
			return 0; /* full */
		} else {
			pos = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
		}
	}
}

/* The oldest pointer, or NULL when empty. */
static inline void *ring_get(struct ring *r)
{
	uint64_t pos = __atomic_load_n(&r->deq, __ATOMIC_RELAXED);
	for (;;) {
		struct ring_cell *c = &r->cells[pos & r->mask];
		uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - (pos + 1));
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&r->deq, &pos, pos + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				void *p = c->p;
				__atomic_store_n(&c->seq, pos + r->mask + 1, __ATOMIC_RELEASE); /* cell free */
				return p;
			}
		} else if (dif < 0) {
			return NULL; /* empty */
		} else {
			pos = __atomic_load_n(&r->deq, __ATOMIC_RELAXED);
		}
	}
}

static inline int ring_empty(struct ring *r)
{
	return __atomic_load_n(&r->enq, __ATOMIC_ACQUIRE) == __atomic_load_n(&r->deq, __ATOMIC_ACQUIRE);
}

/* Pointers in the ring, as far as a racing reader can tell. */
static inline uint64_t ring_count(struct ring *r)
{
	uint64_t d = __atomic_load_n(&r->deq, __ATOMIC_RELAXED);
	uint64_t e = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
	return e > d ? e - d : 0;
}

#endif
