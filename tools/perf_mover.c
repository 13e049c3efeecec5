/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mover workload: per size, per engine, T client threads each open a
 * session and keep `depth` requests in flight: alloc, fill in, submit; on
 * completion (polled, called back, or waited for) check, time, free.
 * Then the peers run on the same buffers (perf_peers.c).
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "perf_mover.h"

const uint8_t perf_pat64[8] = { 'u', 'd', 'm', 'a', 'p', 'e', 'r', 'f' };

/* Memory per client thread: more and the depth is cut (and the table says so). */
#define CLIENT_MEM (1ul << 30)

/* ---- buffers and expected results ----------------------------------------------- */

static void fill_random(char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
}

static int sizebuf_alloc(struct sizebuf *b, const struct point *pt, unsigned nout)
{
	memset(b, 0, sizeof(*b));
	b->stride = (pt->size + 63) & ~(size_t)63;
	if (!b->stride)
		b->stride = 64;
	b->nout = nout;
	b->memlen = b->stride * ((size_t)pt->nin + nout);
	b->mem = mmap(NULL, b->memlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		return -ENOMEM;
	}
	if (b->memlen >= (4ul << 20))
		madvise(b->mem, b->memlen, MADV_HUGEPAGE);
	for (int j = 0; j < pt->nin; j++) {
		b->in[j] = b->mem + (size_t)j * b->stride;
		/* compare's inputs are equal; every other input differs */
		fill_random(b->in[j], pt->size, 0x9e3779b97f4a7c15ull * (uint64_t)(pt->func == UDMA_FUNC_COMPARE ? 1 : j + 1));
	}
	b->out = b->mem + (size_t)pt->nin * b->stride;
	memset(b->out, 0, (size_t)nout * b->stride); /* fault it in now, not while timed */
	return 0;
}

static void sizebuf_free(struct sizebuf *b)
{
	if (b->mem)
		munmap(b->mem, b->memlen);
	b->mem = NULL;
}

static int ref_make(struct ref *r, const struct point *pt, const struct sizebuf *b)
{
	memset(r, 0, sizeof(*r));
	if (pt->is_crc)
		r->crc = perf_crc32c_ref(b->in[0], pt->size);
	if (!pt->has_out)
		return 0;
	r->out = malloc(pt->size ? pt->size : 1);
	if (!r->out)
		return -ENOMEM;
	switch (pt->func) {
	case UDMA_FUNC_ZERO:
		memset(r->out, 0, pt->size);
		break;
	case UDMA_FUNC_FILL8:
		memset(r->out, PAT8, pt->size);
		break;
	case UDMA_FUNC_FILL64:
		for (size_t i = 0; i < pt->size; i++)
			r->out[i] = perf_pat64[i % 8];
		break;
	case UDMA_FUNC_COPY:
	case UDMA_FUNC_COPY_CRC32C:
		memcpy(r->out, b->in[0], pt->size);
		break;
	default: /* xor, byte by byte: nothing shared with the code under test */
		for (size_t i = 0; i < pt->size; i++) {
			unsigned char x = 0;
			for (int j = 0; j < pt->nin; j++)
				x ^= (unsigned char)b->in[j][i];
			r->out[i] = x;
		}
	}
	return 0;
}

/* ---- what every client loop shares ----------------------------------------------- */

void client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->failed = 1;
	__atomic_store_n(&c->pt->stop, 1, __ATOMIC_RELEASE);
}


int client_verify_slow(struct client *c, unsigned idx, uint32_t crc, uint64_t cmp, const char *who)
{
	const struct point *pt = c->pt;
	const char *fn = udma_func_name(pt->func);

	if (pt->has_out) {
		const unsigned char *out = (const unsigned char *)client_out(c, idx), *want = pt->ref->out;
		if (memcmp(out, want, pt->size)) {
			size_t at = 0;
			while (out[at] == want[at])
				at++;
			client_fail(c, "verification: %s of %zu bytes on %s: output byte %zu is 0x%02x, want 0x%02x", fn,
				    pt->size, who, at, out[at], want[at]);
			return -1;
		}
	}
	if (pt->is_crc && crc != pt->ref->crc) {
		client_fail(c, "verification: %s of %zu bytes on %s: CRC 0x%08x, want 0x%08x", fn, pt->size, who, crc,
			    pt->ref->crc);
		return -1;
	}
	if (pt->func == UDMA_FUNC_COMPARE && cmp != UDMA_CMP_EQUAL) {
		client_fail(c, "verification: compare of %zu equal bytes on %s: difference at %llu", pt->size, who,
			    (unsigned long long)cmp);
		return -1;
	}
	return 0;
}

