/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Security: lengths and offsets that would overflow, out-of-range and
 * read-only accesses. Every one must be refused with an error, touch no
 * byte, and never wrap around. Already covered elsewhere (and referenced
 * from docs/reliability.md): read-only exports across processes
 * (unit/test_domain_mp.c), ptrace permission of process domains
 * (unit/test_domain.c), PA mode without privilege (unit/test_modes.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/backend.h>
#include "common.h"

#include <udma/pool.h>

#define K4 4096ul
#define HUGE_LEN ((SIZE_MAX >> 1) + 1) /* two of these overflow size_t */

static char canary[8192];

static void canary_set(void)
{
	memset(canary, 0x6b, sizeof(canary));
}

static void canary_check(void)
{
	for (size_t i = 0; i < sizeof(canary); i++)
		if (canary[i] != 0x6b)
			fail_msg("byte %zu of the canary changed", i);
}

/* iovec lengths that sum past SIZE_MAX: -EINVAL from every operation, nothing moved */
static void test_iov_length_overflow(void **state)
{
	struct udma_domain *shm = udma_shm_create("sec-shm", 1 << 16, 0);
	struct udma_domain *sys = udma_system_domain();
	struct iovec big[2] = { { canary, HUGE_LEN }, { canary + 1, HUGE_LEN } }, l = { canary, 100 };
	struct iovec off[2] = { { (void *)0, HUGE_LEN }, { (void *)16, HUGE_LEN } };

	canary_set();
	assert_non_null(shm);
	assert_int_equal(udma_domain_pull(shm, NULL, off, 2, &l, 1, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_push(shm, NULL, off, 2, &l, 1, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_memzero(shm, NULL, off, 2, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_memzero(sys, NULL, big, 2, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_pull(sys, NULL, big, 2, big, 2, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_transfer(shm, NULL, &l, 1, sys, NULL, big, 2, NULL, NULL, NULL), -EINVAL);
	canary_check();
	assert_int_equal(udma_domain_destroy(shm), 0);
}

/* shm offsets: offset + length never wraps; everything outside is -ERANGE */
static void test_shm_offset_overflow(void **state)
{
	size_t size;
	struct udma_domain *shm = udma_shm_create("sec-shm2", 1 << 16, 0);
	char *base = udma_shm_base(shm, &size);
	struct iovec l = { canary, 64 };
	static const uintptr_t offs[] = { (1 << 16) - 10, 1 << 16, (1 << 16) + 1, UINTPTR_MAX - 10, UINTPTR_MAX };

	memset(base, 0x11, size);
	canary_set();
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct iovec r = { (void *)offs[i], 64 };
		assert_int_equal(udma_domain_push(shm, NULL, &r, 1, &l, 1, NULL, NULL), -ERANGE);
		assert_int_equal(udma_domain_pull(shm, NULL, &r, 1, &l, 1, NULL, NULL), -ERANGE);
		assert_int_equal(udma_domain_memzero(shm, NULL, &r, 1, NULL, NULL), -ERANGE);
		struct udma_xlate_result x = { .size = sizeof(x) };
		assert_int_equal(udma_domain_translate(shm, NULL, udma_system_domain(), NULL, r.iov_base, 64, &x),
				 -ERANGE);
	}
	/* a length that would wrap from a valid offset */
	struct iovec wrap = { (void *)100, SIZE_MAX - 50 };
	assert_int_equal(udma_domain_memzero(shm, NULL, &wrap, 1, NULL, NULL), -ERANGE);
	canary_check();
	for (size_t i = 0; i < size; i++)
		if (base[i] != 0x11)
			fail_msg("segment byte %zu changed", i);
	assert_int_equal(udma_domain_destroy(shm), 0);
}

/* device addresses: near the top of the address space, nothing wraps */
static void test_device_address_overflow(void **state)
{
	for (int mode = 0; mode < 3; mode++) {
		if (mode == UDMA_ADDR_PA && !pa_available())
			continue;
		struct udma_domain *d = test_domain((enum udma_addr_mode)mode);
		struct udma_mem m;
		assert_int_equal(udma_mem_alloc(d, K4, NULL, &m), 0);
		size_t len = 8192;
		assert_null(udma_iova_to_va(d, UINT64_MAX - 10, &len));
		assert_int_equal(len, 0);
		len = SIZE_MAX;
		assert_true(udma_va_to_iova(d, m.va, &len) == m.iova);
		assert_true(len >= K4 && len < (1ull << 47)); /* clamped to what is there */
		struct iovec r = { (void *)(uintptr_t)(UINT64_MAX - 100), 4096 }, l = { canary, 4096 };
		canary_set();
		assert_int_equal(udma_domain_pull(d, NULL, &r, 1, &l, 1, NULL, NULL), -EFAULT);
		/* a range that starts in the allocation and runs off its end */
		struct iovec tail = { (void *)(uintptr_t)(m.iova + K4 - 10), 4096 };
		int rc = udma_domain_pull(d, NULL, &tail, 1, &l, 1, NULL, NULL);
		assert_true(rc == -EFAULT || rc == 0); /* 0 only if the next page happens to be ours too */
		/* registration and streaming maps that wrap */
		assert_int_equal(udma_mem_register(d, (void *)(UINTPTR_MAX - 100), 4096, NULL), -EINVAL);
		assert_int_equal(udma_mem_register(d, canary, SIZE_MAX - 10, NULL), -EINVAL);
		assert_int_equal(udma_mem_register(d, (void *)(1ull << 48), 4096, NULL), -EINVAL);
		assert_true(udma_map(d, (void *)(UINTPTR_MAX - 100), 4096, UDMA_DIR_BIDI) == UDMA_BAD_IOVA);
		assert_int_equal(errno, EINVAL);
		assert_true(udma_map(d, canary, SIZE_MAX - 10, UDMA_DIR_BIDI) == UDMA_BAD_IOVA);
		assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
		assert_int_equal(udma_domain_destroy(d), 0);
	}
	/* IOVA windows that wrap or leave 48 bits */
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_IOMMU, .vfio_container_fd = -1,
				      .iova_base = UINT64_MAX & ~4095ull, .iova_size = 1ull << 30 };
	assert_null(udma_device_domain_create(&o));
	assert_int_equal(errno, EINVAL);
	o.iova_base = 1ull << 47;
	o.iova_size = (1ull << 47) + 4096; /* ends one page past 2^48 */
	assert_null(udma_device_domain_create(&o));
	assert_int_equal(errno, EINVAL);
}

/* sizes the library must refuse before any arithmetic on them */
static void test_absurd_sizes(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem m;
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - K4 + 2, (1ull << 46) + 1, 1ull << 60 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(udma_mem_alloc(d, sizes[i], NULL, &m), -EINVAL);
		assert_null(udma_shm_create("sec-absurd", sizes[i], 0));
		assert_int_equal(errno, EINVAL);
	}
	struct udma_session_opts so = { .size = sizeof(so), .depth = UINT32_MAX };
	assert_null(udma_session_create(UDMA_FUNC_COPY, &so));
	assert_int_equal(errno, EINVAL);
	struct udma_threads_opts to = { .size = sizeof(to), .ring = 1u << 31 };
	assert_null(udma_threads_engine_create(&to));
	assert_int_equal(errno, EINVAL);
	to = (struct udma_threads_opts){ .size = sizeof(to), .workers = UINT32_MAX };
	assert_null(udma_threads_engine_create(&to));
	/* block_size x block_count far beyond what may be allocated */
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = UDMA_POOL_MAX_BLOCK_SIZE, .block_count = UINT32_MAX };
	assert_null(udma_pool_create(d, &po));
	assert_true(errno == ENOMEM || errno == EINVAL);
	po = (struct udma_pool_opts){ .size = sizeof(po), .block_size = SIZE_MAX - 10, .block_count = 2 };
	assert_null(udma_pool_create(d, &po));
	assert_int_equal(errno, EINVAL);
	po = (struct udma_pool_opts){ .size = sizeof(po), .block_size = 64, .block_count = 4, .align = (size_t)1 << 63 };
	assert_null(udma_pool_create(d, &po));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* process domains: remote lengths that overflow, and addresses that are not there */
static void test_process_bounds(void **state)
{
	struct udma_domain *p = udma_process_domain_create(getpid(), "sec-self");
	struct iovec big[2] = { { canary, HUGE_LEN }, { canary, HUGE_LEN } }, l = { canary, 64 };
	struct iovec top = { (void *)(UINTPTR_MAX - 100), 64 };

	canary_set();
	assert_int_equal(udma_domain_pull(p, NULL, big, 2, &l, 1, NULL, NULL), -EINVAL);
	assert_int_equal(udma_domain_pull(p, NULL, &top, 1, &l, 1, NULL, NULL), -EFAULT);
	assert_int_equal(udma_domain_push(p, NULL, &top, 1, &l, 1, NULL, NULL), -EFAULT);
	canary_check();
	assert_int_equal(udma_domain_destroy(p), 0);
}

/* A remote range that ends in a hole: the part before it moves, and the call
 * says -EFAULT rather than success (process_vm_readv/writev stop short). */
static void test_process_short_transfer(void **state)
{
	struct udma_domain *p = udma_process_domain_create(getpid(), "sec-short");
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static char buf[8192];

	assert_non_null(p);
	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + 4096, 4096), 0);
	struct iovec r = { m, 8192 }, l = { buf, 8192 };
	assert_int_equal(udma_domain_pull(p, NULL, &r, 1, &l, 1, NULL, NULL), -EFAULT);
	assert_int_equal(udma_domain_push(p, NULL, &r, 1, &l, 1, NULL, NULL), -EFAULT);
	assert_int_equal(munmap(m, 4096), 0);
	assert_int_equal(udma_domain_destroy(p), 0);
}

/* Mover requests: lengths that overflow, regions that wrap, out of range in a domain. */
static void test_mover_overflow(void **state)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_domain *shm = udma_shm_create("sec-mover", 1 << 16, 0);
	struct udma_req *r = udma_req_alloc(s);
	struct iovec big[2] = { { canary, HUGE_LEN }, { canary + 4096, HUGE_LEN } };
	struct iovec out = { (void *)((1 << 16) - 8), 16 };

	canary_set();
	r->flags = UDMA_REQ_WAIT;
	/* iov lengths overflow */
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { big, 2 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { big, 2 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { udma_system_domain(), NULL, big, 2 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	/* out of the segment, and an offset + length that would wrap */
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary, 16 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { shm, NULL, &out, 1 } };
	assert_int_equal(udma_submit(r), -ERANGE);
	out = (struct iovec){ (void *)(UINTPTR_MAX - 7), 16 };
	assert_int_equal(udma_submit(r), -ERANGE);
	canary_check();
	udma_req_free(r);
	udma_session_destroy(s);
	udma_domain_destroy(shm);
}

/* Run fn in a child (a crash must not take the suite down): 0 if it exited 0. */
static int in_child(int (*fn)(void), int *crashed)
{
	pid_t pid = fork();
	if (!pid) {
		signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: a crash must end the child */
		signal(SIGBUS, SIG_DFL);
		_exit(fn());
	}
	int st;
	waitpid(pid, &st, 0);
	*crashed = WIFSIGNALED(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A linear region whose end wraps past the top of the address space cannot
 * be memory: refused, not copied (the overlap test would wrap with it). */
static int submit_wrapping(void)
{
	struct udma_session_opts o = { .size = sizeof(o), .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r = udma_req_alloc(s);
	r->flags = UDMA_REQ_WAIT;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary + 4096, SIZE_MAX - 4096 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary, SIZE_MAX - 4096 } };
	int rc = udma_submit(r) == -EINVAL ? 0 : 3;
	udma_req_free(r);
	udma_session_destroy(s); /* nothing left for valgrind's leak check in the child */
	return rc;
}

/* A system-domain buffer with a NULL piece: refused as the same piece in an
 * UDMA_BUF_IOV buffer is, not handed to the engine. */
static int submit_system_null(void)
{
	struct udma_session_opts o = { .size = sizeof(o), .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, &o);
	struct udma_req *r = udma_req_alloc(s);
	struct iovec v[2] = { { canary, 16 }, { NULL, 16 } };
	r->flags = UDMA_REQ_WAIT;
	r->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { v, 2 } };
	int rc = udma_submit(r) != -EINVAL ? 4 : 0;
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { udma_system_domain(), NULL, v, 2 } };
	if (!rc && udma_submit(r) != -EINVAL)
		rc = 3;
	udma_req_free(r);
	udma_session_destroy(s);
	return rc;
}

#if defined(__x86_64__)
/* Kernel space: a request there would fault in the engine. */
#define KERNEL_VA ((void *)0xffff888000000000ull)

/* One request of func on the cpu engine whose buffer `bad` (the output, or
 * input 0) is b: refused with -EINVAL, alone and in a burst. */
static int refused_beyond_user(enum udma_func func, int bad_out, struct udma_buf b)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .engine = "cpu" };
	struct udma_session *s = udma_session_create(func, &o);
	struct udma_req *r = udma_req_alloc(s);
	int rc = 0;

	if (func == UDMA_FUNC_DUALCAST) /* two outputs of 64 */
		for (unsigned k = 0; k < 2; k++)
			r->outs[k] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary + 4096 + 64 * k, 64 } };
	else if (func != UDMA_FUNC_CRC32C)
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary + 4096, 64 } };
	for (int j = 0; j < udma_func_ninputs(func); j++)
		r->in[j] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { canary + 64 * (size_t)j, 64 } };
	if (!bad_out)
		r->in[0] = b;
	else if (func == UDMA_FUNC_DUALCAST)
		r->outs[1] = b;
	else
		r->out = b;
	if (udma_submit(r) != -EINVAL || udma_submit_burst(&r, 1) != -EINVAL)
		rc = 5;
	udma_req_free(r);
	udma_session_destroy(s);
	return rc;
}

