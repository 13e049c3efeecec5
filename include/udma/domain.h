/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma domains: address spaces some engine can reach.
 *
 * A domain is one of:
 *   system   host memory as this process sees it (exists from library load)
 *   device   the addresses a DMA engine sees: VA, PA or IOMMU mode (below)
 *   shm      a memfd segment several processes map; addresses are offsets
 *   process  another process's memory, reached with process_vm_readv/writev
 *   custom   anything else, with the caller's callbacks (SPDK's model)
 *   storage  a file or block device; addresses are byte offsets (<udma/storage.h>)
 *
 * Every domain has an id, a DMA device type, an optional copied user
 * context, and six operations: translate, pull, push, transfer, memzero,
 * invalidate. Built-in domains implement them all where they make sense;
 * an unset operation returns -ENOTSUP (invalidate: nothing).
 *
 * Lifetime: domains are reference counted. udma_domain_destroy() takes the
 * domain out of iteration at once and frees it when the last reference
 * (udma_domain_get/first/next) is put; operations on a destroyed domain
 * return -ENODEV. The system domain cannot be destroyed.
 *
 * Stale handles: udma_domain_destroy() and the six operations (translate,
 * pull, push, transfer, memzero, invalidate) check the handle against the
 * live domains first, so a second destroy, or an operation on a domain
 * that is destroyed and already freed, returns -EINVAL (-ENODEV while some
 * reference keeps it). The fast paths do not check (translation, memory,
 * getters, get/put): calling them with a freed domain is undefined.
 *
 * Device-domain address modes:
 *   VA     the device address is the process virtual address (SVA, or an
 *          IOMMU programmed 1:1). Always available.
 *   PA     the device address is the physical address read from
 *          /proc/self/pagemap. Needs CAP_SYS_ADMIN; memory is pinned and,
 *          where possible, hugepage-backed so pages stay put. Pinned
 *          private memory is not inherited by fork() children
 *          (MADV_DONTFORK): the parent's pages must not move under the
 *          device when copy-on-write would split them.
 *   IOMMU  the device address is an IOVA chosen by the domain's own IOVA
 *          allocator. With a VFIO type1 container the mappings go to the
 *          kernel; without one the IOMMU is emulated: software engines turn
 *          IOVAs back into VAs through the domain, and a VA passed where an
 *          IOVA is due fails loudly.
 *
 * Thread safety: every function here may be called from any thread.
 * Translation (see memory.h) is lock-free; changes are serialised per domain.
 */
#ifndef UDMA_DOMAIN_H
#define UDMA_DOMAIN_H

#include <sys/types.h>
#include <sys/uio.h>
#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_domain;

enum udma_addr_mode {
	UDMA_ADDR_VA = 0,
	UDMA_ADDR_PA = 1,
	UDMA_ADDR_IOMMU = 2,
};

/* Options for a device domain. Zero-initialise, then set size. */
struct udma_device_opts {
	size_t size;             /* sizeof(struct udma_device_opts) */
	enum udma_addr_mode mode;
	const char *name;        /* copied; NULL gives "dev-<mode>"; at most 63 bytes */
	/* IOMMU mode only. A VFIO type1 container fd (VFIO_SET_IOMMU done) to
	 * program, or -1 to emulate. The domain does not close it. */
	int vfio_container_fd;
	uint64_t iova_base;      /* IOMMU mode: IOVA window; 0,0 = default window */
	uint64_t iova_size;
};

/*
 * Create a device domain. NULL opts means VA mode with defaults.
 * Errors (NULL + errno): EINVAL bad opts or unknown mode; EPERM PA mode
 * without the privilege to read physical addresses; ENOMEM.
 */
UDMA_API struct udma_domain *udma_device_domain_create(const struct udma_device_opts *opts);

/*
 * Destroy a domain: it leaves iteration at once and is freed when the last
 * reference is put. -EBUSY (and the domain stays usable) while memory is
 * still allocated, registered or stream-mapped in it; -EPERM for the system
 * domain; -EINVAL for NULL or a domain already destroyed (freed or not).
 */
UDMA_API int udma_domain_destroy(struct udma_domain *d);

