/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every client loop of the mover workload shares (perf_mover.h): its
 * buffers, the expected results, and how it fails, checks and counts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "perf_mover.h"

const uint8_t mover_pat64[8] = { 'u', 'd', 'm', 'a', 'p', 'e', 'r', 'f' };

/* ---- buffers and expected results ----------------------------------------------- */

static void fill_random(char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
}

int sizebuf_alloc(struct sizebuf *b, const struct point *pt, unsigned nout)
{
	memset(b, 0, sizeof(*b));
	size_t len = pt->region ? pt->region : pt->size;

	b->stride = (len + 63) & ~(size_t)63;
	if (!b->stride)
		b->stride = 64;
	b->nout = nout;
	b->memlen = b->stride * ((size_t)pt->nin + nout);
	b->mem = mmap(NULL, b->memlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		return -ENOMEM;
	}
	if (b->memlen >= (4ul << 20))
		madvise(b->mem, b->memlen, MADV_HUGEPAGE);
	for (int j = 0; j < pt->nin; j++) {
		b->in[j] = b->mem + (size_t)j * b->stride;
		/* compare's inputs are equal; every other input differs */
		fill_random(b->in[j], len, 0x9e3779b97f4a7c15ull * (uint64_t)(pt->func == UDMA_FUNC_COMPARE ? 1 : j + 1));
	}
	b->out = b->mem + (size_t)pt->nin * b->stride;
	memset(b->out, 0, (size_t)nout * b->stride); /* fault it in now, not while timed */
	return 0;
}

void sizebuf_free(struct sizebuf *b)
{
	if (b->mem)
		munmap(b->mem, b->memlen);
	b->mem = NULL;
}

/* CRC-32C a byte at a time: the reference owes nothing to ISA-L. */
static uint32_t crc32c_ref(const void *buf, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = buf;
	uint32_t crc = ~0u;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int ref_make(struct ref *r, const struct point *pt, const struct sizebuf *b)
{
	memset(r, 0, sizeof(*r));
	if (pt->func >= UDMA_FUNC_COUNT)
		return mover_later_ref(r, pt, b);
	if (pt->is_crc)
		r->crc = crc32c_ref(b->in[0], pt->size);
	if (!pt->has_out)
		return 0;
	r->out = malloc(pt->size ? pt->size : 1);
	if (!r->out)
		return -ENOMEM;
	switch (pt->func) {
	case UDMA_FUNC_ZERO:
		memset(r->out, 0, pt->size);
		break;
	case UDMA_FUNC_FILL8:
		memset(r->out, PAT8, pt->size);
		break;
	case UDMA_FUNC_FILL64:
		for (size_t i = 0; i < pt->size; i++)
			r->out[i] = mover_pat64[i % 8];
		break;
	case UDMA_FUNC_COPY:
	case UDMA_FUNC_COPY_CRC32C:
		memcpy(r->out, b->in[0], pt->size);
		break;
	default: /* xor, byte by byte: nothing shared with the code under test */
		for (size_t i = 0; i < pt->size; i++) {
			unsigned char x = 0;
			for (int j = 0; j < pt->nin; j++)
				x ^= (unsigned char)b->in[j][i];
			r->out[i] = x;
		}
	}
	return 0;
}

void ref_free(struct ref *r)
{
	free(r->out);
	free(r->outs);
	r->out = r->outs = NULL;
}

/* ---- failing, checking, counting --------------------------------------------------- */

void client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->failed = 1;
	__atomic_store_n(&c->pt->stop, 1, __ATOMIC_RELEASE);
}

int client_verify_slow(struct client *c, unsigned idx, uint32_t crc, uint64_t cmp, const char *who)
{
	const struct point *pt = c->pt;
	const char *fn = udma_func_name(pt->func);

	if (pt->func >= UDMA_FUNC_COUNT)
		return mover_later_verify(c, idx, cmp, who);
	if (pt->has_out) {
		const unsigned char *out = (const unsigned char *)client_out(c, idx), *want = pt->ref->out;
		if (memcmp(out, want, pt->size)) {
			size_t at = 0;
			while (out[at] == want[at])
				at++;
			client_fail(c, "verification: %s of %zu bytes on %s: output byte %zu is 0x%02x, want 0x%02x", fn,
				    pt->size, who, at, out[at], want[at]);
			return -1;
		}
	}
	if (pt->is_crc && crc != pt->ref->crc) {
		client_fail(c, "verification: %s of %zu bytes on %s: CRC 0x%08x, want 0x%08x", fn, pt->size, who, crc,
			    pt->ref->crc);
		return -1;
	}
	if (pt->func == UDMA_FUNC_COMPARE && cmp != UDMA_CMP_EQUAL) {
		client_fail(c, "verification: compare of %zu equal bytes on %s: difference at %llu", pt->size, who,
			    (unsigned long long)cmp);
		return -1;
	}
	return 0;
}

void client_count_n(struct client *c, unsigned n)
{
	if (c->win.measuring) {
		c->ops += n;
		__atomic_store_n(&c->live, c->ops, __ATOMIC_RELAXED);
	}
}

void client_count(struct client *c, uint64_t t_sub, uint64_t t_done)
{
	if (c->win.measuring) {
		if (t_sub)
			perf_hist_add(&c->hist, perf_ticks_ns(t_done - t_sub));
		c->ops++;
		__atomic_store_n(&c->live, c->ops, __ATOMIC_RELAXED);
	}
}
