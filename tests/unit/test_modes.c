/* Address modes, checked independently of udma's own pagemap reader. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define K4 4096ul
#define M2 (2ul << 20)

/* "two mappings of the same memfd page report the same physical address" */
static void test_pa_two_mappings_same_page(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	int fd = memfd_create("t", 0);
	assert_int_equal(ftruncate(fd, K4), 0);
	char *a = mmap(NULL, K4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, K4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	a[0] = 1;
	struct udma_mem ma, mb;
	assert_int_equal(udma_mem_register(d, a, K4, &ma), 0);
	assert_int_equal(udma_mem_register(d, b, K4, &mb), 0);
	assert_int_equal(ma.iova, mb.iova);
	assert_int_equal(ma.iova, phys_of(a));
	assert_int_not_equal(ma.iova, 0);
	/* the second mapping keeps its reverse entry when the first goes */
	assert_int_equal(udma_mem_unregister(d, a, K4), 0);
	assert_ptr_equal(udma_iova_to_va(d, mb.iova, NULL), b);
	assert_int_equal(udma_mem_unregister(d, b, K4), 0);
	assert_null(udma_iova_to_va(d, mb.iova, NULL));

	/* and the first keeps it when the second, entered last, goes first:
	 * a registration, then a streaming mapping */
	assert_int_equal(udma_mem_register(d, a, K4, &ma), 0);
	assert_int_equal(udma_mem_register(d, b, K4, &mb), 0);
	assert_ptr_equal(udma_iova_to_va(d, ma.iova, NULL), b);
	assert_int_equal(udma_mem_unregister(d, b, K4), 0);
	assert_ptr_equal(udma_iova_to_va(d, ma.iova + 8, NULL), a + 8);
	uint64_t h = udma_map(d, b + 8, 64, UDMA_DIR_BIDI);
	assert_int_equal(h, ma.iova + 8);
	assert_int_equal(udma_unmap(d, h, 64), 0);
	assert_ptr_equal(udma_iova_to_va(d, ma.iova, NULL), a);
	/* a streaming mapping is what remains, the registration entered last */
	assert_int_equal(udma_mem_unregister(d, a, K4), 0);
	h = udma_map(d, b + 8, 64, UDMA_DIR_BIDI);
	assert_int_equal(udma_mem_register(d, a, K4, &ma), 0);
	assert_ptr_equal(udma_iova_to_va(d, h, NULL), a + 8);
	assert_int_equal(udma_mem_unregister(d, a, K4), 0);
	assert_ptr_equal(udma_iova_to_va(d, h, NULL), b + 8);
	assert_int_equal(udma_unmap(d, h, 64), 0);
	assert_null(udma_iova_to_va(d, ma.iova, NULL));
	munmap(a, K4);
	munmap(b, K4);
	close(fd);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* In a child forked now, which of the n pages did it inherit (bit i: p[i])?
 * A page counts when it is mapped and holds what the parent had there (its
 * first byte, which the caller makes non-zero): a runtime that maps memory
 * in the child (TSan does) may land a fresh, zeroed mapping in the hole a
 * page not inherited left. */
static unsigned mapped_in_child(char **p, int n)
{
	int fds[2];
	unsigned bits = 0;
	char want[8];

	assert_true(n <= 8);
	for (int i = 0; i < n; i++) {
		want[i] = p[i][0];
		assert_true(want[i] != 0);
	}
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			if (!msync((void *)((uintptr_t)p[i] & ~(K4 - 1)), K4, MS_ASYNC) && p[i][0] == want[i])
				bits |= 1u << i;
		_exit(write(fds[1], &bits, sizeof(bits)) == sizeof(bits) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &bits, sizeof(bits)), sizeof(bits));
	close(fds[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return bits;
}

/* PA mode and fork(): the device keeps the parent's pages. Without
 * MADV_DONTFORK the parent's first write after fork moves it to a new
 * physical page and the device writes into the child's. A child does not
 * inherit pinned memory; memory unpinned goes back to being inherited,
 * except where another mapping still needs it pinned. */
static void test_pa_fork(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	struct udma_mem a, r;
	char *reg = aligned_alloc(K4, 3 * K4), *str = aligned_alloc(K4, K4);

	memset(reg, 1, 3 * K4);
	memset(str, 2, K4);
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &a), 0);
	memset(a.va, 4, K4);
	assert_int_equal(udma_mem_register(d, reg, K4, &r), 0);
	uint64_t hs = udma_map(d, str + 8, 100, UDMA_DIR_BIDI);
	assert_int_not_equal(hs, UDMA_BAD_IOVA);
	/* a second streaming mapping of the registration's next page, twice */
	uint64_t hx = udma_map(d, reg + K4 + 64, 128, UDMA_DIR_BIDI);
	uint64_t hy = udma_map(d, reg + K4 + 512, 128, UDMA_DIR_BIDI);
	assert_int_not_equal(hx, UDMA_BAD_IOVA);
	assert_int_not_equal(hy, UDMA_BAD_IOVA);
	char *p[] = { a.va, reg, str, reg + K4, reg + 2 * K4 };

	assert_int_equal(mapped_in_child(p, 5), 1u << 4); /* only the page nothing maps */
	memset(a.va, 3, K4); /* the parent writes first: its pages must stay put */
	memset(reg, 3, K4);
	memset(str, 3, K4);
	assert_int_equal(phys_of(a.va), a.iova);
	assert_int_equal(phys_of(reg), r.iova);
	assert_int_equal(phys_of(str + 8), hs);
	assert_int_equal(phys_of(reg + K4 + 64), hx);

	/* one of two mappings of a page goes: the other keeps it pinned */
	assert_int_equal(udma_unmap(d, hx, 128), 0);
	assert_int_equal(udma_mem_unregister(d, reg, K4), 0);
	assert_int_equal(mapped_in_child(p, 5), 1u << 4 | 1u << 1);
	assert_int_equal(udma_unmap(d, hy, 128), 0);
	assert_int_equal(udma_unmap(d, hs, 100), 0);
	assert_int_equal(mapped_in_child(p, 5), 0x1eu); /* all but the allocation */
	assert_int_equal(udma_mem_free(d, a.va, K4), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	free(reg);
	free(str);
}

/* PA mode, registered memory that the caller shares (MAP_SHARED): a child
 * must inherit it, as it would without udma; only the private pages of a
 * registration are kept from children. One registration spans a private
 * page and a shared one (MAP_FIXED over the second), so the choice is made
 * mapping by mapping. */
static void test_pa_fork_shared(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	struct udma_mem r;
	char *mix = mmap(NULL, 2 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mix != MAP_FAILED);
	assert_true(mmap(mix + K4, K4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == mix + K4);
	memset(mix, 6, 2 * K4);
	char *p[] = { mix, mix + K4 };

	assert_int_equal(mapped_in_child(p, 2), 0x3u);
	assert_int_equal(udma_mem_register(d, mix, 2 * K4, &r), 0);
	assert_int_equal(mapped_in_child(p, 2), 0x2u); /* the shared page only */
	assert_int_equal(udma_mem_unregister(d, mix, 2 * K4), 0);
	assert_int_equal(mapped_in_child(p, 2), 0x3u);

	/* streaming mappings, one in each page (PA mode maps one physical range
	 * at a time): the same */
	uint64_t hp = udma_map(d, mix + 64, 128, UDMA_DIR_BIDI), hs = udma_map(d, mix + K4 + 64, 128, UDMA_DIR_BIDI);
	assert_true(hp != UDMA_BAD_IOVA && hs != UDMA_BAD_IOVA);
	assert_int_equal(mapped_in_child(p, 2), 0x2u);
	/* a registration over them comes and goes: what they pin stays as it was */
	assert_int_equal(udma_mem_register(d, mix, 2 * K4, &r), 0);
	assert_int_equal(udma_mem_unregister(d, mix, 2 * K4), 0);
	assert_int_equal(mapped_in_child(p, 2), 0x2u);
	memset(mix, 7, 2 * K4); /* the parent writes after the fork: its private page must stay put */
	assert_int_equal(phys_of(mix + 64), hp);
	assert_int_equal(phys_of(mix + K4 + 64), hs);
	assert_int_equal(udma_unmap(d, hp, 128), 0);
	assert_int_equal(udma_unmap(d, hs, 128), 0);
	assert_int_equal(mapped_in_child(p, 2), 0x3u);
	munmap(mix, 2 * K4);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* Many mappings of one page (a queue of small I/Os in one buffer): each
 * unmap leaves the page pinned for the others, until the last goes. */
static void test_pa_many_maps_one_page(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	char *page = aligned_alloc(K4, K4);
	uint64_t h[40];
	unsigned order[40];

	memset(page, 5, K4);
	for (unsigned i = 0; i < 40; i++) {
		h[i] = udma_map(d, page + i * 64, 64, UDMA_DIR_BIDI);
		assert_true(h[i] != UDMA_BAD_IOVA);
		order[i] = i;
	}
	/* a registration over the page goes while 40 mappings still need it */
	assert_int_equal(udma_mem_register(d, page, K4, NULL), 0);
	assert_int_equal(udma_mem_unregister(d, page, K4), 0);
	assert_int_equal(mapped_in_child(&page, 1), 0u);
	for (unsigned i = 39; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned i = 0; i < 39; i++)
		assert_int_equal(udma_unmap(d, h[order[i]], 64), 0);
	assert_int_equal(mapped_in_child(&page, 1), 0u);
	memset(page, 6, K4); /* after the fork: the page must stay the device's */
	assert_int_equal(phys_of(page + order[39] * 64), h[order[39]]);
	assert_int_equal(udma_unmap(d, h[order[39]], 64), 0);
	assert_int_equal(mapped_in_child(&page, 1), 1u);
	free(page);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* "a contiguous allocation really is contiguous page by page" */
static void test_pa_contiguous_page_by_page(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_CONTIG };
	struct udma_mem m;
	size_t size = udma_hugepages_free(M2, -1) > 0 ? M2 : K4;
	int err = udma_mem_alloc(d, size, &o, &m);

	assert_int_equal(err, 0);
	assert_true(m.flags & UDMA_MEM_PINNED); /* PA mode always pins */
	for (size_t off = 0; off < m.len; off += K4) {
		assert_int_equal(phys_of((char *)m.va + off), m.iova + off);
		assert_int_equal(udma_va_to_iova(d, (char *)m.va + off, NULL), m.iova + off);
	}
	size_t len = m.len;
	udma_va_to_iova(d, m.va, &len);
	assert_int_equal(len, m.len);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);

	/* Larger than any page we have, and no hugepages asked: contiguity
	 * cannot be promised, so it fails with -ENOMEM and a reason. */
	o.flags = UDMA_MEM_CONTIG;
	if (udma_hugepages_free(M2, -1) == 0) {
		log_capture_start();
		err = udma_mem_alloc(d, 64 * M2, &o, &m);
		log_capture_stop();
		if (err == 0) /* contiguous by luck: still must be true */
			for (size_t off = 0; off < m.len; off += K4)
				assert_int_equal(phys_of((char *)m.va + off), m.iova + off);
		else
			assert_logged("physically contiguous");
		if (!err)
			udma_mem_free(d, m.va, m.len);
	}
	udma_domain_destroy(d);
}

/* PA mode over 4 KiB pages: translation splits where pages are discontiguous. */
static void test_pa_discontiguous_split(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	size_t n = 256;
	char *buf = mmap(NULL, n * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, n * K4);
	assert_int_equal(udma_mem_register(d, buf, n * K4, NULL), 0);
	for (size_t off = 0; off < n * K4;) {
		size_t len = n * K4 - off;
		uint64_t pa = udma_va_to_iova(d, buf + off, &len);
		assert_int_equal(pa, phys_of(buf + off));
		/* every page inside the reported run is where the run says */
		for (size_t k = 0; k < len; k += K4)
			assert_int_equal(phys_of(buf + off + k), pa + k);
		off += len;
	}
	assert_int_equal(udma_mem_unregister(d, buf, n * K4), 0);
	munmap(buf, n * K4);
	udma_domain_destroy(d);
}

/* Three pages whose first and last frames are two apart and whose middle
 * one is elsewhere, side by side in a fresh window; NULL if none found. */
static char *pages_first_last_adjacent(char *pool, size_t n)
{
	uint64_t *pa = calloc(n, sizeof(*pa));
	size_t from[3] = { n, n, n };

	for (size_t x = 0; x < n; x++)
		pa[x] = phys_of(pool + x * K4);
	for (size_t i = 0; i < n && from[2] == n; i++)
		for (size_t x = 0; x < n; x++)
			if (pa[x] == pa[i] + 2 * K4)
				from[0] = i, from[2] = x;
	for (size_t x = 0; x < n && from[2] < n; x++) /* any other page, not the frame between */
		if (x != from[0] && x != from[2] && pa[x] != pa[from[0]] + K4) {
			from[1] = x;
			break;
		}
	free(pa);
	if (from[1] == n)
		return NULL;
	char *w = mmap(NULL, 3 * K4, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int m = 0; m < 3; m++) /* anonymous pages keep their frames when moved */
		if (mremap(pool + from[m] * K4, K4, K4, MREMAP_MAYMOVE | MREMAP_FIXED, w + m * K4) == MAP_FAILED)
			return NULL;
	return phys_of(w + 2 * K4) == phys_of(w) + 2 * K4 && phys_of(w + K4) != phys_of(w) + K4 ? w : NULL;
}

/* "contiguous" means every page follows the one before, not only the last
 * the first: such a run was once called contiguous, and a PA streaming map
 * of it returned the first page's address for all three. */
static void test_pa_first_last_adjacent_not_contiguous(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	size_t n = 2048;
	char *pool = mmap(NULL, n * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(pool != MAP_FAILED);
	memset(pool, 1, n * K4);
	char *w = pages_first_last_adjacent(pool, n);
	if (!w) {
		munmap(pool, n * K4);
		skip_because("no two frames two apart among %zu pages", n);
	}
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	struct udma_mem m;
	assert_int_equal(udma_mem_register(d, w, 3 * K4, &m), 0);
	assert_false(m.contiguous);
	assert_int_equal(udma_mem_unregister(d, w, 3 * K4), 0);
	errno = 0;
	assert_true(udma_map(d, w, 3 * K4, UDMA_DIR_BIDI) == UDMA_BAD_IOVA);
	assert_int_equal(errno, ENOMEM);
	udma_domain_destroy(d);
	munmap(w, 3 * K4);
	munmap(pool, n * K4);
}

/* "PA mode without privilege: a clear -EPERM and a message saying so" */
static void test_pa_without_privilege(void **state)
{
	if (getuid() != 0)
		skip_because("needs root to drop privilege in a child");
	pid_t pid = fork();
	if (!pid) {
		char why[160];
		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (udma_mode_probe(UDMA_ADDR_PA, why, sizeof(why)) != -EPERM)
			_exit(11);
		if (!strstr(why, "CAP_SYS_ADMIN"))
			_exit(12);
		errno = 0;
		if (test_domain(UDMA_ADDR_PA) || errno != EPERM)
			_exit(13);
		struct udma_domain *d = test_domain(UDMA_ADDR_VA);
		struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_PHYS_CONTIG };
		struct udma_mem m;
		if (udma_mem_alloc(d, K4, &o, &m) != -EPERM)
			_exit(14);
		_exit(udma_domain_destroy(d) ? 15 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* emulated IOMMU: IOVA != VA, round trip, reuse, and a VA where an IOVA is due fails loudly */
static void test_iommu_emulated(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem a, b, c;

	assert_int_equal(udma_mem_alloc(d, 3 * M2, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &b), 0);
	assert_int_not_equal(a.iova, (uintptr_t)a.va);
	assert_int_equal(a.iova % M2, 0); /* large ranges are 2 MiB aligned */
	assert_true(b.iova >= a.iova + a.len || b.iova + b.len <= a.iova);
	for (size_t off = 0; off < a.len; off += 12345)
		assert_ptr_equal(udma_iova_to_va(d, a.iova + off, NULL), (char *)a.va + off);
	size_t len = 1 << 30;
	assert_ptr_equal(udma_iova_to_va(d, a.iova, &len), a.va);
	assert_int_equal(len, a.len);

	log_capture_start();
	errno = 0;
	assert_null(udma_iova_to_va(d, (uintptr_t)a.va, NULL));
	log_capture_stop();
	assert_int_equal(errno, EFAULT);
	assert_logged("a VA passed where an IOVA is due");

	uint64_t old = b.iova;
	assert_int_equal(udma_mem_free(d, b.va, b.len), 0);
	assert_null(udma_iova_to_va(d, old, NULL)); /* gone from the IOMMU */
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &c), 0);
	assert_int_equal(c.iova, old); /* reused after free */
	assert_int_equal(udma_mem_free(d, c.va, c.len), 0);
	assert_int_equal(udma_mem_free(d, a.va, a.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* With a VFIO container the maps go to the kernel; a bad container fails cleanly. */
static void test_iommu_vfio_container(void **state)
{
	int fd = open("/dev/null", O_RDWR);
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_IOMMU, .vfio_container_fd = fd };
	struct udma_domain *d = udma_device_domain_create(&o);
	struct udma_mem m;
	char buf[100];

	assert_non_null(d);
	log_capture_start();
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &m), -ENOTTY);
	assert_logged("VFIO_IOMMU_MAP_DMA");
	assert_int_equal(udma_mem_register(d, buf, sizeof(buf), NULL), -ENOTTY);
	assert_int_equal(udma_map(d, buf, sizeof(buf), UDMA_DIR_BIDI), UDMA_BAD_IOVA);
	log_capture_stop();
	assert_int_equal(udma_domain_destroy(d), 0); /* nothing half-registered remains */
	close(fd);
	if (access("/dev/vfio/vfio", F_OK))
		printf("note: no /dev/vfio/vfio here; a real container needs a device bound to vfio-pci\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pa_two_mappings_same_page),
		cmocka_unit_test(test_pa_fork),
		cmocka_unit_test(test_pa_fork_shared),
		cmocka_unit_test(test_pa_many_maps_one_page),
		cmocka_unit_test(test_pa_contiguous_page_by_page),
		cmocka_unit_test(test_pa_discontiguous_split),
		cmocka_unit_test(test_pa_first_last_adjacent_not_contiguous),
		cmocka_unit_test(test_pa_without_privilege),
		cmocka_unit_test(test_iommu_emulated),
		cmocka_unit_test(test_iommu_vfio_container),
	};
	return tests_run(tests, NULL, NULL);
}
