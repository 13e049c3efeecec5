/* SPDX-License-Identifier: BSD-3-Clause */
/* Process domains: another process's memory through process_vm_readv/writev. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "domain_internal.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/*
 * Move bytes between local and remote iovecs, pairing equal-sized pieces,
 * at most IOV_MAX pairs a call (the kernel's limit per array).
 */
int process_rw(pid_t pid, const struct iovec *local, size_t lcnt, const struct iovec *remote, size_t rcnt,
	       int write)
{
	static __thread struct iovec lv[IOV_MAX], rv[IOV_MAX];
	size_t li = 0, ri = 0, loff = 0, roff = 0;

	while (li < lcnt && ri < rcnt) {
		size_t n = 0, want = 0;
		while (n < IOV_MAX && li < lcnt && ri < rcnt) {
			size_t ll = local[li].iov_len - loff, rl = remote[ri].iov_len - roff;
			size_t k = ll < rl ? ll : rl;
			if (k) {
				lv[n] = (struct iovec){ (char *)local[li].iov_base + loff, k };
				rv[n] = (struct iovec){ (char *)remote[ri].iov_base + roff, k };
				n++, want += k;
			}
			loff += k, roff += k;
			if (loff == local[li].iov_len)
				li++, loff = 0;
			if (roff == remote[ri].iov_len)
				ri++, roff = 0;
		}
		if (!n)
			break;
		ssize_t got = write ? process_vm_writev(pid, lv, n, rv, n, 0) : process_vm_readv(pid, lv, n, rv, n, 0);
		if (got < 0)
			return udma_fail(errno, "process_vm_%s pid %d: %s", write ? "writev" : "readv", (int)pid,
					 strerror(errno));
		if ((size_t)got != want)
			return udma_fail(EFAULT, "pid %d: only %zd of %zu bytes moved (remote range unmapped?)",
					 (int)pid, got, want);
	}
	return 0;
}

static int p_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
		       struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	return udma_fail(ENOTSUP, "another process's memory has no address here (%s)", src->id);
}

static int p_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		  struct iovec *dst_iov, uint32_t dst_cnt, udma_done_fn cb, void *cb_arg)
{
	return op_done(cb, cb_arg, process_rw(src->pid, dst_iov, dst_cnt, src_iov, src_cnt, 0));
}

static int p_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		  struct iovec *src_iov, uint32_t src_cnt, udma_done_fn cb, void *cb_arg)
{
	return op_done(cb, cb_arg, process_rw(dst->pid, src_iov, src_cnt, dst_iov, dst_cnt, 1));
}

static int p_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt, udma_done_fn cb,
		     void *cb_arg)
{
	static const char zeros[65536];
	int err = 0;

	/* Write a local block of zeros over each target range, a block at a time. */
	for (uint32_t i = 0; i < cnt && !err; i++)
		for (size_t off = 0; off < iov[i].iov_len && !err; off += sizeof(zeros)) {
			size_t n = iov[i].iov_len - off < sizeof(zeros) ? iov[i].iov_len - off : sizeof(zeros);
			struct iovec l = { (void *)zeros, n }, r = { (char *)iov[i].iov_base + off, n };
			err = process_rw(d->pid, &l, 1, &r, 1, 1);
		}
	return op_done(cb, cb_arg, err);
}

/* dst is the process; src must have a local view. */
static int p_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		      struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		      struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	struct iovbuf sv;
	int err;

	iovbuf_init(&sv);
	err = _udma_domain_local_view(src, src_iov, src_cnt, 0, &sv);
	if (!err)
		err = process_rw(dst->pid, sv.v, sv.n, dst_iov, dst_cnt, 1);
	_udma_iovbuf_fini(&sv);
	return op_done(cb, cb_arg, err);
}

static void p_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt)
{
}

const struct udma_domain_ops process_ops = {
	.size = sizeof(struct udma_domain_ops),
	.translate = p_translate,
	.pull = p_pull,
	.push = p_push,
	.transfer = p_transfer,
	.memzero = p_memzero,
	.invalidate = p_invalidate,
};

struct udma_domain *udma_process_domain_create(pid_t pid, const char *id)
{
	char name[32];
	struct udma_domain *d;
	int err;

	if (pid <= 0)
		return udma_fail_null(EINVAL, "bad pid %d", (int)pid);
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return udma_fail_null(ESRCH, "no process %d", (int)pid);
	snprintf(name, sizeof(name), "pid-%d", (int)pid);
	d = calloc(1, sizeof(*d));
	if (!d)
		return udma_fail_null(ENOMEM, "out of memory");
	err = _udma_domain_init(d, UDMA_KIND_PROCESS, UDMA_DEV_DMA, id ? id : name);
	if (err) {
		free(d);
		return udma_fail_null(-err, "bad id");
	}
	d->pid = pid;
	d->ops = process_ops;
	d->builtin = 1;
	_udma_domain_publish(d);
	return d;
}

pid_t udma_process_domain_pid(struct udma_domain *d)
{
	return d && d->kind == UDMA_KIND_PROCESS ? d->pid : -1;
}
