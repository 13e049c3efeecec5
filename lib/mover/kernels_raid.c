/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RAID-6 and Reed-Solomon kernels over iovec arrays: GF(2^8) with ISA-L's
 * polynomial 0x11d. Every function is an encode (ISA-L ec_encode_data) with
 * some coefficient matrix: P+Q's rows are all ones and 2^j; recovery uses
 * rows of the inverse of the survivors' matrix. The coding tables of each
 * (matrix, k, m) are built once and kept until exit.
 */
#include <stdlib.h>
#include <isa-l/erasure_code.h>
#include <isa-l/raid.h>

#include "cursor.h"
#include "kernels.h"

enum { KIND_CAUCHY = UDMA_EC_CAUCHY, KIND_VANDERMONDE = UDMA_EC_VANDERMONDE, KIND_PQ, KINDS };
#define MAX_K 32
#define MAX_M UDMA_MAX_OUTPUTS
#define STEP_MAX (1u << 20)  /* bounds the int lengths ISA-L takes */
#define CHECK_STEP 4096u     /* pq-validate's scratch per step */

struct ec_code {
	unsigned k, m;
	unsigned char *matrix; /* (k + m) x k, identity on top */
	unsigned char *tbls;   /* ec_init_tables of the m parity rows */
};

/* Published once (release), never freed: readers take them without a lock. */
static struct ec_code *codes[KINDS][MAX_K + 1][MAX_M + 1];
static unsigned long built; /* atomic */

unsigned long _udma_ec_tables_built(void)
{
	return __atomic_load_n(&built, __ATOMIC_RELAXED);
}

static void pq_matrix(unsigned char *a, unsigned k)
{
	unsigned char g = 1;

	memset(a, 0, (size_t)k * k);
	for (unsigned i = 0; i < k; i++)
		a[i * k + i] = 1;
	for (unsigned j = 0; j < k; j++) {
		a[k * k + j] = 1;
		a[(k + 1) * k + j] = g;
		g = gf_mul(g, 2);
	}
}