/* Address mode of a device domain (VA for other kinds). */
UDMA_API enum udma_addr_mode udma_domain_mode(const struct udma_domain *d);

/* "va", "pa", "iommu"; NULL for an unknown mode. */
UDMA_API const char *udma_mode_name(enum udma_addr_mode mode);

/*
 * Can a domain of this mode be created here? 0 if so, else a negative
 * errno, with the reason written to why (if not NULL).
 */
UDMA_API int udma_mode_probe(enum udma_addr_mode mode, char *why, size_t whylen);

/* ---- every domain ------------------------------------------------------ */

/* Who can access a domain's memory; the values of SPDK's spdk_dma_device_type. */
enum udma_dev_type {
	UDMA_DEV_RDMA = 0,
	UDMA_DEV_DMA = 1,
	UDMA_DEV_ACCEL = 2,
	UDMA_DEV_VENDOR_START = 1000,
	UDMA_DEV_VENDOR_END = 1999,
};

/* Who implements a domain. */
enum udma_domain_kind {
	UDMA_KIND_SYSTEM = 0,
	UDMA_KIND_DEVICE = 1,
	UDMA_KIND_SHM = 2,
	UDMA_KIND_PROCESS = 3,
	UDMA_KIND_REMOTE = 4,
	UDMA_KIND_CUSTOM = 5,
	UDMA_KIND_STORAGE = 6,
};

#define UDMA_DOMAIN_ID_MAX 255 /* bytes, without the NUL */

/* User context, copied at creation (user_ctx_size bytes of user_ctx). */
struct udma_domain_ctx {
	size_t size;          /* sizeof(struct udma_domain_ctx) */
	void *user_ctx;
	size_t user_ctx_size;
};

/* Ancillary data for the destination of a translation. */
struct udma_xlate_ctx {
	size_t size;
	union {
		struct {
			void *ibv_qp;
		} rdma;
	};
};

/* Result of a translation: one iov, or iov_count > 1 iovs (owned by the
 * translating thread until its next translation or udma_domain_invalidate). */
struct udma_xlate_result {
	size_t size;          /* set by the caller: sizeof(struct udma_xlate_result) */
	uint32_t iov_count;
	struct iovec iov;     /* valid when iov_count == 1 */
	struct iovec *iovs;   /* valid when iov_count > 1 */
	struct udma_domain *dst_domain;
	union {
		struct {
			uint32_t lkey;
			uint32_t rkey;
		} rdma;
		uint64_t key; /* fabric domains: the remote key */
	};
};

/* Completion of an asynchronous operation: 0 or a negative errno. */
typedef void (*udma_done_fn)(void *arg, int status);

/* The six operations. Those that complete later must call cb only when they
 * returned 0; any other return means failure and cb is never called. */
typedef int (*udma_translate_fn)(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
				 struct udma_xlate_ctx *dst_ctx, void *addr, size_t len,
				 struct udma_xlate_result *result);
typedef int (*udma_pull_fn)(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_iovcnt,
			    struct iovec *dst_iov, uint32_t dst_iovcnt, udma_done_fn cb, void *cb_arg);
typedef int (*udma_push_fn)(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_iovcnt,
			    struct iovec *src_iov, uint32_t src_iovcnt, udma_done_fn cb, void *cb_arg);
typedef int (*udma_transfer_fn)(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov,
				uint32_t dst_iovcnt, struct udma_domain *src, void *src_ctx,
				struct iovec *src_iov, uint32_t src_iovcnt, struct udma_xlate_result *src_xlate,
				udma_done_fn cb, void *cb_arg);
typedef int (*udma_memzero_fn)(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt,
			       udma_done_fn cb, void *cb_arg);
typedef void (*udma_invalidate_fn)(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt);

struct udma_domain_ops {
	size_t size; /* sizeof(struct udma_domain_ops) */
	udma_translate_fn translate;
	udma_pull_fn pull;
	udma_push_fn push;
	udma_transfer_fn transfer;
	udma_memzero_fn memzero;
	udma_invalidate_fn invalidate;
};

