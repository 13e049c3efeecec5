/* lib/core/elem_index.h against division: for element sizes odd, even and
 * powers of two, every offset near the elements' starts and offsets that
 * wrap (addresses below the array) say "an element" exactly where size
 * divides the offset and the quotient is below the count. */
#include "common.h"
#include "core/elem_index.h"

static void check_size(uint64_t size)
{
	const uint64_t n = 70;
	uint64_t offs[] = { 0, 1, size - 1, size, size + 1, UINT64_MAX, UINT64_MAX - size + 1, -size * 3, 1ull << 63 };

	for (uint64_t i = 0; i <= n + 1; i++)
		for (int64_t d = -3; d <= 3; d++) {
			uint64_t off = i * size + (uint64_t)d;
			uint64_t k = elem_index(off, size);
			int is = off % size == 0 && off / size < n;
			if ((k < n) != is || (is && k != off / size))
				fail_msg("size %llu, offset %llu: index %llu", (unsigned long long)size,
					 (unsigned long long)off, (unsigned long long)k);
		}
	for (unsigned j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
		uint64_t off = offs[j];
		int is = off % size == 0 && off / size < n;
		if ((elem_index(off, size) < n) != is)
			fail_msg("size %llu, offset %llu", (unsigned long long)size, (unsigned long long)off);
	}
}

static void test_sizes(void **state)
{
	uint64_t sizes[] = { 1, 2, 3, 7, 8, 24, 40, 136, 1592, 1600, 4096, 1000003, 3ull << 40 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_size(sizes[i]);
	for (uint64_t s = 1; s < 300; s++)
		check_size(s);
}

/* A constant size, as the library uses it (the inverse folded). */
struct thing {
	char b[1592];
};

static void test_constant(void **state)
{
	for (uint64_t off = 0; off < 20 * sizeof(struct thing); off++) {
		uint64_t k = elem_index(off, sizeof(struct thing));
		assert_int_equal(k < 16, off % sizeof(struct thing) == 0 && off < 16 * sizeof(struct thing));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_constant),
	};
	return tests_run(tests, NULL, NULL);
}
