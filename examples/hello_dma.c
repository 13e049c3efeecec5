/* The README's example: DMA memory, its device address, and back. */
#include <stdio.h>
#include <string.h>
#include <udma/udma.h>

int main(void)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_IOMMU, .vfio_container_fd = -1 };
	struct udma_domain *dev = udma_device_domain_create(&o);   /* emulated IOMMU */
	struct udma_mem buf;

	if (!dev || udma_mem_alloc(dev, 1 << 20, NULL, &buf))
		return perror("udma"), 1;
	strcpy(buf.va, "hello, device");
	size_t len = buf.len;
	uint64_t iova = udma_va_to_iova(dev, buf.va, &len);        /* what the engine sees */
	char *cpu = udma_iova_to_va(dev, iova + 7, NULL);           /* what an engine reads */
	printf("va %p -> iova 0x%llx (%zu bytes contiguous) -> \"%s\"\n",
	       buf.va, (unsigned long long)iova, len, cpu);
	udma_mem_free(dev, buf.va, buf.len);
	return udma_domain_destroy(dev) ? 1 : 0;
}
