/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block pools: get+put pairs per second, one thread and two threads on two
 * cores, for udma's pool and, in the same run, its peers:
 *   - DPDK rte_mempool with its per-lcore cache (when built with DPDK);
 *   - a pool built as UADK v1's wd_bmm: in-band 40-byte headers, a tail
 *     queue free list and one spin lock (CAS, spin on loads, no backoff).
 * Also: udma without caches, with UDMA_POOL_RELAXED_FREE, bulk,
 * get+iova+put, and the wd_bmm and dma_pool compatibility layers.
 *
 * usage: bench_pool [-r REPS] [-t MS] [-c] [-D] [-v]
 *   -r REPS  repetitions per figure, the median is reported (default 7)
 *   -t MS    target time of one repetition (default 100)
 *   -c       time each thread's CPU time, not wall time: steadier on a
 *            shared machine (time lost to other processes is left out)
 *   -D       leave DPDK out even if built with it
 *   -v       print every repetition (ns/pair, sorted) after each row
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <udma/udma.h>
#include <wd_bmm.h>
#include <linux/dma-mapping.h>

#ifdef HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_version.h>
#endif

#define BLOCK 256
#define NBLOCKS 8192
#define MAXREPS 51
#define MAXT 2

static struct {
	int reps, no_dpdk, verbose, cpu_time;
	double target_ns;
} opt = { .reps = 7, .target_ns = 100e6 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What a thread's repetition is timed with: wall time, or with -c its CPU time. */
static uint64_t thread_ns(void)
{
	struct timespec ts;

	if (!opt.cpu_time)
		return now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_pool: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Keep a pointer alive without touching memory. */
#define USE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* ---- the UADK v1 design (v1/wd_bmm.c), as a peer ------------------------ */

struct sl_hd {
	unsigned int blk_tag;
	void *blk_dma;
	void *blk;
	TAILQ_ENTRY(sl_hd) next;
}; /* 40 bytes on LP64, in front of every block */
TAILQ_HEAD(sl_list, sl_hd);

#define TAG_FREE 0x12345678u
#define TAG_USED 0x87654321u

struct sl_pool {
	uint8_t lock;
	unsigned int free_blk_num, alloc_failures;
	struct sl_list head;
	char *start;
	size_t hd_sz, stride;
};

static void sl_lock(uint8_t *l)
{
	uint8_t exp = 0;

	while (!__atomic_compare_exchange_n(l, &exp, 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			;
		exp = 0;
	}
}

static void sl_unlock(uint8_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static struct sl_pool *sl_create(size_t bs, unsigned n, size_t align)
{
	struct sl_pool *p = calloc(1, sizeof(*p));
	p->hd_sz = (sizeof(struct sl_hd) + align - 1) & ~(align - 1);
	p->stride = p->hd_sz + ((bs + align - 1) & ~(align - 1));
	p->start = aligned_alloc(align, p->stride * n);
	TAILQ_INIT(&p->head);
	for (unsigned i = 0; i < n; i++) {
		struct sl_hd *hd = (struct sl_hd *)(p->start + i * p->stride);
		hd->blk = (char *)hd + p->hd_sz;
		hd->blk_dma = hd->blk;
		hd->blk_tag = TAG_FREE;
		TAILQ_INSERT_TAIL(&p->head, hd, next);
	}
	p->free_blk_num = n;
	return p;
}

static void *sl_alloc(struct sl_pool *p)
{
	struct sl_hd *hd;

	sl_lock(&p->lock);
	hd = TAILQ_LAST(&p->head, sl_list);
	if (!hd || hd->blk_tag != TAG_FREE) {
		p->alloc_failures++;
		sl_unlock(&p->lock);
		return NULL;
	}
	TAILQ_REMOVE(&p->head, hd, next);
	p->free_blk_num--;
	hd->blk_tag = TAG_USED;
	sl_unlock(&p->lock);
	return hd->blk;
}

static struct sl_hd *sl_head(struct sl_pool *p, void *blk)
{
	size_t idx = (size_t)((char *)blk - p->start) / p->stride;
	return (struct sl_hd *)(p->start + idx * p->stride);
}

static void *sl_iova(struct sl_pool *p, void *blk)
{
	struct sl_hd *hd = sl_head(p, blk);
	if (hd->blk_tag != TAG_USED || (char *)blk < (char *)hd->blk)
		return NULL;
	return (char *)hd->blk_dma + ((char *)blk - (char *)hd->blk);
}

static void sl_free(struct sl_pool *p, void *blk)
{
	struct sl_hd *hd = sl_head(p, blk);

	if (__atomic_load_n(&hd->blk_tag, __ATOMIC_RELAXED) != TAG_USED)
		return;
	sl_lock(&p->lock);
	TAILQ_INSERT_TAIL(&p->head, hd, next);
	p->free_blk_num++;
	hd->blk_tag = TAG_FREE;
	sl_unlock(&p->lock);
}

/* ---- kernels: n get+put pairs ------------------------------------------ */

typedef void (*kernel_fn)(void *ctx, long n);

static void k_udma(void *ctx, long n)
{
	struct udma_pool *p = ctx;
	for (long i = 0; i < n; i++) {
		void *b = udma_pool_get(p);
		USE(b);
		udma_pool_put(p, b);
	}
}

static void k_udma_iova(void *ctx, long n)
{
	struct udma_pool *p = ctx;
	for (long i = 0; i < n; i++) {
		void *b = udma_pool_get(p);
		uint64_t a = udma_pool_iova(p, b);
		USE(a);
		udma_pool_put(p, b);
	}
}

#define BULK 32
static void k_udma_bulk(void *ctx, long n)
{
	struct udma_pool *p = ctx;
	void *b[BULK];
	for (long i = 0; i < n; i += BULK) {
		udma_pool_get_bulk(p, b, BULK);
		USE(b[0]);
		udma_pool_put_bulk(p, b, BULK);
	}
}

static void k_spin(void *ctx, long n)
{
	struct sl_pool *p = ctx;
	for (long i = 0; i < n; i++) {
		void *b = sl_alloc(p);
		USE(b);
		sl_free(p, b);
	}
}

static void k_spin_iova(void *ctx, long n)
{
	struct sl_pool *p = ctx;
	for (long i = 0; i < n; i++) {
		void *b = sl_alloc(p);
		void *a = sl_iova(p, b);
		USE(a);
		sl_free(p, b);
	}
}

static void k_wd(void *ctx, long n)
{
	for (long i = 0; i < n; i++) {
		void *b = wd_alloc_blk(ctx);
		USE(b);
		wd_free_blk(ctx, b);
	}
}

static void k_dma_pool(void *ctx, long n)
{
	dma_addr_t h;
	for (long i = 0; i < n; i++) {
		void *b = dma_pool_alloc(ctx, GFP_ATOMIC, &h);
		USE(b);
		dma_pool_free(ctx, b, h);
	}
}

#ifdef HAVE_DPDK
static int dpdk_up;
static char dpdk_why[160];

static void k_dpdk(void *ctx, long n)
{
	struct rte_mempool *mp = ctx;
	void *o;
	for (long i = 0; i < n; i++) {
		rte_mempool_get(mp, &o);
		USE(o);
		rte_mempool_put(mp, o);
	}
}

/* A pthread becomes an lcore, so the mempool's per-lcore cache applies. */
static void dpdk_thread_init(void) { rte_thread_register(); }
static void dpdk_thread_fini(void) { rte_thread_unregister(); }

static void dpdk_init(void)
{
	char prefix[64];
	char *argv[] = { "bench_pool", "--no-shconf", "--no-huge", "-m", "64", "--no-pci", "-l", "0",
			 "--log-level=*:error", "--no-telemetry", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "--file-prefix=bench_pool-%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		snprintf(dpdk_why, sizeof(dpdk_why), "rte_eal_init: %s", rte_strerror(rte_errno));
		return;
	}
	dpdk_up = 1;
}
#endif

/* ---- runner: T pinned threads, each n pairs, started together ------------ */

struct run {
	kernel_fn fn;
	void *ctx;
	void (*tinit)(void), (*tfini)(void);
	int nthreads;
	long n;
	pthread_barrier_t start;
	uint64_t ns[MAXT];
};

struct targ {
	struct run *r;
	int idx;
};

static void *run_thread(void *arg)
{
	struct targ *a = arg;
	struct run *r = a->r;
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(a->idx % (ncpu > 0 ? ncpu : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (r->tinit)
		r->tinit();
	r->fn(r->ctx, 2000); /* warm: caches attached, lines owned */
	pthread_barrier_wait(&r->start);
	uint64_t t0 = thread_ns();
	r->fn(r->ctx, r->n);
	r->ns[a->idx] = thread_ns() - t0;
	if (r->tfini)
		r->tfini();
	return NULL;
}

/* Time of the slowest thread, in ns (wall, or CPU with -c). */
static uint64_t run_once(struct run *r)
{
	pthread_t t[MAXT];
	struct targ a[MAXT];
	uint64_t worst = 0;

	pthread_barrier_init(&r->start, NULL, (unsigned)r->nthreads);
	for (int i = 0; i < r->nthreads; i++) {
		a[i] = (struct targ){ r, i };
		if (pthread_create(&t[i], NULL, run_thread, &a[i]))
			die("pthread_create", errno);
	}
	for (int i = 0; i < r->nthreads; i++) {
		pthread_join(t[i], NULL);
		if (r->ns[i] > worst)
			worst = r->ns[i];
	}
	pthread_barrier_destroy(&r->start);
	return worst;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct row {
	const char *name;
	struct run r;
	double v[MAXREPS];
	double round[MAXREPS]; /* v in the order of the rounds, for ratios within a round */
	double ns_pair;  /* per thread: its time / its pairs */
	double mpairs;   /* aggregate: all threads' pairs / wall time */
	double best;     /* fastest repetition, ns/pair */
};

static struct row rows[32];
static int nrows;

static struct row *add_row(const char *name, kernel_fn fn, void *ctx, int nthreads, void (*tinit)(void),
			   void (*tfini)(void))
{
	struct row *w = &rows[nrows++];
	*w = (struct row){ .name = name };
	w->r = (struct run){ .fn = fn, .ctx = ctx, .nthreads = nthreads, .tinit = tinit, .tfini = tfini,
			     .n = 200000 };
	return w;
}

/* Calibrate every row, then run the repetitions in rounds - each round runs
 * every row once - so drift of the machine touches all rows alike. */
static void run_rows(void)
{
	for (int i = 0; i < nrows; i++) {
		struct run *r = &rows[i].r;
		uint64_t t = run_once(r);
		r->n = (long)(opt.target_ns / ((double)t / (double)r->n));
		if (r->n < 100000)
			r->n = 100000;
		r->n -= r->n % BULK;
	}
	for (int k = 0; k < opt.reps; k++)
		for (int i = 0; i < nrows; i++)
			rows[i].v[k] = rows[i].round[k] = (double)run_once(&rows[i].r) / (double)rows[i].r.n;
	for (int i = 0; i < nrows; i++) {
		struct row *w = &rows[i];
		qsort(w->v, (size_t)opt.reps, sizeof(w->v[0]), cmp_d);
		w->ns_pair = w->v[opt.reps / 2];
		w->mpairs = 1e3 / w->ns_pair * w->r.nthreads;
		w->best = w->v[0];
		printf("| %-46s | %d | %8.2f | %8.2f | %8.1f |", w->name, w->r.nthreads, w->ns_pair, w->best,
		       w->mpairs);
		if (opt.verbose)
			for (int k = 0; k < opt.reps; k++)
				printf(" %.2f", w->v[k]);
		printf("\n");
	}
}

#ifdef HAVE_DPDK
/* The median over the rounds of a's time / b's in the same round: a
 * slow spell of a shared machine then weighs on both sides of a ratio. */
static double round_ratio(const struct row *a, const struct row *b)
{
	double q[MAXREPS];

	for (int k = 0; k < opt.reps; k++)
		q[k] = a->round[k] / b->round[k];
	qsort(q, (size_t)opt.reps, sizeof(q[0]), cmp_d);
	return q[opt.reps / 2];
}
#endif

/* CPU time the whole machine spent busy, from /proc/stat, in seconds. */
static double machine_busy_s(void)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	double busy = 0;

	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			&v[6], &v[7]) == 8)
		busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
	if (f)
		fclose(f);
	return busy;
}

static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void check_pool_clean(struct udma_pool *p, const char *what)
{
	struct udma_pool_stats s = { .size = sizeof(s) };
	udma_pool_stats(p, &s);
	if (s.in_use || s.alloc_failures || s.bad_frees || s.double_frees)
		fprintf(stderr, "bench_pool: %s: pool not clean after the run (in use %llu, failures %llu)\n", what,
			(unsigned long long)s.in_use, (unsigned long long)s.alloc_failures);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "r:t:cDv")) != -1) {
		switch (c) {
		case 'r':
			opt.reps = atoi(optarg);
			break;
		case 't':
			opt.target_ns = atof(optarg) * 1e6;
			break;
		case 'c':
			opt.cpu_time = 1;
			break;
		case 'D':
			opt.no_dpdk = 1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_pool [-r REPS] [-t MS] [-c] [-D] [-v]\n");
			return 2;
		}
	}
	if (opt.reps < 1 || opt.reps > MAXREPS || opt.target_ns <= 0)
		die("bad -r or -t", EINVAL);

	struct udma_domain *d = udma_device_domain_create(NULL);
	if (!d)
		die("udma_device_domain_create", errno);
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = BLOCK, .block_count = NBLOCKS, .align = 64 };
	struct udma_pool *p = udma_pool_create(d, &o);
	o.flags = UDMA_POOL_NO_CACHE;
	struct udma_pool *pn = udma_pool_create(d, &o);
	o.flags = UDMA_POOL_RELAXED_FREE;
	struct udma_pool *pr = udma_pool_create(d, &o);
	if (!p || !pn || !pr)
		die("udma_pool_create", errno);
	struct sl_pool *sl = sl_create(BLOCK, NBLOCKS, 64);
	struct udma_pool_stats st = { .size = sizeof(st) };
	udma_pool_stats(p, &st);

	printf("pools: %d blocks of %d bytes, align 64; udma per-thread cache %u blocks\n", NBLOCKS, BLOCK,
	       st.cache_size);
#ifdef HAVE_DPDK
	struct rte_mempool *mp = NULL;
	if (!opt.no_dpdk) {
		dpdk_init();
		if (dpdk_up) {
			/* n = 2^k - 1 is the ring's optimum; cache 256 as udma's */
			mp = rte_mempool_create("bench", NBLOCKS - 1, BLOCK, 256, 0, NULL, NULL, NULL, NULL,
						SOCKET_ID_ANY, 0);
			if (!mp)
				snprintf(dpdk_why, sizeof(dpdk_why), "rte_mempool_create: %s", rte_strerror(rte_errno));
		}
		printf("peer: %s, rte_mempool with a 256-object per-lcore cache%s%s\n", rte_version(),
		       mp ? "" : " - unavailable: ", mp ? "" : dpdk_why);
	}
#else
	printf("peer: DPDK not built in (no libdpdk at configure time)\n");
#endif
	printf("repetitions %d (median), %.0f ms each, timed by %s; %ld CPUs\n\n", opt.reps, opt.target_ns / 1e6,
	       opt.cpu_time ? "thread CPU time" : "wall time", sysconf(_SC_NPROCESSORS_ONLN));
	struct row *u1 = add_row("udma_pool_get/put", k_udma, p, 1, NULL, NULL);
	struct row *u2 = add_row("udma_pool_get/put", k_udma, p, 2, NULL, NULL);
	add_row("udma_pool_get/put, UDMA_POOL_RELAXED_FREE", k_udma, pr, 1, NULL, NULL);
#ifdef HAVE_DPDK
	struct row *d1 = NULL, *d2 = NULL;
	if (mp) {
		d1 = add_row("DPDK rte_mempool_get/put (lcore cache)", k_dpdk, mp, 1, dpdk_thread_init,
			     dpdk_thread_fini);
		d2 = add_row("DPDK rte_mempool_get/put (lcore cache)", k_dpdk, mp, 2, dpdk_thread_init,
			     dpdk_thread_fini);
	}
#endif
	struct row *s1 = add_row("spin-lock LIFO (UADK v1 wd_bmm design)", k_spin, sl, 1, NULL, NULL);
	struct row *s2 = add_row("spin-lock LIFO (UADK v1 wd_bmm design)", k_spin, sl, 2, NULL, NULL);
	add_row("udma, UDMA_POOL_NO_CACHE (pool mutex)", k_udma, pn, 1, NULL, NULL);
	add_row("udma, UDMA_POOL_NO_CACHE (pool mutex)", k_udma, pn, 2, NULL, NULL);
	add_row("udma_pool_get_bulk/put_bulk x32, per block", k_udma_bulk, p, 1, NULL, NULL);
	add_row("udma get + udma_pool_iova + put", k_udma_iova, p, 1, NULL, NULL);
	add_row("spin-lock LIFO alloc + iova_map + free", k_spin_iova, sl, 1, NULL, NULL);

	struct wd_queue q;
	struct row *w1 = NULL;
	void *wp = NULL;
	memset(&q, 0, sizeof(q));
	if (!wd_request_queue(&q)) {
		struct wd_blkpool_setup ws;
		memset(&ws, 0, sizeof(ws));
		ws.block_size = BLOCK;
		ws.block_num = NBLOCKS;
		ws.align_size = 64;
		wp = wd_blkpool_create(&q, &ws);
		if (wp) {
			w1 = add_row("wd_alloc_blk/wd_free_blk (seed 000 compat)", k_wd, wp, 1, NULL, NULL);
			add_row("wd_alloc_blk/wd_free_blk (seed 000 compat)", k_wd, wp, 2, NULL, NULL);
		}
	}
	struct device *dev = dma_device_open(NULL);
	struct dma_pool *dp = dev ? dma_pool_create("bench", dev, BLOCK, 64, 0) : NULL;
	if (dp) {
		static dma_addr_t h[NBLOCKS / 2];
		static void *b[NBLOCKS / 2];
		for (int i = 0; i < NBLOCKS / 2; i++) /* grown to size first, as a kernel pool in use */
			b[i] = dma_pool_alloc(dp, GFP_KERNEL, &h[i]);
		for (int i = 0; i < NBLOCKS / 2; i++)
			dma_pool_free(dp, b[i], h[i]);
		add_row("dma_pool_alloc/dma_pool_free (seed 003 compat)", k_dma_pool, dp, 1, NULL, NULL);
	}

	printf("| %-46s | T | ns/pair  | best     | Mpairs/s |\n", "get+put pair (T threads on T CPUs)");
	printf("|------------------------------------------------|---|----------|----------|----------|\n");
	double busy0 = machine_busy_s(), self0 = self_cpu_s(), wall0 = (double)now_ns() / 1e9;
	run_rows();
	double other = (machine_busy_s() - busy0) - (self_cpu_s() - self0), wall = (double)now_ns() / 1e9 - wall0;
	check_pool_clean(p, "udma");
	if (wp)
		wd_blkpool_destroy(wp);
	if (wd_queue_domain(&q))
		wd_release_queue(&q);
	if (dp)
		dma_pool_destroy(dp);
	if (dev)
		dma_device_close(dev);

	printf("\nother processes used %.1f CPU-s during the %.1f s run (%.0f%% of one CPU)%s\n", other, wall,
	       100 * other / wall, other / wall > 0.05 ? ": two-thread figures are disturbed, run again when idle" : "");
	printf("\nchecks (medians; best repetitions in brackets; \"per round\": the median of the ratios within a round):\n");
#ifdef HAVE_DPDK
	if (d1)
		printf("  1 thread: udma %.2f (%.2f) ns/pair vs DPDK %.2f (%.2f): %s, DPDK/udma %.2f\n", u1->ns_pair,
		       u1->best, d1->ns_pair, d1->best, u1->ns_pair <= d1->ns_pair ? "no slower" : "SLOWER",
		       d1->ns_pair / u1->ns_pair);
	if (d2)
		printf("  2 threads: udma %.1f vs DPDK %.1f Mpairs/s\n", u2->mpairs, d2->mpairs);
	if (d1 && w1)
		printf("  1 thread: wd_alloc_blk/wd_free_blk %.2f (%.2f) ns/pair vs DPDK: %s, wd/DPDK %.2f (%.2f), per round %.2f\n",
		       w1->ns_pair, w1->best, w1->ns_pair <= d1->ns_pair ? "no slower" : "SLOWER",
		       w1->ns_pair / d1->ns_pair, w1->best / d1->best, round_ratio(w1, d1));
#else
	(void)w1;
#endif
	printf("  2 threads / 1 thread (udma, aggregate): %.2fx (%.2fx) (want >= 1.8x)\n", u2->mpairs / u1->mpairs,
	       2 * u1->best / u2->best);
	printf("  udma / spin-lock LIFO at 2 threads: %.1fx (want >= 10x); at 1 thread %.1fx\n",
	       u2->mpairs / s2->mpairs, u1->mpairs / s1->mpairs);

	udma_pool_destroy(p, 0);
	udma_pool_destroy(pn, 0);
	udma_pool_destroy(pr, 0);
	udma_domain_destroy(d);
	free(sl->start);
	free(sl);
#ifdef HAVE_DPDK
	if (mp)
		rte_mempool_free(mp);
	if (dpdk_up)
		rte_eal_cleanup();
#endif
	return 0;
}
