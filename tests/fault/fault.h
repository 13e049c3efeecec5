/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection for tests, without touching the library: the test binary
 * is linked with -Wl,--wrap=malloc,... so every allocation call in it and in
 * the static libudma.a goes through the wrappers in fault.c. They count the
 * calls of the arming thread, fail the Nth one when armed, and keep a ledger
 * of live heap blocks and mappings so a test can prove an operation that
 * failed half-way leaves nothing behind (also in builds without LSan).
 */
#ifndef UDMA_TEST_FAULT_H
#define UDMA_TEST_FAULT_H

#include <stddef.h>

/* Kinds of call; arm with a mask of them. */
#define FAULT_HEAP   0x01u /* malloc, calloc, realloc, aligned_alloc, posix_memalign */
#define FAULT_MMAP   0x02u /* mmap (any) */
#define FAULT_MEMFD  0x04u /* memfd_create */
#define FAULT_THREAD 0x08u /* pthread_create */
#define FAULT_HUGE   0x10u /* only hugepage mmap (MAP_HUGETLB) and memfd (MFD_HUGETLB) */
#define FAULT_ALL    (FAULT_HEAP | FAULT_MMAP | FAULT_MEMFD | FAULT_THREAD)

/* Fail the nth (1-based) call of kinds made by this thread from now on. */
void fault_arm(unsigned kinds, unsigned long nth);
/* Stop injecting; returns how many calls of the armed kinds this thread made. */
unsigned long fault_disarm(void);
/* Did the armed call happen (and fail) since the last fault_arm()? */
int fault_fired(void);

/* What is alive right now: heap blocks and mappings made through the
 * wrappers and not yet released, and this process's open descriptors. */
struct fault_snap {
	long heap;
	long maps;
	size_t map_bytes;
	int fds;
};
void fault_snapshot(struct fault_snap *s);
/* 0 if after holds exactly what before did, else -1 with the difference in why. */
int fault_compare(const struct fault_snap *before, const struct fault_snap *after, char *why, size_t whylen);

#endif
