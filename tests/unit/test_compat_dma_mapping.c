/* SPDX-License-Identifier: BSD-3-Clause */
/* Seed 003: <linux/dma-mapping.h> (dma_alloc_attrs family, streaming maps) on udma. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-mapping.h>
#include "common.h"

#define K4 4096ul
#define M2 (2ul << 20)

/* ---- layout and constants: the kernel's values ------------------------- */

_Static_assert(DMA_ATTR_WEAK_ORDERING == (1UL << 1), "kernel value");
_Static_assert(DMA_ATTR_WRITE_COMBINE == (1UL << 2), "kernel value");
_Static_assert(DMA_ATTR_NO_KERNEL_MAPPING == (1UL << 4), "kernel value");
_Static_assert(DMA_ATTR_SKIP_CPU_SYNC == (1UL << 5), "kernel value");
_Static_assert(DMA_ATTR_FORCE_CONTIGUOUS == (1UL << 6), "kernel value");
_Static_assert(DMA_ATTR_ALLOC_SINGLE_PAGES == (1UL << 7), "kernel value");
_Static_assert(DMA_ATTR_NO_WARN == (1UL << 8), "kernel value");
_Static_assert(DMA_ATTR_PRIVILEGED == (1UL << 9), "kernel value");
_Static_assert(DMA_BIDIRECTIONAL == 0 && DMA_TO_DEVICE == 1 && DMA_FROM_DEVICE == 2 && DMA_NONE == 3,
	       "kernel values");
_Static_assert(sizeof(dma_addr_t) == 8, "64-bit device addresses");
_Static_assert(DMA_MAPPING_ERROR == ~(dma_addr_t)0, "DMA_MAPPING_ERROR is ~(dma_addr_t)0");
_Static_assert(DMA_MAPPING_ERROR == UDMA_BAD_IOVA, "one invalid address throughout");
/* the seed's prototypes, exactly */
_Static_assert(__builtin_types_compatible_p(__typeof__(&dma_alloc_attrs),
					    void *(*)(struct device *, size_t, dma_addr_t *, gfp_t, unsigned long)),
	       "dma_alloc_attrs prototype");
_Static_assert(__builtin_types_compatible_p(__typeof__(&dma_alloc_wc),
					    void *(*)(struct device *, size_t, dma_addr_t *, gfp_t)),
	       "dma_alloc_wc prototype");

/* ---- helpers ------------------------------------------------------------ */

struct mode_case {
	const char *name; /* for dma_device_open */
	enum udma_addr_mode mode;
};
static const struct mode_case mode_default = { NULL, UDMA_ADDR_VA };
static const struct mode_case mode_va = { "va", UDMA_ADDR_VA };
static const struct mode_case mode_pa = { "pa", UDMA_ADDR_PA };
static const struct mode_case mode_iommu = { "iommu", UDMA_ADDR_IOMMU };

