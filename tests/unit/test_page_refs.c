/* The PA stream page index: counted pages found by address, checked
 * against a plain array model after every operation, through growth and
 * deletions that move entries back along their probe runs. */
#include <stdlib.h>
#include "common.h"
#include "memory/page_refs.h"

#define PAGES 3000 /* pages the test uses, at spread-out addresses */
#define P 4096ull

static uint64_t count[PAGES];

static uint64_t va_of(size_t i)
{
	/* clustered runs and far-apart pages: both probe patterns */
	return (i < PAGES / 2 ? 0x10000000ull : 0x7f0000000000ull) + (uint64_t)(i % (PAGES / 2)) * P * (i % 3 ? 1 : 17);
}

static void check(const struct page_refs *t)
{
	size_t n = 0;
	for (size_t i = 0; i < PAGES; i++) {
		const struct page_ref *r = _udma_page_refs_find(t, va_of(i));
		if (!count[i]) {
			assert_null(r);
			continue;
		}
		n++;
		assert_non_null(r);
		assert_int_equal(r->va, va_of(i));
		assert_int_equal(r->pa, va_of(i) ^ 0x5000000000ull); /* the payload came along */
		assert_int_equal(r->n, count[i]);
	}
	assert_int_equal(t->n, n);
}

static void collect(const struct page_ref *r, void *arg)
{
	(*(size_t *)arg)++;
	assert_true(r->n > 0);
}

static void test_against_model(void **state)
{
	struct page_refs t = { 0 };
	unsigned seed = 7;

	for (int step = 0; step < 20000; step++) {
		size_t i = (size_t)rand_r(&seed) % PAGES;
		if (rand_r(&seed) % 5 < 3 || !count[i]) {
			assert_int_equal(_udma_page_refs_add(&t, va_of(i), va_of(i) ^ 0x5000000000ull, 1), 0);
			count[i]++;
		} else {
			_udma_page_refs_drop(&t, va_of(i), 1);
			count[i]--;
		}
		if (step % 97 == 0)
			check(&t);
	}
	check(&t);
	/* a walk over a range: per page, and over the whole table */
	size_t seen = 0, want = 0;
	_udma_page_refs_each(&t, va_of(0), va_of(0) + 64 * P, collect, &seen);
	for (size_t i = 0; i < PAGES / 2; i++)
		want += count[i] && va_of(i) < va_of(0) + 64 * P;
	assert_int_equal(seen, want);
	seen = 0;
	_udma_page_refs_each(&t, 0, UINT64_MAX, collect, &seen);
	assert_int_equal(seen, t.n);
	/* everything dropped: an empty table */
	for (size_t i = 0; i < PAGES; i++)
		while (count[i]) {
			_udma_page_refs_drop(&t, va_of(i), 1);
			count[i]--;
		}
	check(&t);
	assert_int_equal(t.n, 0);
	_udma_page_refs_fini(&t);
}

/* A span of pages at once; dropping an uncounted page changes nothing. */
static void test_spans(void **state)
{
	struct page_refs t = { 0 };

	assert_int_equal(_udma_page_refs_add(&t, 0x200000, 0x9000000, 300), 0);
	assert_int_equal(_udma_page_refs_add(&t, 0x200000 + 100 * P, 0x9000000 + 100 * P, 10), 0);
	assert_int_equal(t.n, 300);
	assert_int_equal(_udma_page_refs_find(&t, 0x200000 + 105 * P)->n, 2);
	assert_int_equal(_udma_page_refs_find(&t, 0x200000 + 299 * P)->pa, 0x9000000 + 299 * P);
	assert_null(_udma_page_refs_find(&t, 0x200000 + 300 * P));
	_udma_page_refs_drop(&t, 0x100000, 4); /* nothing there */
	_udma_page_refs_drop(&t, 0x200000, 300);
	assert_int_equal(t.n, 10);
	assert_int_equal(_udma_page_refs_find(&t, 0x200000 + 105 * P)->n, 1);
	assert_null(_udma_page_refs_find(&t, 0x200000));
	_udma_page_refs_fini(&t);
	_udma_page_refs_drop(&t, 0x200000, 1); /* on an empty table */
	assert_null(_udma_page_refs_find(&t, 0x200000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_spans),
	};
	return tests_run(tests, NULL, NULL);
}
