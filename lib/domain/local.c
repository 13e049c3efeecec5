/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations of the built-in domains (system, device, shm). Each turns
 * domain addresses into local views (this process's VAs), then copies or
 * zeroes with memcpy/memset, and completes before returning.
 */
#include <stdlib.h>
#include <string.h>
#include <udma/memory.h>

#include "domain_internal.h"

int _udma_domain_local_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write,
		      struct iovbuf *out)
{
	int err = 0;

	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint64_t a = (uintptr_t)iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (!len)
			continue;
		switch (d->kind) {
		case UDMA_KIND_SYSTEM:
			if (!a)
				return udma_fail(EFAULT, "NULL address in the system domain");
			err = _udma_iovbuf_push(out, iov[i].iov_base, len);
			break;
		case UDMA_KIND_DEVICE:
			while (len && !err) { /* a device range may be several local pieces */
				size_t piece = len;
				void *va = udma_iova_to_va(d, a, &piece);
				if (!va)
					return udma_fail(EFAULT, "device address 0x%llx is not mapped in %s",
							 (unsigned long long)a, d->id);
				err = _udma_iovbuf_push(out, va, piece);
				a += piece, len -= piece;
			}
			break;
		case UDMA_KIND_SHM:
			if (a > d->shm.size || len > d->shm.size - a)
				return udma_fail(ERANGE, "[%llu, +%zu) is outside segment %s of %zu bytes",
						 (unsigned long long)a, len, d->id, d->shm.size);
			if (write && d->shm.readonly)
				return udma_fail(EACCES, "segment %s is mapped read-only here", d->id);
			err = _udma_iovbuf_push(out, d->shm.base + a, len);
			break;
		default:
			return udma_fail(ENOTSUP, "domain %s has no local view", d->id);
		}
	}
	return err;
}

/* VA pieces -> dst's address space. */
static int from_local(struct udma_domain *dst, const struct iovbuf *l, struct iovbuf *out)
{
	int err = 0;

	for (size_t i = 0; i < l->n && !err; i++) {
		uint64_t va = (uintptr_t)l->v[i].iov_base;
		size_t len = l->v[i].iov_len;
		switch (dst->kind) {
		case UDMA_KIND_SYSTEM:
			err = _udma_iovbuf_push(out, l->v[i].iov_base, len);
			break;
		case UDMA_KIND_DEVICE:
			while (len && !err) { /* split where device addresses are discontiguous */
				size_t piece = len;
				uint64_t io = udma_va_to_iova(dst, (void *)(uintptr_t)va, &piece);
				if (io == UDMA_BAD_IOVA)
					return udma_fail(EFAULT, "%p is not registered in %s", (void *)(uintptr_t)va, dst->id);
				err = _udma_iovbuf_push(out, (void *)(uintptr_t)io, piece);
				va += piece, len -= piece;
			}
			break;
		case UDMA_KIND_SHM: {
			uint64_t base = (uintptr_t)dst->shm.base;
			if (va < base || va - base > dst->shm.size || len > dst->shm.size - (va - base))
				return udma_fail(EFAULT, "%p is not inside segment %s", (void *)(uintptr_t)va, dst->id);
			err = _udma_iovbuf_push(out, (void *)(uintptr_t)(va - base), len);
			break;
		}
		default:
			return udma_fail(ENOTSUP, "cannot translate into domain %s", dst->id);
		}
	}
	return err;
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

	if (dst->kind == UDMA_KIND_REMOTE && dst->remote_xlate_in) /* lib/fabric knows its exports */
		return dst->remote_xlate_in(src, addr, len, dst, result);
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

/* dst is built-in (local view); src is built-in or a process. */
static int b_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		      struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		      struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf dv, sv;
	int err;

	iovbuf_init(&dv);
	iovbuf_init(&sv);
	err = _udma_domain_local_view(dst, dst_iov, dst_cnt, 1, &dv);
	if (!err && src->kind == UDMA_KIND_PROCESS)
		err = process_rw(src->pid, dv.v, dv.n, src_iov, src_cnt, 0);
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
