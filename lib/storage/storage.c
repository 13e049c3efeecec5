/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Storage domains (<udma/storage.h>): the kind, its operations and its
 * creator. Addresses are byte offsets in the file; there is no local view,
 * so the mover bounces through pull/push for engines that do not take a
 * storage buffer as it is.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../memory/watch.h"
#include "storage_internal.h"

/* Zero writes, where fallocate cannot zero: this much at a time. */
#define ZERO_CHUNK (1u << 20)

/* The per-operation flags of ctx (struct udma_storage_req or NULL) in *flags. */
static int req_flags(const struct udma_domain *d, const void *ctx, uint32_t *flags)
{
	const struct udma_storage_req *r = ctx;

	*flags = 0;
	if (!r)
		return 0;
	if (r->size < sizeof(*r))
		return udma_fail(EINVAL, "%s: ctx->size %zu: set it to sizeof(struct udma_storage_req)", d->id, r->size);
	if (r->flags & ~(UDMA_STORAGE_DSYNC | UDMA_STORAGE_BOUNCE))
		return udma_fail(EINVAL, "%s: request flags %#x: only DSYNC and BOUNCE apply per operation", d->id,
				 r->flags);
	*flags = r->flags;
	return 0;
}

static int s_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
		       struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	return udma_fail(ENOTSUP, "%s: file offsets have no address in memory", src->id);
}

static int s_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		  struct iovec *dst_iov, uint32_t dst_cnt, udma_done_fn cb, void *cb_arg)
{
	uint32_t flags;
	int err = req_flags(src, src_ctx, &flags);

	if (err)
		return err;
	return op_done(cb, cb_arg, _udma_storage_rw(storage_of(src), dst_iov, dst_cnt, src_iov, src_cnt, 0, flags));
}

static int s_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		  struct iovec *src_iov, uint32_t src_cnt, udma_done_fn cb, void *cb_arg)
{
	uint32_t flags;
	int err = req_flags(dst, dst_ctx, &flags);

	if (err)
		return err;
	return op_done(cb, cb_arg, _udma_storage_rw(storage_of(dst), src_iov, src_cnt, dst_iov, dst_cnt, 1, flags));
}

/* dst is the file; src must have a local view. */
static int s_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		      struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		      struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf sv;
	uint32_t flags;
	int err = req_flags(dst, dst_ctx, &flags);

	if (err)
		return err;
	iovbuf_init(&sv);
	err = _udma_domain_local_view(src, src_iov, src_cnt, 0, &sv);
	if (!err)
		err = _udma_storage_rw(storage_of(dst), sv.v, sv.n, dst_iov, dst_cnt, 1, flags);
	_udma_iovbuf_fini(&sv);
	return op_done(cb, cb_arg, err);
}

/* Zero [off, off + len) by writing zeros (file systems without ZERO_RANGE). */
static int zero_writes(struct storage_domain *sd, uint64_t off, uint64_t len, uint32_t flags)
{
	size_t chunk = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
	void *z = NULL;
	int err = 0;

	if (posix_memalign(&z, sd->mem_align < 4096 ? 4096 : sd->mem_align, chunk))
		return udma_fail(ENOMEM, "no zero buffer of %zu bytes", chunk);
	memset(z, 0, chunk);
	for (uint64_t done = 0; done < len && !err; done += chunk) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		struct iovec m = { z, n }, f = { (void *)(uintptr_t)(off + done), n };
		err = _udma_storage_rw(sd, &m, 1, &f, 1, 1, flags);
	}
	free(z);
	return err;
}

/* O_DIRECT's rules, or with the bounce only the device's end (whole blocks around each range). */
static int check_zero(const struct storage_domain *sd, const struct iovec *iov, uint32_t cnt, int bounce)
{
	uint64_t a = sd->offset_align;
	int err = 0;

	if (!bounce)
		return _udma_storage_check(sd, iov, cnt, NULL, 0);
	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint64_t off = (uintptr_t)iov[i].iov_base, end = off + iov[i].iov_len;
		struct iovec w = { (void *)(uintptr_t)(off / a * a), (size_t)((end + a - 1) / a * a - off / a * a) };
		err = end < off ? udma_fail(ERANGE, "%s: range wraps", sd->d.id) : _udma_storage_check(sd, &w, 1, NULL, 0);
	}
	return err;
}

