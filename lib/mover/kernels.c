/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The function kernels on iovec arrays, for engines that run on a CPU.
 * XOR and CRC-32C use ISA-L where its alignment rules are met and a
 * portable loop elsewhere; copies are memcpy (glibc's already switches to
 * non-temporal stores for copies larger than the last-level cache, which
 * our measurements showed is where they pay: docs/movers.md).
 */
#include <endian.h>
#include <string.h>
#include <isa-l/crc.h>
#include <isa-l/raid.h>
#include <udma/backend.h>

#include "../core/log.h"
#include "cursor.h"
#include "kernels.h"

/* The kernels stay out of udma_cpu_execute(): it is then a small dispatcher
 * that needs no stack frame of its own, which a burst of small copies feels. */
#define KERNEL __attribute__((noinline))

/* Portable XOR of n sources into dst (any alignment). */
static void xor_portable(char *dst, char *const *src, unsigned n, size_t len)
{
	size_t k = 0;
	for (; k + 8 <= len; k += 8) {
		uint64_t acc, x;
		memcpy(&acc, src[0] + k, 8);
		for (unsigned j = 1; j < n; j++) {
			memcpy(&x, src[j] + k, 8);
			acc ^= x;
		}
		memcpy(dst + k, &acc, 8);
	}
	for (; k < len; k++) {
		char acc = src[0][k];
		for (unsigned j = 1; j < n; j++)
			acc ^= src[j][k];
		dst[k] = acc;
	}
}

/* What xor_gen does not take: all of it where a pointer is not aligned,
 * else the tail under 32 bytes. Out of line, so that the common case
 * stays a few instructions around xor_gen. */
static __attribute__((noinline)) void xor_rest(void **v, unsigned n, size_t len, size_t body)
{
	char *s[UDMA_MAX_INPUTS];

	for (unsigned j = 0; j < n; j++)
		s[j] = (char *)v[j] + body;
	xor_portable((char *)v[n] + body, s, n, len - body);
}

/*
 * XOR of n sources into a destination: v[0..n-1] are the sources, v[n] the
 * destination, as ISA-L's xor_gen takes them. Callers build v in place,
 * pointer by pointer: a copy of a pointer array (gcc makes one a memcpy)
 * is read back by narrower loads than it was written with, and each such
 * read waits for the store to retire (a store-forwarding stall).
 */
static inline void xor_chunk(void **v, unsigned n, size_t len)
{
	uintptr_t align = 0;
	size_t body = len & ~(size_t)31;

	for (unsigned j = 0; j <= n; j++)
		align |= (uintptr_t)v[j];
	/* ISA-L: 32-byte aligned pointers, length a multiple of 32 */
	if (align & 31)
		body = 0;
	else if (body)
		xor_gen((int)n + 1, (int)body, v);
	if (body < len)
		xor_rest(v, n, len, body);
}

/* The chunk size bounds int-length ISA-L calls and keeps data cache-hot between passes. */
#define CHUNK (1u << 20)

KERNEL static int do_xor(struct udma_work *w)
{
	struct cursor out, in[UDMA_MAX_INPUTS];
	unsigned n = w->ninputs;
	int single = w->out_cnt == 1 && w->len <= CHUNK;
	void *v1[UDMA_MAX_INPUTS + 1];

	for (unsigned j = 0; single && j < n; j++)
		if ((single = w->in_cnt[j] == 1))
			v1[j] = w->in[j][0].iov_base;
	if (single) { /* one piece each (the common case): no cursors to walk */
		void **v = v1;
		v[n] = w->out[0].iov_base;
		if (w->len)
			xor_chunk(v, n, w->len);
		return 0;
	}
	cur_init(&out, w->out, w->out_cnt);
	for (unsigned j = 0; j < n; j++)
		cur_init(&in[j], w->in[j], w->in_cnt[j]);
	for (size_t done = 0; done < w->len;) {
		size_t step = cur_left(&out);
		void *v[UDMA_MAX_INPUTS + 1];
		for (unsigned j = 0; j < n; j++) {
			if (cur_left(&in[j]) < step)
				step = cur_left(&in[j]);
			v[j] = cur_ptr(&in[j]);
		}
		v[n] = cur_ptr(&out);
		if (step > CHUNK)
			step = CHUNK;
		if (!step)
			return udma_fail(EINVAL, "xor: regions shorter than %zu bytes", w->len);
		xor_chunk(v, n, step);
		cur_advance(&out, step);
		for (unsigned j = 0; j < n; j++)
			cur_advance(&in[j], step);
		done += step;
	}
	return 0;
}

