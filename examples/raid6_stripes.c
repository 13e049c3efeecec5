/*
 * RAID-6 (8+2) with udma: P and Q of many stripes written in bursts, a
 * verified read-back (pq-validate), and two lost data chunks rebuilt
 * (raid6-recover). The parity pass is timed against ISA-L's pq_gen called
 * directly on the same buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <isa-l/raid.h>
#include <udma/udma.h>

#define K 8                 /* data chunks per stripe; P and Q follow */
#define CHUNK (64u << 10)
#define STRIPES 64
#define BURST 16

static char *chunk(char *disk, unsigned stripe, unsigned i)
{
	return disk + ((size_t)stripe * (K + 2) + i) * CHUNK;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct udma_buf lin(void *p)
{
	return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, CHUNK } };
}

/* Every reaped request: its status must be 0. */
static int reap_all(struct udma_session *s, unsigned n)
{
	struct udma_req *done[BURST];
	int status[BURST];

	for (unsigned got = 0; got < n;) {
		int k = udma_session_reap(s, done, status, BURST);
		if (k < 0)
			return k;
		for (int j = 0; j < k; j++)
			if (status[j])
				return status[j];
		got += (unsigned)k;
	}
	return 0;
}

/* P and Q of every stripe, BURST stripes per submit. */
static int write_parity(struct udma_session *s, struct udma_req **reqs, const struct udma_params *prm, char *disk)
{
	for (unsigned first = 0; first < STRIPES; first += BURST) {
		for (unsigned j = 0; j < BURST; j++) {
			for (unsigned i = 0; i < K; i++)
				reqs[j]->in[i] = lin(chunk(disk, first + j, i));
			reqs[j]->outs[0] = lin(chunk(disk, first + j, K));
			reqs[j]->outs[1] = lin(chunk(disk, first + j, K + 1));
			reqs[j]->params = prm;
		}
		int n = udma_submit_burst(reqs, BURST), err;
		if (n != BURST)
			return n < 0 ? n : -1;
		if ((err = reap_all(s, BURST)))
			return err;
	}
	return 0;
}

static void write_parity_isal(char *disk)
{
	for (unsigned st = 0; st < STRIPES; st++) {
		void *v[K + 2];
		for (unsigned i = 0; i < K + 2; i++)
			v[i] = chunk(disk, st, i);
		pq_gen(K + 2, CHUNK, v);
	}
}

/* pq-validate on one stripe: 0, or UDMA_PQ_P_BAD | UDMA_PQ_Q_BAD. */
static long validate(char *disk, unsigned st)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_PQ_VALIDATE, NULL);
	struct udma_req *r = s ? udma_req_alloc(s) : NULL;
	struct udma_params prm = { .size = sizeof(prm), .k = K };
	long res = -1;

	if (r) {
		for (unsigned i = 0; i < K + 2; i++)
			r->in[i] = lin(chunk(disk, st, i));
		r->params = &prm;
		r->flags = UDMA_REQ_WAIT;
		if (!udma_submit(r) && !r->status)
			res = (long)r->result;
		udma_req_free(r);
	}
	udma_session_destroy(s);
	return res;
}

/* Lose data chunks a and b of a stripe and rebuild them into out[0..1]. */
static int recover(char *disk, unsigned st, unsigned a, unsigned b, char *out[2])
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_RAID6_RECOVER, NULL);
	struct udma_req *r = s ? udma_req_alloc(s) : NULL;
	struct udma_params prm = { .size = sizeof(prm), .k = K, .nlost = 2, .lost = { (uint8_t)a, (uint8_t)b } };
	int rc = -1;

	if (r) {
		for (unsigned i = 0; i < K + 2; i++)
			if (i != a && i != b)
				r->in[i] = lin(chunk(disk, st, i));
		r->outs[0] = lin(out[0]);
		r->outs[1] = lin(out[1]);
		r->params = &prm;
		r->flags = UDMA_REQ_WAIT;
		rc = udma_submit(r) ? -1 : r->status;
		udma_req_free(r);
	}
	udma_session_destroy(s);
	return rc;
}

int main(void)
{
	size_t size = (size_t)STRIPES * (K + 2) * CHUNK;
	char *disk = aligned_alloc(64, size), *lost[2] = { aligned_alloc(64, CHUNK), aligned_alloc(64, CHUNK) };
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = BURST };
	struct udma_session *s = udma_session_create(UDMA_FUNC_PQ_GEN, &o);
	struct udma_params prm = { .size = sizeof(prm), .k = K };
	struct udma_req *reqs[BURST];
	double best_u = 1e9, best_i = 1e9;

	if (!disk || !lost[0] || !lost[1] || !s)
		return perror("setup"), 1;
	for (size_t i = 0; i < size; i++)
		disk[i] = (char)(i * 2654435761u >> 13);
	for (unsigned j = 0; j < BURST; j++)
		if (!(reqs[j] = udma_req_alloc(s)))
			return perror("udma_req_alloc"), 1;
	for (int rep = 0; rep < 11; rep++) { /* the two in turn, each first every other time; the best of each */
		for (int turn = 0; turn < 2; turn++) {
			int isal = (turn ^ rep) & 1;
			double t0 = now();
			if (isal)
				write_parity_isal(disk);
			else if (write_parity(s, reqs, &prm, disk))
				return fprintf(stderr, "pq-gen failed\n"), 1;
			double t = now() - t0, *best = isal ? &best_i : &best_u;
			*best = t < *best ? t : *best;
		}
	}
	double bytes = (double)STRIPES * K * CHUNK;
	printf("parity of %u stripes of %u x %u KiB: udma %.2f GB/s, ISA-L pq_gen %.2f GB/s (%.2fx)\n", STRIPES, K,
	       CHUNK >> 10, bytes / best_u / 1e9, bytes / best_i / 1e9, best_i / best_u);

	for (unsigned st = 0; st < STRIPES; st++)
		if (validate(disk, st))
			return fprintf(stderr, "stripe %u does not validate\n", st), 1;
	chunk(disk, 3, K + 1)[100] ^= 1;
	long v = validate(disk, 3);
	printf("read-back: %u stripes validate; a flipped Q bit in stripe 3 reads as %s\n", STRIPES,
	       v == UDMA_PQ_Q_BAD ? "Q bad" : "something else (wrong)");
	chunk(disk, 3, K + 1)[100] ^= 1;

	if (recover(disk, 7, 2, 5, lost) || memcmp(lost[0], chunk(disk, 7, 2), CHUNK) ||
	    memcmp(lost[1], chunk(disk, 7, 5), CHUNK))
		return fprintf(stderr, "recovery failed\n"), 1;
	printf("two lost disks (2 and 5) of stripe 7 rebuilt byte for byte\n");
	for (unsigned j = 0; j < BURST; j++)
		udma_req_free(reqs[j]);
	udma_session_destroy(s);
	free(disk);
	free(lost[0]);
	free(lost[1]);
	return v == UDMA_PQ_Q_BAD ? 0 : 1;
}