struct udma_domain_opts {
	size_t size;                        /* sizeof(struct udma_domain_opts) */
	enum udma_dev_type dev_type;        /* RDMA, DMA, ACCEL or 1000..1999 */
	const char *id;                     /* copied; 1..UDMA_DOMAIN_ID_MAX bytes */
	const struct udma_domain_ctx *ctx;  /* optional; copied */
	const struct udma_domain_ops *ops;  /* optional; copied */
};

/* A custom domain. 0, or -EINVAL (bad opts, NULL/empty/long id, unknown type), -ENOMEM. */
UDMA_API int udma_domain_create(struct udma_domain **out, const struct udma_domain_opts *opts);

/* Replace one operation of a custom domain (NULL unsets it). -EINVAL for
 * NULL; -EPERM for built-in domains, whose operations are fixed. */
UDMA_API int udma_domain_set_translate(struct udma_domain *d, udma_translate_fn fn);
UDMA_API int udma_domain_set_pull(struct udma_domain *d, udma_pull_fn fn);
UDMA_API int udma_domain_set_push(struct udma_domain *d, udma_push_fn fn);
UDMA_API int udma_domain_set_transfer(struct udma_domain *d, udma_transfer_fn fn);
UDMA_API int udma_domain_set_memzero(struct udma_domain *d, udma_memzero_fn fn);
UDMA_API int udma_domain_set_invalidate(struct udma_domain *d, udma_invalidate_fn fn);

UDMA_API const char *udma_domain_id(const struct udma_domain *d);
UDMA_API enum udma_dev_type udma_domain_dev_type(const struct udma_domain *d);
UDMA_API enum udma_domain_kind udma_domain_kind(const struct udma_domain *d);
/* The copied context (NULL if created without one). */
UDMA_API struct udma_domain_ctx *udma_domain_ctx(struct udma_domain *d);
/* The private copy of the user context and its size; NULL if none. */
UDMA_API void *udma_domain_user_ctx(struct udma_domain *d, size_t *size);

/* Host memory as this process sees it. Never NULL; never destroyed. */
UDMA_API struct udma_domain *udma_system_domain(void);

/*
 * Iteration, filtered by id when id is not NULL; the system domain comes
 * first. Each returned domain carries a reference; next() puts prev's.
 * Stop early with udma_domain_put(). Safe while other threads create and
 * destroy domains: a destroyed domain is never returned.
 */
UDMA_API struct udma_domain *udma_domain_first(const char *id);
UDMA_API struct udma_domain *udma_domain_next(struct udma_domain *prev, const char *id);
UDMA_API struct udma_domain *udma_domain_get(struct udma_domain *d);
UDMA_API void udma_domain_put(struct udma_domain *d);

/*
 * Operations. Arguments are checked at run time: NULL domains or arrays, a
 * zero count, lengths that overflow: -EINVAL; a destroyed domain: -ENODEV;
 * an operation the domain lacks: -ENOTSUP. Built-in domains complete before
 * returning (cb runs in the caller's thread, then 0 is returned).
 */
UDMA_API int udma_domain_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
				   struct udma_xlate_ctx *dst_ctx, void *addr, size_t len,
				   struct udma_xlate_result *result);
/* src (in src's space) -> dst_iov (local memory, at least as long). */
UDMA_API int udma_domain_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov,
			      uint32_t src_iovcnt, struct iovec *dst_iov, uint32_t dst_iovcnt,
			      udma_done_fn cb, void *cb_arg);
/* src_iov (local memory) -> dst (in dst's space, at least as long). */
UDMA_API int udma_domain_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov,
			      uint32_t dst_iovcnt, struct iovec *src_iov, uint32_t src_iovcnt,
			      udma_done_fn cb, void *cb_arg);
/* src (in src's space) -> dst (in dst's space); dispatched to dst's transfer. */
UDMA_API int udma_domain_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov,
				  uint32_t dst_iovcnt, struct udma_domain *src, void *src_ctx,
				  struct iovec *src_iov, uint32_t src_iovcnt,
				  struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg);
UDMA_API int udma_domain_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt,
				 udma_done_fn cb, void *cb_arg);
UDMA_API void udma_domain_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t iovcnt);

