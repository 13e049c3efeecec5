/* Streaming mappings (udma_map/udma_unmap). */
#include <stdlib.h>
#include "common.h"
#include "ref.h"

static void test_stream_every_mode(void **state)
{
	for (int mode = UDMA_ADDR_VA; mode <= UDMA_ADDR_IOMMU; mode++) {
		if (mode == UDMA_ADDR_PA && !pa_available())
			continue;
		struct udma_domain *d = test_domain((enum udma_addr_mode)mode);
		char *buf = aligned_alloc(4096, 8192);
		strcpy(buf + 100, "streamed");
		uint64_t h = udma_map(d, buf + 100, 200, UDMA_DIR_TO_DEVICE);
		assert_int_not_equal(h, UDMA_BAD_IOVA);
		if (mode == UDMA_ADDR_VA)
			assert_int_equal(h, (uintptr_t)(buf + 100));
		if (mode == UDMA_ADDR_IOMMU)
			assert_int_not_equal(h, (uintptr_t)(buf + 100));
		size_t len = 200;
		assert_string_equal((char *)udma_iova_to_va(d, h, &len), "streamed");
		assert_int_equal(len, 200);
		/* the same memory mapped twice: two independent mappings */
		uint64_t h2 = udma_map(d, buf + 100, 200, UDMA_DIR_FROM_DEVICE);
		assert_int_not_equal(h2, UDMA_BAD_IOVA);
		assert_int_equal(udma_domain_destroy(d), -EBUSY);
		assert_int_equal(udma_unmap(d, h, 200), 0);
		assert_string_equal((char *)udma_iova_to_va(d, h2, NULL), "streamed");
		assert_int_equal(udma_unmap(d, h2, 200), 0);
		assert_int_equal(udma_unmap(d, h2, 200), -ENOENT);
		assert_int_equal(udma_domain_destroy(d), 0);
		free(buf);
	}
}

/* Memory already in the domain translates to its own address. */
static void test_stream_inside_allocation(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem m;

	assert_int_equal(udma_mem_alloc(d, 65536, NULL, &m), 0);
	uint64_t h = udma_map(d, (char *)m.va + 4000, 1000, UDMA_DIR_BIDI);
	assert_int_equal(h, m.iova + 4000);
	assert_int_equal(udma_unmap(d, h, 1000), 0);
	assert_int_equal(udma_va_to_iova(d, m.va, NULL), m.iova); /* allocation untouched */
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_stream_bad_input(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	char buf[64];

	log_capture_start();
	assert_int_equal(udma_map(NULL, buf, 64, UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	assert_int_equal(udma_map(d, NULL, 64, UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	assert_int_equal(udma_map(d, buf, 0, UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(udma_map(d, buf, 64, 9), UDMA_BAD_IOVA);
	assert_int_equal(udma_map(d, (void *)(UINTPTR_MAX - 8), 64, UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	assert_int_equal(udma_map(d, (void *)4096, 64, UDMA_DIR_BIDI), UDMA_BAD_IOVA); /* unmapped page */
	assert_int_equal(errno, EFAULT);
	assert_int_equal(udma_unmap(d, 0x1234, 5), -ENOENT);
	assert_int_equal(udma_unmap(NULL, 0x1234, 5), -EINVAL);
	log_capture_stop();
	assert_logged("no streaming mapping");
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* A device being released ends every streaming mapping left behind. */
/* Thousands live at once (the index past a few dozen), some on one address
 * twice, unmapped in random order: each handle resolves to its own buffer
 * until unmapped, then is gone; nothing else is disturbed. */
static void test_stream_many(void **state)
{
	enum { N = 3000, STEP = 96 };
	for (int mode = UDMA_ADDR_VA; mode <= UDMA_ADDR_IOMMU; mode += UDMA_ADDR_IOMMU - UDMA_ADDR_VA) {
		struct udma_domain *d = test_domain((enum udma_addr_mode)mode);
		char *buf = aligned_alloc(4096, ((size_t)N * STEP + 4095) / 4096 * 4096);
		static uint64_t h[N];
		static int order[N], live[N];
		uint64_t rng = 0x5eed + (uint64_t)mode;

		for (int i = 0; i < N; i++) {
			/* every fourth maps the previous buffer again: same handle in VA mode */
			char *p = buf + (size_t)(i % 4 == 3 ? i - 1 : i) * STEP;
			h[i] = udma_map(d, p, 64, UDMA_DIR_BIDI);
			assert_int_not_equal(h[i], UDMA_BAD_IOVA);
			order[i] = i;
			live[i] = 1;
		}
		for (int i = N - 1; i > 0; i--) {
			int j = (int)(xorshift64(&rng) % (uint64_t)(i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < N; k++) {
			int i = order[k];
			char *p = buf + (size_t)(i % 4 == 3 ? i - 1 : i) * STEP;
			size_t len = 64;
			assert_ptr_equal(udma_iova_to_va(d, h[i], &len), p);
			assert_ptr_equal(udma_iova_to_va(d, h[i] + 10, NULL), p + 10); /* inside one */
			assert_int_equal(udma_unmap(d, h[i], 64), 0);
			live[i] = 0;
			int twin = i % 4 == 3 ? i - 1 : i % 4 == 2 ? i + 1 : -1;
			if (mode == UDMA_ADDR_VA && twin >= 0 && twin < N && live[twin])
				continue; /* the same handle is still live through its twin */
			assert_int_equal(udma_unmap(d, h[i], 64), -ENOENT);
			if (mode == UDMA_ADDR_IOMMU) {
				log_capture_start();
				assert_null(udma_iova_to_va(d, h[i], NULL));
				log_capture_stop();
			}
		}
		assert_int_equal(udma_unmap_all(d), 0);
		assert_int_equal(udma_domain_destroy(d), 0);
		free(buf);
	}
}

static void test_unmap_all(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	char *buf = malloc(3 * 4096);

	assert_int_not_equal(udma_map(d, buf, 100, UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	uint64_t h = udma_map(d, buf + 4096, 8192, UDMA_DIR_TO_DEVICE);
	assert_int_not_equal(h, UDMA_BAD_IOVA);
	assert_int_equal(udma_domain_destroy(d), -EBUSY);
	assert_int_equal(udma_unmap_all(d), 2);
	assert_null(udma_iova_to_va(d, h, NULL)); /* gone from the IOMMU */
	assert_int_equal(udma_unmap_all(d), 0);
	assert_int_equal(udma_unmap_all(NULL), -EINVAL);
	assert_int_equal(udma_unmap_all(udma_system_domain()), -EINVAL);
	assert_int_equal(udma_domain_destroy(d), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_every_mode),
		cmocka_unit_test(test_stream_inside_allocation),
		cmocka_unit_test(test_stream_bad_input),
		cmocka_unit_test(test_stream_many),
		cmocka_unit_test(test_unmap_all),
	};
	return tests_run(tests, NULL, NULL);
}