/* Buffers that do not wrap but reach past user space, on the general path,
 * the burst path and the later functions' path, and as a sequence's step. */
static int submit_beyond_user(void)
{
	struct udma_buf huge = { .type = UDMA_BUF_LINEAR, .linear = { canary, HUGE_LEN + 1 } };
	struct udma_buf kern = { .type = UDMA_BUF_LINEAR, .linear = { KERNEL_VA, 64 } };
	int rc = refused_beyond_user(UDMA_FUNC_CRC32C, 0, huge) ?: refused_beyond_user(UDMA_FUNC_CRC32C, 0, kern) ?:
		 refused_beyond_user(UDMA_FUNC_COPY, 1, kern) ?: refused_beyond_user(UDMA_FUNC_COPY, 0, kern) ?:
		 refused_beyond_user(UDMA_FUNC_XOR2, 0, kern) ?: refused_beyond_user(UDMA_FUNC_FILL8, 1, kern) ?:
		 refused_beyond_user(UDMA_FUNC_DUALCAST, 1, kern);
	if (rc)
		return rc;
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_buf in = { .type = UDMA_BUF_LINEAR, .linear = { canary, 64 } };
	if (!q || udma_seq_append(q, &(struct udma_step){ .size = sizeof(struct udma_step), .func = UDMA_FUNC_COPY,
							   .out = kern, .in = &in, .nin = 1 }))
		return 6;
	int err = udma_seq_submit(q, NULL, NULL);
	if (!err && !udma_seq_wait(q))
		err = udma_seq_status(q);
	if (err != -EINVAL)
		rc = 7;
	udma_seq_destroy(q);
	return rc;
}
#endif

