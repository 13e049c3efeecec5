/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf --pool`: rounds of `depth` gets then `depth` puts per thread,
 * on udma's pool and (with --peers) on DPDK's rte_mempool with its
 * per-lcore cache, for 1, 2, 4 ... up to -t threads. With -y every block
 * is stamped after the get and checked before the put, so a block handed
 * to two threads at once is caught.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <udma/pool.h>

#include "perf.h"

#ifdef UDMA_HAVE_DPDK
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#endif

enum { POOL_UDMA, POOL_MEMPOOL };

struct pclient {
	struct ppoint *pt;
	unsigned id;
	uint64_t pairs, live;
	struct perf_window win;
	int failed;
	char err[200];
	struct perf_hist hist;
	pthread_t th;
};

struct ppoint {
	struct perf_ctx *px;
	int kind;
	void *pool;
	size_t size;
	unsigned depth, n;
	int phase, stop;
	struct pclient *c;
};

static int pgo(struct pclient *c)
{
	return perf_window_follow(&c->win, &c->pt->phase, &c->pairs, &c->hist) && !c->failed;
}

static void pfail(struct pclient *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pfail(struct pclient *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	int n = snprintf(c->err, sizeof(c->err), "%s, thread %u: ", c->pt->kind == POOL_UDMA ? "udma_pool" : "rte_mempool",
			 c->id);
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, ap);
	va_end(ap);
	c->failed = 1;
	__atomic_store_n(&c->pt->stop, 1, __ATOMIC_RELEASE);
}

/* Rounds of depth gets then depth puts, checked with -y: one loop per pool,
 * so that the inline get/put stay inline. 0, or -1 after pfail(). */
#define ROUNDS(name, GET, PUT, CHECK_BLOCK)                                                              \
	static int name(struct pclient *c, void **held, unsigned rounds, uint64_t *round)                  \
	{                                                                                                  \
		struct ppoint *pt = c->pt;                                                                 \
		void *pool = pt->pool;                                                                     \
		int verify = pt->px->o->verify;                                                            \
		for (unsigned r = 0; r < rounds; r++) {                                                    \
			uint64_t stamp = ((uint64_t)c->id << 48) | ((*round)++ & 0xffffffffffffull);      \
			for (unsigned i = 0; i < pt->depth; i++) {                                         \
				if (!(held[i] = GET(pool))) {                                              \
					pfail(c, "get found the pool empty, holding %u blocks", i);        \
					while (i--)                                                        \
						PUT(pool, held[i]);                                        \
					return -1;                                                         \
				}                                                                          \
				if (verify) {                                                              \
					CHECK_BLOCK(pool, held[i]);                                        \
					memcpy(held[i], &stamp, 8);                                        \
					memcpy((char *)held[i] + pt->size - 8, &stamp, 8);                 \
				}                                                                          \
				__asm__ volatile("" : : "r"(held[i]) : "memory");                          \
			}                                                                                  \
			for (unsigned i = 0; i < pt->depth; i++) {                                         \
				if (verify && check_stamp(c, held[i], stamp))                              \
					return -1;                                                         \
				int err = PUT(pool, held[i]);                                              \
				if (err) {                                                                 \
					pfail(c, "put refused block %p it gave out: %s", held[i],          \
					      strerror(-err));                                             \
					return -1;                                                         \
				}                                                                          \
			}                                                                                  \
		}                                                                                          \
		return 0;                                                                                  \
	}

static int check_stamp(struct pclient *c, void *b, uint64_t stamp)
{
	uint64_t x, y;

	memcpy(&x, b, 8);
	memcpy(&y, (char *)b + c->pt->size - 8, 8);
	if (x == stamp && y == stamp)
		return 0;
	pfail(c, "block %p changed while held: stamps 0x%llx 0x%llx, want 0x%llx (given to two threads?)", b,
	      (unsigned long long)x, (unsigned long long)y, (unsigned long long)stamp);
	return -1;
}

#define UDMA_CHECK(pool, b)                                                                  \
	do {                                                                                 \
		if (udma_pool_block(pool, b) != (b)) {                                       \
			pfail(c, "get returned %p, not the start of a block in use", (b));   \
			return -1;                                                           \
		}                                                                            \
	} while (0)
ROUNDS(rounds_udma, udma_pool_get, udma_pool_put, UDMA_CHECK)

#ifdef UDMA_HAVE_DPDK
static inline void *mp_get(void *mp)
{
	void *o;

	return rte_mempool_get(mp, &o) ? NULL : o;
}

static inline int mp_put(void *mp, void *o)
{
	rte_mempool_put(mp, o);
	return 0;
}

#define NO_CHECK(pool, b) (void)0
ROUNDS(rounds_mempool, mp_get, mp_put, NO_CHECK)
#endif

/* Rounds between looks at the clock and the phase: the loop itself stays tight. */
#define BATCH 64

static void *pclient_run(void *arg)
{
	struct pclient *c = arg;
	struct ppoint *pt = c->pt;
	void **held = calloc(pt->depth, sizeof(*held));
	int (*rounds)(struct pclient *, void **, unsigned, uint64_t *) = pt->kind == POOL_UDMA ? rounds_udma : NULL;
	uint64_t round = 0;

#ifdef UDMA_HAVE_DPDK
	/* an lcore id, so rte_mempool uses its per-lcore cache in this thread */
	int registered = pt->kind == POOL_MEMPOOL && rte_thread_register() == 0;
	if (pt->kind == POOL_MEMPOOL)
		rounds = rounds_mempool;
#endif
	if (!held || !rounds) {
		pfail(c, "%s", held ? "no such pool in this build" : "out of memory");
		free(held);
		return NULL;
	}
	while (pgo(c)) {
		uint64_t t = perf_ticks();
		if (rounds(c, held, BATCH, &round))
			break;
		if (c->win.measuring) {
			/* the latency columns: the mean time of a pair over each batch */
			if (pt->px->o->lat_every)
				perf_hist_add(&c->hist, perf_ticks_ns(perf_ticks() - t) / (BATCH * pt->depth));
			c->pairs += (uint64_t)BATCH * pt->depth;
			__atomic_store_n(&c->live, c->pairs, __ATOMIC_RELAXED);
		}
	}
	pgo(c);
	free(held);
#ifdef UDMA_HAVE_DPDK
	if (registered)
		rte_thread_unregister();
#endif
	return NULL;
}

static uint64_t plive(void *arg)
{
	struct ppoint *pt = arg;
	uint64_t n = 0;

	for (unsigned i = 0; i < pt->n; i++)
		n += __atomic_load_n(&pt->c[i].live, __ATOMIC_RELAXED);
	return n;
}

static int ppoint_run(struct perf_ctx *px, struct ppoint *pt, const char *name, unsigned ri)
{
	char what[96], sz[32];
	unsigned started = 0;
	int rc = 0;

	pt->phase = pt->stop = 0;
	pt->c = calloc(pt->n, sizeof(*pt->c));
	if (!pt->c)
		return -ENOMEM;
	for (; started < pt->n; started++) {
		pt->c[started].pt = pt;
		pt->c[started].id = started;
		if (pthread_create(&pt->c[started].th, NULL, pclient_run, &pt->c[started])) {
			rc = -EAGAIN;
			break;
		}
	}
	snprintf(what, sizeof(what), "%s, %s blocks, %u thread%s", name, tool_size_str(pt->size, sz, sizeof(sz)), pt->n,
		 pt->n > 1 ? "s" : "");
	perf_measure(px, !rc, &pt->phase, &pt->stop, what, plive, pt);
	for (unsigned i = 0; i < started; i++)
		pthread_join(pt->c[i].th, NULL);
	px->point++;
	for (unsigned i = 0; i < pt->n && !rc; i++)
		if (pt->c[i].failed) {
			perf_fail(px, "%s", pt->c[i].err);
			rc = -EIO;
		}
	if (!rc && !perf_interrupted) {
		struct perf_result *r = &px->res[ri];
		double ops_s = 0, secs_all = 0;
		for (unsigned i = 0; i < pt->n; i++) {
			double secs = pt->c[i].win.t1 - pt->c[i].win.t0;
			r->ops += pt->c[i].pairs;
			secs_all += secs / pt->n;
			if (secs > 0)
				ops_s += (double)pt->c[i].pairs / secs;
			perf_hist_merge(r->lat, &pt->c[i].hist);
		}
		r->secs += secs_all;
		r->samples[r->nsamples++] = ops_s;
	}
	if (rc && rc != -EIO && !px->failed)
		perf_fail(px, "%s: %s", what, strerror(-rc));
	free(pt->c);
	pt->c = NULL;
	return rc;
}

/* Enough blocks that every thread's cache and the blocks it holds fit twice over. */
static uint32_t pool_blocks(const struct perf_opts *o)
{
	uint64_t n = (uint64_t)o->threads * (o->depth + 512) * 2;

	return n > 8192 ? (uint32_t)n : 8192;
}

/* DPDK's EAL with room for the largest mempool (blocks as below, plus DPDK's headers). */
static void dpdk_start(const struct perf_opts *o)
{
	size_t big = 0;

	for (unsigned i = 0; i < o->nsizes; i++)
		big = o->sizes[i] > big ? o->sizes[i] : big;
	uint64_t mb = ((uint64_t)pool_blocks(o) * (big + 192) * 5 / 4 >> 20) + 16;
	perf_dpdk_init(-1, o->no_huge, (unsigned)(mb > 65536 ? 65536 : mb), NULL);
}

/* The peer's pool of nblocks blocks of size bytes, or NULL (listed as missing). */
static void *mempool_create(struct perf_ctx *px, uint32_t nblocks, size_t size)
{
#ifdef UDMA_HAVE_DPDK
	void *mp = NULL;

	/* a 256-object per-lcore cache, as DPDK applications commonly use */
	if (!perf_dpdk_up())
		perf_missing(px, "rte_mempool", "%s", perf_dpdk_why());
	else if (!(mp = rte_mempool_create("udma-perf", nblocks - 1, (unsigned)size, 256, 0, NULL, NULL, NULL, NULL,
					   SOCKET_ID_ANY, 0)))
		perf_missing(px, "rte_mempool", "rte_mempool_create: %s", rte_strerror(rte_errno));
	return mp;
#else
	perf_missing(px, "rte_mempool", "%s", perf_dpdk_why());
	return NULL;
#endif
}

static void mempool_free(void *mp)
{
#ifdef UDMA_HAVE_DPDK
	if (mp)
		rte_mempool_free(mp);
#endif
}

/* One size: udma's pool for each thread count, then the peer's; repetitions go round them all. */
static int run_size(struct perf_ctx *px, void **pools, size_t size, const unsigned *thr, unsigned nthr)
{
	const struct perf_opts *o = px->o;
	unsigned from = px->nres, nrows = 0;
	int kind[32], rc = 0;
	unsigned threads[32];

	for (int k = POOL_UDMA; k <= POOL_MEMPOOL && !rc; k++)
		for (unsigned t = 0; t < nthr && pools[k]; t++) {
			struct perf_result *r = perf_result_add(px);
			if (!r) {
				perf_fail(px, "out of memory");
				rc = -ENOMEM;
				break;
			}
			snprintf(r->name, sizeof(r->name), "%s", k == POOL_UDMA ? "udma_pool" : "rte_mempool");
			r->peer = k == POOL_UDMA ? -1 : PEER_MEMPOOL;
			r->size = size;
			r->threads = thr[t];
			r->depth = o->depth;
			kind[nrows] = k;
			threads[nrows++] = thr[t];
		}
	for (int rep = 0; rep < o->reps && !rc && !perf_interrupted; rep++)
		for (unsigned i = 0; i < nrows && !rc && !perf_interrupted; i++) {
			struct ppoint pt = { .px = px, .kind = kind[i], .pool = pools[kind[i]], .size = size,
					     .depth = o->depth, .n = threads[i] };
			rc = ppoint_run(px, &pt, px->res[from + i].name, from + i);
		}
	perf_result_finish(px, from);
	return rc;
}

/* ---- what it reports ------------------------------------------------------------------ */

static const struct perf_result *mempool_at(const struct perf_ctx *px, const struct perf_result *r)
{
	for (unsigned k = 0; k < px->nres; k++)
		if (px->res[k].peer == PEER_MEMPOOL && px->res[k].size == r->size && px->res[k].threads == r->threads)
			return &px->res[k];
	return NULL;
}

static void add_row(struct table *t, const struct perf_ctx *px, const struct perf_result *r)
{
	const struct perf_result *p = r->peer < 0 ? mempool_at(px, r) : NULL;
	char cell[9][48];
	const char *cells[9];

	tool_size_str(r->size, cell[0], sizeof(cell[0]));
	snprintf(cell[1], sizeof(cell[1]), "%u", r->threads);
	snprintf(cell[2], sizeof(cell[2]), "%s", r->name);
	perf_fmt_ops(r->ops_s, cell[3], sizeof(cell[3]));
	snprintf(cell[4], sizeof(cell[4]), "%.1f", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
	perf_fmt_ns((double)perf_hist_pct(r->lat, 0.5), cell[5], sizeof(cell[5]));
	perf_fmt_ns((double)perf_hist_pct(r->lat, 0.99), cell[6], sizeof(cell[6]));
	perf_fmt_ns((double)r->lat->max, cell[7], sizeof(cell[7]));
	cell[8][0] = 0;
	if (r->peer < 0)
		perf_fmt_ratio(p && p->ops_s > 0 ? r->ops_s / p->ops_s : 0, cell[8], sizeof(cell[8]));
	for (int k = 0; k < 9; k++)
		cells[k] = cell[k];
	table_row(t, cells);
}

static void print_table(struct perf_ctx *px)
{
	static const char *const head[] = { "block", "threads", "pool", "pairs/s", "ns/pair", "p50", "p99", "max",
					    "vs rte_mempool" };
	const struct perf_opts *o = px->o;
	struct table t;

	printf("udma perf --pool: get+put of %u block%s per round, %.3g s per point%s\n", o->depth,
	       o->depth > 1 ? "s" : "", o->duration, o->verify ? ", every block checked" : "");
	printf("pairs/s: gets+puts per second, all threads; ns/pair: per thread\n\n");
	table_init(&t);
	for (int k = 0; k < 9; k++)
		table_col(&t, head[k], k == 2 ? TABLE_LEFT : TABLE_RIGHT);
	for (unsigned i = 0; i < px->nres; i++)
		add_row(&t, px, &px->res[i]);
	if (table_print(&t, stdout, o->markdown))
		perf_fail(px, "out of memory for the table");
	table_free(&t);
	perf_print_missing(px);
	fflush(stdout);
}

static void print_json(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	struct jw w = { .f = stdout };

	perf_json_header(&w, px, "pool");
	jw_begin(&w, "config", 0);
	jw_begin(&w, "sizes", 1);
	for (unsigned i = 0; i < o->nsizes; i++)
		jw_uint(&w, NULL, o->sizes[i]);
	jw_end(&w, 1);
	jw_uint(&w, "depth", o->depth);
	jw_uint(&w, "threads", o->threads);
	jw_num(&w, "duration_s", o->duration);
	jw_uint(&w, "reps", (uint64_t)o->reps);
	jw_bool(&w, "verify", o->verify);
	jw_end(&w, 0);
	jw_begin(&w, "results", 1);
	for (unsigned i = 0; i < px->nres; i++) {
		const struct perf_result *r = &px->res[i], *p = mempool_at(px, r);
		jw_begin(&w, NULL, 0);
		perf_json_result(&w, r);
		if (r->peer < 0) {
			jw_begin(&w, "vs", 0);
			if (p && p->ops_s > 0)
				jw_num(&w, "rte_mempool", r->ops_s / p->ops_s);
			jw_end(&w, 0);
		}
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	perf_json_missing(&w, px);
	perf_json_end(&w, px);
}

/* ---- the workload ----------------------------------------------------------------------- */

int perf_pool_run(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;
	unsigned nthr = 0, thr[16];
	int rc = 0;

	for (unsigned t = 1; t < o->threads && nthr < 15; t *= 2)
		thr[nthr++] = t;
	thr[nthr++] = o->threads;
	px->points = o->nsizes * nthr * (o->peers ? 2 : 1) * (unsigned)o->reps;
	if (o->peers)
		dpdk_start(o);
	struct udma_domain *d = udma_device_domain_create(NULL);
	if (!d)
		perf_fail(px, "udma_device_domain_create: %s", strerror(errno));
	for (unsigned s = 0; d && s < o->nsizes && !rc && !perf_interrupted; s++) {
		uint32_t nblocks = pool_blocks(o);
		struct udma_pool_opts po = { .size = sizeof(po), .block_size = o->sizes[s], .block_count = nblocks,
					     .align = 64, .name = "udma-perf" };
		void *pools[2] = { udma_pool_create(d, &po), NULL };
		if (!pools[POOL_UDMA]) {
			perf_fail(px, "udma_pool_create (%u blocks of %zu bytes): %s", nblocks, o->sizes[s], strerror(errno));
			break;
		}
		if (o->peers)
			pools[POOL_MEMPOOL] = mempool_create(px, nblocks, o->sizes[s]);
		rc = run_size(px, pools, o->sizes[s], thr, nthr);
		int err = udma_pool_destroy(pools[POOL_UDMA], 0);
		if (err && !rc) {
			perf_fail(px, "udma_pool_destroy after the run: %s (blocks still in use?)", strerror(-err));
			rc = -EIO;
		}
		mempool_free(pools[POOL_MEMPOOL]);
	}
	if (d)
		udma_domain_destroy(d);
	perf_progress_clear(px);
	if (o->json)
		print_json(px);
	else
		print_table(px);
	return 0;
}
