/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allocation-failure sweeps. For each create/alloc/register path, make the
 * 1st, 2nd, 3rd ... call of malloc/calloc/realloc/aligned_alloc, mmap,
 * memfd_create or pthread_create fail, until the operation no longer reaches
 * the armed call. Every injected failure must come back as an error (or be
 * absorbed with the operation succeeding), leave the domain as it was
 * (empty, no stale translation, the whole IOVA window free), and leak
 * nothing: no heap block, mapping or descriptor (the fault.c ledger, in
 * every build) and nothing LeakSanitizer finds at exit (ASan build).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/backend.h>
#include <udma/compat/wd.h>
#include <linux/dma-mapping.h>
#include <dev/dmover/dmovervar.h>
#include "common.h"
#include "memory/device.h"
#include "fault.h"
#include "seed_hw_bzero.h"

#include <udma/pool.h>
#include <udma/fabric.h>
#include "pool_pa.h"

#define K4 4096ul
#define M2 (2ul << 20)
#define BROKEN (-100000) /* an operation found the library in a wrong state: see ctx.why */

struct ctx {
	enum udma_addr_mode mode;
	uint32_t flags;
	size_t size;
	int n;
	struct udma_domain *d, *shm, *custom;
	struct udma_mem m;
	char *arena, *map;
	size_t arena_len;
	int sv[2];
	char why[256];
};

static unsigned long total_sites, total_errors, total_absorbed, total_ops, failures;

