/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The later functions (issue 18) in the mover workload: their shapes under
 * fixed parameters (pq: 8 sources; ec: 8+3 Cauchy, blocks 0..2 lost for
 * decode; raid6-recover: blocks 0 and 1 lost; dif: 512+8, -s rounded down
 * to whole blocks), inputs that make each run its whole length (a pattern
 * that matches, P/Q and parity that agree, PI that verifies), and requests.
 */
#include <isa-l/crc.h>
#include <isa-l/erasure_code.h>

#include "perf_mover.h"

#define K 8
#define M 3
#define DIF_BS 512

void mover_later_shape(struct point *pt)
{
	size_t blocks = pt->size / DIF_BS;

	pt->params = (struct udma_params){ .size = sizeof(pt->params), .k = K, .m = M, .dif_block = DIF_BS };
	pt->has_out = 0;
	pt->in_len = pt->out_len = pt->size;
	switch (pt->func) {
	case UDMA_FUNC_DUALCAST: pt->nin = 1; pt->nouts = 2; break;
	case UDMA_FUNC_COMPARE_PATTERN: pt->nin = 1; break;
	case UDMA_FUNC_PQ_GEN: pt->nin = K; pt->nouts = 2; break;
	case UDMA_FUNC_PQ_VALIDATE: pt->nin = K + 2; break;
	case UDMA_FUNC_RAID6_RECOVER:
		pt->nin = K + 2;
		pt->nouts = 2;
		pt->params.nlost = 2;
		pt->params.lost[1] = 1;
		pt->lost = 3;
		break;
	case UDMA_FUNC_EC_ENCODE: pt->nin = K; pt->nouts = M; break;
	case UDMA_FUNC_EC_UPDATE: pt->nin = 2; pt->nouts = M; break;
	case UDMA_FUNC_EC_DECODE:
		pt->nin = K + M;
		pt->nouts = M;
		pt->params.nlost = M;
		for (unsigned i = 0; i < M; i++)
			pt->params.lost[i] = (uint8_t)i;
		pt->lost = (1u << M) - 1;
		break;
	default: /* dif-* */
		pt->nouts = pt->func != UDMA_FUNC_DIF_VERIFY;
		pt->out_single = 1;
		pt->nin = pt->func != UDMA_FUNC_DIF_GENERATE;
		pt->in_len = pt->func == UDMA_FUNC_DIF_INSERT ? blocks * DIF_BS : blocks * (DIF_BS + 8);
		pt->out_len = pt->func == UDMA_FUNC_DIF_STRIP ? blocks * DIF_BS : blocks * (DIF_BS + 8);
		if (pt->func == UDMA_FUNC_DIF_GENERATE)
			pt->in_len = 0;
	}
	pt->region = pt->in_len > pt->out_len ? pt->in_len : pt->out_len;
}

static uint8_t gf2(uint8_t x)
{
	return (uint8_t)(x << 1 ^ (x & 0x80 ? 0x1d : 0));
}

/* in[K], in[K + 1] = P and Q of in[0..K-1], byte by byte (Horner for Q). */
static void pq_fill(char *const *in, size_t len)
{
	for (size_t x = 0; x < len; x++) {
		uint8_t p = 0, q = 0;
		for (int i = K - 1; i >= 0; i--) {
			p ^= (uint8_t)in[i][x];
			q = gf2(q) ^ (uint8_t)in[i][x];
		}
		in[K][x] = (char)p;
		in[K + 1][x] = (char)q;
	}
}

static void dif_fill(char *p, size_t len)
{
	for (size_t b = 0; b * (DIF_BS + 8) < len; b++) {
		unsigned char *blk = (unsigned char *)p + b * (DIF_BS + 8), *pi = blk + DIF_BS;
		uint16_t g = crc16_t10dif(0, blk, DIF_BS);
		memset(pi, 0, 8);
		pi[0] = (unsigned char)(g >> 8);
		pi[1] = (unsigned char)g;
		for (int i = 0; i < 4; i++)
			pi[4 + i] = (unsigned char)(b >> (24 - 8 * i));
	}
}

void mover_later_fill(const struct point *pt, struct sizebuf *b)
{
	switch (pt->func) {
	case UDMA_FUNC_COMPARE_PATTERN:
		for (size_t x = 0; x < pt->in_len; x++)
			b->in[0][x] = (char)mover_pat64[x % 8];
		break;
	case UDMA_FUNC_PQ_VALIDATE:
	case UDMA_FUNC_RAID6_RECOVER:
		pq_fill(b->in, pt->in_len);
		break;
	case UDMA_FUNC_EC_DECODE: {
		unsigned char a[(K + M) * K], tbls[32 * K * M];
		gf_gen_cauchy1_matrix(a, K + M, K);
		ec_init_tables(K, M, &a[K * K], tbls);
		ec_encode_data((int)pt->in_len, K, M, tbls, (unsigned char **)b->in, (unsigned char **)b->in + K);
		break;
	}
	case UDMA_FUNC_DIF_VERIFY:
	case UDMA_FUNC_DIF_STRIP:
		dif_fill(b->in[0], pt->in_len);
		break;
	default:
		break;
	}
}

void mover_later_prepare(struct client *c, struct udma_req *req, unsigned idx)
{
	const struct point *pt = c->pt;

	for (int j = 0; j < pt->nin; j++)
		if (!(pt->lost >> j & 1))
			req->in[j] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c->b->in[j], pt->in_len } };
	for (unsigned o = 0; o < pt->nouts; o++) {
		struct udma_buf *b = pt->out_single ? &req->out : &req->outs[o];
		*b = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { client_outs(c, idx, o), pt->out_len } };
	}
	req->params = &pt->params;
	if (pt->func == UDMA_FUNC_COMPARE_PATTERN)
		memcpy(req->imm, mover_pat64, 8);
}
