/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf --seq`: a stripe write's chain, copy -> crc32c -> xor8, as a
 * udma sequence, against (with --peers) the same three steps submitted as
 * separate requests by a hand-written client that chains them in its
 * callbacks, and against memcpy + ISA-L's crc32_iscsi and xor_gen called
 * directly. One client thread, one chain at a time, each engine of -e in
 * turn; the rows of one size take turns within each repetition, so a slow
 * spell of a shared machine falls on all of them. The figure is the median
 * of the repetitions' ns per chain, with the fastest and slowest beside it;
 * the ratios are medians of each repetition's ratio (its ways ran back to
 * back, so the machine's slow spells divide out).
 *
 * The chain: copy src -> dst (the client's memory: never elided), crc32c of
 * dst, xor8 of dst and 7 more blocks -> parity. The row "seq, tmp" has dst
 * a temporary of the sequence instead: udma may elide that copy
 * (docs/sequences.md), so it shows what elision saves, not the same work.
 */
#include <errno.h>
#include <isa-l/crc.h>
#include <isa-l/raid.h>
#include <stdlib.h>
#include <string.h>

#include "perf.h"

#define NX 8 /* xor8 */

struct chain {
	size_t len;
	uint8_t *src, *dst, *blk[NX - 1], *par;
	uint32_t crc;       /* the last run's */
	uint32_t want_crc;  /* -y: of src */
	uint8_t *want_par;  /* -y */
};

enum row { R_SEQ, R_SEQ_TMP, R_SEPARATE, R_DIRECT, R_COUNT };
static const char *const row_name[R_COUNT] = { "seq", "seq, tmp", "separate requests", "memcpy+isa-l" };

/* ---- the three ways ------------------------------------------------------------------------ */

static struct udma_buf lin(void *p, size_t len)
{
	return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, len } };
}

static struct udma_seq *seq_build(struct chain *c, const char *engine, int tmp)
{
	struct udma_seq_opts o = { .size = sizeof(o), .engine = engine };
	struct udma_seq *q = udma_seq_create(&o);
	struct udma_buf src = lin(c->src, c->len), dst = tmp ? UDMA_SEQ_TMP(0, c->len) : lin(c->dst, c->len), x[NX];
	int err = 0;

	if (!q)
		return NULL;
	x[0] = dst;
	for (int i = 1; i < NX; i++)
		x[i] = lin(c->blk[i - 1], c->len);
	struct udma_step s[3] = {
		{ .size = sizeof(s[0]), .func = UDMA_FUNC_COPY, .out = dst, .in = &src, .nin = 1 },
		{ .size = sizeof(s[0]), .func = UDMA_FUNC_CRC32C, .in = &dst, .nin = 1 },
		{ .size = sizeof(s[0]), .func = UDMA_FUNC_XOR(NX), .out = lin(c->par, c->len), .in = x, .nin = NX },
	};
	for (int i = 0; i < 3 && !err; i++)
		err = udma_seq_append(q, &s[i]);
	if (err) {
		udma_seq_destroy(q);
		errno = -err;
		return NULL;
	}
	return q;
}

static int seq_once(struct udma_seq *q, struct chain *c)
{
	struct udma_seq_result r = { .size = sizeof(r) };
	int err = udma_seq_submit(q, NULL, NULL);
	if (err || (err = udma_seq_wait(q)) || (err = udma_seq_status(q)) || (err = udma_seq_step_result(q, 1, &r)))
		return err;
	c->crc = (uint32_t)r.imm[0] | (uint32_t)r.imm[1] << 8 | (uint32_t)r.imm[2] << 16 | (uint32_t)r.imm[3] << 24;
	return 0;
}

/* The hand-written client: three sessions, each completion submits the next. */
struct separate {
	struct udma_session *s[3];
	struct udma_req *r[3];
	struct udma_buf src, x[NX];
	int done, status;
};

static void sep_next(struct udma_req *req)
{
	struct separate *p = req->cookie;
	int i = req == p->r[0] ? 1 : req == p->r[1] ? 2 : 3;
	int err = req->status;

	if (!err && i < 3)
		err = udma_submit(p->r[i]);
	if (err || i == 3) {
		p->status = err;
		__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	}
}

static int sep_init(struct separate *p, struct chain *c, const char *engine)
{
	static const enum udma_func f[3] = { UDMA_FUNC_COPY, UDMA_FUNC_CRC32C, UDMA_FUNC_XOR(NX) };
	struct udma_session_opts o = { .size = sizeof(o), .depth = 2, .engine = engine };

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 3; i++) {
		if (!(p->s[i] = udma_session_create(f[i], &o)) || !(p->r[i] = udma_req_alloc(p->s[i])))
			return -errno;
		p->r[i]->cb = sep_next;
		p->r[i]->cookie = p;
	}
	p->src = lin(c->src, c->len);
	p->r[0]->in = &p->src;
	p->r[0]->out = lin(c->dst, c->len);
	p->r[1]->in = &p->r[0]->out;
	p->x[0] = lin(c->dst, c->len);
	for (int i = 1; i < NX; i++)
		p->x[i] = lin(c->blk[i - 1], c->len);
	p->r[2]->in = p->x;
	p->r[2]->out = lin(c->par, c->len);
	return 0;
}

static void sep_fini(struct separate *p)
{
	for (int i = 0; i < 3; i++) {
		if (p->r[i])
			udma_req_free(p->r[i]);
		if (p->s[i])
			udma_session_destroy(p->s[i]);
	}
}

static int sep_once(struct separate *p, struct chain *c)
{
	p->done = 0;
	memset(p->r[1]->imm, 0, sizeof(p->r[1]->imm));
	int err = udma_submit(p->r[0]);
	if (err)
		return err;
	while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	/* the last callback may still be returning: wait until the sessions count it */
	for (int i = 0; i < 3; i++)
		while (udma_session_inflight(p->s[i]))
			__builtin_ia32_pause();
	const uint8_t *imm = p->r[1]->imm;
	c->crc = (uint32_t)imm[0] | (uint32_t)imm[1] << 8 | (uint32_t)imm[2] << 16 | (uint32_t)imm[3] << 24;
	return p->status;
}

static void direct_once(struct chain *c)
{
	void *v[NX + 1];

	memcpy(c->dst, c->src, c->len);
	c->crc = ~crc32_iscsi(c->dst, (int)c->len, ~0u);
	v[0] = c->dst;
	for (int i = 1; i < NX; i++)
		v[i] = c->blk[i - 1];
	v[NX] = c->par;
	xor_gen(NX + 1, (int)c->len, v);
}

/* ---- measuring ------------------------------------------------------------------------------ */

struct way {
	enum row row;
	struct udma_seq *q;
	struct separate sep;
	double ns[101];
	unsigned n;
};

static int once(struct way *w, struct chain *c)
{
	switch (w->row) {
	case R_SEQ:
	case R_SEQ_TMP:
		return seq_once(w->q, c);
	case R_SEPARATE:
		return sep_once(&w->sep, c);
	default:
		direct_once(c);
		return 0;
	}
}

static int verify(const struct way *w, const struct chain *c)
{
	if (c->crc != c->want_crc)
		return -1;
	return memcmp(c->par, c->want_par, c->len) ? -1 : 0;
}

/* One repetition of one way: chains for secs seconds; ns per chain. */
static int measure(struct way *w, struct chain *c, double secs, int check)
{
	uint64_t n = 0;
	int err;

	for (int warm = 0; warm < 16; warm++)
		if ((err = once(w, c)))
			return err;
	if (check) {
		memset(c->par, 0, c->len);
		if ((err = once(w, c)) || verify(w, c))
			return err ? err : -EILSEQ;
	}
	double t0 = tool_now(), t;
	do {
		for (int k = 0; k < 16; k++)
			if ((err = once(w, c)))
				return err;
		n += 16;
		t = tool_now();
	} while (t - t0 < secs && !perf_interrupted);
	w->ns[w->n++] = (t - t0) * 1e9 / (double)n;
	return 0;
}

/* The median of the repetitions' ratios a/b: the ways of one repetition ran
 * back to back, so a slow spell of the machine divides out. */
static double paired(const struct way *a, const struct way *b)
{
	double r[101];
	unsigned n = a->n < b->n ? a->n : b->n;
	for (unsigned i = 0; i < n; i++)
		r[i] = a->ns[i] / b->ns[i];
	return n ? perf_median(r, n, NULL, NULL) : 0;
}

static int chain_alloc(struct chain *c, size_t len)
{
	uint8_t **all[NX + 3] = { &c->src, &c->dst, &c->par, &c->want_par };
	for (int i = 0; i < NX - 1; i++)
		all[4 + i] = &c->blk[i];
	c->len = len;
	for (int i = 0; i < NX + 3; i++) {
		if (!(*all[i] = aligned_alloc(64, (len + 63) & ~(size_t)63)))
			return -ENOMEM;
		for (size_t k = 0; k < len; k++)
			(*all[i])[k] = (uint8_t)(k * 131 + (size_t)i * 7 + (k >> 9));
	}
	direct_once(c);
	c->want_crc = c->crc;
	memcpy(c->want_par, c->par, len);
	return 0;
}

static void chain_free(struct chain *c)
{
	uint8_t *all[NX + 3] = { c->src, c->dst, c->par, c->want_par };
	for (int i = 0; i < NX - 1; i++)
		all[4 + i] = c->blk[i];
	for (int i = 0; i < NX + 3; i++)
		free(all[i]);
}

static void print_rows(const struct way *w, unsigned nw, const char *engine, size_t len, const struct way *direct)
{
	const struct way *sep = NULL;
	for (unsigned i = 0; i < nw; i++)
		if (w[i].row == R_SEPARATE)
			sep = &w[i];
	for (unsigned i = 0; i < nw; i++) {
		double lo, hi, med = perf_median(w[i].ns, w[i].n, &lo, &hi);
		printf("%-8s %-18s %8zu %10.0f %10.0f %10.0f %8.2f", engine ? engine : "-", row_name[w[i].row], len, med,
		       lo, hi, (double)len * 1e9 / med / 1e9);
		if (w[i].row != R_DIRECT && sep)
			printf("   %6.3fx", paired(&w[i], sep));
		else
			printf("   %7s", "");
		if (w[i].row != R_DIRECT && direct && direct->n)
			printf("   %6.3fx", paired(&w[i], direct));
		printf("\n");
	}
}

/* The ways of one engine. */
struct engine_ways {
	const char *engine;
	struct way w[3];
	unsigned nw;
};

static int ways_init(struct engine_ways *ew, struct chain *c, const char *engine, int peers)
{
	*ew = (struct engine_ways){ .engine = engine, .nw = peers ? 3 : 2,
				    .w = { { .row = R_SEQ }, { .row = R_SEQ_TMP }, { .row = R_SEPARATE } } };
	if (!(ew->w[0].q = seq_build(c, engine, 0)) || !(ew->w[1].q = seq_build(c, engine, 1)))
		return -errno;
	return peers ? sep_init(&ew->w[2].sep, c, engine) : 0;
}

static void ways_fini(struct engine_ways *ew)
{
	for (int i = 0; i < 2; i++)
		if (ew->w[i].q)
			udma_seq_destroy(ew->w[i].q);
	if (ew->nw == 3)
		sep_fini(&ew->w[2].sep);
}

/* Every way at one size: each repetition takes every engine's ways, then
 * the direct calls, in turn. */
static int run_size(struct perf_ctx *px, struct chain *c)
{
	const struct perf_opts *o = px->o;
	struct engine_ways ew[PERF_MAX_ENGINES];
	struct way direct = { .row = R_DIRECT };
	unsigned ne = 0, per_rep = 0;
	int err = 0;

	for (; ne < o->nengines && !err; ne++) {
		err = ways_init(&ew[ne], c, o->engines[ne].name, o->peers);
		per_rep += ew[ne].nw;
	}
	per_rep += o->peers;
	for (int rep = 0; !err && rep < o->reps && rep < 101 && !perf_interrupted; rep++) {
		for (unsigned e = 0; e < ne && !err; e++)
			for (unsigned i = 0; i < ew[e].nw && !err; i++)
				err = measure(&ew[e].w[i], c, o->duration / per_rep, o->verify);
		if (!err && o->peers)
			err = measure(&direct, c, o->duration / per_rep, o->verify);
	}
	if (!err && direct.n)
		print_rows(&direct, 1, NULL, c->len, NULL);
	for (unsigned e = 0; !err && e < ne && ew[e].w[0].n; e++)
		print_rows(ew[e].w, ew[e].nw, ew[e].engine, c->len, &direct);
	for (unsigned e = 0; e < ne; e++)
		ways_fini(&ew[e]);
	return err;
}

int perf_seq_run(struct perf_ctx *px)
{
	struct perf_opts *o = px->o;
	int err = 0;

	if (perf_engines_start(px))
		return 1;
	printf("copy -> crc32c -> xor8, one chain at a time; ns per chain: median of %d repetition%s, min, max;\n"
	       "ratios: the median of the repetitions' ratios to separate requests and to direct calls\n",
	       o->reps, o->reps == 1 ? "" : "s");
	printf("%-8s %-18s %8s %10s %10s %10s %8s   %7s   %7s\n", "engine", "way", "bytes", "ns", "min", "max", "GB/s",
	       "/separ.", "/direct");
	for (unsigned s = 0; s < o->nsizes && !err; s++) {
		struct chain c = { 0 };
		if ((err = chain_alloc(&c, o->sizes[s])))
			break;
		err = run_size(px, &c);
		chain_free(&c);
	}
	perf_engines_stop(o);
	if (err) {
		perf_fail(px, "sequence workload: %s", strerror(-err));
		return 1;
	}
	return 0;
}
