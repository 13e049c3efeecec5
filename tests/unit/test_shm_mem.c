/*
 * Memory in a shared-memory domain: the segment is the arena of
 * udma_mem_alloc() and of pools, addresses are offsets in it, and a peer
 * that imports the segment finds the data at the same offsets.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <udma/pool.h>
#include "common.h"
#include "fd_pass.h"

#define SEG (64 * 4096ul)

static int wait_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Allocations land inside the segment, zeroed, page-rounded, at offsets;
 * the translations go both ways; freeing gives the space back. */
static void test_alloc_free(void **state)
{
	struct udma_domain *d = udma_shm_create("shm-mem", SEG, 0);
	struct udma_mem a, b, q;
	size_t size, len = 10 * SEG;
	(void)state;

	assert_non_null(d);
	char *base = udma_shm_base(d, &size);
	memset(base, 0xee, size); /* allocations must come back zeroed anyway */
	assert_int_equal(udma_mem_alloc(d, 5000, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(d, 4096, NULL, &b), 0);
	assert_ptr_equal(a.va, base + a.iova);
	assert_ptr_equal(b.va, base + b.iova);
	assert_int_equal(a.len, 8192);
	assert_int_equal(a.page_size, 4096);
	assert_true(a.contiguous);
	assert_true(a.flags & UDMA_MEM_SHARED);
	assert_true(b.iova >= a.iova + a.len || b.iova + b.len <= a.iova);
	assert_true(all_zero(a.va, a.len) && all_zero(b.va, b.len));
	assert_int_equal(udma_va_to_iova(d, (char *)a.va + 10, NULL), a.iova + 10);
	assert_ptr_equal(udma_iova_to_va(d, b.iova + 7, &len), (char *)b.va + 7);
	assert_int_equal(len, size - b.iova - 7); /* contiguous to the segment's end */
	assert_int_equal(udma_mem_query(d, (char *)a.va + 4097, &q), 0);
	assert_ptr_equal(q.va, a.va);
	/* the domain's own translation agrees: system VA -> segment offset */
	struct udma_xlate_result r = { .size = sizeof(r) };
	assert_int_equal(udma_domain_translate(udma_system_domain(), NULL, d, NULL, b.va, 4096, &r), 0);
	assert_int_equal((uintptr_t)r.iov.iov_base, b.iova);
	/* memory in use keeps the domain */
	assert_int_equal(udma_domain_destroy(d), -EBUSY);
	memset(a.va, 1, a.len);
	assert_int_equal(udma_mem_free(d, a.va, 5000), 0);
	assert_int_equal(udma_mem_free(d, a.va, 5000), -EINVAL); /* double free */
	/* first fit: the freed hole is reused, and zeroed again */
	assert_int_equal(udma_mem_alloc(d, 8192, NULL, &q), 0);
	assert_int_equal(q.iova, a.iova);
	assert_true(all_zero(q.va, q.len));
	assert_int_equal(udma_mem_free(d, q.va, q.len), 0);
	assert_int_equal(udma_mem_free(d, b.va, b.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* The segment runs out: ENOMEM, and the space freed is found again. */
static void test_exhaustion(void **state)
{
	struct udma_domain *d = udma_shm_create("shm-full", SEG, 0);
	struct udma_mem m[SEG / 16384], extra;
	(void)state;

	for (size_t i = 0; i < SEG / 16384; i++)
		assert_int_equal(udma_mem_alloc(d, 16384, NULL, &m[i]), 0);
	assert_int_equal(udma_mem_alloc(d, 4096, NULL, &extra), -ENOMEM);
	assert_int_equal(udma_mem_alloc(d, SEG + 1, NULL, &extra), -ENOMEM);
	assert_int_equal(udma_mem_free(d, m[3].va, m[3].len), 0);
	assert_int_equal(udma_mem_alloc(d, 16385, NULL, &extra), -ENOMEM); /* the hole is 16 KiB */
	assert_int_equal(udma_mem_alloc(d, 16384, NULL, &extra), 0);
	assert_int_equal(extra.iova, m[3].iova);
	m[3] = extra;
	for (size_t i = 0; i < SEG / 16384; i++)
		assert_int_equal(udma_mem_free(d, m[i].va, m[i].len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* A pool in a segment: its blocks are in the segment and their device
 * addresses are offsets in it. */
static void test_pool(void **state)
{
	struct udma_domain *d = udma_shm_create("shm-pool", SEG, 0);
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = 512, .block_count = 64 };
	size_t size;
	(void)state;

	char *base = udma_shm_base(d, &size);
	struct udma_pool *p = udma_pool_create(d, &po);
	assert_non_null(p);
	uint64_t off;
	char *blk = udma_pool_get_iova(p, &off);
	assert_non_null(blk);
	assert_true(blk >= base && blk + 512 <= base + size);
	assert_int_equal(off, (uint64_t)(blk - base));
	assert_int_equal(udma_pool_iova(p, blk + 100), off + 100);
	assert_int_equal(udma_domain_destroy(d), -EBUSY); /* the pool's memory is in it */
	assert_int_equal(udma_pool_put(p, blk), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* Parent allocates a pool block and writes; a forked child imports the
 * segment, finds the block by its offset, checks it and answers in it. */
static void test_two_processes(void **state)
{
	struct udma_domain *d = udma_shm_create("shm-2p", SEG, 0);
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = 4096, .block_count = 8 };
	struct udma_pool *p = udma_pool_create(d, &po);
	uint64_t off;
	int sv[2];
	(void)state;

	assert_non_null(p);
	unsigned char *blk = udma_pool_get_iova(p, &off);
	for (int i = 0; i < 4096; i++)
		blk[i] = (unsigned char)(i * 7);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		close(sv[0]);
		struct udma_domain *m = udma_shm_import(sv[1], 5000);
		uint64_t at;
		struct udma_mem no;
		if (!m || read(sv[1], &at, sizeof(at)) != sizeof(at))
			_exit(1);
		size_t len = 4096;
		unsigned char *v = udma_iova_to_va(m, at, &len);
		if (!v || len != 4096)
			_exit(2);
		for (int i = 0; i < 4096; i++)
			if (v[i] != (unsigned char)(i * 7))
				_exit(3);
		for (int i = 0; i < 4096; i++)
			v[i] = (unsigned char)~v[i];
		/* the creator allocates; an importer's table would collide with it */
		if (udma_mem_alloc(m, 4096, NULL, &no) != -EPERM)
			_exit(4);
		struct udma_pool_opts cpo = { .size = sizeof(cpo), .block_size = 512, .block_count = 4 };
		if (udma_pool_create(m, &cpo) || errno != EPERM)
			_exit(5);
		_exit(udma_domain_destroy(m) ? 6 : 0);
	}
	close(sv[1]);
	assert_int_equal(udma_shm_export(d, sv[0], 0), 0);
	assert_int_equal(write(sv[0], &off, sizeof(off)), sizeof(off));
	assert_int_equal(wait_status(pid), 0);
	for (int i = 0; i < 4096; i++)
		if (blk[i] != (unsigned char)~(i * 7))
			fail_msg("byte %d", i);
	close(sv[0]);
	assert_int_equal(udma_pool_put(p, blk), 0);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* The other way to share: one UDMA_MEM_SHARED allocation of a device domain,
 * its memfd sent by hand; the peer imports it as a segment and reaches the
 * allocation by offsets. */
static void test_import_fd_of_shared_alloc(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_SHARED };
	struct udma_mem m;
	int sv[2];
	(void)state;

	assert_int_equal(udma_mem_alloc(dev, 3 * 4096, &o, &m), 0);
	assert_true(m.fd >= 0);
	unsigned char *v = m.va;
	for (int i = 0; i < 3 * 4096; i++)
		v[i] = (unsigned char)(i * 5);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		close(sv[0]);
		int fd = recv_fd(sv[1]);
		struct udma_domain *seg = udma_shm_import_fd(fd, "peer-alloc");
		struct udma_mem no;
		size_t size = 0, len = 4096;
		if (!seg || !udma_shm_base(seg, &size) || size != 3 * 4096)
			_exit(1);
		close(fd); /* the domain has its own */
		unsigned char *p = udma_iova_to_va(seg, 4096, &len); /* offset 4096 of the allocation */
		if (!p || len != 4096)
			_exit(2);
		for (int i = 0; i < 4096; i++)
			if (p[i] != (unsigned char)((4096 + i) * 5))
				_exit(3);
		memset(p, 0x3c, 4096);
		if (udma_mem_alloc(seg, 4096, NULL, &no) != -EPERM)
			_exit(4);
		_exit(udma_domain_destroy(seg) ? 5 : 0);
	}
	close(sv[1]);
	assert_int_equal(send_fd(sv[0], m.fd), 0);
	assert_int_equal(wait_status(pid), 0);
	for (int i = 0; i < 3 * 4096; i++)
		if (v[i] != (i / 4096 == 1 ? 0x3c : (unsigned char)(i * 5)))
			fail_msg("byte %d", i);
	close(sv[0]);
	assert_int_equal(udma_mem_free(dev, m.va, m.len), 0);
	assert_int_equal(udma_domain_destroy(dev), 0);
}

/* What udma_shm_import_fd refuses: no fd, a bad id, anything but a memfd
 * sealed against shrinking (its owner could truncate it: SIGBUS). */
static void test_import_fd_bad(void **state)
{
	int p[2];
	(void)state;

	log_capture_start();
	assert_null(udma_shm_import_fd(-1, "x"));
	assert_int_equal(errno, EBADF);
	int fd = memfd_create("unsealed", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_null(udma_shm_import_fd(fd, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(udma_shm_import_fd(fd, "unsealed"));
	assert_int_equal(errno, EPROTO);
	assert_logged("not sealed against shrinking");
	close(fd);
	assert_int_equal(pipe(p), 0);
	assert_null(udma_shm_import_fd(p[0], "pipe"));
	assert_int_equal(errno, EPROTO);
	close(p[0]);
	close(p[1]);
	log_capture_stop();
}

/* Bad input: refused with EINVAL and a reason at debug level, nothing taken. */
static void test_bad_input(void **state)
{
	struct udma_domain *d = udma_shm_create("shm-bad", SEG, 0);
	struct udma_mem m;
	int x;
	(void)state;

	log_capture_start();
	assert_int_equal(udma_mem_alloc(d, 0, NULL, &m), -EINVAL);
	assert_int_equal(udma_mem_alloc(d, 4096, NULL, NULL), -EINVAL);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_PINNED };
	assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), -EINVAL);
	assert_logged("do not apply to segment shm-bad");
	o.flags = UDMA_MEM_HUGE_2M; /* a 4 KiB segment, no fallback asked */
	assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), -EINVAL);
	o.flags = UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK;
	assert_int_equal(udma_mem_alloc(d, 4096, &o, &m), 0);
	assert_int_equal(udma_mem_free(d, (char *)m.va + 4096, 4096), -EINVAL); /* not a start */
	assert_int_equal(udma_mem_free(d, m.va, 3 * 4096), -EINVAL);           /* wrong size */
	assert_int_equal(udma_mem_free(d, &x, 4096), -EINVAL);                  /* not in the segment */
	assert_int_equal(udma_mem_free(d, NULL, 4096), -EINVAL);
	assert_int_equal(udma_mem_query(d, &x, &m), -ENOENT);
	assert_int_equal(udma_va_to_iova(d, &x, NULL), UDMA_BAD_IOVA);
	assert_int_equal(errno, EFAULT);
	assert_null(udma_iova_to_va(d, SEG, NULL));
	assert_int_equal(errno, EFAULT);
	log_capture_stop();
	assert_int_equal(udma_mem_free(d, m.va, 4096), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_free),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_import_fd_of_shared_alloc),
		cmocka_unit_test(test_import_fd_bad),
	};
	return tests_run(tests, NULL, NULL);
}
