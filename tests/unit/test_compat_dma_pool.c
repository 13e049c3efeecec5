/* <linux/dma-mapping.h> pools: the kernel's dma_pool rules (mm/dmapool.c) on udma's pool. */
#include <limits.h>
#include <stdlib.h>
#include <linux/dma-mapping.h>
#include "common.h"

static struct device *open_dev(const char *name)
{
	struct device *dev = dma_device_open(name);
	return dev;
}

/* Kernel rules: align 0 -> 1, else a power of two; size 0 or > INT_MAX fails;
 * boundary 0 or a power of two >= size. */
static void test_parameters(void **state)
{
	struct device *dev = open_dev(NULL);
	struct dma_pool *p;

	assert_non_null(dev);
	log_capture_start();
#define BAD(size, align, boundary)                                                  \
	do {                                                                         \
		errno = 0;                                                           \
		assert_null(dma_pool_create("bad", dev, size, align, boundary));     \
		assert_int_equal(errno, EINVAL);                                     \
	} while (0)
	BAD(0, 8, 0);
	BAD((size_t)INT_MAX + 1, 8, 0);
	BAD(64, 3, 0);
	BAD(64, 48, 0);
	BAD(64, 8, 100); /* boundary not a power of two */
	BAD(64, 8, 32);  /* boundary below size */
	BAD(100, 64, 64); /* size rounds to 128 > boundary */
	errno = 0;
	assert_null(dma_pool_create("nodev", NULL, 64, 8, 0));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("power of two");

	/* align 0 is 1; size 1 is raised to 16 bytes */
	p = dma_pool_create("tiny", dev, 1, 0, 0);
	assert_non_null(p);
	dma_addr_t h[3];
	char *b[3];
	for (int i = 0; i < 3; i++) {
		b[i] = dma_pool_zalloc(p, GFP_KERNEL, &h[i]);
		assert_non_null(b[i]);
		for (int k = 0; k < 16; k++)
			assert_int_equal(b[i][k], 0);
		memset(b[i], 0xff, 16); /* the whole 16 bytes are ours */
	}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < i; j++)
			assert_true(labs(b[i] - b[j]) >= 16);
	for (int i = 0; i < 3; i++)
		dma_pool_free(p, b[i], h[i]);
	dma_pool_destroy(p);
	/* a boundary equal to size, and one above PAGE_SIZE (capped) */
	p = dma_pool_create("eq", dev, 256, 256, 256);
	assert_non_null(p);
	dma_pool_destroy(p);
	p = dma_pool_create("cap", dev, 512, 8, 1 << 20);
	assert_non_null(p);
	dma_pool_destroy(p);
	dma_pool_destroy(NULL); /* as the kernel: NULL is fine */
	dma_device_close(dev);
}

static void check_pool(struct device *dev, size_t size, size_t align, size_t boundary, int n)
{
	struct udma_domain *d = dma_device_domain(dev);
	struct dma_pool *p = dma_pool_create("chk", dev, size, align, boundary);
	size_t sz = size < 16 ? 16 : size;
	size_t eff = boundary ? boundary : (sz > 4096 ? 0 : 4096); /* what no block may cross */
	dma_addr_t *h = calloc(n, sizeof(*h));
	char **b = calloc(n, sizeof(*b));

	if (!p && udma_domain_mode(d) == UDMA_ADDR_PA && sz > 4096) {
		/* blocks over a page need physically adjacent frames (hugepages) */
		assert_int_equal(errno, ENOMEM);
		free(h);
		free(b);
		skip_because("pa, %zu-byte blocks: no physically contiguous frames (no free hugepages)", sz);
	}
	assert_non_null(p);
	for (int i = 0; i < n; i++) {
		b[i] = dma_pool_alloc(p, GFP_ATOMIC, &h[i]);
		assert_non_null(b[i]);
		assert_int_not_equal(h[i], DMA_MAPPING_ERROR);
		if (align > 1) {
			assert_int_equal((uintptr_t)b[i] % align, 0);
			assert_int_equal(h[i] % align, 0);
		}
		if (eff) {
			assert_int_equal(h[i] / eff, (h[i] + sz - 1) / eff);
			assert_int_equal((uintptr_t)b[i] / eff, ((uintptr_t)b[i] + sz - 1) / eff);
		}
		/* the handle is the device address of the block, contiguous for its size */
		size_t len = sz;
		assert_int_equal(udma_va_to_iova(d, b[i], &len), h[i]);
		assert_true(len >= sz);
		memset(b[i], i, sz);
	}
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < sz; k += 97)
			assert_int_equal((unsigned char)b[i][k], (unsigned char)i);
		dma_pool_free(p, b[i], h[i]);
	}
	dma_pool_destroy(p);
	free(h);
	free(b);
}

