/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running a sequence: a state machine that one thread at a time drives
 * (_udma_seq_kick hands it to whichever thread brings an event while no
 * other runs it). Each step becomes a request on the sequence's session for
 * its function; the next step starts from the previous one's completion.
 * Dependencies: a sequence waits in the lists of the sequences it comes
 * after, each of which counts it down when it completes.
 */
#include <string.h>

#include "../core/check.h"
#include "mover_internal.h"
#include "seq_internal.h"

/* ---- dependencies ------------------------------------------------------------------- */

/* Wake the sequences waiting for q (under q's lock, with q's state DONE):
 * each is counted down, and started (or cancelled) when its last dep is in. */
static void release_waiters(struct udma_seq *q, int status, struct udma_seq **ready)
{
	UDMA_ASSERT_LOCKED(&q->lock);
	for (struct seq_wait *w = q->waiters; w; w = w->next) {
		w->linked = 0;
		if (status)
			__atomic_store_n(&w->seq->dep_failed, 1, __ATOMIC_RELAXED);
		if (!__atomic_sub_fetch(&w->seq->dep_pending, 1, __ATOMIC_ACQ_REL)) {
			w->seq->ready_next = *ready;
			*ready = w->seq;
		}
	}
	q->waiters = NULL;
}

/* Count q down on its deps: those complete now are settled at once. */
static void register_deps(struct udma_seq *q)
{
	__atomic_store_n(&q->dep_failed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->dep_pending, 1 + q->ndeps, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < q->ndeps; i++) {
		struct udma_seq *d = q->deps[i];
		struct seq_wait *w = &q->wait[i];
		pthread_mutex_lock(&d->lock);
		int st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
		if (st == SEQ_DONE) {
			if (d->last_status)
				__atomic_store_n(&q->dep_failed, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&q->dep_pending, 1, __ATOMIC_ACQ_REL);
		} else {
			*w = (struct seq_wait){ .seq = q, .next = d->waiters, .linked = 1 };
			d->waiters = w;
		}
		pthread_mutex_unlock(&d->lock);
	}
}

void _udma_seq_unwait(struct udma_seq *q)
{
	for (unsigned i = 0; i < q->ndeps; i++) {
		struct udma_seq *d = q->deps[i];
		pthread_mutex_lock(&d->lock);
		if (q->wait[i].linked) {
			struct seq_wait **pp = &d->waiters;
			while (*pp != &q->wait[i])
				pp = &(*pp)->next;
			*pp = q->wait[i].next;
			q->wait[i].linked = 0;
			__atomic_sub_fetch(&q->dep_pending, 1, __ATOMIC_ACQ_REL);
		}
		pthread_mutex_unlock(&d->lock);
	}
}

int _udma_seq_start(struct udma_seq *q)
{
	for (unsigned i = 0; i < q->nsteps; i++) {
		q->steps[i].res = (struct udma_seq_result){ .size = sizeof(struct udma_seq_result), .status = -ECANCELED };
		__atomic_store_n(&q->steps[i].arrived, 0, __ATOMIC_RELAXED);
	}
	q->cur = q->ndone = q->chain_end = 0;
	q->status = 0;
	q->failed = -1;
	__atomic_store_n(&q->aborted, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->phase, q->ndeps ? PH_DEPS : PH_START, __ATOMIC_RELAXED);
	if (q->ndeps)
		register_deps(q); /* holding the registering count: nothing releases q yet */
	/* Last, and release: a thread that kicks q meanwhile (an abort, a step
	 * of the run before still on its way out) runs the machine only once
	 * it reads this state, and then reads everything above. No lock: a
	 * sequence registering after q reads "not done" either way. */
	__atomic_store_n(&q->state, q->ndeps ? SEQ_WAITING : SEQ_RUNNING, __ATOMIC_RELEASE);
	if (q->ndeps) /* the registering count: q may go once it is dropped */
		__atomic_sub_fetch(&q->dep_pending, 1, __ATOMIC_ACQ_REL);
	return 0;
}

/* ---- completion ------------------------------------------------------------------------- */

static void finish(struct udma_seq *q, int status, int failed)
{
	struct udma_seq *ready = NULL;

	q->status = status;
	q->failed = status ? failed : -1;
	udma_seq_cb cb = q->cb;
	void *cookie = q->cookie;
	pthread_mutex_lock(&q->lock);
	q->last_status = status;
	__atomic_store_n(&q->state, SEQ_DONE, __ATOMIC_RELEASE);
	release_waiters(q, status, &ready);
	pthread_mutex_unlock(&q->lock);
	_udma_seq_release(ready); /* they run when this thread's runner is done */
	if (cb)
		cb(q, status, cookie);
	__atomic_add_fetch(&q->generation, 1, __ATOMIC_RELEASE);
}

/* A step's request completed: note its outcome; the runner goes on. The
 * step is its session's latest (not always cur: a chain's steps complete
 * while the runner is at an earlier one). */