KERNEL static void fill(struct udma_work *w, const uint8_t pat[8], unsigned period)
{
	size_t pos = 0;
	for (uint32_t i = 0; i < w->out_cnt; i++) {
		char *p = w->out[i].iov_base;
		size_t len = w->out[i].iov_len;
		if (!len) /* may be NULL: memset(NULL, c, 0) is undefined */
			continue;
		if (period == 1) {
			memset(p, pat[0], len);
		} else { /* keep the 8-byte phase across segments */
			size_t k = 0;
			for (; k < len && (pos + k) % 8; k++)
				p[k] = (char)pat[(pos + k) % 8];
			for (; k + 8 <= len; k += 8)
				memcpy(p + k, pat, 8);
			for (; k < len; k++)
				p[k] = (char)pat[(pos + k) % 8];
		}
		pos += len;
	}
}

static uint32_t seed_of(const struct udma_req *r)
{
	return (uint32_t)r->imm[0] | (uint32_t)r->imm[1] << 8 | (uint32_t)r->imm[2] << 16 | (uint32_t)r->imm[3] << 24;
}

static void seed_set(struct udma_req *r, uint32_t crc)
{
	for (int i = 0; i < 4; i++)
		r->imm[i] = (uint8_t)(crc >> (8 * i));
}

/* Copy (if dst) and checksum in one pass over chunks. ISA-L's crc32_iscsi
 * keeps the register un-inverted: ~crc32_iscsi(buf, len, ~seed) is the
 * dmover contract (seed 0 = standard CRC-32C; results chain). */
KERNEL static uint32_t copy_crc(struct udma_work *w, int copy, uint32_t seed)
{
	struct cursor in, out = { 0 };
	uint32_t crc = ~seed;

	cur_init(&in, w->in[0], w->in_cnt[0]);
	if (copy)
		cur_init(&out, w->out, w->out_cnt);
	for (size_t done = 0; done < w->len;) {
		size_t step = cur_left(&in);
		if (copy && cur_left(&out) < step)
			step = cur_left(&out);
		if (step > 65536) /* small enough to stay in cache between the copy and the CRC */
			step = 65536;
		if (copy)
			memcpy(cur_ptr(&out), cur_ptr(&in), step);
		crc = crc32_iscsi((unsigned char *)cur_ptr(&in), (int)step, crc);
		cur_advance(&in, step);
		if (copy)
			cur_advance(&out, step);
		done += step;
	}
	return ~crc;
}

KERNEL static uint64_t compare(struct udma_work *w)
{
	struct cursor a, b;
	size_t done = 0;

	cur_init(&a, w->in[0], w->in_cnt[0]);
	cur_init(&b, w->in[1], w->in_cnt[1]);
	while (done < w->len) {
		size_t step = cur_left(&a) < cur_left(&b) ? cur_left(&a) : cur_left(&b);
		const char *pa = cur_ptr(&a), *pb = cur_ptr(&b);
		if (memcmp(pa, pb, step))
			for (size_t k = 0; k < step; k++)
				if (pa[k] != pb[k])
					return done + k;
		cur_advance(&a, step);
		cur_advance(&b, step);
		done += step;
	}
	return UDMA_CMP_EQUAL;
}

KERNEL static void copy_pieces(struct udma_work *w)
{
	struct cursor in, out;
	cur_init(&in, w->in[0], w->in_cnt[0]);
	cur_init(&out, w->out, w->out_cnt);
	for (size_t done = 0; done < w->len;) {
		size_t step = cur_left(&in) < cur_left(&out) ? cur_left(&in) : cur_left(&out);
		memcpy(cur_ptr(&out), cur_ptr(&in), step);
		cur_advance(&in, step);
		cur_advance(&out, step);
		done += step;
	}
}

static void copy_iov(struct udma_work *w)
{
	if (w->len && w->out_cnt == 1 && w->in_cnt[0] == 1) /* the common case (not 0 bytes: maybe NULL), straight to memcpy */
		memcpy(w->out[0].iov_base, w->in[0][0].iov_base, w->len);
	else
		copy_pieces(w);
}

/* Both outputs from one read of each piece of the input. */
KERNEL static int dualcast(struct udma_work *w)
{
	struct cursor in, a, b;

	cur_init(&in, w->ins[0], w->ins_cnt[0]);
	cur_init(&a, w->outs[0], w->outs_cnt[0]);
	cur_init(&b, w->outs[1], w->outs_cnt[1]);
	for (size_t done = 0; done < w->len;) {
		size_t step = cur_left(&in);
		if (cur_left(&a) < step)
			step = cur_left(&a);
		if (cur_left(&b) < step)
			step = cur_left(&b);
		memcpy(cur_ptr(&a), cur_ptr(&in), step);
		memcpy(cur_ptr(&b), cur_ptr(&in), step);
		cur_advance(&in, step);
		cur_advance(&a, step);
		cur_advance(&b, step);
		done += step;
	}
	return 0;
}

