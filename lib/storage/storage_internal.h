/* SPDX-License-Identifier: BSD-3-Clause */
/* Storage domains inside: the state, the fixed-buffer table, the rings. */
#ifndef UDMA_LIB_STORAGE_H
#define UDMA_LIB_STORAGE_H

#include <liburing.h>
#include <udma/storage.h>

#include "../core/check.h"
#include "../domain/domain_internal.h"

/* Fixed buffers a ring can hold at once; the least recently taken slot
 * gives way when they are all used. */
#define STORAGE_SLOTS 64
/* Spans of memory gone that a lookup made without the lock can check against. */
#define STORAGE_GONE_LOG 16

/* A piece of DMA memory registered (or to be) in a slot; gen 0: empty. */
struct fixed_buf {
	uintptr_t start;
	size_t len;
	uint64_t gen;
};

struct ring {
	struct io_uring uring;
	struct ring *next_free;
	struct ring *next_all;
	struct fixed_buf held[STORAGE_SLOTS]; /* what this ring has registered, under d.lock */
};

struct storage_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	int fd;
	uint32_t flags;
	uint32_t qd;
	uint32_t offset_align, mem_align;
	int blockdev;
	uint64_t bdev_size;
	int no_fixed;                          /* atomic: registration off or refused */
	int memlock_warned;                    /* under d.lock */
	int watching;                          /* a memory watcher is installed */
	struct fixed_buf slots[STORAGE_SLOTS]; /* under d.lock */
	uint64_t next_gen;                     /* under d.lock */
	unsigned clock;                        /* under d.lock: next slot to give way */
	uint64_t gone_seq;                     /* under d.lock: memory-gone calls so far */
	struct fixed_buf gone_log[STORAGE_GONE_LOG]; /* under d.lock: the last spans gone */
	struct ring *free_rings, *all_rings;   /* under d.lock */
	uint64_t fixed_ios, plain_ios, short_ios, rings; /* atomic counters */
};

UDMA_HIDDEN extern const struct domain_kind _udma_storage_kind;

static inline struct storage_domain *storage_of(struct udma_domain *d)
{
	UDMA_ASSERT(d->k == &_udma_storage_kind);
	return (struct storage_domain *)d;
}

/* geometry.c: open path for direct I/O and learn its rules. */
UDMA_HIDDEN int _udma_storage_open(struct storage_domain *sd, const char *path);
/* -EINVAL (logged with the rule) unless file and mem obey O_DIRECT's rules;
 * -ERANGE past a block device's end. */
UDMA_HIDDEN int _udma_storage_check(const struct storage_domain *sd, const struct iovec *file, size_t fcnt,
				    const struct iovec *mem, size_t mcnt);

/* 1 if file and mem obey O_DIRECT's rules (nothing logged). */
UDMA_HIDDEN int _udma_storage_aligned(const struct storage_domain *sd, const struct iovec *file, size_t fcnt,
				      const struct iovec *mem, size_t mcnt);

/* bounce.c: _udma_storage_rw for requests that break the rules, through an
 * aligned buffer: enclosing blocks read, partial end blocks merged. */
UDMA_HIDDEN int _udma_storage_bounce(struct storage_domain *sd, const struct iovec *mem, size_t mcnt,
				     const struct iovec *file, size_t fcnt, int write, uint32_t flags);

/* bufs.c: the fixed-buffer table. */
/* The slot of ring r holding [va, va + len) (registering it there now if
 * needed), or -1: plain I/O. */
UDMA_HIDDEN int _udma_storage_slot(struct storage_domain *sd, struct ring *r, const void *va, size_t len);
/* Memory watcher: drop every fixed buffer overlapping a span leaving. */
UDMA_HIDDEN void _udma_storage_mem_gone(void *arg, uintptr_t start, size_t len);

/* ring.c */
/* A ring of sd's for one operation (made if none is free), or NULL + errno. */
UDMA_HIDDEN struct ring *_udma_storage_ring_get(struct storage_domain *sd);
/* Give r back; a broken ring (entries it could not submit) is closed. */
UDMA_HIDDEN void _udma_storage_ring_put(struct storage_domain *sd, struct ring *r, int broken);
UDMA_HIDDEN void _udma_storage_rings_fini(struct storage_domain *sd);

/* Internal flag of _udma_storage_rw: a read meeting the end of the file
 * zero-fills the rest of its piece instead of failing (the bounce's edges). */
#define STORAGE_TO_EOF (1u << 31)

/* io.c: move bytes between memory and file offsets; flags: UDMA_STORAGE_DSYNC,
 * UDMA_STORAGE_BOUNCE (or the domain's) for requests that break the rules,
 * STORAGE_TO_EOF. */
UDMA_HIDDEN int _udma_storage_rw(struct storage_domain *sd, const struct iovec *mem, size_t mcnt,
				 const struct iovec *file, size_t fcnt, int write, uint32_t flags);

#endif
