/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote domains: a peer's exported region, imported from its descriptor.
 * Addresses are byte offsets in the region. pull is fi_read, push and
 * memzero are fi_write, transfer writes from a local view of the source
 * (or stages a remote or process source through local memory first).
 *
 * The kind is built-in (its operations are fixed: setters say -EPERM), but
 * unlike the other built-in kinds its operations may complete later, on
 * the progress thread. The dispatcher (lib/domain/ops.c) releases its
 * reference on a built-in domain as soon as the operation returns, so an
 * asynchronous operation takes a reference of its own and puts it after
 * the callback: a domain destroyed meanwhile is freed only after its last
 * completion. Being built-in also spares each operation the dispatcher's
 * allocated wrapper, which custom domains need.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/domain_internal.h"
#include "fabric_internal.h"

/* A local buffer of zeros, for memzero (writable memory: FI_MR_LOCAL providers register it). */
static char zeros[64 << 10];

/* A remote domain: a peer's region. */
struct remote_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	struct fab_remote *rm;
};

static const struct domain_kind remote_kind;

struct fab_remote *_udma_fab_remote_of(struct udma_domain *d, struct udma_fabric *fab)
{
	if (!d || d->k != &remote_kind)
		return NULL;
	struct fab_remote *rm = ((struct remote_domain *)d)->rm;
	return rm && (!fab || rm->fab == fab) ? rm : NULL;
}

int _udma_fab_remote_check(const struct fab_remote *rm, const struct iovec *iov, uint32_t cnt, int write)
{
	uint32_t need = write ? UDMA_FABRIC_WRITE : UDMA_FABRIC_READ;

	if (!(rm->desc.rights & need))
		return udma_fail(EACCES, "the region (key 0x%llx) was exported without the right to %s",
				 (unsigned long long)rm->desc.key, write ? "write" : "read");
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t off = (uintptr_t)iov[i].iov_base, len = iov[i].iov_len;
		if (off > rm->desc.len || len > rm->desc.len - off)
			return udma_fail(ERANGE, "[%llu, +%llu) is outside the remote region of %llu bytes",
					 (unsigned long long)off, (unsigned long long)len,
					 (unsigned long long)rm->desc.len);
	}
	return 0;
}

int _udma_fab_req_add_pairs(struct fab_req *r, int write, const struct iovec *local, uint32_t lcnt,
		      const struct fab_remote *rm, const struct iovec *remote, uint32_t rcnt)
{
	size_t li = 0, ri = 0, loff = 0, roff = 0, desc_of = SIZE_MAX;
	void *ldesc = NULL;
	int err = 0;

	while (li < lcnt && ri < rcnt && !err) {
		size_t ll = local[li].iov_len - loff, rl = remote[ri].iov_len - roff;
		size_t k = ll < rl ? ll : rl;
		if (k) {
			if (desc_of != li) { /* one registration per local iovec */
				if ((err = _udma_fab_local_desc(r, local[li].iov_base, local[li].iov_len, &ldesc)))
					break;
				desc_of = li;
			}
			err = _udma_fab_req_add(r, write, (char *)local[li].iov_base + loff, k, ldesc, rm->peer,
					  rm->desc.base + (uintptr_t)remote[ri].iov_base + roff, rm->desc.key);
		}
		loff += k;
		roff += k;
		if (loff == local[li].iov_len)
			li++, loff = 0;
		if (roff == remote[ri].iov_len)
			ri++, roff = 0;
	}
	return err;
}

/* ---- one domain operation ------------------------------------------------------------- */

struct rop {
	struct fab_req r;
	struct udma_domain *d;       /* referenced while asynchronous */
	struct udma_domain *src;     /* transfer from a remote domain: referenced too */
	udma_done_fn cb;
	void *arg;
	int sync;
	int flag;                    /* sync: set when done */
	void *staging;               /* transfer through local memory */
	size_t staging_len;
	/* transfer from remote: the push that follows the pull */
	struct fab_remote *push_rm;
	struct iovec *push_iov;
	uint32_t push_cnt;
};

static void rop_free(struct rop *o)
{
	free(o->staging);
	free(o->push_iov);
	free(o);
}

static void rop_done(struct fab_req *r);

