/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote domains across two processes on 127.0.0.1 (libfabric tcp;ofi_rxm).
 * The peer is this program exec'd with --server: it maps a memfd arena the
 * test also maps, exports three regions of it (read-write, read-only,
 * write-only) and serves until its stdin closes. Because the test sees the
 * arena directly, "the remote data is intact" is checked byte by byte.
 *
 * Covered: API argument checks; push/pull/memzero/transfer/translate,
 * synchronous and with callbacks; local refusal of rights and range;
 * forged descriptors (wrong key, rights, length) refused by the peer's
 * provider with its memory untouched; a peer killed mid-transfer (every
 * request completes, with an error, in bounded time); thousands of
 * concurrent requests with every byte verified; manual progress and
 * registered local buffers; synchronous requests from several threads at
 * once (each waiter polls the CQ and reads the others' completions) beside
 * asynchronous ones whose callbacks must stay on the progress thread, and
 * the peer killed while they poll. Every wait has a deadline; the peer has an
 * alarm of its own.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include "common.h"

#define ARENA (8u << 20)
#define RW_OFF 0
#define RW_LEN (4u << 20)
#define RO_OFF (4u << 20)
#define RO_LEN (1u << 20)
#define WO_OFF (5u << 20)
#define WO_LEN (1u << 20)
#define TIMEOUT_MS 3000

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- the peer ----------------------------------------------------------------------- */

static int server_main(int memfd)
{
	char *arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	struct udma_fabric_opts o = { .size = sizeof(o), .timeout_ms = TIMEOUT_MS };
	struct udma_fabric_desc d[3];
	char s[UDMA_FABRIC_DESC_STR_MAX];

	alarm(120); /* never outlive a broken test */
	if (arena == MAP_FAILED)
		return 10;
	struct udma_fabric *fab = udma_fabric_open(&o);
	if (!fab)
		return 11;
	if (udma_fabric_export(fab, arena + RW_OFF, RW_LEN, UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &d[0]) ||
	    udma_fabric_export(fab, arena + RO_OFF, RO_LEN, UDMA_FABRIC_READ, &d[1]) ||
	    udma_fabric_export(fab, arena + WO_OFF, WO_LEN, UDMA_FABRIC_WRITE, &d[2]))
		return 12;
	for (int i = 0; i < 3; i++) {
		if (udma_fabric_desc_encode(&d[i], s, sizeof(s)) < 0)
			return 13;
		printf("%s\n", s);
	}
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0) /* serve until the test closes our stdin */
		;
	return udma_fabric_close(fab) ? 14 : 0;
}

struct peer {
	pid_t pid;
	int to;        /* its stdin */
	char *arena;   /* the same memory it exports */
	struct udma_fabric_desc rw, ro, wo;
};

static void peer_start(struct peer *p)
{
	int memfd = memfd_create("fabric-arena", 0), in[2], out[2];
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, ARENA), 0);
	p->arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(p->arena != MAP_FAILED);
	for (size_t i = 0; i < ARENA; i++)
		p->arena[i] = (char)(i * 7 + 3);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (!p->pid) {
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", memfd);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/proc/self/exe", "test_fabric_mp", "--server", fd, (char *)NULL);
		_exit(127);
	}
	close(memfd);
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	/* three descriptor lines, within 10 s */
	char buf[3 * UDMA_FABRIC_DESC_STR_MAX];
	size_t n = 0;
	int lines = 0;
	double end = now_s() + 10;
	while (lines < 3 && now_s() < end) {
		struct pollfd pf = { out[0], POLLIN, 0 };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t k = read(out[0], buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++)
			lines += buf[n + (size_t)i] == '\n';
		n += (size_t)k;
	}
	close(out[0]);
	buf[n] = 0;
	assert_int_equal(lines, 3);
	char *l2 = strchr(buf, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	l2[-1] = l3[-1] = 0;
	assert_int_equal(udma_fabric_desc_decode(buf, &p->rw), 0);
	assert_int_equal(udma_fabric_desc_decode(l2, &p->ro), 0);
	assert_int_equal(udma_fabric_desc_decode(l3, &p->wo), 0);
}

/* Stop it (stdin EOF), at most 10 s, and check it was fine. */
static void peer_stop(struct peer *p)
{
	int st = 0;
	close(p->to);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid)
			break;
		if (i == 999) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
		}
		usleep(10000);
	}
	munmap(p->arena, ARENA);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static struct udma_fabric *open_fab(uint32_t flags)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .flags = flags, .timeout_ms = TIMEOUT_MS };
	struct udma_fabric *f = udma_fabric_open(&o);
	assert_non_null(f);
	return f;
}

/* ---- completions ---------------------------------------------------------------------- */

struct done {
	int n;       /* atomic: callbacks run */
	int errors;  /* atomic */
	int last;    /* atomic: the last error */
};

