/* SPDX-License-Identifier: BSD-3-Clause */
/* Finding DMA memory by address across device domains, and telling
 * watchers when some of it leaves (lib/memory/watch.h). */
#include <pthread.h>
#include <stdlib.h>

#include "device.h"
#include "watch.h"

struct watcher {
	udma_mem_gone_fn fn;
	void *arg;
	struct watcher *next;
};

/* Calls to watchers run under it, so unwatch waits for them. */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watcher *watchers;

int _udma_mem_find(const void *va, size_t len, uintptr_t *start, size_t *span)
{
	uint64_t v = (uintptr_t)va;
	int found = 0;

	for (struct udma_domain *d = udma_domain_first(NULL); d; d = udma_domain_next(d, NULL)) {
		if (!is_device(d))
			continue;
		pthread_mutex_lock(&d->lock);
		long i = _udma_region_find(&dev_of(d)->regions, v);
		if (i >= 0 && v + len <= dev_of(d)->regions.r[i].end) {
			*start = dev_of(d)->regions.r[i].start;
			*span = dev_of(d)->regions.r[i].end - dev_of(d)->regions.r[i].start;
			found = 1;
		}
		pthread_mutex_unlock(&d->lock);
		if (found) {
			udma_domain_put(d);
			return 0;
		}
	}
	return -ENOENT;
}

int _udma_mem_watch(udma_mem_gone_fn fn, void *arg)
{
	struct watcher *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&watch_lock);
	*w = (struct watcher){ fn, arg, watchers };
	/* release: the free path reads the head without the lock */
	__atomic_store_n(&watchers, w, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&watch_lock);
	return 0;
}

void _udma_mem_unwatch(udma_mem_gone_fn fn, void *arg)
{
	pthread_mutex_lock(&watch_lock);
	for (struct watcher **p = &watchers; *p; p = &(*p)->next)
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct watcher *w = *p;
			__atomic_store_n(p, w->next, __ATOMIC_RELEASE);
			free(w);
			break;
		}
	pthread_mutex_unlock(&watch_lock);
}

void _udma_mem_gone(uintptr_t start, size_t len)
{
	/* no watchers (no storage domain): no lock on the free path */
	if (!__atomic_load_n(&watchers, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&watch_lock);
	for (struct watcher *w = watchers; w; w = w->next)
		w->fn(w->arg, start, len);
	pthread_mutex_unlock(&watch_lock);
}