/* A failed sweep: a failure of the suite. */
static void sweep_failed(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sweep_failed(const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL %s: %s\n", name, msg);
	failures++;
}

#define SWEEP_FAIL(...) do { sweep_failed(name, __VA_ARGS__); return; } while (0)

static int broken(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broken(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return BROKEN;
}

/*
 * Sweep run() with the nth call of kinds failing, n = 1, 2, ... until a run
 * reaches no nth call. setup and teardown run unarmed around each run; the
 * ledger is compared from before setup to after teardown. keeps: the
 * operation keeps a few heap blocks until exit by design (engines). The
 * first failure ends this sweep (later runs would start from a broken state).
 */
static void sweep(const char *name, unsigned kinds, int keeps, struct ctx *c, int (*setup)(struct ctx *),
		  int (*run)(struct ctx *), int (*teardown)(struct ctx *))
{
	unsigned long sites = 0, errors = 0, absorbed = 0;
	int rc;

	/* A dry run: must work, and warms up lazy state (per-thread arrays, the pagemap fd). */
	if (setup && (rc = setup(c)))
		SWEEP_FAIL("setup failed without faults: %d", rc);
	rc = run(c);
	if (rc == BROKEN)
		SWEEP_FAIL("without faults: %s", c->why);
	if (teardown && teardown(c))
		SWEEP_FAIL("teardown without faults: %s", c->why);
	if (rc) {
		printf("%-44s skipped: fails without faults (%s)\n", name, strerror(-rc));
		return;
	}
	for (unsigned long n = 1;; n++) {
		struct fault_snap before, after;
		char why[256];

		fault_snapshot(&before);
		if (setup && (rc = setup(c)))
			SWEEP_FAIL("setup failed: %d", rc);
		fault_arm(kinds, n);
		rc = run(c);
		fault_disarm();
		int fired = fault_fired();
		if (rc == BROKEN) {
			snprintf(why, sizeof(why), "%s", c->why);
			if (teardown) /* best effort: the state is wrong already */
				teardown(c);
			SWEEP_FAIL("call %lu failing: %s", n, why);
		}
		if (teardown && teardown(c))
			SWEEP_FAIL("call %lu failing: %s", n, c->why);
		fault_snapshot(&after);
		if (rc && rc != -ENOMEM && rc != -EAGAIN)
			SWEEP_FAIL("call %lu failing: unexpected error %d (%s)", n, rc, strerror(-rc));
		if (rc && !fired)
			SWEEP_FAIL("failed (%d) with no fault injected", rc);
		if (fault_compare(&before, &after, why, sizeof(why))) {
			int kept = keeps && after.heap >= before.heap && after.heap <= before.heap + 8 &&
				   after.maps == before.maps && after.map_bytes == before.map_bytes &&
				   after.fds == before.fds;
			if (!kept)
				SWEEP_FAIL("call %lu failing (%s): leaked: %s", n,
						    rc ? "error" : "absorbed", why);
		}
		if (!fired)
			break;
		sites++;
		if (rc)
			errors++;
		else
			absorbed++;
		if (n > 20000)
			SWEEP_FAIL("more than 20000 calls; is the operation deterministic?");
	}
	printf("%-44s %4lu calls failed: %4lu errors, %lu absorbed\n", name, sites, errors, absorbed);
	total_sites += sites;
	total_errors += errors;
	total_absorbed += absorbed;
	total_ops++;
}

/* sweep() in each address mode (PA where this process may read frame
 * numbers), named "what (mode)". */
static void sweep_modes(const char *what, struct ctx *c, int (*setup)(struct ctx *), int (*run)(struct ctx *),
			int (*teardown)(struct ctx *))
{
	char name[96];

	for (int mode = 0; mode < 3; mode++) {
		if (mode == UDMA_ADDR_PA && !pa_available())
			continue;
		c->mode = (enum udma_addr_mode)mode;
		snprintf(name, sizeof(name), "%s (%s)", what, udma_mode_name(c->mode));
		sweep(name, FAULT_ALL, 0, c, setup, run, teardown);
	}
}

/* ---- device domains ---------------------------------------------------------------- */

static int setup_domain(struct ctx *c)
{
	c->d = test_domain(c->mode);
	return c->d ? 0 : -errno;
}

/* The domain must be as new: nothing in it, the whole IOVA window free. */
static int teardown_domain(struct ctx *c)
{
	struct udma_domain *d = c->d;
	int rc = 0;

	if (dev_of(d)->regions.n || dev_of(d)->streams.n)
		rc = broken(c, "%zu regions and %zu streaming mappings left in the domain", dev_of(d)->regions.n,
			    dev_of(d)->streams.n);
	else if (dev_of(d)->mode == UDMA_ADDR_IOMMU && _udma_iova_free_bytes(&dev_of(d)->iova) != dev_of(d)->iova.size)
		rc = broken(c, "%llu bytes of the IOVA window lost",
			    (unsigned long long)(dev_of(d)->iova.size - _udma_iova_free_bytes(&dev_of(d)->iova)));
	else if ((rc = udma_domain_destroy(d)))
		rc = broken(c, "destroy: %d", rc);
	c->d = NULL;
	return rc;
}

static int run_domain_create(struct ctx *c)
{
	struct udma_domain *d = test_domain(c->mode);
	if (!d)
		return -errno;
	return udma_domain_destroy(d) ? broken(c, "destroy failed") : 0;
}

static int run_custom_create(struct ctx *c)
{
	char user[100] = "user context";
	struct udma_domain_ctx uc = { .size = sizeof(uc), .user_ctx = user, .user_ctx_size = sizeof(user) };
	struct udma_domain_ops ops = { .size = sizeof(ops) };
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = UDMA_DEV_ACCEL, .id = "fault-custom",
				      .ctx = &uc, .ops = &ops };
	struct udma_domain *d;
	int rc = udma_domain_create(&d, &o);

	if (rc)
		return rc;
	size_t n = 0;
	if (!udma_domain_user_ctx(d, &n) || n != sizeof(user))
		rc = broken(c, "user context not copied");
	udma_domain_destroy(d);
	return rc;
}

static void test_domains(void **state)
{
	struct ctx c = { 0 };
	sweep_modes("domain create", &c, NULL, run_domain_create, NULL);
	sweep("custom domain create (ctx, user ctx)", FAULT_ALL, 0, &c, NULL, run_custom_create, NULL);
}

/* ---- memory ---------------------------------------------------------------------------- */

static int run_alloc(struct ctx *c)
{
	struct udma_mem_opts o = { .size = sizeof(o), .flags = c->flags, .numa_node = 0 };
	struct udma_mem m;
	int rc = udma_mem_alloc(c->d, c->size, &o, &m);

	if (rc)
		return rc;
	size_t len = m.len;
	if (udma_va_to_iova(c->d, m.va, &len) != m.iova)
		rc = broken(c, "allocation does not translate to its iova");
	if (udma_mem_free(c->d, m.va, m.len))
		return broken(c, "free failed");
	if (udma_va_to_iova(c->d, m.va, NULL) != UDMA_BAD_IOVA)
		return broken(c, "freed memory still translates");
	return rc;
}

/* Many allocations, freed out of order: region array growth, IOVA fragmentation. */
static int run_alloc_many(struct ctx *c)
{
	struct udma_mem m[40];
	int n = 0, rc = 0;

	for (; n < 40; n++) {
		size_t size = ((size_t)(n * 7) % 5 + 1) * K4 + (n % 9 == 8 ? M2 : 0);
		if ((rc = udma_mem_alloc(c->d, size, NULL, &m[n])))
			break;
	}
	for (int odd = 1; odd >= 0; odd--)
		for (int i = odd; i < n; i += 2)
			if (udma_mem_free(c->d, m[i].va, m[i].len))
				return broken(c, "free of allocation %d failed", i);
	return rc;
}

static void test_alloc(void **state)
{
	static const struct {
		const char *name;
		uint32_t flags;
		size_t size;
	} cases[] = {
		{ "", 0, 3 * M2 + K4 },
		{ " CONTIG", UDMA_MEM_CONTIG, M2 },
		{ " PINNED", UDMA_MEM_PINNED, M2 + K4 },
		{ " SHARED", UDMA_MEM_SHARED, M2 + K4 },
		{ " SHARED|PINNED", UDMA_MEM_SHARED | UDMA_MEM_PINNED, 3 * K4 },
		{ " NUMA(0)", UDMA_MEM_NUMA, 5 * K4 },
		{ " HUGE_2M", UDMA_MEM_HUGE_2M, 2 * M2 },
		{ " HUGE_2M|SHARED", UDMA_MEM_HUGE_2M | UDMA_MEM_SHARED, M2 },
		{ " HUGE_1G|FALLBACK", UDMA_MEM_HUGE_1G | UDMA_MEM_HUGE_FALLBACK, M2 },
		{ " PHYS_CONTIG|HUGE_2M", UDMA_MEM_PHYS_CONTIG | UDMA_MEM_HUGE_2M, M2 },
	};
	struct ctx c = { 0 };
	char name[96];

	for (int mode = 0; mode < 3; mode++) {
		if (mode == UDMA_ADDR_PA && !pa_available())
			continue;
		c.mode = (enum udma_addr_mode)mode;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if ((cases[i].flags & UDMA_MEM_PHYS_CONTIG) && !pa_available())
				continue;
			c.flags = cases[i].flags;
			c.size = cases[i].size;
			snprintf(name, sizeof(name), "mem_alloc (%s)%s", udma_mode_name(c.mode), cases[i].name);
			sweep(name, FAULT_ALL | FAULT_HUGE, 0, &c, setup_domain, run_alloc, teardown_domain);
		}
		snprintf(name, sizeof(name), "mem_alloc x40, freed out of order (%s)", udma_mode_name(c.mode));
		sweep(name, FAULT_ALL, 0, &c, setup_domain, run_alloc_many, teardown_domain);
	}
}

