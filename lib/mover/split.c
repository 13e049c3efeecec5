/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Splitting one large request across engine lanes (docs/movers.md,
 * "Splitting large requests").
 *
 * A request of an auto session that touches at least SPLIT_FLOOR bytes,
 * of a function whose regions can be cut at any byte (zero, fill8, fill64,
 * copy, xorN, dualcast), may be cut into chunks: one per lane of an engine
 * that declares UDMA_ENGINE_SPLIT (the threads engine) and one run here,
 * in the submitting thread, by the fastest permanent inline engine, when
 * the scheduler would have chosen one of those two for it anyway. The
 * request completes once, when its last chunk finishes, with the first
 * error any chunk reported; it is counted in flight once.
 *
 * Chunk 0's share is what lets it end when the lanes' chunks do, given the
 * bytes already queued on the lanes and their hand-over latency (here_len).
 * Whether to split is learned per function and size class: the time from
 * the cut to the last chunk, against the time the whole request takes
 * here (both timed by this file). A class splits while splitting is
 * faster; PROBE_RUN candidates in a row out of every PROBE_EVERY take the
 * other way, so both figures follow the machine's load. The first of such
 * a run is not learned: it finds the lanes asleep (or the cache holding the
 * other way's data), which the steady state of that way would not.
 * UDMA_SPLIT=off never splits, UDMA_SPLIT=on always does (tests and
 * experiments).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/check.h"
#include "mover_internal.h"

#define MAX_CHUNKS 64
#define CHUNK_ALIGN 4096u /* cuts at multiples of it: fill64's phase and pages stay whole */
#define PROBE_EVERY 64
#define PROBE_RUN 4

/* bytes touched from which requests are candidates (read relaxed) */
uint64_t _udma_split_floor = SPLIT_FLOOR;

enum split_mode { SPLIT_LEARN, SPLIT_OFF, SPLIT_ON };
static enum split_mode mode;
/* CPUs to spread over (0: the machine's, set at the first candidate; tests set more) */
unsigned _udma_split_cpus;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* learned bytes/s: the whole request run here, and split (0: not yet) */
static uint64_t speed_whole[UDMA_FUNC_END][SIZE_CLASSES];
static uint64_t speed_split[UDMA_FUNC_END][SIZE_CLASSES];
static MOVER_TLS unsigned probe_tick;

struct chunk {
	struct udma_req req;        /* the engine's w->req: the client's imm, session and flags | REQ_CHUNK */
	struct udma_work work;
	struct split *sp;
	struct udma_engine *e;      /* the lane engine that has it, or NULL (run here) */
	uint64_t touched;
	struct iovec *ins[UDMA_MAX_INPUTS], *outs[2];
	uint32_t ins_cnt[UDMA_MAX_INPUTS], outs_cnt[2];
};

struct split {
	struct slot *sl;
	unsigned left;              /* atomic: chunks not finished */
	int status;                 /* atomic: the first error */
	int whole;                  /* one chunk: the whole request, timed for the learning */
	int learn;                  /* its time goes into the learned figures */
	unsigned cls;
	uint64_t t0;
	unsigned n;
	struct chunk ch[];          /* then the chunks' iovecs */
};

static void split_init(void)
{
	const char *m = getenv("UDMA_SPLIT");
	mode = m && !strcmp(m, "off") ? SPLIT_OFF : m && !strcmp(m, "on") ? SPLIT_ON : SPLIT_LEARN;
	if (!_udma_split_cpus) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		_udma_split_cpus = n > 0 ? (unsigned)n : 1;
	}
	if (mode == SPLIT_OFF)
		__atomic_store_n(&_udma_split_floor, UINT64_MAX, __ATOMIC_RELAXED);
}

static int splittable(const struct udma_work *w)
{
	switch (w->func) {
	case UDMA_FUNC_ZERO:
	case UDMA_FUNC_FILL8:
	case UDMA_FUNC_FILL64:
	case UDMA_FUNC_COPY:
		return 1;
	case UDMA_FUNC_DUALCAST:
		return w->nins == 1 && w->nouts == 2;
	default:
		return w->func >= UDMA_FUNC_XOR2 && w->func <= UDMA_FUNC_XOR16;
	}
}

