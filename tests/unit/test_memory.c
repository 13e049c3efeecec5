/* Native memory API: allocation attributes, free checks, registration, translation. */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define K4 4096ul
#define M2 (2ul << 20)

static const enum udma_addr_mode modes[] = { UDMA_ADDR_VA, UDMA_ADDR_PA, UDMA_ADDR_IOMMU };

/* KernelPageSize of the mapping holding va, from /proc/self/smaps, in bytes. */
static size_t kernel_page_size(const void *va)
{
	char line[256];
	unsigned long lo, hi, kb = 0;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)va >= lo && (uintptr_t)va < hi;
		else if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb * 1024;
}


static long vm_locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* "memory zeroed, page aligned, size rounded to pages" in every mode */
static void test_alloc_basics_every_mode(void **state)
{
	for (size_t i = 0; i < 3; i++) {
		if (modes[i] == UDMA_ADDR_PA && !pa_available())
			continue;
		struct udma_domain *d = test_domain(modes[i]);
		struct udma_mem m;
		assert_non_null(d);
		assert_int_equal(udma_mem_alloc(d, 5000, NULL, &m), 0);
		assert_int_equal((uintptr_t)m.va % K4, 0);
		/* PA mode backs with 2 MiB pages where free, so pages stay put */
		size_t ps = modes[i] == UDMA_ADDR_PA ? m.page_size : K4;
		assert_true(ps == K4 || ps == M2);
		assert_int_equal(m.page_size, ps);
		assert_int_equal(m.len, (5000 + ps - 1) / ps * ps);
		assert_int_equal(m.fd, -1);
		assert_true(all_zero(m.va, m.len));
		memset(m.va, 0xa5, m.len); /* writable */
		size_t len = 10;
		assert_int_equal(udma_va_to_iova(d, (char *)m.va + 100, &len), m.iova + 100);
		assert_ptr_equal(udma_iova_to_va(d, m.iova + 100, NULL), (char *)m.va + 100);
		if (modes[i] == UDMA_ADDR_VA)
			assert_int_equal(m.iova, (uintptr_t)m.va);
		if (modes[i] == UDMA_ADDR_IOMMU)
			assert_int_not_equal(m.iova, (uintptr_t)m.va);
		assert_int_equal(udma_domain_destroy(d), -EBUSY); /* memory still in it */
		assert_int_equal(udma_mem_free(d, m.va, 5000), 0);  /* size asked is accepted */
		assert_int_equal(udma_domain_destroy(d), 0);
	}
}

static void test_contig_attribute(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_CONTIG };
	struct udma_mem m;

	assert_int_equal(udma_mem_alloc(d, 8 * M2, &o, &m), 0);
	size_t len = m.len;
	udma_va_to_iova(d, m.va, &len);
	assert_int_equal(len, m.len); /* one device-address range */
	assert_true(m.contiguous);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	udma_domain_destroy(d);
}

static void test_hugepages_2m_and_fallback(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_HUGE_2M };
	struct udma_mem m;
	long free2m = udma_hugepages_free(M2, -1);

	if (free2m >= 2) {
		assert_int_equal(udma_mem_alloc(d, M2 + 1, &o, &m), 0);
		assert_int_equal(m.page_size, M2);
		assert_int_equal(m.len, 2 * M2);
		assert_true(m.flags & UDMA_MEM_HUGE_2M);
		assert_int_equal((uintptr_t)m.va % M2, 0);
		assert_true(all_zero(m.va, m.len));
		assert_int_equal(kernel_page_size(m.va), M2); /* the kernel agrees */
		assert_int_equal(udma_mem_free(d, m.va, M2 + 1), 0);
	} else {
		printf("note: no free 2 MiB hugepages; checking the refusal only\n");
		assert_int_equal(udma_mem_alloc(d, M2, &o, &m), -ENOMEM);
	}
	/* 1 GiB pages: none are reserved by the tests, so the explicit fallback policy shows */
	if (udma_hugepages_free(1ul << 30, -1) <= 0) {
		o.flags = UDMA_MEM_HUGE_1G;
		log_capture_start();
		assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), -ENOMEM);
		log_capture_stop();
		assert_logged("hugepages");
		o.flags = UDMA_MEM_HUGE_1G | UDMA_MEM_HUGE_FALLBACK;
		assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), 0);
		assert_true(m.page_size == M2 || m.page_size == K4);
		assert_false(m.flags & UDMA_MEM_HUGE_1G);
		assert_int_equal(udma_mem_free(d, m.va, 4096), 0);
	}
	udma_domain_destroy(d);
}