static void test_mover_bad_local_ranges(void **state)
{
	int crashed;
	/* in a child: before their fixes, each crashed the process */
	assert_int_equal(in_child(submit_wrapping, &crashed), 0);
	assert_int_equal(in_child(submit_system_null, &crashed), 0);
#if defined(__x86_64__) /* where UDMA_VA_END bounds user space (lib/core/iov.h) */
	assert_int_equal(in_child(submit_beyond_user, &crashed), 0);
#endif
}

/* A read-only import in this process: no operation, and no mapping, can write it. */
static void test_readonly_import_local(void **state)
{
	int sv[2];
	struct udma_domain *src = udma_shm_create("sec-ro", 1 << 16, 0);
	strcpy(udma_shm_base(src, NULL), "read only");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(udma_shm_export(src, sv[0], 1), 0);
	struct udma_domain *ro = udma_shm_import(sv[1], 1000);
	assert_non_null(ro);
	assert_int_equal(udma_shm_readonly(ro), 1);
	struct iovec r = { (void *)0, 16 }, l = { canary, 16 };
	canary_set();
	assert_int_equal(udma_domain_push(ro, NULL, &r, 1, &l, 1, NULL, NULL), -EACCES);
	assert_int_equal(udma_domain_memzero(ro, NULL, &r, 1, NULL, NULL), -EACCES);
	assert_int_equal(udma_domain_transfer(ro, NULL, &r, 1, udma_system_domain(), NULL, &l, 1, NULL, NULL, NULL),
			 -EACCES);
	/* as a mover's output */
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, NULL);
	struct udma_req *q = udma_req_alloc(s);
	q->flags = UDMA_REQ_WAIT;
	q->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { ro, NULL, &r, 1 } };
	assert_int_equal(udma_submit(q), -EACCES);
	udma_req_free(q);
	udma_session_destroy(s);
	/* and the mapping itself */
	size_t size;
	char *base = udma_shm_base(ro, &size);
	assert_int_not_equal(mprotect(base, size, PROT_READ | PROT_WRITE), 0);
	assert_string_equal(base, "read only");
	/* once exported read-only, the segment is never exported writable again */
	assert_int_equal(udma_shm_export(src, sv[0], 0), -EPERM);
	close(sv[0]);
	close(sv[1]);
	udma_domain_destroy(ro);
	udma_domain_destroy(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iov_length_overflow),
		cmocka_unit_test(test_shm_offset_overflow),
		cmocka_unit_test(test_device_address_overflow),
		cmocka_unit_test(test_absurd_sizes),
		cmocka_unit_test(test_process_bounds),
		cmocka_unit_test(test_process_short_transfer),
		cmocka_unit_test(test_mover_overflow),
		cmocka_unit_test(test_mover_bad_local_ranges),
		cmocka_unit_test(test_readonly_import_local),
	};
	return tests_run(tests, NULL, NULL);
}
