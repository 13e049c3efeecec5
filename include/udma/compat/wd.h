/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WarpDrive (UADK v1) general memory interfaces, as seed 001 documents them,
 * on top of udma. A queue is a udma device domain; "WD memory" is udma DMA
 * memory allocated in it.
 *
 * Address modes (dev_path): "" = the default device (SVA: IOVA = VA),
 * "va", "pa" (no-IOMMU: IOVA = physical address), "iommu" (IOMMU with
 * IOVAs from udma's allocator, emulated without VFIO).
 */
#ifndef UDMA_COMPAT_WD_H
#define UDMA_COMPAT_WD_H

#include <errno.h>
#include <stddef.h>
#include <linux/types.h>
#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: functions return WD_SUCCESS or a negated code (-WD_EINVAL). */
#define WD_SUCCESS 0
#define WD_EINVAL EINVAL
#define WD_ENOMEM ENOMEM
#define WD_EBUSY EBUSY
#define WD_ENODEV ENODEV

enum wd_buff_type {
	WD_FLAT_BUF = 0, /* General buffer type */
	WD_SGL_BUF = 1,  /* Parent and child hash linked list buffer */
};

typedef void *(*wd_alloc)(void *usr, size_t size);
typedef void (*wd_free)(void *usr, void *va);
typedef void *(*wd_map)(void *usr, void *va, size_t sz);
typedef void (*wd_unmap)(void *usr, void *va, void *iova, size_t sz);

/* Memory brigde from user, it is given at ctx. While SVA, this interface is in no need */
struct wd_mm_br {
	wd_alloc alloc;      /* Memory allocation */
	wd_free free;        /* Memory free */
	wd_map iova_map;     /* get iova from user space VA */
	wd_unmap iova_unmap; /* destroy the mapping between the PA of VA and iova */
	void *usr;           /* data for the above operations */
};

/* Warpdrive data buffer */
struct wd_dtb {
	char *data;  /* data/buffer start address */
	__u32 dsize; /* data size */
	__u32 bsize; /* buffer size */
};

#define WD_PATH_STR_SIZE 256

struct wd_capa {
	const char *alg; /* function name; may be NULL or empty */
	int throughput;
	int latency;
	__u32 flags;
};

/* A WD queue. Fill capa.alg and dev_path, then wd_request_queue(). */
struct wd_queue {
	struct wd_capa capa;
	char dev_path[WD_PATH_STR_SIZE]; /* "" = default device; else "va", "pa", "iommu" */
	void *qinfo;                     /* udma's; do not touch */
};

/* 0, or -WD_EINVAL (bad q or dev_path), -WD_ENODEV, -EPERM ("pa" without privilege). */
UDMA_API int wd_request_queue(struct wd_queue *q);
/* Frees the queue's WD memory. Pools on it must be destroyed first. */
UDMA_API void wd_release_queue(struct wd_queue *q);
/* size bytes of zeroed DMA memory in the queue's device ("WD memory"); NULL on failure. */
UDMA_API void *wd_reserve_memory(struct wd_queue *q, size_t size);

/*
 * IOVA of va. SVA/"va": IOVA = VA, no mapping. No-IOMMU/"pa": only VA->PA
 * conversion, for memory in the queue's device (WD memory). "iommu": maps
 * [va, va+sz) and returns its IOVA. sz == 0: translation only, no mapping.
 * NULL on failure (unknown memory, or not contiguous for sz bytes).
 */
UDMA_API void *wd_iova_map(struct wd_queue *q, void *va, size_t sz);
/* Undo wd_iova_map. No operation in the no-IOMMU and SVA modes. */
UDMA_API void wd_iova_unmap(struct wd_queue *q, void *va, void *iova, size_t sz);

/* The udma domain behind a requested queue (NULL otherwise). */
UDMA_API struct udma_domain *wd_queue_domain(struct wd_queue *q);

#ifdef __cplusplus
}
#endif
#endif