/* The regions of w as (array, count) pairs: inputs first, then outputs. */
static unsigned regions(const struct udma_work *w, struct iovec **v, uint32_t *cnt)
{
	unsigned k = 0;
	if (w->func == UDMA_FUNC_DUALCAST) {
		v[k] = w->ins[0], cnt[k++] = w->ins_cnt[0];
		for (unsigned o = 0; o < 2; o++)
			v[k] = w->outs[o], cnt[k++] = w->outs_cnt[o];
		return k;
	}
	for (unsigned j = 0; j < w->ninputs; j++)
		v[k] = w->in[j], cnt[k++] = w->in_cnt[j];
	if (w->out)
		v[k] = w->out, cnt[k++] = w->out_cnt;
	return k;
}

/* The bytes [a, b) of the array v as a new array at dst; its count. */
static uint32_t cut(const struct iovec *v, uint32_t cnt, size_t a, size_t b, struct iovec *dst)
{
	uint32_t n = 0;
	size_t pos = 0;

	for (uint32_t i = 0; i < cnt && pos < b; pos += v[i].iov_len, i++) {
		size_t lo = a > pos ? a - pos : 0, end = pos + v[i].iov_len;
		size_t hi = (b < end ? b : end) - pos;
		if (end <= a || lo >= hi)
			continue;
		dst[n++] = (struct iovec){ (char *)v[i].iov_base + lo, hi - lo };
	}
	UDMA_ASSERT(n);
	return n;
}

/* Fill chunk c with the bytes [a, b) of every region of the request. */
static struct iovec *chunk_set(struct split *sp, struct chunk *c, size_t a, size_t b, struct iovec *store)
{
	const struct udma_work *w = &sp->sl->work;
	struct iovec *v[UDMA_MAX_INPUTS + 2];
	uint32_t cnt[UDMA_MAX_INPUTS + 2];
	unsigned k = regions(w, v, cnt);

	c->sp = sp;
	c->e = NULL;
	c->req = sp->sl->req;
	c->req.flags |= REQ_CHUNK;
	c->work = *w;
	c->work.req = &c->req;
	c->work.len = c->work.out_len = b - a;
	c->work.exec_ns = 0;
	c->touched = (uint64_t)(b - a) * k;
	for (unsigned r = 0; r < k; r++) {
		uint32_t n = cut(v[r], cnt[r], a, b, store);
		if (w->func == UDMA_FUNC_DUALCAST) {
			if (r == 0)
				c->ins[0] = store, c->ins_cnt[0] = n;
			else
				c->outs[r - 1] = store, c->outs_cnt[r - 1] = n;
		} else if (r < w->ninputs) {
			c->work.in[r] = store, c->work.in_cnt[r] = n;
		} else {
			c->work.out = store, c->work.out_cnt = n;
		}
		store += n;
	}
	if (w->func == UDMA_FUNC_DUALCAST) {
		c->work.ins = c->ins, c->work.ins_cnt = c->ins_cnt;
		c->work.outs = c->outs, c->work.outs_cnt = c->outs_cnt;
		c->work.in[0] = c->ins[0], c->work.in_cnt[0] = c->ins_cnt[0];
		c->work.out = c->outs[0], c->work.out_cnt = c->outs_cnt[0];
	}
	return store;
}

/* The split of sl into n chunks, chunk 0 here_len bytes long and the others
 * sharing the rest, or NULL (no memory: the caller does not split). */
static struct split *split_new(struct slot *sl, unsigned n, size_t here_len)
{
	const struct udma_work *w = &sl->work;
	struct iovec *v[UDMA_MAX_INPUTS + 2];
	uint32_t cnt[UDMA_MAX_INPUTS + 2];
	unsigned k = regions(w, v, cnt);
	size_t pieces = 0;

	for (unsigned r = 0; r < k; r++)
		pieces += cnt[r] + n; /* a chunk spans its pieces and cuts at most one more */
	struct split *sp = malloc(sizeof(*sp) + n * sizeof(sp->ch[0]) + pieces * sizeof(struct iovec));
	if (!sp)
		return NULL;
	*sp = (struct split){ .sl = sl, .left = n, .n = n };
	struct iovec *store = (struct iovec *)&sp->ch[n];
	store = chunk_set(sp, &sp->ch[0], 0, here_len, store);
	size_t step = n > 1 ? ((w->len - here_len) / (n - 1)) & ~(size_t)(CHUNK_ALIGN - 1) : 0;
	for (unsigned i = 1; i < n; i++) {
		size_t a = here_len + (i - 1) * step, b = i + 1 < n ? a + step : w->len;
		store = chunk_set(sp, &sp->ch[i], a, b, store);
	}
	return sp;
}