static int s_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt, udma_done_fn cb,
		     void *cb_arg)
{
	struct storage_domain *sd = storage_of(d);
	int mode = FALLOC_FL_ZERO_RANGE | (sd->blockdev ? FALLOC_FL_KEEP_SIZE : 0);
	uint32_t flags;
	int err = req_flags(d, ctx, &flags);

	if (err)
		return err;
	flags |= sd->flags;
	if (sd->flags & UDMA_STORAGE_READONLY)
		return udma_fail(EBADF, "%s is read-only", d->id);
	if ((err = check_zero(sd, iov, cnt, flags & UDMA_STORAGE_BOUNCE)))
		return err;
	for (uint32_t i = 0; i < cnt && !err; i++) {
		off_t off = (off_t)(uintptr_t)iov[i].iov_base, len = (off_t)iov[i].iov_len;
		if (!len || !fallocate(sd->fd, mode, off, len))
			continue;
		if (errno == EOPNOTSUPP || errno == EINVAL)
			err = zero_writes(sd, (uint64_t)off, (uint64_t)len, flags);
		else
			err = udma_fail(errno, "%s: fallocate(ZERO_RANGE, %lld, %lld): %s", d->id, (long long)off,
					(long long)len, strerror(errno));
	}
	if (!err && (flags & UDMA_STORAGE_DSYNC) && fdatasync(sd->fd))
		err = udma_fail(errno, "%s: fdatasync: %s", d->id, strerror(errno));
	return op_done(cb, cb_arg, err);
}

static void s_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt)
{
}

static const struct udma_domain_ops storage_ops = {
	.size = sizeof(struct udma_domain_ops),
	.translate = s_translate,
	.pull = s_pull,
	.push = s_push,
	.transfer = s_transfer,
	.memzero = s_memzero,
	.invalidate = s_invalidate,
};

/* Reached by a system call, as a process is: transfers out of it into
 * local memory land here. */
static int storage_access(struct udma_domain *d, const struct iovec *local, size_t lcnt, const struct iovec *iov,
			  size_t cnt, int write)
{
	return _udma_storage_rw(storage_of(d), local, lcnt, iov, cnt, write, 0);
}

static void storage_fini(struct udma_domain *d)
{
	struct storage_domain *sd = storage_of(d);

	if (sd->watching)
		_udma_mem_unwatch(_udma_storage_mem_gone, sd);
	_udma_storage_rings_fini(sd);
	if (sd->fd >= 0)
		close(sd->fd);
}

const struct domain_kind _udma_storage_kind = {
	.kind = UDMA_KIND_STORAGE,
	.ops = &storage_ops,
	.access = storage_access,
	.fini = storage_fini,
};

static int check_opts(const struct udma_storage_opts *o)
{
	if (o && o->size < sizeof(*o))
		return udma_fail(EINVAL, "opts->size %zu: set it to sizeof(struct udma_storage_opts)", o->size);
	if (o && (o->flags & ~UDMA_STORAGE_ALL_FLAGS))
		return udma_fail(EINVAL, "unknown storage flags %#x", o->flags & ~UDMA_STORAGE_ALL_FLAGS);
	if (o && o->queue_depth > 4096)
		return udma_fail(EINVAL, "queue depth %u is more than io_uring's 4096", o->queue_depth);
	return 0;
}

/* IOPOLL on a device without poll queues fails every I/O (-EOPNOTSUPP):
 * find out at creation with one block read from offset 0. */
