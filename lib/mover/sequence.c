/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sequences (include/udma/sequence.h): building, checking, submitting and
 * releasing them, and the hand-off that lets exactly one thread at a time
 * drive a submitted sequence (seq_run.c is what it runs).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../core/check.h"
#include "mover_internal.h"
#include "seq_internal.h"

/* The sizes of the public structs' first version: a caller built against
 * it passes these, and later versions append. */
#define SEQ_OPTS_V1 (offsetof(struct udma_seq_opts, engine) + sizeof(const char *))
#define SEQ_STEP_V1 (offsetof(struct udma_step, engine) + sizeof(const char *))
#define SEQ_RESULT_V1 (offsetof(struct udma_seq_result, engine) + sizeof(const char *))

/* The sequence whose poll or submit this thread is in (POLL mode runs only
 * there), and the one this thread is running (its callback may not destroy it). */
static MOVER_TLS struct udma_seq *tl_driver, *tl_running;
/* Sequences whose dependencies a completion here released, run once this
 * thread's outermost runner is done: one after another, not one inside the
 * other (a chain of thousands would otherwise nest as deep). */
static MOVER_TLS struct udma_seq *tl_released;
static MOVER_TLS int tl_draining;

void _udma_seq_release(struct udma_seq *list)
{
	while (list) {
		struct udma_seq *r = list;
		list = r->ready_next;
		r->ready_next = tl_released;
		tl_released = r;
	}
}

static void drain_released(void)
{
	tl_draining = 1;
	while (tl_released) {
		struct udma_seq *r = tl_released;
		tl_released = r->ready_next;
		_udma_seq_kick(r);
	}
	tl_draining = 0;
}

void _udma_seq_kick(struct udma_seq *q)
{
	if (q->mode == UDMA_COMPL_POLL && tl_driver != q) {
		__atomic_store_n(&q->posted, 1, __ATOMIC_RELEASE); /* for the poller */
		return;
	}
	/* the thread that takes kicks from 0 runs every event until none is left */
	if (__atomic_fetch_add(&q->kicks, 1, __ATOMIC_ACQ_REL))
		return;
	struct udma_seq *outer = tl_running;
	tl_running = q;
	do
		_udma_seq_advance(q);
	while (__atomic_sub_fetch(&q->kicks, 1, __ATOMIC_ACQ_REL));
	tl_running = outer;
	if (!outer && !tl_draining)
		drain_released();
}

static int busy(const struct udma_seq *q)
{
	int st = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);
	return st == SEQ_RUNNING || st == SEQ_WAITING;
}

struct udma_seq *udma_seq_create(const struct udma_seq_opts *uo)
{
	struct udma_seq_opts o = { .size = sizeof(o) };