static void on_done(void *arg, int status)
{
	struct done *d = arg;
	if (status) {
		__atomic_add_fetch(&d->errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&d->last, status, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&d->n, 1, __ATOMIC_RELEASE);
}

/* Wait for n callbacks, at most secs. */
static int wait_done(struct done *d, int n, double secs)
{
	double end = now_s() + secs;
	while (__atomic_load_n(&d->n, __ATOMIC_ACQUIRE) < n && now_s() < end)
		usleep(200);
	return __atomic_load_n(&d->n, __ATOMIC_ACQUIRE) == n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_api_errors(void **state)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .flags = 0x100 };
	struct udma_fabric_desc d;
	char buf[64];

	log_capture_start();
	errno = 0;
	assert_null(udma_fabric_open(&o));
	assert_int_equal(errno, EINVAL);
	assert_logged("unknown fabric flags");
	o = (struct udma_fabric_opts){ .size = 4 };
	assert_null(udma_fabric_open(&o));
	assert_int_equal(errno, EINVAL);
	o = (struct udma_fabric_opts){ .size = sizeof(o), .provider = "no-such-provider" };
	assert_null(udma_fabric_open(&o));
	assert_int_equal(errno, ENODEV);
	assert_int_equal(udma_fabric_close(NULL), -EINVAL);
	assert_int_equal(udma_fabric_progress(NULL, 1), -EINVAL);

	assert_int_equal(udma_fabric_progress_wait(NULL, 1, 0), -EINVAL);

	struct udma_fabric *f = open_fab(0);
	assert_string_equal(udma_fabric_provider(f), "tcp;ofi_rxm");
	assert_int_equal(udma_fabric_progress_wait(f, 1, -1), -EINVAL);
	assert_int_equal(udma_fabric_progress_wait(f, 0, 10), 0); /* nothing to do: back after the wait */
	assert_int_equal(udma_fabric_export(f, NULL, 10, UDMA_FABRIC_READ, &d), -EINVAL);
	assert_int_equal(udma_fabric_export(f, buf, 0, UDMA_FABRIC_READ, &d), -EINVAL);
	assert_int_equal(udma_fabric_export(f, buf, sizeof(buf), 0, &d), -EINVAL);
	assert_int_equal(udma_fabric_export(f, buf, sizeof(buf), 4, &d), -EINVAL);
	assert_int_equal(udma_fabric_export(f, (void *)(uintptr_t)-16, 32, UDMA_FABRIC_READ, &d), -EINVAL);
	assert_int_equal(udma_fabric_export(f, buf, sizeof(buf), UDMA_FABRIC_READ, NULL), -EINVAL);
	assert_logged("rights");

	/* keys are random: two exports of the same memory differ */
	struct udma_fabric_desc a, b;
	assert_int_equal(udma_fabric_export(f, buf, sizeof(buf), UDMA_FABRIC_READ, &a), 0);
	assert_int_equal(udma_fabric_export(f, buf, sizeof(buf), UDMA_FABRIC_READ, &b), 0);
	assert_true(a.key != b.key);
	assert_int_equal(udma_fabric_desc_validate(&a), 0);
	assert_int_equal(a.rights, UDMA_FABRIC_READ);
	assert_int_equal(a.len, sizeof(buf));
	assert_int_equal(udma_fabric_unexport(f, &b), 0);
	assert_int_equal(udma_fabric_unexport(f, &b), -ENOENT);

	/* import checks the descriptor first */
	struct udma_fabric_desc bad = a;
	bad.version = 9;
	errno = 0;
	assert_null(udma_fabric_import(f, &bad, NULL));
	assert_int_equal(errno, EPROTONOSUPPORT);
	bad = a;
	bad.addr_format = a.addr_format + 1;
	assert_null(udma_fabric_import(f, &bad, NULL));
	assert_int_equal(errno, EPROTO);
	bad = a;
	bad.base = ~0ull - 4;
	assert_null(udma_fabric_import(f, &bad, NULL));
	assert_int_equal(errno, EOVERFLOW);
	assert_null(udma_fabric_import(NULL, &a, NULL));
	assert_null(udma_fabric_import(f, NULL, NULL));
	assert_int_equal(errno, EINVAL);

	/* a remote domain: kind, type, fixed operations, holds the fabric */
	struct udma_domain *r = udma_fabric_import(f, &a, "peer-a");
	assert_non_null(r);
	assert_int_equal(udma_domain_kind(r), UDMA_KIND_REMOTE);
	assert_int_equal(udma_domain_dev_type(r), UDMA_DEV_RDMA);
	assert_string_equal(udma_domain_id(r), "peer-a");
	assert_int_equal(udma_domain_set_pull(r, NULL), -EPERM);
	struct udma_fabric_desc back;
	assert_int_equal(udma_fabric_remote_desc(r, &back), 0);
	assert_int_equal(back.key, a.key);
	assert_int_equal(udma_fabric_remote_desc(udma_system_domain(), &back), -EINVAL);
	assert_int_equal(udma_fabric_close(f), -EBUSY);
	/* a remote domain has no local view: transfer into system memory is refused */
	struct iovec rv = { 0, 8 }, lv = { buf, 8 };
	assert_true(udma_domain_transfer(udma_system_domain(), NULL, &lv, 1, r, NULL, &rv, 1, NULL, NULL, NULL) < 0);
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	log_capture_stop();
}

/* "every page mapped, readable, writable for WRITE": a peer's pull of a
 * hole once killed the exporter in libfabric's progress thread; export
 * returned 0 for it */