static struct ec_code *code_get(unsigned kind, unsigned k, unsigned m)
{
	struct ec_code *c = __atomic_load_n(&codes[kind][k][m], __ATOMIC_ACQUIRE);
	if (c)
		return c;
	c = malloc(sizeof(*c));
	unsigned char *a = malloc((size_t)(k + m) * k), *t = malloc((size_t)32 * k * m);
	if (!c || !a || !t) {
		free(c);
		free(a);
		free(t);
		return udma_fail_null(ENOMEM, "no memory for a %u+%u code", k, m);
	}
	if (kind == KIND_PQ)
		pq_matrix(a, k);
	else if (kind == KIND_CAUCHY)
		gf_gen_cauchy1_matrix(a, (int)(k + m), (int)k);
	else
		gf_gen_rs_matrix(a, (int)(k + m), (int)k);
	ec_init_tables((int)k, (int)m, &a[k * k], t);
	__atomic_add_fetch(&built, 1, __ATOMIC_RELAXED);
	*c = (struct ec_code){ k, m, a, t };
	struct ec_code *none = NULL;
	if (!__atomic_compare_exchange_n(&codes[kind][k][m], &none, c, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(a); /* another thread built it first */
		free(t);
		free(c);
		return none;
	}
	return c;
}

/* Some iovec arrays walked in lockstep, in steps no longer than cap. */
struct walk {
	unsigned n;
	struct cursor c[UDMA_MAX_SOURCES + UDMA_MAX_OUTPUTS];
	unsigned char *p[UDMA_MAX_SOURCES + UDMA_MAX_OUTPUTS];
};

static void walk_add(struct walk *wk, const struct iovec *v, uint32_t cnt)
{
	UDMA_ASSERT(wk->n < UDMA_MAX_SOURCES + UDMA_MAX_OUTPUTS);
	cur_init(&wk->c[wk->n++], v, cnt);
}

/* The next step's length (pointers in wk->p), 0 at the end. */
static size_t walk_step(struct walk *wk, size_t left, size_t cap)
{
	size_t step = left < cap ? left : cap;
	for (unsigned i = 0; i < wk->n; i++) {
		if (cur_left(&wk->c[i]) < step)
			step = cur_left(&wk->c[i]);
		wk->p[i] = (unsigned char *)(step ? cur_ptr(&wk->c[i]) : NULL);
	}
	return step;
}

static void walk_advance(struct walk *wk, size_t step)
{
	for (unsigned i = 0; i < wk->n; i++)
		cur_advance(&wk->c[i], step);
}

/* dst[0..rows-1] = tbls applied to the k sources, over the whole length. */
static int encode(struct walk *wk, size_t len, unsigned k, unsigned rows, unsigned char *tbls)
{
	for (size_t done = 0; done < len;) {
		size_t step = walk_step(wk, len - done, STEP_MAX);
		if (!step)
			return udma_fail(EINVAL, "regions shorter than %zu bytes", len);
		ec_encode_data((int)step, (int)k, (int)rows, tbls, wk->p, wk->p + k);
		walk_advance(wk, step);
		done += step;
	}
	return 0;
}

/* Every region one piece, 32-byte aligned, a whole number of 32 bytes long. */
static int one_piece_aligned(const struct udma_work *w)
{
	uintptr_t bits = w->len;

	for (uint32_t i = 0; i < w->nins; i++) {
		if (w->ins_cnt[i] != 1)
			return 0;
		bits |= (uintptr_t)w->ins[i][0].iov_base;
	}
	for (uint32_t i = 0; i < w->nouts; i++) {
		if (w->outs_cnt[i] != 1)
			return 0;
		bits |= (uintptr_t)w->outs[i][0].iov_base;
	}
	return !(bits & 31) && w->len && w->len <= STEP_MAX;
}

static int pq_gen_work(struct udma_work *w)
{
	unsigned k = w->params->k;
	struct walk wk = { 0 };

	if (one_piece_aligned(w)) { /* ISA-L's pq_gen: 32-byte aligned, whole 32-byte lengths */
		void *v[MAX_K + 2];
		for (unsigned i = 0; i < k; i++)
			v[i] = w->ins[i][0].iov_base;
		v[k] = w->outs[0][0].iov_base;
		v[k + 1] = w->outs[1][0].iov_base;
		return pq_gen((int)k + 2, (int)w->len, v) ? udma_fail(EIO, "pq_gen failed") : 0;
	}
	struct ec_code *c = code_get(KIND_PQ, k, 2);
	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < k; i++)
		walk_add(&wk, w->ins[i], w->ins_cnt[i]);
	walk_add(&wk, w->outs[0], w->outs_cnt[0]);
	walk_add(&wk, w->outs[1], w->outs_cnt[1]);
	return encode(&wk, w->len, k, 2, c->tbls);
}

/* P and Q recomputed a step at a time and compared with the stored ones. */
static int pq_validate_work(struct udma_work *w)
{
	unsigned k = w->params->k;
	struct ec_code *c = code_get(KIND_PQ, k, 2);
	struct walk wk = { 0 };
	unsigned char pq[2][CHECK_STEP], *dst[2] = { pq[0], pq[1] };
	uint64_t bad = 0;

	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < k + 2; i++)
		walk_add(&wk, w->ins[i], w->ins_cnt[i]);
	for (size_t done = 0; done < w->len && bad != 3;) {
		size_t step = walk_step(&wk, w->len - done, CHECK_STEP);
		if (!step)
			return udma_fail(EINVAL, "regions shorter than %zu bytes", w->len);
		ec_encode_data((int)step, (int)k, 2, c->tbls, wk.p, dst);
		if (memcmp(pq[0], wk.p[k], step))
			bad |= UDMA_PQ_P_BAD;
		if (memcmp(pq[1], wk.p[k + 1], step))
			bad |= UDMA_PQ_Q_BAD;
		walk_advance(&wk, step);
		done += step;
	}
	w->req->result = bad;
	return 0;
}

/*
 * Rebuild the lost blocks from the first k survivors: invert the
 * survivors' rows of the matrix; a lost data block is its row of the
 * inverse, a lost parity block its matrix row times the inverse.
 */
