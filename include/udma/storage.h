/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Storage domains: a file or a block device as a domain. Its addresses are
 * byte offsets in the file (iov_base = (void *)offset); it has no view in
 * this process's memory. udma_domain_pull() reads into memory, push()
 * writes from it, memzero() zeroes a range (fallocate, or zero writes where
 * the file system cannot), transfer() into it writes from any domain with a
 * local view. All of them complete before returning, like every built-in
 * domain's (docs/storage.md).
 *
 * I/O is direct (O_DIRECT) through io_uring: the device DMAs into the
 * caller's memory. Its rules are checked before anything is submitted, and
 * breaking one is -EINVAL with the rule in the debug log line:
 *   - file offsets and every length are multiples of offset_align;
 *   - every memory address is a multiple of mem_align.
 * Both come from the device (statx STATX_DIOALIGN, else BLKSSZGET for a
 * block device or the file system's block size) and udma_storage_info()
 * reports them. A file system without O_DIRECT (tmpfs) is refused at
 * creation with -EINVAL. Pool blocks always qualify when the pool's align
 * is a multiple of mem_align and its block_size one of offset_align.
 *
 * Only when the caller asks (UDMA_STORAGE_BOUNCE, on the domain or on one
 * operation) does an operation that breaks a rule go through an aligned
 * buffer instead: reads read the enclosing blocks, writes read the partial
 * blocks at either end, merge and write whole blocks (not atomic against
 * another writer of those blocks), and a file grows only to the write's end.
 *
 * DMA memory (udma_mem_alloc() memory and pool segments, udma_mem_register()
 * memory, of any device domain) is registered with each ring as a fixed
 * buffer the first time it is used, and any sub-range of it is read or
 * written with READ_FIXED/WRITE_FIXED; it is let go when the memory is
 * freed or unregistered. Other memory works too, through plain reads and
 * writes, and is counted (udma_storage_info). If RLIMIT_MEMLOCK is too small
 * to register, the domain warns once and goes on unregistered.
 *
 * Failures: a short read or write is continued where it stopped; a read
 * that meets the end of the file is -ENODATA, logged with the bytes moved.
 * An error from the device (-EIO, -ENOSPC, ...) fails the operation whose
 * I/O it hit, after all of that operation's I/O has completed; other
 * operations, on this and other threads, are not affected.
 *
 * Thread safety: any thread, concurrently; each operation takes a ring of
 * its own from the domain's set (created as needed).
 */
#ifndef UDMA_STORAGE_H
#define UDMA_STORAGE_H

#include <udma/core.h>
#include <udma/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDMA_STORAGE_DSYNC    (1u << 0) /* writes complete only once on stable storage (RWF_DSYNC) */
#define UDMA_STORAGE_READONLY (1u << 1) /* open read-only: push, transfer and memzero are -EBADF */
#define UDMA_STORAGE_NO_FIXED (1u << 2) /* never register memory with io_uring (for comparison) */
#define UDMA_STORAGE_SQPOLL   (1u << 3) /* a kernel thread per ring takes submissions (no system call per batch) */
#define UDMA_STORAGE_IOPOLL   (1u << 4) /* completions polled from the device: needs poll queues
					 * (NVMe poll_queues=N); refused with -EOPNOTSUPP where there are none */
#define UDMA_STORAGE_BOUNCE   (1u << 5) /* requests that break O_DIRECT's rules go through an aligned
					 * buffer of udma's instead of failing (docs/storage.md, "Bounce") */
#define UDMA_STORAGE_ALL_FLAGS 0x3fu

/* Options of a storage domain. Zero-initialise, then set size. */
struct udma_storage_opts {
	size_t size;           /* sizeof(struct udma_storage_opts) */
	const char *id;        /* copied; NULL gives "storage-<address>" */
	uint32_t flags;        /* UDMA_STORAGE_*; unknown bits: -EINVAL */
	uint32_t queue_depth;  /* I/Os in flight per operation; 0 gives 32 */
};

/*
 * A storage domain on path, a regular file or a block device that exists.
 * NULL opts: defaults. NULL + errno: EINVAL (bad opts; not a regular file or
 * block device; O_DIRECT refused, as on tmpfs), ENOENT, EACCES, ENOMEM, or
 * what io_uring_queue_init() gave (ENOSYS without io_uring).
 */
UDMA_API struct udma_domain *udma_storage_domain_create(const char *path, const struct udma_storage_opts *opts);

/* Per-operation options: pass as the ctx argument of pull, push, transfer
 * or memzero on a storage domain, or as a mover buffer's domain_ctx (NULL:
 * the domain's defaults). Other flags: -EINVAL. */
struct udma_storage_req {
	size_t size;           /* sizeof(struct udma_storage_req) */
	uint32_t flags;        /* UDMA_STORAGE_DSYNC: this write is durable;
				* UDMA_STORAGE_BOUNCE: this operation may break the rules */
};

struct udma_storage_info {
	size_t size;            /* set by the caller: sizeof(struct udma_storage_info) */
	uint64_t capacity;      /* bytes: the block device's size or the file's now */
	uint32_t offset_align;  /* file offsets and lengths: multiples of this */
	uint32_t mem_align;     /* memory addresses: multiples of this */
	int block_device;       /* 1 for a block device */
	int fixed_disabled;     /* registration refused (RLIMIT_MEMLOCK): all I/O unregistered */
	uint64_t fixed_ios;     /* I/Os submitted as READ_FIXED/WRITE_FIXED */
	uint64_t plain_ios;     /* I/Os on unregistered memory */
	uint64_t short_ios;     /* short I/Os continued */
	uint64_t rings;         /* io_uring instances created */
};

/* Describe a storage domain: 0, or -EINVAL (NULL, small size, other kind). */
UDMA_API int udma_storage_info(struct udma_domain *d, struct udma_storage_info *out);

#ifdef __cplusplus
}
#endif
#endif
