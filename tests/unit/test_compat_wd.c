/* SPDX-License-Identifier: BSD-3-Clause */
/* Seed 001: WarpDrive general memory interfaces (<wd.h>) on udma. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wd.h>
#include "common.h"

#define K4 4096ul
#define M2 (2ul << 20)

/* ---- types, exactly as documented ---------------------------------------- */

/* "WD_FLAT_BUF | General buffer type | 0", "WD_SGL_BUF | Parent and child hash linked list buffer | 1" */
_Static_assert(WD_FLAT_BUF == 0, "WD_FLAT_BUF is 0");
_Static_assert(WD_SGL_BUF == 1, "WD_SGL_BUF is 1");

/* "typedef void *(*wd_alloc)(void *usr, size_t size);" */
_Static_assert(__builtin_types_compatible_p(wd_alloc, void *(*)(void *, size_t)), "wd_alloc");
/* "typedef void (*wd_free)(void *usr, void *va);" */
_Static_assert(__builtin_types_compatible_p(wd_free, void (*)(void *, void *)), "wd_free");
/* "typedef void *(* wd_map)(void *usr, void *va, size_t sz);" */
_Static_assert(__builtin_types_compatible_p(wd_map, void *(*)(void *, void *, size_t)), "wd_map");
/* "typedef void (*wd_unmap)(void *usr, void *va, void *iova, size_t sz);" */
_Static_assert(__builtin_types_compatible_p(wd_unmap, void (*)(void *, void *, void *, size_t)), "wd_unmap");

/* "struct wd_mm_br { wd_alloc alloc; wd_free free; wd_map iova_map; wd_unmap iova_unmap; void *usr; };" */
_Static_assert(offsetof(struct wd_mm_br, alloc) == 0, "alloc first");
_Static_assert(offsetof(struct wd_mm_br, free) == 1 * sizeof(void *), "then free");
_Static_assert(offsetof(struct wd_mm_br, iova_map) == 2 * sizeof(void *), "then iova_map");
_Static_assert(offsetof(struct wd_mm_br, iova_unmap) == 3 * sizeof(void *), "then iova_unmap");
_Static_assert(offsetof(struct wd_mm_br, usr) == 4 * sizeof(void *), "then usr");
_Static_assert(sizeof(struct wd_mm_br) == 5 * sizeof(void *), "and nothing else");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct wd_mm_br *)0)->alloc), wd_alloc), "alloc type");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct wd_mm_br *)0)->free), wd_free), "free type");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct wd_mm_br *)0)->iova_map), wd_map), "map type");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct wd_mm_br *)0)->iova_unmap), wd_unmap), "unmap type");

/* "struct wd_dtb { char *data; __u32 dsize; __u32 bsize; };" */
_Static_assert(offsetof(struct wd_dtb, data) == 0, "data first");
_Static_assert(offsetof(struct wd_dtb, dsize) == sizeof(char *), "then dsize");
_Static_assert(offsetof(struct wd_dtb, bsize) == sizeof(char *) + 4, "then bsize");
_Static_assert(sizeof(((struct wd_dtb *)0)->dsize) == 4 && sizeof(((struct wd_dtb *)0)->bsize) == 4, "__u32");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct wd_dtb *)0)->data), char *), "char *data");

/* "void *wd_iova_map(struct wd_queue *q, void *va, size_t sz);" */
_Static_assert(__builtin_types_compatible_p(__typeof__(&wd_iova_map), void *(*)(struct wd_queue *, void *, size_t)),
	       "wd_iova_map prototype");
/* "void wd_iova_unmap(struct wd_queue *q, void *va, void *iova, size_t sz);" */
_Static_assert(__builtin_types_compatible_p(__typeof__(&wd_iova_unmap),
					    void (*)(struct wd_queue *, void *, void *, size_t)),
	       "wd_iova_unmap prototype");

/* ---- helpers ------------------------------------------------------------- */

