/*
 * WarpDrive (UADK) block pool, as a UADK accelerator user writes it
 * (<wd_bmm.h>): open a queue, make a pool of blocks on its memory, take a
 * block, get the IOVA to put in a hardware descriptor, give it back.
 * Built with `pkg-config --cflags --libs udma-compat`; only the includes
 * say udma.
 */
#include <stdio.h>
#include <string.h>
#include <wd.h>
#include <wd_bmm.h>

int main(void)
{
	struct wd_queue q;
	struct wd_blkpool_setup setup;
	__u32 free_num = 0, fails = 0;

	memset(&q, 0, sizeof(q));
	q.capa.alg = "zlib"; /* what the queue is for; dev_path "" = the default device */
	if (wd_request_queue(&q))
		return fprintf(stderr, "wd_request_queue failed\n"), 1;

	memset(&setup, 0, sizeof(setup));
	setup.block_size = 4096;
	setup.block_num = 32;
	setup.align_size = 64;
	void *pool = wd_blkpool_create(&q, &setup); /* br left zero: WD memory of the queue */
	if (!pool)
		return perror("wd_blkpool_create"), 1;

	/* Take every block, as a burst of requests would. */
	void *blk[32];
	for (int i = 0; i < 32; i++) {
		blk[i] = wd_alloc_blk(pool);
		if (!blk[i])
			return fprintf(stderr, "wd_alloc_blk %d failed\n", i), 1;
		memset(blk[i], i, 4096);
	}
	void *none = wd_alloc_blk(pool); /* empty now: NULL, counted as a failure */
	void *iova = wd_blk_iova_map(pool, blk[5]); /* what a descriptor would carry */
	wd_blk_alloc_failures(pool, &fails);

	int ok = !none && iova && fails == 1 && ((unsigned char *)blk[5])[4095] == 5;
	for (int i = 0; i < 32; i++)
		wd_free_blk(pool, blk[i]);
	wd_get_free_blk_num(pool, &free_num);
	ok = ok && free_num == 32 && wd_blksize(pool) == 4096;
	printf("wd_blkpool: %u blocks of %u bytes, block 5 at iova %p, %u failure(s): %s\n", setup.block_num,
	       wd_blksize(pool), iova, fails, ok ? "ok" : "WRONG");

	wd_blkpool_destroy(pool);
	wd_release_queue(&q);
	return ok ? 0 : 1;
}