static void test_export_checks_memory(void **state)
{
	struct udma_fabric *f = open_fab(0);
	struct udma_fabric_desc d;
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);

	assert_int_equal(munmap(m + pg, pg), 0); /* a hole in the middle */
	assert_int_equal(udma_fabric_export(f, m, 3 * pg, UDMA_FABRIC_READ, &d), -EFAULT);
	assert_int_equal(udma_fabric_export(f, m + pg, 1, UDMA_FABRIC_READ, &d), -EFAULT);
	assert_int_equal(udma_fabric_export(f, m + pg - 1, 2, UDMA_FABRIC_WRITE, &d), -EFAULT);
	assert_int_equal(udma_fabric_export(f, m, pg, UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &d), 0);
	assert_int_equal(udma_fabric_unexport(f, &d), 0);

	assert_int_equal(mprotect(m + 2 * pg, pg, PROT_READ), 0);
	assert_int_equal(udma_fabric_export(f, m + 2 * pg, pg, UDMA_FABRIC_WRITE, &d), -EACCES);
	assert_int_equal(udma_fabric_export(f, m + 2 * pg, pg, UDMA_FABRIC_READ, &d), 0);
	assert_int_equal(udma_fabric_unexport(f, &d), 0);
	assert_int_equal(mprotect(m + 2 * pg, pg, PROT_NONE), 0);
	assert_int_equal(udma_fabric_export(f, m + 2 * pg, pg, UDMA_FABRIC_READ, &d), -EACCES);

	/* neighbouring mappings with the same rights make one range */
	char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(two != MAP_FAILED);
	assert_int_equal(mprotect(two + pg, pg, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	assert_int_equal(udma_fabric_export(f, two, 2 * pg, UDMA_FABRIC_WRITE, &d), 0);
	assert_int_equal(udma_fabric_unexport(f, &d), 0);
	munmap(two, 2 * pg);
	munmap(m, 3 * pg);
	assert_int_equal(udma_fabric_close(f), 0);
}

static void test_push_pull(void **state)
{
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	assert_non_null(r);
	char *src = malloc(1 << 20), *dst = malloc(1 << 20);
	for (int i = 0; i < 1 << 20; i++)
		src[i] = (char)(i * 13 + 5);

	/* push, synchronous: the bytes are in the peer's memory when it returns */
	struct iovec rv = { (void *)4096, 1 << 20 }, lv = { src, 1 << 20 };
	assert_int_equal(udma_domain_push(r, NULL, &rv, 1, &lv, 1, NULL, NULL), 0);
	assert_memory_equal(p.arena + RW_OFF + 4096, src, 1 << 20);
	assert_int_equal(p.arena[RW_OFF + 4095], (char)(4095 * 7 + 3)); /* neighbours intact */
	assert_int_equal(p.arena[RW_OFF + 4096 + (1 << 20)], (char)((4096 + (1 << 20)) * 7 + 3));

	/* pull it back, with a callback (completes on the progress thread) */
	struct done d = { 0 };
	lv.iov_base = dst;
	memset(dst, 0, 1 << 20);
	assert_int_equal(udma_domain_pull(r, NULL, &rv, 1, &lv, 1, on_done, &d), 0);
	assert_true(wait_done(&d, 1, 10));
	assert_int_equal(d.errors, 0);
	assert_memory_equal(dst, src, 1 << 20);

	/* scatter-gather on both sides, pieces of different sizes */
	struct iovec rs[3] = { { (void *)100, 1000 }, { (void *)50000, 3000 }, { (void *)9000, 96 } };
	struct iovec ls[2] = { { src + 7, 2048 }, { src + 70000, 2048 } };
	assert_int_equal(udma_domain_push(r, NULL, rs, 3, ls, 2, NULL, NULL), 0);
	assert_memory_equal(p.arena + 100, src + 7, 1000);
	assert_memory_equal(p.arena + 50000, src + 7 + 1000, 1048);
	assert_memory_equal(p.arena + 50000 + 1048, src + 70000, 1952);
	assert_memory_equal(p.arena + 9000, src + 70000 + 1952, 96);

	/* memzero, and the bytes around it */
	struct iovec z = { (void *)2000000, 200000 };
	assert_int_equal(udma_domain_memzero(r, NULL, &z, 1, NULL, NULL), 0);
	assert_true(all_zero(p.arena + 2000000, 200000));
	assert_int_equal(p.arena[1999999], (char)(1999999 * 7 + 3));
	assert_int_equal(p.arena[2200000], (char)(2200000 * 7 + 3));

	/* transfer from the system domain and from a shared-memory domain */
	struct iovec tr = { (void *)600000, 5000 }, ts = { src + 3, 5000 };
	assert_int_equal(udma_domain_transfer(r, NULL, &tr, 1, udma_system_domain(), NULL, &ts, 1, NULL, NULL, NULL), 0);
	assert_memory_equal(p.arena + 600000, src + 3, 5000);
	struct udma_domain *shm = udma_shm_create("fabric-shm", 1 << 16, 0);
	assert_non_null(shm);
	char *sb = udma_shm_base(shm, NULL);
	memset(sb + 64, 'S', 4096);
	struct iovec so = { (void *)64, 4096 }, tr2 = { (void *)700000, 4096 };
	assert_int_equal(udma_domain_transfer(r, NULL, &tr2, 1, shm, NULL, &so, 1, NULL, NULL, NULL), 0);
	assert_memory_equal(p.arena + 700000, sb + 64, 4096);
	assert_int_equal(udma_domain_destroy(shm), 0);

	/* transfer remote -> remote: read-only region into the read-write one, staged here */
	struct udma_domain *ro = udma_fabric_import(f, &p.ro, NULL), *wo = udma_fabric_import(f, &p.wo, NULL);
	assert_non_null(ro);
	assert_non_null(wo);
	struct iovec from = { (void *)1000, 70000 }, to = { (void *)800000, 70000 };
	assert_int_equal(udma_domain_transfer(r, NULL, &to, 1, ro, NULL, &from, 1, NULL, on_done, &d), 0);
	assert_true(wait_done(&d, 2, 10));
	assert_int_equal(d.errors, 0);
	assert_memory_equal(p.arena + 800000, p.arena + RO_OFF + 1000, 70000);
	/* and synchronously, into the write-only region */
	assert_int_equal(udma_domain_transfer(wo, NULL, &from, 1, ro, NULL, &from, 1, NULL, NULL, NULL), 0);
	assert_memory_equal(p.arena + WO_OFF + 1000, p.arena + RO_OFF + 1000, 70000);

	/* translation: remote -> remote gives the wire address and key */
	struct udma_xlate_result x = { .size = sizeof(x) };
	assert_int_equal(udma_domain_translate(r, NULL, r, NULL, (void *)4096, 100, &x), 0);
	assert_int_equal(x.iov_count, 1);
	assert_int_equal((uintptr_t)x.iov.iov_base, p.rw.base + 4096);
	assert_int_equal(x.iov.iov_len, 100);
	assert_int_equal(x.key, p.rw.key);
	assert_ptr_equal(x.dst_domain, r);
	assert_int_equal(udma_domain_translate(r, NULL, r, NULL, (void *)(RW_LEN - 10), 100, &x), -ERANGE);
	assert_int_equal(udma_domain_translate(r, NULL, udma_system_domain(), NULL, (void *)0, 8, &x), -ENOTSUP);
	/* system -> remote: a VA inside one of our own exports on that fabric */
	struct udma_fabric_desc mine;
	assert_int_equal(udma_fabric_export(f, dst, 1 << 20, UDMA_FABRIC_READ, &mine), 0);
	assert_int_equal(udma_domain_translate(udma_system_domain(), NULL, r, NULL, dst + 500, 64, &x), 0);
	assert_int_equal((uintptr_t)x.iov.iov_base, mine.base + 500);
	assert_int_equal(x.key, mine.key);
	assert_int_equal(udma_domain_translate(udma_system_domain(), NULL, r, NULL, src, 64, &x), -EFAULT);
	assert_int_equal(udma_domain_translate(udma_system_domain(), NULL, r, NULL, dst + (1 << 20) - 8, 64, &x),
			 -EFAULT);

	assert_int_equal(udma_domain_destroy(ro), 0);
	assert_int_equal(udma_domain_destroy(wo), 0);
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
	free(src);
	free(dst);
}

/* The peer refused: EREMOTEIO or EACCES (which one depends on the provider). Says what it got. */
#define assert_refused(rc)                                                                                 \
	do {                                                                                               \
		if ((rc) != -EREMOTEIO && (rc) != -EACCES)                                                 \
			fail_msg("line %d: %d (%s), want -EREMOTEIO or -EACCES", __LINE__, (rc), strerror(-(rc))); \
	} while (0)

/* Refused here (descriptor says no) and there (the peer's provider says no). */
static void test_rights_range_keys(void **state)
{
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *ro = udma_fabric_import(f, &p.ro, NULL), *wo = udma_fabric_import(f, &p.wo, NULL);
	struct udma_domain *rw = udma_fabric_import(f, &p.rw, NULL);
	char *golden = malloc(ARENA), buf[8192];
	memcpy(golden, p.arena, ARENA);
	memset(buf, 'X', sizeof(buf));
	struct iovec at = { (void *)0, 4096 }, lv = { buf, 4096 };

	log_capture_start();
	/* local checks, before anything is sent */
	assert_int_equal(udma_domain_push(ro, NULL, &at, 1, &lv, 1, NULL, NULL), -EACCES);
	assert_int_equal(udma_domain_memzero(ro, NULL, &at, 1, NULL, NULL), -EACCES);
	assert_int_equal(udma_domain_pull(wo, NULL, &at, 1, &lv, 1, NULL, NULL), -EACCES);
	assert_logged("without the right");
	struct iovec out = { (void *)(RW_LEN - 100), 4096 };
	assert_int_equal(udma_domain_push(rw, NULL, &out, 1, &lv, 1, NULL, NULL), -ERANGE);
	assert_int_equal(udma_domain_pull(rw, NULL, &out, 1, &lv, 1, NULL, NULL), -ERANGE);
	struct iovec wrap = { (void *)(uintptr_t)-8, 16 };
	assert_int_equal(udma_domain_pull(rw, NULL, &wrap, 1, &lv, 1, NULL, NULL), -ERANGE);
	struct iovec far = { (void *)(uintptr_t)(RW_LEN + 1), 1 };
	assert_int_equal(udma_domain_pull(rw, NULL, &far, 1, &lv, 1, NULL, NULL), -ERANGE);
	assert_logged("outside the remote region");

	/* forged descriptors: the peer refuses, its memory stays as it was */
	struct udma_fabric_desc fk = p.rw, fr = p.ro, fl = p.rw;
	fk.key ^= 0x5a5a;                                    /* a wrong key */
	fr.rights = UDMA_FABRIC_READ | UDMA_FABRIC_WRITE;    /* a right it was not given */
	fl.len = ARENA;                                      /* a larger region */
	struct udma_domain *dk = udma_fabric_import(f, &fk, "forged-key");
	struct udma_domain *dr = udma_fabric_import(f, &fr, "forged-rights");
	struct udma_domain *dl = udma_fabric_import(f, &fl, "forged-len");
	assert_non_null(dk);
	assert_non_null(dr);
	assert_non_null(dl);
	int rc = udma_domain_push(dk, NULL, &at, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	rc = udma_domain_pull(dk, NULL, &at, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	rc = udma_domain_push(dr, NULL, &at, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	rc = udma_domain_memzero(dr, NULL, &at, 1, NULL, NULL);
	assert_refused(rc);
	struct iovec past = { (void *)(RW_LEN + 100), 4096 }, across = { (void *)(RW_LEN - 2048), 4096 };
	rc = udma_domain_push(dl, NULL, &past, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	rc = udma_domain_push(dl, NULL, &across, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	rc = udma_domain_pull(dl, NULL, &past, 1, &lv, 1, NULL, NULL);
	assert_refused(rc);
	assert_logged("failed");
	log_capture_stop();
	assert_memory_equal(p.arena, golden, ARENA);

	/* the connection the refusals broke comes back: honest requests work */
	struct done d = { 0 };
	for (int i = 0; i < 16; i++)
		assert_int_equal(udma_domain_pull(rw, NULL, &at, 1, &lv, 1, on_done, &d), 0);
	assert_true(wait_done(&d, 16, 10));
	assert_int_equal(d.errors, 0);
	assert_memory_equal(buf, p.arena, 4096);
	assert_int_equal(udma_domain_pull(ro, NULL, &at, 1, &lv, 1, NULL, NULL), 0);
	assert_memory_equal(buf, p.arena + RO_OFF, 4096);
	memset(buf, 'W', 4096);
	assert_int_equal(udma_domain_push(wo, NULL, &at, 1, &lv, 1, NULL, NULL), 0);
	assert_memory_equal(p.arena + WO_OFF, buf, 4096);

	struct udma_domain *all[] = { dk, dr, dl, ro, wo, rw };
	for (int i = 0; i < 6; i++)
		assert_int_equal(udma_domain_destroy(all[i]), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
	free(golden);
}

/* The peer dies with requests in flight: each completes, with an error, in bounded time. */
static void test_killed_peer(void **state)
{
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	size_t piece = 1 << 20;
	char *src = malloc(piece);
	memset(src, 'k', piece);
	struct iovec lv = { src, piece };

	/* warm up the connection so the kill lands mid-transfer */
	struct iovec r0 = { 0, 4096 }, l0 = { src, 4096 };
	assert_int_equal(udma_domain_push(r, NULL, &r0, 1, &l0, 1, NULL, NULL), 0);

	enum { N = 96 };
	static struct iovec rv[N];
	struct done d = { 0 };
	for (int i = 0; i < N; i++) {
		rv[i] = (struct iovec){ (void *)((size_t)(i % 4) * piece), piece };
		assert_int_equal(i & 1 ? udma_domain_push(r, NULL, &rv[i], 1, &lv, 1, on_done, &d)
				       : udma_domain_pull(r, NULL, &rv[i], 1, &lv, 1, on_done, &d), 0);
	}
	double t0 = now_s();
	kill(p.pid, SIGKILL);
	int st;
	waitpid(p.pid, &st, 0);
	/* bounded: within the fabric timeout plus slack, every request has completed */
	assert_true(wait_done(&d, N, TIMEOUT_MS / 1000.0 + 5));
	double took = now_s() - t0;
	printf("killed peer: %d of %d requests failed (last %d), all done in %.3f s\n", d.errors, N, d.last, took);
	/* a new request fails too, in bounded time */
	t0 = now_s();
	int rc = udma_domain_pull(r, NULL, &r0, 1, &l0, 1, NULL, NULL);
	took = now_s() - t0;
	printf("request after the kill: %d in %.3f s\n", rc, took);
	assert_true(rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EIO);
	assert_true(took < TIMEOUT_MS / 1000.0 + 2);
	assert_true(d.errors > 0 || rc < 0);
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	close(p.to);
	munmap(p.arena, ARENA);
	free(src);
}

/* Thousands of requests in flight at once; every byte checked, both ways. */
static void test_many_concurrent(void **state)
{
	enum { N = 4096, SLOT = 1024 };
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	char *src = malloc((size_t)N * SLOT), *dst = malloc((size_t)N * SLOT);
	static struct iovec rv[N], lv[N];
	static size_t len[N];
	unsigned seed = 7;
	for (size_t i = 0; i < (size_t)N * SLOT; i++)
		src[i] = (char)rand_r(&seed);
	memset(dst, 0, (size_t)N * SLOT);

	struct done d = { 0 };
	for (int i = 0; i < N; i++) {
		len[i] = 1 + (size_t)rand_r(&seed) % SLOT;
		rv[i] = (struct iovec){ (void *)((size_t)i * SLOT), len[i] };
		lv[i] = (struct iovec){ src + (size_t)i * SLOT, len[i] };
		assert_int_equal(udma_domain_push(r, NULL, &rv[i], 1, &lv[i], 1, on_done, &d), 0);
	}
	assert_true(wait_done(&d, N, 60));
	assert_int_equal(d.errors, 0);
	for (int i = 0; i < N; i++)
		assert_memory_equal(p.arena + (size_t)i * SLOT, src + (size_t)i * SLOT, len[i]);

	/* pulls and zeroing of alternate slots, all at once */
	d = (struct done){ 0 };
	for (int i = 0; i < N; i++) {
		lv[i].iov_base = dst + (size_t)i * SLOT;
		if (i % 3 == 2)
			assert_int_equal(udma_domain_memzero(r, NULL, &rv[i], 1, on_done, &d), 0);
		else
			assert_int_equal(udma_domain_pull(r, NULL, &rv[i], 1, &lv[i], 1, on_done, &d), 0);
	}
	assert_true(wait_done(&d, N, 60));
	assert_int_equal(d.errors, 0);
	for (int i = 0; i < N; i++) {
		if (i % 3 == 2)
			assert_true(all_zero(p.arena + (size_t)i * SLOT, len[i]));
		else
			assert_memory_equal(dst + (size_t)i * SLOT, src + (size_t)i * SLOT, len[i]);
	}
	/* a slot's tail beyond its request still holds the arena's original pattern */
	for (int i = 0; i < N; i++)
		for (size_t k = len[i]; k < SLOT; k++) {
			size_t at = (size_t)i * SLOT + k;
			if (p.arena[at] != (char)(at * 7 + 3))
				fail_msg("byte %zu past request %d changed", at, i);
		}
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
	free(src);
	free(dst);
}

/* ---- synchronous waiters polling one CQ together ------------------------------------- */

enum { SYNC_THREADS = 4, SYNC_SLOT = 4096 };

struct syncer {
	struct udma_domain *r;
	struct peer *p;
	int t;               /* its slots: t * SYNC_SLOT in the arena */
	int ops;             /* how many round trips; 0: until an error */
	int stop;            /* atomic: ops 0, main says stop */
	int done;            /* atomic: rounds done */
	int err;             /* the error that ended it, or 0 */
	int bad;             /* rounds whose bytes were wrong */
	int exited;          /* atomic */
	pthread_t self;
};

/* Push random bytes, check them in the arena, pull them back into a cleared buffer, check. */
static void *syncer_main(void *arg)
{
	struct syncer *s = arg;
	unsigned seed = 1234u + (unsigned)s->t;
	char out[256], back[256];
	char *arena = s->p->arena + RW_OFF + (size_t)s->t * SYNC_SLOT;

	for (int i = 0; s->ops ? i < s->ops : !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); i++) {
		size_t n = 1 + (size_t)rand_r(&seed) % sizeof(out), off = (size_t)rand_r(&seed) % (SYNC_SLOT - n);
		for (size_t k = 0; k < n; k++)
			out[k] = (char)rand_r(&seed);
		memset(back, 0x5a, sizeof(back));
		struct iovec rv = { (void *)((size_t)s->t * SYNC_SLOT + off), n }, lv = { out, n }, bv = { back, n };
		int rc = udma_domain_push(s->r, NULL, &rv, 1, &lv, 1, NULL, NULL);
		if (!rc && memcmp(arena + off, out, n))
			s->bad++; /* returned before its own write was in the peer's memory */
		if (!rc)
			rc = udma_domain_pull(s->r, NULL, &rv, 1, &bv, 1, NULL, NULL);
		if (rc) {
			s->err = rc;
			break;
		}
		if (memcmp(back, out, n))
			s->bad++; /* returned before its own read had landed */
		__atomic_add_fetch(&s->done, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->exited, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct cb_threads {
	pthread_t sync[SYNC_THREADS], main;
	int n;          /* atomic: callbacks */
	int errors;     /* atomic */
	int misplaced;  /* atomic: callbacks that ran on a synchronous waiter or the submitter */
};

static void cb_where(void *arg, int status)
{
	struct cb_threads *c = arg;
	pthread_t me = pthread_self();
	for (int i = 0; i < SYNC_THREADS; i++)
		if (pthread_equal(me, c->sync[i]))
			__atomic_add_fetch(&c->misplaced, 1, __ATOMIC_RELAXED);
	if (pthread_equal(me, c->main))
		__atomic_add_fetch(&c->misplaced, 1, __ATOMIC_RELAXED);
	if (status)
		__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->n, 1, __ATOMIC_RELEASE);
}

/*
 * Several threads make synchronous round trips at once on one fabric: each
 * waiter polls the shared CQ and reads other threads' completions, which
 * must reach their owners (every byte is checked as soon as each call
 * returns). Meanwhile asynchronous requests whose completions those
 * waiters also read: their callbacks must still run on the progress
 * thread, never on a waiter's thread.
 */
static void test_sync_threads(void **state)
{
	enum { ROUNDS = 400, ASYNC = 2000, ASYNC_OFF = 1u << 20, ASYNC_SLOT = 256 };
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	struct syncer s[SYNC_THREADS];
	struct cb_threads c = { .main = pthread_self() };
	char *src = malloc((size_t)ASYNC * ASYNC_SLOT);
	static struct iovec rv[ASYNC], lv[ASYNC];
	unsigned seed = 99;

	for (size_t i = 0; i < (size_t)ASYNC * ASYNC_SLOT; i++)
		src[i] = (char)rand_r(&seed);
	for (int t = 0; t < SYNC_THREADS; t++) {
		s[t] = (struct syncer){ .r = r, .p = &p, .t = t, .ops = ROUNDS };
		assert_int_equal(pthread_create(&s[t].self, NULL, syncer_main, &s[t]), 0);
		c.sync[t] = s[t].self;
	}
	/* asynchronous pushes, paced so some are always in flight while the waiters poll */
	for (int i = 0; i < ASYNC; i++) {
		rv[i] = (struct iovec){ (void *)(ASYNC_OFF + (size_t)i * ASYNC_SLOT), ASYNC_SLOT };
		lv[i] = (struct iovec){ src + (size_t)i * ASYNC_SLOT, ASYNC_SLOT };
		assert_int_equal(udma_domain_push(r, NULL, &rv[i], 1, &lv[i], 1, cb_where, &c), 0);
		while (i - __atomic_load_n(&c.n, __ATOMIC_ACQUIRE) > 8)
			sched_yield();
	}
	for (int t = 0; t < SYNC_THREADS; t++)
		assert_int_equal(pthread_join(s[t].self, NULL), 0);
	double end = now_s() + 60;
	while (__atomic_load_n(&c.n, __ATOMIC_ACQUIRE) < ASYNC && now_s() < end)
		usleep(200);
	printf("synchronous rounds %d x %d; asynchronous %d, %d callbacks on the wrong thread\n", SYNC_THREADS,
	       ROUNDS, c.n, c.misplaced);
	for (int t = 0; t < SYNC_THREADS; t++) {
		if (s[t].err)
			fail_msg("thread %d: round %d failed: %d (%s)", t, s[t].done, s[t].err, strerror(-s[t].err));
		assert_int_equal(s[t].bad, 0);
		assert_int_equal(s[t].done, ROUNDS);
	}
	assert_int_equal(c.n, ASYNC);
	assert_int_equal(c.errors, 0);
	assert_int_equal(c.misplaced, 0);
	for (int i = 0; i < ASYNC; i++)
		assert_memory_equal(p.arena + ASYNC_OFF + (size_t)i * ASYNC_SLOT, src + (size_t)i * ASYNC_SLOT,
				    ASYNC_SLOT);
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
	free(src);
}

/*
 * While synchronous callers poll, the progress thread stands down and looks
 * again later and later (docs/fabric.md); once they stop it must come back,
 * for it alone serves this fabric's exports when nobody polls (tcp
 * progresses only when polled). A stream of synchronous pushes to the peer,
 * long enough for the back-off to reach its cap, then a second fabric of
 * this process reads an export of the first: that read completes only if
 * the first one's progress thread came back.
 */
static void test_serves_after_sync_stream(void **state)
{
	static char mine[1 << 16], got[1 << 16], src[64];
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0), *g = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	struct udma_fabric_desc d;

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(mine); i++)
		mine[i] = (char)(i * 31 + 7);
	assert_int_equal(udma_fabric_export(f, mine, sizeof(mine), UDMA_FABRIC_READ, &d), 0);
	struct udma_domain *back = udma_fabric_import(g, &d, NULL);
	assert_non_null(back);
	double t0 = now_s();
	for (int i = 0; i < 2000 || now_s() < t0 + 0.1; i++) {
		struct iovec rv = { (void *)(uintptr_t)(64 * (i % 100)), 64 }, lv = { src, 64 };
		src[0] = (char)i;
		assert_int_equal(udma_domain_push(r, NULL, &rv, 1, &lv, 1, NULL, NULL), 0);
	}
	struct iovec rv = { 0, sizeof(got) }, lv = { got, sizeof(got) };
	assert_int_equal(udma_domain_pull(back, NULL, &rv, 1, &lv, 1, NULL, NULL), 0);
	assert_memory_equal(got, mine, sizeof(got));
	assert_int_equal(udma_domain_destroy(back), 0);
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(g), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
}

/* The peer dies while several synchronous waiters poll: each gets an error, none hangs. */
static void test_sync_peer_killed(void **state)
{
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	struct syncer s[SYNC_THREADS];

	for (int t = 0; t < SYNC_THREADS; t++) {
		s[t] = (struct syncer){ .r = r, .p = &p, .t = t };
		assert_int_equal(pthread_create(&s[t].self, NULL, syncer_main, &s[t]), 0);
	}
	/* every thread under way, so the kill lands while they wait */
	double end = now_s() + 30;
	for (int t = 0; t < SYNC_THREADS && now_s() < end; t++)
		while (__atomic_load_n(&s[t].done, __ATOMIC_ACQUIRE) < 20 && !__atomic_load_n(&s[t].exited, __ATOMIC_ACQUIRE) &&
		       now_s() < end)
			usleep(1000);
	kill(p.pid, SIGKILL);
	int st;
	waitpid(p.pid, &st, 0);
	/* each ends within the fabric's timeout, plus slack for a loaded machine */
	end = now_s() + TIMEOUT_MS / 1000.0 + 20;
	for (int t = 0; t < SYNC_THREADS; t++)
		while (!__atomic_load_n(&s[t].exited, __ATOMIC_ACQUIRE) && now_s() < end)
			usleep(1000);
	for (int t = 0; t < SYNC_THREADS; t++) {
		if (!__atomic_load_n(&s[t].exited, __ATOMIC_ACQUIRE)) { /* it uses s: no way back from here */
			fprintf(stderr, "thread %d still waiting long after the peer died\n", t);
			abort();
		}
		assert_int_equal(pthread_join(s[t].self, NULL), 0);
		printf("thread %d: %d rounds, then %d\n", t, s[t].done, s[t].err);
		assert_true(s[t].err == -ECONNRESET || s[t].err == -ETIMEDOUT || s[t].err == -EIO);
		assert_int_equal(s[t].bad, 0);
	}
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	close(p.to);
	munmap(p.arena, ARENA);
}

struct nested {
	struct udma_domain *r;
	struct peer *p;
	char back[64];
	int rc;      /* the synchronous pull's result */
	int ran;     /* atomic: the callback has returned */
};

static void *resume_later(void *arg)
{
	struct peer *p = arg;
	usleep(100000);
	kill(p->pid, SIGCONT);
	return NULL;
}

/* On the progress thread: stop the peer, then a synchronous pull that must outlast the waiter's spin. */
static void cb_sync_pull(void *arg, int status)
{
	struct nested *n = arg;
	struct iovec rv = { (void *)4096, sizeof(n->back) }, bv = { n->back, sizeof(n->back) };
	pthread_t t;

	kill(n->p->pid, SIGSTOP);
	if (pthread_create(&t, NULL, resume_later, n->p)) {
		kill(n->p->pid, SIGCONT);
		n->rc = -EAGAIN;
	} else {
		n->rc = status ? status : udma_domain_pull(n->r, NULL, &rv, 1, &bv, 1, NULL, NULL);
		pthread_join(t, NULL);
	}
	__atomic_store_n(&n->ran, 1, __ATOMIC_RELEASE);
}

/*
 * A callback (on the progress thread) makes a synchronous request while the
 * peer is stopped for longer than a waiter polls: the waiter may not sleep
 * waiting for the progress thread, which is itself.
 */
static void test_sync_in_callback(void **state)
{
	struct peer p;
	peer_start(&p);
	struct udma_fabric *f = open_fab(0);
	struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
	struct nested n = { .r = r, .p = &p };
	char out[64];
	memset(out, 'n', sizeof(out));
	struct iovec rv = { (void *)4096, sizeof(out) }, lv = { out, sizeof(out) };

	assert_int_equal(udma_domain_push(r, NULL, &rv, 1, &lv, 1, cb_sync_pull, &n), 0);
	double end = now_s() + TIMEOUT_MS / 1000.0 + 20;
	while (!__atomic_load_n(&n.ran, __ATOMIC_ACQUIRE) && now_s() < end)
		usleep(1000);
	if (!__atomic_load_n(&n.ran, __ATOMIC_ACQUIRE)) { /* the progress thread uses n: no way back */
		kill(p.pid, SIGKILL);
		fprintf(stderr, "a synchronous request inside a callback never returned\n");
		abort();
	}
	assert_int_equal(n.rc, 0);
	assert_memory_equal(n.back, out, sizeof(out));
	assert_int_equal(udma_domain_destroy(r), 0);
	assert_int_equal(udma_fabric_close(f), 0);
	peer_stop(&p);
}

/* No progress thread: operations complete before returning, callbacks included. */
static void test_manual_progress_and_reg_local(void **state)
{
	struct peer p;
	peer_start(&p);
	uint32_t flags[] = { UDMA_FABRIC_MANUAL_PROGRESS, UDMA_FABRIC_REG_LOCAL,
			     UDMA_FABRIC_MANUAL_PROGRESS | UDMA_FABRIC_REG_LOCAL };
	for (int k = 0; k < 3; k++) {
		struct udma_fabric *f = open_fab(flags[k]);
		struct udma_domain *r = udma_fabric_import(f, &p.rw, NULL);
		char buf[20000], back[20000];
		memset(buf, 'a' + k, sizeof(buf));
		struct iovec rv = { (void *)12345, sizeof(buf) }, lv = { buf, sizeof(buf) }, bv = { back, sizeof(back) };
		struct done d = { 0 };
		assert_int_equal(udma_domain_push(r, NULL, &rv, 1, &lv, 1, on_done, &d), 0);
		if (flags[k] & UDMA_FABRIC_MANUAL_PROGRESS)
			assert_int_equal(d.n, 1); /* already */
		assert_true(wait_done(&d, 1, 10));
		if (d.errors) /* a failed push leaves the peer as it was: say why, not which bytes */
			fail_msg("push (flags 0x%x) failed: %d (%s)", flags[k], d.last, strerror(-d.last));
		assert_memory_equal(p.arena + 12345, buf, sizeof(buf));
		assert_int_equal(udma_domain_pull(r, NULL, &rv, 1, &bv, 1, NULL, NULL), 0);
		assert_memory_equal(back, buf, sizeof(buf));
		assert_int_equal(udma_domain_memzero(r, NULL, &rv, 1, NULL, NULL), 0);
		assert_true(all_zero(p.arena + 12345, sizeof(buf)));
		assert_true(udma_fabric_progress(f, 16) >= 0);
		assert_true(udma_fabric_progress_wait(f, 16, 1) >= 0); /* idle: no more to do */
		assert_int_equal(udma_domain_destroy(r), 0);
		assert_int_equal(udma_fabric_close(f), 0);
	}
	peer_stop(&p);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--server"))
		return server_main(atoi(argv[2]));
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_export_checks_memory),
		cmocka_unit_test(test_push_pull),
		cmocka_unit_test(test_rights_range_keys),
		cmocka_unit_test(test_killed_peer),
		cmocka_unit_test(test_many_concurrent),
		cmocka_unit_test(test_sync_threads),
		cmocka_unit_test(test_sync_peer_killed),
		cmocka_unit_test(test_serves_after_sync_stream),
		cmocka_unit_test(test_sync_in_callback),
		cmocka_unit_test(test_manual_progress_and_reg_local),
	};
	if (getenv("TEST_FILTER")) /* run one test: TEST_FILTER=test_peer_gone */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return tests_run(tests, NULL, NULL);
}