/* ---- shared-memory domains --------------------------------------------- */
/*
 * A memfd segment mapped by several processes. Addresses in it are byte
 * offsets (iov_base = (void *)offset); every access is bounds-checked
 * (-ERANGE outside). Translating shm -> system gives this process's VA of an
 * offset; system -> shm gives the offset of a VA inside the local mapping.
 */
#define UDMA_SHM_HUGE_2M (1u << 0) /* back with 2 MiB hugepages */

/*
 * Memory in a segment: the segment is the arena of udma_mem_alloc() and
 * udma_pool_create() on the domain (first fit, page-granular, zeroed). The
 * device address of such memory (udma_mem.iova, udma_pool_iova()) is its
 * offset in the segment: send it to the peer, which finds the same bytes
 * with udma_iova_to_va(its imported domain, offset, &len). Only the
 * segment's creator allocates (the table of allocations is its own); in an
 * imported segment udma_mem_alloc() is -EPERM. udma_va_to_iova() and
 * udma_iova_to_va() work for every byte of the segment, allocated or not.
 * A segment with allocations in it refuses udma_domain_destroy() (-EBUSY).
 *
 * One allocation to share instead of a segment: UDMA_MEM_SHARED in a device
 * domain (<udma/memory.h>) gives its memfd; send it yourself (SCM_RIGHTS).
 * The peer imports it with udma_shm_import_fd() (a segment: offsets in the
 * allocation), or maps it (mmap MAP_SHARED) and registers it in a device
 * domain of its own (that domain's addresses).
 */

/* Create a segment of size bytes (rounded up to pages), mapped read-write here. */
UDMA_API struct udma_domain *udma_shm_create(const char *id, size_t size, uint32_t flags);
/* This process's mapping of the segment. */
UDMA_API void *udma_shm_base(struct udma_domain *d, size_t *size);
/* 1 if this process's mapping is read-only. */
UDMA_API int udma_shm_readonly(struct udma_domain *d);
/*
 * Send the segment over a connected Unix socket (SCM_RIGHTS). A read-only
 * export seals the segment against any new writable mapping (existing ones,
 * such as the creator's, keep writing), so the importer cannot regain write
 * access; after that, read-write exports fail with -EPERM.
 */
UDMA_API int udma_shm_export(struct udma_domain *d, int sock, int readonly);
/* Receive a segment sent by udma_shm_export(); waits at most timeout_ms
 * (-1: forever). NULL + errno: EBADF (sock < 0), ETIMEDOUT, ECONNRESET (peer
 * gone), EPROTO (a malformed header, or an fd that is not a memfd sealed
 * against shrinking — and against writes, for a read-only segment — which
 * its sender could truncate under us). */
UDMA_API struct udma_domain *udma_shm_import(int sock, int timeout_ms);
/*
 * A segment from a memfd that reached this process some other way: the fd of
 * a UDMA_MEM_SHARED allocation (udma_mem.fd) that its owner sent over a
 * Unix socket, for one. The fd is duplicated (the caller keeps and closes
 * its own) and mapped read-write, or read-only if the fd was opened so;
 * addresses are offsets in it, as in any segment, and, as in any imported
 * segment, udma_mem_alloc() in it is -EPERM. NULL + errno: EBADF (fd < 0
 * or closed), EINVAL (bad id), EPROTO (not a memfd sealed against
 * shrinking, which its owner could truncate under us; udma seals the
 * memfds it makes), ENOMEM.
 */
UDMA_API struct udma_domain *udma_shm_import_fd(int fd, const char *id);

/* ---- process domains ---------------------------------------------------- */
/*
 * Another process's memory: addresses are its VAs. pull/push/memzero/
 * transfer go through process_vm_readv/writev, split at IOV_MAX; errors
 * -EPERM (no ptrace permission), -ESRCH (process gone), -EFAULT (bad or
 * partly unmapped remote range). Translation is not possible (-ENOTSUP).
 * The domain holds the process itself (a pidfd), not its pid: once that
 * process has exited every operation is -ESRCH, even when the pid has gone
 * to another process. NULL + errno ESRCH if pid does not exist.
 */
UDMA_API struct udma_domain *udma_process_domain_create(pid_t pid, const char *id);
UDMA_API pid_t udma_process_domain_pid(struct udma_domain *d);

#ifdef __cplusplus
}
#endif
#endif
