/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed 002: SPDK's memory domains are udma domains. The types are
 * layout-identical (checked below), so the layer only renames.
 */
#include <pthread.h>
#include <udma/domain.h>
#include <spdk/dma.h>

#include "../core/log.h"

#define SAME_LAYOUT(a, b, f) _Static_assert(offsetof(a, f) == offsetof(b, f), #a "." #f)
_Static_assert(sizeof(struct spdk_memory_domain_translation_result) == sizeof(struct udma_xlate_result), "result");
SAME_LAYOUT(struct spdk_memory_domain_translation_result, struct udma_xlate_result, iov_count);
SAME_LAYOUT(struct spdk_memory_domain_translation_result, struct udma_xlate_result, iov);
SAME_LAYOUT(struct spdk_memory_domain_translation_result, struct udma_xlate_result, iovs);
SAME_LAYOUT(struct spdk_memory_domain_translation_result, struct udma_xlate_result, dst_domain);
SAME_LAYOUT(struct spdk_memory_domain_translation_result, struct udma_xlate_result, rdma);
_Static_assert(sizeof(struct spdk_memory_domain_translation_ctx) == sizeof(struct udma_xlate_ctx), "xlate ctx");
_Static_assert(sizeof(struct spdk_memory_domain_ctx) == sizeof(struct udma_domain_ctx), "ctx");
SAME_LAYOUT(struct spdk_memory_domain_ctx, struct udma_domain_ctx, user_ctx);
SAME_LAYOUT(struct spdk_memory_domain_ctx, struct udma_domain_ctx, user_ctx_size);
_Static_assert((int)SPDK_DMA_DEVICE_TYPE_RDMA == UDMA_DEV_RDMA && (int)SPDK_DMA_DEVICE_TYPE_DMA == UDMA_DEV_DMA &&
	       (int)SPDK_DMA_DEVICE_TYPE_ACCEL == UDMA_DEV_ACCEL &&
	       (int)SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_END == UDMA_DEV_VENDOR_END, "types");

#define U(d) ((struct udma_domain *)(d))
#define S(d) ((struct spdk_memory_domain *)(d))

int spdk_memory_domain_create(struct spdk_memory_domain **domain, enum spdk_dma_device_type type,
			      struct spdk_memory_domain_ctx *ctx, const char *id)
{
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = (enum udma_dev_type)type, .id = id,
				      .ctx = (const struct udma_domain_ctx *)ctx };

	if (!domain)
		return udma_fail(EINVAL, "NULL domain pointer");
	if (ctx && !ctx->size)
		return udma_fail(EINVAL, "Context size can't be 0");
	return udma_domain_create((struct udma_domain **)domain, &o);
}

/* The callback types differ from udma's only in naming the domain type, which is the same object. */
#define SET(spdk_name, udma_name, type)                                         \
	void spdk_memory_domain_set_##spdk_name(struct spdk_memory_domain *domain, type fn) \
	{                                                                       \
		udma_domain_set_##udma_name(U(domain), (udma_##udma_name##_fn)(void (*)(void))fn); \
	}
SET(translation, translate, spdk_memory_domain_translate_memory_cb)
SET(invalidate, invalidate, spdk_memory_domain_invalidate_data_cb)
SET(pull, pull, spdk_memory_domain_pull_data_cb)
SET(push, push, spdk_memory_domain_push_data_cb)
SET(data_transfer, transfer, spdk_memory_domain_transfer_data_cb)
SET(memzero, memzero, spdk_memory_domain_memzero_cb)

struct spdk_memory_domain_ctx *spdk_memory_domain_get_context(struct spdk_memory_domain *domain)
{
	return (struct spdk_memory_domain_ctx *)udma_domain_ctx(U(domain));
}

void *spdk_memory_domain_get_user_context(struct spdk_memory_domain *domain, size_t *ctx_size)
{
	return udma_domain_user_ctx(U(domain), ctx_size);
}

enum spdk_dma_device_type spdk_memory_domain_get_dma_device_type(struct spdk_memory_domain *domain)
{
	return (enum spdk_dma_device_type)udma_domain_dev_type(U(domain));
}

const char *spdk_memory_domain_get_dma_device_id(struct spdk_memory_domain *domain)
{
	return udma_domain_id(U(domain));
}