/* An arena of our own, for registration and streaming maps. */
static int setup_arena(struct ctx *c)
{
	int rc = setup_domain(c);
	if (rc)
		return rc;
	c->arena_len = 14 * M2;
	c->map = mmap(NULL, c->arena_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->map == MAP_FAILED)
		return -errno;
	/* 2 MiB aligned, so which ranges cross into a fresh 2 MiB table is the same every run */
	c->arena = (char *)(((uintptr_t)c->map + M2 - 1) & ~(M2 - 1));
	memset(c->arena, 0x5a, 12 * M2);
	return 0;
}

static int teardown_arena(struct ctx *c)
{
	int rc = teardown_domain(c);
	munmap(c->map, c->arena_len);
	return rc;
}

/* Range n: 300 KiB apart, so some cross into a 2 MiB chunk no earlier range touched. */
static char *reg_va(struct ctx *c, int n)
{
	return c->arena + (size_t)n * 300 * 1024 + (size_t)(n % 3) * 100;
}

static size_t reg_len(int n)
{
	return 40000 + (size_t)n * 1500;
}

static int run_register(struct ctx *c)
{
	int n = 0, rc = 0;

	for (; n < 40; n++) {
		char *va = reg_va(c, n);
		size_t len = reg_len(n);
		if ((rc = udma_mem_register(c->d, va, len, NULL))) {
			/* a refused registration leaves no trace */
			if (udma_va_to_iova(c->d, va, NULL) != UDMA_BAD_IOVA ||
			    udma_va_to_iova(c->d, va + len - 1, NULL) != UDMA_BAD_IOVA)
				return broken(c, "registration %d failed (%d) but [%p, +%zu) still translates", n, rc,
					      (void *)va, len);
			struct udma_mem q;
			if (udma_mem_query(c->d, va, &q) != -ENOENT)
				return broken(c, "registration %d failed but is still found", n);
			break;
		}
		uint64_t io = udma_va_to_iova(c->d, va, NULL);
		if (io == UDMA_BAD_IOVA || (c->mode != UDMA_ADDR_PA && udma_iova_to_va(c->d, io, NULL) != va))
			return broken(c, "registration %d does not translate both ways", n);
	}
	while (n-- > 0)
		if (udma_mem_unregister(c->d, reg_va(c, n), reg_len(n)))
			return broken(c, "unregister %d failed", n);
	return rc;
}

static int run_stream(struct ctx *c)
{
	uint64_t io[40];
	size_t len = c->mode == UDMA_ADDR_PA ? 3000 : 5000; /* PA: within one page */
	int n = 0, rc = 0;

	for (; n < 40; n++) {
		char *va = c->arena + (size_t)n * 256 * 1024 + 300;
		io[n] = udma_map(c->d, va, len, UDMA_DIR_BIDI);
		if (io[n] == UDMA_BAD_IOVA) {
			rc = -errno;
			break;
		}
		if (c->mode == UDMA_ADDR_IOMMU && udma_iova_to_va(c->d, io[n], NULL) != va)
			return broken(c, "mapping %d does not translate back", n);
	}
	while (n-- > 0)
		if (udma_unmap(c->d, io[n], len))
			return broken(c, "unmap %d failed", n);
	return rc;
}

static void test_register_and_map(void **state)
{
	struct ctx c = { 0 };
	sweep_modes("mem_register x40", &c, setup_arena, run_register, teardown_arena);
	sweep_modes("udma_map x40", &c, setup_arena, run_stream, teardown_arena);
}

/* ---- shared memory and process domains ---------------------------------------------- */

static int setup_socket(struct ctx *c)
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) ? -errno : 0;
}

static int teardown_socket(struct ctx *c)
{
	close(c->sv[0]);
	close(c->sv[1]);
	return 0;
}

static int run_shm(struct ctx *c)
{
	struct udma_domain *a = udma_shm_create("fault-shm", c->size, c->flags), *b;
	int rc = 0;

	if (!a)
		return -errno;
	strcpy(udma_shm_base(a, NULL), "hello");
	for (int ro = 0; ro < 2 && !rc; ro++) {
		if ((rc = udma_shm_export(a, c->sv[0], ro)))
			break;
		if (!(b = udma_shm_import(c->sv[1], 1000))) {
			rc = -errno;
			break;
		}
		if (strcmp(udma_shm_base(b, NULL), "hello") || udma_shm_readonly(b) != ro)
			rc = broken(c, "imported segment differs");
		udma_domain_destroy(b);
	}
	udma_domain_destroy(a);
	return rc;
}

static int run_process(struct ctx *c)
{
	static char remote[3][5000];
	char local[15000];
	struct iovec r[3] = { { remote[0], 5000 }, { remote[1], 5000 }, { remote[2], 5000 } }, l = { local, 15000 };
	struct udma_domain *p = udma_process_domain_create(getpid(), "fault-proc");

	if (!p)
		return -errno;
	memset(remote, 7, sizeof(remote));
	int rc = udma_domain_pull(p, NULL, r, 3, &l, 1, NULL, NULL);
	if (!rc && local[14999] != 7)
		rc = broken(c, "pull moved nothing");
	udma_domain_destroy(p);
	return rc;
}