static int iopoll_probe(struct storage_domain *sd, const char *path)
{
	void *buf = NULL;
	int err;

	if (!(sd->flags & UDMA_STORAGE_IOPOLL))
		return 0;
	if (posix_memalign(&buf, sd->mem_align < 4096 ? 4096 : sd->mem_align, sd->offset_align))
		return udma_fail(ENOMEM, "out of memory");
	struct iovec m = { buf, sd->offset_align }, f = { 0, sd->offset_align };
	err = _udma_storage_rw(sd, &m, 1, &f, 1, 0, 0);
	free(buf);
	if (err == -ENODATA) /* an empty file: nothing to learn from */
		return 0;
	if (err == -EOPNOTSUPP)
		return udma_fail(EOPNOTSUPP, "%s: the device has no poll queues for IOPOLL (NVMe: poll_queues=N)", path);
	return err;
}

/* Open, watch memory, and prove a ring can be made here. */
static int storage_setup(struct storage_domain *sd, const char *path)
{
	struct ring *r;
	int err = _udma_storage_open(sd, path);

	if (err)
		return err;
	if (!(sd->flags & UDMA_STORAGE_NO_FIXED)) {
		if (_udma_mem_watch(_udma_storage_mem_gone, sd))
			return udma_fail(ENOMEM, "out of memory");
		sd->watching = 1;
	}
	if (!(r = _udma_storage_ring_get(sd)))
		return -errno;
	_udma_storage_ring_put(sd, r, 0);
	return iopoll_probe(sd, path);
}

/* backends/uring: the engine that takes storage buffers without a bounce. */
UDMA_HIDDEN void _udma_builtin_uring_register(void);

static pthread_once_t uring_once = PTHREAD_ONCE_INIT;

struct udma_domain *udma_storage_domain_create(const char *path, const struct udma_storage_opts *opts)
{
	struct storage_domain *sd;
	char name[32];
	int err;

	if (!path || (err = check_opts(opts)))
		return udma_fail_null(path ? -err : EINVAL, "NULL path or bad options");
	if (!(sd = calloc(1, sizeof(*sd))))
		return udma_fail_null(ENOMEM, "out of memory");
	sd->fd = -1;
	sd->flags = opts ? opts->flags : 0;
	sd->qd = opts && opts->queue_depth ? opts->queue_depth : 32;
	sd->no_fixed = !!(sd->flags & UDMA_STORAGE_NO_FIXED);
	snprintf(name, sizeof(name), "storage-%p", (void *)sd);
	err = _udma_domain_init(&sd->d, &_udma_storage_kind, UDMA_DEV_DMA, opts && opts->id ? opts->id : name);
	if (err) {
		free(sd);
		return udma_fail_null(-err, "bad id");
	}
	if ((err = storage_setup(sd, path)) || (err = _udma_domain_publish(&sd->d))) {
		_udma_domain_free(&sd->d);
		errno = -err;
		return NULL;
	}
	pthread_once(&uring_once, _udma_builtin_uring_register);
	return &sd->d;
}

int udma_storage_info(struct udma_domain *d, struct udma_storage_info *out)
{
	if (!d || d->k != &_udma_storage_kind || !out || out->size < sizeof(*out))
		return udma_fail(EINVAL, "not a storage domain, or NULL/small info");
	struct storage_domain *sd = storage_of(d);
	struct stat st;

	*out = (struct udma_storage_info){ .size = sizeof(*out) };
	out->capacity = sd->blockdev ? sd->bdev_size : (!fstat(sd->fd, &st) ? (uint64_t)st.st_size : 0);
	out->offset_align = sd->offset_align;
	out->mem_align = sd->mem_align;
	out->block_device = sd->blockdev;
	out->fixed_disabled = __atomic_load_n(&sd->no_fixed, __ATOMIC_RELAXED);
	out->fixed_ios = __atomic_load_n(&sd->fixed_ios, __ATOMIC_RELAXED);
	out->plain_ios = __atomic_load_n(&sd->plain_ios, __ATOMIC_RELAXED);
	out->short_ios = __atomic_load_n(&sd->short_ios, __ATOMIC_RELAXED);
	out->rings = __atomic_load_n(&sd->rings, __ATOMIC_RELAXED);
	return 0;
}
