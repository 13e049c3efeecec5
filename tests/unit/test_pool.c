/* Native block pools: layout, validation, get/put, interior pointers,
 * device addresses, bridge memory, growth, caches across threads. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"
#include "pool_pa.h"

static struct udma_pool_opts opts(size_t bs, uint32_t n, size_t align)
{
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = bs, .block_count = n, .align = align };
	return o;
}

static struct udma_pool_stats stats(struct udma_pool *p)
{
	struct udma_pool_stats s = { .size = sizeof(s) };
	assert_int_equal(udma_pool_stats(p, &s), 0);
	return s;
}

static struct udma_pool *mkpool(struct udma_domain *d, size_t bs, uint32_t n, size_t align, uint32_t flags)
{
	struct udma_pool_opts o = opts(bs, n, align);
	o.flags = flags;
	struct udma_pool *p = udma_pool_create(d, &o);
	assert_non_null(p);
	return p;
}

/* A bridge over malloc'd memory with made-up device addresses, counting calls. */
struct fake_br {
	uint64_t dev_base;
	int allocs, frees, maps, unmaps;
	int fail_every;  /* iova_map refuses every n-th block */
	int fail_alloc;
	char *mem;
	size_t len;
};

static void *fb_alloc(void *usr, size_t size)
{
	struct fake_br *b = usr;
	b->allocs++;
	if (b->fail_alloc)
		return NULL;
	b->mem = malloc(size);
	b->len = size;
	return b->mem;
}

static void fb_free(void *usr, void *va)
{
	struct fake_br *b = usr;
	assert_ptr_equal(va, b->mem);
	b->frees++;
	free(va);
}

static uint64_t fb_map(void *usr, void *va, size_t len)
{
	struct fake_br *b = usr;
	b->maps++;
	assert_true((char *)va >= b->mem && (char *)va + len <= b->mem + b->len);
	if (b->fail_every && b->maps % b->fail_every == 0)
		return UDMA_BAD_IOVA;
	/* keep the VA's low bits so alignment carries over */
	return b->dev_base + (uint64_t)((char *)va - b->mem) + ((uintptr_t)b->mem & 0xfff);
}

static void fb_unmap(void *usr, void *va, uint64_t iova, size_t len)
{
	struct fake_br *b = usr;
	b->unmaps++;
	assert_int_equal(fb_map(&(struct fake_br){ .dev_base = b->dev_base, .mem = b->mem, .len = b->len }, va, len),
			 iova);
}

static struct udma_pool_bridge bridge_of(struct fake_br *b)
{
	struct udma_pool_bridge br = { .size = sizeof(br), .alloc = fb_alloc, .free = fb_free,
				       .iova_map = fb_map, .iova_unmap = fb_unmap, .usr = b };
	return br;
}