/* The VmFlags line of the mapping that holds va, in /proc/self/smaps. */
static int vm_flags_of(const void *va, char *flags, size_t cap)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, found = -1;

	while (f && found < 0 && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
			in = (uintptr_t)va >= lo && (uintptr_t)va < hi;
		else if (in && !strncmp(line, "VmFlags:", 8))
			found = snprintf(flags, cap, "%s", line + 8) > 0;
	}
	if (f)
		fclose(f);
	return found > 0 ? 0 : -1;
}

/* 4 KiB-page memory of 2 MiB or more asks for transparent huge pages, so a
 * device gets long physically contiguous segments (docs/memory.md). */
static void test_thp_advised(void **state)
{
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK))
		skip(); /* a kernel without THP: the advice is refused, nothing to see */
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem m, small;
	char flags[256];

	assert_int_equal(udma_mem_alloc(d, 4 * M2, NULL, &m), 0);
	assert_int_equal(m.page_size, K4);
	assert_int_equal(vm_flags_of(m.va, flags, sizeof(flags)), 0);
	assert_non_null(strstr(flags, " hg"));
	assert_true(all_zero(m.va, m.len));
	assert_int_equal(udma_mem_alloc(d, 64 * K4, NULL, &small), 0); /* below 2 MiB: left alone */
	assert_int_equal(vm_flags_of(small.va, flags, sizeof(flags)), 0);
	assert_null(strstr(flags, " hg"));
	assert_int_equal(udma_mem_free(d, small.va, 64 * K4), 0);
	assert_int_equal(udma_mem_free(d, m.va, 4 * M2), 0);
	udma_domain_destroy(d);
}

static void test_hugepages_1g(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_HUGE_1G };
	struct udma_mem m;

	if (udma_hugepages_free(1ul << 30, -1) < 1) {
		udma_domain_destroy(d);
		skip_because("no free 1 GiB hugepages (echo 1 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages)");
	}
	assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), 0);
	assert_int_equal(m.page_size, 1ul << 30);
	assert_int_equal(m.len, 1ul << 30);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	udma_domain_destroy(d);
}

/* shared (memfd; exportable fd): another process sees the same bytes */
static void test_shared_fd(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_SHARED };
	struct udma_mem m;

	assert_int_equal(udma_mem_alloc(d, 3 * K4, &o, &m), 0);
	assert_true(m.fd >= 0);
	assert_true(m.flags & UDMA_MEM_SHARED);
	/* a second mapping of the exported fd aliases the allocation */
	char *alias = mmap(NULL, m.len, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	assert_true(alias != MAP_FAILED);
	pid_t pid = fork();
	if (!pid) { /* child writes through the fd */
		char *c = mmap(NULL, m.len, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
		if (c == MAP_FAILED)
			_exit(1);
		strcpy(c + K4, "from the child");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal((char *)m.va + K4, "from the child");
	assert_string_equal(alias + K4, "from the child");
	munmap(alias, m.len);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	udma_domain_destroy(d);
}

static void test_numa_and_pinned(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_NUMA, .numa_node = 0 };
	struct udma_mem m;

	assert_int_equal(udma_mem_alloc(d, 64 * K4, &o, &m), 0);
	assert_int_equal(m.numa_node, 0);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	o.numa_node = 4096;
	assert_int_equal(udma_mem_alloc(d, K4, &o, &m), -EINVAL);
	o.numa_node = -3;
	assert_int_equal(udma_mem_alloc(d, K4, &o, &m), -EINVAL);

	long before = vm_locked_kb();
	o.flags = UDMA_MEM_PINNED;
	assert_int_equal(udma_mem_alloc(d, 256 * K4, &o, &m), 0);
	assert_true(m.flags & UDMA_MEM_PINNED);
#ifndef NO_MLOCK
	assert_true(vm_locked_kb() >= before + 1024);
#endif
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	assert_int_equal(vm_locked_kb(), before);
	udma_domain_destroy(d);
}

static void test_bad_alloc_input(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem_opts o = { .size = sizeof(o) };
	struct udma_mem m;

	log_capture_start();
	assert_int_equal(udma_mem_alloc(d, 0, NULL, &m), -EINVAL);
	assert_logged("zero or absurd");
	assert_int_equal(udma_mem_alloc(d, SIZE_MAX, NULL, &m), -EINVAL);
	assert_int_equal(udma_mem_alloc(d, 1ull << 50, NULL, &m), -EINVAL);
	assert_int_equal(udma_mem_alloc(NULL, K4, NULL, &m), -EINVAL);
	assert_int_equal(udma_mem_alloc(d, K4, NULL, NULL), -EINVAL);
	o.flags = 1u << 20;
	assert_int_equal(udma_mem_alloc(d, K4, &o, &m), -EINVAL);
	assert_logged("unknown flag bits");
	o.flags = UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G;
	assert_int_equal(udma_mem_alloc(d, K4, &o, &m), -EINVAL);
	o.size = 2; /* older than any version of the struct */
	assert_int_equal(udma_mem_alloc(d, K4, &o, &m), -EINVAL);
	log_capture_stop();
	assert_int_equal(udma_domain_destroy(d), 0); /* nothing leaked into it */
	assert_int_equal(udma_domain_destroy(NULL), -EINVAL);
}

/* "operations on a destroyed domain fail with -ENODEV": allocation says so
 * before it maps anything, whatever the machine has free. HUGE_1G (no 1 GiB
 * pages free, as good as always) and a PA CONTIG run once answered -ENOMEM. */
static void test_alloc_in_destroyed_domain(void **state)
{
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_HUGE_1G };
	struct udma_mem m;

	for (size_t i = 0; i < 3; i++) {
		if (modes[i] == UDMA_ADDR_PA && !pa_available())
			continue;
		struct udma_domain *d = test_domain(modes[i]);
		assert_non_null(d);
		assert_ptr_equal(udma_domain_get(d), d); /* keeps it valid after destroy */
		assert_int_equal(udma_domain_destroy(d), 0);
		o.flags = UDMA_MEM_HUGE_1G;
		assert_int_equal(udma_mem_alloc(d, M2, &o, &m), -ENODEV);
		o.flags = UDMA_MEM_CONTIG;
		assert_int_equal(udma_mem_alloc(d, 16 * K4, &o, &m), -ENODEV);
		assert_int_equal(udma_mem_alloc(d, K4, NULL, &m), -ENODEV);
		udma_domain_put(d);
	}
}

