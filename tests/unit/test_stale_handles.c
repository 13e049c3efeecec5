/*
 * "A second udma_domain_destroy, or an operation after destroy, is a heap
 * use-after-free when no other reference is held, while the header promises
 * -EINVAL / -ENODEV; sessions, pools and fabrics destroyed twice
 * likewise".
 * Under ASan (make test) the old code fails here with a use after free.
 */
#include <udma/fabric.h>

#include "common.h"

static void test_domain_destroy_twice(void **state)
{
	struct udma_domain *kinds[3];
	struct udma_domain_opts o = { .size = sizeof(o), .id = "custom", .dev_type = UDMA_DEV_DMA };

	kinds[0] = test_domain(UDMA_ADDR_IOMMU);
	kinds[1] = udma_shm_create("stale-shm", 4096, 0);
	assert_int_equal(udma_domain_create(&kinds[2], &o), 0);
	for (int i = 0; i < 3; i++) {
		struct udma_domain *d = kinds[i];
		assert_non_null(d);
		assert_int_equal(udma_domain_destroy(d), 0); /* the last reference: freed now */
		assert_int_equal(udma_domain_destroy(d), -EINVAL);
		char buf[8];
		struct iovec a = { 0, 8 }, l = { buf, 8 };
		assert_int_equal(udma_domain_pull(d, NULL, &a, 1, &l, 1, NULL, NULL), -EINVAL);
		assert_int_equal(udma_domain_push(d, NULL, &a, 1, &l, 1, NULL, NULL), -EINVAL);
		assert_int_equal(udma_domain_memzero(d, NULL, &a, 1, NULL, NULL), -EINVAL);
		udma_domain_invalidate(d, NULL, &a, 1); /* nothing, no crash */
	}
}

/* A reference held: destroyed, not freed: -ENODEV for operations, -EINVAL for destroy. */
static void test_domain_destroyed_but_held(void **state)
{
	struct udma_domain *d = udma_shm_create("held", 4096, 0);
	char buf[8];
	struct iovec a = { 0, 8 }, l = { buf, 8 };

	assert_non_null(d);
	udma_domain_get(d);
	assert_int_equal(udma_domain_destroy(d), 0);
	assert_int_equal(udma_domain_pull(d, NULL, &a, 1, &l, 1, NULL, NULL), -ENODEV);
	assert_int_equal(udma_domain_destroy(d), -EINVAL);
	udma_domain_put(d);
	assert_int_equal(udma_domain_pull(d, NULL, &a, 1, &l, 1, NULL, NULL), -EINVAL);
}

static void test_session_destroy_twice(void **state)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	assert_non_null(s);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_session_destroy(s), -EINVAL);
	/* and a pointer that never was one */
	static char junk[4096];
	assert_int_equal(udma_session_destroy((struct udma_session *)junk), -EINVAL);
}

static void test_pool_destroy_twice(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool_opts o = { .size = sizeof(o), .name = "stale", .block_size = 256, .block_count = 64 };
	struct udma_pool *p = udma_pool_create(d, &o);
	assert_non_null(p);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_pool_destroy(p, 0), -EINVAL);
	assert_int_equal(udma_pool_destroy(p, UDMA_POOL_FORCE), -EINVAL);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_fabric_close_twice(void **state)
{
	struct udma_fabric *f = udma_fabric_open(NULL);
	if (!f)
		skip_because("no fabric here: %s", udma_strerror_last());
	assert_int_equal(udma_fabric_close(f), 0);
	assert_int_equal(udma_fabric_close(f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_domain_destroy_twice),
		cmocka_unit_test(test_domain_destroyed_but_held),
		cmocka_unit_test(test_session_destroy_twice),
		cmocka_unit_test(test_pool_destroy_twice),
		cmocka_unit_test(test_fabric_close_twice),
	};
	return tests_run(t, NULL, NULL);
}
