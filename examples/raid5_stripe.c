/*
 * A RAID-5 stripe: four data blocks, their XOR parity, and a CRC-32C per
 * block, as a storage engine writes them. Then one block is "lost" and
 * rebuilt from the other three and the parity, and its CRC proves the
 * rebuild right.
 *
 * Each function has its session: xor4 (out = in[0] ^ in[1] ^ in[2] ^ in[3])
 * and iscsi-crc32c (no output; the CRC comes back in imm[0..3]).
 * UDMA_REQ_WAIT makes each submit return when the work is done.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udma/udma.h>

#define K 4               /* data blocks per stripe */
#define BLOCK (16u << 10) /* bytes per block */

/* out = XOR of the four inputs; 0 or a negative errno. */
static int xor4(struct udma_session *s, void *out, void *const in[K])
{
	struct udma_req *r = udma_req_alloc(s);
	r->flags = UDMA_REQ_WAIT;
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { out, BLOCK } };
	for (int i = 0; i < K; i++)
		r->in[i] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { in[i], BLOCK } };
	int err = udma_submit(r);
	err = err ? err : r->status;
	udma_req_free(r);
	return err;
}

/* The CRC-32C of one block (seed 0: the standard CRC). */
static uint32_t crc32c(struct udma_session *s, const void *buf)
{
	struct udma_req *r = udma_req_alloc(s);
	uint32_t crc = 0;
	r->flags = UDMA_REQ_WAIT;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { (void *)buf, BLOCK } };
	memset(r->imm, 0, sizeof(r->imm));
	if (!udma_submit(r) && !r->status)
		memcpy(&crc, r->imm, sizeof(crc)); /* little endian, as iSCSI sends it */
	udma_req_free(r);
	return crc;
}

int main(void)
{
	struct udma_session *sx = udma_session_create(UDMA_FUNC_XOR(K), NULL);
	struct udma_session *sc = udma_session_create(UDMA_FUNC_CRC32C, NULL);
	unsigned char *data[K + 1], rebuilt[BLOCK], *parity;
	uint32_t crc[K];

	if (!sx || !sc)
		return perror("udma_session_create"), 1;
	for (int i = 0; i <= K; i++) {
		data[i] = malloc(BLOCK);
		for (unsigned j = 0; j < BLOCK; j++)
			data[i][j] = (unsigned char)(rand() >> 7);
	}
	parity = data[K];

	/* Write path: parity of the stripe, a CRC per data block. */
	if (xor4(sx, parity, (void *const *)data))
		return fprintf(stderr, "parity failed\n"), 1;
	for (int i = 0; i < K; i++)
		crc[i] = crc32c(sc, data[i]);

	/* Degraded read: block 2 is gone; XOR the survivors and the parity. */
	void *survivors[K] = { data[0], data[1], data[3], parity };
	if (xor4(sx, rebuilt, survivors))
		return fprintf(stderr, "rebuild failed\n"), 1;
	int ok = !memcmp(rebuilt, data[2], BLOCK) && crc32c(sc, rebuilt) == crc[2];
	printf("raid5_stripe: %d+1 blocks of %u KiB, block 2 rebuilt, crc32c 0x%08x: %s\n", K, BLOCK >> 10,
	       crc[2], ok ? "match" : "MISMATCH");

	for (int i = 0; i <= K; i++)
		free(data[i]);
	udma_session_destroy(sx);
	udma_session_destroy(sc);
	return ok ? 0 : 1;
}
