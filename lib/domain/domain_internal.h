/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of a domain. Memory code reaches into it; clients never do. */
#ifndef UDMA_LIB_DOMAIN_H
#define UDMA_LIB_DOMAIN_H

#include <pthread.h>
#include <udma/domain.h>

#include "../core/iov.h"
#include "../core/log.h"

/*
 * What a kind of domain is: one table per kind (system, device, shm,
 * process, remote, custom), so that code common to all kinds never asks
 * which kind it holds. A kind's state lives in a struct of its own that
 * begins with struct udma_domain (device_domain, shm_domain, ...).
 * Adding a kind: its enum value in <udma/domain.h>, and a file that
 * defines its table and a creator calling _udma_domain_init() with it
 * (docs/design.md, "Adding a domain kind").
 */
struct domain_kind {
	enum udma_domain_kind kind;
	/* The built-in operations, or NULL: the creator's own (custom). */
	const struct udma_domain_ops *ops;
	/* Its addresses are this process's VAs as they are (system). */
	int local_is_va;
	/* Optional: append this process's views of iov (d's addresses) to out;
	 * write: they will be written. Kinds without one are bounced, or taken
	 * as they are by engines that accept them. */
	int (*local_view)(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write, struct iovbuf *out);
	/* Optional: this process's VA pieces -> d's addresses. */
	int (*from_local)(struct udma_domain *d, const struct iovbuf *va, struct iovbuf *out);
	/* Optional: translate src's local address into d (remote: the fabric
	 * knows which of its exports cover it). */
	int (*xlate_in)(struct udma_domain *src, void *addr, size_t len, struct udma_domain *d,
			struct udma_xlate_result *result);
	/* Optional, for kinds without a local view that a system call reaches
	 * (process): move bytes between local iovecs and d's addresses. */
	int (*access)(struct udma_domain *d, const struct iovec *local, size_t lcnt, const struct iovec *iov,
		      size_t cnt, int write);
	/* Optional: mark d dead for destroy under d->lock, or refuse (-EBUSY
	 * while memory is in it, -EALREADY if dead). Default: mark it dead. */
	int (*retire)(struct udma_domain *d);
	/* Optional: release the kind's state; the registry frees d after. */
	void (*fini)(struct udma_domain *d);
};

struct udma_domain {
	const struct domain_kind *k;
	enum udma_dev_type dev_type;
	char id[UDMA_DOMAIN_ID_MAX + 1];
	struct udma_domain_ctx *ctx;  /* copy, or NULL */
	void *user_ctx;               /* private copy of the user context */
	size_t user_ctx_size;
	struct udma_domain_ops ops;   /* written with atomic stores for custom domains */
	int builtin;                  /* ops fixed by udma */
	unsigned refs;                /* atomic; the creator holds one until destroy */
	int dead;                     /* destroyed: out of iteration, ops -ENODEV */
	struct udma_domain *next, *prev; /* registry, under the registry lock */
	pthread_mutex_t lock;         /* serialises changes to the kind's state */
};

/* registry.c */
/* Fill the common part of a zeroed domain of kind k and check the id. */
UDMA_HIDDEN int _udma_domain_init(struct udma_domain *d, const struct domain_kind *k, enum udma_dev_type type,
			    const char *id);
/* Make d visible to iteration, holding the creator's reference. 0 or
 * -ENOMEM (then d is not published: _udma_domain_free() it). */
UDMA_HIDDEN int _udma_domain_publish(struct udma_domain *d);
/* Take a reference on a live domain for one operation: -EINVAL if d is not
 * a domain (never created, or freed), -ENODEV if destroyed. */
UDMA_HIDDEN int _udma_domain_enter(struct udma_domain *d);
/* Free a domain that was never published. */
UDMA_HIDDEN void _udma_domain_free(struct udma_domain *d);

/* local.c: the built-in operations, on local views of domain addresses,
 * shared by the kinds that have them (system, device, shm). */
UDMA_HIDDEN extern const struct udma_domain_ops _udma_builtin_ops;
/* Append local (this process's) views of iov in d to out (-ENOTSUP without one). */
UDMA_HIDDEN int _udma_domain_local_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write,
				  struct iovbuf *out);
/* Move bytes between local iovecs and a domain without a local view that
 * a system call reaches (-ENOTSUP for others). */
UDMA_HIDDEN int _udma_domain_access(struct udma_domain *d, const struct iovec *local, size_t lcnt,
			      const struct iovec *iov, size_t cnt, int write);

/* shm.c: memory in a segment, for udma_mem_alloc() and the translations of
 * lib/memory when d is a shared-memory domain (addresses: offsets). */
struct udma_mem;
UDMA_HIDDEN int _udma_is_shm(const struct udma_domain *d);
UDMA_HIDDEN int _udma_shm_mem_alloc(struct udma_domain *d, size_t size, uint32_t flags, struct udma_mem *out);
UDMA_HIDDEN int _udma_shm_mem_free(struct udma_domain *d, void *va, size_t len);
UDMA_HIDDEN int _udma_shm_mem_query(struct udma_domain *d, const void *va, struct udma_mem *out);
UDMA_HIDDEN uint64_t _udma_shm_va_to_off(struct udma_domain *d, const void *va, size_t *len);
UDMA_HIDDEN void *_udma_shm_off_to_va(struct udma_domain *d, uint64_t off, size_t *len);

/* Built-in operations complete inline: call cb only when returning 0, as the contract says. */
static inline int op_done(udma_done_fn cb, void *arg, int err)
{
	if (!err && cb)
		cb(arg, 0);
	return err;
}

#endif
