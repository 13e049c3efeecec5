/*
 * A driver's DMA memory, written as Linux drivers write it (seed 003,
 * <linux/dma-mapping.h>): a coherent ring of descriptors from
 * dma_alloc_coherent(), small buffers from a dma_pool, a streaming mapping
 * of a caller's buffer with dma_map_single(). Here struct device is a udma
 * device domain opened by name ("iommu": IOVAs from udma's own allocator,
 * emulated when no VFIO container is given).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/dma-mapping.h>

struct desc { /* what a device would read: addresses, never pointers */
	uint64_t addr;
	uint32_t len;
	uint32_t flags;
};

int main(void)
{
	struct device *dev = dma_device_open("iommu");
	dma_addr_t ring_dma, buf_dma[8];
	static char payload[4096] = "payload from the caller";

	if (!dev)
		return perror("dma_device_open"), 1;
	/* The descriptor ring: coherent, zeroed, one device-address range. */
	struct desc *ring = dma_alloc_coherent(dev, 8 * sizeof(struct desc), &ring_dma, GFP_KERNEL);
	/* Small buffers: 512 bytes, 64-aligned, never crossing a 4 KiB boundary. */
	struct dma_pool *pool = dma_pool_create("bufs", dev, 512, 64, 4096);
	if (!ring || !pool)
		return perror("dma_alloc_coherent/dma_pool_create"), 1;

	void *buf[8];
	for (int i = 0; i < 7; i++) {
		buf[i] = dma_pool_zalloc(pool, GFP_KERNEL, &buf_dma[i]);
		if (!buf[i])
			return perror("dma_pool_zalloc"), 1;
		ring[i] = (struct desc){ .addr = buf_dma[i], .len = 512 };
	}
	/* The last descriptor points at the caller's memory: a streaming mapping. */
	buf_dma[7] = dma_map_single(dev, payload, sizeof(payload), DMA_TO_DEVICE);
	if (dma_mapping_error(dev, buf_dma[7]))
		return perror("dma_map_single"), 1;
	ring[7] = (struct desc){ .addr = buf_dma[7], .len = sizeof(payload) };

	/* Check: no descriptor carries a CPU pointer, and the ring's address is a
	 * device one. (A device would now fetch ring_dma.) */
	int ok = ring_dma != (dma_addr_t)(uintptr_t)ring;
	for (int i = 0; i < 7; i++)
		ok = ok && ring[i].addr != (uint64_t)(uintptr_t)buf[i] && (ring[i].addr & 63) == 0 &&
		     (ring[i].addr & 4095) + 512 <= 4096;
	printf("dma_coherent: ring at dma 0x%llx, 7 pool buffers and 1 streaming mapping: %s\n",
	       (unsigned long long)ring_dma, ok ? "device addresses" : "WRONG");

	dma_unmap_single(dev, buf_dma[7], sizeof(payload), DMA_TO_DEVICE);
	for (int i = 0; i < 7; i++)
		dma_pool_free(pool, buf[i], buf_dma[i]);
	dma_pool_destroy(pool);
	dma_free_coherent(dev, 8 * sizeof(struct desc), ring, ring_dma);
	dma_device_close(dev);
	return ok ? 0 : 1;
}
