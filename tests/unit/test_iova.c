/* The IOVA allocator: "aligned, never overlapping, reused after free". */
#include "common.h"
#include "memory/iova.h"

#define K4 4096ull

static void test_aligned_no_overlap_reuse(void **state)
{
	struct iova_space s;
	uint64_t a, b, c, d;

	assert_int_equal(_udma_iova_space_init(&s, 0x100000, 64ull << 20), 0);
	assert_int_equal(_udma_iova_alloc(&s, 3 * K4, K4, &a), 0);
	assert_int_equal(_udma_iova_alloc(&s, 2ull << 20, 2ull << 20, &b), 0);
	assert_int_equal(b % (2ull << 20), 0);
	assert_int_equal(_udma_iova_alloc(&s, K4, K4, &c), 0);
	/* never overlapping */
	assert_true(a + 3 * K4 <= b || b + (2ull << 20) <= a);
	assert_true(c + K4 <= b || b + (2ull << 20) <= c);
	assert_true(c + K4 <= a || a + 3 * K4 <= c);
	/* reused after free: first fit gives the same range back */
	assert_int_equal(_udma_iova_free(&s, a, 3 * K4), 0);
	assert_int_equal(_udma_iova_alloc(&s, 3 * K4, K4, &d), 0);
	assert_int_equal(d, a);
	/* freeing everything merges back to one range */
	assert_int_equal(_udma_iova_free(&s, b, 2ull << 20), 0);
	assert_int_equal(_udma_iova_free(&s, c, K4), 0);
	assert_int_equal(_udma_iova_free(&s, d, 3 * K4), 0);
	assert_int_equal(s.nfree, 1);
	assert_int_equal(_udma_iova_free_bytes(&s), 64ull << 20);
	_udma_iova_space_fini(&s);
}

static void test_double_free_and_bounds(void **state)
{
	struct iova_space s;
	uint64_t a;

	assert_int_equal(_udma_iova_space_init(&s, 0x100000, 1 << 20), 0);
	assert_int_equal(_udma_iova_alloc(&s, K4, K4, &a), 0);
	assert_int_equal(_udma_iova_free(&s, a, K4), 0);
	assert_int_equal(_udma_iova_free(&s, a, K4), -EINVAL);          /* double free */
	assert_int_equal(_udma_iova_free(&s, 0x1000, K4), -EINVAL);     /* outside the window */
	assert_int_equal(_udma_iova_alloc(&s, 2 << 20, K4, &a), -ENOSPC);
	assert_int_equal(_udma_iova_alloc(&s, 100, K4, &a), -EINVAL);   /* not whole pages */
	assert_int_equal(_udma_iova_alloc(&s, K4, 3, &a), -EINVAL);     /* not a power of two */
	assert_int_equal(_udma_iova_free_bytes(&s), 1 << 20);
	_udma_iova_space_fini(&s);
}

static void test_fill_and_fragment(void **state)
{
	struct iova_space s;
	uint64_t v[256];

	assert_int_equal(_udma_iova_space_init(&s, 0x100000, 256 * K4), 0);
	for (int i = 0; i < 256; i++)
		assert_int_equal(_udma_iova_alloc(&s, K4, K4, &v[i]), 0);
	assert_int_equal(_udma_iova_alloc(&s, K4, K4, &v[0]) , -ENOSPC);
	for (int i = 0; i < 256; i += 2) /* every other page: fragmented */
		assert_int_equal(_udma_iova_free(&s, v[i], K4), 0);
	uint64_t x;
	assert_int_equal(_udma_iova_alloc(&s, 2 * K4, K4, &x), -ENOSPC);
	for (int i = 1; i < 256; i += 2)
		assert_int_equal(_udma_iova_free(&s, v[i], K4), 0);
	assert_int_equal(s.nfree, 1);
	assert_int_equal(_udma_iova_alloc(&s, 256 * K4, K4, &x), 0);
	_udma_iova_space_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aligned_no_overlap_reuse),
		cmocka_unit_test(test_double_free_and_bounds),
		cmocka_unit_test(test_fill_and_fragment),
	};
	return tests_run(tests, NULL, NULL);
}
