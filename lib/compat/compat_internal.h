/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the seed compatibility layers. */
#ifndef UDMA_LIB_COMPAT_H
#define UDMA_LIB_COMPAT_H

#include <udma/domain.h>
#include "../core/log.h"

/* "" / "va" / "sva" -> VA, "pa" / "noiommu" -> PA, "iommu" -> IOMMU; -ENODEV otherwise. */
UDMA_HIDDEN int _udma_compat_mode_by_name(const char *name, enum udma_addr_mode *mode);
/* A device domain for a device name as above (NULL = default); NULL + errno. */
UDMA_HIDDEN struct udma_domain *_udma_compat_open_domain(const char *name);

/* <linux/dma-mapping.h>: a dma_pool holds its device until destroyed (a
 * closed device is freed by the last release). */
struct device;
UDMA_HIDDEN void _udma_compat_device_hold(struct device *dev);
UDMA_HIDDEN void _udma_compat_device_release(struct device *dev);

#endif
