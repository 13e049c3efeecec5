/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SPDK DMA device framework (seed 002), on udma's domains. Every type,
 * enum, macro and function of the seed, with identical prototypes.
 *
 * Differences from SPDK, all stricter (docs/compat-spdk-dma.md):
 *  - arguments are checked at run time (-EINVAL), not only by assert();
 *  - the system domain really works: pull, push, memzero, transfer and
 *    translate on local memory, where SPDK's returns -ENOTSUP;
 *  - a NULL or over-long id is refused; the system domain cannot be
 *    destroyed, and its callbacks cannot be replaced;
 *  - domains are reference counted: iteration holds the domain it returned
 *    until the next step, so destroying it meanwhile is safe.
 */
#ifndef UDMA_COMPAT_SPDK_DMA_H
#define UDMA_COMPAT_SPDK_DMA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Identifier of SPDK internal DMA device of RDMA type. */
#define SPDK_RDMA_DMA_DEVICE "SPDK_RDMA_DMA_DEVICE"

enum spdk_dma_device_type {
	SPDK_DMA_DEVICE_TYPE_RDMA,
	SPDK_DMA_DEVICE_TYPE_DMA,
	SPDK_DMA_DEVICE_TYPE_ACCEL,
	SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_START = 1000,
	SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_END = SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_START + 999,
};

struct spdk_memory_domain;

struct spdk_memory_domain_translation_result {
	/* Size of this structure in bytes, should be set by the user */
	size_t size;
	/* Number of elements in iovs; iov is valid when iov_count == 1 */
	uint32_t iov_count;
	struct iovec iov;
	struct iovec *iovs;
	/* Destination domain passed to translation function */
	struct spdk_memory_domain *dst_domain;
	union {
		struct {
			uint32_t lkey;
			uint32_t rkey;
		} rdma;
	};
};

struct spdk_memory_domain_translation_ctx {
	/* Size of this structure in bytes, should be set by the user */
	size_t size;
	union {
		struct {
			/* Opaque handle for ibv_qp */
			void *ibv_qp;
		} rdma;
	};
};

/* Context of memory domain of RDMA type. */
struct spdk_memory_domain_rdma_ctx {
	/* size of this structure in bytes */
	size_t size;
	/* Opaque handle for ibv_pd */
	void *ibv_pd;
};

struct spdk_memory_domain_ctx {
	/* size of this structure in bytes */
	size_t size;
	/* Optional user context; can be cast to e.g. spdk_memory_domain_rdma_ctx for an RDMA domain */
	void *user_ctx;
	/* Size of user_ctx in bytes */
	size_t user_ctx_size;
};

