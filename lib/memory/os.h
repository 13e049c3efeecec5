/* SPDX-License-Identifier: BSD-3-Clause */
/* The one place that talks to the kernel about pages: mmap, memfd, mbind, mlock, pagemap. */
#ifndef UDMA_LIB_OS_H
#define UDMA_LIB_OS_H

#include <stdint.h>
#include <stddef.h>
#include "../core/log.h"

#define OS_PAGE_4K (4096ul)
#define OS_PAGE_2M (2ul << 20)
#define OS_PAGE_1G (1ul << 30)

/* Why a mapping or a pin failed, where the machine's set-up is the reason. */
enum os_why { OS_WHY_OTHER = 0, OS_WHY_HUGEPAGES, OS_WHY_MEMLOCK };

struct os_map {
	void *va;
	size_t len;        /* multiple of page_size */
	size_t page_size;
	int fd;            /* memfd when shared, else -1 */
	int node;          /* node of the first page, -1 unknown */
	enum os_why why;   /* set when _udma_os_map_pages fails */
};

/*
 * Map len bytes (a multiple of page_size) of zeroed, populated memory.
 * shared: memfd + MAP_SHARED. node >= 0: bind there and verify. pin: mlock.
 * -ENOMEM when the pages (hugepages in particular) are not to be had.
 */
UDMA_HIDDEN int _udma_os_map_pages(size_t len, size_t page_size, int shared, int node, int pin,
			     struct os_map *out);
UDMA_HIDDEN void _udma_os_unmap_pages(struct os_map *m);

/*
 * Keep [va, va+len) on its physical pages: mlock (no swap-out) and
 * MADV_DONTFORK. After fork() the parent's first write to a copy-on-write
 * page moves the parent to a new page and leaves the device with the old
 * one, now the child's; the kernel copies FOLL_PIN-pinned pages early at
 * fork for that reason (Linux 5.11), but mlock is no such pin. So a child
 * does not inherit the range, unless shared: shared pages are never copied
 * on write, and mlock is enough. dontfork_all: mark the whole range (memory
 * known private); else mlock only, for shared memory, or for the caller's
 * memory, whose private pages _udma_os_virt_to_phys_pages() marks when it reads
 * their pagemap entries. -ENOMEM when mlock is refused.
 */
UDMA_HIDDEN int _udma_os_pin(void *va, size_t len, int dontfork_all);
/* Undo _udma_os_pin (callers pass only what no other mapping still needs: _udma_span_unpin). */
UDMA_HIDDEN void _udma_os_unpin(void *va, size_t len);

/* Fault in [va, va+len) (write-populate where writable), without touching it from user space. */
UDMA_HIDDEN int _udma_os_populate(void *va, size_t len);

/* Tell the user (udma_env) what stopped a mapping or pin of len bytes and
 * what to change: hugepages of page_size not free (contig: the memory had
 * to be physically contiguous), or the locked-memory limit. */
UDMA_HIDDEN void _udma_os_explain_in(const char *fn, enum os_why why, size_t len, size_t page_size, int contig);
#define os_explain(...) _udma_os_explain_in(__func__, __VA_ARGS__) /* the line names the caller */

/* Is [va, va+len) mapped in this process? */
UDMA_HIDDEN int _udma_os_range_mapped(const void *va, size_t len);
/* 0 if every byte of [va, va+len) is mapped readable (and writable with
 * write); -EFAULT where a hole is, -EACCES where the protection is short. */
UDMA_HIDDEN int _udma_os_range_access(const void *va, size_t len, int write);

/* NUMA: highest node id, or 0 without libnuma support. */
UDMA_HIDDEN int _udma_os_numa_max_node(void);
UDMA_HIDDEN int _udma_os_node_of(const void *va);

/* Physical address of each 4 KiB page of [va, va + npages*4K); va page
 * aligned. The pages must be present (pinned or populated): -EFAULT if not.
 * mark_private: also MADV_DONTFORK the pages copy-on-write could move (not
 * page cache or shared anonymous memory), as the entries say (_udma_os_pin). */
UDMA_HIDDEN int _udma_os_virt_to_phys_pages(uint64_t va, size_t npages, uint64_t *pa, int mark_private);
/* 0 if this process can read physical addresses; else -EPERM/-ENOENT with why. */
UDMA_HIDDEN int _udma_os_pa_probe(char *why, size_t whylen);

#endif
