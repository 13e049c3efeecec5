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

#include "perf.h"

#ifdef UDMA_HAVE_POOL
#include <udma/pool.h>
#endif
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

#ifdef UDMA_HAVE_POOL
#define UDMA_CHECK(pool, b)                                                                  \
	do {                                                                                 \
		if (udma_pool_block(pool, b) != (b)) {                                       \
			pfail(c, "get returned %p, not the start of a block in use", (b));   \
			return -1;                                                           \
		}                                                                            \
	} while (0)
ROUNDS(rounds_udma, udma_pool_get, udma_pool_put, UDMA_CHECK)
#endif

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
	int (*rounds)(struct pclient *, void **, unsigned, uint64_t *) = NULL;
	uint64_t round = 0;

#ifdef UDMA_HAVE_POOL
	if (pt->kind == POOL_UDMA)
		rounds = rounds_udma;
#endif
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
	snprintf(what, sizeof(what), "%s, %s blocks, %u thread%s", name, perf_size_str(pt->size, sz, sizeof(sz)), pt->n,
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

int perf_pool_run(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;
	unsigned nthr = 0, thr[16];

	for (unsigned t = 1; t < o->threads && nthr < 15; t *= 2)
		thr[nthr++] = t;
	thr[nthr++] = o->threads;
	px->points = o->nsizes * nthr * (o->peers ? 2 : 1) * (unsigned)o->reps;
	for (unsigned i = 0; i < o->nsizes; i++)
		if (o->verify && o->sizes[i] < 16) {
			perf_fail(px, "-y stamps 16 bytes per block: blocks of %zu bytes are too small", o->sizes[i]);
			return 0;
		}
	if (o->peers) {
		/* the largest mempool (blocks as below, plus DPDK's headers), and room to spare */
		size_t big = 0;
		for (unsigned i = 0; i < o->nsizes; i++)
			big = o->sizes[i] > big ? o->sizes[i] : big;
		uint64_t mb = ((uint64_t)pool_blocks(o) * (big + 192) * 5 / 4 >> 20) + 16;
		perf_dpdk_init(-1, o->no_huge, (unsigned)(mb > 65536 ? 65536 : mb), NULL);
	}
#ifndef UDMA_HAVE_POOL
	perf_fail(px, "this udma was built without the pool API (include/udma/pool.h)");
	return 0;
#else
	struct udma_domain *d = udma_device_domain_create(NULL);
	if (!d) {
		perf_fail(px, "udma_device_domain_create: %s", strerror(errno));
		return 0;
	}
	int rc = 0;
	for (unsigned s = 0; s < o->nsizes && !rc && !perf_interrupted; s++) {
		uint32_t nblocks = pool_blocks(o);
		struct udma_pool_opts po = { .size = sizeof(po), .block_size = o->sizes[s], .block_count = nblocks,
					     .align = 64, .name = "udma-perf" };
		void *pools[2] = { udma_pool_create(d, &po), NULL };
		if (!pools[POOL_UDMA]) {
			perf_fail(px, "udma_pool_create (%u blocks of %zu bytes): %s", nblocks, o->sizes[s], strerror(errno));
			break;
		}
		if (o->peers) {
#ifdef UDMA_HAVE_DPDK
			/* a 256-object per-lcore cache, as DPDK applications commonly use */
			if (!perf_dpdk_up())
				perf_missing(px, "rte_mempool", "%s", perf_dpdk_why());
			else if (!(pools[POOL_MEMPOOL] = rte_mempool_create("udma-perf", nblocks - 1, (unsigned)o->sizes[s],
									    256, 0, NULL, NULL, NULL, NULL, SOCKET_ID_ANY, 0)))
				perf_missing(px, "rte_mempool", "rte_mempool_create: %s", rte_strerror(rte_errno));
#else
			perf_missing(px, "rte_mempool", "%s", perf_dpdk_why());
#endif
		}
		/* rows: udma for each thread count, then the peer; repetitions go round them all */
		unsigned from = px->nres, nrows = 0;
		int kind[32], threads[32];
		for (int k = POOL_UDMA; k <= POOL_MEMPOOL; k++)
			for (unsigned t = 0; t < nthr && pools[k]; t++) {
				struct perf_result *r = perf_result_add(px);
				if (!r) {
					perf_fail(px, "out of memory");
					rc = -ENOMEM;
					break;
				}
				snprintf(r->name, sizeof(r->name), "%s", k == POOL_UDMA ? "udma_pool" : "rte_mempool");
				r->peer = k == POOL_UDMA ? -1 : PEER_MEMPOOL;
				r->size = o->sizes[s];
				r->threads = thr[t];
				r->depth = o->depth;
				kind[nrows] = k;
				threads[nrows++] = (int)thr[t];
			}
		for (int rep = 0; rep < o->reps && !rc && !perf_interrupted; rep++)
			for (unsigned i = 0; i < nrows && !rc && !perf_interrupted; i++) {
				struct ppoint pt = { .px = px, .kind = kind[i], .pool = pools[kind[i]], .size = o->sizes[s],
						     .depth = o->depth, .n = (unsigned)threads[i] };
				rc = ppoint_run(px, &pt, px->res[from + i].name, from + i);
			}
		perf_result_finish(px, from);
		int err = udma_pool_destroy(pools[POOL_UDMA], 0);
		if (err && !rc) {
			perf_fail(px, "udma_pool_destroy after the run: %s (blocks still in use?)", strerror(-err));
			rc = -EIO;
		}
#ifdef UDMA_HAVE_DPDK
		if (pools[POOL_MEMPOOL])
			rte_mempool_free(pools[POOL_MEMPOOL]);
#endif
	}
	udma_domain_destroy(d);
	perf_progress_clear(px);
	if (!o->json)
		perf_out_pool(px);
	return 0;
#endif
}