/* The first byte that differs from the 8-byte pattern (phase from offset 0). */
KERNEL static uint64_t compare_pattern(struct udma_work *w, const uint8_t pat[8])
{
	struct cursor in;
	uint8_t line[256];

	for (size_t k = 0; k < sizeof(line); k++)
		line[k] = pat[k % 8];
	cur_init(&in, w->ins[0], w->ins_cnt[0]);
	for (size_t done = 0; done < w->len;) {
		size_t step = cur_left(&in);
		const char *p = cur_ptr(&in);
		for (size_t k = 0; k < step;) {
			/* compare against the line in the pattern's phase */
			size_t ph = (done + k) % 8, n = step - k < sizeof(line) - 8 ? step - k : sizeof(line) - 8;
			if (memcmp(p + k, line + ph, n))
				for (size_t j = 0; j < n; j++)
					if ((uint8_t)p[k + j] != line[ph + j])
						return done + k + j;
			k += n;
		}
		cur_advance(&in, step);
		done += step;
	}
	return UDMA_CMP_EQUAL;
}

/* A plain xorN in chunks ISA-L's int lengths take (pv is the caller's:
 * copied to advance where there is more than one). */
KERNEL static void xor_plain(void **pv, unsigned n, size_t len)
{
	void *v[UDMA_MAX_INPUTS + 1];

	if (len <= CHUNK) {
		xor_chunk(pv, n, len);
		return;
	}
	for (unsigned j = 0; j <= n; j++)
		v[j] = pv[j];
	for (;;) {
		size_t step = len < CHUNK ? len : CHUNK;
		xor_chunk(v, n, step);
		if (!(len -= step))
			return;
		for (unsigned j = 0; j <= n; j++)
			v[j] = (char *)v[j] + step;
	}
}

/* A plain CRC-32C, chained through imm as copy_crc() chains it. */
KERNEL static void crc_plain(const char *p, size_t len, uint8_t imm[8])
{
	uint32_t seed, crc;

	memcpy(&seed, imm, 4);
	crc = ~le32toh(seed);
	for (size_t step; len; len -= step, p += step) {
		step = len < CHUNK ? len : CHUNK;
		crc = crc32_iscsi((unsigned char *)p, (int)step, crc);
	}
	seed = htole32(~crc);
	memcpy(imm, &seed, 4);
}

int udma_cpu_run_plain(enum udma_func f, const struct udma_plain *p, unsigned n, int *status)
{
	const struct udma_plain *end = p + n;

	if (f == UDMA_FUNC_CRC32C) {
		for (; p < end; p++) {
			uint32_t seed;
			if (p->len > CHUNK) {
				crc_plain(p->v[0], p->len, p->imm);
			} else if (p->len) {
				memcpy(&seed, p->imm, 4);
				seed = htole32(~crc32_iscsi(p->v[0], (int)p->len, ~le32toh(seed)));
				memcpy(p->imm, &seed, 4);
			}
		}
		return 0;
	}
	if (f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16) {
		unsigned ni = (unsigned)(f - UDMA_FUNC_XOR2 + 2);
		for (; p < end; p++) {
			if (p->len > CHUNK)
				xor_plain(p->v, ni, p->len);
			else if (p->len)
				xor_chunk(p->v, ni, p->len);
		}
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		status[i] = udma_fail(EINVAL, "%s has no plain form", udma_func_name(f));
	return n > 0;
}

int udma_cpu_execute_plain(enum udma_func f, const struct udma_plain *p)
{
	int status = 0;

	udma_cpu_run_plain(f, p, 1, &status);
	return status;
}

int udma_cpu_execute(struct udma_work *w)
{
	static const uint8_t zero[8];
	struct udma_req *r = w->req;

	switch (w->func) {
	case UDMA_FUNC_ZERO:
		fill(w, zero, 1);
		return 0;
	case UDMA_FUNC_FILL8:
		fill(w, r->imm, 1);
		return 0;
	case UDMA_FUNC_FILL64:
		fill(w, r->imm, 8);
		return 0;
	case UDMA_FUNC_COPY:
		copy_iov(w);
		return 0;
	case UDMA_FUNC_CRC32C:
		seed_set(r, copy_crc(w, 0, seed_of(r)));
		return 0;
	case UDMA_FUNC_COPY_CRC32C:
		seed_set(r, copy_crc(w, 1, seed_of(r)));
		return 0;
	case UDMA_FUNC_COMPARE:
		r->result = compare(w);
		return 0;
	case UDMA_FUNC_DUALCAST:
		return dualcast(w);
	case UDMA_FUNC_COMPARE_PATTERN:
		r->result = compare_pattern(w, r->imm);
		return 0;
	default:
		if (w->func >= UDMA_FUNC_XOR2 && w->func <= UDMA_FUNC_XOR16)
			return do_xor(w);
		if (w->func > UDMA_FUNC_COMPARE_PATTERN && w->func < UDMA_FUNC_DIF_GENERATE)
			return _udma_cpu_raid(w);
		if (w->func >= UDMA_FUNC_DIF_GENERATE && w->func < UDMA_FUNC_END)
			return _udma_cpu_dif(w);
		return udma_fail(EINVAL, "unknown function %d", (int)w->func);
	}
}