	if (uo) { /* the first version's size at least; fields past the caller's keep defaults */
		if (uo->size < SEQ_OPTS_V1)
			return udma_fail_null(EINVAL, "opts->size %zu, at least %zu expected", uo->size, SEQ_OPTS_V1);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	if (o.mode != UDMA_COMPL_CALLBACK && o.mode != UDMA_COMPL_POLL)
		return udma_fail_null(EINVAL, "unknown completion mode %d", (int)o.mode);
	_udma_engines_default();
	if (o.engine && strcmp(o.engine, "auto") && !_udma_engine_by_name(o.engine))
		return udma_fail_null(ENODEV, "no engine \"%s\"", o.engine);
	struct udma_seq *q = calloc(1, sizeof(*q));
	if (!q)
		return udma_fail_null(ENOMEM, "out of memory");
	q->mode = o.mode;
	if (o.engine && strcmp(o.engine, "auto") && !(q->engine = strdup(o.engine))) {
		free(q);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	pthread_mutex_init(&q->lock, NULL);
	q->failed = -1;
	return q;
}

/* ---- append ---------------------------------------------------------------------------- */

static int has_output(enum udma_func f)
{
	return f != UDMA_FUNC_CRC32C && f != UDMA_FUNC_COMPARE;
}

/* How many inputs and outputs the step must have, and where the one output goes. */
static int step_shape(const struct udma_step *u, struct seq_step *st, uint64_t *lost)
{
	*lost = 0;
	if (u->func < UDMA_FUNC_COUNT) {
		if (u->params)
			return udma_fail(EINVAL, "%s takes no params", udma_func_name(u->func));
		st->nin = (uint32_t)udma_func_ninputs(u->func);
		st->nout = has_output(u->func);
		st->single_out = 1;
	} else {
		struct func_shape sh;
		int err = _udma_func_shape(u->func, u->params, &sh);
		if (err)
			return err;
		st->nin = sh.nins;
		st->nout = sh.nouts;
		st->single_out = sh.single_out;
		*lost = sh.lost;
	}
	if (u->nin != st->nin)
		return udma_fail(EINVAL, "%s takes %u inputs, not %u", udma_func_name(u->func), st->nin, u->nin);
	if (st->single_out ? u->nouts || (u->out.type != UDMA_BUF_NONE) != (st->nout == 1)
			   : u->nouts != st->nout || u->out.type != UDMA_BUF_NONE)
		return udma_fail(EINVAL, "%s writes %u output%s%s", udma_func_name(u->func), st->nout,
				 st->nout == 1 ? "" : "s", st->single_out ? " (step->out)" : " (step->outs[])");
	if ((u->nin && !u->in) || (u->nouts && !u->outs))
		return udma_fail(EINVAL, "NULL buffer array");
	return 0;
}

/* Every operand: its kind, NONE exactly where a block is lost, lengths that agree. */
static int step_operands(const struct udma_step *u, struct seq_step *st, uint64_t lost)
{
	size_t len[2] = { 0, 0 };
	int have[2] = { 0, 0 }, err;

	for (uint32_t j = 0; j < st->nin + st->nout; j++) {
		int out = j >= st->nin;
		const struct udma_buf *b = !out ? &u->in[j] : st->single_out ? &u->out : &u->outs[j - st->nin];
		if ((err = _udma_seq_opnd_classify(&st->opnd[j], b)))
			return err;
		int none = st->opnd[j].kind == OPND_NONE;
		if (none != (!out && (lost >> j & 1)))
			return udma_fail(EINVAL, "%s %u is %s", out ? "output" : "input", out ? j - st->nin : j,
					 none ? "NONE" : "a lost block: it must be NONE");
		if (none)
			continue;
		if (have[out] && len[out] != st->opnd[j].len)
			return udma_fail(EINVAL, "region lengths differ: %zu and %zu", len[out], st->opnd[j].len);
		len[out] = st->opnd[j].len;
		have[out] = 1;
	}
	int dif = st->func >= UDMA_FUNC_DIF_GENERATE && st->func <= UDMA_FUNC_DIF_INSERT;
	if (!dif && have[0] && have[1] && len[0] != len[1])
		return udma_fail(EINVAL, "region lengths differ: %zu and %zu", len[0], len[1]);
	return 0;
}

/* Temporaries: read only once written, one length per slot, never read and
 * written by one step. *written gets the slots this step writes. */
static int step_temps(const struct udma_seq *q, const struct seq_step *st, uint32_t *written, size_t *len)
{
	*written = 0;
	for (uint32_t j = 0; j < st->nin + st->nout; j++) {
		const struct seq_opnd *o = &st->opnd[j];
		if (o->kind != OPND_TMP)
			continue;
		uint32_t n = o->buf.tmp.slot, bit = 1u << n;
		int known = (q->tmp_written | *written) >> n & 1;
		size_t have = q->tmp_written >> n & 1 ? q->tmp_len[n] : len[n];
		if (j < st->nin && !(q->tmp_written & bit))
			return udma_fail(EINVAL, "temporary %u read before a step wrote it", n);
		if (known && have != o->len)
			return udma_fail(EINVAL, "temporary %u used with %zu and %zu bytes", n, have, o->len);
		if (j >= st->nin) {
			for (uint32_t i = 0; i < st->nin + st->nout; i++)
				if (i != j && st->opnd[i].kind == OPND_TMP && st->opnd[i].buf.tmp.slot == n)
					return udma_fail(EINVAL, "temporary %u is used twice by one step", n);
			*written |= bit;
			len[n] = o->len;
		}
	}
	return 0;
}

static void step_fini(struct seq_step *st)
{
	for (uint32_t j = 0; st->opnd && j < st->nin + st->nout; j++)
		_udma_seq_opnd_fini(&st->opnd[j]);
	free(st->opnd);
	free(st->rin);
	st->opnd = NULL;
	st->rin = st->rout = NULL;
}

static void sess_free(struct seq_sess *n)
{
	if (n->req) {
		int err = udma_req_free(n->req);
		UDMA_ASSERT(!err);
		(void)err;
	}
	if (n->s) {
		int err = udma_session_destroy(n->s);
		UDMA_ASSERT(!err);
		(void)err;
	}
	free(n->engine);
	free(n);
}

/* A session of f on engine (NULL: auto) with its request. */
static struct seq_sess *sess_new(struct udma_seq *q, enum udma_func f, const char *engine)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = q->mode, .depth = 2, .engine = engine };
	struct seq_sess *n = calloc(1, sizeof(*n));
	int err = 0;

