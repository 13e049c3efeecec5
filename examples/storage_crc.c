/*
 * Write a file through DMA memory with a CRC-32C per block, read it back
 * and check every block: the disk DMAs straight into udma memory (O_DIRECT,
 * io_uring fixed buffers), and the CRC is taken in the same mover request
 * as the copy (copy-crc32c, one side of it the file).
 *
 *   storage_crc [FILE [BLOCKS]]     (default: storage_crc.dat in the
 *                                    current directory, 16 blocks of 64 KiB)
 * FILE must be on a disk file system (not tmpfs); it is created if needed,
 * and then removed at the end.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udma/udma.h>

#define BLOCK (64u << 10)

/* out = in and the CRC-32C of the block, in one request; the CRC, or -1 on error. */
static int64_t copy_crc(struct udma_session *s, struct udma_buf out, struct udma_buf in)
{
	struct udma_req *r = udma_req_alloc(s);
	uint32_t crc;

	if (!r)
		return -1;
	r->flags = UDMA_REQ_WAIT;
	r->out = out;
	r->in[0] = in;
	memset(r->imm, 0, sizeof(r->imm)); /* seed 0: the standard CRC-32C */
	int err = udma_submit(r) ? -1 : r->status;
	memcpy(&crc, r->imm, sizeof(crc));
	udma_req_free(r);
	return err ? -1 : (int64_t)crc;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "storage_crc.dat";
	unsigned blocks = argc > 2 ? (unsigned)atoi(argv[2]) : 16, bad = 0;
	struct udma_domain *dev = udma_device_domain_create(NULL);
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY_CRC32C, NULL);
	struct udma_mem wbuf, rbuf;
	uint32_t *crcs = calloc(blocks ? blocks : 1, sizeof(*crcs));
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644), created = fd >= 0;

	if (fd < 0)
		fd = open(path, O_WRONLY);

	if (!blocks || !dev || !s || !crcs || fd < 0 || ftruncate(fd, (off_t)blocks * BLOCK))
		return perror("setup"), 1;
	close(fd);
	struct udma_domain *file = udma_storage_domain_create(path, NULL);
	if (!file)
		return perror("udma_storage_domain_create (is the file on tmpfs?)"), 1;
	if (udma_mem_alloc(dev, (size_t)blocks * BLOCK, NULL, &wbuf) ||
	    udma_mem_alloc(dev, (size_t)blocks * BLOCK, NULL, &rbuf))
		return perror("udma_mem_alloc"), 1;
	for (size_t i = 0; i < (size_t)blocks * BLOCK; i++)
		((unsigned char *)wbuf.va)[i] = (unsigned char)(i * 7 + i / BLOCK);

	for (unsigned b = 0; b < blocks; b++) { /* memory -> file, CRC on the way */
		struct iovec at = { (void *)((uintptr_t)b * BLOCK), BLOCK };
		struct udma_buf out = { .type = UDMA_BUF_DOMAIN, .dom = { file, NULL, &at, 1 } };
		struct udma_buf in = { .type = UDMA_BUF_LINEAR, .linear = { (char *)wbuf.va + (size_t)b * BLOCK, BLOCK } };
		int64_t crc = copy_crc(s, out, in);
		if (crc < 0)
			return fprintf(stderr, "writing block %u failed\n", b), 1;
		crcs[b] = (uint32_t)crc;
	}
	for (unsigned b = 0; b < blocks; b++) { /* file -> memory, CRC on the way */
		struct iovec at = { (void *)((uintptr_t)b * BLOCK), BLOCK };
		struct udma_buf in = { .type = UDMA_BUF_DOMAIN, .dom = { file, NULL, &at, 1 } };
		struct udma_buf out = { .type = UDMA_BUF_LINEAR, .linear = { (char *)rbuf.va + (size_t)b * BLOCK, BLOCK } };
		int64_t crc = copy_crc(s, out, in);
		if (crc < 0)
			return fprintf(stderr, "reading block %u failed\n", b), 1;
		if ((uint32_t)crc != crcs[b] || memcmp((char *)wbuf.va + (size_t)b * BLOCK, (char *)rbuf.va + (size_t)b * BLOCK, BLOCK)) {
			fprintf(stderr, "block %u: CRC-32C %08x written, %08x read\n", b, crcs[b], (uint32_t)crc);
			bad++;
		}
	}
	struct udma_storage_info info = { .size = sizeof(info) };
	udma_storage_info(file, &info);
	printf("%u blocks of %u bytes written and read back through %s: %u bad; CRC-32C of block 0 %08x; "
	       "%llu I/Os on fixed buffers, %llu plain\n", blocks, BLOCK, path, bad, crcs[0],
	       (unsigned long long)info.fixed_ios, (unsigned long long)info.plain_ios);
	udma_session_destroy(s);
	udma_domain_destroy(file);
	udma_mem_free(dev, wbuf.va, wbuf.len);
	udma_mem_free(dev, rbuf.va, rbuf.len);
	udma_domain_destroy(dev);
	free(crcs);
	if (created)
		unlink(path);
	return bad ? 1 : 0;
}