/* Second half of a transfer from a remote domain: the staged bytes go out. */
static int rop_push_staged(struct rop *o)
{
	struct iovec l = { o->staging, o->staging_len };
	int err;

	_udma_fab_req_init(&o->r, o->push_rm->fab, rop_done);
	o->r.defer = !o->sync;
	err = _udma_fab_req_add_pairs(&o->r, 1, &l, 1, o->push_rm, o->push_iov, o->push_cnt);
	if (err) {
		_udma_fab_req_abandon(&o->r);
		return err;
	}
	o->push_rm = NULL;
	_udma_fab_req_start(&o->r);
	return 0;
}

static void rop_done(struct fab_req *r)
{
	struct rop *o = (struct rop *)r;
	int st = r->status;

	if (!st && o->push_rm && !o->sync) { /* pulled: now push, from the progress thread */
		st = rop_push_staged(o);
		if (!st)
			return;
		r->status = st;
	}
	if (o->sync) { /* the waiter owns o */
		_udma_fab_req_signal(r->fab, &o->flag);
		return;
	}
	if (o->cb)
		o->cb(o->arg, st);
	udma_domain_put(o->src);
	udma_domain_put(o->d);
	rop_free(o);
}

static struct rop *rop_new(struct udma_domain *d, struct fab_remote *rm, udma_done_fn cb, void *arg)
{
	struct rop *o = calloc(1, sizeof(*o));
	if (!o)
		return udma_fail_null(ENOMEM, "out of memory");
	_udma_fab_req_init(&o->r, rm->fab, rop_done);
	o->d = d;
	o->cb = cb;
	o->arg = arg;
	/* asynchronous only with a callback and a thread to call it */
	o->sync = !cb || !rm->fab->has_thread;
	return o;
}

/* Start o; wait if synchronous. Follows the domain contract: cb only when 0 is returned. */
static int rop_run(struct rop *o, int err)
{
	if (err) {
		_udma_fab_req_abandon(&o->r);
		rop_free(o);
		return err;
	}
	if (!o->sync) {
		udma_domain_get(o->d);
		udma_domain_get(o->src);
		o->r.defer = 1; /* its callback runs on the progress thread */
		_udma_fab_req_start(&o->r);
		return 0;
	}
	_udma_fab_req_start(&o->r);
	_udma_fab_req_wait(o->r.fab, &o->flag);
	err = o->r.status;
	if (!err && o->push_rm) { /* staged from a remote source: now write it, on dst's fabric */
		o->flag = 0;
		if (!(err = rop_push_staged(o))) {
			_udma_fab_req_wait(o->r.fab, &o->flag);
			err = o->r.status;
		}
	}
	udma_done_fn cb = o->cb;
	void *arg = o->arg;
	rop_free(o);
	if (!err && cb)
		cb(arg, 0);
	return err;
}

static int r_pull(struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		  struct iovec *dst_iov, uint32_t dst_cnt, udma_done_fn cb, void *cb_arg)
{
	struct fab_remote *rm = _udma_fab_remote_of(src, NULL);
	int err = _udma_fab_remote_check(rm, src_iov, src_cnt, 0);
	if (err)
		return err;
	struct rop *o = rop_new(src, rm, cb, cb_arg);
	if (!o)
		return -errno;
	return rop_run(o, _udma_fab_req_add_pairs(&o->r, 0, dst_iov, dst_cnt, rm, src_iov, src_cnt));
}

static int r_push(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		  struct iovec *src_iov, uint32_t src_cnt, udma_done_fn cb, void *cb_arg)
{
	struct fab_remote *rm = _udma_fab_remote_of(dst, NULL);
	int err = _udma_fab_remote_check(rm, dst_iov, dst_cnt, 1);
	if (err)
		return err;
	struct rop *o = rop_new(dst, rm, cb, cb_arg);
	if (!o)
		return -errno;
	return rop_run(o, _udma_fab_req_add_pairs(&o->r, 1, src_iov, src_cnt, rm, dst_iov, dst_cnt));
}

static int r_memzero(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt, udma_done_fn cb,
		     void *cb_arg)
{
	struct fab_remote *rm = _udma_fab_remote_of(d, NULL);
	int err = _udma_fab_remote_check(rm, iov, cnt, 1);
	if (err)
		return err;
	struct rop *o = rop_new(d, rm, cb, cb_arg);
	if (!o)
		return -errno;
	void *zdesc = NULL;
	err = _udma_fab_local_desc(&o->r, zeros, sizeof(zeros), &zdesc);
	/* every piece writes from the same zeros */
	for (uint32_t i = 0; i < cnt && !err; i++)
		for (size_t off = 0; off < iov[i].iov_len && !err; off += sizeof(zeros)) {
			size_t n = iov[i].iov_len - off < sizeof(zeros) ? iov[i].iov_len - off : sizeof(zeros);
			err = _udma_fab_req_add(&o->r, 1, zeros, n, zdesc, rm->peer,
					  rm->desc.base + (uintptr_t)iov[i].iov_base + off, rm->desc.key);
		}
	return rop_run(o, err);
}