void client_count(struct client *c, uint64_t t_sub, uint64_t t_done)
{
	if (c->win.measuring) {
		if (t_sub)
			perf_hist_add(&c->hist, perf_ticks_ns(t_done - t_sub));
		c->ops++;
		__atomic_store_n(&c->live, c->ops, __ATOMIC_RELAXED);
	}
}

/* ---- the udma client ---------------------------------------------------------------- */

static void ran_on(struct client *c, const char *engine)
{
	for (unsigned i = 0; i < 8; i++) {
		if (c->ran_name[i] == engine || !c->ran_name[i]) {
			c->ran_name[i] = engine;
			c->ran_cnt[i]++;
			return;
		}
	}
}

static uint32_t imm_crc(const struct udma_req *req)
{
	return (uint32_t)req->imm[0] | (uint32_t)req->imm[1] << 8 | (uint32_t)req->imm[2] << 16 |
	       (uint32_t)req->imm[3] << 24;
}

/* A completion, in the client's thread. */
static void complete(struct client *c, struct rec *r, uint64_t t_done)
{
	struct udma_req *req = r->req;
	const char *engine = req->engine ? req->engine : "?";

	if (req->status)
		client_fail(c, "%s of %zu bytes failed on engine %s: %s", udma_func_name(c->pt->func), c->pt->size,
			    engine, strerror(-req->status));
	else
		client_verify(c, r->idx, imm_crc(req), req->result, engine);
	if (c->win.measuring)
		ran_on(c, req->engine);
	int err = udma_req_free(req);
	if (err)
		client_fail(c, "udma_req_free: %s", strerror(-err));
	c->inflight--;
	c->freeidx[c->nfree++] = r->idx;
	client_count(c, r->t_sub, t_done);
}

/* POLL mode: runs inside udma_session_poll(), in the client's thread. */
static void cb_poll(struct udma_req *req)
{
	struct rec *r = req->cookie;

	complete(r->c, r, r->t_sub ? perf_ticks() : 0);
}