static void test_shm_and_process(void **state)
{
	struct ctx c = { .size = 1 << 20 };

	sweep("shm create/export/import (rw, ro)", FAULT_ALL, 0, &c, setup_socket, run_shm, teardown_socket);
	if (udma_hugepages_free(M2, -1) >= 2) {
		c.size = M2;
		c.flags = UDMA_SHM_HUGE_2M;
		sweep("shm create/export/import (HUGE_2M)", FAULT_ALL | FAULT_HUGE, 0, &c, setup_socket, run_shm,
		      teardown_socket);
	}
	sweep("process domain create + pull", FAULT_ALL, 0, &c, NULL, run_process, NULL);
}

/* ---- movers --------------------------------------------------------------------------- */

static int run_sessions(struct ctx *c)
{
	static const enum udma_func f[] = { UDMA_FUNC_COPY, UDMA_FUNC_XOR16, UDMA_FUNC_CRC32C, UDMA_FUNC_ZERO };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		for (int mode = 0; mode < 2; mode++) {
			struct udma_session_opts o = { .size = sizeof(o), .mode = (enum udma_compl_mode)mode, .depth = 32 };
			struct udma_session *s = udma_session_create(f[i], &o);
			if (!s)
				return -errno;
			struct udma_req *r = udma_req_alloc(s);
			if (!r || udma_req_free(r) || udma_session_destroy(s))
				return broken(c, "request alloc/free or session destroy failed");
		}
	return 0;
}

/* One copy through a session pinned to engine (NULL: auto), checked. */
static int copy_through(struct ctx *c, const char *engine)
{
	static char a[65536], b[65536];
	struct udma_session_opts o = { .size = sizeof(o), .engine = engine, .depth = 4 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	int rc;

	if (!s)
		return -errno;
	struct udma_req *r = udma_req_alloc(s);
	memset(a, 0x3c, sizeof(a));
	memset(b, 0, sizeof(b));
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, sizeof(a) } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, sizeof(b) } };
	r->flags = UDMA_REQ_WAIT;
	if (!(rc = udma_submit(r)))
		rc = r->status;
	if (!rc && memcmp(a, b, sizeof(a)))
		rc = broken(c, "copy through %s: wrong data", engine ? engine : "auto");
	udma_req_free(r);
	if (udma_session_destroy(s))
		rc = broken(c, "session destroy failed");
	return rc;
}

static int listed(const struct udma_engine_info *info, void *name)
{
	return !strcmp(info->name, name);
}

/* Unregister, and check the engine is gone for good (its name free again). */
static int unregister(struct ctx *c, struct udma_engine *e, const char *name)
{
	if (udma_engine_unregister(e))
		return broken(c, "unregister of %s failed", name);
	if (udma_engine_foreach(listed, (void *)name))
		return broken(c, "engine %s still listed after unregister", name);
	return 0;
}

static int run_threads_engine(struct ctx *c)
{
	struct udma_threads_opts o = { .size = sizeof(o), .workers = 2, .name = "fault-threads" };
	struct udma_engine *e = udma_threads_engine_create(&o);

	if (!e)
		return -errno;
	int rc = copy_through(c, "fault-threads"), rc2 = unregister(c, e, "fault-threads");
	return rc2 ? rc2 : rc;
}

static int run_error_engine(struct ctx *c)
{
	struct udma_error_opts o = { .size = sizeof(o), .name = "fault-error", .delay_us = 10 };
	struct udma_engine *e = udma_error_engine_create(&o);

	if (!e)
		return -errno;
	int rc = copy_through(c, "fault-error"), rc2 = unregister(c, e, "fault-error");
	return rc2 ? rc2 : rc;
}

/* A custom domain without a local view: addresses are offsets into `remote`. */
static char remote[1 << 17];

static int r_pull(struct udma_domain *src, void *ctx, struct iovec *src_iov, uint32_t scnt, struct iovec *dst_iov,
		  uint32_t dcnt, udma_done_fn cb, void *cb_arg)
{
	size_t done = 0;
	for (uint32_t i = 0; i < scnt; i++) { /* dst is one buffer in every caller here */
		memcpy((char *)dst_iov[0].iov_base + done, remote + (uintptr_t)src_iov[i].iov_base, src_iov[i].iov_len);
		done += src_iov[i].iov_len;
	}
	cb(cb_arg, 0);
	return 0;
}

static int r_push(struct udma_domain *dst, void *ctx, struct iovec *dst_iov, uint32_t dcnt, struct iovec *src_iov,
		  uint32_t scnt, udma_done_fn cb, void *cb_arg)
{
	size_t done = 0;
	for (uint32_t i = 0; i < dcnt; i++) {
		memcpy(remote + (uintptr_t)dst_iov[i].iov_base, (char *)src_iov[0].iov_base + done, dst_iov[i].iov_len);
		done += dst_iov[i].iov_len;
	}
	cb(cb_arg, 0);
	return 0;
}

static int r_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt, udma_done_fn cb, void *cb_arg)
{
	for (uint32_t i = 0; i < cnt; i++)
		memset(remote + (uintptr_t)iov[i].iov_base, 0, iov[i].iov_len);
	cb(cb_arg, 0);
	return 0;
}

