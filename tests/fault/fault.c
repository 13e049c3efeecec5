/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wrappers behind fault.h. Linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,
 *   --wrap=posix_memalign,--wrap=free,--wrap=mmap,--wrap=mmap64,
 *   --wrap=munmap,--wrap=memfd_create,--wrap=pthread_create
 * (see tests/meson.build). With _FILE_OFFSET_BITS=64 glibc redirects mmap
 * to mmap64, so both are wrapped.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "fault.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4u
#endif

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void __real_free(void *p);
void *__real_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *a, size_t n, int prot, int flags, int fd, off_t off);
int __real_munmap(void *a, size_t n);
int __real_memfd_create(const char *name, unsigned flags);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

/* ---- arming: only the arming thread's calls count (deterministic sweeps) ---- */

static __thread int armed;
static __thread unsigned arm_kinds;
static __thread unsigned long arm_nth, arm_calls;
static __thread int arm_fired;

void fault_arm(unsigned kinds, unsigned long nth)
{
	arm_kinds = kinds;
	arm_nth = nth;
	arm_calls = 0;
	arm_fired = 0;
	armed = 1;
}

unsigned long fault_disarm(void)
{
	armed = 0;
	return arm_calls;
}

int fault_fired(void)
{
	return arm_fired;
}

/* 1 if this call (of any of the kinds in kind) is the one to fail. */
static int should_fail(unsigned kind)
{
	if (!armed || !(arm_kinds & kind))
		return 0;
	if (++arm_calls != arm_nth)
		return 0;
	arm_fired = 1;
	return 1;
}

/* ---- the ledger: live blocks and mappings made through the wrappers ---- */

/* Heap keys are stored scrambled, so the ledger holds no pointer that would
 * make LeakSanitizer think a leaked block is still reachable. */
#define HIDE(p) ((uintptr_t)(p) ^ 0x5a5a5a5a5a5a5a5aull)

struct node {
	uintptr_t key;
	size_t len; /* mappings only */
	struct node *next;
};

#define BUCKETS 4096
static struct node *heap_tab[BUCKETS];
static struct node *map_list;
static long heap_live, maps_live;
static size_t map_bytes_live;
static char ledger_lock;

