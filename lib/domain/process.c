/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Process domains: another process's memory through process_vm_readv/writev.
 * The domain holds a pidfd for the process it was created for: every access
 * checks it before and after the system call, so once that process has
 * exited every operation is -ESRCH, and a new process given the same pid is
 * never read or written through the domain.
 */
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/check.h"
#include "domain_internal.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct process_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	pid_t pid;
	int pidfd;            /* readable once the process has exited */
};

static const struct domain_kind process_kind;

static pid_t pid_of(const struct udma_domain *d)
{
	UDMA_ASSERT(d->k == &process_kind);
	return ((const struct process_domain *)d)->pid;
}

/*
 * Move bytes between local and remote iovecs, pairing equal-sized pieces,
 * at most IOV_MAX pairs a call (the kernel's limit per array).
 */
/* The process this domain was made for has exited (its pid may be another's now). */
static int process_gone(const struct udma_domain *d)
{
	struct pollfd p = { .fd = ((const struct process_domain *)d)->pidfd, .events = POLLIN };
	return poll(&p, 1, 0) != 0; /* an error counts as gone: touch nothing */
}

static int process_rw_pid(pid_t pid, const struct iovec *local, size_t lcnt, const struct iovec *remote, size_t rcnt,
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

/* The same on domain d, never on a process other than the one it was made for. */
static int process_rw(const struct udma_domain *d, const struct iovec *local, size_t lcnt,
		      const struct iovec *remote, size_t rcnt, int write)
{
	if (process_gone(d))
		return udma_fail(ESRCH, "process %d of domain %s has exited", (int)pid_of(d), d->id);
	int err = process_rw_pid(pid_of(d), local, lcnt, remote, rcnt, write);
	/* it may have exited during the call, and its pid gone to another */
	if (process_gone(d))
		return udma_fail(ESRCH, "process %d of domain %s exited during the transfer", (int)pid_of(d), d->id);
	return err;
}

static int p_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
		       struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	return udma_fail(ENOTSUP, "another process's memory has no address here (%s)", src->id);
}

static int p_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		  struct iovec *dst_iov, uint32_t dst_cnt, udma_done_fn cb, void *cb_arg)
{
	return op_done(cb, cb_arg, process_rw(src, dst_iov, dst_cnt, src_iov, src_cnt, 0));
}

static int p_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		  struct iovec *src_iov, uint32_t src_cnt, udma_done_fn cb, void *cb_arg)
{
	return op_done(cb, cb_arg, process_rw(dst, src_iov, src_cnt, dst_iov, dst_cnt, 1));
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
			err = process_rw(d, &l, 1, &r, 1, 1);
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
		err = process_rw(dst, sv.v, sv.n, dst_iov, dst_cnt, 1);
	_udma_iovbuf_fini(&sv);
	return op_done(cb, cb_arg, err);
}

static void p_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt)
{
}

static const struct udma_domain_ops process_ops = {
	.size = sizeof(struct udma_domain_ops),
	.translate = p_translate,
	.pull = p_pull,
	.push = p_push,
	.transfer = p_transfer,
	.memzero = p_memzero,
	.invalidate = p_invalidate,
};

static int process_access(struct udma_domain *d, const struct iovec *local, size_t lcnt, const struct iovec *iov,
			  size_t cnt, int write)
{
	return process_rw(d, local, lcnt, iov, cnt, write);
}

static void process_fini(struct udma_domain *d)
{
	struct process_domain *p = (struct process_domain *)d;
	if (p->pidfd >= 0)
		close(p->pidfd);
}

static const struct domain_kind process_kind = {
	.kind = UDMA_KIND_PROCESS,
	.ops = &process_ops,
	.access = process_access,
	.fini = process_fini,
};

struct udma_domain *udma_process_domain_create(pid_t pid, const char *id)
{
	char name[32];
	struct process_domain *p;
	int err;

	if (pid <= 0)
		return udma_fail_null(EINVAL, "bad pid %d", (int)pid);
	snprintf(name, sizeof(name), "pid-%d", (int)pid);
	p = calloc(1, sizeof(*p));
	if (!p)
		return udma_fail_null(ENOMEM, "out of memory");
	err = _udma_domain_init(&p->d, &process_kind, UDMA_DEV_DMA, id ? id : name);
	if (err) {
		free(p);
		return udma_fail_null(-err, "bad id");
	}
	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0) {
		err = errno;
		_udma_domain_free(&p->d);
		return udma_fail_null(err, err == ESRCH ? "no process %d" : "pidfd_open(%d): %s (Linux >= 5.3 needed)",
				      (int)pid, strerror(err));
	}
	if (_udma_domain_publish(&p->d)) {
		_udma_domain_free(&p->d);
		errno = ENOMEM;
		return NULL;
	}
	return &p->d;
}

pid_t udma_process_domain_pid(struct udma_domain *d)
{
	return d && d->k == &process_kind ? pid_of(d) : -1;
}
