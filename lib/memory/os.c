/* SPDX-License-Identifier: BSD-3-Clause */
#include <fcntl.h>
#include <numa.h>
#include <pthread.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <udma/memory.h>

#include "os.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4u
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int huge_shift(size_t page_size)
{
	return page_size == OS_PAGE_1G ? 30 : 21;
}

int _udma_os_numa_max_node(void)
{
	return numa_available() < 0 ? 0 : numa_max_node();
}

int _udma_os_node_of(const void *va)
{
	int node = -1;
	if (numa_available() < 0)
		return 0;
	if (get_mempolicy(&node, NULL, 0, (void *)va, MPOL_F_NODE | MPOL_F_ADDR) < 0)
		return -1;
	return node;
}

/* Fault every page in now, so a hugepage shortage shows here, not later. */
static int populate(void *va, size_t len, size_t page_size)
{
	if (!madvise(va, len, MADV_POPULATE_WRITE))
		return 0;
	int e = errno;
	if (e != EINVAL) /* EINVAL: kernel older than 5.14, touch by hand */
		return e == EFAULT || e == ENOMEM ? -ENOMEM : -e;
	for (size_t off = 0; off < len; off += page_size)
		__atomic_fetch_or((volatile char *)va + off, 0, __ATOMIC_RELAXED);
	return 0;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int _udma_os_populate(void *va, size_t len)
{
	/* Write-populate breaks copy-on-write now, so the physical pages we
	 * report are the ones a device will see; read-only memory can only be
	 * read-populated. The kernel does the faulting: no byte is read here. */
	if (!madvise(va, len, MADV_POPULATE_WRITE) || !madvise(va, len, MADV_POPULATE_READ))
		return 0;
	return udma_fail(errno == EINVAL ? ENOTSUP : EFAULT, "cannot populate [%p, +%zu): %s", va, len,
			 strerror(errno));
}

static void dontfork(uintptr_t a, uintptr_t b)
{
	/* Refused only for VM_IO mappings (device memory), which fork never copies. */
	if (a < b && madvise((void *)a, b - a, MADV_DONTFORK) < 0)
		udma_dbg("MADV_DONTFORK [0x%lx, 0x%lx): %s", (unsigned long)a, (unsigned long)b, strerror(errno));
}

/* -2: not opened yet; -1: cannot be opened. */
static int pagemap_fd = -2;

/* An inherited fd reads the parent's page tables: a child starts afresh. */
static void pagemap_forget_in_child(void)
{
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	pagemap_fd = -2;
}

__attribute__((constructor)) static void pagemap_atfork(void)
{
	pthread_atfork(NULL, NULL, pagemap_forget_in_child);
}

static int pagemap_open(void)
{
	int fd = __atomic_load_n(&pagemap_fd, __ATOMIC_ACQUIRE);
	if (fd == -2) {
		int nfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		int expect = -2;
		if (nfd < 0)
			nfd = -1;
		if (!__atomic_compare_exchange_n(&pagemap_fd, &expect, nfd, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (nfd >= 0)
				close(nfd);
			nfd = expect;
		}
		fd = nfd;
	}
	return fd;
}

int _udma_os_pin(void *va, size_t len, int dontfork_all)
{
	if (mlock(va, len) < 0)
		return udma_fail(errno == EAGAIN || errno == EPERM ? ENOMEM : errno,
				 "mlock [%p, +%zu): %s (see RLIMIT_MEMLOCK)", va, len, strerror(errno));
	if (dontfork_all)
		dontfork((uintptr_t)va, (uintptr_t)va + len);
	return 0;
}

void _udma_os_unpin(void *va, size_t len)
{
	munlock(va, len);
	madvise(va, len, MADV_DOFORK);
}

int _udma_os_map_pages(size_t len, size_t page_size, int shared, int node, int pin, struct os_map *out)
{
	int huge = page_size > OS_PAGE_4K;
	int fd = -1, flags = MAP_ANONYMOUS | MAP_PRIVATE, err;
	void *va;

	out->why = huge ? OS_WHY_HUGEPAGES : OS_WHY_OTHER; /* hugepages fail at mmap or when faulted in */

	if (shared) {
		unsigned mfd = MFD_CLOEXEC | MFD_ALLOW_SEALING |
			       (huge ? MFD_HUGETLB | (unsigned)(huge_shift(page_size) << MAP_HUGE_SHIFT) : 0);
		fd = memfd_create("udma", mfd);
		if (fd < 0)
			return udma_fail(errno == EINVAL ? ENOMEM : errno, "memfd_create: %s", strerror(errno));
		if (ftruncate(fd, (off_t)len) < 0) {
			err = errno;
			close(fd);
			return udma_fail(err == EINVAL ? ENOMEM : err, "ftruncate %zu: %s", len, strerror(err));
		}
		/* never resized: sealed so, a peer can import it (udma_shm_import_fd) without
		 * fearing a truncation under its mapping */
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
			udma_dbg("sealing the memfd: %s (peers will refuse to import it)", strerror(errno));
		flags = MAP_SHARED;
	} else if (huge) {
		flags |= MAP_HUGETLB | (huge_shift(page_size) << MAP_HUGE_SHIFT);
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (va == MAP_FAILED) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return udma_fail(ENOMEM, "mmap %zu bytes, page %zu: %s", len, page_size, strerror(err));
	}
	if (node >= 0 && numa_available() >= 0) {
		unsigned long mask[16] = { 0 };
		mask[node / (8 * sizeof(long))] |= 1ul << (node % (8 * sizeof(long)));
		if (mbind(va, len, MPOL_BIND, mask, sizeof(mask) * 8, MPOL_MF_STRICT) < 0) {
			err = -errno;
			udma_dbg("mbind node %d: %s", node, strerror(errno));
			goto fail;
		}
	}
	/* 4 KiB pages: ask for transparent huge pages where the kernel gives
	 * them on request, so a device gets physically contiguous segments
	 * (a 1 MiB write on 4 KiB pages is 256 segments, past virtio-blk's
	 * 254, and goes out as two requests). Advice only: refused, nothing changes. */
	if (!huge && !shared && len >= (2u << 20) && madvise(va, len, MADV_HUGEPAGE))
		udma_dbg("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	err = populate(va, len, page_size);
	if (err) {
		udma_dbg("populating %zu bytes of %zu-byte pages failed: %s", len, page_size, strerror(-err));
		goto fail;
	}
	out->why = OS_WHY_OTHER;
	if (pin && (err = _udma_os_pin(va, len, !shared))) {
		udma_dbg("pinning %zu bytes: %s (see RLIMIT_MEMLOCK)", len, strerror(-err));
		out->why = err == -ENOMEM ? OS_WHY_MEMLOCK : OS_WHY_OTHER;
		goto fail;
	}
	out->va = va;
	out->len = len;
	out->page_size = page_size;
	out->fd = fd;
	out->node = _udma_os_node_of(va);
	if (node >= 0 && out->node != node) {
		err = -ENOMEM;
		udma_dbg("asked for node %d, got node %d", node, out->node);
		goto fail;
	}
	return 0;
fail:
	munmap(va, len);
	if (fd >= 0)
		close(fd);
	return err;
}

void _udma_os_unmap_pages(struct os_map *m)
{
	if (m->va)
		munmap(m->va, m->len);
	if (m->fd >= 0)
		close(m->fd);
	m->va = NULL;
	m->fd = -1;
}

int _udma_os_range_mapped(const void *va, size_t len)
{
	uintptr_t p = (uintptr_t)va & ~(OS_PAGE_4K - 1);

	/* msync(MS_ASYNC) only walks the VMAs (no write-back since Linux
	 * 2.6.19) and fails with ENOMEM where a page of the range is not
	 * mapped, faster than mincore(), which allocates a kernel page for its
	 * vector on every call. */
	return msync((void *)p, (uintptr_t)va + len - p, MS_ASYNC) == 0 || errno != ENOMEM;
}

int _udma_os_range_access(const void *va, size_t len, int write)
{
	uintptr_t at = (uintptr_t)va, end = at + len;
	unsigned long lo, hi;
	char perm[8], line[512];
	int err = -EFAULT;

	/* /proc/self/maps: the protections of every mapping, without privilege
	 * or touching the memory; its lines are in address order */
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (at < end && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 || hi <= at)
			continue;
		if (lo > at) /* a hole before this mapping */
			break;
		if (perm[0] != 'r' || (write && perm[1] != 'w')) {
			err = -EACCES;
			break;
		}
		at = hi;
	}
	fclose(f);
	return at >= end ? 0 : err;
}

#define PM_PRESENT (1ull << 63)
#define PM_FILE (1ull << 61) /* a page cache or shared-anon page: never copied on write */

/* Marking private pages here reads pagemap once for both: per page,
 * without privilege (/proc/self/maps would cost a walk of every mapping of
 * the process, and says so per mapping only). */
int _udma_os_virt_to_phys_pages(uint64_t va, size_t npages, uint64_t *pa, int mark_private)
{
	uint64_t buf[512];
	uint64_t run = va; /* start of the private pages not yet marked */
	int fd = pagemap_open();

	if (fd < 0)
		return -ENOENT;
	for (size_t i = 0; i < npages;) {
		size_t n = npages - i < 512 ? npages - i : 512;
		uint64_t v = va + i * OS_PAGE_4K;
		ssize_t got = pread(fd, buf, n * sizeof(uint64_t), (off_t)(v / OS_PAGE_4K * sizeof(uint64_t)));
		if (got != (ssize_t)(n * sizeof(uint64_t)))
			return -EFAULT;
		for (size_t k = 0; k < n; k++, i++, v += OS_PAGE_4K) {
			if (!(buf[k] & PM_PRESENT))
				return -EFAULT;
			uint64_t pfn = buf[k] & ((1ull << 55) - 1);
			if (!pfn)
				return -EPERM;
			pa[i] = pfn * OS_PAGE_4K;
			if (mark_private && (buf[k] & PM_FILE)) {
				dontfork(run, v);
				run = v + OS_PAGE_4K;
			}
		}
	}
	if (mark_private)
		dontfork(run, va + npages * OS_PAGE_4K);
	return 0;
}

int _udma_os_pa_probe(char *why, size_t whylen)
{
	static volatile char probe[8];
	uint64_t e = 0;
	int err = 0;
	/* A fresh fd: the kernel decides PFN visibility at open time, so a
	 * cached fd opened before a privilege drop would answer for the past. */
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	probe[0] = 1;
	if (fd < 0) /* EACCES: no longer dumpable after a privilege drop */
		err = errno == EACCES ? -EPERM : -errno;
	else if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)probe / OS_PAGE_4K * sizeof(e))) != sizeof(e))
		err = -EIO;
	else if (!(e & ((1ull << 55) - 1)))
		err = -EPERM; /* PFNs are zeroed without CAP_SYS_ADMIN (Linux >= 4.2) */
	if (fd >= 0)
		close(fd);
	if (why && whylen) {
		if (err == -EPERM)
			snprintf(why, whylen, "physical addresses need CAP_SYS_ADMIN (pagemap PFNs read as 0)");
		else if (err)
			snprintf(why, whylen, "cannot read /proc/self/pagemap: %s", strerror(-err));
		else
			snprintf(why, whylen, "available (pagemap PFNs readable)");
	}
	return err;
}