static int r_transfer(struct udma_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		      struct udma_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		      struct udma_xlate_result *src_xlate, udma_done_fn cb, void *cb_arg)
{
	struct fab_remote *rm = _udma_fab_remote_of(dst, NULL), *srm = _udma_fab_remote_of(src, NULL);
	struct iovbuf sv;
	size_t total;
	int err = _udma_fab_remote_check(rm, dst_iov, dst_cnt, 1);

	if (err)
		return err;
	if (!src->builtin)
		return udma_fail(ENOTSUP, "transfer from custom domain %s: pull it into local memory first", src->id);
	if (srm && (err = _udma_fab_remote_check(srm, src_iov, src_cnt, 0)))
		return err;
	struct rop *o = rop_new(dst, rm, cb, cb_arg);
	if (!o)
		return -errno;
	if (src->k->local_view) {
		iovbuf_init(&sv);
		err = _udma_domain_local_view(src, src_iov, src_cnt, 0, &sv);
		if (!err) /* pieces keep the addresses, not the array */
			err = _udma_fab_req_add_pairs(&o->r, 1, sv.v, (uint32_t)sv.n, rm, dst_iov, dst_cnt);
		_udma_iovbuf_fini(&sv);
		return rop_run(o, err);
	}
	/* a process or remote source: stage its bytes in local memory */
	if ((err = _udma_iov_total(src_iov, src_cnt, &total)))
		return rop_run(o, err);
	o->staging = malloc(total ? total : 1);
	o->staging_len = total;
	if (!o->staging)
		return rop_run(o, udma_fail(ENOMEM, "no staging buffer of %zu bytes", total));
	struct iovec l = { o->staging, total };
	if (!srm) { /* reached by a system call */
		err = _udma_domain_access(src, &l, 1, src_iov, src_cnt, 0);
		if (!err)
			err = _udma_fab_req_add_pairs(&o->r, 1, &l, 1, rm, dst_iov, dst_cnt);
		return rop_run(o, err);
	}
	/* remote -> remote: read into staging on the source's fabric, then write (rop_done chains) */
	o->push_iov = malloc(dst_cnt * sizeof(*dst_iov));
	if (!o->push_iov)
		return rop_run(o, udma_fail(ENOMEM, "out of memory"));
	memcpy(o->push_iov, dst_iov, dst_cnt * sizeof(*dst_iov));
	o->push_cnt = dst_cnt;
	o->push_rm = rm;
	o->src = src;
	_udma_fab_req_init(&o->r, srm->fab, rop_done);
	o->sync = !cb || !srm->fab->has_thread || !rm->fab->has_thread;
	return rop_run(o, _udma_fab_req_add_pairs(&o->r, 0, &l, 1, srm, src_iov, src_cnt));
}

/* remote -> remote (itself, typically): the wire view of an offset. */
static int r_translate(struct udma_domain *src, void *src_ctx, struct udma_domain *dst,
		       struct udma_xlate_ctx *dst_ctx, void *addr, size_t len, struct udma_xlate_result *result)
{
	struct fab_remote *rm = _udma_fab_remote_of(src, NULL);
	uint64_t off = (uintptr_t)addr;

	if (dst->k != &remote_kind)
		return udma_fail(ENOTSUP, "remote memory (%s) has no address in domain %s", src->id, dst->id);
	if (off > rm->desc.len || len > rm->desc.len - off)
		return udma_fail(ERANGE, "[%llu, +%zu) is outside the remote region of %llu bytes",
				 (unsigned long long)off, len, (unsigned long long)rm->desc.len);
	result->iov_count = 1;
	result->iov = (struct iovec){ (void *)(uintptr_t)(rm->desc.base + off), len };
	result->iovs = NULL;
	result->dst_domain = dst;
	if (result->size >= offsetof(struct udma_xlate_result, key) + sizeof(result->key))
		result->key = rm->desc.key;
	return 0;
}

