/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fixed-buffer table of a storage domain. DMA memory met in an I/O is
 * given a slot (the whole allocation or registration it lies in); each
 * ring registers a slot's buffer when it first needs it. Memory leaving its
 * device domain is let go from the table and from every ring at once
 * (memory's watcher), so no ring keeps pages pinned, or reads into pages,
 * that belong to nobody.
 */
#include <string.h>
#include <sys/resource.h>

#include "../memory/watch.h"
#include "storage_internal.h"

static int holds(const struct fixed_buf *b, uintptr_t va, size_t len)
{
	return b->gen && va >= b->start && va + len <= b->start + b->len;
}

/* Once: the limit, and how to raise it; then everything goes unregistered. */
static void memlock_refused(struct storage_domain *sd)
{
	struct rlimit rl = { 0, 0 };

	__atomic_store_n(&sd->no_fixed, 1, __ATOMIC_RELAXED);
	if (sd->memlock_warned++)
		return;
	getrlimit(RLIMIT_MEMLOCK, &rl);
	udma_warn("%s: RLIMIT_MEMLOCK (%llu bytes) is too small to register DMA memory with io_uring; "
		  "going on with unregistered I/O (raise it: ulimit -l, or memlock in /etc/security/limits.conf)",
		  sd->d.id, (unsigned long long)rl.rlim_cur);
}

/* Make ring r hold slot s's buffer (or nothing). 0, or a negative errno. */
static int ring_sync(struct storage_domain *sd, struct ring *r, unsigned s)
{
	const struct fixed_buf *b = &sd->slots[s];
	struct iovec iov = { b->gen ? (void *)b->start : NULL, b->gen ? b->len : 0 };
	__u64 tag = 0;

	UDMA_ASSERT_LOCKED(&sd->d.lock);
	if (r->held[s].gen == b->gen)
		return 0;
	int ret = io_uring_register_buffers_update_tag(&r->uring, s, &iov, &tag, 1);
	if (ret < 0) {
		r->held[s] = (struct fixed_buf){ 0 };
		return ret;
	}
	r->held[s] = *b;
	return 0;
}

static int find_slot(const struct storage_domain *sd, uintptr_t va, size_t len)
{
	for (unsigned s = 0; s < STORAGE_SLOTS; s++)
		if (holds(&sd->slots[s], va, len))
			return (int)s;
	return -1;
}

/* Give DMA memory [start, start + span) a slot: a free one, else the next in turn. */
static int new_slot(struct storage_domain *sd, uintptr_t start, size_t span)
{
	unsigned s = sd->clock++ % STORAGE_SLOTS;

	for (unsigned i = 0; i < STORAGE_SLOTS; i++)
		if (!sd->slots[i].gen) {
			s = i;
			break;
		}
	sd->slots[s] = (struct fixed_buf){ start, span, ++sd->next_gen };
	return (int)s;
}

/* Ring r holds slot s's buffer now; on failure the slot goes (plain I/O). */
static int sync_or_drop(struct storage_domain *sd, struct ring *r, int s)
{
	int ret = ring_sync(sd, r, (unsigned)s);

	if (ret == -ENOMEM) {
		memlock_refused(sd);
		return -1;
	}
	if (ret < 0) { /* memory io_uring will not pin: plain I/O for it */
		udma_dbg("%s: cannot register [%p, +%zu) as a fixed buffer: %s", sd->d.id,
			 (void *)sd->slots[s].start, sd->slots[s].len, strerror(-ret));
		sd->slots[s] = (struct fixed_buf){ 0 };
		return -1;
	}
	return s;
}

static int overlaps(const struct fixed_buf *b, uintptr_t start, size_t len);

/* Has memory overlapping [start, start + span) gone since the count was seq? */
static int gone_since(const struct storage_domain *sd, uint64_t seq, uintptr_t start, size_t span)
{
	if (sd->gone_seq - seq > STORAGE_GONE_LOG)
		return 1; /* too many to tell: assume so */
	for (uint64_t i = seq; i < sd->gone_seq; i++)
		if (overlaps(&sd->gone_log[i % STORAGE_GONE_LOG], start, span))
			return 1;
	return 0;
}

int _udma_storage_slot(struct storage_domain *sd, struct ring *r, const void *va, size_t len)
{
	uintptr_t v = (uintptr_t)va, start;
	size_t span;

	if (__atomic_load_n(&sd->no_fixed, __ATOMIC_RELAXED))
		return -1;
	pthread_mutex_lock(&sd->d.lock);
	int s = find_slot(sd, v, len);
	uint64_t seq = sd->gone_seq;
	if (s >= 0)
		s = sync_or_drop(sd, r, s);
	pthread_mutex_unlock(&sd->d.lock);
	if (s >= 0 || _udma_mem_find(va, len, &start, &span))
		return s;
	/* Looked up without our lock (the lookup may free a domain, whose
	 * end takes the watcher lock, which memory's watcher holds while it
	 * waits for ours); memory gone meanwhile is not entered. */
	pthread_mutex_lock(&sd->d.lock);
	if (!gone_since(sd, seq, start, span) && !__atomic_load_n(&sd->no_fixed, __ATOMIC_RELAXED)) {
		s = find_slot(sd, v, len);
		s = sync_or_drop(sd, r, s >= 0 ? s : new_slot(sd, start, span));
	}
	pthread_mutex_unlock(&sd->d.lock);
	return s;
}

static int overlaps(const struct fixed_buf *b, uintptr_t start, size_t len)
{
	return b->gen && b->start < start + len && start < b->start + b->len;
}

void _udma_storage_mem_gone(void *arg, uintptr_t start, size_t len)
{
	struct storage_domain *sd = arg;

	pthread_mutex_lock(&sd->d.lock);
	sd->gone_log[sd->gone_seq++ % STORAGE_GONE_LOG] = (struct fixed_buf){ start, len, 1 };
	for (unsigned s = 0; s < STORAGE_SLOTS; s++) {
		if (overlaps(&sd->slots[s], start, len))
			sd->slots[s] = (struct fixed_buf){ 0 };
		/* busy rings too: I/O in flight keeps what it uses until it completes */
		for (struct ring *r = sd->all_rings; r; r = r->next_all)
			if (overlaps(&r->held[s], start, len))
				ring_sync(sd, r, s);
	}
	pthread_mutex_unlock(&sd->d.lock);
}
