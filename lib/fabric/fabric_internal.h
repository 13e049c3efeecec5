/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal view of fabrics. One job per file: fabric.c opens, closes and
 * progresses (the RMA request machinery), mr.c registers and exports,
 * desc.c encodes and checks descriptors, remote.c is the remote domain
 * kind, engine.c the mover engine, ofi.c loads libfabric on first use.
 *
 * An RMA request (struct fab_req) is a group of pieces, each one fi_read or
 * fi_write of one contiguous local range against one contiguous remote
 * range. Pieces wait in a FIFO until the fabric has room (depth), then go
 * on the wire; the completion queue hands them back. The request completes
 * once, when its last piece does, with the first error of any piece.
 */
#ifndef UDMA_LIB_FABRIC_H
#define UDMA_LIB_FABRIC_H

#include <pthread.h>
#include <signal.h>
#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <udma/fabric.h>

#include "../core/clock.h"
#include "../core/log.h"

struct fab_req;

enum piece_state { PIECE_FREE = 0, PIECE_QUEUED = 1, PIECE_WIRE = 2, PIECE_ZOMBIE = 3 };

struct fab_piece {
	struct fi_context2 ctx;      /* first: the CQ gives its address back */
	struct fab_req *req;
	struct fab_piece *next, *prev; /* the FIFO or the wire list, under the fabric lock */
	void *local;
	size_t len;
	void *ldesc;                 /* local registration's descriptor, or NULL */
	uint64_t raddr;
	uint64_t key;
	fi_addr_t peer;
	struct fab_peer *pp;
	uint64_t deadline;           /* ns; 0 until first on the wire */
	int status;                  /* set when it ends */
	int write;
	int state;                   /* enum piece_state, under the fabric lock */
};

struct fab_req {
	struct udma_fabric *fab;
	void (*done)(struct fab_req *r); /* once, after the last piece; status is set */
	int status;                  /* 0 or the first error (atomic) */
	unsigned left;               /* pieces not finished, +1 while building (atomic) */
	struct fab_piece *first, *last; /* built, not yet started */
	struct fid_mr **lmr;         /* local registrations to close at the end */
	unsigned nlmr, caplmr;
	int defer;                   /* asynchronous: done() runs on the progress thread only */
	struct fab_req *dnext;       /* on the deferred list, under the fabric lock */
};

struct fab_export {
	struct fab_export *next;
	struct fid_mr *mr;
	uintptr_t va;
	size_t len;
	uint32_t rights;
	struct udma_fabric_desc desc;
};

struct fab_peer {
	struct fab_peer *next;
	fi_addr_t fi;
	uint64_t broken_since;       /* ns of the first connection error since the last success; 0 = healthy */
	uint64_t stalled_since;      /* ns of the first refused post since the last accepted one; 0 = none */
	uint32_t len;
	uint8_t addr[UDMA_FABRIC_ADDR_MAX];
};

struct udma_fabric {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_ep *ep;
	struct fid_av *av;
	struct fid_cq *cq;
	char prov[64];
	uint8_t addr[UDMA_FABRIC_ADDR_MAX];
	uint32_t addr_len;
	uint32_t addr_format;
	uint32_t flags;
	uint64_t timeout_ns;
	uint64_t grace_ns;           /* how long a broken connection may take to come back */
	uint32_t depth;
	size_t max_piece;
	uint64_t key_mask;           /* keys the provider takes (mr_key_size) */
	int virt_addr, prov_key, mr_local, mr_endpoint, cq_wait;

	pthread_mutex_t lock;        /* FIFO, wire list, piece pool, exports, peers */
	struct fab_piece *q_head, *q_tail;     /* waiting to be posted */
	struct fab_piece *w_head, *w_tail;     /* on the wire, oldest first */
	struct fab_piece *z_head;    /* timed out, still the provider's: freed when it hands them back */
	unsigned on_wire;
	struct fab_piece *free_pieces;
	void **chunks;               /* piece allocations, freed at close */
	size_t nchunks;
	struct fab_export *exports;
	struct fab_peer *peers;
	uint64_t next_scan;          /* ns: next deadline scan */

	unsigned users;              /* atomic: requests started and not done */
	unsigned imports;            /* atomic: remote domains alive */
	struct udma_engine *engine;  /* atomic */
	int closing;

	pthread_t thread;
	int has_thread;
	int stop;                    /* atomic */

	/* Synchronous waiters drive the CQ themselves (docs/fabric.md): */
	struct fab_req *deferred, *deferred_tail; /* async requests another thread completed, under lock */
	unsigned pollers;            /* atomic: waiters busy-polling; the progress thread stands down */
	unsigned poll_gen;           /* atomic: waiters that started polling, ever */
	unsigned sleepers;           /* atomic: waiters asleep on done_cond */
	int standing_down;           /* atomic: the progress thread waits on idle_cond */
	int in_sread;                /* atomic: the progress thread sleeps in fi_cq_sread */
	pthread_mutex_t wait_lock;   /* for the two conditions */
	pthread_cond_t idle_cond;    /* wakes the progress thread */
	pthread_cond_t done_cond;    /* wakes sleeping waiters */
};