static int setup_bounce(struct ctx *c)
{
	struct udma_domain_ops ops = { .size = sizeof(ops), .pull = r_pull, .push = r_push, .memzero = r_memzero };
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = UDMA_DEV_DMA, .id = "fault-remote", .ops = &ops };
	int rc;

	c->mode = UDMA_ADDR_IOMMU;
	if ((rc = setup_domain(c)) || (rc = udma_mem_alloc(c->d, 1 << 20, NULL, &c->m)) ||
	    (rc = udma_domain_create(&c->custom, &o)))
		return rc;
	c->shm = udma_shm_create("fault-bounce-shm", 1 << 20, 0);
	return c->shm ? 0 : -errno;
}

static int teardown_bounce(struct ctx *c)
{
	udma_mem_free(c->d, c->m.va, c->m.len);
	udma_domain_destroy(c->custom);
	udma_domain_destroy(c->shm);
	return teardown_domain(c);
}

/* 20 device-address pieces of 1 KiB, 2 KiB apart: local views of more than 16 pieces. */
static void dev_pieces(struct ctx *c, struct iovec *v, size_t at)
{
	for (int i = 0; i < 20; i++)
		v[i] = (struct iovec){ (void *)(uintptr_t)(c->m.iova + at + (size_t)i * 2048), 1024 };
}

static int run_bounce(struct ctx *c)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &(struct udma_session_opts){ .size = sizeof(struct udma_session_opts), .depth = 4 });
	struct udma_session *x = NULL;
	struct iovec dv[20], rv = { (void *)0, 20480 }, sv = { (void *)4096, 20480 }, ro = { (void *)65536, 20480 };
	static char out[20480];
	int rc = 0;

	if (!s)
		return -errno;
	for (size_t i = 0; i < sizeof(remote); i++)
		remote[i] = (char)(i * 7);
	struct udma_req *r = udma_req_alloc(s);
	r->flags = UDMA_REQ_WAIT;
	/* custom (bounced in) -> device (local view of 20 pieces) */
	dev_pieces(c, dv, 0);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->custom, NULL, &rv, 1 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->d, NULL, dv, 20 } };
	/* a failure may also come as the completion's status (a push after the work) */
	if ((rc = udma_submit(r)) || (rc = r->status))
		goto out;
	if (memcmp((char *)c->m.va + 19 * 2048, remote + 19 * 1024, 1024)) {
		rc = broken(c, "custom -> device copy: wrong data");
		goto out;
	}
	/* shm -> custom (bounced out, pushed at completion) */
	memset(udma_shm_base(c->shm, NULL), 0x11, 1 << 20);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->shm, NULL, &sv, 1 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->custom, NULL, &ro, 1 } };
	if ((rc = udma_submit(r)) || (rc = r->status))
		goto out;
	if (remote[65536 + 20479] != 0x11) {
		rc = broken(c, "shm -> custom copy: wrong data");
		goto out;
	}
	/* xor3 of custom, device and shm inputs */
	x = udma_session_create(UDMA_FUNC_XOR(3), &(struct udma_session_opts){ .size = sizeof(struct udma_session_opts), .depth = 2 });
	if (!x) {
		rc = -errno;
		goto out;
	}
	struct udma_req *q = udma_req_alloc(x);
	q->flags = UDMA_REQ_WAIT;
	q->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->custom, NULL, &rv, 1 } };
	q->in[1] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->d, NULL, dv, 20 } };
	q->in[2] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { c->shm, NULL, &sv, 1 } };
	q->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { out, sizeof(out) } };
	if (!(rc = udma_submit(q)))
		rc = q->status;
	/* device pieces hold what the first copy wrote: remote[0..20K) again, so in0 ^ in1 = 0 */
	if (!rc && out[100] != 0x11)
		rc = broken(c, "xor3 over domains: wrong data");
	udma_req_free(q);
out:
	udma_req_free(r);
	if (udma_session_destroy(s) || (x && udma_session_destroy(x)))
		rc = broken(c, "session destroy failed");
	return rc;
}

/* A sequence over the same domains: a custom domain pulled straight into a
 * temporary, its CRC, an XOR into 20 device pieces (views grown at run
 * time) with a shm input, shm pushed to the custom domain, a dualcast of the
 * custom domain (bounced) into temporaries. Every allocation that fails
 * comes back as -ENOMEM, from append, submit or the completion. */