typedef void (*spdk_memory_domain_data_cpl_cb)(void *ctx, int rc);
typedef int (*spdk_memory_domain_pull_data_cb)(struct spdk_memory_domain *src_domain, void *src_domain_ctx,
		struct iovec *src_iov, uint32_t src_iovcnt, struct iovec *dst_iov, uint32_t dst_iovcnt,
		spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
typedef int (*spdk_memory_domain_push_data_cb)(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx,
		struct iovec *dst_iov, uint32_t dst_iovcnt, struct iovec *src_iov, uint32_t src_iovcnt,
		spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
typedef int (*spdk_memory_domain_memzero_cb)(struct spdk_memory_domain *domain, void *domain_ctx,
		struct iovec *iov, uint32_t iovcnt, spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
typedef int (*spdk_memory_domain_transfer_data_cb)(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx,
		struct iovec *dst_iov, uint32_t dst_iovcnt, struct spdk_memory_domain *src_domain, void *src_domain_ctx,
		struct iovec *src_iov, uint32_t src_iovcnt,
		struct spdk_memory_domain_translation_result *src_translation,
		spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
typedef int (*spdk_memory_domain_translate_memory_cb)(struct spdk_memory_domain *src_domain,
		void *src_domain_ctx, struct spdk_memory_domain *dst_domain,
		struct spdk_memory_domain_translation_ctx *dst_domain_ctx, void *addr, size_t len,
		struct spdk_memory_domain_translation_result *result);
typedef void (*spdk_memory_domain_invalidate_data_cb)(struct spdk_memory_domain *domain, void *domain_ctx,
		struct iovec *iov, uint32_t iovcnt);

UDMA_API int spdk_memory_domain_create(struct spdk_memory_domain **domain, enum spdk_dma_device_type type,
				       struct spdk_memory_domain_ctx *ctx, const char *id);
UDMA_API void spdk_memory_domain_set_translation(struct spdk_memory_domain *domain,
						 spdk_memory_domain_translate_memory_cb translate_cb);
UDMA_API void spdk_memory_domain_set_invalidate(struct spdk_memory_domain *domain,
						spdk_memory_domain_invalidate_data_cb invalidate_cb);
UDMA_API void spdk_memory_domain_set_pull(struct spdk_memory_domain *domain, spdk_memory_domain_pull_data_cb pull_cb);
UDMA_API void spdk_memory_domain_set_push(struct spdk_memory_domain *domain, spdk_memory_domain_push_data_cb push_cb);
UDMA_API void spdk_memory_domain_set_data_transfer(struct spdk_memory_domain *domain,
						   spdk_memory_domain_transfer_data_cb transfer_cb);
UDMA_API void spdk_memory_domain_set_memzero(struct spdk_memory_domain *domain,
					     spdk_memory_domain_memzero_cb memzero_cb);
UDMA_API struct spdk_memory_domain_ctx *spdk_memory_domain_get_context(struct spdk_memory_domain *domain);
UDMA_API void *spdk_memory_domain_get_user_context(struct spdk_memory_domain *domain, size_t *ctx_size);
UDMA_API enum spdk_dma_device_type spdk_memory_domain_get_dma_device_type(struct spdk_memory_domain *domain);
UDMA_API const char *spdk_memory_domain_get_dma_device_id(struct spdk_memory_domain *domain);
UDMA_API void spdk_memory_domain_destroy(struct spdk_memory_domain *domain);
UDMA_API int spdk_memory_domain_pull_data(struct spdk_memory_domain *src_domain, void *src_domain_ctx,
					  struct iovec *src_iov, uint32_t src_iov_cnt, struct iovec *dst_iov,
					  uint32_t dst_iov_cnt, spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
UDMA_API int spdk_memory_domain_push_data(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx,
					  struct iovec *dst_iov, uint32_t dst_iovcnt, struct iovec *src_iov,
					  uint32_t src_iovcnt, spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
UDMA_API int spdk_memory_domain_transfer_data(struct spdk_memory_domain *dst_domain, void *dst_domain_ctx,
					      struct iovec *dst_iov, uint32_t dst_iovcnt,
					      struct spdk_memory_domain *src_domain, void *src_domain_ctx,
					      struct iovec *src_iov, uint32_t src_iovcnt,
					      struct spdk_memory_domain_translation_result *src_translation,
					      spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
UDMA_API int spdk_memory_domain_translate_data(struct spdk_memory_domain *src_domain, void *src_domain_ctx,
					       struct spdk_memory_domain *dst_domain,
					       struct spdk_memory_domain_translation_ctx *dst_domain_ctx, void *addr,
					       size_t len, struct spdk_memory_domain_translation_result *result);
UDMA_API void spdk_memory_domain_invalidate_data(struct spdk_memory_domain *domain, void *domain_ctx,
						 struct iovec *iov, uint32_t iovcnt);
UDMA_API int spdk_memory_domain_memzero(struct spdk_memory_domain *domain, void *domain_ctx, struct iovec *iov,
					uint32_t iovcnt, spdk_memory_domain_data_cpl_cb cpl_cb, void *cpl_cb_arg);
UDMA_API struct spdk_memory_domain *spdk_memory_domain_get_first(const char *id);
UDMA_API struct spdk_memory_domain *spdk_memory_domain_get_next(struct spdk_memory_domain *prev, const char *id);
UDMA_API struct spdk_memory_domain *spdk_memory_domain_get_system_domain(void);

#ifdef __cplusplus
}
#endif
#endif
