/* SPDX-License-Identifier: BSD-3-Clause */
/* VFIO type1: program a real IOMMU through a container the caller opened. */
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "domain_internal.h"

int _udma_vfio_map(int fd, uint64_t va, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = va,
		.iova = iova,
		.size = len,
	};
	if (ioctl(fd, VFIO_IOMMU_MAP_DMA, &m) < 0)
		return udma_fail(errno, "VFIO_IOMMU_MAP_DMA iova 0x%llx len 0x%llx: %s",
				 (unsigned long long)iova, (unsigned long long)len, strerror(errno));
	return 0;
}

int _udma_vfio_unmap(int fd, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = len,
	};
	if (ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return udma_fail(errno, "VFIO_IOMMU_UNMAP_DMA iova 0x%llx: %s",
				 (unsigned long long)iova, strerror(errno));
	return 0;
}
