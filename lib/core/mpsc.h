/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Vyukov's intrusive multi-producer single-consumer queue. Producers on any
 * thread push with one exchange; the one consumer pops. The three words
 * are passed apart so that a user can keep the consumer's head on its own
 * cache line, away from the producers' tail (struct udma_session does).
 * Tested alone by tests/unit/test_queues.c and tests/stress/test_queues_stress.c.
 */
#ifndef UDMA_LIB_MPSC_H
#define UDMA_LIB_MPSC_H

#include <stddef.h>

struct mpsc_node {
	struct mpsc_node *next;
};

static inline void mpsc_init(struct mpsc_node **head, struct mpsc_node **tail, struct mpsc_node *stub)
{
	stub->next = NULL;
	*head = *tail = stub;
}

static inline void mpsc_push(struct mpsc_node **tail, struct mpsc_node *n)
{
	__atomic_store_n(&n->next, NULL, __ATOMIC_RELAXED);
	/* acq_rel: our node's contents before it becomes reachable */
	struct mpsc_node *prev = __atomic_exchange_n(tail, n, __ATOMIC_ACQ_REL);
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
}

/* The oldest node, or NULL when empty or a producer is between its two steps. */
static inline struct mpsc_node *mpsc_pop(struct mpsc_node **head, struct mpsc_node **tail, struct mpsc_node *stub)
{
	struct mpsc_node *h = *head, *next = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);

	if (h == stub) {
		if (!next)
			return NULL;
		*head = h = next;
		next = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
	}
	if (next) {
		*head = next;
		return h;
	}
	if (h != __atomic_load_n(tail, __ATOMIC_ACQUIRE))
		return NULL; /* a producer is between its two steps: next poll */
	mpsc_push(tail, stub);
	next = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
	if (!next)
		return NULL;
	*head = next;
	return h;
}

#endif
