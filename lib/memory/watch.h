/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What layers above memory (storage) need to know about DMA memory: where a
 * buffer lies in it, and when a piece of it leaves (freed or unregistered),
 * so that whatever they pinned for it (io_uring fixed buffers) is let go
 * before the pages are unmapped.
 */
#ifndef UDMA_LIB_WATCH_H
#define UDMA_LIB_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/log.h"

/* The page-rounded span [*start, *start + *len) of the allocation or
 * registration, in any device domain, that holds all of [va, va + len):
 * 0, or -ENOENT if none does. Never logs (a miss is ordinary). */
UDMA_HIDDEN int _udma_mem_find(const void *va, size_t len, uintptr_t *start, size_t *span);

/* Called with the span of memory leaving a device domain, before its pages
 * are unmapped. */
typedef void (*udma_mem_gone_fn)(void *arg, uintptr_t start, size_t len);

/* Watch every device domain: 0 or -ENOMEM. */
UDMA_HIDDEN int _udma_mem_watch(udma_mem_gone_fn fn, void *arg);
/* Stop watching; returns once no call of fn(arg) runs. */
UDMA_HIDDEN void _udma_mem_unwatch(udma_mem_gone_fn fn, void *arg);
/* Tell every watcher (memory code, after taking the span out of its tables). */
UDMA_HIDDEN void _udma_mem_gone(uintptr_t start, size_t len);

#endif
