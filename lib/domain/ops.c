/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dispatch of the six domain operations: run-time argument checks (SPDK
 * only asserts), -ENOTSUP for unset operations, and a reference on the
 * domain for as long as an operation runs, so a domain destroyed meanwhile
 * is freed only after its last completion.
 */
#include <stdlib.h>

#include "domain_internal.h"

/* Take a reference for one operation; -ENODEV if d is destroyed. */
static int enter(struct udma_domain *d)
{
	if (!d)
		return udma_fail(EINVAL, "NULL domain");
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	udma_domain_get(d);
	return 0;
}

/*
 * Completion wrapper for custom domains, whose operations may complete
 * later on any thread. The completion and the return path each bump
 * stage; whichever comes second releases the domain and the wrapper.
 */
struct wrap {
	udma_done_fn cb;
	void *arg;
	struct udma_domain *d;
	int stage;
};

static void wrap_finish(struct wrap *w)
{
	udma_domain_put(w->d);
	free(w);
}

static void wrap_done(void *p, int status)
{
	struct wrap *w = p;

	if (w->cb)
		w->cb(w->arg, status);
	/* acq_rel: the second side must see the first side's writes */
	if (__atomic_fetch_add(&w->stage, 1, __ATOMIC_ACQ_REL) == 1)
		wrap_finish(w);
}

static int wrap_return(struct wrap *w, int rc)
{
	if (rc) /* the contract: no completion after a failure */
		wrap_finish(w);
	else if (__atomic_fetch_add(&w->stage, 1, __ATOMIC_ACQ_REL) == 1)
		wrap_finish(w);
	return rc;
}

/* Built-ins complete inline and need no wrapper; custom ops get one. */
#define DISPATCH(d, fn, cb, arg, ...)                                             \
	do {                                                                      \
		int rc_;                                                          \
		if ((d)->builtin) {                                               \
			rc_ = fn(__VA_ARGS__, (cb), (arg));                       \
			udma_domain_put(d);                                       \
			return rc_;                                               \
		}                                                                 \
		struct wrap *w_ = malloc(sizeof(*w_));                            \
		if (!w_) {                                                        \
			udma_domain_put(d);                                       \
			return -ENOMEM;                                           \
		}                                                                 \
		*w_ = (struct wrap){ (cb), (arg), (d), 0 };                       \
		return wrap_return(w_, fn(__VA_ARGS__, wrap_done, w_));           \
	} while (0)

/* Both arrays valid, and dst can hold src. */
static int check_pair(const struct iovec *dst, uint32_t dcnt, const struct iovec *src, uint32_t scnt)
{
	size_t dt, st;
	int err = _udma_iov_total(dst, dcnt, &dt);

	if (!err)
		err = _udma_iov_total(src, scnt, &st);
	if (!err && dt < st)
		err = udma_fail(EINVAL, "destination holds %zu bytes, source has %zu", dt, st);
	return err;
}

int udma_domain_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
			  struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	if (!dst || !result || !len)
		return udma_fail(EINVAL, "NULL destination domain or result, or zero length");
	if (result->size < offsetof(struct udma_xlate_result, dst_domain) + sizeof(void *))
		return udma_fail(EINVAL, "result->size %zu too small", result->size);
	if (__atomic_load_n(&dst->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "destination domain %s is destroyed", dst->id);
	int err = enter(src);
	if (err)
		return err;
	udma_translate_fn fn = __atomic_load_n(&src->ops.translate, __ATOMIC_ACQUIRE);
	err = fn ? fn(src, src_ctx, dst, dst_ctx, addr, len, result)
		 : udma_fail(ENOTSUP, "domain %s cannot translate", src->id);
	udma_domain_put(src);
	return err;
}

int udma_domain_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_iovcnt,
		     struct iovec *dst_iov, uint32_t dst_iovcnt, udma_done_fn cb, void *cb_arg)
{
	int err = check_pair(dst_iov, dst_iovcnt, src_iov, src_iovcnt);
	if (err || (err = enter(src)))
		return err;
	udma_pull_fn fn = __atomic_load_n(&src->ops.pull, __ATOMIC_ACQUIRE);
	if (!fn) {
		udma_domain_put(src);
		return udma_fail(ENOTSUP, "domain %s cannot pull", src->id);
	}
	DISPATCH(src, fn, cb, cb_arg, src, src_ctx, src_iov, src_iovcnt, dst_iov, dst_iovcnt);
}

int udma_domain_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_iovcnt,
		     struct iovec *src_iov, uint32_t src_iovcnt, udma_done_fn cb, void *cb_arg)
{
	int err = check_pair(dst_iov, dst_iovcnt, src_iov, src_iovcnt);
	if (err || (err = enter(dst)))
		return err;
	udma_push_fn fn = __atomic_load_n(&dst->ops.push, __ATOMIC_ACQUIRE);
	if (!fn) {
		udma_domain_put(dst);
		return udma_fail(ENOTSUP, "domain %s cannot push", dst->id);
	}
	DISPATCH(dst, fn, cb, cb_arg, dst, dst_ctx, dst_iov, dst_iovcnt, src_iov, src_iovcnt);
}

int udma_domain_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_iovcnt,
			 struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_iovcnt,
			 struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	int err = check_pair(dst_iov, dst_iovcnt, src_iov, src_iovcnt);
	if (err)
		return err;
	if (!src)
		return udma_fail(EINVAL, "NULL source domain");
	if (__atomic_load_n(&src->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "source domain %s is destroyed", src->id);
	if (dst && dst->builtin && !src->builtin)
		return udma_fail(ENOTSUP, "built-in %s cannot take data from custom domain %s (pull it first)",
				 dst->id, src->id);
	if (dst && src->kind == UDMA_KIND_PROCESS && dst->kind == UDMA_KIND_PROCESS)
		return udma_fail(ENOTSUP, "process to process: pull into local memory first");
	if ((err = enter(dst)))
		return err;
	udma_transfer_fn fn = __atomic_load_n(&dst->ops.transfer, __ATOMIC_ACQUIRE);
	if (!fn) {
		udma_domain_put(dst);
		return udma_fail(ENOTSUP, "domain %s cannot transfer", dst->id);
	}
	DISPATCH(dst, fn, cb, cb_arg, dst, dst_ctx, dst_iov, dst_iovcnt, src, src_ctx, src_iov, src_iovcnt, src_xlate);
}

int udma_domain_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt, udma_done_fn cb,
			void *cb_arg)
{
	size_t total;
	int err = _udma_iov_total(iov, iovcnt, &total);
	if (err || (err = enter(d)))
		return err;
	udma_memzero_fn fn = __atomic_load_n(&d->ops.memzero, __ATOMIC_ACQUIRE);
	if (!fn) {
		udma_domain_put(d);
		return udma_fail(ENOTSUP, "domain %s cannot zero memory", d->id);
	}
	DISPATCH(d, fn, cb, cb_arg, d, ctx, iov, iovcnt);
}

void udma_domain_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt)
{
	if (enter(d))
		return;
	udma_invalidate_fn fn = __atomic_load_n(&d->ops.invalidate, __ATOMIC_ACQUIRE);
	if (fn) /* optional: unset means nothing to do */
		fn(d, ctx, iov, iovcnt);
	udma_domain_put(d);
}
