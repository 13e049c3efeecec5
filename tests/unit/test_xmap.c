/* The translation table: 4 KiB and 2 MiB entries, contiguity, bounds. */
#include "common.h"
#include "memory/xmap.h"

#define K4 4096ull
#define M2 (2ull << 20)

static void test_set_get_4k(void **state)
{
	struct xmap m;
	size_t len;

	assert_int_equal(_udma_xmap_init(&m), 0);
	assert_int_equal(_udma_xmap_set(&m, 0x10000, 3 * K4, 0xabc000), 0);
	len = 100;
	assert_int_equal(xmap_get(&m, 0x10010, &len), 0xabc010);
	assert_int_equal(len, 100);
	/* contiguity runs across the three pages, not beyond */
	len = 1 << 20;
	assert_int_equal(xmap_get(&m, 0x10000, &len), 0xabc000);
	assert_int_equal(len, 3 * K4);
	assert_int_equal(xmap_get(&m, 0x13000, NULL), UINT64_MAX);
	assert_int_equal(xmap_get(&m, 0xf000, NULL), UINT64_MAX);
	_udma_xmap_fini(&m);
}

static void test_huge_entries_and_split(void **state)
{
	struct xmap m;
	size_t len;

	assert_int_equal(_udma_xmap_init(&m), 0);
	assert_int_equal(_udma_xmap_set(&m, 4 * M2, 2 * M2, 0x40000000), 0);
	/* the fast path: one L2 entry */
	const uint64_t *l2 = m.l1[(4 * M2) >> 30];
	assert_true(l2[4] & XE_VALID);
	len = 2 * M2;
	assert_int_equal(xmap_get(&m, 4 * M2 + 5, &len), 0x40000005);
	assert_int_equal(len, 2 * M2 - 5);
	/* overwriting one 4 KiB page inside splits the 2 MiB entry, keeping the rest */
	assert_int_equal(_udma_xmap_set(&m, 4 * M2 + K4, K4, 0x900000), 0);
	assert_true(l2[4] & XE_TABLE);
	assert_int_equal(xmap_get(&m, 4 * M2, NULL), 0x40000000);
	assert_int_equal(xmap_get(&m, 4 * M2 + K4 + 1, NULL), 0x900001);
	assert_int_equal(xmap_get(&m, 4 * M2 + 2 * K4, NULL), 0x40000000 + 2 * K4);
	len = M2;
	xmap_get(&m, 4 * M2, &len);
	assert_int_equal(len, K4); /* broken by the foreign page */
	_udma_xmap_clear(&m, 4 * M2, 2 * M2);
	assert_int_equal(xmap_get(&m, 4 * M2, NULL), UINT64_MAX);
	assert_int_equal(xmap_get(&m, 5 * M2 + 77, NULL), UINT64_MAX);
	_udma_xmap_fini(&m);
}

static void test_unaligned_span_mixes_sizes(void **state)
{
	struct xmap m;
	size_t len;
	/* starts 4 KiB below a 2 MiB boundary: one 4K entry, one 2M entry, one 4K entry */
	uint64_t key = (1ull << 30) + M2 - K4;

	assert_int_equal(_udma_xmap_init(&m), 0);
	assert_int_equal(_udma_xmap_set(&m, key, M2 + 2 * K4, 0x7000000), 0);
	len = M2 + 2 * K4;
	assert_int_equal(xmap_get(&m, key, &len), 0x7000000);
	assert_int_equal(len, M2 + 2 * K4);
	assert_int_equal(xmap_get(&m, key + M2 + K4 + 9, NULL), 0x7000000 + M2 + K4 + 9);
	_udma_xmap_fini(&m);
}

/* A 2 MiB entry translates every offset in it, not only its first 4 KiB. */
static void test_huge_entry_every_offset(void **state)
{
	static const uint64_t offs[] = { 0, 1, K4 - 1, K4, K4 + 123, 12345, M2 / 2 + 7, M2 - K4, M2 - 1 };
	struct xmap m;
	size_t len;

	assert_int_equal(_udma_xmap_init(&m), 0);
	assert_int_equal(_udma_xmap_set(&m, 6 * M2, M2, 0x80000000), 0);
	assert_true(m.l1[(6 * M2) >> 30][6] & XE_VALID); /* one 2 MiB entry, no table */
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		len = 64;
		assert_int_equal(xmap_get(&m, 6 * M2 + offs[i], &len), 0x80000000 + offs[i]);
		assert_int_equal(len, M2 - offs[i] < 64 ? M2 - offs[i] : 64);
		len = M2;
		assert_int_equal(xmap_get(&m, 6 * M2 + offs[i], &len), 0x80000000 + offs[i]);
		assert_int_equal(len, M2 - offs[i]); /* up to the entry's end, not the page's */
	}
	assert_int_equal(xmap_get(&m, 7 * M2, NULL), UINT64_MAX);
	_udma_xmap_fini(&m);
}

static void test_bad_keys(void **state)
{
	struct xmap m;
	assert_int_equal(_udma_xmap_init(&m), 0);
	assert_int_equal(_udma_xmap_set(&m, 1ull << 48, K4, 0), -EINVAL);   /* beyond 48 bits */
	assert_int_equal(_udma_xmap_set(&m, 0x1001, K4, 0), -EINVAL);        /* unaligned */
	assert_int_equal(_udma_xmap_set(&m, (1ull << 48) - K4, 2 * K4, 0), -EINVAL);
	assert_int_equal(xmap_get(&m, 1ull << 48, NULL), UINT64_MAX);
	assert_int_equal(xmap_get(&m, UINT64_MAX, NULL), UINT64_MAX);
	_udma_xmap_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_4k),
		cmocka_unit_test(test_huge_entries_and_split),
		cmocka_unit_test(test_unaligned_span_mixes_sizes),
		cmocka_unit_test(test_huge_entry_every_offset),
		cmocka_unit_test(test_bad_keys),
	};
	return tests_run(tests, NULL, NULL);
}