	if (!n)
		return udma_fail_null(ENOMEM, "out of memory");
	n->func = f;
	if ((engine && !(n->engine = strdup(engine))) || !(n->s = udma_session_create(f, &o)) ||
	    !(n->req = udma_req_alloc(n->s)))
		err = errno ? errno : ENOMEM;
	if (err) {
		sess_free(n);
		errno = err;
		return NULL;
	}
	n->req->cb = _udma_seq_step_done;
	n->req->cookie = n;
	n->seq = q;
	n->next = q->sessions;
	q->sessions = n;
	return n;
}

/* The session the step runs on (its function, and its engine or the
 * sequence's), made on first use. */
static int session_for(struct udma_seq *q, enum udma_func f, const char *engine, struct seq_sess **out)
{
	struct seq_sess *n = engine ? q->sessions : q->sess[f];

	while (engine && n && (n->func != f || !n->engine || strcmp(n->engine, engine)))
		n = n->next;
	if (!n && !(n = sess_new(q, f, engine ? engine : q->engine)))
		return -errno;
	if (!engine) {
		q->sess[f] = n;
		free(n->engine); /* the sequence's, not a step's own */
		n->engine = NULL;
	}
	*out = n;
	return 0;
}

static int step_check(struct udma_seq *q, const struct udma_step *u, struct seq_step *st, uint32_t *written, size_t *len)
{
	uint64_t lost;
	int err;

	if (!udma_func_name(u->func))
		return udma_fail(EINVAL, "unknown function %d", (int)u->func);
	if (u->flags & ~UDMA_STEP_IMM_PREV)
		return udma_fail(EINVAL, "unknown step flags 0x%x", u->flags);
	if ((u->flags & UDMA_STEP_IMM_PREV) && !q->nsteps)
		return udma_fail(EINVAL, "the first step has no previous step's imm");
	st->func = u->func;
	st->flags = u->flags;
	memcpy(st->imm, u->imm, sizeof(st->imm));
	if (u->params) {
		st->has_params = 1;
		st->params = *u->params;
	}
	if ((err = step_shape(u, st, &lost)))
		return err;
	if (!(st->opnd = calloc(st->nin + st->nout + 1, sizeof(*st->opnd))) ||
	    !(st->rin = calloc(st->nin + st->nout + 1, sizeof(*st->rin))))
		return udma_fail(ENOMEM, "out of memory");
	st->rout = st->rin + st->nin;
	if ((err = step_operands(u, st, lost)) || (err = step_temps(q, st, written, len)))
		return err;
	for (uint32_t j = 0; j < st->nin + st->nout; j++)
		st->dynamic |= st->opnd[j].kind == OPND_VIEW || st->opnd[j].kind == OPND_FOREIGN;
	return session_for(q, u->func, u->engine, &st->ss);
}

int udma_seq_append(struct udma_seq *q, const struct udma_step *u)
{
	if (!q || !u)
		return udma_fail(EINVAL, "NULL sequence or step");
	if (u->size < SEQ_STEP_V1)
		return udma_fail(EINVAL, "step->size %zu, at least %zu expected", u->size, SEQ_STEP_V1);
	if (busy(q))
		return udma_fail(EBUSY, "the sequence is submitted");
	if (q->nsteps == UDMA_SEQ_MAX_STEPS)
		return udma_fail(E2BIG, "a sequence takes %u steps", UDMA_SEQ_MAX_STEPS);
	if (q->nsteps == q->cap) {
		unsigned cap = q->cap ? q->cap * 2 : 8;
		struct seq_step *s = realloc(q->steps, cap * sizeof(*s));
		if (!s)
			return udma_fail(ENOMEM, "out of memory");
		q->steps = s;
		q->cap = cap;
	}
	struct seq_step st = { 0 };
	size_t len[UDMA_SEQ_MAX_TMP];
	uint32_t written;
	int err = step_check(q, u, &st, &written, len);
	if (err) {
		step_fini(&st);
		return err;
	}
	for (unsigned n = 0; n < UDMA_SEQ_MAX_TMP; n++)
		if (written >> n & 1)
			q->tmp_len[n] = len[n];
	q->tmp_written |= written;
	q->steps[q->nsteps++] = st;
	q->planned = 0;
	q->resolved = 0;
	return 0;
}