/* CALLBACK mode: may run on an engine's thread; hand the request to the client. */
static void cb_callback(struct udma_req *req)
{
	struct rec *r = req->cookie;
	struct client *c = r->c;

	r->t_done = r->t_sub ? perf_ticks() : 0;
	struct rec *head = __atomic_load_n(&c->cbstack, __ATOMIC_RELAXED);
	do
		r->next = head;
	/* release: the request's results before the client can see it */
	while (!__atomic_compare_exchange_n(&c->cbstack, &head, r, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Spin while completions come; after a long dry spell, yield the CPU, in
 * case the engine's worker is waiting for it (more threads than CPUs). */
static void idle(struct client *c, int n)
{
	if (n) {
		c->dry = 0;
		return;
	}
	perf_relax();
	if (++c->dry >= 1024) {
		c->dry = 0;
		sched_yield();
	}
}

static int reap(struct client *c, struct udma_session *s)
{
	const struct point *pt = c->pt;

	switch (pt->px->o->mode) {
	case MODE_POLL: {
		int n = udma_session_poll(s, pt->depth);
		idle(c, n);
		return n;
	}
	case MODE_CALLBACK: {
		/* acquire: pairs with the callbacks' release */
		struct rec *r = __atomic_exchange_n(&c->cbstack, NULL, __ATOMIC_ACQUIRE);
		int n = 0;
		for (; r; r = r->next, n++)
			complete(c, r, r->t_done);
		idle(c, n);
		return n;
	}
	case MODE_WAIT: {
		if (!c->inflight)
			return 0;
		struct rec *r = &c->recs[client_fifo_pop(c)];
		int err = udma_req_wait(r->req);
		if (err)
			client_fail(c, "udma_req_wait: %s", strerror(-err));
		complete(c, r, r->t_sub ? perf_ticks() : 0);
		return 1;
	}
	}
	return 0;
}

static void *udma_client(void *arg)
{
	struct client *c = arg;
	const struct point *pt = c->pt;
	enum perf_mode mode = pt->px->o->mode;
	struct udma_session_opts so = {
		.size = sizeof(so),
		.mode = mode == MODE_POLL ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK,
		.depth = pt->depth,
		.engine = pt->eng->kind == ENG_AUTO ? NULL : pt->eng->name,
	};
	struct udma_session *s = udma_session_create(pt->func, &so);

	if (!s) {
		client_fail(c, "cannot open a %s session on engine %s: %s", udma_func_name(pt->func), pt->eng->name,
			    strerror(errno));
		return NULL;
	}
	while (client_go(c)) {
		while (c->nfree) {
			unsigned idx = c->freeidx[--c->nfree];
			struct rec *r = &c->recs[idx];
			struct udma_req *req = udma_req_alloc(s);
			if (!req) {
				c->nfree++;
				client_fail(c, "udma_req_alloc: %s", strerror(errno));
				break;
			}
			if (pt->has_out) {
				req->out.type = UDMA_BUF_LINEAR;
				req->out.linear.addr = client_out(c, idx);
				req->out.linear.len = pt->size;
			}
			for (int j = 0; j < pt->nin; j++) {
				req->in[j].type = UDMA_BUF_LINEAR;
				req->in[j].linear.addr = c->b->in[j];
				req->in[j].linear.len = pt->size;
			}
			if (pt->func == UDMA_FUNC_FILL8)
				req->imm[0] = PAT8;
			else if (pt->func == UDMA_FUNC_FILL64)
				memcpy(req->imm, perf_pat64, 8);
			if (mode != MODE_WAIT)
				req->cb = mode == MODE_POLL ? cb_poll : cb_callback;
			req->cookie = r;
			r->req = req;
			client_poison(c, idx);
			r->t_sub = client_sample(c) ? perf_ticks() : 0;
			c->inflight++;
			if (mode == MODE_WAIT)
				client_fifo_push(c, idx);
			int err = udma_submit(req);
			if (err) {
				c->inflight--;
				c->nfree++;
				udma_req_free(req);
				client_fail(c, "udma_submit (%s of %zu bytes on %s): %s", udma_func_name(pt->func),
					    pt->size, pt->eng->name, strerror(-err));
				break;
			}
		}
		if (c->failed)
			break;
		reap(c, s);
	}
	client_go(c);
	while (c->inflight)
		reap(c, s);
	/* a callback may still be returning: the session counts it until then */
	while (udma_session_inflight(s))
		sched_yield();
	int err = udma_session_destroy(s);
	if (err)
		client_fail(c, "udma_session_destroy: %s", strerror(-err));
	return NULL;
}

/* ---- running a point ------------------------------------------------------------------- */

static uint64_t live_ops(void *arg)
{
	const struct point *pt = arg;
	uint64_t n = 0;

	for (unsigned i = 0; i < pt->n; i++)
		n += __atomic_load_n(&pt->clients[i].live, __ATOMIC_RELAXED);
	return n;
}

static void ran_on_str(struct point *pt, char *buf, size_t len)
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

/* Run one engine or peer at one size on the clients' buffers; add its result. */
static int run_point(struct perf_ctx *px, struct point *pt, struct sizebuf *bufs, const char *name, unsigned ri)
{
	const struct perf_opts *o = px->o;
	void *(*fn)(void *) = pt->eng ? udma_client : pt->peer == PEER_DMADEV ? peer_dmadev_client : peer_sync_client;
	char what[96], sz[32];
	int rc = 0;

	pt->n = o->threads;
	pt->phase = 0;
	pt->stop = 0;
	pt->clients = calloc(pt->n, sizeof(*pt->clients));
	if (!pt->clients)
		return -ENOMEM;
	for (unsigned i = 0; i < pt->n; i++) {
		struct client *c = &pt->clients[i];
		c->pt = pt;
		c->id = i;
		c->b = &bufs[i];
		c->dev = (int)i;
		c->verify = o->verify;
		c->lat_every = o->lat_every;
		c->recs = calloc(pt->depth, sizeof(*c->recs));
		c->freeidx = calloc(pt->depth, sizeof(*c->freeidx));
		c->fifo = calloc(pt->depth, sizeof(*c->fifo));
		if (!c->recs || !c->freeidx || !c->fifo) {
			rc = -ENOMEM;
			break;
		}
		for (unsigned k = 0; k < pt->depth; k++) {
			c->recs[k].c = c;
			c->recs[k].idx = k;
			c->freeidx[c->nfree++] = pt->depth - 1 - k;
		}
	}
	/* With DPDK up and one client, every client (udma's and the peers') runs
	 * on the main lcore's CPU: the same place for all, and never the CPU of
	 * DPDK's control threads, where dma_skeleton's copy thread polls. */
	pthread_attr_t attr;
	cpu_set_t cpus;
	pthread_attr_init(&attr);
	if (pt->n == 1 && !perf_dpdk_client_cpus(&cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	unsigned started = 0;
	for (; !rc && started < pt->n; started++)
		if (pthread_create(&pt->clients[started].th, &attr, fn, &pt->clients[started])) {
			rc = -EAGAIN;
			__atomic_store_n(&pt->stop, 1, __ATOMIC_RELEASE);
			break;
		}
	pthread_attr_destroy(&attr);
	snprintf(what, sizeof(what), "%s %s on %s", udma_func_name(pt->func), perf_size_str(pt->size, sz, sizeof(sz)),
		 name);
	perf_measure(px, !rc, &pt->phase, &pt->stop, what, live_ops, pt);
	for (unsigned i = 0; i < started; i++)
		pthread_join(pt->clients[i].th, NULL);
	px->point++;

	for (unsigned i = 0; i < pt->n && !rc; i++)
		if (pt->clients[i].failed) {
			perf_fail(px, "%s", pt->clients[i].err);
			rc = -EIO;
		}
	if (!rc && !perf_interrupted) {
		struct perf_result *r = &px->res[ri];
		double ops_s = 0, secs_all = 0;
		r->threads = pt->n;
		r->depth = pt->depth;
		for (unsigned i = 0; i < pt->n; i++) {
			struct client *c = &pt->clients[i];
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
		if (pt->depth < o->depth)
			snprintf(r->note, sizeof(r->note), "depth cut to %u (memory)", pt->depth);
	}
	if (rc && rc != -EIO && !px->failed)
		perf_fail(px, "%s: %s", what, strerror(-rc));
	for (unsigned i = 0; i < pt->n; i++) {
		free(pt->clients[i].recs);
		free(pt->clients[i].freeidx);
		free(pt->clients[i].fifo);
	}
	free(pt->clients);
	pt->clients = NULL;
	return rc;
}

/* ---- the workload --------------------------------------------------------------------- */

static int engines_start(struct perf_ctx *px)
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

static void engines_stop(struct perf_opts *o)
{
	for (unsigned i = 0; i < o->nengines; i++)
		if (o->engines[i].e) {
			udma_engine_unregister(o->engines[i].e);
			o->engines[i].e = NULL;
		}
}

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

static int run_size(struct perf_ctx *px, size_t size, int first)
{
	struct perf_opts *o = px->o;
	struct point pt = { .px = px, .size = size, .func = o->func };
	struct sizebuf *bufs = calloc(o->threads, sizeof(*bufs));
	struct ref ref;
	int rc = 0;

	if (!bufs)
		return -ENOMEM;
	pt.nin = udma_func_ninputs(o->func);
	pt.has_out = o->func != UDMA_FUNC_CRC32C && o->func != UDMA_FUNC_COMPARE;
	pt.is_crc = o->func == UDMA_FUNC_CRC32C || o->func == UDMA_FUNC_COPY_CRC32C;
	size_t stride = (size + 63) & ~(size_t)63, per = stride ? stride : 64;
	pt.depth = o->depth;
	if (pt.has_out && ((size_t)pt.nin + pt.depth) * per > CLIENT_MEM)
		pt.depth = (unsigned)(CLIENT_MEM / per > (size_t)pt.nin + 1 ? CLIENT_MEM / per - (size_t)pt.nin : 1);
	for (unsigned i = 0; i < o->threads && !rc; i++)
		if (sizebuf_alloc(&bufs[i], &pt, pt.has_out ? pt.depth : 1))
			rc = -ENOMEM;
	if (rc || ref_make(&ref, &pt, &bufs[0])) {
		perf_fail(px, "no memory for %u x %zu-byte buffers", pt.depth + (unsigned)pt.nin, size);
		for (unsigned i = 0; i < o->threads; i++)
			sizebuf_free(&bufs[i]);
		free(bufs);
		return -ENOMEM;
	}
	pt.ref = &ref;
	/* the rows of this size: engines, then peers (-1: missing) */
	int row[PERF_MAX_ENGINES + PEER_COUNT];
	unsigned from = px->nres, npts = 0;
	for (unsigned i = 0; i < o->nengines; i++)
		row[npts++] = new_row(px, o->engines[i].name, -1, size);
	for (int p = 0; o->peers && p <= PEER_DMADEV; p++) {
		const char *label = perf_peer_label((enum perf_peer)p, o->func);
		const char *why = perf_peer_missing((enum perf_peer)p, o->func, size);
		if (!why && p == PEER_DMADEV)
			why = peer_dmadev_setup(o->threads, o->depth, o->func);
		if (why) {
			perf_missing(px, label, "%s", why);
			px->point += (unsigned)o->reps;
			row[npts++] = -1;
			continue;
		}
		row[npts++] = new_row(px, label, p, size);
	}
	for (unsigned k = 0; k < npts && !rc; k++)
		if (row[k] == -2) {
			perf_fail(px, "out of memory");
			rc = -ENOMEM;
		}
	/* repetitions go round all engines and peers, so a slow spell of a shared
	 * machine spreads over all of them rather than landing on one */
	for (int rep = 0; rep < o->reps && !rc && !perf_interrupted; rep++)
		for (unsigned k = 0; k < npts && !rc && !perf_interrupted; k++) {
			if (row[k] < 0)
				continue;
			pt.eng = k < o->nengines ? &o->engines[k] : NULL;
			if (!pt.eng)
				pt.peer = (enum perf_peer)px->res[row[k]].peer;
			rc = run_point(px, &pt, bufs, px->res[row[k]].name, (unsigned)row[k]);
		}
	perf_result_finish(px, from);
	perf_progress_clear(px);
	if (!o->json)
		perf_out_mover_size(px, size, first);
	free(ref.out);
	for (unsigned i = 0; i < o->threads; i++)
		sizebuf_free(&bufs[i]);
	free(bufs);
	return rc;
}

int perf_mover_run(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;
	int rc = 0;

	if (o->peers)
		perf_dpdk_init(-1, o->no_huge, 32, NULL); /* dmadev rings: a few MiB */
	px->points = o->nsizes * (o->nengines + (o->peers ? PEER_DMADEV + 1 : 0)) * (unsigned)o->reps;
	if (engines_start(px))
		return 0;
	for (unsigned i = 0; i < o->nsizes && !rc && !perf_interrupted; i++)
		rc = run_size(px, o->sizes[i], i == 0);
	if (!o->json)
		perf_out_missing(px);
	return 0; /* a failed point is reported through px->failed */
}

/* After the outputs: the JSON reports what the engines learned. */
void perf_mover_fini(struct perf_ctx *px)
{
	peer_dmadev_fini();
	engines_stop(px->o);
}
