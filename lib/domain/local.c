/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations of the built-in domains with local views (system, device,
 * shm). Each turns domain addresses into local views (this process's VAs)
 * through the kind's table, then copies or zeroes with memcpy/memset, and
 * completes before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "domain_internal.h"

int _udma_domain_local_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write,
		      struct iovbuf *out)
{
	if (!d->k->local_view)
		return udma_fail(ENOTSUP, "domain %s has no local view", d->id);
	return d->k->local_view(d, iov, cnt, write, out);
}

int _udma_domain_access(struct udma_domain *d, const struct iovec *local, size_t lcnt, const struct iovec *iov,
		  size_t cnt, int write)
{
	if (!d->k->access)
		return udma_fail(ENOTSUP, "domain %s is not reached by a system call", d->id);
	return d->k->access(d, local, lcnt, iov, cnt, write);
}

/* VA pieces -> dst's address space. */
static int from_local(struct udma_domain *dst, const struct iovbuf *l, struct iovbuf *out)
{
	if (!dst->k->from_local)
		return udma_fail(ENOTSUP, "cannot translate into domain %s", dst->id);
	return dst->k->from_local(dst, l, out);
}

/* Results with several iovs live in a per-thread array until the thread's next translation. */
static pthread_key_t xlate_key;
static pthread_once_t xlate_once = PTHREAD_ONCE_INIT;
static __thread struct iovec *xlate_iovs;
static __thread size_t xlate_cap;

static void xlate_key_init(void)
{
	pthread_key_create(&xlate_key, free);
}

static int xlate_store(struct udma_xlate_result *r, const struct iovbuf *b)
{
	r->iov_count = (uint32_t)b->n;
	if (b->n == 1) {
		r->iov = b->v[0];
		r->iovs = NULL;
		return 0;
	}
	if (b->n > xlate_cap) {
		struct iovec *v = realloc(xlate_iovs, b->n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pthread_once(&xlate_once, xlate_key_init);
		pthread_setspecific(xlate_key, v); /* freed when the thread exits */
		xlate_iovs = v;
		xlate_cap = b->n;
	}
	memcpy(xlate_iovs, b->v, b->n * sizeof(*b->v));
	r->iovs = xlate_iovs;
	r->iov = b->v[0];
	return 0;
}

static int b_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
		       struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	struct iovec in = { addr, len };
	struct iovbuf l, o;
	int err;

	if (dst->k->xlate_in)
		return dst->k->xlate_in(src, addr, len, dst, result);
	iovbuf_init(&l);
	iovbuf_init(&o);
	err = _udma_domain_local_view(src, &in, 1, 0, &l);
	if (!err)
		err = from_local(dst, &l, &o);
	if (!err)
		err = xlate_store(result, &o);
	if (!err)
		result->dst_domain = dst;
	_udma_iovbuf_fini(&l);
	_udma_iovbuf_fini(&o);
	return err;
}

static int b_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		  struct iovec *dst_iov, uint32_t dst_cnt, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf s;
	int err;

	iovbuf_init(&s);
	err = _udma_domain_local_view(src, src_iov, src_cnt, 0, &s);
	if (!err)
		_udma_iov_copy(dst_iov, dst_cnt, s.v, s.n);
	_udma_iovbuf_fini(&s);
	return op_done(cb, cb_arg, err);
}

static int b_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		  struct iovec *src_iov, uint32_t src_cnt, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf dv;
	int err;

	iovbuf_init(&dv);
	err = _udma_domain_local_view(dst, dst_iov, dst_cnt, 1, &dv);
	if (!err)
		_udma_iov_copy(dv.v, dv.n, src_iov, src_cnt);
	_udma_iovbuf_fini(&dv);
	return op_done(cb, cb_arg, err);
}

static int b_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt, udma_done_fn cb,
		     void *cb_arg)
{
	struct iovbuf v;
	int err;

	iovbuf_init(&v);
	err = _udma_domain_local_view(d, iov, cnt, 1, &v);
	if (!err)
		_udma_iov_zero(v.v, v.n);
	_udma_iovbuf_fini(&v);
	return op_done(cb, cb_arg, err);
}

/* dst has a local view; src has one too, or is reached by a system call. */
static int b_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		      struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		      struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf dv, sv;
	int err;

	iovbuf_init(&dv);
	iovbuf_init(&sv);
	err = _udma_domain_local_view(dst, dst_iov, dst_cnt, 1, &dv);
	if (!err && !src->k->local_view)
		err = _udma_domain_access(src, dv.v, dv.n, src_iov, src_cnt, 0);
	else if (!err && !(err = _udma_domain_local_view(src, src_iov, src_cnt, 0, &sv)))
		_udma_iov_copy(dv.v, dv.n, sv.v, sv.n);
	_udma_iovbuf_fini(&dv);
	_udma_iovbuf_fini(&sv);
	return op_done(cb, cb_arg, err);
}

static void b_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt)
{
	/* Nothing is held for a translation: results are views of live memory. */
}

const struct udma_domain_ops _udma_builtin_ops = {
	.size = sizeof(struct udma_domain_ops),
	.translate = b_translate,
	.pull = b_pull,
	.push = b_push,
	.transfer = b_transfer,
	.memzero = b_memzero,
	.invalidate = b_invalidate,
};