/* "Free checks that the pointer and size are ours." */
static void test_free_checks(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_domain *other = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem m;
	char stack_buf[64];

	assert_int_equal(udma_mem_alloc(d, 4 * K4, NULL, &m), 0);
	log_capture_start();
	assert_int_equal(udma_mem_free(d, stack_buf, 64), -EINVAL);      /* foreign */
	assert_logged("not an allocation");
	assert_int_equal(udma_mem_free(d, (char *)m.va + K4, 3 * K4), -EINVAL); /* interior */
	assert_int_equal(udma_mem_free(d, m.va, 3 * K4), -EINVAL);       /* wrong size */
	assert_logged("does not match");
	assert_int_equal(udma_mem_free(other, m.va, m.len), -EINVAL);    /* another domain's */
	assert_int_equal(udma_mem_free(d, NULL, K4), -EINVAL);
	log_capture_stop();
	/* after all that, the allocation is intact and translatable */
	memset(m.va, 1, m.len);
	assert_int_equal(udma_va_to_iova(d, m.va, NULL), m.iova);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	assert_int_equal(udma_mem_free(d, m.va, m.len), -EINVAL);        /* double free */
	udma_domain_destroy(d);
	udma_domain_destroy(other);
}

static void test_register_rules(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	char *buf = mmap(NULL, 16 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct udma_mem m;

	/* any VA range: not page aligned */
	assert_int_equal(udma_mem_register(d, buf + 100, 5000, &m), 0);
	assert_ptr_equal(m.va, buf + 100);
	assert_int_equal(m.len, 5000);
	assert_int_equal(udma_va_to_iova(d, buf + 100, NULL), m.iova);
	assert_ptr_equal(udma_iova_to_va(d, m.iova, NULL), buf + 100);
	/* "overlapping registration → -EBUSY" */
	assert_int_equal(udma_mem_register(d, buf + K4, K4, NULL), -EBUSY);
	assert_int_equal(udma_mem_register(d, buf, 200, NULL), -EBUSY); /* same page */
	/* "partial unregister → -ERANGE" */
	assert_int_equal(udma_mem_unregister(d, buf + 100, 4000), -ERANGE);
	assert_int_equal(udma_mem_unregister(d, buf + 100, 6000), -ERANGE);
	assert_int_equal(udma_mem_unregister(d, buf + 8 * K4, K4), -ENOENT);
	assert_int_equal(udma_mem_query(d, buf + 4000, &m), 0);
	assert_int_equal(udma_mem_unregister(d, buf + 100, 5000), 0);
	/* translating unregistered memory */
	errno = 0;
	assert_int_equal(udma_va_to_iova(d, buf + 100, NULL), UDMA_BAD_IOVA);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(udma_mem_query(d, buf, &m), -ENOENT);
	/* unmapped memory cannot be registered */
	munmap(buf + 8 * K4, K4);
	assert_int_equal(udma_mem_register(d, buf + 7 * K4, 2 * K4, NULL), -EFAULT);
	assert_int_equal(udma_mem_register(d, NULL, K4, NULL), -EINVAL);
	assert_int_equal(udma_mem_register(d, buf, 0, NULL), -EINVAL);
	assert_int_equal(udma_mem_register(d, (void *)(UINTPTR_MAX - 10), 100, NULL), -EINVAL);
	/* an allocation is not unregistered, it is freed */
	struct udma_mem a;
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &a), 0);
	assert_int_equal(udma_mem_unregister(d, a.va, a.len), -EINVAL);
	assert_int_equal(udma_mem_register(d, a.va, 10, NULL), -EBUSY);
	assert_int_equal(udma_mem_free(d, a.va, a.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	munmap(buf, 16 * K4);
}

/* Registration in each mode keeps the contents and gives consistent addresses. */
static void test_register_every_mode(void **state)
{
	for (size_t i = 0; i < 3; i++) {
		if (modes[i] == UDMA_ADDR_PA && !pa_available())
			continue;
		struct udma_domain *d = test_domain(modes[i]);
		char *buf = malloc(100000);
		struct udma_mem m;
		memset(buf, 7, 100000);
		assert_int_equal(udma_mem_register(d, buf, 100000, &m), 0);
		for (size_t off = 0; off < 100000; off += 999) {
			uint64_t io = udma_va_to_iova(d, buf + off, NULL);
			assert_int_not_equal(io, UDMA_BAD_IOVA);
			char *back = udma_iova_to_va(d, io, NULL);
			assert_ptr_equal(back, buf + off);
			assert_int_equal(*back, 7);
		}
		assert_int_equal(udma_mem_unregister(d, buf, 100000), 0);
		assert_int_equal(udma_domain_destroy(d), 0);
		free(buf);
	}
}

static void test_domain_opts(void **state)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = 7 };
	char longname[100];

	assert_null(udma_device_domain_create(&o));
	assert_int_equal(errno, EINVAL);
	o.mode = UDMA_ADDR_VA;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[99] = 0;
	o.name = longname;
	assert_null(udma_device_domain_create(&o));
	o.name = "mine";
	o.vfio_container_fd = 3; /* VFIO makes no sense in VA mode */
	assert_null(udma_device_domain_create(&o));
	o.mode = UDMA_ADDR_IOMMU;
	o.vfio_container_fd = -1;
	o.iova_base = 0x1001; /* unaligned window */
	o.iova_size = 1 << 20;
	assert_null(udma_device_domain_create(&o));
	o.iova_base = 1ull << 47;
	o.iova_size = (1ull << 47) + 4096; /* ends beyond 48 bits */
	assert_null(udma_device_domain_create(&o));
	o.iova_base = 1 << 20;
	o.iova_size = 1 << 20;
	struct udma_domain *d = udma_device_domain_create(&o);
	assert_non_null(d);
	assert_string_equal(udma_domain_id(d), "mine");
	assert_int_equal(udma_domain_mode(d), UDMA_ADDR_IOMMU);
	struct udma_mem m;
	assert_int_equal(udma_mem_alloc(d, 2 << 20, NULL, &m), -ENOSPC); /* window is 1 MiB */
	assert_int_equal(udma_mem_alloc(d, 1 << 20, NULL, &m), 0);
	assert_int_equal(m.iova, 1 << 20);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	assert_null(udma_mode_name(9));
	assert_string_equal(udma_mode_name(UDMA_ADDR_PA), "pa");
	assert_int_equal(udma_mode_probe(9, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_basics_every_mode),
		cmocka_unit_test(test_contig_attribute),
		cmocka_unit_test(test_hugepages_2m_and_fallback),
		cmocka_unit_test(test_hugepages_1g),
		cmocka_unit_test(test_thp_advised),
		cmocka_unit_test(test_shared_fd),
		cmocka_unit_test(test_numa_and_pinned),
		cmocka_unit_test(test_bad_alloc_input),
		cmocka_unit_test(test_free_checks),
		cmocka_unit_test(test_alloc_in_destroyed_domain),
		cmocka_unit_test(test_register_rules),
		cmocka_unit_test(test_register_every_mode),
		cmocka_unit_test(test_domain_opts),
	};
	return tests_run(tests, NULL, NULL);
}
