/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The udma client of the mover workload (perf_mover.h): one session of
 * `depth` requests; each is taken from the session, filled in, submitted,
 * and on completion (polled, called back, or waited for) checked, timed
 * and freed.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "perf_mover.h"

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
	while (client_go(c)) {
		submit_all(c, mode, s);
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
