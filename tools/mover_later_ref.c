/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * -y for the later functions (issue 18) in the mover workload: their
 * expected outputs and result under mover_later.c's parameters, worked out
 * byte by byte here (GF(2^8) products, CRC-16 T10-DIF bit by bit), owing
 * nothing to the kernels under test but ISA-L's Cauchy matrix, which is
 * the definition of UDMA_EC_CAUCHY. Outputs that a request reads (ec-update's
 * parity) or only partly writes (dif-generate's data) get a known start
 * before each submit; the rest are poisoned so that one left unwritten shows.
 */
#include <errno.h>
#include <stdlib.h>
#include <isa-l/erasure_code.h>

#include "perf_mover.h"

/* GF(2^8), polynomial 0x11d, as the Linux raid6 and ISA-L tables. */
static uint8_t gf_mul_ref(uint8_t a, uint8_t b)
{
	uint8_t p = 0;

	for (; b; b >>= 1, a = (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1d : 0)))
		if (b & 1)
			p ^= a;
	return p;
}

static uint16_t crc16_t10dif_ref(const unsigned char *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x8bb7) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* Blocks of data (from data, bs bytes each) with PI after each: guard,
 * app tag 0, reference tag = block index (mover_later.c's parameters). */
static void dif_blocks(unsigned char *out, const unsigned char *data, size_t blocks, size_t bs)
{
	for (size_t b = 0; b < blocks; b++) {
		unsigned char *blk = out + b * (bs + 8), *pi = blk + bs;
		memcpy(blk, data + b * bs, bs);
		uint16_t g = crc16_t10dif_ref(blk, bs);
		memset(pi, 0, 8);
		pi[0] = (unsigned char)(g >> 8);
		pi[1] = (unsigned char)g;
		for (int i = 0; i < 4; i++)
			pi[4 + i] = (unsigned char)(b >> (24 - 8 * i));
	}
}

/* Output o of the expected results. */
static unsigned char *ref_out(const struct ref *r, const struct point *pt, unsigned o)
{
	return r->outs + (size_t)o * pt->out_len;
}

/* P and Q of k sources (Q = sum 2^i D_i). */
static void ref_pq(const struct ref *r, const struct point *pt, char *const *in, unsigned k)
{
	unsigned char *p = ref_out(r, pt, 0), *q = ref_out(r, pt, 1);

	for (size_t x = 0; x < pt->out_len; x++) {
		uint8_t pp = 0, qq = 0, c = 1;
		for (unsigned i = 0; i < k; i++, c = gf_mul_ref(c, 2)) {
			pp ^= (uint8_t)in[i][x];
			qq ^= gf_mul_ref(c, (uint8_t)in[i][x]);
		}
		p[x] = pp;
		q[x] = qq;
	}
}

/* Parity row o of the Cauchy code times the sources (ec-encode), or times
 * old ^ new of source 0 alone (ec-update's change to the parity). */
static void ref_ec(const struct ref *r, const struct point *pt, char *const *in, int update)
{
	unsigned k = pt->params.k, m = pt->params.m;
	unsigned char *a = malloc((size_t)(k + m) * k);

	if (!a)
		return;
	gf_gen_cauchy1_matrix(a, (int)(k + m), (int)k);
	for (unsigned o = 0; o < m; o++) {
		unsigned char *out = ref_out(r, pt, o);
		for (size_t x = 0; x < pt->out_len; x++) {
			uint8_t v = 0;
			if (update)
				v = gf_mul_ref(a[(k + o) * k], (uint8_t)(in[0][x] ^ in[1][x]));
			else
				for (unsigned j = 0; j < k; j++)
					v ^= gf_mul_ref(a[(k + o) * k + j], (uint8_t)in[j][x]);
			out[x] = v;
		}
	}
	free(a);
}

/* The data a dif-generate request starts with (its PI is what it writes). */
static void dif_data(unsigned char *p, size_t n)
{
	for (size_t x = 0; x < n; x++)
		p[x] = (unsigned char)(x * 131 + 7);
}

int mover_later_ref(struct ref *r, const struct point *pt, const struct sizebuf *b)
{
	size_t blocks = pt->size / 512; /* dif-*: whole blocks of 512 (mover_later_shape) */

	r->result = pt->func == UDMA_FUNC_PQ_VALIDATE ? 0 : UDMA_CMP_EQUAL;
	if (!pt->nouts)
		return 0;
	r->outs = calloc(pt->nouts, pt->out_len ? pt->out_len : 1);
	if (!r->outs)
		return -ENOMEM;
	switch (pt->func) {
	case UDMA_FUNC_DUALCAST:
		memcpy(ref_out(r, pt, 0), b->in[0], pt->out_len);
		memcpy(ref_out(r, pt, 1), b->in[0], pt->out_len);
		break;
	case UDMA_FUNC_PQ_GEN:
		ref_pq(r, pt, b->in, pt->params.k);
		break;
	case UDMA_FUNC_RAID6_RECOVER: /* the lost blocks as they were */
	case UDMA_FUNC_EC_DECODE:
		for (unsigned o = 0; o < pt->nouts; o++)
			memcpy(ref_out(r, pt, o), b->in[pt->params.lost[o]], pt->out_len);
		break;
	case UDMA_FUNC_EC_ENCODE:
	case UDMA_FUNC_EC_UPDATE: /* its parity starts at 0 (mover_later_poison) */
		ref_ec(r, pt, b->in, pt->func == UDMA_FUNC_EC_UPDATE);
		break;
	case UDMA_FUNC_DIF_STRIP:
		for (size_t k = 0; k < blocks; k++)
			memcpy(ref_out(r, pt, 0) + k * 512, b->in[0] + k * (512 + 8), 512);
		break;
	case UDMA_FUNC_DIF_INSERT:
		dif_blocks(ref_out(r, pt, 0), (const unsigned char *)b->in[0], blocks, 512);
		break;
	case UDMA_FUNC_DIF_GENERATE: {
		unsigned char *data = malloc(blocks * 512 + 1);
		if (!data)
			return -ENOMEM;
		dif_data(data, blocks * 512);
		dif_blocks(ref_out(r, pt, 0), data, blocks, 512);
		free(data);
		break;
	}
	default:
		break;
	}
	return 0;
}

void mover_later_poison(struct client *c, unsigned idx)
{
	const struct point *pt = c->pt;

	for (unsigned o = 0; o < pt->nouts; o++) {
		unsigned char *out = (unsigned char *)client_outs(c, idx, o);
		const unsigned char *want = ref_out(pt->ref, pt, o);
		if (pt->func == UDMA_FUNC_EC_UPDATE) {
			memset(out, 0, pt->out_len);
		} else if (pt->func == UDMA_FUNC_DIF_GENERATE) {
			memcpy(out, want, pt->out_len);
			for (size_t pi = 512; pi + 8 <= pt->out_len; pi += 512 + 8)
				out[pi] ^= 0xff; /* the guard of each block: generate must write it */
		} else {
			for (size_t x = 0; x < pt->out_len; x++)
				out[x] = want[x] ^ 0xff;
		}
	}
}

int mover_later_verify(struct client *c, unsigned idx, uint64_t result, const char *who)
{
	const struct point *pt = c->pt;
	const char *fn = udma_func_name(pt->func);

	if (result != pt->ref->result) {
		client_fail(c, "verification: %s of %zu bytes on %s: result 0x%llx, want 0x%llx", fn, pt->size, who,
			    (unsigned long long)result, (unsigned long long)pt->ref->result);
		return -1;
	}
	for (unsigned o = 0; o < pt->nouts; o++) {
		const unsigned char *out = (const unsigned char *)client_outs(c, idx, o), *want = ref_out(pt->ref, pt, o);
		if (memcmp(out, want, pt->out_len)) {
			size_t at = 0;
			while (out[at] == want[at])
				at++;
			client_fail(c, "verification: %s of %zu bytes on %s: output %u byte %zu is 0x%02x, want 0x%02x", fn,
				    pt->size, who, o, at, out[at], want[at]);
			return -1;
		}
	}
	return 0;
}