static void lock(void)
{
	while (__atomic_test_and_set(&ledger_lock, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_clear(&ledger_lock, __ATOMIC_RELEASE);
}

static unsigned bucket(uintptr_t p)
{
	return (unsigned)((p >> 4) * 0x9E3779B97F4A7C15ull >> 52) & (BUCKETS - 1);
}

static void heap_add(void *p)
{
	struct node *n;

	if (!p || !(n = __real_malloc(sizeof(*n))))
		return;
	n->key = HIDE(p);
	lock();
	n->next = heap_tab[bucket((uintptr_t)p)];
	heap_tab[bucket((uintptr_t)p)] = n;
	heap_live++;
	unlock();
}

/* Blocks libc made for itself (not through a wrapper) are simply not found. */
static void heap_del(void *p)
{
	struct node **pp, *n = NULL;

	if (!p)
		return;
	lock();
	for (pp = &heap_tab[bucket((uintptr_t)p)]; *pp; pp = &(*pp)->next)
		if ((*pp)->key == HIDE(p)) {
			n = *pp;
			*pp = n->next;
			heap_live--;
			break;
		}
	unlock();
	__real_free(n);
}

static void map_add(void *p, size_t len)
{
	struct node *n = __real_malloc(sizeof(*n));

	if (!n)
		return;
	*n = (struct node){ (uintptr_t)p, len, NULL };
	lock();
	n->next = map_list;
	map_list = n;
	maps_live++;
	map_bytes_live += len;
	unlock();
}

/* munmap may cover several mappings or part of one: trim what it covers. */
static void map_del(void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = a + ((len + 4095) & ~(size_t)4095);
	struct node **pp = &map_list, *dead = NULL;

	lock();
	while (*pp) {
		struct node *n = *pp;
		uintptr_t s = n->key, e = n->key + ((n->len + 4095) & ~(size_t)4095);
		if (e <= a || s >= b) {
			pp = &n->next;
			continue;
		}
		if (s >= a && e <= b) { /* all of it */
			*pp = n->next;
			maps_live--;
			map_bytes_live -= n->len;
			n->next = dead;
			dead = n;
			continue;
		}
		/* part of it: keep the larger remaining side (the library never does this) */
		size_t before = a > s ? a - s : 0, after = e > b ? e - b : 0;
		map_bytes_live -= n->len - (before > after ? before : after);
		if (before >= after) {
			n->len = before;
		} else {
			n->key = b;
			n->len = after;
		}
		pp = &n->next;
	}
	unlock();
	while (dead) {
		struct node *n = dead;
		dead = n->next;
		__real_free(n);
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

void fault_snapshot(struct fault_snap *s)
{
	lock();
	s->heap = heap_live;
	s->maps = maps_live;
	s->map_bytes = map_bytes_live;
	unlock();
	s->fds = count_fds();
}

int fault_compare(const struct fault_snap *b, const struct fault_snap *a, char *why, size_t whylen)
{
	if (a->heap == b->heap && a->maps == b->maps && a->map_bytes == b->map_bytes && a->fds == b->fds)
		return 0;
	snprintf(why, whylen, "heap blocks %ld -> %ld, mappings %ld -> %ld (%zu -> %zu bytes), fds %d -> %d",
		 b->heap, a->heap, b->maps, a->maps, b->map_bytes, a->map_bytes, b->fds, a->fds);
	return -1;
}

/* ---- the wrappers ---- */

void *__wrap_malloc(size_t n)
{
	if (should_fail(FAULT_HEAP)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_malloc(n);
	heap_add(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t sz)
{
	if (should_fail(FAULT_HEAP)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_calloc(n, sz);
	heap_add(p);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	if (should_fail(FAULT_HEAP)) {
		errno = ENOMEM;
		return NULL; /* old stays valid, as with a real failure */
	}
	void *p = __real_realloc(old, n);
	if (p || !n) { /* moved, or freed by realloc(p, 0) */
		heap_del(old);
		heap_add(p);
	}
	return p;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
	if (should_fail(FAULT_HEAP)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_aligned_alloc(a, n);
	heap_add(p);
	return p;
}

int __wrap_posix_memalign(void **out, size_t a, size_t n)
{
	if (should_fail(FAULT_HEAP))
		return ENOMEM;
	int err = __real_posix_memalign(out, a, n);
	if (!err)
		heap_add(*out);
	return err;
}

void __wrap_free(void *p)
{
	heap_del(p);
	__real_free(p);
}

static int map_fail(int flags)
{
	return should_fail(FAULT_MMAP | (flags & MAP_HUGETLB ? FAULT_HUGE : 0));
}

void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	if (map_fail(flags)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = __real_mmap(a, n, prot, flags, fd, off);
	if (p != MAP_FAILED)
		map_add(p, n);
	return p;
}

void *__wrap_mmap64(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	if (map_fail(flags)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = __real_mmap64(a, n, prot, flags, fd, off);
	if (p != MAP_FAILED)
		map_add(p, n);
	return p;
}

int __wrap_munmap(void *a, size_t n)
{
	int r = __real_munmap(a, n);
	if (!r)
		map_del(a, n);
	return r;
}

int __wrap_memfd_create(const char *name, unsigned flags)
{
	if (should_fail(FAULT_MEMFD | (flags & MFD_HUGETLB ? FAULT_HUGE : 0))) {
		errno = ENOMEM;
		return -1;
	}
	return __real_memfd_create(name, flags);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	if (should_fail(FAULT_THREAD))
		return EAGAIN;
	return __real_pthread_create(t, a, fn, arg);
}