/* One test per mode, named after it; PA skips with its reason. */
#define PER_MODE(f)                                                              \
	{ #f "(default)", f, NULL, NULL, (void *)&mode_default },                \
	{ #f "(va)", f, NULL, NULL, (void *)&mode_va },                          \
	{ #f "(pa)", f, NULL, NULL, (void *)&mode_pa },                          \
	{ #f "(iommu)", f, NULL, NULL, (void *)&mode_iommu }

static struct device *open_case(void **state, const struct mode_case **mc)
{
	*mc = *state;
	if ((*mc)->mode == UDMA_ADDR_PA && !pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN (pagemap PFNs unreadable here)");
	struct device *dev = dma_device_open((*mc)->name);
	assert_non_null(dev);
	assert_int_equal(udma_domain_mode(dma_device_domain(dev)), (*mc)->mode);
	return dev;
}

static int phys_contiguous(const void *va, size_t len)
{
	uint64_t pa0 = phys_of(va);
	for (size_t off = K4; off < len; off += K4)
		if (phys_of((const char *)va + off) != pa0 + off)
			return 0;
	return pa0 != 0;
}

static int mapped(const void *p)
{
	unsigned char v;
	return mincore((void *)((uintptr_t)p & ~(K4 - 1)), K4, &v) == 0;
}

/*
 * Check one coherent buffer: zeroed, page aligned, one device-address range,
 * handle = udma's translation of the pointer, and back. Returns its length.
 */
static size_t check_coherent(struct device *dev, enum udma_addr_mode mode, void *p, dma_addr_t h, size_t size)
{
	struct udma_domain *d = dma_device_domain(dev);
	struct udma_mem m;

	assert_non_null(p);
	assert_int_not_equal(h, DMA_MAPPING_ERROR);
	assert_int_equal(dma_mapping_error(dev, h), 0);
	assert_int_equal((uintptr_t)p % K4, 0);
	assert_int_equal(udma_mem_query(d, p, &m), 0);
	assert_ptr_equal(m.va, p);
	assert_true(m.len >= size);
	assert_true(m.page_size >= K4);
	assert_int_equal(m.len % m.page_size, 0); /* rounded up to the backing page */
	assert_true(all_zero(p, m.len));
	memset(p, 0xa5, m.len); /* all of it is ours to use */

	size_t len = m.len;
	assert_int_equal(udma_va_to_iova(d, p, &len), h);
	assert_int_equal(len, m.len); /* one range of device addresses */
	len = m.len;
	assert_ptr_equal(udma_iova_to_va(d, h, &len), p);
	assert_int_equal(len, m.len);
	assert_ptr_equal(udma_iova_to_va(d, h + m.len - 1, NULL), (char *)p + m.len - 1);
	switch (mode) {
	case UDMA_ADDR_VA:
		assert_int_equal(h, (uintptr_t)p);
		break;
	case UDMA_ADDR_IOMMU:
		assert_int_not_equal(h, (uintptr_t)p);
		break;
	case UDMA_ADDR_PA: /* coherent memory is physically contiguous here */
		assert_int_equal(h, phys_of(p));
		assert_true(phys_contiguous(p, m.len));
		break;
	}
	return m.len;
}

/* Log lines by level, to tell warnings from debug reasons. */
static int lvl_count[UDMA_LOG_DEBUG + 1];
static void level_sink(enum udma_log_level lvl, const char *line, void *arg)
{
	(void)arg;
	lvl_count[lvl]++;
	size_t n = strlen(test_log_buf);
	snprintf(test_log_buf + n, sizeof(test_log_buf) - n, "%s\n", line);
}
static void level_capture_start(void)
{
	memset(lvl_count, 0, sizeof(lvl_count));
	log_capture_start();
	udma_log_set_sink(level_sink, NULL);
}

/* ---- devices ------------------------------------------------------------ */

/* dma_device_open: NULL is the default device (VA mode); "va", "pa", "iommu" that mode. */
static void test_device_open(void **state)
{
	struct device *dev = dma_device_open(NULL);
	assert_non_null(dev);
	assert_int_equal(udma_domain_mode(dma_device_domain(dev)), UDMA_ADDR_VA);
	dma_device_close(dev);
	dev = dma_device_open("");
	assert_non_null(dev);
	assert_int_equal(udma_domain_mode(dma_device_domain(dev)), UDMA_ADDR_VA);
	dma_device_close(dev);
	dev = dma_device_open("iommu");
	assert_non_null(dev);
	assert_int_equal(udma_domain_mode(dma_device_domain(dev)), UDMA_ADDR_IOMMU);
	dma_device_close(dev);

	log_capture_start();
	errno = 0;
	assert_null(dma_device_open("bogus"));
	assert_int_equal(errno, ENODEV);
	dma_device_close(NULL); /* harmless */
	assert_null(dma_device_domain(NULL));
	log_capture_stop();
	assert_logged("unknown device");
}

/* ---- coherent allocation ------------------------------------------------- */

/*
 * Seed: "void *dma_alloc_attrs(struct device *dev, size_t size,
 * dma_addr_t *dma_handle, gfp_t flag, unsigned long attrs)" -- the CPU
 * pointer is returned and the device address is stored in *dma_handle.
 */
static void test_alloc_coherent(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	static const size_t sizes[] = { 1, 100, K4, K4 + 1, 65536, M2 + 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		dma_addr_t h = 0;
		void *p = dma_alloc_coherent(dev, sizes[i], &h, GFP_KERNEL);
		if (!p && mc->mode == UDMA_ADDR_PA && sizes[i] > K4) {
			/* no hugepage free and 4 KiB pages not adjacent: PA needs contiguity */
			assert_int_equal(errno, ENOMEM);
			assert_int_equal(h, DMA_MAPPING_ERROR);
			continue;
		}
		check_coherent(dev, mc->mode, p, h, sizes[i]);
		dma_free_coherent(dev, sizes[i], p, h);
		assert_int_equal(udma_va_to_iova(dma_device_domain(dev), p, NULL), UDMA_BAD_IOVA);
	}
	/* GFP_ATOMIC is accepted too (nothing sleeps differently here) */
	dma_addr_t h;
	void *p = dma_alloc_coherent(dev, 4000, &h, GFP_ATOMIC);
	check_coherent(dev, mc->mode, p, h, 4000);
	dma_free_coherent(dev, 4000, p, h);
	dma_device_close(dev);
}

/*
 * Seed: "dma_alloc_wc(struct device *dev, size_t size, dma_addr_t *dma_addr,
 * gfp_t gfp) { return dma_alloc_attrs(dev, size, dma_addr, gfp,
 * DMA_ATTR_WRITE_COMBINE); }" and "申请出来的内存特点就是物理内存一定是连续的"
 * (the memory it returns is physically contiguous, because the controller
 * reads it in one run). udma: one device-address range in every mode,
 * physically contiguous in PA mode; WRITE_COMBINE is a no-op on RAM.
 */
static void test_alloc_wc(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	dma_addr_t h = 0;
	size_t size = mc->mode == UDMA_ADDR_PA ? K4 : 3 * K4;
	void *p = dma_alloc_wc(dev, size, &h, GFP_KERNEL);

	check_coherent(dev, mc->mode, p, h, size);
	dma_free_wc(dev, size, p, h);
	assert_false(mapped(p));
	/* same thing through dma_alloc_attrs, freed as coherent: attrs are not tracked */
	p = dma_alloc_attrs(dev, size, &h, GFP_KERNEL, DMA_ATTR_WRITE_COMBINE);
	check_coherent(dev, mc->mode, p, h, size);
	dma_free_attrs(dev, size, p, h, DMA_ATTR_WRITE_COMBINE);
	dma_device_close(dev);
}

/* DMA_ATTR_FORCE_CONTIGUOUS: physically contiguous in every mode, or -ENOMEM with a reason. */
static void test_force_contiguous(void **state)
{
	const struct mode_case *mc = *state;
	if (!pa_available() && mc->mode != UDMA_ADDR_PA) {
		/* contiguity that cannot be checked is refused, not guessed */
		struct device *dev = open_case(state, &mc);
		dma_addr_t h;
		log_capture_start();
		errno = 0;
		assert_null(dma_alloc_attrs(dev, K4, &h, GFP_KERNEL, DMA_ATTR_FORCE_CONTIGUOUS));
		assert_int_equal(errno, EPERM);
		log_capture_stop();
		assert_logged("no access to physical addresses");
		dma_device_close(dev);
		return;
	}
	struct device *dev = open_case(state, &mc);
	static const size_t sizes[] = { K4, 16 * K4, M2 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		dma_addr_t h = 0;
		log_capture_start();
		void *p = dma_alloc_attrs(dev, sizes[i], &h, GFP_KERNEL, DMA_ATTR_FORCE_CONTIGUOUS);
		log_capture_stop();
		if (!p) {
			/* a single page is always contiguous; beyond it a hugepage was tried first */
			assert_true(sizes[i] > K4);
			assert_int_equal(errno, ENOMEM);
			assert_logged("physically contiguous");
			assert_logged("2097152-byte pages");
			continue;
		}
		size_t len = check_coherent(dev, mc->mode, p, h, sizes[i]);
		assert_true(phys_contiguous(p, len));
		dma_free_attrs(dev, sizes[i], p, h, DMA_ATTR_FORCE_CONTIGUOUS);
	}
	dma_device_close(dev);
}

/* Every DMA_ATTR_* the kernel defines is accepted and keeps the coherent contract. */
static void test_attrs_accepted(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	static const unsigned long attrs[] = {
		DMA_ATTR_WEAK_ORDERING, DMA_ATTR_WRITE_COMBINE, DMA_ATTR_NO_KERNEL_MAPPING,
		DMA_ATTR_SKIP_CPU_SYNC, DMA_ATTR_ALLOC_SINGLE_PAGES, DMA_ATTR_NO_WARN,
		DMA_ATTR_PRIVILEGED, DMA_ATTR_WRITE_COMBINE | DMA_ATTR_NO_WARN | DMA_ATTR_WEAK_ORDERING,
	};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		dma_addr_t h;
		void *p = dma_alloc_attrs(dev, 1000, &h, GFP_KERNEL, attrs[i]);
		/* NO_KERNEL_MAPPING: still a usable pointer (user space has no other mapping) */
		check_coherent(dev, mc->mode, p, h, 1000);
		dma_free_attrs(dev, 1000, p, h, attrs[i]);
	}
	dma_device_close(dev);
}

/* ALLOC_SINGLE_PAGES: "do not try hard for large pages" -- honoured where an IOMMU (or VA) stitches pages. */
static void test_alloc_single_pages(void **state)
{
	const struct mode_case *mc = *state;
	if (mc->mode == UDMA_ADDR_PA)
		skip_because("PA mode must use hugepages for contiguity; the kernel honours this on the IOMMU path only");
	struct device *dev = open_case(state, &mc);
	struct udma_mem m;
	dma_addr_t h;
	size_t size = 2 * M2;
	void *p = dma_alloc_attrs(dev, size, &h, GFP_KERNEL, DMA_ATTR_ALLOC_SINGLE_PAGES);

	check_coherent(dev, mc->mode, p, h, size);
	assert_int_equal(udma_mem_query(dma_device_domain(dev), p, &m), 0);
	assert_int_equal(m.page_size, K4);
	dma_free_attrs(dev, size, p, h, DMA_ATTR_ALLOC_SINGLE_PAGES);
	/* without it, large buffers prefer 2 MiB pages when some are free */
	long before = udma_hugepages_free(M2, -1);
	p = dma_alloc_attrs(dev, size, &h, GFP_KERNEL, 0);
	check_coherent(dev, mc->mode, p, h, size);
	assert_int_equal(udma_mem_query(dma_device_domain(dev), p, &m), 0);
	if (m.page_size != M2) /* other tests may hold them */
		assert_true(before < 2 || udma_hugepages_free(M2, -1) < 2);
	dma_free_attrs(dev, size, p, h, 0);
	dma_device_close(dev);
}

/* gfp_t: GFP_KERNEL, GFP_ATOMIC and the other bits the header defines are accepted. */
static void test_gfp_accepted(void **state)
{
	struct device *dev = dma_device_open(NULL);
	static const gfp_t gfps[] = { 0, GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_KERNEL | __GFP_ZERO,
				      GFP_KERNEL | __GFP_NOWARN, GFP_ATOMIC | __GFP_NOWARN };
	for (size_t i = 0; i < sizeof(gfps) / sizeof(gfps[0]); i++) {
		dma_addr_t h;
		void *p = dma_alloc_attrs(dev, 64, &h, gfps[i], 0);
		check_coherent(dev, UDMA_ADDR_VA, p, h, 64);
		dma_free_attrs(dev, 64, p, h, 0);
	}
	assert_int_not_equal(GFP_KERNEL, GFP_ATOMIC);
	dma_device_close(dev);
}

/* Unknown gfp or attribute bits: NULL, errno EINVAL, and a line saying which bits. */
static void test_unknown_bits(void **state)
{
	struct device *dev = dma_device_open("iommu");
	/* bit 0 was DMA_ATTR_WRITE_BARRIER (removed), bit 3 NON_CONSISTENT (removed), 10+ newer */
	static const unsigned long bad_attrs[] = { 1UL << 0, 1UL << 3, 1UL << 10, 1UL << 31,
						   DMA_ATTR_WRITE_COMBINE | (1UL << 12) };
	dma_addr_t h;

	for (size_t i = 0; i < sizeof(bad_attrs) / sizeof(bad_attrs[0]); i++) {
		log_capture_start();
		errno = 0;
		assert_null(dma_alloc_attrs(dev, K4, &h, GFP_KERNEL, bad_attrs[i]));
		assert_int_equal(errno, EINVAL);
		log_capture_stop();
		assert_logged("unknown DMA_ATTR bits");
	}
	log_capture_start();
	errno = 0;
	assert_null(dma_alloc_attrs(dev, K4, &h, GFP_KERNEL | (1u << 30), 0));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("unknown gfp bits 0x40000000");
	log_capture_start();
	errno = 0;
	assert_null(dma_alloc_coherent(dev, K4, &h, 1u << 27));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("unknown gfp bits");
	dma_device_close(dev);
}

/* Zero, absurd sizes, NULL arguments: NULL + EINVAL and a debug line; never a crash. */
static void test_alloc_bad_input(void **state)
{
	struct device *dev = dma_device_open("va");
	dma_addr_t h;

	log_capture_start();
	errno = 0;
	assert_null(dma_alloc_coherent(NULL, K4, &h, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(dma_alloc_coherent(dev, K4, NULL, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("NULL device or dma_handle");

	log_capture_start();
	errno = 0;
	h = 0;
	assert_null(dma_alloc_coherent(dev, 0, &h, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dma_mapping_error(dev, h), -ENOMEM);
	log_capture_stop();
	assert_logged("zero or absurd");

	log_capture_start();
	errno = 0;
	assert_null(dma_alloc_coherent(dev, (size_t)1 << 50, &h, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(dma_alloc_coherent(dev, SIZE_MAX, &h, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("zero or absurd");
	dma_device_close(dev);
}

/* NO_WARN: "suppress allocation failure reports" -- the warning goes, the debug reason stays. */
static void test_no_warn(void **state)
{
	struct device *dev = dma_device_open(NULL);
	dma_addr_t h;

	level_capture_start();
	assert_null(dma_alloc_attrs(dev, (size_t)1 << 50, &h, GFP_KERNEL, 0));
	log_capture_stop();
	assert_int_equal(lvl_count[UDMA_LOG_WARN], 1);
	assert_logged("dma_alloc_attrs of");

	level_capture_start();
	assert_null(dma_alloc_attrs(dev, (size_t)1 << 50, &h, GFP_KERNEL, DMA_ATTR_NO_WARN));
	assert_null(dma_alloc_coherent(dev, (size_t)1 << 50, &h, GFP_KERNEL | __GFP_NOWARN));
	assert_null(dma_alloc_wc(dev, (size_t)1 << 50, &h, GFP_KERNEL | __GFP_NOWARN));
	log_capture_stop();
	assert_int_equal(lvl_count[UDMA_LOG_WARN], 0);
	assert_int_equal(lvl_count[UDMA_LOG_ERROR], 0);
	assert_true(lvl_count[UDMA_LOG_DEBUG] >= 3); /* the reason is still there to read */
	assert_logged("zero or absurd");
	dma_device_close(dev);
}

/* ---- freeing ------------------------------------------------------------ */

/* The buffer is still ours: contents intact, writable, translates as before. */
static void assert_intact(struct device *dev, unsigned char *p, dma_addr_t h, size_t len, unsigned char fill)
{
	for (size_t i = 0; i < len; i += 509)
		assert_int_equal(p[i], fill);
	p[len - 1] = fill;
	assert_int_equal(udma_va_to_iova(dma_device_domain(dev), p, NULL), h);
	assert_ptr_equal(udma_iova_to_va(dma_device_domain(dev), h, NULL), p);
}

/*
 * The kernel says free must get "the same dev, size and handle" as the
 * alloc. udma checks: a mismatch frees nothing and says so.
 */
static void test_free_mismatch(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	struct device *other = dma_device_open(mc->name);
	dma_addr_t h, ho;
	unsigned char *p = dma_alloc_coherent(dev, K4, &h, GFP_KERNEL);
	void *po = dma_alloc_coherent(other, K4, &ho, GFP_KERNEL);
	char *heap = malloc(K4);

	assert_non_null(p);
	assert_non_null(po);
	memset(p, 0x3c, K4);

	log_capture_start();
	dma_free_coherent(dev, 64 * K4, p, h); /* wrong size */
	log_capture_stop();
	assert_logged("does not match");
	assert_intact(dev, p, h, K4, 0x3c);

	log_capture_start();
	dma_free_coherent(dev, K4, p, h + K4); /* wrong handle */
	log_capture_stop();
	assert_logged("not an allocation of this device");
	assert_intact(dev, p, h, K4, 0x3c);

	log_capture_start();
	dma_free_coherent(dev, K4, p + 64, h + 64); /* interior pointer */
	log_capture_stop();
	assert_logged("not an allocation of this device");
	assert_intact(dev, p, h, K4, 0x3c);

	log_capture_start();
	dma_free_coherent(dev, K4, heap, (uintptr_t)heap); /* foreign pointer */
	dma_free_coherent(dev, K4, po, ho);                 /* another device's */
	log_capture_stop();
	assert_logged("not an allocation of this device");
	assert_intact(dev, p, h, K4, 0x3c);
	assert_intact(other, po, ho, K4, 0);
	heap[K4 - 1] = 1; /* still the heap's (ASan would catch a munmap) */

	log_capture_start();
	dma_free_coherent(dev, K4, NULL, h);
	dma_free_coherent(NULL, K4, p, h);
	log_capture_stop();
	assert_logged("NULL device or cpu_addr");
	assert_intact(dev, p, h, K4, 0x3c);

	dma_free_coherent(dev, K4, p, h); /* the right call frees */
	assert_false(mapped(p));
	assert_int_equal(udma_va_to_iova(dma_device_domain(dev), p, NULL), UDMA_BAD_IOVA);

	/* double free: logged, harmless, and the device keeps working */
	log_capture_start();
	dma_free_coherent(dev, K4, p, h);
	log_capture_stop();
	assert_logged("not an allocation of this device");
	void *q = dma_alloc_coherent(dev, K4, &h, GFP_KERNEL);
	check_coherent(dev, mc->mode, q, h, K4);
	dma_free_coherent(dev, K4, q, h);

	free(heap);
	dma_free_coherent(other, K4, po, ho);
	dma_device_close(other);
	dma_device_close(dev);
}

/* dma_device_close frees what is still allocated (ASan checks nothing
 * leaks). Enough allocations for the device's table to grow several times,
 * half of them freed first in random order. */
static void test_close_frees(void **state)
{
	enum { N = 300 };
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	struct udma_domain *d = dma_device_domain(dev);
	void *p[N];
	unsigned order[N];
	dma_addr_t h;

	for (int i = 0; i < N; i++) {
		p[i] = i & 1 ? dma_alloc_wc(dev, 100, &h, GFP_KERNEL) : dma_alloc_coherent(dev, K4, &h, GFP_KERNEL);
		assert_non_null(p[i]);
		order[i] = (unsigned)i;
	}
	for (int i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (unsigned)(i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < N / 2; i++) {
		void *q = p[order[i]];
		dma_free_coherent(dev, order[i] & 1 ? 100 : K4, q, udma_va_to_iova(d, q, NULL));
		assert_false(mapped(q));
	}
	for (int i = N / 2; i < N; i++)
		assert_true(mapped(p[order[i]]));
	/* freed twice: an error, and nothing else goes */
	log_capture_start();
	dma_free_coherent(dev, K4, p[order[0]], 0);
	log_capture_stop();
	assert_logged("not an allocation of this device");
	dma_device_close(dev);
	for (int i = 0; i < N; i++)
		assert_false(mapped(p[i]));
}

/* Domains alive in this process: a device whose domain outlives it leaks one. */
static int live_domains(void)
{
	int n = 0;
	for (struct udma_domain *d = udma_domain_first(NULL); d; d = udma_domain_next(d, NULL))
		n++;
	return n;
}

/* Closing ends the streaming mappings still live (warned, as dma-debug
 * does at unbind) and the domain goes with the device. */
static void test_close_unmaps(void **state)
{
	int before = live_domains();
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	char *buf = aligned_alloc(K4, K4);

	assert_int_equal(live_domains(), before + 1);
	assert_int_equal(dma_mapping_error(dev, dma_map_single(dev, buf, 100, DMA_TO_DEVICE)), 0);
	assert_int_equal(dma_mapping_error(dev, dma_map_single(dev, buf + 200, 100, DMA_FROM_DEVICE)), 0);
	log_capture_start();
	dma_device_close(dev);
	log_capture_stop();
	assert_logged("2 streaming mappings live: unmapped");
	assert_int_equal(live_domains(), before);
	free(buf);
}

/* A dma_pool keeps its device's memory: blocks stay usable after close, and
 * the domain goes when the last pool is destroyed. */
static void test_close_with_pool(void **state)
{
	int before = live_domains();
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	struct udma_domain *d = dma_device_domain(dev);
	struct dma_pool *a = dma_pool_create("a", dev, 64, 64, 0), *b = dma_pool_create("b", dev, 512, 0, 0);
	dma_addr_t ha, hc;

	assert_non_null(a);
	assert_non_null(b);
	char *pa = dma_pool_alloc(a, GFP_KERNEL, &ha);
	assert_non_null(pa);
	log_capture_start();
	dma_device_close(dev);
	log_capture_stop();
	assert_logged("2 dma_pools live");
	assert_int_equal(live_domains(), before + 1);
	memset(pa, 0x5a, 64);
	assert_int_equal(udma_va_to_iova(d, pa, NULL), ha);
	char *pc = dma_pool_alloc(a, GFP_KERNEL, &hc); /* still grows and hands out blocks */
	assert_non_null(pc);
	assert_int_equal(udma_va_to_iova(d, pc, NULL), hc);
	dma_pool_free(a, pc, hc);
	dma_pool_destroy(b);
	assert_int_equal(live_domains(), before + 1); /* a still holds it */
	log_capture_start();
	dma_pool_destroy(a); /* busy: left alive, and the device with it */
	log_capture_stop();
	assert_logged("busy");
	assert_int_equal(live_domains(), before + 1);
	dma_pool_free(a, pa, ha);
	dma_pool_destroy(a);
	assert_int_equal(live_domains(), before);
}

/* ---- streaming mappings ------------------------------------------------- */

/* dma_map_single of ordinary (malloc'd) memory, in each mode. */
static void test_map_single(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	struct udma_domain *d = dma_device_domain(dev);
	char *buf = aligned_alloc(K4, K4); /* one page: PA mode needs physical contiguity */
	char *p = buf + 100;

	strcpy(p, "streamed");
	dma_addr_t h = dma_map_single(dev, p, 200, DMA_TO_DEVICE);
	assert_int_equal(dma_mapping_error(dev, h), 0);
	switch (mc->mode) {
	case UDMA_ADDR_VA:
		assert_int_equal(h, (uintptr_t)p);
		break;
	case UDMA_ADDR_PA:
		assert_int_equal(h, phys_of(p));
		break;
	case UDMA_ADDR_IOMMU:
		assert_int_not_equal(h, (uintptr_t)p);
		break;
	}
	size_t len = 200;
	assert_ptr_equal(udma_iova_to_va(d, h, &len), p);
	assert_int_equal(len, 200);
	assert_string_equal((char *)udma_iova_to_va(d, h, NULL), "streamed");

	/* the same buffer mapped twice: two live mappings, each undone on its own */
	dma_addr_t h2 = dma_map_single(dev, p, 200, DMA_FROM_DEVICE);
	assert_int_equal(dma_mapping_error(dev, h2), 0);
	if (mc->mode == UDMA_ADDR_IOMMU)
		assert_int_not_equal(h2, h);
	log_capture_start();
	dma_sync_single_for_device(dev, h, 200, DMA_TO_DEVICE);
	dma_sync_single_for_cpu(dev, h2, 200, DMA_FROM_DEVICE);
	dma_sync_single_for_cpu(dev, h2 + 50, 100, DMA_FROM_DEVICE); /* part of it */
	dma_unmap_single(dev, h, 200, DMA_TO_DEVICE);
	assert_string_equal((char *)udma_iova_to_va(d, h2, NULL), "streamed");
	dma_unmap_single(dev, h2, 200, DMA_FROM_DEVICE);
	log_capture_stop();
	assert_int_equal(test_log_buf[0], 0); /* none of that was worth a line */
	if (mc->mode == UDMA_ADDR_IOMMU) {
		log_capture_start();
		assert_null(udma_iova_to_va(d, h, NULL)); /* gone */
		log_capture_stop();
	}

	/* unmapping again: logged, harmless */
	log_capture_start();
	dma_unmap_single(dev, h2, 200, DMA_FROM_DEVICE);
	log_capture_stop();
	assert_logged("no such mapping");
	free(buf);
	dma_device_close(dev); /* no mapping left: the domain goes too */
}

/* Mapping memory the device already owns gives its own address. */
static void test_map_single_coherent(void **state)
{
	const struct mode_case *mc;
	struct device *dev = open_case(state, &mc);
	dma_addr_t h;
	char *p = dma_alloc_coherent(dev, K4, &h, GFP_KERNEL);

	assert_non_null(p);
	dma_addr_t s = dma_map_single(dev, p + 512, 1024, DMA_BIDIRECTIONAL);
	assert_int_equal(s, h + 512);
	dma_sync_single_for_cpu(dev, s, 1024, DMA_BIDIRECTIONAL);
	dma_sync_single_for_device(dev, s, 1024, DMA_BIDIRECTIONAL);
	dma_unmap_single(dev, s, 1024, DMA_BIDIRECTIONAL);
	assert_int_equal(udma_va_to_iova(dma_device_domain(dev), p, NULL), h); /* allocation untouched */
	dma_free_coherent(dev, K4, p, h);
	dma_device_close(dev);
}

/* PA mode: a mapping the device cannot see as one physical range fails (-ENOMEM). */
static void test_map_single_pa_discontiguous(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN (pagemap PFNs unreadable here)");
	struct device *dev = dma_device_open("pa");
	size_t n = 256 * K4;
	char *buf = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 1, n);
	log_capture_start();
	dma_addr_t h = dma_map_single(dev, buf, n, DMA_TO_DEVICE);
	log_capture_stop();
	if (dma_mapping_error(dev, h)) {
		assert_int_equal(errno, ENOMEM);
		assert_logged("cannot map");
	} else { /* contiguous by luck: then it must really be */
		assert_true(phys_contiguous(buf, n));
		assert_int_equal(h, phys_of(buf));
		dma_unmap_single(dev, h, n, DMA_TO_DEVICE);
	}
	munmap(buf, n);
	dma_device_close(dev);
}

/* Bad streaming calls: DMA_MAPPING_ERROR (dma_mapping_error says so) or a logged no-op. */
static void test_map_single_bad_input(void **state)
{
	struct device *dev = dma_device_open("iommu");
	char buf[64];

	log_capture_start();
	assert_int_equal(dma_map_single(NULL, buf, 64, DMA_TO_DEVICE), DMA_MAPPING_ERROR);
	assert_int_equal(dma_map_single(dev, buf, 64, DMA_NONE), DMA_MAPPING_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dma_map_single(dev, buf, 64, (enum dma_data_direction)7), DMA_MAPPING_ERROR);
	assert_int_equal(dma_map_single(dev, buf, 0, DMA_TO_DEVICE), DMA_MAPPING_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dma_map_single(dev, NULL, 64, DMA_TO_DEVICE), DMA_MAPPING_ERROR);
	assert_int_equal(dma_map_single(dev, (void *)4096, 64, DMA_TO_DEVICE), DMA_MAPPING_ERROR);
	assert_int_equal(errno, EFAULT);
	log_capture_stop();
	assert_logged("bad direction");
	assert_logged("bad arguments");
	assert_int_equal(dma_mapping_error(dev, DMA_MAPPING_ERROR), -ENOMEM);
	assert_int_equal(dma_mapping_error(dev, 0x1000), 0);
	assert_int_equal(dma_mapping_error(NULL, 0), 0);

	log_capture_start();
	dma_unmap_single(dev, 0x12345000, 64, DMA_TO_DEVICE);
	log_capture_stop();
	assert_logged("no such mapping");
	log_capture_start();
	dma_unmap_single(NULL, 0x12345000, 64, DMA_TO_DEVICE);
	log_capture_stop();
	assert_logged("no such mapping");

	log_capture_start();
	dma_sync_single_for_cpu(dev, 0x12345000, 64, DMA_FROM_DEVICE);
	log_capture_stop();
	assert_logged("dma_sync_single_for_cpu");
	log_capture_start();
	dma_sync_single_for_device(NULL, 0x12345000, 64, DMA_TO_DEVICE);
	log_capture_stop();
	assert_logged("dma_sync_single_for_device");

	/* a sync running past the end of a mapping is reported too */
	dma_addr_t h = dma_map_single(dev, buf, 64, DMA_TO_DEVICE);
	assert_int_equal(dma_mapping_error(dev, h), 0);
	log_capture_start();
	dma_sync_single_for_device(dev, h, 64 + K4 * 2, DMA_TO_DEVICE);
	log_capture_stop();
	assert_logged("not a mapping of this device");
	dma_unmap_single(dev, h, 64, DMA_TO_DEVICE);
	dma_device_close(dev);
}

/* ---- privilege ---------------------------------------------------------- */

/* PA mode without privilege: NULL/EPERM, never a device that hands out wrong addresses. */
static void test_pa_without_privilege(void **state)
{
	if (getuid() != 0)
		skip_because("needs root to drop privilege in a child");
	pid_t pid = fork();
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		errno = 0;
		if (dma_device_open("pa") || errno != EPERM)
			_exit(11);
		struct device *dev = dma_device_open("va");
		if (!dev)
			_exit(12);
		/* physical contiguity cannot even be checked: EPERM, not a guess */
		dma_addr_t h;
		errno = 0;
		if (dma_alloc_attrs(dev, K4, &h, GFP_KERNEL, DMA_ATTR_FORCE_CONTIGUOUS | DMA_ATTR_NO_WARN) ||
		    errno != EPERM)
			_exit(13);
		void *p = dma_alloc_coherent(dev, K4, &h, GFP_KERNEL); /* VA mode needs no privilege */
		if (!p || h != (uintptr_t)p)
			_exit(14);
		dma_device_close(dev);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_open),
		PER_MODE(test_alloc_coherent),
		PER_MODE(test_alloc_wc),
		PER_MODE(test_force_contiguous),
		PER_MODE(test_attrs_accepted),
		PER_MODE(test_alloc_single_pages),
		cmocka_unit_test(test_gfp_accepted),
		cmocka_unit_test(test_unknown_bits),
		cmocka_unit_test(test_alloc_bad_input),
		cmocka_unit_test(test_no_warn),
		PER_MODE(test_free_mismatch),
		PER_MODE(test_close_frees),
		PER_MODE(test_close_unmaps),
		PER_MODE(test_close_with_pool),
		PER_MODE(test_map_single),
		PER_MODE(test_map_single_coherent),
		cmocka_unit_test(test_map_single_pa_discontiguous),
		cmocka_unit_test(test_map_single_bad_input),
		cmocka_unit_test(test_pa_without_privilege),
	};
	return tests_run(tests, NULL, NULL);
}
