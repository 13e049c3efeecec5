/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of a domain. Memory code reaches into it; clients never do. */
#ifndef UDMA_LIB_DOMAIN_H
#define UDMA_LIB_DOMAIN_H

#include <pthread.h>
#include <udma/domain.h>

#include "../core/log.h"
#include "../memory/iova.h"
#include "../memory/region.h"
#include "../memory/page_refs.h"
#include "../memory/stream_set.h"
#include "../memory/xmap.h"
#include "iov.h"

/* Device-domain state: tables, IOVA space, regions. */
struct device_state {
	enum udma_addr_mode mode;
	int vfio_fd;              /* IOMMU mode with a real container, else -1 */
	struct xmap fwd;          /* VA -> device address */
	struct xmap rev;          /* device address -> VA (PA and IOMMU modes) */
	struct iova_space iova;   /* IOMMU mode */
	struct region_set regions;
	struct stream_set streams;
	struct page_refs stream_pages; /* PA mode: pages pinned streaming mappings cover */
	int pa_aliases;           /* PA mode: a physical page has been entered at two VAs */
};

struct shm_state {
	char *base;   /* this process's mapping */
	size_t size;
	int fd;
	int readonly; /* this mapping */
	int sealed;   /* F_SEAL_FUTURE_WRITE applied: only read-only exports */
};

struct udma_domain {
	/* every domain */
	enum udma_domain_kind kind;
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

	/* the kind's own state */
	struct device_state dev;
	struct shm_state shm;
	pid_t pid;
	/* remote (fabric) domains: lib/fabric's state, released by remote_fini
	 * from _udma_domain_free(); remote_xlate_in translates a local address of a
	 * built-in domain into this remote domain (system -> remote) */
	void *remote;
	void (*remote_fini)(struct udma_domain *d);
	int (*remote_xlate_in)(struct udma_domain *src, void *addr, size_t len, struct udma_domain *dst,
			       struct udma_xlate_result *result);
};

/* Default IOVA window of the emulated IOMMU: 64 GiB .. 1 TiB, far from
 * where Linux places mmaps and the heap, so a stray VA does not look like
 * a live IOVA, and below 40 bits as narrow IOMMUs need. */
#define UDMA_IOVA_DEFAULT_BASE (64ull << 30)
#define UDMA_IOVA_DEFAULT_SIZE ((1ull << 40) - UDMA_IOVA_DEFAULT_BASE)

/* registry.c */
/* Fill the common part and check the id. */
UDMA_HIDDEN int _udma_domain_init(struct udma_domain *d, enum udma_domain_kind kind, enum udma_dev_type type,
			    const char *id);
/* Make d visible to iteration, holding the creator's reference. */
UDMA_HIDDEN void _udma_domain_publish(struct udma_domain *d);
/* Free a domain that was never published. */
UDMA_HIDDEN void _udma_domain_free(struct udma_domain *d);

/* Kind hooks. device_retire: -EBUSY while memory is in the domain,
 * -EALREADY if dead, else marks it dead under its lock so nothing new gets in. */
UDMA_HIDDEN int device_retire(struct udma_domain *d);
UDMA_HIDDEN void device_fini(struct udma_domain *d);
UDMA_HIDDEN void shm_fini(struct udma_domain *d);

/* local.c: the built-in operations, on local views of domain addresses. */
UDMA_HIDDEN extern const struct udma_domain_ops _udma_builtin_ops;
UDMA_HIDDEN extern const struct udma_domain_ops process_ops;
/* Append local (this process's) views of iov in d to out; write: it will be written. */
UDMA_HIDDEN int _udma_domain_local_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write,
				  struct iovbuf *out);

/* Built-in operations complete inline: call cb only when returning 0, as the contract says. */
static inline int op_done(udma_done_fn cb, void *arg, int err)
{
	if (!err && cb)
		cb(arg, 0);
	return err;
}

/* process.c */
UDMA_HIDDEN int process_rw(pid_t pid, const struct iovec *local, size_t lcnt, const struct iovec *remote,
			   size_t rcnt, int write);

UDMA_HIDDEN int _udma_vfio_map(int fd, uint64_t va, uint64_t iova, uint64_t len);
UDMA_HIDDEN int _udma_vfio_unmap(int fd, uint64_t iova, uint64_t len);

#endif
