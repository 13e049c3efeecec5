/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The udma client of the mover workload (perf_mover.h): one session of
 * `depth` requests; each is taken from the session, filled in, submitted,
 * and on completion (polled, called back, or waited for) checked, timed
 * and freed. With --burst N the client keeps its requests, submits them N
 * at a time and reaps them N at a time (no callbacks).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "perf_mover.h"

/* n requests ran on engine. */
static void ran_on_n(struct client *c, const char *engine, uint64_t n)
{
	for (unsigned i = 0; i < 8; i++) {
		if (c->ran_name[i] == engine || !c->ran_name[i]) {
			c->ran_name[i] = engine;
			c->ran_cnt[i] += n;
			return;
		}
	}
}

static void ran_on(struct client *c, const char *engine)
{
	ran_on_n(c, engine, 1);
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

static void reap(struct client *c, struct udma_session *s)
{
	const struct point *pt = c->pt;

	switch (pt->px->o->mode) {
	case MODE_POLL:
		idle(c, udma_session_poll(s, pt->depth));
		return;
	case MODE_CALLBACK: {
		/* acquire: pairs with the callbacks' release */
		struct rec *r = __atomic_exchange_n(&c->cbstack, NULL, __ATOMIC_ACQUIRE);
		int n = 0;
		for (; r; r = r->next, n++)
			complete(c, r, r->t_done);
		idle(c, n);
		return;
	}
	case MODE_WAIT: {
		if (!c->inflight)
			return;
		struct rec *r = &c->recs[client_fifo_pop(c)];
		int err = udma_req_wait(r->req);
		if (err)
			client_fail(c, "udma_req_wait: %s", strerror(-err));
		complete(c, r, r->t_sub ? perf_ticks() : 0);
		return;
	}
	}
}

/* Fill in a request for output idx. */
static void prepare(struct client *c, enum perf_mode mode, struct udma_req *req, unsigned idx)
{
	const struct point *pt = c->pt;

	if (pt->func >= UDMA_FUNC_COUNT) {
		mover_later_prepare(c, req, idx);
	} else if (pt->has_out) {
		req->out.type = UDMA_BUF_LINEAR;
		req->out.linear.addr = client_out(c, idx);
		req->out.linear.len = pt->size;
	}
	for (int j = 0; j < pt->nin && pt->func < UDMA_FUNC_COUNT; j++) {
		req->in[j].type = UDMA_BUF_LINEAR;
		req->in[j].linear.addr = c->b->in[j];
		req->in[j].linear.len = pt->size;
	}
	if (pt->func == UDMA_FUNC_FILL8)
		req->imm[0] = PAT8;
	else if (pt->func == UDMA_FUNC_FILL64)
		memcpy(req->imm, mover_pat64, 8);
	if (mode != MODE_WAIT)
		req->cb = mode == MODE_POLL ? cb_poll : cb_callback;
	req->cookie = &c->recs[idx];
	c->recs[idx].req = req;
}

/* Submit a request for every free output; stops at the first failure. */
static void submit_all(struct client *c, enum perf_mode mode, struct udma_session *s)
{
	const struct point *pt = c->pt;

	while (c->nfree && !c->failed) {
		unsigned idx = c->freeidx[--c->nfree];
		struct rec *r = &c->recs[idx];
		struct udma_req *req = udma_req_alloc(s);
		if (!req) {
			c->nfree++;
			client_fail(c, "udma_req_alloc: %s", strerror(errno));
			return;
		}
		prepare(c, mode, req, idx);
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
			client_fail(c, "udma_submit (%s of %zu bytes on %s): %s", udma_func_name(pt->func), pt->size,
				    pt->eng->name, strerror(-err));
		}
	}
}

/* ---- bursts (--burst N): the requests stay the client's, resubmitted as they come back ---- */

struct burst {
	unsigned n;                /* requests per submit and per reap */
	struct udma_req **ready;   /* not in flight */
	unsigned nready;
	struct udma_req **got;
	int *status;
};

/* One burst of up to n ready requests. */
static void burst_submit(struct client *c, struct burst *b)
{
	unsigned n = b->nready < b->n ? b->nready : b->n;
	struct udma_req **first = &b->ready[b->nready - n];

	if (!n)
		return;
	/* per request only what the run asks for: poison (-y), latency samples
	 * (crc seeds are reset as the requests are reaped) */
	if (c->verify || c->lat_every)
		for (unsigned i = 0; i < n; i++) {
			struct rec *r = first[i]->cookie;
			client_poison(c, r->idx);
			r->t_sub = client_sample(c) ? perf_ticks() : 0;
		}
	int got = udma_submit_burst(first, n);
	if (got < 0) {
		client_fail(c, "udma_submit_burst (%s of %zu bytes on %s): %s", udma_func_name(c->pt->func), c->pt->size,
			    c->pt->eng->name, strerror(-got));
		return;
	}
	/* the refused rest moves down over the accepted */
	memmove(first, first + got, (n - (unsigned)got) * sizeof(*first));
	b->nready -= (unsigned)got;
	c->inflight += (unsigned)got;
}

