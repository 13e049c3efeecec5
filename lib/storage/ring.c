/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A storage domain's rings: one per operation in progress, made on demand
 * and kept for the next. Each registers the domain's file (index 0) and an
 * empty table of STORAGE_SLOTS fixed buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "storage_internal.h"

static struct ring *ring_new(struct storage_domain *sd)
{
	struct ring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return udma_fail_null(ENOMEM, "out of memory");
	unsigned setup = (sd->flags & UDMA_STORAGE_SQPOLL ? IORING_SETUP_SQPOLL : 0) |
			 (sd->flags & UDMA_STORAGE_IOPOLL ? IORING_SETUP_IOPOLL : 0);
	ret = io_uring_queue_init(sd->qd, &r->uring, setup);
	if (ret < 0) {
		free(r);
		return udma_fail_null(-ret, "io_uring_queue_init(%u): %s", sd->qd, strerror(-ret));
	}
	ret = io_uring_register_files(&r->uring, &sd->fd, 1);
	if (!ret && !(sd->flags & UDMA_STORAGE_NO_FIXED))
		ret = io_uring_register_buffers_sparse(&r->uring, STORAGE_SLOTS);
	if (ret < 0) {
		io_uring_queue_exit(&r->uring);
		free(r);
		return udma_fail_null(-ret, "registering with io_uring: %s", strerror(-ret));
	}
	__atomic_fetch_add(&sd->rings, 1, __ATOMIC_RELAXED);
	return r;
}

struct ring *_udma_storage_ring_get(struct storage_domain *sd)
{
	struct ring *r;

	pthread_mutex_lock(&sd->d.lock);
	r = sd->free_rings;
	if (r) {
		sd->free_rings = r->next_free;
	} else if ((r = ring_new(sd))) {
		r->next_all = sd->all_rings;
		sd->all_rings = r;
	}
	pthread_mutex_unlock(&sd->d.lock);
	return r;
}

void _udma_storage_ring_put(struct storage_domain *sd, struct ring *r, int broken)
{
	pthread_mutex_lock(&sd->d.lock);
	if (broken) {
		for (struct ring **p = &sd->all_rings; *p; p = &(*p)->next_all)
			if (*p == r) {
				*p = r->next_all;
				break;
			}
		io_uring_queue_exit(&r->uring);
		free(r);
	} else {
		r->next_free = sd->free_rings;
		sd->free_rings = r;
	}
	pthread_mutex_unlock(&sd->d.lock);
}

void _udma_storage_rings_fini(struct storage_domain *sd)
{
	struct ring *r = sd->all_rings;

	while (r) {
		struct ring *next = r->next_all;
		/* at once: a closed ring lets go of its file later, and until then
		 * the file system cannot be unmounted nor the loop device detached */
		io_uring_unregister_files(&r->uring);
		io_uring_unregister_buffers(&r->uring);
		io_uring_queue_exit(&r->uring);
		free(r);
		r = next;
	}
	sd->all_rings = sd->free_rings = NULL;
}
