/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory registration: exports (local memory a peer may read or write, with
 * the rights fi_mr_reg enforces) and, for providers with FI_MR_LOCAL, the
 * registrations of local buffers that one request uses.
 *
 * Keys: where the provider lets us choose (no FI_MR_PROV_KEY) they are
 * random 64-bit values from getrandom(), so a peer cannot guess another
 * export's key from its own; a collision (FI_ENOKEY) draws again.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

#include "../memory/os.h"
#include "fabric_internal.h"

int _udma_fab_random_key(struct udma_fabric *fab, uint64_t *key)
{
	uint64_t k;
	ssize_t n;

	while ((n = getrandom(&k, sizeof(k), 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(k))
		return udma_fail(EIO, "getrandom: %s", n < 0 ? strerror(errno) : "short read");
	*key = k & fab->key_mask;
	return 0;
}

/* fi_mr_reg with a fresh key, bound to the endpoint where the provider wants that. */
static int reg(struct udma_fabric *fab, void *va, size_t len, uint64_t access, struct fid_mr **out)
{
	struct fid_mr *mr = NULL;
	int rc = -FI_ENOKEY;

	for (int tries = 0; tries < 8 && rc == -FI_ENOKEY; tries++) {
		uint64_t key = 0;
		if (!fab->prov_key && (rc = _udma_fab_random_key(fab, &key)))
			return rc;
		rc = fi_mr_reg(fab->domain, va, len, access, 0, key, 0, &mr, NULL);
	}
	if (rc)
		return udma_fail(rc == -FI_ENOMEM ? ENOMEM : rc < 0 && -rc < 256 ? -rc : EIO,
				 "fi_mr_reg of %zu bytes at %p: %s", len, va, _udma_fab_strerror(-rc));
	if (fab->mr_endpoint) {
		rc = fi_mr_bind(mr, &fab->ep->fid, 0);
		if (!rc)
			rc = fi_mr_enable(mr);
		if (rc) {
			fi_close(&mr->fid);
			return udma_fail(EIO, "binding a registration to the endpoint: %s", _udma_fab_strerror(-rc));
		}
	}
	*out = mr;
	return 0;
}

int _udma_fab_local_desc(struct fab_req *r, void *p, size_t len, void **desc)
{
	struct udma_fabric *fab = r->fab;
	struct fid_mr *mr;

	*desc = NULL;
	if (!fab->mr_local || !len)
		return 0;
	if (r->nlmr == r->caplmr) {
		unsigned cap = r->caplmr ? 2 * r->caplmr : 4;
		struct fid_mr **v = realloc(r->lmr, cap * sizeof(*v));
		if (!v)
			return udma_fail(ENOMEM, "out of memory");
		r->lmr = v;
		r->caplmr = cap;
	}
	/* the provider's registration cache (FI_MR_CACHE_MONITOR) makes repeats cheap */
	int err = reg(fab, p, len, FI_READ | FI_WRITE, &mr);
	if (err)
		return err;
	r->lmr[r->nlmr++] = mr;
	*desc = fi_mr_desc(mr);
	return 0;
}

void _udma_fab_req_release_mrs(struct fab_req *r)
{
	for (unsigned i = 0; i < r->nlmr; i++)
		fi_close(&r->lmr[i]->fid);
	free(r->lmr);
	r->lmr = NULL;
	r->nlmr = r->caplmr = 0;
}

int udma_fabric_export(struct udma_fabric *fab, void *va, size_t len, uint32_t rights, struct udma_fabric_desc *desc)
{
	struct fab_export *x;
	int err;

	if (!fab || !va || !desc)
		return udma_fail(EINVAL, "NULL fabric, address or descriptor");
	if (!len || (uintptr_t)va + len < (uintptr_t)va)
		return udma_fail(EINVAL, "length %zu is zero or wraps", len);
	if (!rights || (rights & ~(UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)))
		return udma_fail(EINVAL, "rights 0x%x: want UDMA_FABRIC_READ and/or UDMA_FABRIC_WRITE", rights);
	/* the provider touches this memory when a peer asks, in its progress
	 * thread: a hole or a read-only page there would crash us, so check now */
	if ((err = _udma_os_range_access(va, len, rights & UDMA_FABRIC_WRITE)))
		return udma_fail(-err, "[%p, +%zu) is %s", va, len,
				 err == -EFAULT ? "not mapped" : rights & UDMA_FABRIC_WRITE ? "not writable" : "not readable");
	x = calloc(1, sizeof(*x));
	if (!x)
		return udma_fail(ENOMEM, "out of memory");
	/* local read/write too: the same memory may be a local buffer of our own requests */
	uint64_t access = FI_READ | FI_WRITE | (rights & UDMA_FABRIC_READ ? FI_REMOTE_READ : 0) |
			  (rights & UDMA_FABRIC_WRITE ? FI_REMOTE_WRITE : 0);
	if ((err = reg(fab, va, len, access, &x->mr))) {
		free(x);
		return err;
	}
	uint64_t key = fi_mr_key(x->mr);
	if (key == FI_KEY_NOTAVAIL) {
		fi_close(&x->mr->fid);
		free(x);
		return udma_fail(ENOTSUP, "provider %s uses raw keys, which udma does not carry", fab->prov);
	}
	x->va = (uintptr_t)va;
	x->len = len;
	x->rights = rights;
	x->desc = (struct udma_fabric_desc){
		.version = UDMA_FABRIC_DESC_VERSION,
		.rights = rights,
		.addr_format = fab->addr_format,
		.addr_len = fab->addr_len,
		.base = fab->virt_addr ? (uint64_t)(uintptr_t)va : 0,
		.len = len,
		.key = key,
	};
	memcpy(x->desc.addr, fab->addr, fab->addr_len);
	pthread_mutex_lock(&fab->lock);
	x->next = fab->exports;
	fab->exports = x;
	pthread_mutex_unlock(&fab->lock);
	*desc = x->desc;
	udma_dbg("exported %zu bytes at %p, rights %s%s, key 0x%llx", len, va, rights & UDMA_FABRIC_READ ? "r" : "",
		 rights & UDMA_FABRIC_WRITE ? "w" : "", (unsigned long long)key);
	return 0;
}

int udma_fabric_unexport(struct udma_fabric *fab, const struct udma_fabric_desc *desc)
{
	struct fab_export *x, **pp;

	if (!fab || !desc)
		return udma_fail(EINVAL, "NULL fabric or descriptor");
	pthread_mutex_lock(&fab->lock);
	for (pp = &fab->exports; (x = *pp); pp = &x->next)
		if (x->desc.key == desc->key && x->desc.base == desc->base && x->desc.len == desc->len)
			break;
	if (x)
		*pp = x->next;
	pthread_mutex_unlock(&fab->lock);
	if (!x)
		return udma_fail(ENOENT, "no export with key 0x%llx", (unsigned long long)desc->key);
	fi_close(&x->mr->fid);
	free(x);
	return 0;
}

void _udma_fab_exports_close(struct udma_fabric *fab)
{
	while (fab->exports) {
		struct fab_export *x = fab->exports;
		fab->exports = x->next;
		fi_close(&x->mr->fid);
		free(x);
	}
}