int udma_seq_after(struct udma_seq *q, struct udma_seq *other)
{
	if (!q || !other || q == other)
		return udma_fail(EINVAL, "a sequence comes after another one");
	if (busy(q))
		return udma_fail(EBUSY, "the sequence is submitted");
	if (q->ndeps == UDMA_SEQ_MAX_DEPS)
		return udma_fail(E2BIG, "a sequence comes after %u others at most", UDMA_SEQ_MAX_DEPS);
	q->deps[q->ndeps++] = other;
	return 0;
}

/* ---- run -------------------------------------------------------------------------------- */

static int arena_ready(struct udma_seq *q)
{
	static const size_t page = 4096;
	size_t have = q->arena ? q->arena_len : 0;

	if (!q->planned) {
		_udma_seq_plan(q);
		q->resolved = 0;
		if (q->arena && q->arena_len <= have) {
			q->arena_len = have;
			return 0;
		}
		free(q->arena);
		q->arena = NULL;
	}
	if (q->arena)
		return 0;
	/* page-aligned: storage domains read and write bounce pieces with O_DIRECT */
	q->arena = aligned_alloc(page, q->arena_len ? (q->arena_len + page - 1) & ~(page - 1) : page);
	return q->arena ? 0 : udma_fail(ENOMEM, "no arena of %zu bytes", q->arena_len);
}

int udma_seq_submit(struct udma_seq *q, udma_seq_cb cb, void *cookie)
{
	int err;

	if (!q)
		return udma_fail(EINVAL, "NULL sequence");
	if (!q->nsteps)
		return udma_fail(EINVAL, "an empty sequence");
	if (busy(q))
		return udma_fail(EBUSY, "the sequence is submitted already");
	if ((err = arena_ready(q)))
		return err;
	if (!q->resolved)
		_udma_seq_resolve_fixed(q);
	q->cb = cb;
	q->cookie = cookie;
	_udma_seq_start(q);
	struct udma_seq *outer = tl_driver;
	tl_driver = q;
	_udma_seq_kick(q);
	tl_driver = outer;
	return 0;
}

int udma_seq_abort(struct udma_seq *q)
{
	if (!q)
		return udma_fail(EINVAL, "NULL sequence");
	int st = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);
	if (st == SEQ_IDLE)
		return udma_fail(EINVAL, "the sequence was not submitted");
	if (st == SEQ_DONE)
		return udma_fail(EALREADY, "the sequence completed");
	__atomic_store_n(&q->aborted, 1, __ATOMIC_RELEASE);
	if (st == SEQ_WAITING)
		_udma_seq_unwait(q);
	_udma_seq_kick(q);
	return 0;
}

/* Poll the sessions of the steps in flight: cur's, and the rest of its
 * chain's (POLL mode: only this thread runs q, so cur stays put unless a
 * completion polled here moves it). Completions delivered, or -errno. */
static int poll_steps(struct udma_seq *q, unsigned gen)
{
	int ph = __atomic_load_n(&q->phase, __ATOMIC_ACQUIRE), got = 0;
	if (ph != PH_RUNNING && ph != PH_STEPPED)
		return 0;
	unsigned lo = q->cur, hi = q->chain_end > lo ? q->chain_end : lo + 1;
	struct seq_sess *ss[UDMA_CHAIN_MAX];
	for (unsigned i = lo; i < hi; i++) /* before any callback runs: it may resubmit */
		ss[i - lo] = q->steps[i].ss;
	for (unsigned i = 0; i < hi - lo && __atomic_load_n(&q->generation, __ATOMIC_ACQUIRE) == gen; i++) {
		int n = udma_session_poll(ss[i]->s, UINT32_MAX);
		if (n < 0)
			return n;
		got += n;
	}
	return got;
}