void _udma_os_explain_in(const char *fn, enum os_why why, size_t len, size_t page_size, int contig)
{
	if (why == OS_WHY_MEMLOCK) {
		struct rlimit rl = { 0, 0 };
		char lim[32] = "unlimited";
		getrlimit(RLIMIT_MEMLOCK, &rl);
		if (rl.rlim_cur != RLIM_INFINITY)
			snprintf(lim, sizeof(lim), "%llu KiB", (unsigned long long)rl.rlim_cur >> 10);
		udma_env_note(UDMA_ENV_MEMLOCK, fn,
			 "cannot lock %zu bytes in memory: the locked-memory limit (RLIMIT_MEMLOCK) is %s; raise it "
			 "(ulimit -l, memlock in /etc/security/limits.conf, LimitMEMLOCK= for a service)",
			 len, lim);
	} else if (why == OS_WHY_HUGEPAGES) {
		size_t kb = (page_size > OS_PAGE_4K ? page_size : OS_PAGE_2M) >> 10;
		long n = udma_hugepages_free(kb << 10, -1);
		char have[32] = "this kernel has none";
		if (n >= 0)
			snprintf(have, sizeof(have), "%ld %s free", n, n == 1 ? "is" : "are");
		udma_env_note(UDMA_ENV_HUGEPAGES, fn,
			 "%zu bytes%s need %zu kB hugepages and %s: reserve some "
			 "(sysctl vm.nr_hugepages=N, or echo N > /sys/kernel/mm/hugepages/hugepages-%zukB/nr_hugepages)",
			 len, contig ? " physically contiguous" : "", kb, have, kb);
	}
}
