/*
 * The mover's concurrent queues under races (also run under `make tsan`):
 * - MPSC: 3 producers push numbered nodes while one consumer pops; every
 *   node arrives once, and each producer's nodes in the order pushed.
 * - tagged stack: 4 threads pop and push the same elements; no element is
 *   ever held by two threads at once (an ABA bug hands one out twice), and
 *   all are back at the end.
 * - MPMC ring: 2 producers and 2 consumers through a small ring; every
 *   value arrives once, each producer's in order per consumer.
 */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "core/mpsc.h"
#include "core/tstack.h"
#include "../backends/threads/ring.h"

#define PRODUCERS 3
#define PER 200000

struct msg {
	struct mpsc_node node;
	int producer, seq;
};

static struct mpsc_node *q_head, *q_tail, q_stub;

static void *mpsc_producer(void *arg)
{
	struct msg *m = arg;
	for (int i = 0; i < PER; i++)
		mpsc_push(&q_tail, &m[i].node);
	return NULL;
}

static void test_mpsc_race(void **state)
{
	struct msg *m = calloc(PRODUCERS * PER, sizeof(*m));
	pthread_t t[PRODUCERS];
	int next[PRODUCERS] = { 0 };

	assert_non_null(m);
	mpsc_init(&q_head, &q_tail, &q_stub);
	for (int p = 0; p < PRODUCERS; p++) {
		for (int i = 0; i < PER; i++)
			m[p * PER + i] = (struct msg){ .producer = p, .seq = i };
		assert_int_equal(pthread_create(&t[p], NULL, mpsc_producer, &m[p * PER]), 0);
	}
	for (long got = 0; got < PRODUCERS * PER;) {
		struct mpsc_node *n = mpsc_pop(&q_head, &q_tail, &q_stub);
		if (!n)
			continue;
		struct msg *x = (struct msg *)n;
		assert_int_equal(x->seq, next[x->producer]);
		next[x->producer]++;
		got++;
	}
	for (int p = 0; p < PRODUCERS; p++) {
		pthread_join(t[p], NULL);
		assert_int_equal(next[p], PER);
	}
	assert_null(mpsc_pop(&q_head, &q_tail, &q_stub));
	free(m);
}

#define NELEM 8
#define STACKERS 4

struct elem {
	uint32_t link;
	int owner; /* atomic: -1 free, else the thread holding it */
};

static struct elem elems[NELEM];
static uint64_t stack_head;

static void *stacker(void *arg)
{
	int me = (int)(intptr_t)arg;
	unsigned seed = (unsigned)me + 1;
	int64_t held[NELEM];
	int n = 0;

	for (int i = 0; i < 300000; i++) {
		if (n < NELEM && (n == 0 || rand_r(&seed) & 1)) {
			int64_t e = tstack_pop(&stack_head, elems, sizeof(struct elem), offsetof(struct elem, link));
			if (e < 0)
				continue;
			int was = __atomic_exchange_n(&elems[e].owner, me, __ATOMIC_ACQ_REL);
			if (was != -1) /* handed out twice */
				return (void *)1;
			held[n++] = e;
		} else if (n) {
			int64_t e = held[--n];
			__atomic_store_n(&elems[e].owner, -1, __ATOMIC_RELEASE);
			tstack_push(&stack_head, elems, sizeof(struct elem), offsetof(struct elem, link), (uint32_t)e);
		}
	}
	while (n) {
		int64_t e = held[--n];
		__atomic_store_n(&elems[e].owner, -1, __ATOMIC_RELEASE);
		tstack_push(&stack_head, elems, sizeof(struct elem), offsetof(struct elem, link), (uint32_t)e);
	}
	return NULL;
}

static void test_tstack_race(void **state)
{
	pthread_t t[STACKERS];
	int seen[NELEM] = { 0 };

	stack_head = 0;
	for (uint32_t i = 0; i < NELEM; i++) {
		elems[i].owner = -1;
		tstack_push(&stack_head, elems, sizeof(struct elem), offsetof(struct elem, link), i);
	}
	for (int i = 0; i < STACKERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stacker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < STACKERS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	for (int64_t e; (e = tstack_pop(&stack_head, elems, sizeof(struct elem), offsetof(struct elem, link))) >= 0;)
		assert_int_equal(seen[e]++, 0);
	for (int i = 0; i < NELEM; i++)
		assert_int_equal(seen[i], 1);
}

#define RING_PER 300000
static struct ring rg;
static long consumed[2][2]; /* [consumer][producer]: values taken */
static int bad;
static int producers_done;

static void *ring_producer(void *arg)
{
	uintptr_t p = (uintptr_t)arg;
	for (uintptr_t i = 1; i <= RING_PER;)
		if (ring_put(&rg, (void *)(p << 32 | i)))
			i++;
	__atomic_add_fetch(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *ring_consumer(void *arg)
{
	int c = (int)(intptr_t)arg;
	uintptr_t last[2] = { 0, 0 };
	for (;;) {
		void *v = ring_get(&rg);
		if (!v) {
			if (__atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == 2 && ring_empty(&rg))
				return NULL;
			continue;
		}
		uintptr_t x = (uintptr_t)v, p = x >> 32, i = x & 0xffffffff;
		if (p > 1 || i <= last[p]) /* out of order for one consumer, or garbage */
			__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
		last[p] = i;
		consumed[c][p] += (long)i;
	}
}

static void test_ring_race(void **state)
{
	pthread_t t[4];
	long want = (long)RING_PER * (RING_PER + 1) / 2;

	assert_int_equal(ring_init(&rg, 16), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ring_producer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[2 + i], NULL, ring_consumer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(bad, 0);
	/* every value once: the sums per producer are exact */
	assert_int_equal(consumed[0][0] + consumed[1][0], want);
	assert_int_equal(consumed[0][1] + consumed[1][1], want);
	assert_null(ring_get(&rg));
	ring_fini(&rg);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_mpsc_race),
		cmocka_unit_test(test_tstack_race),
		cmocka_unit_test(test_ring_race),
	};
	return tests_run(t, NULL, NULL);
}