static void learn(uint64_t *sp, uint64_t touched, uint64_t ns)
{
	uint64_t sample = (uint64_t)((double)touched * 1e9 / (double)(ns ? ns : 1));
	uint64_t old = __atomic_load_n(sp, __ATOMIC_RELAXED);
	/* EWMA, 1/8 weight, as the engines' speeds */
	__atomic_store_n(sp, old ? old - old / 8 + sample / 8 : sample, __ATOMIC_RELAXED);
}

/* The last chunk finished: learn, and complete the request once. */
static void split_finish(struct split *sp)
{
	struct slot *sl = sp->sl;
	int status = __atomic_load_n(&sp->status, __ATOMIC_ACQUIRE);
	enum udma_func f = sl->work.func;
	uint64_t ns = clock_now_ns() - sp->t0;

	if (sp->learn)
		learn(sp->whole ? &speed_whole[f][sp->cls] : &speed_split[f][sp->cls], sl->touched, ns);
	free(sp);
	_udma_slot_complete(sl, status);
}

static void chunk_finish(struct chunk *c, int status)
{
	struct split *sp = c->sp;
	unsigned n = sp->n; /* read before the count drops: the last chunk's thread frees sp */
	int none = 0;

	if (status)
		__atomic_compare_exchange_n(&sp->status, &none, status, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	unsigned left = __atomic_sub_fetch(&sp->left, 1, __ATOMIC_ACQ_REL);
	UDMA_ASSERT(left < n);
	(void)n;
	if (!left)
		split_finish(sp);
}

void _udma_split_chunk_done(struct udma_work *w, int status)
{
	struct chunk *c = (struct chunk *)((char *)w - offsetof(struct chunk, work));
	struct udma_engine *e = c->e;

	UDMA_ASSERT(w->req->flags & REQ_CHUNK);
	if (e) {
		if (w->exec_ns)
			_udma_engine_learn(e, w->func, c->touched, w->exec_ns, 0);
		engine_count(&e->finished, c->touched); /* the last touch of e */
	}
	chunk_finish(c, status);
}

/* A chunk handed back by an engine that leaves: run it here instead. */
void _udma_split_chunk_rescue(struct udma_work *w)
{
	struct chunk *c = (struct chunk *)((char *)w - offsetof(struct chunk, work));
	UDMA_ASSERT(c->e);
	engine_count(&c->e->finished, c->touched); /* handed back: no longer the engine's */
	c->e = NULL;
	chunk_finish(c, udma_cpu_execute(w));
}

/* Hand chunk c to lane engine e; 0 if e does not take it now. */
static int hand_chunk(struct udma_engine *e, struct chunk *c)
{
	/* seq_cst pairs with unregister, as in _udma_slot_dispatch */
	__atomic_add_fetch(&e->handed.n, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&e->leaving, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&e->handed.bytes, c->touched, __ATOMIC_RELAXED);
		c->e = e;
		struct udma_work *w = &c->work;
		if (e->ops.submit(e, &w, 1) == 1)
			return 1; /* it may be finished already */
		c->e = NULL;
		__atomic_sub_fetch(&e->handed.bytes, c->touched, __ATOMIC_RELAXED);
	}
	__atomic_sub_fetch(&e->handed.n, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Split (1) or whole (0), given the learned figures (0: not yet) and the
 * thread's candidate count: the faster way, the other now and then
 * (PROBE_RUN in a row); *learn = 0 for the first of those. */
int _udma_split_choose(uint64_t whole, uint64_t split, unsigned *tick, int *learn)
{
	*learn = 1;
	if (!split || !whole)
		return !split; /* learn both: split first, then whole */
	int faster = split > whole;
	unsigned t = (*tick)++ % PROBE_EVERY;
	if (t >= PROBE_RUN)
		return faster;
	*learn = t != 0;
	return !faster;
}

static int want_split(enum udma_func f, unsigned cls, int *learn)
{
	*learn = 1;
	if (mode == SPLIT_ON)
		return 1;
	return _udma_split_choose(__atomic_load_n(&speed_whole[f][cls], __ATOMIC_RELAXED),
				  __atomic_load_n(&speed_split[f][cls], __ATOMIC_RELAXED), &probe_tick, learn);
}

/*
 * How many bytes chunk 0 (here) takes so that it ends when the lanes' chunks
 * do: each lane starts behind the hand-over (the engine's learned overhead)
 * and its share of what is queued on the engine already. With x here, L in
 * all, S here's learned speed, O the overhead, q the queue over the
 * engine's lanes and m = n - 1 lanes used, x / S = O + (q + (L - x) / m) / S
 * for each lane gives x = (L + m (O S + q)) / n. All of it (whole) when the
 * lanes would end later anyway. UDMA_SPLIT=on: equal shares.
 */
static size_t here_len(const struct slot *sl, const struct udma_engine *here, const struct udma_engine *lanes,
		       unsigned n, unsigned cls)
{
	const struct udma_work *w = &sl->work;
	size_t len = w->len;
	if (mode == SPLIT_ON)
		return (len / n) & ~(size_t)(CHUNK_ALIGN - 1);
	double per_byte = (double)sl->touched / (double)len; /* regions touched per byte of the request */
	double speed = (double)__atomic_load_n(&here->speed[w->func][cls], __ATOMIC_RELAXED) / per_byte;
	double over = (double)__atomic_load_n(&lanes->overhead_ns, __ATOMIC_RELAXED) * speed / 1e9;
	double queued = (double)_udma_engine_queued(lanes) / per_byte / (double)lanes->lanes;
	double x = ((double)len + (double)(n - 1) * (over + queued)) / (double)n;
	return x >= (double)len ? len : (size_t)x & ~(size_t)(CHUNK_ALIGN - 1);
}

int _udma_split_submit(struct slot *sl, struct udma_engine *chosen)
{
	struct udma_work *w = &sl->work;

	pthread_once(&once, split_init);
	if (mode == SPLIT_OFF || sl->foreign || !splittable(w) || w->len < 2 * CHUNK_ALIGN)
		return 0;
	struct udma_engine *here = _udma_engine_inline_runner(w->func, sl->touched);
	struct udma_engine *lanes = _udma_engine_splitter(w->func);
	if (!chosen)
		chosen = _udma_engine_choose(w->func, sl->touched, sl, NULL);
	/* only what would run here or on the lanes anyway: an engine of its own
	 * (a device, a faster one) the scheduler chose keeps the whole request */
	if (!here || !lanes || (chosen != here && chosen != lanes))
		return 0;
	unsigned cls = _udma_size_class(sl->touched), n = 1;
	int learn;
	if (want_split(w->func, cls, &learn)) {
		n = lanes->lanes + 1;
		if (n > _udma_split_cpus)
			n = _udma_split_cpus; /* more chunks than CPUs only queue */
		if (n > w->len / CHUNK_ALIGN)
			n = (unsigned)(w->len / CHUNK_ALIGN);
		n = n > MAX_CHUNKS ? MAX_CHUNKS : n < 2 ? 2 : n;
	}
	size_t mine = n > 1 ? here_len(sl, here, lanes, n, cls) : w->len;
	if (mine + (size_t)(n - 1) * CHUNK_ALIGN > w->len) /* too little left for the lanes */
		n = 1 + (unsigned)((w->len - mine) / CHUNK_ALIGN);
	if (n == 1)
		mine = w->len;
	struct split *sp = split_new(sl, n, mine);
	if (!sp)
		return 0;
	sp->whole = n == 1;
	sp->learn = learn;
	sp->cls = cls;
	sp->t0 = clock_now_ns();
	sl->req.engine = n == 1 ? here->name : lanes->name;
	/* chunk 0 stays here; the others go to the lanes first, so they start
	 * while this thread works (one the engine does not take runs here too) */
	for (unsigned i = n; i-- > 1;)
		if (!hand_chunk(lanes, &sp->ch[i]))
			chunk_finish(&sp->ch[i], here->ops.run(here, &sp->ch[i].work));
	chunk_finish(&sp->ch[0], here->ops.run(here, &sp->ch[0].work));
	return 1;
}
