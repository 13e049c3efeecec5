/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Invariants as debug assertions: checked in debug builds (-Dbuildtype=debug)
 * and sanitizer builds, where meson defines UDMA_DEBUG; compiled away
 * elsewhere, so the fast paths pay nothing in the builds that are measured.
 */
#ifndef UDMA_LIB_CHECK_H
#define UDMA_LIB_CHECK_H

#include <assert.h>

#ifdef UDMA_DEBUG
#define UDMA_ASSERT(cond) assert(cond)
#else
#define UDMA_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
