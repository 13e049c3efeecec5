/* SPDX-License-Identifier: BSD-3-Clause */
/* A position in an iovec array, for kernels that walk several in lockstep. */
#ifndef UDMA_LIB_MOVER_CURSOR_H
#define UDMA_LIB_MOVER_CURSOR_H

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/* Walks several iovec arrays of equal total length in lockstep. */
struct cursor {
	const struct iovec *v;
	uint32_t cnt, i;
	size_t off;
};

static inline void cur_init(struct cursor *c, const struct iovec *v, uint32_t cnt)
{
	*c = (struct cursor){ v, cnt, 0, 0 };
	while (c->i < c->cnt && !c->v[c->i].iov_len)
		c->i++;
}

static inline size_t cur_left(const struct cursor *c)
{
	return c->i < c->cnt ? c->v[c->i].iov_len - c->off : 0;
}

static inline char *cur_ptr(const struct cursor *c)
{
	return (char *)c->v[c->i].iov_base + c->off;
}

static inline void cur_advance(struct cursor *c, size_t n)
{
	c->off += n;
	while (c->i < c->cnt && c->off == c->v[c->i].iov_len) {
		c->i++;
		c->off = 0;
	}
}

/* Copy n bytes out of the array at c (they are there: the caller checked). */
static inline void cur_read(struct cursor *c, void *dst, size_t n)
{
	for (size_t got = 0; got < n;) {
		size_t step = cur_left(c) < n - got ? cur_left(c) : n - got;
		memcpy((char *)dst + got, cur_ptr(c), step);
		cur_advance(c, step);
		got += step;
	}
}

static inline void cur_write(struct cursor *c, const void *src, size_t n)
{
	for (size_t put = 0; put < n;) {
		size_t step = cur_left(c) < n - put ? cur_left(c) : n - put;
		memcpy(cur_ptr(c), (const char *)src + put, step);
		cur_advance(c, step);
		put += step;
	}
}

#endif