static int run_sequence(struct ctx *c)
{
	struct iovec dv[20], rv = { (void *)0, 20480 }, sv = { (void *)4096, 20480 }, ro = { (void *)65536, 20480 };
	struct udma_buf t0 = UDMA_SEQ_TMP(0, 20480), outs[2] = { UDMA_SEQ_TMP(1, 20480), UDMA_SEQ_TMP(2, 20480) };
	struct udma_buf far = { .type = UDMA_BUF_DOMAIN, .dom = { c->custom, NULL, &rv, 1 } };
	struct udma_buf farout = { .type = UDMA_BUF_DOMAIN, .dom = { c->custom, NULL, &ro, 1 } };
	struct udma_buf shm = { .type = UDMA_BUF_DOMAIN, .dom = { c->shm, NULL, &sv, 1 } };
	struct udma_buf x[2] = { t0, shm };
	struct udma_seq *q = udma_seq_create(NULL);
	int rc = 0;

	if (!q)
		return -errno;
	for (size_t i = 0; i < sizeof(remote); i++)
		remote[i] = (char)(i * 7);
	memset(udma_shm_base(c->shm, NULL), 0x11, 1 << 20);
	dev_pieces(c, dv, 0);
	struct udma_step st[5] = {
		{ .func = UDMA_FUNC_COPY, .out = t0, .in = &far, .nin = 1 },
		{ .func = UDMA_FUNC_CRC32C, .in = &t0, .nin = 1 },
		{ .func = UDMA_FUNC_XOR2, .out = { .type = UDMA_BUF_DOMAIN, .dom = { c->d, NULL, dv, 20 } }, .in = x, .nin = 2 },
		{ .func = UDMA_FUNC_COPY, .out = farout, .in = &shm, .nin = 1 },
		{ .func = UDMA_FUNC_DUALCAST, .in = &far, .nin = 1, .outs = outs, .nouts = 2 },
	};
	for (int i = 0; i < 5 && !rc; i++) {
		st[i].size = sizeof(st[i]);
		rc = udma_seq_append(q, &st[i]);
	}
	if (!rc && !(rc = udma_seq_submit(q, NULL, NULL)) && !(rc = udma_seq_wait(q)))
		rc = udma_seq_status(q);
	if (!rc && ((char *)c->m.va)[19 * 2048 + 5] != (char)(((19 * 1024 + 5) * 7) ^ 0x11))
		rc = broken(c, "sequence: wrong XOR in the device pieces");
	if (!rc && remote[65536 + 100] != 0x11)
		rc = broken(c, "sequence: shm -> custom copy missing");
	if (udma_seq_destroy(q))
		rc = broken(c, "sequence destroy failed");
	return rc;
}

static void test_movers(void **state)
{
	struct ctx c = { 0 };

	sweep("session create x8 (4 functions, 2 modes)", FAULT_ALL, 0, &c, NULL, run_sessions, NULL);
	sweep("threads engine create + copy + unregister", FAULT_ALL, 1, &c, NULL, run_threads_engine, NULL);
	sweep("error engine (delay) create + copy + unregister", FAULT_ALL, 1, &c, NULL, run_error_engine, NULL);
	sweep("submit with domain buffers (bounce, views)", FAULT_ALL, 0, &c, setup_bounce, run_bounce, teardown_bounce);
	sweep("sequence over custom, device, shm domains", FAULT_ALL, 0, &c, setup_bounce, run_sequence, teardown_bounce);
}

/* ---- domain operations ---------------------------------------------------------------- */

static int run_domain_ops(struct ctx *c)
{
	struct iovec dv[20], cv[20];
	static char local[20480];
	struct iovec l = { local, sizeof(local) }, sv = { (void *)0, 20480 };
	int rc;

	dev_pieces(c, dv, 0);
	for (int i = 0; i < 20; i++)
		cv[i] = (struct iovec){ (void *)(uintptr_t)(i * 2048), 1024 };
	memset(local, 9, sizeof(local));
	if ((rc = udma_domain_push(c->d, NULL, dv, 20, &l, 1, NULL, NULL)) ||
	    (rc = udma_domain_pull(c->d, NULL, dv, 20, &l, 1, NULL, NULL)) ||
	    (rc = udma_domain_memzero(c->d, NULL, dv, 20, NULL, NULL)) ||
	    (rc = udma_domain_transfer(c->d, NULL, dv, 20, c->shm, NULL, &sv, 1, NULL, NULL, NULL)) ||
	    (rc = udma_domain_pull(c->custom, NULL, cv, 20, &l, 1, NULL, NULL)) ||
	    (rc = udma_domain_push(c->custom, NULL, cv, 20, &l, 1, NULL, NULL)) ||
	    (rc = udma_domain_memzero(c->custom, NULL, cv, 20, NULL, NULL)))
		return rc;
	struct udma_xlate_result xr = { .size = sizeof(xr) };
	if ((rc = udma_domain_translate(c->d, NULL, udma_system_domain(), NULL, dv[0].iov_base, 1024, &xr)))
		return rc;
	return xr.iov.iov_base == c->m.va ? 0 : broken(c, "translation to the system domain is wrong");
}

static void test_domain_ops(void **state)
{
	struct ctx c = { 0 };
	sweep("domain push/pull/memzero/transfer/translate", FAULT_ALL, 0, &c, setup_bounce, run_domain_ops,
	      teardown_bounce);
}

/* ---- the seed interfaces ------------------------------------------------------------- */

static int run_wd(struct ctx *c)
{
	static const char *const path[] = { "va", "pa", "iommu" };
	struct wd_queue q;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(q.dev_path, sizeof(q.dev_path), "%s", path[c->mode]);
	if ((rc = wd_request_queue(&q)))
		return rc;
	void *a = wd_reserve_memory(&q, 100000), *io = NULL;
	if (!a)
		rc = -ENOMEM;
	else if (!(io = wd_iova_map(&q, (char *)a + 4096, 4096)))
		rc = -ENOMEM;
	else
		wd_iova_unmap(&q, (char *)a + 4096, io, 4096);
	wd_release_queue(&q);
	return rc;
}

static int run_dma_mapping(struct ctx *c)
{
	static const char *const path[] = { "va", "pa", "iommu" };
	static char buf[3000];
	struct device *dev = dma_device_open(path[c->mode]);
	dma_addr_t h[3];
	void *p[3] = { 0 };
	int rc = 0;

	if (!dev)
		return -errno;
	for (int i = 0; i < 3 && !rc; i++)
		if (!(p[i] = dma_alloc_coherent(dev, 5000 + (size_t)i * 70000, &h[i], 0)))
			rc = -ENOMEM;
	dma_addr_t s = dma_map_single(dev, buf + 100, 1000, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, s))
		rc = rc ? rc : -ENOMEM;
	else
		dma_unmap_single(dev, s, 1000, DMA_TO_DEVICE);
	for (int i = 0; i < 3; i++)
		if (p[i])
			dma_free_coherent(dev, 5000 + (size_t)i * 70000, p[i], h[i]);
	dma_device_close(dev);
	return rc;
}

