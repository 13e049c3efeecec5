/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mover workload: per size, per engine, T client threads each open a
 * session and keep `depth` requests in flight (mover_udma.c); then the
 * peers run on the same buffers (mover_peers.c, mover_dmadev.c). The
 * table or JSON comes at the end (mover_report.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perf_mover.h"

/* Memory per client thread: more and the depth is cut (and the table says so). */
#define CLIENT_MEM (1ul << 30)

/* ---- running a point ------------------------------------------------------------------- */

static uint64_t live_ops(void *arg)
{
	const struct point *pt = arg;
	uint64_t n = 0;

	for (unsigned i = 0; i < pt->n; i++)
		n += __atomic_load_n(&pt->clients[i].live, __ATOMIC_RELAXED);
	return n;
}

static void ran_on_str(const struct point *pt, char *buf, size_t len)
{
	const char *name[16];
	uint64_t cnt[16], total = 0;
	unsigned n = 0;
	size_t off = 0;

	for (unsigned i = 0; i < pt->n; i++)
		for (unsigned k = 0; k < 8 && pt->clients[i].ran_name[k]; k++) {
			unsigned j = 0;
			while (j < n && strcmp(name[j], pt->clients[i].ran_name[k]))
				j++;
			if (j == n) {
				if (n == 16)
					continue;
				name[n] = pt->clients[i].ran_name[k];
				cnt[n++] = 0;
			}
			cnt[j] += pt->clients[i].ran_cnt[k];
			total += pt->clients[i].ran_cnt[k];
		}
	buf[0] = 0;
	for (unsigned j = 0; j < n && total && off < len; j++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s %.0f%%", j ? ", " : "", name[j] ? name[j] : "?",
					100.0 * (double)cnt[j] / (double)total);
}

static void clients_free(struct point *pt)
{
	for (unsigned i = 0; pt->clients && i < pt->n; i++) {
		free(pt->clients[i].recs);
		free(pt->clients[i].freeidx);
		free(pt->clients[i].fifo);
	}
	free(pt->clients);
	pt->clients = NULL;
}

/* pt->n clients on the threads' buffers, every output free. */
static int clients_alloc(struct point *pt, struct sizebuf *bufs)
{
	const struct perf_opts *o = pt->px->o;

	pt->clients = calloc(pt->n, sizeof(*pt->clients));
	if (!pt->clients)
		return -ENOMEM;
	for (unsigned i = 0; i < pt->n; i++) {
		struct client *c = &pt->clients[i];
		c->pt = pt;
		c->id = i;
		c->b = &bufs[i];
		c->verify = o->verify;
		c->lat_every = o->lat_every;
		c->recs = calloc(pt->depth, sizeof(*c->recs));
		c->freeidx = calloc(pt->depth, sizeof(*c->freeidx));
		c->fifo = calloc(pt->depth, sizeof(*c->fifo));
		if (!c->recs || !c->freeidx || !c->fifo)
			return -ENOMEM;
		for (unsigned k = 0; k < pt->depth; k++) {
			c->recs[k].c = c;
			c->recs[k].idx = k;
			c->freeidx[c->nfree++] = pt->depth - 1 - k;
		}
	}
	return 0;
}

/* Start the clients' threads; how many started (all, or stop is set). */
static unsigned clients_start(struct point *pt, void *(*fn)(void *))
{
	pthread_attr_t attr;
	cpu_set_t cpus;
	unsigned started = 0;

	/* With DPDK up and one client, every client (udma's and the peers') runs
	 * on the main lcore's CPU: the same place for all, and never the CPU of
	 * DPDK's control threads, where dma_skeleton's copy thread polls. */
	pthread_attr_init(&attr);
	if (pt->n == 1 && !perf_dpdk_client_cpus(&cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	for (; started < pt->n; started++)
		if (pthread_create(&pt->clients[started].th, &attr, fn, &pt->clients[started])) {
			__atomic_store_n(&pt->stop, 1, __ATOMIC_RELEASE);
			break;
		}
	pthread_attr_destroy(&attr);
	return started;
}

/* Add what the clients measured to row r: one more repetition. */
static void collect(const struct point *pt, struct perf_result *r)
{
	double ops_s = 0, secs_all = 0;

	r->threads = pt->n;
	/* glibc and ISA-L are called one at a time, whatever -q says */
	r->depth = pt->eng || pt->peer == PEER_DMADEV ? pt->depth : 1;
	for (unsigned i = 0; i < pt->n; i++) {
		const struct client *c = &pt->clients[i];
		double secs = c->win.t1 - c->win.t0;
		r->ops += c->ops;
		secs_all += secs / pt->n;
		if (secs > 0)
			ops_s += (double)c->ops / secs;
		perf_hist_merge(r->lat, &c->hist);
	}
	r->secs += secs_all;
	r->samples[r->nsamples++] = ops_s;
	if (pt->eng)
		ran_on_str(pt, r->ran_on, sizeof(r->ran_on));
	if (pt->depth < pt->px->o->depth)
		snprintf(r->note, sizeof(r->note), "depth cut to %u (memory)", pt->depth);
}

/* Run one engine or peer at one size on the clients' buffers; add to row ri. */
static int run_point(struct perf_ctx *px, struct point *pt, struct sizebuf *bufs, const char *name, unsigned ri)
{
	void *(*fn)(void *) = pt->eng ? mover_udma_client : pt->peer == PEER_DMADEV ? mover_dmadev_client
										       : mover_sync_client;
	char what[96], sz[32];
	unsigned started = 0;

	pt->n = px->o->threads;
	pt->phase = 0;
	pt->stop = 0;
	int rc = clients_alloc(pt, bufs);
	if (!rc && (started = clients_start(pt, fn)) < pt->n)
		rc = -EAGAIN;
	snprintf(what, sizeof(what), "%s %s on %s", udma_func_name(pt->func), tool_size_str(pt->size, sz, sizeof(sz)),
		 name);
	perf_measure(px, !rc, &pt->phase, &pt->stop, what, live_ops, pt);
	for (unsigned i = 0; i < started; i++)
		pthread_join(pt->clients[i].th, NULL);
	px->point++;

	for (unsigned i = 0; i < started && !rc; i++)
		if (pt->clients[i].failed) {
			perf_fail(px, "%s", pt->clients[i].err);
			rc = -EIO;
		}
	if (!rc && !perf_interrupted)
		collect(pt, &px->res[ri]);
	if (rc && rc != -EIO)
		perf_fail(px, "%s: %s", what, strerror(-rc));
	clients_free(pt);
	return rc;
}

/* ---- a size: buffers, rows, repetitions -------------------------------------------- */

/* A row for an engine or peer at one size; its index, or -2 without memory. */
static int new_row(struct perf_ctx *px, const char *name, int peer, size_t size)
{
	struct perf_result *r = perf_result_add(px);

	if (!r)
		return -2;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->peer = peer;
	r->size = size;
	return (int)(px->nres - 1);
}

/* The rows of this size into row[]: engines, then peers (-1: missing). How many; -ENOMEM. */
static int size_rows(struct perf_ctx *px, size_t size, int *row)
{
	const struct perf_opts *o = px->o;
	int n = 0;

	for (unsigned i = 0; i < o->nengines; i++)
		row[n++] = new_row(px, o->engines[i].name, -1, size);
	for (int p = 0; o->peers && p <= PEER_DMADEV; p++) {
		const char *label = mover_peer_label((enum perf_peer)p, o->func);
		const char *why = mover_peer_missing((enum perf_peer)p, o->func, size);
		if (!why && p == PEER_DMADEV)
			why = mover_dmadev_setup(o->threads, o->depth, o->func);
		if (why) {
			perf_missing(px, label, "%s", why);
			px->point += (unsigned)o->reps;
			row[n++] = -1;
			continue;
		}
		row[n++] = new_row(px, label, p, size);
	}
	for (int k = 0; k < n; k++)
		if (row[k] == -2) {
			perf_fail(px, "out of memory");
			return -ENOMEM;
		}
	return n;
}

/* Buffers for every client thread and the expected results; the depth they allow. */
static int size_buffers(struct perf_ctx *px, struct point *pt, struct sizebuf *bufs, struct ref *ref)
{
	const struct perf_opts *o = px->o;
	size_t len = pt->region ? pt->region : pt->size;
	size_t stride = (len + 63) & ~(size_t)63, per = stride ? stride : 64;
	int rc = 0;

	unsigned outs = pt->nouts ? pt->nouts : 1; /* output regions per request */

	pt->depth = o->depth;
	per *= outs;
	if ((pt->has_out || pt->nouts) && (size_t)pt->nin * stride + (size_t)pt->depth * per > CLIENT_MEM)
		pt->depth = (unsigned)(CLIENT_MEM > ((size_t)pt->nin + outs) * per ? (CLIENT_MEM - (size_t)pt->nin * stride) / per : 1);
	for (unsigned i = 0; i < o->threads && !rc; i++)
		if (sizebuf_alloc(&bufs[i], pt, pt->nouts ? pt->depth * outs : pt->has_out ? pt->depth : 1))
			rc = -ENOMEM;
	for (unsigned i = 0; i < o->threads && !rc && o->func >= UDMA_FUNC_COUNT; i++)
		mover_later_fill(pt, &bufs[i]);
	if (!rc && ref_make(ref, pt, &bufs[0]))
		rc = -ENOMEM;
	if (rc)
		perf_fail(px, "no memory for %u x %zu-byte buffers", pt->depth + (unsigned)pt->nin, pt->size);
	return rc;
}

static int run_size(struct perf_ctx *px, size_t size)
{
	const struct perf_opts *o = px->o;
	struct point pt = { .px = px, .size = size, .func = o->func };
	struct sizebuf *bufs = calloc(o->threads, sizeof(*bufs));
	struct ref ref = { 0 };
	int row[PERF_MAX_ENGINES + PEER_COUNT];
	unsigned from = px->nres;

	if (!bufs)
		return -ENOMEM;
	pt.nin = udma_func_ninputs(o->func);
	pt.has_out = o->func != UDMA_FUNC_CRC32C && o->func != UDMA_FUNC_COMPARE;
	pt.is_crc = o->func == UDMA_FUNC_CRC32C || o->func == UDMA_FUNC_COPY_CRC32C;
	if (o->func >= UDMA_FUNC_COUNT)
		mover_later_shape(&pt);
	pt.ref = &ref;
	int rc = size_buffers(px, &pt, bufs, &ref);
	int nrows = rc ? 0 : size_rows(px, size, row);
	if (nrows < 0)
		rc = nrows;
	/* repetitions go round all engines and peers, so a slow spell of a shared
	 * machine spreads over all of them rather than landing on one */
	for (int rep = 0; rep < o->reps && !rc && !perf_interrupted; rep++)
		for (int k = 0; k < nrows && !rc && !perf_interrupted; k++) {
			if (row[k] < 0)
				continue;
			pt.eng = k < (int)o->nengines ? &o->engines[k] : NULL;
			if (!pt.eng)
				pt.peer = (enum perf_peer)px->res[row[k]].peer;
			rc = run_point(px, &pt, bufs, px->res[row[k]].name, (unsigned)row[k]);
		}
	perf_result_finish(px, from);
	ref_free(&ref);
	for (unsigned i = 0; i < o->threads; i++)
		sizebuf_free(&bufs[i]);
	free(bufs);
	return rc;
}

/* ---- the workload --------------------------------------------------------------------- */

int perf_engines_start(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;

	for (unsigned i = 0; i < o->nengines; i++) {
		struct perf_engine *e = &o->engines[i];
		if (e->kind == ENG_THREADS) {
			struct udma_threads_opts to = { .size = sizeof(to), .workers = e->workers, .name = e->name };
			e->e = udma_threads_engine_create(&to);
		} else if (e->kind == ENG_ERROR) {
			e->err.name = e->name;
			e->e = udma_error_engine_create(&e->err);
		} else {
			continue;
		}
		if (!e->e) {
			perf_fail(px, "cannot start engine %s: %s", e->name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void perf_engines_stop(struct perf_opts *o)
{
	for (unsigned i = 0; i < o->nengines; i++)
		if (o->engines[i].e) {
			udma_engine_unregister(o->engines[i].e);
			o->engines[i].e = NULL;
		}
}

int perf_mover_run(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;
	int rc = 0;

	if (o->peers)
		perf_dpdk_init(-1, o->no_huge, 32, NULL); /* dmadev rings: a few MiB */
	px->points = o->nsizes * (o->nengines + (o->peers ? PEER_DMADEV + 1 : 0)) * (unsigned)o->reps;
	if (!perf_engines_start(px))
		for (unsigned i = 0; i < o->nsizes && !rc && !perf_interrupted; i++)
			rc = run_size(px, o->sizes[i]);
	perf_progress_clear(px);
	/* the JSON reports what the engines learned: before they go */
	if (o->json)
		mover_json(px);
	else
		mover_print(px);
	mover_dmadev_fini();
	perf_engines_stop(o);
	return 0; /* a failed point is reported through px->failed */
}