void _udma_seq_step_done(struct udma_req *req)
{
	struct seq_sess *ss = req->cookie;
	struct udma_seq *q = ss->seq;
	struct seq_step *st = &q->steps[ss->step];

	st->res.status = req->status;
	st->res.ran = 1;
	st->res.result = req->result;
	memcpy(st->res.imm, req->imm, sizeof(st->res.imm));
	st->res.engine = req->engine;
	/* release: the runner, maybe on another thread, reads the outcome after */
	__atomic_store_n(&st->arrived, 1, __ATOMIC_RELEASE);
	_udma_seq_kick(q);
}

/* Step cur of a chain failed: the engine finishes the rest of the chain
 * (-ECANCELED). 1 once all of them are in, so nothing of this run comes
 * after the sequence's completion; those cancelled did not run. */
static int chain_settled(struct udma_seq *q)
{
	for (unsigned i = q->cur + 1; i < q->chain_end; i++)
		if (!__atomic_load_n(&q->steps[i].arrived, __ATOMIC_ACQUIRE))
			return 0;
	for (unsigned i = q->cur + 1; i < q->chain_end; i++) {
		struct udma_seq_result *r = &q->steps[i].res;
		r->ran = r->status != -ECANCELED;
		r->engine = r->ran ? r->engine : NULL;
	}
	return 1;
}

/* ---- one step ----------------------------------------------------------------------------- */

/* Point the step's request at its buffers, resolving views and bounce pieces. */
static int fill_req(struct udma_seq *q, struct seq_step *st, struct udma_req *r)
{
	char *bounce = (char *)q->arena + q->bounce_off;
	int err;

	for (uint32_t j = 0; st->dynamic && j < st->nin + st->nout; j++) {
		struct seq_opnd *o = &st->opnd[j];
		if ((o->kind == OPND_VIEW || o->kind == OPND_FOREIGN) &&
		    (err = _udma_seq_opnd_buf(q, o, j >= st->nin, &bounce, &st->rin[j])))
			return err;
	}
	r->in = st->rin;
	if (st->single_out)
		r->out = st->nout ? st->rout[0] : (struct udma_buf){ .type = UDMA_BUF_NONE };
	else
		r->outs = st->rout;
	memcpy(r->imm, st->imm, sizeof(r->imm));
	if ((st->flags & UDMA_STEP_IMM_PREV) && q->cur)
		memcpy(r->imm, q->steps[q->cur - 1].res.imm, sizeof(r->imm));
	r->params = st->has_params ? &st->params : NULL;
	return 0;
}

