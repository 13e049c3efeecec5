/* Domains: registry, system/device/shm/process kinds, run-time checks. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static int ncb, last_rc;
static void count_cb(void *arg, int rc)
{
	ncb++;
	last_rc = rc;
	if (arg)
		*(int *)arg += 1;
}

static void test_system_domain(void **state)
{
	struct udma_domain *s = udma_system_domain();
	assert_non_null(s);
	assert_string_equal(udma_domain_id(s), "system");
	assert_int_equal(udma_domain_kind(s), UDMA_KIND_SYSTEM);
	assert_int_equal(udma_domain_dev_type(s), UDMA_DEV_DMA);
	/* comes first in iteration */
	struct udma_domain *f = udma_domain_first(NULL);
	assert_ptr_equal(f, s);
	udma_domain_put(f);
	assert_int_equal(udma_domain_destroy(s), -EPERM);
	assert_int_equal(udma_domain_set_pull(s, NULL), -EPERM);
	assert_ptr_equal(udma_domain_first("system"), s);
}

/* "really works: pull, push, memzero and transfer with local iovecs are memcpy/memset" */
static void test_system_ops(void **state)
{
	struct udma_domain *s = udma_system_domain();
	char a[100], b[60], c[200];
	int hits = 0;
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct iovec src[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec dst[1] = { { c, sizeof(c) } };

	ncb = 0;
	assert_int_equal(udma_domain_pull(s, NULL, src, 2, dst, 1, count_cb, &hits), 0);
	assert_int_equal(hits, 1); /* completed, once, before returning */
	assert_int_equal(last_rc, 0);
	assert_int_equal(c[0], 'a');
	assert_int_equal(c[99], 'a');
	assert_int_equal(c[100], 'b');
	assert_int_equal(c[159], 'b');
	memset(c, 'c', sizeof(c));
	struct iovec c160 = { c, 160 };
	assert_int_equal(udma_domain_push(s, NULL, src, 2, &c160, 1, count_cb, &hits), 0);
	assert_int_equal(a[0], 'c');
	assert_int_equal(b[59], 'c');
	assert_int_equal(udma_domain_memzero(s, NULL, dst, 1, count_cb, &hits), 0);
	assert_int_equal(c[199], 0);
	memset(a, 'x', sizeof(a));
	struct iovec one = { a, 50 };
	assert_int_equal(udma_domain_transfer(s, NULL, dst, 1, s, NULL, &one, 1, NULL, count_cb, &hits), 0);
	assert_int_equal(c[49], 'x');
	assert_int_equal(c[50], 0);
	assert_int_equal(hits, 4);
}

/* Bad input: NULL and zero-length iovecs, overflowing lengths, short destinations. */
static void test_bad_iovecs(void **state)
{
	struct udma_domain *s = udma_system_domain();
	char buf[16];
	struct iovec ok = { buf, 16 }, big[2] = { { buf, SIZE_MAX }, { buf, 2 } }, small = { buf, 8 };
	int hits = 0;

	log_capture_start();
	assert_int_equal(udma_domain_pull(s, NULL, NULL, 1, &ok, 1, count_cb, &hits), -EINVAL);
	assert_int_equal(udma_domain_pull(s, NULL, &ok, 0, &ok, 1, count_cb, &hits), -EINVAL);
	assert_int_equal(udma_domain_pull(s, NULL, big, 2, &ok, 1, count_cb, &hits), -EINVAL);
	assert_logged("overflow");
	assert_int_equal(udma_domain_pull(s, NULL, &ok, 1, &small, 1, count_cb, &hits), -EINVAL);
	assert_int_equal(udma_domain_push(NULL, NULL, &ok, 1, &ok, 1, count_cb, &hits), -EINVAL);
	assert_int_equal(udma_domain_memzero(s, NULL, NULL, 0, count_cb, &hits), -EINVAL);
	struct iovec nul = { NULL, 4 };
	assert_int_equal(udma_domain_memzero(s, NULL, &nul, 1, count_cb, &hits), -EFAULT);
	struct udma_xlate_result r = { .size = sizeof(r) };
	assert_int_equal(udma_domain_translate(s, NULL, s, NULL, buf, 0, &r), -EINVAL);
	assert_int_equal(udma_domain_translate(s, NULL, NULL, NULL, buf, 4, &r), -EINVAL);
	r.size = 4;
	assert_int_equal(udma_domain_translate(s, NULL, s, NULL, buf, 4, &r), -EINVAL);
	log_capture_stop();
	assert_int_equal(hits, 0); /* no completion for a failed call */
}

static void test_translate_system_device(void **state)
{
	struct udma_domain *s = udma_system_domain();
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	char *buf = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct udma_xlate_result r = { .size = sizeof(r) };

	/* two registrations: their IOVAs are not adjacent, so a span splits */
	assert_int_equal(udma_mem_register(d, buf, 4 * 4096, NULL), 0);
	assert_int_equal(udma_mem_register(d, buf + 4 * 4096 + 4096, 3 * 4096, NULL), 0);
	assert_int_equal(udma_domain_translate(s, NULL, d, NULL, buf + 100, 4 * 4096 - 100, &r), 0);
	assert_ptr_equal(r.dst_domain, d);
	assert_int_equal(r.iov_count, 1);
	assert_int_equal((uintptr_t)r.iov.iov_base, udma_va_to_iova(d, buf + 100, NULL));
	assert_int_equal(r.iov.iov_len, 4 * 4096 - 100);
	/* crossing into unregistered memory fails */
	assert_int_equal(udma_domain_translate(s, NULL, d, NULL, buf + 3 * 4096, 8192, &r), -EFAULT);
	assert_int_equal(udma_mem_unregister(d, buf + 5 * 4096, 3 * 4096), 0);
	struct udma_mem blocker; /* takes the IOVAs right after the first registration */
	assert_int_equal(udma_mem_alloc(d, 4096, NULL, &blocker), 0);
	assert_int_equal(udma_mem_register(d, buf + 4 * 4096, 4 * 4096, NULL), 0);
	assert_int_equal(udma_domain_translate(s, NULL, d, NULL, buf + 2 * 4096, 4 * 4096, &r), 0);
	assert_int_equal(r.iov_count, 2); /* split where device addresses are discontiguous */
	assert_int_equal(r.iovs[0].iov_len + r.iovs[1].iov_len, 4 * 4096);
	assert_int_equal((uintptr_t)r.iovs[1].iov_base, udma_va_to_iova(d, buf + 4 * 4096, NULL));
	/* back: device -> system gives the VAs */
	struct udma_xlate_result b = { .size = sizeof(b) };
	assert_int_equal(udma_domain_translate(d, NULL, s, NULL, r.iovs[1].iov_base, 100, &b), 0);
	assert_ptr_equal(b.iov.iov_base, buf + 4 * 4096);
	/* pull through device addresses */
	strcpy(buf + 4 * 4096, "via the device");
	char out[32];
	struct iovec dsrc = r.iovs[1], dout = { out, 15 };
	dsrc.iov_len = 15;
	assert_int_equal(udma_domain_pull(d, NULL, &dsrc, 1, &dout, 1, NULL, NULL), 0);
	assert_string_equal(out, "via the device");
	udma_domain_invalidate(d, NULL, &dsrc, 1); /* optional, harmless */
	assert_int_equal(udma_mem_unregister(d, buf, 4 * 4096), 0);
	assert_int_equal(udma_mem_unregister(d, buf + 4 * 4096, 4 * 4096), 0);
	assert_int_equal(udma_mem_free(d, blocker.va, blocker.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	munmap(buf, 8 * 4096);
}

/* Custom domains: copied context, unset ops, async completion, lifetime. */
struct later {
	udma_done_fn cb;
	void *arg;
	int fired;
};
static struct later pending;
static int async_pull(struct udma_domain *src, void *ctx, struct iovec *si, uint32_t sc, struct iovec *di,
		      uint32_t dc, udma_done_fn cb, void *arg)
{
	pending = (struct later){ cb, arg, 0 };
	return 0; /* completes later */
}
static int failing_push(struct udma_domain *d, void *ctx, struct iovec *di, uint32_t dc, struct iovec *si,
			uint32_t sc, udma_done_fn cb, void *arg)
{
	return -EIO; /* and never calls cb */
}

static void test_custom_domain(void **state)
{
	struct udma_domain *d;
	int user = 42, hits = 0;
	struct udma_domain_ctx ctx = { .size = sizeof(ctx), .user_ctx = &user, .user_ctx_size = sizeof(user) };
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = UDMA_DEV_RDMA, .id = "custom-a", .ctx = &ctx };
	char buf[8];
	struct iovec v = { buf, 8 };

	assert_int_equal(udma_domain_create(&d, &o), 0);
	user = 7; /* the context was copied */
	size_t sz = 0;
	int *copy = udma_domain_user_ctx(d, &sz);
	assert_int_equal(sz, sizeof(int));
	assert_int_equal(*copy, 42);
	assert_ptr_not_equal(copy, &user);
	assert_int_equal(udma_domain_ctx(d)->user_ctx_size, sizeof(int));
	assert_int_equal(udma_domain_kind(d), UDMA_KIND_CUSTOM);
	assert_int_equal(udma_domain_dev_type(d), UDMA_DEV_RDMA);
	/* unset callbacks: -ENOTSUP, invalidate does nothing */
	struct udma_xlate_result r = { .size = sizeof(r) };
	assert_int_equal(udma_domain_pull(d, NULL, &v, 1, &v, 1, count_cb, &hits), -ENOTSUP);
	assert_int_equal(udma_domain_push(d, NULL, &v, 1, &v, 1, count_cb, &hits), -ENOTSUP);
	assert_int_equal(udma_domain_memzero(d, NULL, &v, 1, count_cb, &hits), -ENOTSUP);
	assert_int_equal(udma_domain_translate(d, NULL, udma_system_domain(), NULL, buf, 8, &r), -ENOTSUP);
	assert_int_equal(udma_domain_transfer(d, NULL, &v, 1, d, NULL, &v, 1, NULL, count_cb, &hits), -ENOTSUP);
	udma_domain_invalidate(d, NULL, &v, 1);
	/* "must call cpl_cb only when it returns 0" */
	assert_int_equal(udma_domain_set_push(d, failing_push), 0);
	assert_int_equal(udma_domain_push(d, NULL, &v, 1, &v, 1, count_cb, &hits), -EIO);
	assert_int_equal(hits, 0);
	/* asynchronous completion, with the domain destroyed while the op is in flight */
	assert_int_equal(udma_domain_set_pull(d, async_pull), 0);
	assert_int_equal(udma_domain_pull(d, NULL, &v, 1, &v, 1, count_cb, &hits), 0);
	assert_int_equal(hits, 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	assert_null(udma_domain_first("custom-a")); /* a destroyed domain is never returned */
	assert_int_equal(udma_domain_pull(d, NULL, &v, 1, &v, 1, count_cb, &hits), -ENODEV);
	pending.cb(pending.arg, 0); /* the late completion still reaches the caller; then d is freed */
	assert_int_equal(hits, 1);
}

static void test_create_bad_input(void **state)
{
	struct udma_domain *d;
	char longid[300];
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = UDMA_DEV_DMA };
	struct udma_domain_ctx zero = { 0 };

	memset(longid, 'x', sizeof(longid) - 1);
	longid[299] = 0;
	log_capture_start();
	assert_int_equal(udma_domain_create(&d, &o), -EINVAL); /* NULL id */
	assert_logged("NULL");
	o.id = "";
	assert_int_equal(udma_domain_create(&d, &o), -EINVAL);
	o.id = longid;
	assert_int_equal(udma_domain_create(&d, &o), -EINVAL);
	o.id = "ok";
	o.dev_type = 5;
	assert_int_equal(udma_domain_create(&d, &o), -EINVAL);
	o.dev_type = UDMA_DEV_VENDOR_START + 5; /* vendor range is fine */
	o.ctx = &zero;
	assert_int_equal(udma_domain_create(&d, &o), -EINVAL);
	o.ctx = NULL;
	assert_int_equal(udma_domain_create(&d, &o), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	assert_int_equal(udma_domain_create(NULL, &o), -EINVAL);
	assert_int_equal(udma_domain_create(&d, NULL), -EINVAL);
	assert_int_equal(udma_domain_destroy(NULL), -EINVAL);
	log_capture_stop();
}

/* "iteration filtered by id" */
static void test_iteration(void **state)
{
	struct udma_domain *a, *b, *c;
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = UDMA_DEV_DMA, .id = "iter-x" };
	assert_int_equal(udma_domain_create(&a, &o), 0);
	assert_int_equal(udma_domain_create(&b, &o), 0);
	o.id = "iter-y";
	assert_int_equal(udma_domain_create(&c, &o), 0);
	int n = 0;
	for (struct udma_domain *d = udma_domain_first("iter-x"); d; d = udma_domain_next(d, "iter-x")) {
		assert_string_equal(udma_domain_id(d), "iter-x");
		n++;
	}
	assert_int_equal(n, 2);
	/* destroying the domain an iterator stands on is safe; the walk goes on */
	struct udma_domain *it = udma_domain_first("iter-x");
	assert_ptr_equal(it, a);
	assert_int_equal(udma_domain_destroy(a), 0);
	it = udma_domain_next(it, "iter-x");
	assert_ptr_equal(it, b);
	udma_domain_put(it);
	n = 0;
	for (struct udma_domain *d = udma_domain_first(NULL); d; d = udma_domain_next(d, NULL))
		n += d == a;
	assert_int_equal(n, 0);
	assert_int_equal(udma_domain_destroy(b), 0);
	assert_int_equal(udma_domain_destroy(c), 0);
	assert_null(udma_domain_first("iter-x"));
}

static void test_shm_local(void **state)
{
	struct udma_domain *m = udma_shm_create("seg", 10000, 0);
	struct udma_domain *s = udma_system_domain();
	size_t size;
	char *base = udma_shm_base(m, &size);
	char in[64] = "into the segment", out[64] = { 0 };

	assert_non_null(m);
	assert_int_equal(size, 12288);
	assert_int_equal(udma_domain_kind(m), UDMA_KIND_SHM);
	struct iovec at = { (void *)100, 17 }, src = { in, 17 }, dst = { out, 17 };
	assert_int_equal(udma_domain_push(m, NULL, &at, 1, &src, 1, NULL, NULL), 0);
	assert_string_equal(base + 100, "into the segment");
	assert_int_equal(udma_domain_pull(m, NULL, &at, 1, &dst, 1, NULL, NULL), 0);
	assert_string_equal(out, "into the segment");
	/* offsets translate to this process's VAs and back */
	struct udma_xlate_result r = { .size = sizeof(r) };
	assert_int_equal(udma_domain_translate(m, NULL, s, NULL, (void *)100, 17, &r), 0);
	assert_ptr_equal(r.iov.iov_base, base + 100);
	assert_int_equal(udma_domain_translate(s, NULL, m, NULL, base + 200, 10, &r), 0);
	assert_int_equal((uintptr_t)r.iov.iov_base, 200);
	/* every access bounds-checked */
	struct iovec oob = { (void *)12280, 9 }, huge = { (void *)UINTPTR_MAX, 1 };
	assert_int_equal(udma_domain_pull(m, NULL, &oob, 1, &dst, 1, NULL, NULL), -ERANGE);
	assert_int_equal(udma_domain_memzero(m, NULL, &huge, 1, NULL, NULL), -ERANGE);
	assert_int_equal(udma_domain_translate(s, NULL, m, NULL, in, 10, &r), -EFAULT);
	/* transfer between domains: shm -> system and system -> shm */
	memset(out, 0, sizeof(out));
	assert_int_equal(udma_domain_transfer(s, NULL, &dst, 1, m, NULL, &at, 1, NULL, NULL, NULL), 0);
	assert_string_equal(out, "into the segment");
	assert_int_equal(udma_domain_destroy(m), 0);
	assert_null(udma_shm_create("x", 0, 0));
	assert_null(udma_shm_create(NULL, 4096, 0));
	assert_null(udma_shm_create("x", 4096, 0x80));
}

/* Process domain on a child: process_vm_readv/writev, IOV_MAX split, vanished process. */
static void test_process_domain(void **state)
{
	static char area[8192];
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (!pid) { /* the child's copy of area is what the parent reads */
		memset(area, 'k', sizeof(area));
		char go = 1;
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char go;
	assert_int_equal(read(pfd[0], &go, 1), 1);
	struct udma_domain *p = udma_process_domain_create(pid, NULL);
	assert_non_null(p);
	assert_int_equal(udma_process_domain_pid(p), pid);
	char out[8192];
	/* 3000 one-byte remote pieces: split at IOV_MAX */
	static struct iovec many[3000];
	for (int i = 0; i < 3000; i++)
		many[i] = (struct iovec){ area + 2 * i, 1 };
	struct iovec dst = { out, 3000 };
	memset(out, 0, sizeof(out));
	assert_int_equal(udma_domain_pull(p, NULL, many, 3000, &dst, 1, NULL, NULL), 0);
	assert_int_equal(out[0], 'k');
	assert_int_equal(out[2999], 'k');
	/* push then read back */
	struct iovec src = { "written", 8 }, at = { area + 10, 8 };
	assert_int_equal(udma_domain_push(p, NULL, &at, 1, &src, 1, NULL, NULL), 0);
	struct iovec back = { out, 8 };
	assert_int_equal(udma_domain_pull(p, NULL, &at, 1, &back, 1, NULL, NULL), 0);
	assert_string_equal(out, "written");
	assert_int_equal(udma_domain_memzero(p, NULL, &at, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_pull(p, NULL, &at, 1, &back, 1, NULL, NULL), 0);
	assert_int_equal(out[0], 0);
	/* a bad remote address */
	struct iovec bad = { (void *)16, 8 };
	assert_int_equal(udma_domain_pull(p, NULL, &bad, 1, &back, 1, NULL, NULL), -EFAULT);
	struct udma_xlate_result r = { .size = sizeof(r) };
	assert_int_equal(udma_domain_translate(p, NULL, udma_system_domain(), NULL, area, 8, &r), -ENOTSUP);
	/* the process goes away */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(udma_domain_pull(p, NULL, &at, 1, &back, 1, NULL, NULL), -ESRCH);
	assert_int_equal(udma_domain_destroy(p), 0);
	assert_null(udma_process_domain_create(pid, NULL));
	assert_int_equal(errno, ESRCH);
	assert_null(udma_process_domain_create(0, NULL));
	close(pfd[0]);
	close(pfd[1]);
}

/* "permission ... errors surfaced (-EPERM)" */
static void test_process_domain_permission(void **state)
{
	if (getuid() != 0)
		skip_because("needs root to run a child as another user");
	static char secret[64] = "root's";
	pid_t pid = fork();
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		struct udma_domain *p = udma_process_domain_create(getppid(), NULL);
		char out[8];
		struct iovec r = { secret, 6 }, l = { out, 6 };
		_exit(p && udma_domain_pull(p, NULL, &r, 1, &l, 1, NULL, NULL) == -EPERM ? 0 : 11);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_domain),
		cmocka_unit_test(test_system_ops),
		cmocka_unit_test(test_bad_iovecs),
		cmocka_unit_test(test_translate_system_device),
		cmocka_unit_test(test_custom_domain),
		cmocka_unit_test(test_create_bad_input),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_shm_local),
		cmocka_unit_test(test_process_domain),
		cmocka_unit_test(test_process_domain_permission),
	};
	return tests_run(tests, NULL, NULL);
}
