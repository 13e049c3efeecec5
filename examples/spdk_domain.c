/*
 * An SPDK memory domain (<spdk/dma.h>) as an SPDK module writes one: memory
 * the CPU cannot address directly (here a "device buffer" reached only
 * through the domain's callbacks), with pull and push callbacks; generic
 * code then moves data in and out with spdk_memory_domain_pull_data() /
 * push_data() and never needs to know where the memory is.
 * Built with `pkg-config --cflags --libs udma-compat`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <spdk/dma.h>

static char device_mem[1 << 16]; /* stands in for memory on a device */

/* Domain addresses are offsets into device_mem; copy iovecs one at a time (one each here). */
static int dev_pull(struct spdk_memory_domain *src, void *src_ctx, struct iovec *src_iov, uint32_t src_cnt,
		    struct iovec *dst_iov, uint32_t dst_cnt, spdk_memory_domain_data_cpl_cb cpl, void *arg)
{
	(void)src, (void)src_ctx;
	if (src_cnt != 1 || dst_cnt != 1 || dst_iov->iov_len < src_iov->iov_len)
		return -EINVAL; /* failure: no completion */
	memcpy(dst_iov->iov_base, device_mem + (uintptr_t)src_iov->iov_base, src_iov->iov_len);
	cpl(arg, 0); /* a real device would complete later */
	return 0;
}

static int dev_push(struct spdk_memory_domain *dst, void *dst_ctx, struct iovec *dst_iov, uint32_t dst_cnt,
		    struct iovec *src_iov, uint32_t src_cnt, spdk_memory_domain_data_cpl_cb cpl, void *arg)
{
	(void)dst, (void)dst_ctx;
	if (src_cnt != 1 || dst_cnt != 1 || src_iov->iov_len > dst_iov->iov_len)
		return -EINVAL;
	memcpy(device_mem + (uintptr_t)dst_iov->iov_base, src_iov->iov_base, src_iov->iov_len);
	cpl(arg, 0);
	return 0;
}

static void done(void *ctx, int rc)
{
	*(int *)ctx = rc == 0 ? 1 : -1;
}

int main(void)
{
	struct spdk_memory_domain *dom;
	char out[64] = "data for the device", back[64] = { 0 };
	int pushed = 0, pulled = 0;

	if (spdk_memory_domain_create(&dom, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "example-dev"))
		return fprintf(stderr, "spdk_memory_domain_create failed\n"), 1;
	spdk_memory_domain_set_pull(dom, dev_pull);
	spdk_memory_domain_set_push(dom, dev_push);

	/* Generic code: write to offset 4096 of the domain, read it back. */
	struct iovec at = { (void *)(uintptr_t)4096, sizeof(out) };
	struct iovec src = { out, sizeof(out) }, dst = { back, sizeof(back) };
	int rc = spdk_memory_domain_push_data(dom, NULL, &at, 1, &src, 1, done, &pushed);
	rc = rc ? rc : spdk_memory_domain_pull_data(dom, NULL, &at, 1, &dst, 1, done, &pulled);

	/* It is found by id, as SPDK's iteration finds it. */
	struct spdk_memory_domain *found = spdk_memory_domain_get_first("example-dev");
	int ok = !rc && pushed == 1 && pulled == 1 && !strcmp(back, out) && !strcmp(device_mem + 4096, out) &&
		 found == dom;
	spdk_memory_domain_get_next(found, "example-dev"); /* ends the walk: NULL, its reference dropped */
	printf("spdk_domain: pushed and pulled \"%s\" through domain %s: %s\n", back,
	       spdk_memory_domain_get_dma_device_id(dom), ok ? "ok" : "WRONG");
	spdk_memory_domain_destroy(dom);
	return ok ? 0 : 1;
}