int udma_seq_poll(struct udma_seq *q)
{
	if (!q)
		return udma_fail(EINVAL, "NULL sequence");
	unsigned gen = __atomic_load_n(&q->generation, __ATOMIC_ACQUIRE);
	struct udma_seq *outer = tl_driver;
	tl_driver = q;
	for (unsigned i = 0; i <= q->nsteps && busy(q); i++) {
		if (__atomic_exchange_n(&q->posted, 0, __ATOMIC_ACQ_REL))
			_udma_seq_kick(q);
		if (poll_steps(q, gen) <= 0)
			break;
	}
	tl_driver = outer;
	return __atomic_load_n(&q->generation, __ATOMIC_ACQUIRE) != gen;
}

/* The runner has let go and every session's last callback has returned. */
static int quiet(const struct udma_seq *q)
{
	if (__atomic_load_n(&q->kicks, __ATOMIC_ACQUIRE))
		return 0;
	for (const struct seq_sess *n = q->sessions; n; n = n->next)
		if (udma_session_inflight(n->s))
			return 0;
	return 1;
}

int udma_seq_wait(struct udma_seq *q)
{
	if (!q || tl_running == q)
		return udma_fail(EINVAL, "NULL sequence, or waiting in its own callback");
	if (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) == SEQ_IDLE)
		return udma_fail(EINVAL, "the sequence was not submitted");
	for (unsigned spins = 0; busy(q) || !quiet(q); spins++) {
		/* in another sequence's callback, q may be one it released: run it */
		if (tl_released && !tl_draining)
			drain_released();
		if (q->mode == UDMA_COMPL_POLL && udma_seq_poll(q))
			continue;
		if (spins < 1024)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
	return 0;
}

/* ---- results ------------------------------------------------------------------------------- */

int udma_seq_done(const struct udma_seq *q)
{
	return q && __atomic_load_n(&q->state, __ATOMIC_ACQUIRE) == SEQ_DONE;
}

int udma_seq_status(const struct udma_seq *q)
{
	return q ? q->status : udma_fail(EINVAL, "NULL sequence");
}

int udma_seq_failed_step(const struct udma_seq *q)
{
	return q ? q->failed : udma_fail(EINVAL, "NULL sequence");
}

unsigned udma_seq_steps_done(const struct udma_seq *q)
{
	return q ? q->ndone : 0;
}

unsigned udma_seq_nsteps(const struct udma_seq *q)
{
	return q ? q->nsteps : 0;
}

int udma_seq_step_result(const struct udma_seq *q, unsigned i, struct udma_seq_result *res)
{
	if (!q || !res || res->size < SEQ_RESULT_V1 || i >= q->nsteps)
		return udma_fail(EINVAL, "NULL sequence or result, bad result size, or step %u of %u", i,
				 q ? q->nsteps : 0);
	if (busy(q))
		return udma_fail(EBUSY, "the sequence is running");
	size_t n = res->size < sizeof(*res) ? res->size : sizeof(*res);
	memcpy(res, &q->steps[i].res, n);
	res->size = n;
	return 0;
}

/* ---- release --------------------------------------------------------------------------------- */

int udma_seq_reset(struct udma_seq *q)
{
	if (!q)
		return udma_fail(EINVAL, "NULL sequence");
	if (busy(q))
		return udma_fail(EBUSY, "the sequence is submitted");
	for (unsigned i = 0; i < q->nsteps; i++)
		step_fini(&q->steps[i]);
	q->nsteps = 0;
	q->ndeps = 0;
	q->tmp_written = 0;
	memset(q->tmp_len, 0, sizeof(q->tmp_len));
	q->planned = 0;
	q->resolved = 0;
	return 0;
}

int udma_seq_destroy(struct udma_seq *q)
{
	if (!q)
		return udma_fail(EINVAL, "NULL sequence");
	if (busy(q) || tl_running == q)
		return udma_fail(EBUSY, "the sequence is submitted, or this is its own callback");
	pthread_mutex_lock(&q->lock);
	int waited = q->waiters != NULL;
	pthread_mutex_unlock(&q->lock);
	if (waited)
		return udma_fail(EBUSY, "other sequences wait for this one");
	while (!quiet(q)) /* the last callback is on its way out: a few instructions */
		sched_yield();
	udma_seq_reset(q);
	while (q->sessions) {
		struct seq_sess *n = q->sessions;
		q->sessions = n->next;
		sess_free(n);
	}
	pthread_mutex_destroy(&q->lock);
	free(q->steps);
	free(q->arena);
	free(q->engine);
	free(q);
	return 0;
}
