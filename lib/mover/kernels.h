/* SPDX-License-Identifier: BSD-3-Clause */
/* The later functions' CPU kernels, which udma_cpu_execute() dispatches to. */
#ifndef UDMA_LIB_MOVER_KERNELS_H
#define UDMA_LIB_MOVER_KERNELS_H

#include <udma/backend.h>
#include "../core/check.h"
#include "../core/log.h"

/* pq-gen, pq-validate, raid6-recover, ec-*: kernels_raid.c */
UDMA_HIDDEN int _udma_cpu_raid(struct udma_work *w);
/* Coding tables built so far (each (matrix, k, m) once, but for lost races): for tests. */
UDMA_HIDDEN unsigned long _udma_ec_tables_built(void);
/* dif-*: kernels_dif.c */
UDMA_HIDDEN int _udma_cpu_dif(struct udma_work *w);

#endif