static int run_dmover(struct ctx *c)
{
	static char buf[5000];
	memset(buf, 1, sizeof(buf));
	int rc = -hw_bzero(buf, sizeof(buf));
	if (!rc && !all_zero(buf, sizeof(buf)))
		rc = broken(c, "hw_bzero left bytes");
	return rc;
}

static void test_compat(void **state)
{
	struct ctx c = { 0 };
	sweep_modes("wd queue/reserve/iova_map", &c, NULL, run_wd, NULL);
	sweep_modes("dma_alloc_coherent/map_single", &c, NULL, run_dma_mapping, NULL);
	sweep("dmover hw_bzero (seed 004 example)", FAULT_ALL, 0, &c, NULL, run_dmover, NULL);
}

/* ---- pools --------------------------------------------------------------------------- */

static int run_pool(struct ctx *c)
{
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = 2000, .block_count = 300, .flags = c->flags,
				    .max_blocks = c->flags & UDMA_POOL_GROW ? 600 : 0, .name = "fault-pool" };
	static void *b[450];
	unsigned want = c->flags & UDMA_POOL_GROW ? 450 : 300, n = 0;
	struct udma_pool *p = udma_pool_create(c->d, &o);
	int rc = 0;

	if (!p)
		return -errno;
	for (; n < want; n++)
		if (!(b[n] = udma_pool_get(p))) {
			rc = (c->flags & UDMA_POOL_GROW) && n >= 300 && errno == ENOMEM ? -ENOMEM
												: broken(c, "get %u failed", n);
			break;
		}
	for (unsigned i = 0; i < n; i++)
		if (udma_pool_put(p, (char *)b[i] + i % 2000))
			return broken(c, "put %u failed", i);
	if (udma_pool_destroy(p, 0))
		return broken(c, "destroy failed");
	return rc;
}

static void test_pool(void **state)
{
	static const struct {
		const char *name;
		uint32_t flags;
	} cases[] = { { "", 0 }, { " NO_CACHE", UDMA_POOL_NO_CACHE }, { " GROW", UDMA_POOL_GROW } };
	struct ctx c = { 0 };
	char name[96];

	for (int mode = 0; mode < 3; mode += 2) {
		c.mode = (enum udma_addr_mode)mode;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			c.flags = cases[i].flags;
			snprintf(name, sizeof(name), "pool create/get/put/destroy (%s)%s", udma_mode_name(c.mode),
				 cases[i].name);
			sweep(name, FAULT_ALL, 0, &c, setup_domain, run_pool, teardown_domain);
		}
	}
}

/* ---- fabrics ------------------------------------------------------------------------- */

/* Open, export, import our own export, move bytes both ways, tear down. Manual
 * progress: one thread, so every call of ours is the one counted. */
static int run_fabric(struct ctx *c)
{
	static char mem[65536], buf[4096];
	struct udma_fabric_opts o = { .size = sizeof(o), .flags = UDMA_FABRIC_MANUAL_PROGRESS, .timeout_ms = 2000 };
	struct udma_fabric *f = udma_fabric_open(&o);
	struct udma_fabric_desc d;
	struct udma_domain *r = NULL;
	int rc;

	if (!f)
		return -errno;
	memset(mem, 7, sizeof(mem));
	if ((rc = udma_fabric_export(f, mem, sizeof(mem), UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &d)))
		goto out;
	if (!(r = udma_fabric_import(f, &d, "fault-remote-self"))) {
		rc = -errno;
		goto out;
	}
	struct iovec at = { (void *)4096, sizeof(buf) }, lv = { buf, sizeof(buf) };
	memset(buf, 9, sizeof(buf));
	if ((rc = udma_domain_push(r, NULL, &at, 1, &lv, 1, NULL, NULL)) ||
	    (rc = udma_domain_pull(r, NULL, &at, 1, &lv, 1, NULL, NULL)))
		goto out;
	if (mem[4096] != 9 || buf[0] != 9)
		rc = broken(c, "bytes did not move through the fabric");
out:
	if (r && udma_domain_destroy(r))
		rc = broken(c, "remote domain destroy failed");
	if (udma_fabric_close(f))
		rc = broken(c, "fabric close failed");
	return rc;
}

static void test_fabric(void **state)
{
	struct ctx c = { 0 };
	sweep("fabric open/export/import/push/pull/close", FAULT_ALL, 0, &c, NULL, run_fabric, NULL);
}

/* ---- hugepage exhaustion, for real --------------------------------------------------- */

