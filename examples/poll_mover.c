/*
 * A pool of DMA buffers and a mover in poll mode: the loop of a storage or
 * network stack that owns its thread and asks for completions when it
 * wants them (as with io_uring's CQ or DPDK's dmadev).
 *
 * Steps: a device domain (the addresses an engine sees), a pool of 64 KiB
 * blocks in it, a POLL-mode copy session; then submit copies between pool
 * blocks, poll until every one is back, and check the data.
 */
#include <stdio.h>
#include <string.h>
#include <udma/udma.h>

#define BLOCK (64u << 10)
#define COPIES 16

int main(void)
{
	/* 1. A domain: NULL options give VA mode, where device address = VA. */
	struct udma_domain *dev = udma_device_domain_create(NULL);
	/* 2. A pool: 2 * COPIES blocks of 64 KiB, each one contiguous for the device. */
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = BLOCK, .block_count = 2 * COPIES };
	struct udma_pool *pool = dev ? udma_pool_create(dev, &po) : NULL;
	/* 3. A session for one function; POLL: completions wait to be reaped (or polled). */
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = COPIES };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	unsigned char *src[COPIES], *dst[COPIES];

	if (!pool || !s)
		return perror("setup"), 1;
	for (int i = 0; i < COPIES; i++) {
		src[i] = udma_pool_get(pool); /* O(1), from a per-thread cache */
		dst[i] = udma_pool_get(pool);
		memset(src[i], 'a' + i, BLOCK);
	}

	/* 4. Submit every copy: fill a request's buffers, hand it over. */
	for (int i = 0; i < COPIES; i++) {
		struct udma_req *r = udma_req_alloc(s); /* from the session's own pool */
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { dst[i], BLOCK } };
		r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { src[i], BLOCK } };
		if (udma_submit(r))
			return perror("udma_submit"), 1;
	}

	/* 5. Reap: take completed requests (no callbacks in this style), check, free. */
	int done = 0, bad = 0;
	while (done < COPIES) {
		struct udma_req *reqs[COPIES];
		int status[COPIES];
		int n = udma_session_reap(s, reqs, status, COPIES);
		for (int k = 0; k < n; k++) {
			bad += status[k] != 0;
			udma_req_free(reqs[k]);
		}
		done += n; /* reap also drives engines that need polling; udma_session_poll()
			    * would deliver completions to callbacks instead, not here */
	}
	for (int i = 0; i < COPIES; i++) {
		bad += memcmp(src[i], dst[i], BLOCK) != 0;
		udma_pool_put(pool, src[i]);
		udma_pool_put(pool, dst[i]);
	}
	printf("poll_mover: %d copies of %u KiB, %d bad\n", COPIES, BLOCK >> 10, bad);

	/* 6. Tear down in reverse order; each refuses (-EBUSY) while still in use. */
	if (udma_session_destroy(s) || udma_pool_destroy(pool, 0) || udma_domain_destroy(dev))
		return perror("teardown"), 1;
	return bad ? 1 : 0;
}
