/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf --translate`: translation lookups per second over 1 GiB
 * registered in mixed pieces (2 MiB pieces alternating with runs of 512
 * 4 KiB pieces), in each address mode, and (with --peers) DPDK's
 * translation calls on the same addresses in the same run.
 *
 *   --cpu CPU    pin to CPU (default: the last one allowed)
 *   --reps N     repetitions per figure; the median is reported (default 11)
 *   --rep-ms MS  target time of one repetition (default 20)
 *   --peers      DPDK's calls beside udma's (else they are "left out")
 *   --no-huge    run DPDK's EAL without hugepages
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <udma/udma.h>

#include "perf.h"

#ifdef UDMA_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_version.h>
#endif

#define TOTAL (1ull << 30)
#define PAGE 4096ull
#define HUGE (2ull << 20)
#define GROUP (2 * HUGE)   /* one 2 MiB piece, then 512 4 KiB pieces */
#define NGROUPS (TOTAL / GROUP)
#define NPIECES (NGROUPS * (1 + HUGE / PAGE))
#define NKEYS 4096u        /* power of two; 32 KiB of keys stays cache-resident */
#define MAXREPS 101
#define MAXROWS 24

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static struct {
	int cpu, reps, no_dpdk, no_huge;
	double target_ns;
} opt;
static struct perf_ctx *tpx;

/* Lines of commentary: on stdout with the table, left out of JSON. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (tpx->o->json)
		return;
	perf_progress_clear(tpx);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* Registration cost per mode, for the JSON. */
static struct {
	const char *mode;
	double reg_ns, unreg_ns;
	unsigned contig;
} regs[3];
static int nregs;

/* Every result is summed into here, so no lookup can be optimised away. */
static volatile uint64_t sink;

/* Nothing measured after this would mean anything: stop here. */
static void die(const char *what, int err)
{
	perf_progress_clear(tpx);
	fprintf(stderr, "udma perf --translate: failed: %s: %s\n", what, strerror(err < 0 ? -err : err));
	perf_dpdk_fini();
	exit(1);
}

/* What a kernel looks up: keys for random lookups, a range for sequential ones. */
struct ctx {
	struct udma_domain *d;
	const uint64_t *keys;      /* NKEYS VAs or device addresses */
	uint64_t seq_base, seq_end; /* sequential: seq_base, +4 KiB, ... wrapping at seq_end */
};

typedef uint64_t (*kernel_fn)(const struct ctx *c, size_t n);

/*
 * Three loops per lookup function, generated so the call is direct:
 *   _rand  independent lookups of random keys: the CPU overlaps them (throughput)
 *   _dep   each key's index depends on the previous result (latency)
 *   _seq   4 KiB steps through the 1 GiB
 */
#define KERN_RAND(name, look)                                          \
	static uint64_t name##_rand(const struct ctx *c, size_t n)     \
	{                                                              \
		uint64_t acc = 0;                                      \
		for (size_t i = 0; i < n; i++)                         \
			acc += look(c, c->keys[i & (NKEYS - 1)]);      \
		return acc;                                            \
	}
/* v >> 63 is 0 for every valid answer, but the compiler cannot know it. */
#define KERN_DEP(name, look)                                           \
	static uint64_t name##_dep(const struct ctx *c, size_t n)      \
	{                                                              \
		uint64_t acc = 0, j = 0;                               \
		for (size_t i = 0; i < n; i++) {                       \
			uint64_t v = look(c, c->keys[j]);              \
			acc += v;                                      \
			j = (j + 1 + (v >> 63)) & (NKEYS - 1);         \
		}                                                      \
		return acc;                                            \
	}
#define KERN_SEQ(name, look)                                           \
	static uint64_t name##_seq(const struct ctx *c, size_t n)      \
	{                                                              \
		uint64_t acc = 0, k = c->seq_base;                     \
		for (size_t i = 0; i < n; i++) {                       \
			acc += look(c, k);                             \
			k += PAGE;                                     \
			if (k >= c->seq_end)                           \
				k = c->seq_base;                       \
		}                                                      \
		return acc;                                            \
	}

static inline uint64_t u_fwd(const struct ctx *c, uint64_t k)
{
	return udma_va_to_iova(c->d, (const void *)(uintptr_t)k, NULL);
}

/* Asking for 4 KiB from an unaligned address walks into the next entry. */
static inline uint64_t u_fwd_len(const struct ctx *c, uint64_t k)
{
	size_t len = PAGE;
	uint64_t r = udma_va_to_iova(c->d, (const void *)(uintptr_t)k, &len);

	return r + len;
}

static inline uint64_t u_rev(const struct ctx *c, uint64_t k)
{
	return (uintptr_t)udma_iova_to_va(c->d, k, NULL);
}

KERN_RAND(u_fwd, u_fwd)
KERN_DEP(u_fwd, u_fwd)
KERN_SEQ(u_fwd, u_fwd)
KERN_RAND(u_fwd_len, u_fwd_len)
KERN_RAND(u_rev, u_rev)

#ifdef UDMA_HAVE_DPDK
/* iova-mode=va: returns its argument (after asking the EAL for the mode). */
static inline uint64_t d_virt2iova(const struct ctx *c, uint64_t k)
{
	return rte_mem_virt2iova((const void *)(uintptr_t)k);
}

/* DPDK's table lookup, what rte_malloc_virt2iova() does for external memory. */
static inline uint64_t d_memseg(const struct ctx *c, uint64_t k)
{
	const struct rte_memseg *ms = rte_mem_virt2memseg((const void *)(uintptr_t)k, NULL);

	return ms ? ms->iova + (k - (uintptr_t)ms->addr) : RTE_BAD_IOVA;
}

static inline uint64_t d_iova2virt(const struct ctx *c, uint64_t k)
{
	return (uintptr_t)rte_mem_iova2virt(k);
}

/* Opens, seeks and reads /proc/self/pagemap on every call. */
static inline uint64_t d_virt2phy(const struct ctx *c, uint64_t k)
{
	return rte_mem_virt2phy((const void *)(uintptr_t)k);
}

KERN_RAND(d_virt2iova, d_virt2iova)
KERN_DEP(d_virt2iova, d_virt2iova)
KERN_SEQ(d_virt2iova, d_virt2iova)
KERN_RAND(d_memseg, d_memseg)
KERN_DEP(d_memseg, d_memseg)
KERN_SEQ(d_memseg, d_memseg)
KERN_RAND(d_iova2virt, d_iova2virt)
KERN_RAND(d_virt2phy, d_virt2phy)
KERN_SEQ(d_virt2phy, d_virt2phy)
#endif

struct stat {
	double med, min, max; /* ns per lookup */
	size_t n;             /* lookups per repetition */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double run_once(kernel_fn k, const struct ctx *c, size_t n)
{
	uint64_t t0 = tool_now_ns();

	sink += k(c, n);
	return (double)(tool_now_ns() - t0);
}

/* Size a repetition to about opt.target_ns (slow calls get few lookups), warm
 * up, take the median. Interrupted: s.n is 0, the figures nothing. */
static struct stat measure(kernel_fn k, const struct ctx *c)
{
	double ns[MAXREPS], t;
	struct stat s = { 0 };
	size_t n = 16;

	while ((t = run_once(k, c, n)) < opt.target_ns / 8 && !perf_interrupted)
		n *= 2;
	n = (size_t)((double)n * opt.target_ns / t);
	if (n < 8)
		n = 8;
	run_once(k, c, n);
	for (int r = 0; r < opt.reps; r++)
		if (perf_interrupted)
			return s;
		else
			ns[r] = run_once(k, c, n) / (double)n;
	qsort(ns, (size_t)opt.reps, sizeof(ns[0]), cmp_double);
	s.med = ns[opt.reps / 2];
	s.min = ns[0];
	s.max = ns[opt.reps - 1];
	s.n = n;
	return s;
}

/* One line of the table: a udma figure and its DPDK counterpart, if any. */
struct row {
	char mode[8], what[48];
	struct stat u;
	const char *peer;    /* NULL: DPDK has no such call */
	const char *missing; /* peer not measured: why */
	struct stat p;
};

static struct row rows[MAXROWS];
static int nrows;
static const char *peer_missing; /* why no DPDK figure at all, or NULL */

/* The live line: which figure is being measured (15 udma figures, up to 8 DPDK ones). */
static void progress(const char *mode, const char *what)
{
	if (!perf_progress_on(tpx))
		return;
	fprintf(stderr, "\r\033[K[%u] %s: %s", ++tpx->point, mode, what);
	fflush(stderr);
}

/* A row measured; NULL (and no row) once interrupted. */
static struct row *row_add(const char *mode, const char *what, kernel_fn uk, const struct ctx *c)
{
	struct row *r = &rows[nrows];

	if (perf_interrupted)
		return NULL;
	snprintf(r->mode, sizeof(r->mode), "%s", mode);
	snprintf(r->what, sizeof(r->what), "%s", what);
	progress(mode, what);
	r->u = measure(uk, c);
	if (!r->u.n)
		return NULL;
	nrows++;
	return r;
}

/* The DPDK counterpart of r (NULL: none). k NULL: the peer could not run (why in missing). */
static void row_peer(struct row *r, const char *peer, kernel_fn k, const struct ctx *c, const char *missing)
{
	if (!r)
		return;
	r->peer = peer;
	r->missing = missing ? missing : peer_missing;
	if (k && !r->missing) {
		progress(r->mode, peer);
		r->p = measure(k, c);
		if (!r->p.n)
			r->missing = "interrupted";
	}
}

static void print_ns(const struct stat *s)
{
	double spread = s->med > 0 ? 50.0 * (s->max - s->min) / s->med : 0;

	if (s->med < 100)
		printf(" %.2f ±%.0f%% | %.0f |", s->med, spread, 1e3 / s->med);
	else
		printf(" %.0f ±%.0f%% | %.2f |", s->med, spread, 1e3 / s->med);
}

static void print_table(void)
{
	printf("\n| mode | udma lookup | udma ns | udma M/s | DPDK peer | DPDK ns | DPDK M/s | udma/DPDK |\n");
	printf("|---|---|---:|---:|---|---:|---:|---:|\n");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("| %s | %s |", r->mode, r->what);
		print_ns(&r->u);
		if (!r->peer)
			printf(" — | | | |\n");
		else if (r->missing)
			printf(" %s: missing: %s | | | |\n", r->peer, r->missing);
		else {
			printf(" %s |", r->peer);
			print_ns(&r->p);
			printf(" %.3g |\n", r->u.med / r->p.med);
		}
	}
}

/* The 1 GiB: GROUP-sized groups of one 2 MiB piece and a run of 4 KiB pieces. */
static uint8_t *base, *map_start;

static void layout_init(void)
{
	void *map = mmap(NULL, TOTAL + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED)
		die("mmap 1 GiB", errno);
	map_start = map;
	base = (uint8_t *)(((uintptr_t)map + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	/* THP under the 2 MiB pieces, so PA mode finds them contiguous; real 4 KiB
	 * pages under the runs. Faulted in a group at a time, to stop when told. */
	for (size_t g = 0; g < NGROUPS && !perf_interrupted; g++) {
		uint8_t *p = base + g * GROUP;
		madvise(p, HUGE, MADV_HUGEPAGE);
		madvise(p + HUGE, HUGE, MADV_NOHUGEPAGE);
		if (madvise(p, GROUP, MADV_POPULATE_WRITE) < 0)
			for (size_t off = 0; off < GROUP; off += PAGE)
				p[off] = 1;
	}
}

/* Register every piece in d; *contig counts 2 MiB pieces that got one device
 * range. ns per piece, or -1 if interrupted. */
static double register_all(struct udma_domain *d, unsigned *contig)
{
	uint64_t t0 = tool_now_ns();
	struct udma_mem m;
	int err;

	*contig = 0;
	for (size_t g = 0; g < NGROUPS; g++) {
		uint8_t *p = base + g * GROUP;

		if (perf_interrupted)
			return -1;
		if ((err = udma_mem_register(d, p, HUGE, &m)))
			die("udma_mem_register 2 MiB", err);
		*contig += (unsigned)m.contiguous;
		for (size_t off = HUGE; off < GROUP; off += PAGE)
			if ((err = udma_mem_register(d, p + off, PAGE, NULL)))
				die("udma_mem_register 4 KiB", err);
	}
	return (double)(tool_now_ns() - t0) / (double)NPIECES;
}

/* Highest first: the domain keeps its regions in a sorted array. */
static double unregister_all(struct udma_domain *d)
{
	uint64_t t0 = tool_now_ns();
	int err;

	for (size_t g = NGROUPS; g-- > 0;) {
		uint8_t *p = base + g * GROUP;

		for (size_t off = GROUP; (off -= PAGE) >= HUGE;)
			if ((err = udma_mem_unregister(d, p + off, PAGE)))
				die("udma_mem_unregister 4 KiB", err);
		if ((err = udma_mem_unregister(d, p, HUGE)))
			die("udma_mem_unregister 2 MiB", err);
	}
	return (double)(tool_now_ns() - t0) / (double)NPIECES;
}

static struct udma_domain *domain(enum udma_addr_mode mode)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = mode, .vfio_container_fd = -1 };
	struct udma_domain *d = udma_device_domain_create(&o);

	if (!d)
		die("udma_device_domain_create", errno);
	return d;
}

/* Every key must translate, and to what the mode says; else the figures mean nothing. */
static void check(int ok, const char *what, size_t i, uint64_t got, uint64_t want)
{
	if (ok)
		return;
	perf_progress_clear(tpx);
	fprintf(stderr, "udma perf --translate: failed: %s: key %zu: got 0x%llx, want 0x%llx\n", what, i,
		(unsigned long long)got, (unsigned long long)want);
	perf_dpdk_fini();
	exit(1);
}

static uint64_t keys_va[NKEYS], keys_dev[NKEYS];

/* Random 64-byte-aligned addresses anywhere in the 1 GiB (xorshift, fixed seed). */
static void keys_init(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < NKEYS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		keys_va[i] = (uintptr_t)base + ((x % TOTAL) & ~63ull);
	}
}


static void bench_va(void)
{
	struct udma_domain *d = domain(UDMA_ADDR_VA);
	struct ctx c = { .d = d, .keys = keys_va, .seq_base = (uintptr_t)base + 64,
			 .seq_end = (uintptr_t)base + TOTAL };
	unsigned contig;
	double reg = register_all(d, &contig);

	/* Interrupted: the domain and its pieces go with the process; unregistering
	 * them all (PA mode most) would take longer than stopping should. */
	if (reg < 0)
		return;
	say("va:    registered %llu pieces, %.0f ns each\n", (unsigned long long)NPIECES, reg);
	regs[nregs] = (typeof(regs[0])){ "va", reg, 0, contig };
	for (unsigned i = 0; i < NKEYS; i++) {
		uint64_t v = udma_va_to_iova(d, (void *)(uintptr_t)keys_va[i], NULL);
		check(v == keys_va[i], "va: va_to_iova", i, v, keys_va[i]);
	}
	struct row *r1 = row_add("va", "va_to_iova, random", u_fwd_rand, &c);
	struct row *r2 = row_add("va", "va_to_iova, random, dependent", u_fwd_dep, &c);
	struct row *r3 = row_add("va", "va_to_iova, sequential 4 KiB", u_fwd_seq, &c);
	row_add("va", "va_to_iova, len 4096", u_fwd_len_rand, &c);
	row_add("va", "iova_to_va, random", u_rev_rand, &c);
#ifdef UDMA_HAVE_DPDK
	const char *peer = "rte_mem_virt2iova (identity)";
	row_peer(r1, peer, d_virt2iova_rand, &c, NULL);
	row_peer(r2, peer, d_virt2iova_dep, &c, NULL);
	row_peer(r3, peer, d_virt2iova_seq, &c, NULL);
#else
	row_peer(r1, "rte_mem_virt2iova", NULL, &c, NULL);
	(void)r2, (void)r3;
#endif
	if (perf_interrupted)
		return;
	regs[nregs].unreg_ns = unregister_all(d);
	say("va:    unregistered, %.0f ns each\n", regs[nregs++].unreg_ns);
	udma_domain_destroy(d);
}

#ifdef UDMA_HAVE_DPDK
/* The same 1 GiB as DPDK external memory with the IOMMU domain's IOVAs. */
static const char *dpdk_extmem(struct udma_domain *d)
{
	static char why[160];
	size_t n = TOTAL / PAGE;
	rte_iova_t *iova = malloc(n * sizeof(*iova));

	if (!iova)
		return "out of memory";
	for (size_t i = 0; i < n; i++)
		iova[i] = udma_va_to_iova(d, base + i * PAGE, NULL);
	/* One list of 4 KiB segments: 128 memseg lists are too few for one per 2 MiB piece. */
	int err = rte_extmem_register(base, TOTAL, iova, (unsigned)n, PAGE);
	free(iova);
	if (err < 0) {
		snprintf(why, sizeof(why), "rte_extmem_register: %s", rte_strerror(rte_errno));
		return why;
	}
	return NULL;
}
#endif

static void bench_iommu(void)
{
	struct udma_domain *d = domain(UDMA_ADDR_IOMMU);
	struct ctx c = { .d = d, .keys = keys_va, .seq_base = (uintptr_t)base + 64,
			 .seq_end = (uintptr_t)base + TOTAL };
	struct ctx cr = { .d = d, .keys = keys_dev };
	unsigned contig;
	double reg = register_all(d, &contig);

	if (reg < 0)
		return; /* interrupted: as in bench_va() */
	say("iommu: registered %llu pieces, %.0f ns each\n", (unsigned long long)NPIECES, reg);
	regs[nregs] = (typeof(regs[0])){ "iommu", reg, 0, contig };
	for (unsigned i = 0; i < NKEYS; i++) {
		keys_dev[i] = udma_va_to_iova(d, (void *)(uintptr_t)keys_va[i], NULL);
		uint64_t v = (uintptr_t)udma_iova_to_va(d, keys_dev[i], NULL);
		check(keys_dev[i] != UDMA_BAD_IOVA && v == keys_va[i], "iommu: round trip", i, v, keys_va[i]);
	}
	struct row *r1 = row_add("iommu", "va_to_iova, random", u_fwd_rand, &c);
	struct row *r2 = row_add("iommu", "va_to_iova, random, dependent", u_fwd_dep, &c);
	struct row *r3 = row_add("iommu", "va_to_iova, sequential 4 KiB", u_fwd_seq, &c);
	row_add("iommu", "va_to_iova, len 4096", u_fwd_len_rand, &c);
	struct row *r5 = row_add("iommu", "iova_to_va, random", u_rev_rand, &cr);
#ifdef UDMA_HAVE_DPDK
	const char *ext = perf_dpdk_up() ? dpdk_extmem(d) : NULL;
	const char *peer = "rte_mem_virt2memseg + offset (extmem)";
	if (perf_dpdk_up() && !ext)
		for (unsigned i = 0; i < NKEYS; i++) {
			uint64_t v = d_memseg(&c, keys_va[i]);
			check(v == keys_dev[i], "dpdk: memseg iova", i, v, keys_dev[i]);
			v = d_iova2virt(&c, keys_dev[i]);
			check(v == keys_va[i], "dpdk: rte_mem_iova2virt", i, v, keys_va[i]);
		}
	row_peer(r1, peer, d_memseg_rand, &c, ext);
	row_peer(r2, peer, d_memseg_dep, &c, ext);
	row_peer(r3, peer, d_memseg_seq, &c, ext);
	row_peer(r5, "rte_mem_iova2virt (extmem)", d_iova2virt_rand, &cr, ext);
	if (perf_dpdk_up() && !ext)
		rte_extmem_unregister(base, TOTAL);
#else
	row_peer(r1, "rte_mem_virt2memseg", NULL, &c, NULL);
	row_peer(r5, "rte_mem_iova2virt", NULL, &cr, NULL);
	(void)r2, (void)r3;
#endif
	if (perf_interrupted)
		return;
	regs[nregs].unreg_ns = unregister_all(d);
	say("iommu: unregistered, %.0f ns each\n", regs[nregs++].unreg_ns);
	udma_domain_destroy(d);
}

static struct stat own[2]; /* DPDK's calls on its own memory */
static int have_own;
static char own_what[128];

static void print_own(void)
{
	if (!have_own)
		return;
	printf("\nDPDK on its own memory (%s):\n\n", own_what);
	printf("| DPDK call | ns | M/s |\n|---|---:|---:|\n| rte_mem_virt2memseg + offset, random |");
	print_ns(&own[0]);
	printf("\n| rte_mem_iova2virt, random |");
	print_ns(&own[1]);
	printf("\n");
}

#ifdef UDMA_HAVE_DPDK
/* DPDK's calls on its own memory, where they were built to run: EAL pages, iova = va. */
static void bench_dpdk_own(void)
{
	static uint64_t keys_own[NKEYS];
	struct ctx c = { .keys = keys_own };
	size_t len = 8ul << 20;
	uint8_t *buf = rte_malloc(NULL, len, 0);
	const struct rte_memseg_list *msl = buf ? rte_mem_virt2memseg_list(buf) : NULL;
	uint64_t x = 0x2545f4914f6cdd1dull;

	if (!msl) {
		say("\nDPDK on its own memory: missing: rte_malloc of %zu bytes failed\n", len);
		rte_free(buf);
		return;
	}
	for (unsigned i = 0; i < NKEYS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		keys_own[i] = (uintptr_t)buf + ((x % len) & ~63ull);
		uint64_t v = d_memseg(&c, keys_own[i]);
		check(v == rte_mem_virt2iova((void *)(uintptr_t)keys_own[i]), "dpdk own: memseg iova", i, v, keys_own[i]);
		v = d_iova2virt(&c, d_memseg(&c, keys_own[i]));
		check(v == keys_own[i], "dpdk own: rte_mem_iova2virt", i, v, keys_own[i]);
	}
	progress("dpdk", "rte_mem_virt2memseg on its own memory");
	own[0] = measure(d_memseg_rand, &c);
	progress("dpdk", "rte_mem_iova2virt on its own memory");
	own[1] = measure(d_iova2virt_rand, &c);
	have_own = 1;
	snprintf(own_what, sizeof(own_what), "rte_malloc %zu MiB; memseg list of %u x %llu KiB segments", len >> 20,
		 msl->memseg_arr.count, (unsigned long long)(msl->page_sz >> 10));
	rte_free(buf);
}
#endif

static void bench_pa(void)
{
	struct udma_domain *d = domain(UDMA_ADDR_PA);
	struct ctx c = { .d = d, .keys = keys_va, .seq_base = (uintptr_t)base + 64,
			 .seq_end = (uintptr_t)base + TOTAL };
	struct ctx cr = { .d = d, .keys = keys_dev };
	unsigned contig;
	double reg = register_all(d, &contig);

	if (reg < 0)
		return; /* interrupted: as in bench_va() */
	say("pa:    registered %llu pieces, %.0f ns each; %u of %llu 2 MiB pieces physically contiguous (THP)\n",
	    (unsigned long long)NPIECES, reg, contig, (unsigned long long)NGROUPS);
	regs[nregs] = (typeof(regs[0])){ "pa", reg, 0, contig };
	for (unsigned i = 0; i < NKEYS; i++) {
		keys_dev[i] = udma_va_to_iova(d, (void *)(uintptr_t)keys_va[i], NULL);
		uint64_t v = (uintptr_t)udma_iova_to_va(d, keys_dev[i], NULL);
		check(keys_dev[i] != UDMA_BAD_IOVA && v == keys_va[i], "pa: round trip", i, v, keys_va[i]);
	}
	struct row *r1 = row_add("pa", "va_to_iova, random", u_fwd_rand, &c);
	row_add("pa", "va_to_iova, random, dependent", u_fwd_dep, &c);
	struct row *r3 = row_add("pa", "va_to_iova, sequential 4 KiB", u_fwd_seq, &c);
	row_add("pa", "va_to_iova, len 4096", u_fwd_len_rand, &c);
	row_add("pa", "iova_to_va, random", u_rev_rand, &cr);
#ifdef UDMA_HAVE_DPDK
	const char *nophys = NULL;
	if (perf_dpdk_up()) {
		for (unsigned i = 0; i < NKEYS && !nophys; i++) {
			uint64_t v = d_virt2phy(&c, keys_va[i]);
			if (v == RTE_BAD_IOVA)
				nophys = "no physical addresses (EAL without hugepages)";
			else
				check(v == keys_dev[i], "dpdk: rte_mem_virt2phy", i, v, keys_dev[i]);
		}
	}
	row_peer(r1, "rte_mem_virt2phy (pagemap)", d_virt2phy_rand, &c, nophys);
	row_peer(r3, "rte_mem_virt2phy (pagemap)", d_virt2phy_seq, &c, nophys);
#else
	row_peer(r1, "rte_mem_virt2phy", NULL, &c, NULL);
	(void)r3;
#endif
	if (perf_interrupted)
		return;
	regs[nregs].unreg_ns = unregister_all(d);
	say("pa:    unregistered, %.0f ns each\n", regs[nregs++].unreg_ns);
	udma_domain_destroy(d);
}

static void pin(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		die("sched_getaffinity", errno);
	if (opt.cpu < 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				opt.cpu = i;
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity", errno);
}

static void json_stat(struct jw *w, const char *key, const struct stat *s)
{
	jw_begin(w, key, 0);
	jw_num(w, "ns", s->med);
	jw_num(w, "min_ns", s->min);
	jw_num(w, "max_ns", s->max);
	jw_num(w, "m_per_s", s->med > 0 ? 1e3 / s->med : 0);
	jw_uint(w, "lookups_per_rep", s->n);
	jw_end(w, 0);
}

static void print_json(struct perf_ctx *px)
{
	struct jw w = { .f = stdout };

	perf_json_header(&w, px, "translate");
	jw_begin(&w, "config", 0);
	jw_uint(&w, "bytes", TOTAL);
	jw_uint(&w, "pieces", NPIECES);
	jw_uint(&w, "keys", NKEYS);
	jw_uint(&w, "cpu", (uint64_t)opt.cpu);
	jw_uint(&w, "reps", (uint64_t)opt.reps);
	jw_num(&w, "rep_ms", opt.target_ns / 1e6);
	jw_end(&w, 0);
	jw_begin(&w, "registration", 1);
	for (int i = 0; i < nregs; i++) {
		jw_begin(&w, NULL, 0);
		jw_str(&w, "mode", regs[i].mode);
		jw_num(&w, "register_ns", regs[i].reg_ns);
		jw_num(&w, "unregister_ns", regs[i].unreg_ns);
		jw_uint(&w, "contiguous_2m_pieces", regs[i].contig);
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	jw_begin(&w, "results", 1);
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		jw_begin(&w, NULL, 0);
		jw_str(&w, "mode", r->mode);
		jw_str(&w, "lookup", r->what);
		json_stat(&w, "udma", &r->u);
		if (r->peer) {
			jw_str(&w, "peer", r->peer);
			if (r->missing) {
				jw_str(&w, "peer_missing", r->missing);
			} else {
				json_stat(&w, "peer_figures", &r->p);
				jw_num(&w, "udma_over_peer", r->p.med > 0 ? r->u.med / r->p.med : 0);
			}
		}
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	if (have_own) {
		jw_begin(&w, "dpdk_own_memory", 0);
		json_stat(&w, "rte_mem_virt2memseg", &own[0]);
		json_stat(&w, "rte_mem_iova2virt", &own[1]);
		jw_end(&w, 0);
	}
	perf_json_end(&w, px);
}

/* Each address mode, then DPDK on its own memory; up to an interruption. */
static void benches(void)
{
	char why[160];

	if (perf_interrupted)
		return;
	bench_va();
	if (perf_interrupted)
		return;
	bench_iommu();
	if (perf_interrupted)
		return;
	if (udma_mode_probe(UDMA_ADDR_PA, why, sizeof(why)))
		say("pa:    skipped: %s\n", why);
	else
		bench_pa();
#ifdef UDMA_HAVE_DPDK
	if (perf_dpdk_up() && !perf_interrupted)
		bench_dpdk_own();
#endif
}

int perf_translate_run(struct perf_ctx *px)
{
	tpx = px;
	opt.cpu = px->o->cpu;
	opt.reps = px->o->reps;
	opt.target_ns = px->o->rep_ms * 1e6;
	opt.no_dpdk = !px->o->peers;
	opt.no_huge = px->o->no_huge;
	pin();
	/* 16 MiB: the 8 MiB rte_malloc of bench_dpdk_own() in a few segments */
	perf_dpdk_init(opt.cpu, opt.no_huge, 16, opt.no_dpdk ? "left out (no --peers)" : NULL);
	if (!perf_dpdk_up())
		peer_missing = perf_dpdk_why();
	layout_init();
	keys_init();

	say("udma %s, 1 GiB as %llu x 2 MiB + %llu x 4 KiB pieces, %u random keys, CPU %d, median of %d\n",
	    udma_version(), (unsigned long long)NGROUPS, (unsigned long long)(NGROUPS * HUGE / PAGE), NKEYS, opt.cpu,
	    opt.reps);
	if (perf_dpdk_up())
		say("%s, EAL: %s\n", perf_dpdk_version(), perf_dpdk_how());
	else
		say("DPDK peer missing: %s\n", peer_missing);

	benches();
	perf_progress_clear(px);
	if (px->o->json) {
		print_json(px);
	} else {
		print_table();
		print_own();
	}
	/* interrupted, a domain may still hold pieces of it: it goes with the process */
	if (!perf_interrupted)
		munmap(map_start, TOTAL + HUGE);
	return 0;
}