static void test_hugepage_exhaustion(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_HUGE_2M };
	struct fault_snap before, after;
	struct udma_mem m;
	char why[256];
	long free2m = udma_hugepages_free(M2, -1), free1g = udma_hugepages_free(1ul << 30, -1);

	if (free2m < 0)
		free2m = 0;
	/* more 2 MiB pages than are free: -ENOMEM, nothing kept (the kernel refuses at mmap) */
	fault_snapshot(&before);
	assert_int_equal(udma_mem_alloc(d, (size_t)(free2m + 1) * M2, &o, &m), -ENOMEM);
	o.flags |= UDMA_MEM_SHARED;
	assert_int_equal(udma_mem_alloc(d, (size_t)(free2m + 1) * M2, &o, &m), -ENOMEM);
	assert_null(udma_shm_create("fault-huge", (size_t)(free2m + 1) * M2, UDMA_SHM_HUGE_2M));
	assert_int_equal(errno, ENOMEM);
	fault_snapshot(&after);
	if (fault_compare(&before, &after, why, sizeof(why)))
		fail_msg("hugepage shortage leaked: %s", why);
	/* 1 GiB pages: none free here (usually) -> -ENOMEM; with FALLBACK, smaller pages */
	if (free1g <= 0) {
		o.flags = UDMA_MEM_HUGE_1G;
		assert_int_equal(udma_mem_alloc(d, M2, &o, &m), -ENOMEM);
		o.flags |= UDMA_MEM_HUGE_FALLBACK;
		assert_int_equal(udma_mem_alloc(d, M2, &o, &m), 0);
		assert_true(m.page_size < (1ul << 30));
		assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	}
	/* all free 2 MiB pages taken by us: the next one is refused, the fallback still works */
	if (free2m > 0 && free2m <= 512) {
		struct udma_mem all;
		o.flags = UDMA_MEM_HUGE_2M;
		if (udma_mem_alloc(d, (size_t)free2m * M2, &o, &all) == 0) { /* others may have taken some meanwhile */
			fault_snapshot(&before);
			assert_int_equal(udma_mem_alloc(d, M2, &o, &m), -ENOMEM);
			assert_null(udma_shm_create("fault-huge", M2, UDMA_SHM_HUGE_2M));
			o.flags |= UDMA_MEM_HUGE_FALLBACK;
			assert_int_equal(udma_mem_alloc(d, M2, &o, &m), 0);
			assert_int_equal(m.page_size, K4);
			assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
			fault_snapshot(&after);
			assert_int_equal(udma_mem_free(d, all.va, all.len), 0);
			if (fault_compare(&before, &after, why, sizeof(why)))
				fail_msg("hugepage exhaustion leaked: %s", why);
		}
	}
	assert_int_equal(udma_domain_destroy(d), 0);
}

static int report(void **state)
{
	printf("fault sweeps: %lu operations, %lu allocation calls failed one at a time: %lu returned an error, "
	       "%lu absorbed; nothing leaked\n",
	       total_ops, total_sites, total_errors, total_absorbed);
	return 0;
}

/* ---- a PA pool on scattered 4 KiB pages, for real ---------------------------------- */

/*
 * PA mode takes 2 MiB pages while any are free, so the path where blocks
 * straddle two physical pages that are not adjacent (skipped, counted, and
 * creation retried with more memory) only runs without them. Here, alone
 * (this program runs by itself), every free 2 MiB page is taken, and free
 * memory is scattered: 64 MiB of 4 KiB pages populated and every other page
 * given back, so the pool's pages come from those single frames.
 */
static void test_pa_pool_on_4k_pages(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA), *hold = test_domain(UDMA_ADDR_VA);
	struct udma_mem_opts ho = { .size = sizeof(ho), .flags = UDMA_MEM_HUGE_2M };
	struct udma_mem all = { 0 };
	long free2m = udma_hugepages_free(M2, -1);
	size_t flen = 64ul << 20;

	if (free2m > 0)
		assert_int_equal(udma_mem_alloc(hold, (size_t)free2m * M2, &ho, &all), 0);
	char *f = mmap(NULL, flen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f != MAP_FAILED);
	madvise(f, flen, MADV_NOHUGEPAGE);
	memset(f, 1, flen);
	for (size_t off = 0; off < flen; off += 2 * K4)
		munmap(f + off, K4);

	uint64_t skipped = pa_pool_sizes_check(d, "PA pool on 4 KiB pages");
	if (!skipped)
		printf("note: the pool's frames were adjacent after all; no slot straddled\n");
	/* what fails for want of hugepages says so, without a debug switch */
	struct udma_mem_opts co = { .size = sizeof(co), .flags = UDMA_MEM_CONTIG };
	struct udma_mem cm;
	int err = udma_mem_alloc(d, 16 * K4, &co, &cm);
	if (!err)
		udma_mem_free(d, cm.va, cm.len);
	else
		assert_non_null(strstr(udma_strerror_last(), "physically contiguous need 2048 kB hugepages and 0 are free"));
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = 65536, .block_count = 16, .name = "p64k" };
	struct udma_pool *p64 = udma_pool_create(d, &po);
	if (p64)
		udma_pool_destroy(p64, 0);
	else
		assert_non_null(strstr(udma_strerror_last(), "pool p64k: blocks of 65536 bytes need physically contiguous"));
	munmap(f, flen);
	if (all.va)
		assert_int_equal(udma_mem_free(hold, all.va, all.len), 0);
	assert_int_equal(udma_domain_destroy(hold), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_register_and_map),
		cmocka_unit_test(test_shm_and_process),
		cmocka_unit_test(test_movers),
		cmocka_unit_test(test_domain_ops),
		cmocka_unit_test(test_compat),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_fabric),
		cmocka_unit_test(test_hugepage_exhaustion),
		cmocka_unit_test(test_pa_pool_on_4k_pages),
	};
	int rc = cmocka_run_group_tests(tests, NULL, report);
	if (failures)
		printf("%lu sweeps failed\n", failures);
	return tests_status(rc || failures, sizeof(tests) / sizeof(tests[0]));
}