/* PH_START: the abort check, the request, the pulls. 0 to go on, 1 blocked. */
static int step_start(struct udma_seq *q)
{
	struct seq_step *st = &q->steps[q->cur];
	int err;

	if (st->elided || st->by_domain) {
		st->res.status = 0;
		st->res.ran = 1;
		memcpy(st->res.imm, st->imm, sizeof(st->res.imm));
		st->res.engine = st->elided ? "elided" : "domain";
	}
	if (st->elided) {
		__atomic_store_n(&q->phase, PH_PUSHED, __ATOMIC_RELAXED);
		return 0;
	}
	if (st->by_domain) {
		__atomic_store_n(&q->phase, PH_PUSHING, __ATOMIC_RELAXED);
		err = _udma_seq_copy_by_domain(q, st);
		if (err < 0) {
			st->res.status = err;
			finish(q, err, (int)q->cur);
			return 1;
		}
		return !err;
	}
	if ((err = fill_req(q, st, st->ss->req))) {
		st->res.status = err;
		finish(q, err, (int)q->cur);
		return 1;
	}
	if (!st->foreign_in) {
		__atomic_store_n(&q->ops_err, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&q->phase, PH_SUBMIT, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_store_n(&q->phase, PH_PULLING, __ATOMIC_RELAXED);
	return !_udma_seq_pull(q, st);
}

/* Does step i share its session (its one request) with a step from cur on? */
static int session_taken(const struct udma_seq *q, unsigned i)
{
	for (unsigned j = q->cur; j < i; j++)
		if (q->steps[j].ss == q->steps[i].ss)
			return 1;
	return 0;
}

/*
 * Hand steps cur, cur + 1, ... to an engine that takes chains, as far as
 * their buffers are ready before the steps before them ran: none bounced,
 * elided or moved by a domain (nor a push after cur), none taking the
 * previous step's imm; each on a session of its own (one request each).
 * 1 when it took cur (and chain_end says how far), 0: submit cur alone.
 */
static int chain_submit(struct udma_seq *q)
{
	struct udma_req *reqs[UDMA_CHAIN_MAX];
	unsigned n = 1;

	if (!__atomic_load_n(&_udma_chain_engines, __ATOMIC_RELAXED))
		return 0;
	reqs[0] = q->steps[q->cur].ss->req;
	if (q->steps[q->cur].foreign_out || !_udma_req_may_chain(reqs[0]))
		return 0;
	for (unsigned i = q->cur + 1; i < q->nsteps && n < UDMA_CHAIN_MAX; i++, n++) {
		struct seq_step *st = &q->steps[i];
		if (st->elided || st->by_domain || st->foreign_in || st->foreign_out ||
		    (st->flags & UDMA_STEP_IMM_PREV) || session_taken(q, i) || fill_req(q, st, st->ss->req))
			break;
		st->ss->step = i;
		reqs[n] = st->ss->req;
	}
	int got = n > 1 ? _udma_submit_chain(reqs, n) : 0;
	if (got)
		q->chain_end = q->cur + (unsigned)got;
	return got > 0;
}

/* PH_SUBMIT: hand the request over; its completion may come before this returns. */
static int step_submit(struct udma_seq *q)
{
	struct seq_step *st = &q->steps[q->cur];
	int err = __atomic_load_n(&q->ops_err, __ATOMIC_ACQUIRE);

	__atomic_store_n(&q->phase, PH_RUNNING, __ATOMIC_RELAXED);
	st->ss->step = q->cur;
	if (!err && !chain_submit(q))
		err = udma_submit(st->ss->req);
	if (err) {
		st->res.status = err; /* refused, or its operands could not be pulled: it did not run */
		finish(q, err, (int)q->cur);
	}
	return 1;
}

/* Run the machine until it waits for something (or the sequence completed). */
void _udma_seq_advance(struct udma_seq *q)
{
	for (;;) {
		int st = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);
		if (st != SEQ_RUNNING && st != SEQ_WAITING)
			return;
		switch (__atomic_load_n(&q->phase, __ATOMIC_ACQUIRE)) {
		case PH_DEPS:
			if (__atomic_load_n(&q->dep_pending, __ATOMIC_ACQUIRE))
				return;
			if (__atomic_load_n(&q->dep_failed, __ATOMIC_RELAXED) || __atomic_load_n(&q->aborted, __ATOMIC_RELAXED)) {
				finish(q, -ECANCELED, 0);
				return;
			}
			__atomic_store_n(&q->state, SEQ_RUNNING, __ATOMIC_RELEASE);
			__atomic_store_n(&q->phase, PH_START, __ATOMIC_RELAXED);
			break;
		case PH_START:
			if (q->cur == q->nsteps) {
				finish(q, 0, -1);
				return;
			}
			if (q->cur < q->chain_end) { /* handed over with a step before it */
				__atomic_store_n(&q->phase, PH_RUNNING, __ATOMIC_RELAXED);
				break;
			}
			if (__atomic_load_n(&q->aborted, __ATOMIC_ACQUIRE)) {
				finish(q, -ECANCELED, (int)q->cur);
				return;
			}
			if (step_start(q))
				return;
			break;
		case PH_PULLING:
			if (__atomic_load_n(&q->ops_pending, __ATOMIC_ACQUIRE))
				return;
			__atomic_store_n(&q->phase, PH_SUBMIT, __ATOMIC_RELAXED);
			break;
		case PH_SUBMIT:
			step_submit(q);
			break;
		case PH_RUNNING:
			if (!__atomic_load_n(&q->steps[q->cur].arrived, __ATOMIC_ACQUIRE))
				return;
			q->step_status = q->steps[q->cur].res.status;
			__atomic_store_n(&q->phase, PH_STEPPED, __ATOMIC_RELAXED);
			break;
		case PH_STEPPED:
			if (q->step_status && !chain_settled(q))
				return;
			q->ndone++;
			if (q->step_status) {
				finish(q, q->step_status, (int)q->cur);
				return;
			}
			if (!q->steps[q->cur].foreign_out) {
				__atomic_store_n(&q->ops_err, 0, __ATOMIC_RELAXED);
				__atomic_store_n(&q->phase, PH_PUSHED, __ATOMIC_RELAXED);
				break;
			}
			__atomic_store_n(&q->phase, PH_PUSHING, __ATOMIC_RELAXED);
			if (!_udma_seq_push(q, &q->steps[q->cur]))
				return;
			break;
		case PH_PUSHING:
			if (__atomic_load_n(&q->ops_pending, __ATOMIC_ACQUIRE))
				return;
			__atomic_store_n(&q->phase, PH_PUSHED, __ATOMIC_RELAXED);
			break;
		case PH_PUSHED: {
			int err = __atomic_load_n(&q->ops_err, __ATOMIC_ACQUIRE);
			struct seq_step *s = &q->steps[q->cur];
			if (s->elided || s->by_domain) /* ran without an engine */
				q->ndone++;
			if (!s->elided && err) {
				s->res.status = err;
				finish(q, err, (int)q->cur);
				return;
			}
			q->cur++;
			__atomic_store_n(&q->phase, PH_START, __ATOMIC_RELAXED);
			break;
		}
		}
	}
}