/* Each reaped request's status checked (and its output with -y), the
 * engines tallied by runs of one, latency samples taken where asked for;
 * the count and the ready list once per reap. */
static void burst_reap(struct client *c, struct udma_session *s, struct burst *b)
{
	struct udma_req **got = b->got;
	const int *status = b->status;
	int k = udma_session_reap(s, got, b->status, b->n);
	int measuring = c->win.measuring, verify = c->verify;
	const char *ran = NULL;
	uint64_t now = 0, same = 0;

	if (k < 0) {
		client_fail(c, "udma_session_reap: %s", strerror(-k));
		return;
	}
	for (int j = 0; j < k; j++) {
		struct udma_req *req = got[j];
		if (status[j] || verify) {
			const char *engine = req->engine ? req->engine : "?";
			if (status[j])
				client_fail(c, "%s of %zu bytes failed on engine %s: %s", udma_func_name(c->pt->func),
					    c->pt->size, engine, strerror(-status[j]));
			else
				client_verify(c, ((struct rec *)req->cookie)->idx, imm_crc(req), req->result, engine);
		}
		if (c->pt->is_crc) /* the next submission's seed: 0, as the alloc left it (the result was there) */
			memset(req->imm, 0, sizeof(req->imm));
		if (req->engine != ran) {
			if (measuring && same)
				ran_on_n(c, ran, same);
			ran = req->engine;
			same = 0;
		}
		same++;
	}
	if (measuring && same)
		ran_on_n(c, ran, same);
	if (c->lat_every) {
		for (int j = 0; j < k; j++) {
			struct rec *r = got[j]->cookie;
			if (r->t_sub && !now)
				now = perf_ticks();
			client_count(c, r->t_sub, now);
		}
	} else {
		client_count_n(c, (unsigned)k);
	}
	memcpy(b->ready + b->nready, got, (size_t)k * sizeof(*got));
	b->nready += (unsigned)k;
	c->inflight -= (unsigned)k;
	idle(c, k);
}

static void burst_run(struct client *c, struct udma_session *s, unsigned n)
{
	const struct point *pt = c->pt;
	struct burst b = { .n = n < pt->depth ? n : pt->depth };

	b.ready = calloc(pt->depth, sizeof(*b.ready));
	b.got = calloc(b.n, sizeof(*b.got));
	b.status = calloc(b.n, sizeof(*b.status));
	if (!b.ready || !b.got || !b.status) {
		client_fail(c, "out of memory for bursts of %u", b.n);
		goto out;
	}
	for (; b.nready < pt->depth; b.nready++) {
		struct udma_req *req = udma_req_alloc(s);
		if (!req) {
			client_fail(c, "udma_req_alloc: %s", strerror(errno));
			break;
		}
		prepare(c, MODE_POLL, req, b.nready);
		req->cb = NULL; /* reaped, not called back (crc32c's seed: 0 from the alloc) */
		b.ready[b.nready] = req;
	}
	c->nfree = 0; /* every output belongs to one of these requests now */
	while (!c->failed && client_go(c)) {
		burst_submit(c, &b);
		burst_reap(c, s, &b);
	}
	client_go(c);
	while (c->inflight && !c->failed)
		burst_reap(c, s, &b);
	while (b.nready)
		udma_req_free(b.ready[--b.nready]);
out:
	free(b.ready);
	free(b.got);
	free(b.status);
}

void *mover_udma_client(void *arg)
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
	if (pt->px->o->burst) {
		burst_run(c, s, pt->px->o->burst);
	} else {
		while (client_go(c)) {
			submit_all(c, mode, s);
			if (c->failed)
				break;
			reap(c, s);
		}
		client_go(c);
		while (c->inflight)
			reap(c, s);
	}
	/* a callback may still be returning: the session counts it until then */
	while (udma_session_inflight(s))
		sched_yield();
	int err = udma_session_destroy(s);
	if (err)
		client_fail(c, "udma_session_destroy: %s", strerror(-err));
	return NULL;
}