struct mode_case {
	const char *dev_path;
	enum udma_addr_mode mode;
};
static const struct mode_case mode_default = { "", UDMA_ADDR_VA };
static const struct mode_case mode_va = { "va", UDMA_ADDR_VA };
static const struct mode_case mode_pa = { "pa", UDMA_ADDR_PA };
static const struct mode_case mode_iommu = { "iommu", UDMA_ADDR_IOMMU };

/* One test per mode, named after it; PA skips with its reason. */
#define PER_MODE(f)                                                              \
	{ #f "(default)", f, NULL, NULL, (void *)&mode_default },                \
	{ #f "(va)", f, NULL, NULL, (void *)&mode_va },                          \
	{ #f "(pa)", f, NULL, NULL, (void *)&mode_pa },                          \
	{ #f "(iommu)", f, NULL, NULL, (void *)&mode_iommu }

static void queue_init(struct wd_queue *q, const char *dev_path, const char *alg)
{
	memset(q, 0, sizeof(*q));
	q->capa.alg = alg;
	snprintf(q->dev_path, sizeof(q->dev_path), "%s", dev_path);
}

static const struct mode_case *request_case(void **state, struct wd_queue *q)
{
	const struct mode_case *mc = *state;
	if (mc->mode == UDMA_ADDR_PA && !pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN (pagemap PFNs unreadable here)");
	queue_init(q, mc->dev_path, "zlib");
	assert_int_equal(wd_request_queue(q), WD_SUCCESS);
	assert_non_null(wd_queue_domain(q));
	assert_int_equal(udma_domain_mode(wd_queue_domain(q)), mc->mode);
	return mc;
}

static int mapped(const void *p)
{
	unsigned char v;
	return mincore((void *)((uintptr_t)p & ~(K4 - 1)), K4, &v) == 0;
}

/* ---- queues ------------------------------------------------------------- */

/* dev_path "" is the default device; "va", "pa", "iommu" name a mode. */
static void test_request_release(void **state)
{
	struct wd_queue q;
	const struct mode_case *mc = request_case(state, &q);

	assert_non_null(q.qinfo);
	wd_release_queue(&q);
	assert_null(q.qinfo);
	assert_null(wd_queue_domain(&q));
	/* capa.alg may be NULL: it only names the queue in messages */
	queue_init(&q, mc->dev_path, NULL);
	assert_int_equal(wd_request_queue(&q), 0);
	wd_release_queue(&q);
}

static void test_request_bad(void **state)
{
	struct wd_queue q;

	log_capture_start();
	assert_int_equal(wd_request_queue(NULL), -WD_EINVAL);
	log_capture_stop();
	assert_logged("NULL queue");

	queue_init(&q, "bogus", "rsa");
	log_capture_start();
	assert_int_equal(wd_request_queue(&q), -WD_ENODEV);
	log_capture_stop();
	assert_logged("unknown device \"bogus\"");
	assert_logged("cannot open device \"bogus\" for alg \"rsa\"");
	assert_null(q.qinfo);

	queue_init(&q, "", "rsa");
	memset(q.dev_path, 'a', sizeof(q.dev_path)); /* no terminating NUL */
	log_capture_start();
	assert_int_equal(wd_request_queue(&q), -WD_EINVAL);
	log_capture_stop();
	assert_logged("not NUL-terminated");

	/* releasing what was never requested, or twice: a line, no crash */
	queue_init(&q, "", "rsa");
	log_capture_start();
	wd_release_queue(NULL);
	wd_release_queue(&q);
	log_capture_stop();
	assert_logged("was not requested");
	assert_int_equal(wd_request_queue(&q), 0);
	wd_release_queue(&q);
	log_capture_start();
	wd_release_queue(&q);
	log_capture_stop();
	assert_logged("was not requested");
	assert_null(wd_queue_domain(NULL));
}

/* ---- WD memory ---------------------------------------------------------- */

/* wd_reserve_memory: zeroed, page-aligned DMA memory in the queue's device, in every mode. */
static void test_reserve_memory(void **state)
{
	struct wd_queue q;
	const struct mode_case *mc = request_case(state, &q);
	struct udma_domain *d = wd_queue_domain(&q);
	static const size_t sizes[] = { 1, 100, K4, K4 + 1, 65536, M2 + 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = wd_reserve_memory(&q, sizes[i]);
		struct udma_mem m;
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % K4, 0);
		assert_int_equal(udma_mem_query(d, p, &m), 0);
		assert_ptr_equal(m.va, p);
		assert_true(m.len >= sizes[i]);
		assert_int_equal(m.len % m.page_size, 0);
		assert_true(all_zero(p, m.len));
		memset(p, 0x5a, m.len);
		/* every page translates, and back */
		for (size_t off = 0; off < m.len; off += K4) {
			uint64_t iova = udma_va_to_iova(d, p + off, NULL);
			assert_int_not_equal(iova, UDMA_BAD_IOVA);
			assert_ptr_equal(udma_iova_to_va(d, iova, NULL), p + off);
			if (mc->mode == UDMA_ADDR_PA)
				assert_int_equal(iova, phys_of(p + off));
			if (mc->mode == UDMA_ADDR_VA)
				assert_int_equal(iova, (uintptr_t)(p + off));
		}
	}
	wd_release_queue(&q);
}

static void test_reserve_bad(void **state)
{
	struct wd_queue q;

	queue_init(&q, "iommu", "zlib");
	log_capture_start();
	errno = 0;
	assert_null(wd_reserve_memory(NULL, K4));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(wd_reserve_memory(&q, K4)); /* not requested */
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("queue not requested");

	assert_int_equal(wd_request_queue(&q), 0);
	log_capture_start();
	errno = 0;
	assert_null(wd_reserve_memory(&q, 0));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("size 0");
	log_capture_start();
	errno = 0;
	assert_null(wd_reserve_memory(&q, (size_t)1 << 50));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(wd_reserve_memory(&q, SIZE_MAX));
	assert_int_equal(errno, EINVAL);
	log_capture_stop();
	assert_logged("zero or absurd");
	/* the queue still works */
	assert_non_null(wd_reserve_memory(&q, K4));
	wd_release_queue(&q);
}

/* wd_release_queue frees all WD memory (ASan checks nothing else leaks). */
static void test_release_frees_everything(void **state)
{
	struct wd_queue q;
	void *p[10];

	request_case(state, &q);
	for (int i = 0; i < 10; i++) {
		p[i] = wd_reserve_memory(&q, (size_t)(i + 1) * 3000);
		assert_non_null(p[i]);
	}
	wd_release_queue(&q);
	for (int i = 0; i < 10; i++)
		assert_false(mapped(p[i]));
}

/*
 * IOMMU mappings the caller never undid go with the queue: release must not
 * leave the device (and its IOVA space) behind.
 */
static void test_release_with_mappings_left(void **state)
{
	struct wd_queue q;
	const struct mode_case *mc = request_case(state, &q);
	char *heap = malloc(K4);
	char *wd = wd_reserve_memory(&q, K4);

	memset(heap, 7, K4);
	void *ih = wd_iova_map(&q, heap, K4);
	void *iw = wd_iova_map(&q, wd, K4);
	assert_non_null(iw);
	if (mc->mode != UDMA_ADDR_PA)
		assert_non_null(ih);
	log_capture_start();
	wd_release_queue(&q);
	log_capture_stop();
	assert_null(strstr(test_log_buf, "leaked"));
	assert_null(q.qinfo);
	assert_false(mapped(wd));
	assert_int_equal(heap[K4 - 1], 7); /* the caller's memory is the caller's */
	free(heap);
}

/* ---- wd_iova_map / wd_iova_unmap ---------------------------------------- */

/*
 * SVA: "This interface is not required in the SVA scenario" -- the device
 * uses virtual addresses, so the IOVA is the VA itself, for any memory, and
 * unmapping has nothing to undo.
 */
static void test_iova_map_sva(void **state)
{
	struct wd_queue q;
	request_case(state, &q);
	char *wd = wd_reserve_memory(&q, 8192);
	char *heap = malloc(100);
	char stack[32];

	assert_ptr_equal(wd_iova_map(&q, wd, 8192), wd);
	assert_ptr_equal(wd_iova_map(&q, wd + 100, 0), wd + 100);
	assert_ptr_equal(wd_iova_map(&q, heap, 100), heap);
	assert_ptr_equal(wd_iova_map(&q, stack, sizeof(stack)), stack);
	log_capture_start();
	wd_iova_unmap(&q, wd, wd, 8192);
	wd_iova_unmap(&q, heap, heap, 100);
	log_capture_stop();
	assert_int_equal(test_log_buf[0], 0);
	assert_ptr_equal(wd_iova_map(&q, wd, 8192), wd);
	free(heap);
	wd_release_queue(&q);
}

/*
 * No-IOMMU: "Only virtual and physical address conversion is performed in
 * the no-IOMMU mode." -- the IOVA of WD memory is its physical address;
 * memory that is not WD memory has none ("NULL: failure").
 * wd_iova_unmap: "No operation is performed in the no-IOMMU mode."
 */
static void test_iova_map_pa(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN (pagemap PFNs unreadable here)");
	struct wd_queue q;
	queue_init(&q, "pa", "rsa");
	assert_int_equal(wd_request_queue(&q), 0);
	size_t size = 16 * K4;
	char *wd = wd_reserve_memory(&q, size);
	char *heap = malloc(K4);
	char stack[32];

	assert_non_null(wd);
	memset(heap, 1, K4);
	for (size_t off = 0; off < size; off += K4 / 2) {
		void *iova = wd_iova_map(&q, wd + off, 64);
		assert_non_null(iova);
		assert_int_equal((uintptr_t)iova, phys_of(wd + off));
		assert_ptr_equal(udma_iova_to_va(wd_queue_domain(&q), (uintptr_t)iova, NULL), wd + off);
		/* sz 0: translation of the address alone */
		assert_ptr_equal(wd_iova_map(&q, wd + off, 0), iova);
		/* unmap does nothing: the address stays valid */
		wd_iova_unmap(&q, wd + off, iova, 64);
		assert_ptr_equal(wd_iova_map(&q, wd + off, 64), iova);
		assert_ptr_equal(udma_iova_to_va(wd_queue_domain(&q), (uintptr_t)iova, NULL), wd + off);
	}
	/* the whole range maps only if it is one physical run */
	void *all = wd_iova_map(&q, wd, size);
	int contiguous = 1;
	for (size_t off = K4; off < size; off += K4)
		contiguous &= phys_of(wd + off) == phys_of(wd) + off;
	if (contiguous) {
		assert_int_equal((uintptr_t)all, phys_of(wd));
	} else {
		assert_null(all);
		assert_int_equal(errno, EINVAL);
	}

	log_capture_start();
	errno = 0;
	assert_null(wd_iova_map(&q, heap, 64)); /* not WD memory */
	assert_int_equal(errno, EFAULT);
	assert_null(wd_iova_map(&q, stack, 0));
	log_capture_stop();
	assert_logged("is not registered");
	free(heap);
	wd_release_queue(&q);
}

/*
 * IOMMU: "Perform iova map on the user-mode memory of the start address va
 * and size sz based on the WD queue." -- WD memory already has its IOVA;
 * other memory gets one for the mapping, and wd_iova_unmap takes it away.
 */
static void test_iova_map_iommu(void **state)
{
	struct wd_queue q;
	queue_init(&q, "iommu", "sec");
	assert_int_equal(wd_request_queue(&q), 0);
	struct udma_domain *d = wd_queue_domain(&q);
	char *wd = wd_reserve_memory(&q, 8192);
	char *heap = malloc(300);

	/* WD memory: its own IOVA, not its VA */
	void *iova = wd_iova_map(&q, wd + 16, 1000);
	assert_non_null(iova);
	assert_int_equal((uintptr_t)iova, udma_va_to_iova(d, wd + 16, NULL));
	assert_ptr_not_equal(iova, wd + 16);
	wd_iova_unmap(&q, wd + 16, iova, 1000);
	assert_int_equal(udma_va_to_iova(d, wd + 16, NULL), (uintptr_t)iova); /* WD memory stays mapped */
	assert_ptr_equal(wd_iova_map(&q, wd + 16, 0), iova);

	/* other memory: a fresh IOVA, round trip, gone after unmap */
	strcpy(heap, "mapped");
	void *h1 = wd_iova_map(&q, heap, 300);
	assert_non_null(h1);
	assert_ptr_not_equal(h1, heap);
	size_t len = 300;
	assert_ptr_equal(udma_iova_to_va(d, (uintptr_t)h1, &len), heap);
	assert_int_equal(len, 300);
	void *h2 = wd_iova_map(&q, heap, 300); /* twice: two mappings */
	assert_non_null(h2);
	assert_ptr_not_equal(h2, h1);
	wd_iova_unmap(&q, heap, h1, 300);
	log_capture_start();
	assert_null(udma_iova_to_va(d, (uintptr_t)h1, NULL));
	log_capture_stop();
	assert_string_equal((char *)udma_iova_to_va(d, (uintptr_t)h2, NULL), "mapped");
	wd_iova_unmap(&q, heap, h2, 300);
	log_capture_start();
	assert_null(udma_iova_to_va(d, (uintptr_t)h2, NULL));
	/* sz 0 on memory the queue does not know: no mapping, so no IOVA */
	assert_null(wd_iova_map(&q, heap, 0));
	log_capture_stop();
	free(heap);
	wd_release_queue(&q);
}

static void test_iova_map_bad(void **state)
{
	struct wd_queue q;
	char buf[16];

	queue_init(&q, "iommu", "sec");
	log_capture_start();
	errno = 0;
	assert_null(wd_iova_map(NULL, buf, 16));
	assert_int_equal(errno, EINVAL);
	assert_null(wd_iova_map(&q, buf, 16)); /* not requested */
	log_capture_stop();
	assert_logged("queue not requested");
	log_capture_start();
	wd_iova_unmap(NULL, buf, buf, 16);
	log_capture_stop();
	assert_logged("queue not requested");

	assert_int_equal(wd_request_queue(&q), 0);
	log_capture_start();
	errno = 0;
	assert_null(wd_iova_map(&q, NULL, 16));
	assert_int_equal(errno, EINVAL);
	assert_null(wd_iova_map(&q, (void *)4096, 16)); /* unmapped page */
	assert_int_equal(errno, EFAULT);
	wd_iova_unmap(&q, buf, (void *)0x12345000, 16); /* never mapped: nothing to undo */
	log_capture_stop();
	assert_logged("NULL va");
	wd_release_queue(&q);
}

/* ---- the memory bridge --------------------------------------------------- */

/*
 * "Memory brigde from user, it is given at ctx. While SVA, this interface is
 * in no need" -- a bridge whose usr is a queue, as a driver would hold it,
 * called only through its documented members.
 */
static void *br_alloc(void *usr, size_t size) { return wd_reserve_memory(usr, size); }
static void br_free(void *usr, void *va) { (void)usr; (void)va; /* WD memory goes at release */ }
static void *br_map(void *usr, void *va, size_t sz) { return wd_iova_map(usr, va, sz); }
static void br_unmap(void *usr, void *va, void *iova, size_t sz) { wd_iova_unmap(usr, va, iova, sz); }

static void test_mm_br(void **state)
{
	struct wd_queue q;
	const struct mode_case *mc = request_case(state, &q);
	struct wd_mm_br br = { br_alloc, br_free, br_map, br_unmap, &q };
	struct wd_dtb dtb;

	dtb.data = br.alloc(br.usr, 4000);
	assert_non_null(dtb.data);
	dtb.bsize = 4000;
	dtb.dsize = (__u32)strlen(strcpy(dtb.data, "payload"));
	void *iova = br.iova_map(br.usr, dtb.data, dtb.bsize);
	assert_non_null(iova);
	assert_string_equal((char *)udma_iova_to_va(wd_queue_domain(&q), (uintptr_t)iova, NULL), "payload");
	if (mc->mode == UDMA_ADDR_VA)
		assert_ptr_equal(iova, dtb.data);
	br.iova_unmap(br.usr, dtb.data, iova, dtb.bsize);
	br.free(br.usr, dtb.data);
	wd_release_queue(&q);
}

/* ---- threads ------------------------------------------------------------ */

/* "Multiple threads need to be supported." */
struct thr_arg {
	struct wd_queue *q;
	enum udma_addr_mode mode;
	int fails;
};

/* Was heap memory mapped as the mode says it must be? */
static int heap_ok(const struct thr_arg *t, void *heap, void *ih)
{
	switch (t->mode) {
	case UDMA_ADDR_VA:
		return ih == heap;
	case UDMA_ADDR_PA: /* not WD memory: no physical address handed out */
		return ih == NULL;
	case UDMA_ADDR_IOMMU:
		return ih && udma_iova_to_va(wd_queue_domain(t->q), (uintptr_t)ih, NULL) == heap;
	}
	return 0;
}

static void *thr_main(void *a)
{
	struct thr_arg *t = a;
	struct udma_domain *d = wd_queue_domain(t->q);
	/* PA mode backs each reservation with a hugepage if free: leave some for others */
	int rounds = t->mode == UDMA_ADDR_PA ? 4 : 32;

	for (int i = 0; i < rounds; i++) {
		char *wd = wd_reserve_memory(t->q, K4);
		char *heap = malloc(256);
		if (!wd || !heap) {
			t->fails++;
			free(heap);
			continue;
		}
		wd[0] = (char)i;
		heap[0] = (char)i;
		void *iw = wd_iova_map(t->q, wd, K4);
		void *ih = wd_iova_map(t->q, heap, 256);
		if (!iw || udma_iova_to_va(d, (uintptr_t)iw, NULL) != wd || !heap_ok(t, heap, ih))
			t->fails++;
		if (iw)
			wd_iova_unmap(t->q, wd, iw, K4);
		if (ih)
			wd_iova_unmap(t->q, heap, ih, 256);
		free(heap);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct wd_queue q;
	const struct mode_case *mc = request_case(state, &q);
	pthread_t th[4];
	struct thr_arg a[4];

	for (int i = 0; i < 4; i++) {
		a[i] = (struct thr_arg){ .q = &q, .mode = mc->mode };
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].fails, 0);
	}
	wd_release_queue(&q);
}

/* ---- privilege ---------------------------------------------------------- */

/* PA mode without privilege: -EPERM, never a queue that hands out wrong addresses. */
static void test_pa_without_privilege(void **state)
{
	if (getuid() != 0)
		skip_because("needs root to drop privilege in a child");
	pid_t pid = fork();
	if (!pid) {
		struct wd_queue q;
		if (setgid(65534) || setuid(65534))
			_exit(10);
		queue_init(&q, "pa", "rsa");
		if (wd_request_queue(&q) != -EPERM || q.qinfo)
			_exit(11);
		queue_init(&q, "", "rsa"); /* SVA needs no privilege */
		if (wd_request_queue(&q) != 0)
			_exit(12);
		void *p = wd_reserve_memory(&q, K4);
		if (!p || wd_iova_map(&q, p, K4) != p)
			_exit(13);
		wd_release_queue(&q);
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
		PER_MODE(test_request_release),
		cmocka_unit_test(test_request_bad),
		PER_MODE(test_reserve_memory),
		cmocka_unit_test(test_reserve_bad),
		PER_MODE(test_release_frees_everything),
		PER_MODE(test_release_with_mappings_left),
		{ "test_iova_map_sva(default)", test_iova_map_sva, NULL, NULL, (void *)&mode_default },
		{ "test_iova_map_sva(va)", test_iova_map_sva, NULL, NULL, (void *)&mode_va },
		cmocka_unit_test(test_iova_map_pa),
		cmocka_unit_test(test_iova_map_iommu),
		cmocka_unit_test(test_iova_map_bad),
		PER_MODE(test_mm_br),
		PER_MODE(test_threads),
		cmocka_unit_test(test_pa_without_privilege),
	};
	return tests_run(tests, NULL, NULL);
}