static int decode(struct udma_work *w, unsigned kind, unsigned k, unsigned m, const uint8_t *lost, unsigned nlost)
{
	struct ec_code *c = code_get(kind, k, m);
	unsigned char b[MAX_K * MAX_K], inv[MAX_K * MAX_K], rows[MAX_M * MAX_K];
	unsigned char tbls[32 * MAX_K * MAX_M];
	unsigned surv[MAX_K], ns = 0;
	struct walk wk = { 0 };

	if (!c)
		return -ENOMEM;
	for (unsigned i = 0, l = 0; i < k + m && ns < k; i++) {
		if (l < nlost && lost[l] == i) {
			l++;
			continue;
		}
		surv[ns] = i;
		memcpy(&b[ns * k], &c->matrix[i * k], k);
		ns++;
	}
	UDMA_ASSERT(ns == k);
	if (gf_invert_matrix(b, inv, (int)k))
		return udma_fail(EINVAL, "these survivors cannot rebuild the lost blocks (singular matrix)");
	for (unsigned l = 0; l < nlost; l++) {
		unsigned char *row = &rows[l * k];
		if (lost[l] < k) {
			memcpy(row, &inv[lost[l] * k], k);
			continue;
		}
		for (unsigned j = 0; j < k; j++) {
			unsigned char s = 0;
			for (unsigned i = 0; i < k; i++)
				s ^= gf_mul(c->matrix[lost[l] * k + i], inv[i * k + j]);
			row[j] = s;
		}
	}
	ec_init_tables((int)k, (int)nlost, rows, tbls);
	for (unsigned i = 0; i < k; i++)
		walk_add(&wk, w->ins[surv[i]], w->ins_cnt[surv[i]]);
	for (unsigned l = 0; l < nlost; l++)
		walk_add(&wk, w->outs[l], w->outs_cnt[l]);
	return encode(&wk, w->len, k, nlost, tbls);
}

static int ec_encode_work(struct udma_work *w)
{
	const struct udma_params *p = w->params;
	struct ec_code *c = code_get(p->matrix, p->k, p->m);
	struct walk wk = { 0 };

	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < p->k; i++)
		walk_add(&wk, w->ins[i], w->ins_cnt[i]);
	for (unsigned i = 0; i < p->m; i++)
		walk_add(&wk, w->outs[i], w->outs_cnt[i]);
	return encode(&wk, w->len, p->k, p->m, c->tbls);
}

/* parity ^= coefficients x (old ^ new): ISA-L's update, once with the old
 * contents and once with the new (no scratch for their difference). */
static int ec_update_work(struct udma_work *w)
{
	const struct udma_params *p = w->params;
	struct ec_code *c = code_get(p->matrix, p->k, p->m);

	if (!c)
		return -ENOMEM;
	for (unsigned pass = 0; pass < 2; pass++) {
		struct walk wk = { 0 };
		walk_add(&wk, w->ins[pass], w->ins_cnt[pass]);
		for (unsigned i = 0; i < p->m; i++)
			walk_add(&wk, w->outs[i], w->outs_cnt[i]);
		for (size_t done = 0; done < w->len;) {
			size_t step = walk_step(&wk, w->len - done, STEP_MAX);
			if (!step)
				return udma_fail(EINVAL, "regions shorter than %zu bytes", w->len);
			ec_encode_data_update((int)step, (int)p->k, (int)p->m, (int)p->update_index, c->tbls, wk.p[0],
					      wk.p + 1);
			walk_advance(&wk, step);
			done += step;
		}
	}
	return 0;
}

int _udma_cpu_raid(struct udma_work *w)
{
	const struct udma_params *p = w->params;

	UDMA_ASSERT(p && p->k >= 1 && p->k <= MAX_K);
	switch (w->func) {
	case UDMA_FUNC_PQ_GEN:
		return pq_gen_work(w);
	case UDMA_FUNC_PQ_VALIDATE:
		return pq_validate_work(w);
	case UDMA_FUNC_RAID6_RECOVER:
		return decode(w, KIND_PQ, p->k, 2, p->lost, 2);
	case UDMA_FUNC_EC_ENCODE:
		return ec_encode_work(w);
	case UDMA_FUNC_EC_UPDATE:
		return ec_update_work(w);
	case UDMA_FUNC_EC_DECODE:
		return decode(w, p->matrix, p->k, p->m, p->lost, p->nlost);
	default:
		return udma_fail(EINVAL, "not a RAID function: %d", (int)w->func);
	}
}