/* fabric.c */
UDMA_HIDDEN void _udma_fab_req_init(struct fab_req *r, struct udma_fabric *fab, void (*done)(struct fab_req *r));
/* Add one piece (split at max_piece). 0 or -ENOMEM. */
UDMA_HIDDEN int _udma_fab_req_add(struct fab_req *r, int write, void *local, size_t len, void *ldesc,
			    struct fab_peer *peer, uint64_t raddr, uint64_t key);
/* Drop the pieces of a request that was never started. */
UDMA_HIDDEN void _udma_fab_req_abandon(struct fab_req *r);
/* Queue the pieces and post what fits; done() may run before this returns. */
UDMA_HIDDEN void _udma_fab_req_start(struct fab_req *r);
/* Wait until *flag (set by _udma_fab_req_signal from done()) turns nonzero:
 * the caller polls the CQ for a while, then sleeps if the progress thread runs. */
UDMA_HIDDEN void _udma_fab_req_wait(struct udma_fabric *fab, const int *flag);
/* Set a synchronous request's flag and wake its waiter; the request may be gone after. */
UDMA_HIDDEN void _udma_fab_req_signal(struct udma_fabric *fab, int *flag);
UDMA_HIDDEN int _udma_fab_progress(struct udma_fabric *fab, unsigned max, int wait_ms);

/* The peer entry for an address, inserted in the AV on first use. */
UDMA_HIDDEN int _udma_fab_peer_get(struct udma_fabric *fab, const void *addr, uint32_t len, struct fab_peer **out);

/* mr.c */
/* Local descriptor for [p, p + len): NULL when the provider needs none;
 * else an export covering it, or a registration recorded in r. */
UDMA_HIDDEN int _udma_fab_local_desc(struct fab_req *r, void *p, size_t len, void **desc);
UDMA_HIDDEN void _udma_fab_req_release_mrs(struct fab_req *r);
UDMA_HIDDEN void _udma_fab_exports_close(struct udma_fabric *fab);
UDMA_HIDDEN int _udma_fab_random_key(struct udma_fabric *fab, uint64_t *key);

/* ofi.c: libfabric's few real exports, once _udma_fab_ofi_load() returned 0 */
struct _udma_fab_ofi {
	int (*getinfo)(uint32_t version, const char *node, const char *service, uint64_t flags,
		       const struct fi_info *hints, struct fi_info **info);
	void (*freeinfo)(struct fi_info *info);
	struct fi_info *(*dupinfo)(const struct fi_info *info);
	int (*fabric)(struct fi_fabric_attr *attr, struct fid_fabric **fabric, void *context);
	const char *(*strerror)(int errnum);
	uint32_t (*version)(void);
};
UDMA_HIDDEN extern struct _udma_fab_ofi _udma_fab_ofi;
/* Load libfabric (once, thread-safe): 0, or -ELIBACC saying why (udma_env). */
UDMA_HIDDEN int _udma_fab_ofi_load(void);
/* fi_strerror, or strerror before libfabric is loaded. */
UDMA_HIDDEN const char *_udma_fab_strerror(int err);
/* Every signal's disposition before libfabric or a provider
 * may run its initialisers; _udma_fab_signals_keep puts back what they changed. */
/* The dispositions, and this thread's mask; all signals stay blocked in this
 * thread until _udma_fab_signals_keep, so none is handled by a provider's
 * handler in between (one that arrives is delivered after, as the program
 * wants it). */
struct fab_signals {
	struct sigaction act[NSIG];
	sigset_t mask;
};
UDMA_HIDDEN void _udma_fab_signals_save(struct fab_signals *keep);
UDMA_HIDDEN void _udma_fab_signals_keep(const struct fab_signals *keep);

/* desc.c */
UDMA_HIDDEN uint32_t _udma_fab_crc32c(const void *p, size_t n);

/* remote.c */
struct fab_remote {
	struct udma_fabric *fab;
	struct udma_fabric_desc desc;
	struct fab_peer *peer;
};
/* The remote state of d if d is a remote domain on fab (fab NULL: any), else NULL. */
UDMA_HIDDEN struct fab_remote *_udma_fab_remote_of(struct udma_domain *d, struct udma_fabric *fab);
/* Check remote iovecs against the region and rights. */
UDMA_HIDDEN int _udma_fab_remote_check(const struct fab_remote *rm, const struct iovec *iov, uint32_t cnt, int write);
/* Add pieces pairing local and remote iovecs (remote: offsets in rm's region). */
UDMA_HIDDEN int _udma_fab_req_add_pairs(struct fab_req *r, int write, const struct iovec *local, uint32_t lcnt,
				  const struct fab_remote *rm, const struct iovec *remote, uint32_t rcnt);

#endif
