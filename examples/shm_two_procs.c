/*
 * Two processes working on the same DMA buffers: a producer creates a
 * shared-memory segment and a pool in it, fills a block, and sends the
 * segment (udma_shm_export, a memfd over a Unix socket) and the block's
 * offset; the consumer imports the segment, finds the block at that offset,
 * checks it and writes its answer in place. The producer sees the answer:
 * the same physical pages, mapped in both.
 *
 * Offsets, not pointers, cross the socket: each process maps the segment at
 * an address of its own. In a shm domain a block's device address
 * (udma_pool_iova) is its offset, and udma_iova_to_va() turns it back.
 */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/udma.h>

#define BLOCK 4096

/* The consumer: import, find the block, check it, answer. Exit status 0 = all good. */
static int consumer(int sock)
{
	struct udma_domain *seg = udma_shm_import(sock, 5000); /* waits at most 5 s */
	uint64_t off;

	if (!seg || read(sock, &off, sizeof(off)) != sizeof(off))
		return 1;
	size_t len = BLOCK;
	unsigned char *blk = udma_iova_to_va(seg, off, &len); /* offset -> our own pointer */
	if (!blk || len < BLOCK)
		return 2;
	for (int i = 0; i < BLOCK; i++)
		if (blk[i] != (unsigned char)i)
			return 3;
	for (int i = 0; i < BLOCK; i++) /* the answer: every byte inverted */
		blk[i] = (unsigned char)~blk[i];
	return udma_domain_destroy(seg) ? 4 : 0; /* unmaps our view only */
}

int main(void)
{
	struct udma_domain *seg = udma_shm_create("example-seg", 1 << 20, 0);
	struct udma_pool_opts po = { .size = sizeof(po), .block_size = BLOCK, .block_count = 16 };
	struct udma_pool *pool = seg ? udma_pool_create(seg, &po) : NULL; /* blocks inside the segment */
	int sv[2], st;
	uint64_t off;

	if (!pool || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return perror("setup"), 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(consumer(sv[1]));
	}
	close(sv[1]);

	unsigned char *blk = udma_pool_get_iova(pool, &off); /* off: offset in the segment */
	for (int i = 0; i < BLOCK; i++)
		blk[i] = (unsigned char)i;
	if (udma_shm_export(seg, sv[0], 0) || write(sv[0], &off, sizeof(off)) != sizeof(off))
		return perror("sending the segment"), 1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return fprintf(stderr, "shm_two_procs: consumer failed (status 0x%x)\n", st), 1;

	int bad = 0;
	for (int i = 0; i < BLOCK; i++)
		bad += blk[i] != (unsigned char)~i;
	printf("shm_two_procs: block at offset %llu checked by process %d, its answer %s\n",
	       (unsigned long long)off, (int)pid, bad ? "WRONG" : "seen here");
	close(sv[0]);
	udma_pool_put(pool, blk);
	if (udma_pool_destroy(pool, 0) || udma_domain_destroy(seg))
		return perror("teardown"), 1;
	return bad ? 1 : 0;
}
