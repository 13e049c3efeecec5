/* SPDX-License-Identifier: BSD-3-Clause */
/* udma: DMA memory and data movement in user space. Umbrella header. */
#ifndef UDMA_H
#define UDMA_H
#include <udma/core.h>
#include <udma/domain.h>
#include <udma/fabric.h>
#include <udma/memory.h>
#include <udma/mover.h>
#include <udma/pool.h>
#include <udma/sequence.h>
#include <udma/storage.h>
#endif