void spdk_memory_domain_destroy(struct spdk_memory_domain *domain)
{
	if (domain) /* NULL is a no-op, as in SPDK; refusals are logged by udma */
		udma_domain_destroy(U(domain));
}

int spdk_memory_domain_pull_data(struct spdk_memory_domain *src_domain, void *src_domain_ctx, struct iovec *src_iov,
				 uint32_t src_iov_cnt, struct iovec *dst_iov, uint32_t dst_iov_cnt,
				 spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg)
{
	return udma_domain_pull(U(src_domain), src_domain_ctx, src_iov, src_iov_cnt, dst_iov, dst_iov_cnt, cpl_cb,
				cpl_cb_arg);
}

int spdk_memory_domain_push_data(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx, struct iovec *dst_iov,
				 uint32_t dst_iovcnt, struct iovec *src_iov, uint32_t src_iovcnt,
				 spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg)
{
	return udma_domain_push(U(dst_domain), dst_domain_ctx, dst_iov, dst_iovcnt, src_iov, src_iovcnt, cpl_cb,
				cpl_cb_arg);
}

int spdk_memory_domain_transfer_data(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx,
				     struct iovec *dst_iov, uint32_t dst_iovcnt, struct spdk_memory_domain *src_domain,
				     void *src_domain_ctx, struct iovec *src_iov, uint32_t src_iovcnt,
				     struct spdk_memory_domain_translation_result *src_translation,
				     spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg)
{
	return udma_domain_transfer(U(dst_domain), dst_domain_ctx, dst_iov, dst_iovcnt, U(src_domain), src_domain_ctx,
				    src_iov, src_iovcnt, (struct udma_xlate_result *)src_translation, cpl_cb,
				    cpl_cb_arg);
}

int spdk_memory_domain_translate_data(struct spdk_memory_domain *src_domain, void *src_domain_ctx,
				      struct spdk_memory_domain *dst_domain,
				      struct spdk_memory_domain_translation_ctx *dst_domain_ctx, void *addr, size_t len,
				      struct spdk_memory_domain_translation_result *result)
{
	return udma_domain_translate(U(src_domain), src_domain_ctx, U(dst_domain),
				     (struct udma_xlate_ctx *)dst_domain_ctx, addr, len,
				     (struct udma_xlate_result *)result);
}

void spdk_memory_domain_invalidate_data(struct spdk_memory_domain *domain, void *domain_ctx, struct iovec *iov,
					uint32_t iovcnt)
{
	udma_domain_invalidate(U(domain), domain_ctx, iov, iovcnt);
}

int spdk_memory_domain_memzero(struct spdk_memory_domain *domain, void *domain_ctx, struct iovec *iov,
			       uint32_t iovcnt, spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg)
{
	return udma_domain_memzero(U(domain), domain_ctx, iov, iovcnt, cpl_cb, cpl_cb_arg);
}

/*
 * SPDK's iteration takes no references. Here each thread holds one: on the
 * domain it last returned, until its next step, the end of the walk, or
 * thread exit. A domain destroyed meanwhile is never returned, and is freed
 * only once no iterator stands on it.
 */
static pthread_key_t iter_key;
static pthread_once_t iter_once = PTHREAD_ONCE_INIT;
static __thread struct udma_domain *iter_cur;

static void iter_key_init(void)
{
	pthread_key_create(&iter_key, (void (*)(void *))udma_domain_put);
}

static struct spdk_memory_domain *iter_hold(struct udma_domain *d)
{
	pthread_once(&iter_once, iter_key_init);
	iter_cur = d;
	pthread_setspecific(iter_key, d);
	return S(d);
}

struct spdk_memory_domain *spdk_memory_domain_get_first(const char *id)
{
	udma_domain_put(iter_cur);
	return iter_hold(udma_domain_first(id));
}

struct spdk_memory_domain *spdk_memory_domain_get_next(struct spdk_memory_domain *prev, const char *id)
{
	if (!prev)
		return udma_fail_null(EINVAL, "NULL previous domain");
	/* next() puts a reference on prev: ours if prev is where this thread stands */
	if (U(prev) != iter_cur)
		udma_domain_get(U(prev));
	else
		iter_cur = NULL;
	udma_domain_put(iter_cur);
	return iter_hold(udma_domain_next(U(prev), id));
}

struct spdk_memory_domain *spdk_memory_domain_get_system_domain(void)
{
	return S(udma_system_domain());
}
