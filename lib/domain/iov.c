/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "iov.h"

int _udma_iov_total(const struct iovec *iov, uint32_t cnt, size_t *total)
{
	size_t t = 0;

	if (!iov || !cnt)
		return udma_fail(EINVAL, "%s iovec array", !iov ? "NULL" : "empty");
	for (uint32_t i = 0; i < cnt; i++) {
		if (t + iov[i].iov_len < t)
			return udma_fail(EINVAL, "iovec lengths overflow at entry %u", i);
		t += iov[i].iov_len;
	}
	*total = t;
	return 0;
}

size_t _udma_iov_copy(const struct iovec *dst, size_t dcnt, const struct iovec *src, size_t scnt)
{
	size_t di = 0, si = 0, doff = 0, soff = 0, done = 0;

	while (di < dcnt && si < scnt) {
		size_t dl = dst[di].iov_len - doff, sl = src[si].iov_len - soff;
		size_t n = dl < sl ? dl : sl;
		if (n)
			memcpy((char *)dst[di].iov_base + doff, (const char *)src[si].iov_base + soff, n);
		done += n;
		doff += n, soff += n;
		if (doff == dst[di].iov_len)
			di++, doff = 0;
		if (soff == src[si].iov_len)
			si++, soff = 0;
	}
	return done;
}

void _udma_iov_zero(const struct iovec *iov, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

int _udma_iovbuf_push(struct iovbuf *b, void *base, size_t len)
{
	if (b->n && (char *)b->v[b->n - 1].iov_base + b->v[b->n - 1].iov_len == (char *)base) {
		b->v[b->n - 1].iov_len += len; /* merge with a contiguous neighbour */
		return 0;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap * 2;
		struct iovec *v = b->v == b->inl ? malloc(cap * sizeof(*v)) : realloc(b->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (b->v == b->inl)
			memcpy(v, b->inl, sizeof(b->inl));
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct iovec){ base, len };
	return 0;
}

void _udma_iovbuf_fini(struct iovbuf *b)
{
	if (b->v != b->inl)
		free(b->v);
	iovbuf_init(b);
}