/* One case per device mode, named after it (the state is the mode's name). */
#define EVERY_MODE(f)                                            \
	{ #f "(va)", f, NULL, NULL, (void *)"va" },              \
	{ #f "(iommu)", f, NULL, NULL, (void *)"iommu" },        \
	{ #f "(pa)", f, NULL, NULL, (void *)"pa" }

/* The case's device: a mode that does not open fails the case, except PA
 * without the privilege it needs, which skips saying so. */
static struct device *open_mode(void **state)
{
	const char *name = *state;
	if (!strcmp(name, "pa") && !pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN (pagemap PFNs unreadable here)");
	struct device *dev = open_dev(name);
	if (!dev)
		fail_msg("device %s does not open: %s", name, strerror(errno));
	return dev;
}

static void test_layout(void **state)
{
	struct device *dev = open_mode(state);

	check_pool(dev, 64, 64, 0, 300);     /* grows well past one page */
	check_pool(dev, 100, 4, 0, 200);     /* 100-byte blocks never cross a page */
	check_pool(dev, 96, 32, 256, 100);   /* two per 256 bytes */
	check_pool(dev, 6000, 8, 0, 20);     /* above PAGE_SIZE */
	check_pool(dev, 2048, 2048, 4096, 50);
	dma_device_close(dev);
}

static void test_alloc_free_checks(void **state)
{
	struct device *dev = open_dev("iommu");
	assert_non_null(dev);
	struct dma_pool *p = dma_pool_create("chk", dev, 128, 64, 0);
	dma_addr_t h, h2;
	char *b = dma_pool_alloc(p, GFP_KERNEL, &h);

	assert_non_null(b);
	assert_int_not_equal(h, (uintptr_t)b); /* an IOVA */
	assert_ptr_equal(udma_iova_to_va(dma_device_domain(dev), h, NULL), b);
	errno = 0;
	assert_null(dma_pool_alloc(p, 0x80000000u, &h2)); /* unknown gfp bits */
	assert_int_equal(errno, EINVAL);
	assert_null(dma_pool_alloc(p, GFP_KERNEL, NULL));
	assert_null(dma_pool_alloc(NULL, GFP_KERNEL, &h2));
	log_capture_start();
	dma_pool_free(p, b, h + 128); /* wrong handle: refused */
	log_capture_stop();
	assert_logged("bad dma");
	/* still allocated: the right pair frees it */
	assert_ptr_equal(udma_iova_to_va(dma_device_domain(dev), h, NULL), b);
	dma_pool_free(p, b, h);
	log_capture_start();
	dma_pool_free(p, b, h); /* double free: refused, logged */
	int local;
	dma_pool_free(p, &local, 0);
	dma_pool_free(NULL, b, h);
	log_capture_stop();
	assert_logged("already free");
	/* the pool is intact: two allocations give two different blocks */
	char *x = dma_pool_alloc(p, GFP_KERNEL, &h), *y = dma_pool_alloc(p, GFP_KERNEL, &h2);
	assert_non_null(x);
	assert_non_null(y);
	assert_ptr_not_equal(x, y);
	/* destroy while busy: logged, the pool stays alive */
	log_capture_start();
	dma_pool_destroy(p);
	log_capture_stop();
	assert_logged("busy");
	dma_pool_free(p, x, h);
	dma_pool_free(p, y, h2);
	dma_pool_destroy(p);
	dma_device_close(dev);
}

static void test_zalloc(void **state)
{
	struct device *dev = open_dev(NULL);
	struct dma_pool *p = dma_pool_create("z", dev, 200, 8, 0);
	dma_addr_t h;
	unsigned char *b = dma_pool_alloc(p, GFP_KERNEL, &h);

	memset(b, 0xa5, 200);
	dma_pool_free(p, b, h);
	b = dma_pool_zalloc(p, GFP_KERNEL, &h);
	for (int i = 0; i < 200; i++)
		assert_int_equal(b[i], 0);
	dma_pool_free(p, b, h);
	b = dma_pool_alloc(p, GFP_KERNEL | __GFP_ZERO, &h);
	for (int i = 0; i < 200; i++)
		assert_int_equal(b[i], 0);
	dma_pool_free(p, b, h);
	dma_pool_destroy(p);
	dma_device_close(dev);
}

/*
 * The seed (003) documents the dma_alloc_* side only; dma_pool's contract is
 * the kernel's (mm/dmapool.c, dma_pool_create): "@boundary: returned blocks
 * won't cross this power of two boundary" and "If @boundary is nonzero,
 * objects returned from dma_pool_alloc() won't cross that size boundary."
 * For every block size, also above a page; a boundary below the size is
 * refused, as the kernel refuses it.
 */
static void test_boundary_above_page(void **state)
{
	struct device *dev = open_mode(state);

	check_pool(dev, 5000, 8, 8192, 64);
	check_pool(dev, 4097, 1, 1 << 20, 300); /* more than one unit's worth */
	check_pool(dev, 8192, 4096, 8192, 20);
	log_capture_start();
	errno = 0;
	assert_null(dma_pool_create("small", dev, 5000, 8, 4096));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(dma_pool_create("small", dev, 8193, 8, 8192));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	dma_device_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameters),
		EVERY_MODE(test_layout),
		EVERY_MODE(test_boundary_above_page),
		cmocka_unit_test(test_alloc_free_checks),
		cmocka_unit_test(test_zalloc),
	};
	return tests_run(tests, NULL, NULL);
}