/* system (or device, shm) -> remote: a local VA inside one of our exports on dst's fabric. */
static int r_xlate_in(struct udma_domain *src, void *addr, size_t len, struct udma_domain *dst,
		      struct udma_xlate_result *result)
{
	struct fab_remote *rm = _udma_fab_remote_of(dst, NULL);
	struct udma_fabric *fab = rm->fab;
	struct iovec in = { addr, len };
	struct iovbuf l;
	int err;

	iovbuf_init(&l);
	err = _udma_domain_local_view(src, &in, 1, 0, &l);
	if (!err && l.n != 1)
		err = udma_fail(ENOTSUP, "[%p, +%zu) of %s is not contiguous in this process", addr, len, src->id);
	if (err) {
		_udma_iovbuf_fini(&l);
		return err;
	}
	uintptr_t va = (uintptr_t)l.v[0].iov_base;
	_udma_iovbuf_fini(&l);
	err = udma_fail(EFAULT, "[%p, +%zu) is not inside a region exported on fabric %s", (void *)va, len, fab->prov);
	pthread_mutex_lock(&fab->lock);
	for (struct fab_export *x = fab->exports; x; x = x->next)
		if (va >= x->va && va - x->va <= x->len && len <= x->len - (va - x->va)) {
			result->iov_count = 1;
			result->iov = (struct iovec){ (void *)(uintptr_t)(x->desc.base + (va - x->va)), len };
			result->iovs = NULL;
			result->dst_domain = dst;
			if (result->size >= offsetof(struct udma_xlate_result, key) + sizeof(result->key))
				result->key = x->desc.key;
			err = 0;
			break;
		}
	pthread_mutex_unlock(&fab->lock);
	return err;
}

static void r_invalidate(struct udma_domain *d, void *ctx, struct iovec *iov, uint32_t cnt)
{
	/* translations hold nothing */
}

static const struct udma_domain_ops remote_ops = {
	.size = sizeof(struct udma_domain_ops),
	.translate = r_translate,
	.pull = r_pull,
	.push = r_push,
	.transfer = r_transfer,
	.memzero = r_memzero,
	.invalidate = r_invalidate,
};

static void remote_fini(struct udma_domain *d)
{
	struct remote_domain *r = (struct remote_domain *)d;

	if (!r->rm)
		return;
	__atomic_sub_fetch(&r->rm->fab->imports, 1, __ATOMIC_RELEASE);
	free(r->rm);
	r->rm = NULL;
}

static const struct domain_kind remote_kind = {
	.kind = UDMA_KIND_REMOTE,
	.ops = &remote_ops,
	.xlate_in = r_xlate_in,
	.fini = remote_fini,
};

struct udma_domain *udma_fabric_import(struct udma_fabric *fab, const struct udma_fabric_desc *desc, const char *id)
{
	struct remote_domain *r;
	struct udma_domain *d;
	struct fab_remote *rm;
	char name[40];
	int err;

	if (!fab || !desc)
		return udma_fail_null(EINVAL, "NULL fabric or descriptor");
	if ((err = udma_fabric_desc_validate(desc)))
		return udma_fail_null(-err, "bad descriptor");
	if (desc->addr_format != fab->addr_format)
		return udma_fail_null(EPROTO, "descriptor address format %u, fabric %s uses %u", desc->addr_format,
				      fab->prov, fab->addr_format);
	snprintf(name, sizeof(name), "remote-%016llx", (unsigned long long)desc->key);
	r = calloc(1, sizeof(*r));
	rm = calloc(1, sizeof(*rm));
	if (!r || !rm) {
		free(r);
		free(rm);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	d = &r->d;
	if ((err = _udma_domain_init(d, &remote_kind, UDMA_DEV_RDMA, id ? id : name))) {
		free(r);
		free(rm);
		return udma_fail_null(-err, "bad id");
	}
	rm->fab = fab;
	rm->desc = *desc;
	if ((err = _udma_fab_peer_get(fab, desc->addr, desc->addr_len, &rm->peer))) {
		free(rm);
		_udma_domain_free(d);
		errno = -err;
		return NULL;
	}
	__atomic_add_fetch(&fab->imports, 1, __ATOMIC_ACQ_REL);
	r->rm = rm;
	if (_udma_domain_publish(d)) {
		_udma_domain_free(d); /* remote_fini gives the import back */
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

int udma_fabric_remote_desc(struct udma_domain *d, struct udma_fabric_desc *desc)
{
	struct fab_remote *rm = _udma_fab_remote_of(d, NULL);

	if (!rm || !desc)
		return udma_fail(EINVAL, "not a remote domain, or NULL descriptor");
	*desc = rm->desc;
	return 0;
}
