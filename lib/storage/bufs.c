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

/* A slot for the DMA memory holding [va, va + len), or -1 (not DMA memory). */
static int take_slot(struct storage_domain *sd, uintptr_t va, size_t len)
{
	uintptr_t start;
	size_t span;

	for (unsigned s = 0; s < STORAGE_SLOTS; s++)
		if (holds(&sd->slots[s], va, len))
			return (int)s;
	if (_udma_mem_find((void *)va, len, &start, &span))
		return -1;
	unsigned s = sd->clock++ % STORAGE_SLOTS;
	for (unsigned i = 0; i < STORAGE_SLOTS; i++)
		if (!sd->slots[i].gen) {
			s = i;
			break;
		}
	sd->slots[s] = (struct fixed_buf){ start, span, ++sd->next_gen };
	return (int)s;
}

int _udma_storage_slot(struct storage_domain *sd, struct ring *r, const void *va, size_t len)
{
	if (__atomic_load_n(&sd->no_fixed, __ATOMIC_RELAXED))
		return -1;
	pthread_mutex_lock(&sd->d.lock);
	int s = take_slot(sd, (uintptr_t)va, len);
	if (s >= 0) {
		int ret = ring_sync(sd, r, (unsigned)s);
		if (ret == -ENOMEM) {
			memlock_refused(sd);
			s = -1;
		} else if (ret < 0) { /* memory io_uring will not pin: plain I/O for it */
			udma_dbg("%s: cannot register [%p, +%zu) as a fixed buffer: %s", sd->d.id,
				 (void *)sd->slots[s].start, sd->slots[s].len, strerror(-ret));
			sd->slots[s] = (struct fixed_buf){ 0 };
			s = -1;
		}
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
