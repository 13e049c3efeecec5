/* SPDX-License-Identifier: BSD-3-Clause */
/* iovec helpers: checked totals, copies between arrays, a growable array. */
#ifndef UDMA_LIB_IOV_H
#define UDMA_LIB_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "../core/log.h"

/* Sum of lengths; -EINVAL for NULL with cnt > 0, cnt 0, or overflow. */
UDMA_HIDDEN int _udma_iov_total(const struct iovec *iov, uint32_t cnt, size_t *total);
/* Copy min(total dst, total src) bytes from src to dst; returns bytes copied. */
UDMA_HIDDEN size_t _udma_iov_copy(const struct iovec *dst, size_t dcnt, const struct iovec *src, size_t scnt);
UDMA_HIDDEN void _udma_iov_zero(const struct iovec *iov, size_t cnt);

/* A growable iovec array with room for a few on the stack. */
struct iovbuf {
	struct iovec *v;
	size_t n, cap;
	struct iovec inl[16];
};

static inline void iovbuf_init(struct iovbuf *b)
{
	b->v = b->inl;
	b->n = 0;
	b->cap = sizeof(b->inl) / sizeof(b->inl[0]);
}
UDMA_HIDDEN int _udma_iovbuf_push(struct iovbuf *b, void *base, size_t len);
UDMA_HIDDEN void _udma_iovbuf_fini(struct iovbuf *b);

#endif
