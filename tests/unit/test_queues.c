/*
 * The mover's concurrent queues on one thread: the MPSC completion queue
 * (lib/core/mpsc.h), the tagged free-list stack (lib/core/tstack.h) and the
 * threads engine's MPMC ring (backends/threads/ring.h). Order, emptiness,
 * capacity and the ABA tag; tests/stress/test_queues_stress.c races them.
 */
#include "common.h"
#include "core/mpsc.h"
#include "core/tstack.h"
#include "../backends/threads/ring.h"

struct item {
	struct mpsc_node node;
	uint32_t link;
	int value;
};

static struct item *item_of(struct mpsc_node *n)
{
	return n ? (struct item *)((char *)n - offsetof(struct item, node)) : NULL;
}

/* FIFO, across the stub's trip back into the queue and an emptied queue. */
static void test_mpsc_fifo(void **state)
{
	struct mpsc_node *head, *tail, stub;
	struct item it[100];

	mpsc_init(&head, &tail, &stub);
	assert_null(mpsc_pop(&head, &tail, &stub));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++) {
			it[i].value = round * 100 + i;
			mpsc_push(&tail, &it[i].node);
		}
		for (int i = 0; i < 100; i++) {
			struct item *x = item_of(mpsc_pop(&head, &tail, &stub));
			assert_non_null(x);
			assert_int_equal(x->value, round * 100 + i);
		}
		assert_null(mpsc_pop(&head, &tail, &stub));
	}
	/* one at a time: the last node comes out only with the stub pushed behind it */
	mpsc_push(&tail, &it[0].node);
	assert_ptr_equal(item_of(mpsc_pop(&head, &tail, &stub)), &it[0]);
	assert_null(mpsc_pop(&head, &tail, &stub));
}

#define ITEMS(a) (a), sizeof(struct item), offsetof(struct item, link)

/* LIFO, empty at the end, the tag counting every change. */
static void test_tstack_lifo_and_tag(void **state)
{
	struct item it[16];
	uint64_t head = 0;

	assert_int_equal(tstack_pop(&head, ITEMS(it)), -1);
	for (uint32_t i = 0; i < 16; i++)
		tstack_push(&head, ITEMS(it), i);
	assert_int_equal((uint32_t)head, 16);
	assert_int_equal(head >> 32, 16);
	for (int i = 15; i >= 0; i--)
		assert_int_equal(tstack_pop(&head, ITEMS(it)), i);
	assert_int_equal(tstack_pop(&head, ITEMS(it)), -1);
	assert_int_equal(head >> 32, 32);
	/* pop then push of the same element changes the tag: a stale head fails */
	tstack_push(&head, ITEMS(it), 3);
	uint64_t stale = head;
	assert_int_equal(tstack_pop(&head, ITEMS(it)), 3);
	tstack_push(&head, ITEMS(it), 3);
	assert_int_equal((uint32_t)head, (uint32_t)stale);
	assert_int_not_equal(head, stale);
}

/* The solo variants keep the same list the shared ones read. */
static void test_tstack_solo_mixes(void **state)
{
	struct item it[8];
	uint64_t head = 0;

	for (uint32_t i = 0; i < 8; i++)
		(i & 1 ? tstack_push : tstack_push_solo)(&head, ITEMS(it), i);
	for (int i = 7; i >= 0; i--)
		assert_int_equal((i & 1 ? tstack_pop_solo : tstack_pop)(&head, ITEMS(it)), i);
	assert_int_equal(tstack_pop_solo(&head, ITEMS(it)), -1);
}

/* FIFO, full at its size, usable again after it wrapped many times. */
static void test_ring_fifo_capacity(void **state)
{
	struct ring r;
	int v[8];

	assert_int_equal(ring_init(&r, 3), -EINVAL);
	assert_int_equal(ring_init(&r, 8), 0);
	assert_true(ring_empty(&r));
	assert_null(ring_get(&r));
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 8; i++)
			assert_int_equal(ring_put(&r, &v[i]), 1);
		assert_int_equal(ring_put(&r, &v[0]), 0);
		assert_int_equal(ring_count(&r), 8);
		for (int i = 0; i < 8; i++)
			assert_ptr_equal(ring_get(&r), &v[i]);
		assert_null(ring_get(&r));
		assert_true(ring_empty(&r));
	}
	ring_fini(&r);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_mpsc_fifo),
		cmocka_unit_test(test_tstack_lifo_and_tag),
		cmocka_unit_test(test_tstack_solo_mixes),
		cmocka_unit_test(test_ring_fifo_capacity),
	};
	return tests_run(t, NULL, NULL);
}
