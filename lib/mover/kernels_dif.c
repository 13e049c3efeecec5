/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * T10 protection information: blocks of dif_block data bytes each followed
 * by 8 bytes (big endian): guard = CRC-16 T10-DIF of the data (ISA-L's
 * crc16_t10dif), application tag, reference tag (ref_tag + block index).
 * Blocks may straddle iovec pieces.
 */
#include <isa-l/crc.h>

#include "cursor.h"
#include "kernels.h"

#define PI_BYTES 8

/* CRC of the next n bytes at in, copying them to out if given. */
static uint16_t crc_span(struct cursor *in, size_t n, struct cursor *out)
{
	uint16_t crc = 0;

	while (n) {
		size_t step = cur_left(in) < n ? cur_left(in) : n;
		if (out && cur_left(out) < step)
			step = cur_left(out);
		UDMA_ASSERT(step);
		if (out) {
			crc = crc16_t10dif_copy(crc, (uint8_t *)cur_ptr(out), (uint8_t *)cur_ptr(in), step);
			cur_advance(out, step);
		} else {
			crc = crc16_t10dif(crc, (const unsigned char *)cur_ptr(in), step);
		}
		cur_advance(in, step);
		n -= step;
	}
	return crc;
}

static void pi_make(uint8_t pi[PI_BYTES], uint16_t guard, const struct udma_params *p, uint32_t block)
{
	uint32_t ref = p->ref_tag + block;

	pi[0] = (uint8_t)(guard >> 8);
	pi[1] = (uint8_t)guard;
	pi[2] = (uint8_t)(p->app_tag >> 8);
	pi[3] = (uint8_t)p->app_tag;
	for (int i = 0; i < 4; i++)
		pi[4 + i] = (uint8_t)(ref >> (24 - 8 * i));
}

/* The tags of a stored PI that do not match (only those checked). */
static unsigned pi_bad(const uint8_t pi[PI_BYTES], uint16_t guard, const struct udma_params *p, uint32_t block)
{
	unsigned check = p->dif_check ? p->dif_check : UDMA_DIF_GUARD | UDMA_DIF_APP | UDMA_DIF_REF;
	uint16_t mask = p->app_mask ? p->app_mask : 0xffff;
	uint16_t app = (uint16_t)(pi[2] << 8 | pi[3]);
	uint32_t ref = (uint32_t)pi[4] << 24 | (uint32_t)pi[5] << 16 | (uint32_t)pi[6] << 8 | pi[7];
	unsigned bad = 0;

	if ((check & UDMA_DIF_GUARD) && (uint16_t)(pi[0] << 8 | pi[1]) != guard)
		bad |= UDMA_DIF_GUARD;
	if ((check & UDMA_DIF_APP) && (app & mask) != (p->app_tag & mask))
		bad |= UDMA_DIF_APP;
	if ((check & UDMA_DIF_REF) && ref != p->ref_tag + block)
		bad |= UDMA_DIF_REF;
	return bad;
}

int _udma_cpu_dif(struct udma_work *w)
{
	const struct udma_params *p = w->params;
	size_t bs = p->dif_block, ext = bs + PI_BYTES;
	struct cursor in, out;
	uint8_t pi[PI_BYTES];
	uint64_t blocks;

	UDMA_ASSERT(bs == 512 || bs == 4096);
	switch (w->func) {
	case UDMA_FUNC_DIF_GENERATE: /* in place: data read, PI written */
		cur_init(&out, w->outs[0], w->outs_cnt[0]);
		for (uint64_t b = 0; b < w->out_len / ext; b++) {
			pi_make(pi, crc_span(&out, bs, NULL), p, (uint32_t)b);
			cur_write(&out, pi, PI_BYTES);
		}
		return 0;
	case UDMA_FUNC_DIF_INSERT:
		cur_init(&in, w->ins[0], w->ins_cnt[0]);
		cur_init(&out, w->outs[0], w->outs_cnt[0]);
		for (uint64_t b = 0; b < w->len / bs; b++) {
			pi_make(pi, crc_span(&in, bs, &out), p, (uint32_t)b);
			cur_write(&out, pi, PI_BYTES);
		}
		return 0;
	case UDMA_FUNC_DIF_VERIFY:
	case UDMA_FUNC_DIF_STRIP: /* strip: the data of good blocks is copied, up to the first bad one */
		blocks = w->len / ext;
		cur_init(&in, w->ins[0], w->ins_cnt[0]);
		if (w->func == UDMA_FUNC_DIF_STRIP)
			cur_init(&out, w->outs[0], w->outs_cnt[0]);
		for (uint64_t b = 0; b < blocks; b++) {
			uint16_t guard = crc_span(&in, bs, w->func == UDMA_FUNC_DIF_STRIP ? &out : NULL);
			cur_read(&in, pi, PI_BYTES);
			unsigned bad = pi_bad(pi, guard, p, (uint32_t)b);
			if (bad) {
				w->req->result = UDMA_DIF_FAIL(b, bad);
				return 0;
			}
		}
		return 0;
	default:
		return udma_fail(EINVAL, "not a DIF function: %d", (int)w->func);
	}
}