static void test_bad_options(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct fake_br fb = { 0 };
	struct udma_pool_bridge br = bridge_of(&fb);
	struct udma_pool_opts o;

	assert_non_null(d);
	log_capture_start();
#define BAD(expr_setup)                                                    \
	do {                                                                \
		o = opts(100, 8, 64);                                       \
		expr_setup;                                                 \
		errno = 0;                                                  \
		assert_null(udma_pool_create(d, &o));                        \
		assert_int_equal(errno, EINVAL);                            \
	} while (0)
	BAD(o.block_size = 0);
	BAD(o.block_count = 0);
	BAD(o.align = 3);
	BAD(o.align = 48);
	BAD(o.align = 1ul << 31);
	BAD(o.block_size = (1ul << 30) + 1);
	BAD(o.boundary = 100);
	BAD(o.boundary = 64); /* below the block size (128) */
	BAD(o.flags = 1u << 20);
	BAD(o.min_blocks = 9);
	BAD(o.max_blocks = 16); /* without GROW */
	BAD((o.flags = UDMA_POOL_GROW, o.max_blocks = 4));
	BAD(o.cache_size = 1u << 20);
	BAD(o.size = 8);
	BAD(o.bridge = &br); /* both a domain and a bridge */
	/* NUMA node that does not exist: refused by the memory layer */
	o = opts(100, 8, 64);
	o.flags = UDMA_POOL_NUMA;
	o.numa_node = 4096;
	assert_null(udma_pool_create(d, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(udma_pool_create(d, NULL));
	assert_int_equal(errno, EINVAL);
	/* neither a domain nor a bridge */
	o = opts(100, 8, 64);
	assert_null(udma_pool_create(NULL, &o));
	assert_int_equal(errno, EINVAL);
	/* a bridge must have alloc, free and iova_map */
	br.iova_map = NULL;
	o.bridge = &br;
	assert_null(udma_pool_create(NULL, &o));
	assert_int_equal(errno, EINVAL);
	br = bridge_of(&fb);
	br.free = NULL;
	assert_null(udma_pool_create(NULL, &o));
	br = bridge_of(&fb);
	br.size = 8;
	assert_null(udma_pool_create(NULL, &o));
	br = bridge_of(&fb);
	o.flags = UDMA_POOL_NUMA;
	assert_null(udma_pool_create(NULL, &o));
	assert_int_equal(fb.allocs, 0); /* nothing was allocated for any of them */
	log_capture_stop();
	assert_logged("power of two");
	assert_logged("bridge needs alloc, free and iova_map");
	/* NULL arguments elsewhere */
	assert_null(udma_pool_get(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(udma_pool_put(NULL, &o), -EINVAL);
	assert_int_equal(udma_pool_destroy(NULL, 0), -EINVAL);
	assert_int_equal(udma_pool_iova(NULL, &o), UDMA_BAD_IOVA);
	assert_int_equal(udma_pool_stats(NULL, NULL), -EINVAL);
	assert_int_equal(udma_pool_block_size(NULL), 0);
	assert_int_equal(udma_pool_get_bulk(NULL, NULL, 1), -EINVAL);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_get_put_layout(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 100, 64, 64, 0);
	void *b[65];

	assert_int_equal(udma_pool_block_size(p), 128); /* ALIGN(100, 64) */
	assert_ptr_equal(udma_pool_domain(p), d);
	for (int i = 0; i < 64; i++) {
		b[i] = udma_pool_get(p);
		assert_non_null(b[i]);
		assert_int_equal((uintptr_t)b[i] % 64, 0);
		memset(b[i], i, 128);
		/* VA mode: the device address is the VA */
		assert_int_equal(udma_pool_iova(p, b[i]), (uintptr_t)b[i]);
		for (int j = 0; j < i; j++)
			assert_true(b[j] != b[i] && ((char *)b[j] + 128 <= (char *)b[i] || (char *)b[i] + 128 <= (char *)b[j]));
	}
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.blocks, 64);
	assert_int_equal(s.free, 0);
	assert_int_equal(s.in_use, 64);
	assert_int_equal(s.hwm, 64);
	assert_int_equal(s.alloc_failures, 0);
	errno = 0;
	assert_null(udma_pool_get(p));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(stats(p).alloc_failures, 1);
	for (int i = 0; i < 64; i++) /* the data survived its neighbours */
		for (int k = 0; k < 128; k++)
			assert_int_equal(((unsigned char *)b[i])[k], i);
	for (int i = 0; i < 64; i++)
		assert_int_equal(udma_pool_put(p, b[i]), 0);
	s = stats(p);
	assert_int_equal(s.free, 64);
	assert_int_equal(s.in_use, 0);
	assert_int_equal(s.hwm, 64);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_interior_and_bad_frees(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 1000, 16, 8, 0); /* stride 1000: not a power of two */
	int on_stack;

	char *b = udma_pool_get(p), *c = udma_pool_get(p);
	assert_non_null(b);
	assert_non_null(c);
	/* any address inside the block maps to it, in O(1) */
	for (int off = 0; off < 1000; off += 37) {
		assert_ptr_equal(udma_pool_block(p, b + off), b);
		assert_int_equal(udma_pool_iova(p, b + off), udma_pool_iova(p, b) + off);
	}
	assert_ptr_equal(udma_pool_block(p, b + 999), b);
	log_capture_start();
	assert_int_equal(udma_pool_put(p, b + 999), 0); /* the last byte frees it */
	assert_int_equal(udma_pool_put(p, b), -EALREADY);
	assert_int_equal(udma_pool_put(p, b + 500), -EALREADY);
	assert_int_equal(udma_pool_iova(p, b), UDMA_BAD_IOVA); /* free: no address */
	assert_int_equal(errno, EINVAL);
	assert_null(udma_pool_block(p, b));
	assert_int_equal(udma_pool_put(p, &on_stack), -EINVAL);
	void *heap = malloc(64);
	assert_int_equal(udma_pool_put(p, heap), -EINVAL);
	free(heap);
	assert_int_equal(udma_pool_put(p, NULL), -EINVAL);
	assert_int_equal(udma_pool_put(p, (char *)c - 1 - 15 * 1000), -EINVAL); /* below the pool */
	log_capture_stop();
	assert_logged("double free");
	assert_logged("not inside a block");
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.double_frees, 2);
	assert_int_equal(s.bad_frees, 4);
	assert_int_equal(s.free, 15); /* the pool is intact */
	assert_int_equal(s.in_use, 1);
	assert_int_equal(udma_pool_put(p, c + 1), 0);
	/* an interior pointer is cached as its block's start */
	assert_ptr_equal(udma_pool_get(p), c);
	assert_ptr_equal(udma_pool_get_noinline(p), b);
	assert_int_equal(udma_pool_put_noinline(p, b + 3), 0);
	assert_int_equal(udma_pool_put(p, c + 999), 0);
	assert_ptr_equal(udma_pool_get_noinline(p), c);
	assert_ptr_equal(udma_pool_get(p), b);
	assert_int_equal(udma_pool_put(p, b + 998), 0);
	assert_int_equal(udma_pool_put(p, c + 2), 0);
	/* all 16 come back, each once */
	void *all[16];
	assert_int_equal(udma_pool_get_bulk(p, all, 16), 0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(all[i], all[j]);
	assert_int_equal(udma_pool_put_bulk(p, all, 16), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* Every address of a non-power-of-two layout maps to the right block (the
 * multiply-high division against a plain divide). */
static void test_index_arithmetic(void **state)
{
	static const size_t sizes[] = { 24, 100, 1000, 1536, 4032, 12288 + 64, 65536 * 3 };
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint32_t n = (uint32_t)((4u << 20) / sizes[k] + 1);
		struct udma_pool_opts o = opts(sizes[k], n, 8);
		o.flags = UDMA_POOL_NO_CACHE;
		struct udma_pool *p = udma_pool_create(d, &o);
		assert_non_null(p);
		size_t st = udma_pool_block_size(p);
		void **all = malloc(n * sizeof(*all));
		assert_int_equal(udma_pool_get_bulk(p, all, n), 0);
		char *base = all[0];
		for (uint32_t i = 0; i < n; i++)
			if ((char *)all[i] < base)
				base = all[i];
		unsigned seed = 7;
		for (int t = 0; t < 20000; t++) {
			size_t off = ((size_t)rand_r(&seed) * 7919u + (size_t)rand_r(&seed)) % (n * st);
			assert_ptr_equal(udma_pool_block(p, base + off), base + off / st * st);
		}
		assert_ptr_equal(udma_pool_block(p, base + n * st - 1), base + (n - 1) * st);
		assert_null(udma_pool_block(p, base + n * st));
		assert_int_equal(udma_pool_put_bulk(p, all, n), 0);
		free(all);
		assert_int_equal(udma_pool_destroy(p, 0), 0);
	}
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_alignment_and_boundary(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	static const size_t aligns[] = { 1, 2, 8, 64, 4096, 8192, 1 << 16, 2 << 20 };

	for (size_t k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
		struct udma_pool *p = mkpool(d, 33, 5, aligns[k], 0);
		void *b[5];
		assert_int_equal(udma_pool_get_bulk(p, b, 5), 0);
		for (int i = 0; i < 5; i++) {
			assert_int_equal((uintptr_t)b[i] % aligns[k], 0);
			assert_int_equal(udma_pool_iova(p, b[i]) % aligns[k], 0);
		}
		assert_int_equal(udma_pool_put_bulk(p, b, 5), 0);
		assert_int_equal(udma_pool_destroy(p, 0), 0);
	}
	/* 96-byte blocks, 256-byte boundary: two per unit, then a 64-byte gap */
	struct udma_pool_opts o = opts(96, 40, 32);
	o.boundary = 256;
	struct udma_pool *p = udma_pool_create(d, &o);
	assert_non_null(p);
	void *b[40];
	assert_int_equal(udma_pool_get_bulk(p, b, 40), 0);
	for (int i = 0; i < 40; i++) {
		uint64_t a = udma_pool_iova(p, b[i]);
		assert_int_equal(a % 32, 0);
		assert_int_equal(a / 256, (a + 95) / 256); /* never crosses */
		uintptr_t v = (uintptr_t)b[i];
		if (v % 256 == 96) { /* the second of a unit: the gap follows */
			assert_int_equal(udma_pool_put(p, (char *)b[i] + 96), -EINVAL);
			assert_int_equal(udma_pool_put(p, (char *)b[i] + 159), -EINVAL);
		}
	}
	assert_int_equal(udma_pool_put_bulk(p, b, 40), 0);
	assert_int_equal(stats(p).boundary, 256);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	/* boundary equal to the block size: plain layout */
	o = opts(4096, 4, 4096);
	o.boundary = 4096;
	p = udma_pool_create(d, &o);
	assert_non_null(p);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_destroy_busy_and_force(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 256, 8, 0, 0);

	void *b = udma_pool_get(p);
	assert_non_null(b);
	log_capture_start();
	assert_int_equal(udma_pool_destroy(p, 0), -EBUSY);
	assert_int_equal(udma_pool_destroy(p, 0x80), -EINVAL);
	log_capture_stop();
	assert_logged("still in use");
	/* still usable, unchanged */
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.in_use, 1);
	void *c = udma_pool_get(p);
	assert_non_null(c);
	assert_int_equal(udma_pool_put(p, c), 0);
	assert_int_equal(udma_pool_put(p, b), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	/* the domain cannot go while a pool's memory is in it */
	p = mkpool(d, 256, 8, 0, 0);
	assert_int_equal(udma_domain_destroy(d), -EBUSY);
	assert_non_null(udma_pool_get(p));
	assert_int_equal(udma_pool_destroy(p, UDMA_POOL_FORCE), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_bulk(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 64, 32, 0, 0);
	void *a[32], *b[32];

	assert_int_equal(udma_pool_get_bulk(p, a, 0), 0);
	assert_int_equal(udma_pool_get_bulk(p, a, 20), 0);
	assert_int_equal(udma_pool_get_bulk(p, b, 13), -ENOMEM); /* all or nothing */
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.free, 12);
	assert_int_equal(s.alloc_failures, 1);
	assert_int_equal(udma_pool_get_bulk(p, b, 12), 0);
	assert_int_equal(stats(p).free, 0);
	/* one bad pointer in the batch: the rest still go back */
	void *mixed[3] = { a[0], (char *)a[1] + 5, &s };
	assert_int_equal(udma_pool_put_bulk(p, mixed, 3), -EINVAL);
	assert_int_equal(udma_pool_put_bulk(p, mixed, 2), -EALREADY);
	assert_int_equal(udma_pool_put_bulk(p, a + 2, 18), 0);
	assert_int_equal(udma_pool_put_bulk(p, b, 12), 0);
	s = stats(p);
	assert_int_equal(s.free, 32);
	assert_int_equal(s.double_frees, 2);
	assert_int_equal(s.bad_frees, 1);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* The out-of-line entry points (for bindings) behave as the inline ones. */
static void test_noinline_entry_points(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 64, 4, 0, 0);
	int local;

	char *b = udma_pool_get_noinline(p);
	assert_non_null(b);
	assert_ptr_equal(udma_pool_block(p, b + 3), b);
	assert_int_equal(udma_pool_put_noinline(p, b + 3), 0);
	assert_int_equal(udma_pool_put_noinline(p, b), -EALREADY);
	assert_int_equal(udma_pool_put_noinline(p, &local), -EINVAL);
	assert_null(udma_pool_get_noinline(NULL));
	assert_int_equal(udma_pool_put_noinline(NULL, b), -EINVAL);
	/* the inline path's helper refuses what is not a freed block start */
	assert_int_equal(udma_pool_put_slow_(p, &local), -EINVAL);
	assert_int_equal(udma_pool_put_slow_(p, b + 1), -EINVAL);
	b = udma_pool_get(p);
	assert_int_equal(udma_pool_put_slow_(p, b), -EINVAL); /* in use, not freed */
	assert_int_equal(udma_pool_put(p, b), 0);
	assert_int_equal(stats(p).free, 4);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_iommu_mode(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	if (!d)
		skip_because("no IOMMU-mode domain: %s", strerror(errno));
	struct udma_pool *p = mkpool(d, 2048, 100, 0, 0);
	uint64_t iova;
	char *b = udma_pool_get_iova(p, &iova);

	assert_non_null(b);
	assert_int_not_equal(iova, (uintptr_t)b); /* an IOVA, not the VA */
	assert_int_equal(udma_pool_iova(p, b + 100), iova + 100);
	assert_ptr_equal(udma_iova_to_va(d, iova + 100, NULL), b + 100);
	assert_int_equal(udma_va_to_iova(d, b, NULL), iova);
	assert_int_equal(udma_pool_put(p, b), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	/* alignment above the page holds for the IOVA too, even for a small pool */
	static const size_t aligns[] = { 8192, 65536, 2 << 20 };
	for (int k = 0; k < 3; k++) {
		p = mkpool(d, 100, 3, aligns[k], 0);
		b = udma_pool_get_iova(p, &iova);
		assert_non_null(b);
		assert_int_equal((uintptr_t)b % aligns[k], 0);
		assert_int_equal(iova % aligns[k], 0);
		assert_int_equal(udma_pool_put(p, b), 0);
		assert_int_equal(udma_pool_destroy(p, 0), 0);
	}
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_pa_mode(void **state)
{
	if (!pa_available())
		skip_because("PA mode not available here (needs root)");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	assert_non_null(d);
	/* 3000-byte blocks straddle 4 KiB pages; only device-contiguous ones are used */
	pa_pool_sizes_check(d, "PA mode");
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_bridge(void **state)
{
	struct fake_br fb = { .dev_base = 0x5500000000ull };
	struct udma_pool_bridge br = bridge_of(&fb);
	struct udma_pool_opts o = opts(200, 50, 64);
	o.bridge = &br;

	struct udma_pool *p = udma_pool_create(NULL, &o);
	assert_non_null(p);
	assert_int_equal(fb.allocs, 1);
	assert_int_equal(fb.maps, 50); /* once per block */
	assert_null(udma_pool_domain(p));
	char *b = udma_pool_get(p);
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % 64, 0);
	assert_true(b >= fb.mem && b + 256 <= fb.mem + fb.len);
	uint64_t want = fb.dev_base + (uint64_t)(b - fb.mem) + ((uintptr_t)fb.mem & 0xfff);
	assert_int_equal(udma_pool_iova(p, b), want);
	assert_int_equal(udma_pool_iova(p, b + 255), want + 255);
	assert_int_equal(udma_pool_put(p, b), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(fb.unmaps, 50);
	assert_int_equal(fb.frees, 1);

	/* a bridge that refuses every 10th block: skipped, counted, min_blocks decides */
	fb = (struct fake_br){ .dev_base = 0x7700000000ull, .fail_every = 10 };
	o.block_count = 100;
	o.min_blocks = 90;
	p = udma_pool_create(NULL, &o);
	assert_non_null(p);
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.blocks, 90);
	assert_int_equal(s.skipped, 10);
	void *all[90];
	assert_int_equal(udma_pool_get_bulk(p, all, 90), 0);
	assert_null(udma_pool_get(p));
	assert_int_equal(udma_pool_put_bulk(p, all, 90), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(fb.unmaps, 90); /* only what was mapped */
	fb = (struct fake_br){ .dev_base = 0x7700000000ull, .fail_every = 10 };
	o.min_blocks = 91;
	errno = 0;
	assert_null(udma_pool_create(NULL, &o));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(fb.frees, 1); /* rolled back */
	assert_int_equal(fb.unmaps, 90);
	/* alloc failure */
	fb = (struct fake_br){ .fail_alloc = 1 };
	assert_null(udma_pool_create(NULL, &o));
	assert_int_equal(errno, ENOMEM);
}

static void test_no_cache_exact_stats(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 64, 10, 0, UDMA_POOL_NO_CACHE);
	void *b[10];

	assert_int_equal(stats(p).cache_size, 0);
	for (int i = 0; i < 7; i++)
		b[i] = udma_pool_get(p);
	for (int i = 0; i < 7; i++)
		assert_int_equal(udma_pool_put(p, b[i]), 0);
	for (int i = 0; i < 3; i++)
		b[i] = udma_pool_get(p);
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.hwm, 7);
	assert_int_equal(s.in_use, 3);
	assert_int_equal(s.cached, 0);
	assert_int_equal(udma_pool_put_bulk(p, b, 3), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_grow(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	if (!d)
		d = test_domain(UDMA_ADDR_VA);
	struct udma_pool_opts o = opts(300, 4, 0);
	o.flags = UDMA_POOL_GROW;
	o.max_blocks = 100;
	struct udma_pool *p = udma_pool_create(d, &o);
	void *b[101];

	assert_non_null(p);
	assert_int_equal(stats(p).blocks, 4);
	for (int i = 0; i < 100; i++) {
		b[i] = udma_pool_get(p);
		assert_non_null(b[i]);
		memset(b[i], i, 300);
		uint64_t a = udma_pool_iova(p, (char *)b[i] + 7);
		assert_int_not_equal(a, UDMA_BAD_IOVA);
		assert_ptr_equal(udma_iova_to_va(d, a, NULL), (char *)b[i] + 7);
	}
	assert_null(udma_pool_get(p)); /* max_blocks reached */
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.blocks, 100);
	assert_true(s.grows >= 3);
	for (int i = 0; i < 100; i++)
		assert_int_equal(udma_pool_put(p, (char *)b[i] + 299), 0); /* interior, any segment */
	assert_int_equal(udma_pool_put(p, b[50]), -EALREADY);
	assert_int_equal(stats(p).free, 100);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* ---- threads ---------------------------------------------------------- */

struct hold {
	struct udma_pool *p;
	int n;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int phase;
};

static void wait_phase(struct hold *h, int ph)
{
	pthread_mutex_lock(&h->m);
	while (h->phase < ph)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
}

static void set_phase(struct hold *h, int ph)
{
	pthread_mutex_lock(&h->m);
	h->phase = ph;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->m);
}

/* Take every block, give them all back (into this thread's cache), then idle. */
static void *hoarder(void *arg)
{
	struct hold *h = arg;
	void *b[64];
	for (int i = 0; i < h->n; i++)
		b[i] = udma_pool_get(h->p);
	for (int i = 0; i < h->n; i++)
		assert_int_equal(udma_pool_put(h->p, b[i]), 0);
	set_phase(h, 1);
	wait_phase(h, 2);
	return NULL;
}

static void test_cached_blocks_are_not_stranded(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool_opts o = opts(64, 16, 0);
	o.cache_size = 64; /* the cache can hold the whole pool */
	struct hold h = { .p = udma_pool_create(d, &o), .n = 16, .m = PTHREAD_MUTEX_INITIALIZER,
			  .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	void *b[16];

	assert_non_null(h.p);
	assert_int_equal(pthread_create(&t, NULL, hoarder, &h), 0);
	wait_phase(&h, 1);
	struct udma_pool_stats s = stats(h.p);
	assert_int_equal(s.free, 16);
	assert_true(s.cached > 0);
	/* the other thread is alive and holds them in its cache; we still get all 16 */
	for (int i = 0; i < 16; i++) {
		b[i] = udma_pool_get(h.p);
		assert_non_null(b[i]);
	}
	assert_true(stats(h.p).steals >= 1);
	assert_int_equal(stats(h.p).alloc_failures, 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(udma_pool_put(h.p, b[i]), 0);
	set_phase(&h, 2);
	pthread_join(t, NULL);
	assert_int_equal(udma_pool_destroy(h.p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void *user_then_exit(void *arg)
{
	struct hold *h = arg;
	void *b[8];
	for (int r = 0; r < 100; r++) {
		for (int i = 0; i < 8; i++)
			b[i] = udma_pool_get(h->p);
		for (int i = 0; i < 8; i++)
			udma_pool_put(h->p, b[i]);
	}
	return NULL;
}

static void test_thread_exit_flushes(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool_opts o = opts(64, 64, 0);
	o.cache_size = 32;
	struct hold h = { .p = udma_pool_create(d, &o) };
	pthread_t t[4];

	assert_non_null(h.p);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, user_then_exit, &h), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	struct udma_pool_stats s = stats(h.p);
	assert_int_equal(s.cached, 0); /* every exiting thread gave its cache back */
	assert_int_equal(s.free, 64);
	assert_int_equal(udma_pool_destroy(h.p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* A thread caching blocks of a pool that is destroyed, then exiting: no flush into freed memory. */
static void test_destroy_then_thread_exit(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct hold h = { .p = mkpool(d, 64, 16, 0, 0), .n = 16, .m = PTHREAD_MUTEX_INITIALIZER,
			  .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, hoarder, &h), 0);
	wait_phase(&h, 1);
	assert_true(stats(h.p).cached > 0);
	assert_int_equal(udma_pool_destroy(h.p, 0), 0); /* cached blocks are free blocks */
	/* a new pool may take the same slot and even the same address */
	struct udma_pool *q = mkpool(d, 64, 16, 0, 0);
	set_phase(&h, 2);
	pthread_join(t, NULL);
	assert_int_equal(stats(q).free, 16);
	assert_int_equal(udma_pool_destroy(q, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* More pools than cache slots: caches evict each other, nothing is lost. */
static void test_many_pools(void **state)
{
	enum { N = 80 };
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p[N];
	void *b[N][3];

	for (int i = 0; i < N; i++)
		p[i] = mkpool(d, 32 + i, 3, 8, 0);
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < N; i++)
			for (int k = 0; k < 3; k++) {
				b[i][k] = udma_pool_get(p[i]);
				assert_non_null(b[i][k]);
			}
		for (int i = 0; i < N; i++)
			for (int k = 0; k < 3; k++) {
				assert_int_equal(udma_pool_put(p[(i + 1) % N], b[i][k]), -EINVAL); /* not its pool */
				assert_int_equal(udma_pool_put(p[i], b[i][k]), 0);
			}
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(stats(p[i]).free, 3);
		assert_int_equal(udma_pool_destroy(p[i], 0), 0);
	}
	assert_int_equal(udma_domain_destroy(d), 0);
}

struct racer {
	struct udma_pool *p;
	void *volatile blk;
	pthread_barrier_t *bar;
	int rounds, wins, already;
};

static void *racer(void *arg)
{
	struct racer *r = arg;
	for (int i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(r->bar);
		int e = udma_pool_put(r->p, r->blk);
		if (!e)
			r->wins++;
		else if (e == -EALREADY)
			r->already++;
		pthread_barrier_wait(r->bar);
	}
	return NULL;
}

/* UDMA_POOL_RELAXED_FREE: accepted, the fast path told, and double frees
 * that are ordered still refused and counted, on both copies of put and
 * without caches. */
static void test_relaxed_free(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	int on_stack;

	for (int nocache = 0; nocache < 2; nocache++) {
		struct udma_pool *p = mkpool(d, 100, 16, 0, UDMA_POOL_RELAXED_FREE | (nocache ? UDMA_POOL_NO_CACHE : 0));
		const struct udma_pool_fast *f = (const struct udma_pool_fast *)p;
		assert_true(f->flags & UDMA_POOL_FAST_RELAXED);
		char *b = udma_pool_get(p), *c = udma_pool_get_noinline(p);
		assert_non_null(b);
		assert_non_null(c);
		log_capture_start();
		assert_int_equal(udma_pool_put(p, b + 99), 0);
		assert_int_equal(udma_pool_put(p, b), -EALREADY);
		assert_int_equal(udma_pool_put_noinline(p, b + 1), -EALREADY);
		assert_int_equal(udma_pool_put_noinline(p, c), 0);
		assert_int_equal(udma_pool_put(p, c), -EALREADY);
		assert_int_equal(udma_pool_put(p, &on_stack), -EINVAL);
		log_capture_stop();
		assert_logged("double free");
		struct udma_pool_stats st = stats(p);
		assert_int_equal(st.double_frees, 3);
		assert_int_equal(st.bad_frees, 1);
		assert_int_equal(st.in_use, 0);
		/* the blocks came back once each */
		void *all[16];
		for (int i = 0; i < 16; i++)
			assert_non_null(all[i] = udma_pool_get(p));
		assert_null(udma_pool_get(p));
		for (int i = 0; i < 16; i++)
			assert_int_equal(udma_pool_put(p, all[i]), 0);
		assert_int_equal(udma_pool_destroy(p, 0), 0);
	}
	struct udma_pool *strict = mkpool(d, 100, 16, 0, 0);
	assert_false(((const struct udma_pool_fast *)strict)->flags & UDMA_POOL_FAST_RELAXED);
	assert_int_equal(udma_pool_destroy(strict, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* Two threads free the same block at the same moment: exactly one wins. */
static void test_concurrent_double_free(void **state)
{
	enum { ROUNDS = 2000 };
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool *p = mkpool(d, 64, 4, 0, 0);
	pthread_barrier_t bar;
	struct racer r[2] = { { .p = p, .bar = &bar, .rounds = ROUNDS }, { .p = p, .bar = &bar, .rounds = ROUNDS } };
	pthread_t t[2];

	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, racer, &r[i]);
	for (int i = 0; i < ROUNDS; i++) {
		void *b = udma_pool_get(p);
		assert_non_null(b);
		r[0].blk = b;
		r[1].blk = (char *)b + 17;
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r[0].wins + r[1].wins, ROUNDS);
	assert_int_equal(r[0].already + r[1].already, ROUNDS);
	struct udma_pool_stats s = stats(p);
	assert_int_equal(s.double_frees, ROUNDS);
	assert_int_equal(s.free, 4);
	void *all[4];
	assert_int_equal(udma_pool_get_bulk(p, all, 4), 0); /* no duplicates crept in */
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(all[i], all[j]);
	assert_int_equal(udma_pool_put_bulk(p, all, 4), 0);
	pthread_barrier_destroy(&bar);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_numa_and_huge(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_pool_opts o = opts(4096, 600, 4096);
	o.flags = UDMA_POOL_NUMA | UDMA_POOL_HUGE;
	o.numa_node = 0;
	struct udma_pool *p = udma_pool_create(d, &o);
	assert_non_null(p);
	assert_int_equal(stats(p).blocks, 600);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_get_put_layout),
		cmocka_unit_test(test_interior_and_bad_frees),
		cmocka_unit_test(test_index_arithmetic),
		cmocka_unit_test(test_alignment_and_boundary),
		cmocka_unit_test(test_destroy_busy_and_force),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_noinline_entry_points),
		cmocka_unit_test(test_iommu_mode),
		cmocka_unit_test(test_pa_mode),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_no_cache_exact_stats),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_cached_blocks_are_not_stranded),
		cmocka_unit_test(test_thread_exit_flushes),
		cmocka_unit_test(test_destroy_then_thread_exit),
		cmocka_unit_test(test_many_pools),
		cmocka_unit_test(test_concurrent_double_free),
		cmocka_unit_test(test_relaxed_free),
		cmocka_unit_test(test_numa_and_huge),
	};
	return tests_run(tests, NULL, NULL);
}
