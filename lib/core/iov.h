/* SPDX-License-Identifier: BSD-3-Clause */
/* iovec helpers: checked totals, copies between arrays, a growable array. */
#ifndef UDMA_LIB_IOV_H
#define UDMA_LIB_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "log.h"

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

/*
 * One past the highest byte a local buffer may reach. On x86-64 user space
 * lies below bit 63 whatever the paging depth (LA57) or address tagging
 * (LAM): a buffer that reaches it is the kernel's or not canonical, and an
 * engine touching it would fault. Elsewhere (arm64 keeps tags in the top
 * byte) only the end of the address space.
 */
#if defined(__x86_64__)
#define UDMA_VA_END ((uintptr_t)1 << 63)
#else
#define UDMA_VA_END UINTPTR_MAX
#endif

/* A local piece no engine may touch: at NULL, or reaching past UDMA_VA_END
 * (wrapping included). Empty pieces are fine anywhere. */
static inline int iov_piece_bad(const struct iovec *v)
{
	uintptr_t a = (uintptr_t)v->iov_base;
	return v->iov_len && (!a || a > UDMA_VA_END || v->iov_len > UDMA_VA_END - a);
}

/* iov_piece_bad() as one compare, for loops that check many pieces of
 * len bytes (len at most UDMA_VA_END): a piece at a passes iff a - 1 is
 * at most this (NULL's a - 1 is UINTPTR_MAX); for len 0, everything. */
static inline uintptr_t iov_bound(size_t len)
{
	return len ? UDMA_VA_END - len - 1 : UINTPTR_MAX;
}

/* Do two sets of local pieces share a byte? (Empty pieces share none.) */
static inline int iov_overlap(const struct iovec *a, uint32_t an, const struct iovec *b, uint32_t bn)
{
	for (uint32_t i = 0; i < an; i++)
		for (uint32_t j = 0; j < bn; j++) {
			uintptr_t a0 = (uintptr_t)a[i].iov_base, b0 = (uintptr_t)b[j].iov_base;
			if (a[i].iov_len && b[j].iov_len && a0 < b0 + b[j].iov_len && b0 < a0 + a[i].iov_len)
				return 1;
		}
	return 0;
}

#endif
