/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bursts: udma_submit_burst + udma_session_reap of SIZE-byte requests in
 * bursts of BURST on one engine, against the same work done directly in
 * the same run: for copies glibc's memcpy of PEER bytes in a loop (issue
 * 18's goal: an 8-byte copy in bursts costs at most 1.5 times a 64-byte
 * memcpy), for crc32c and xorN ISA-L's crc32_iscsi and xor_gen over the
 * same buffers (goals: 0.75x ISA-L's speed at 1 KiB, 0.9x at 4 KiB).
 * Repetitions alternate between the two; the ratio reported is the median
 * of the per-repetition ratios, so a slow spell on a shared machine hits
 * both sides of one.
 *
 * usage: bench_burst [-f FUNC] [-s SIZE] [-p PEER] [-b BURST] [-e ENGINE] [-r REPS] [-t MS] [-n LOOPS]
 *   -f FUNC    the session's function: copy (default), crc32c or xor2..xor16
 *              (as udma perf -f names them)
 *   -s SIZE    bytes per udma request (default 8)
 *   -p PEER    bytes per memcpy (default 64; copies only)
 *   -b BURST   requests per burst (default 32)
 *   -e ENGINE  engine name (default cpu)
 *   -r REPS    repetitions (default 11)
 *   -t MS      time of one repetition of one side (default 50)
 *   -n LOOPS   run exactly LOOPS bursts of udma, no timing, no peer (for
 *              callgrind: instructions per request = total / (LOOPS * BURST))
 */
#include <endian.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <isa-l.h>
#include <udma/udma.h>

#define MAXB 1024
#define MAXREPS 101

static size_t size = 8, peer = 64;
static unsigned burst = 32, reps = 11;
static const char *engine = "cpu";
static enum udma_func func = UDMA_FUNC_COPY;
static double target_ns = 50e6;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct udma_session *s;
static struct udma_req *reqs[MAXB], *got[MAXB];
static int status[MAXB];
static char *src, *dst;
static void *xv[MAXB][UDMA_MAX_INPUTS + 1]; /* xor_gen's sources and destination, per request */
static int ninputs;

/* One burst submitted and reaped; exits on any failure. */
static void udma_round(void)
{
	int n = udma_submit_burst(reqs, burst);
	if (n != (int)burst) {
		fprintf(stderr, "udma_submit_burst: %d of %u\n", n, burst);
		exit(1);
	}
	for (unsigned k = 0; k < burst;) {
		int m = udma_session_reap(s, got + k, status, burst - k);
		if (m < 0) {
			fprintf(stderr, "udma_session_reap: %d\n", m);
			exit(1);
		}
		for (int j = 0; j < m; j++)
			if (status[j] || got[k + (unsigned)j] != reqs[k + (unsigned)j]) {
				fprintf(stderr, "request %u: status %d or out of order\n", k + (unsigned)j, status[j]);
				exit(1);
			}
		k += (unsigned)m;
	}
}

/* memcpy through a volatile pointer: a real call each time, as a client's would be. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

static unsigned sink;

/* The same work done directly: memcpy of PEER bytes, or ISA-L on each request's buffers. */
static void peer_round(void)
{
	if (func == UDMA_FUNC_CRC32C) {
		for (unsigned i = 0; i < burst; i++)
			sink += crc32_iscsi(xv[i][0], (int)size, ~0u);
	} else if (func != UDMA_FUNC_COPY) {
		for (unsigned i = 0; i < burst; i++)
			xor_gen(ninputs + 1, (int)size, xv[i]);
	} else {
		for (unsigned i = 0; i < burst; i++)
			copy_fn(dst + i * peer, src + i * peer, peer);
	}
}

/* ns per copy over about target_ns of rounds. */
static double timed(void (*round)(void))
{
	unsigned long rounds = 0;
	uint64_t t0 = now_ns(), t;

	do {
		for (int k = 0; k < 64; k++)
			round();
		rounds += 64;
	} while ((t = now_ns()) - t0 < target_ns);
	return (double)(t - t0) / ((double)rounds * burst);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void setup(void)
{
	size_t span = size > peer ? size : peer;
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = burst, .engine = engine };

	int ni = udma_func_ninputs(func);
	size_t nsrc = ni > 1 ? (size_t)ni : 1;

	int is_xor = func >= UDMA_FUNC_XOR2 && func <= UDMA_FUNC_XOR16;

	if (!is_xor && func != UDMA_FUNC_COPY && func != UDMA_FUNC_CRC32C) {
		fprintf(stderr, "bench_burst: copy, crc32c or xor2..xor16 (no peer for %s)\n", udma_func_name(func));
		exit(2);
	}
	if (is_xor && size % 32) {
		fprintf(stderr, "bench_burst: ISA-L's xor_gen takes lengths that are multiples of 32 bytes\n");
		exit(2);
	}
	ninputs = ni;

	src = aligned_alloc(64, (span * burst * nsrc + 63) & ~(size_t)63);
	dst = aligned_alloc(64, (span * burst + 63) & ~(size_t)63);
	s = udma_session_create(func, &o);
	if (!src || !dst || !s || ni < 1) {
		fprintf(stderr, "setup failed (engine %s, function %s)\n", engine, udma_func_name(func));
		exit(1);
	}
	for (size_t j = 0; j < nsrc; j++) /* input j all 0x5a + j: an xor of them is one known byte */
		memset(src + j * burst * span, 0x5a + (int)j, span * burst);
	memset(dst, 0xa5, span * burst); /* poison: an engine that writes nothing fails check() */
	for (unsigned i = 0; i < burst; i++) {
		struct udma_req *r = udma_req_alloc(s);
		if (!r)
			exit(1);
		if (func != UDMA_FUNC_CRC32C)
			r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { dst + i * span, size } };
		for (int j = 0; j < ni; j++) {
			xv[i][j] = src + ((size_t)j * burst + i) * span;
			r->in[j] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { xv[i][j], size } };
		}
		xv[i][ni] = dst + i * span;
		reqs[i] = r;
	}
}

/* After the first round: every request's result is what a direct call gives. */
static void check(void)
{
	size_t span = size > peer ? size : peer;
	unsigned char want = 0;

	for (int j = 0; j < ninputs; j++)
		want ^= (unsigned char)(0x5a + j);
	for (unsigned i = 0; i < burst; i++) {
		const unsigned char *out = (const unsigned char *)dst + i * span;
		int bad = 0;
		if (func == UDMA_FUNC_CRC32C) {
			uint32_t got;
			memcpy(&got, reqs[i]->imm, 4);
			bad = le32toh(got) != ~crc32_iscsi(xv[i][0], (int)size, ~0u);
		} else {
			for (size_t k = 0; k < size && !bad; k++)
				bad = out[k] != (func == UDMA_FUNC_COPY ? 0x5a : want);
		}
		if (bad) {
			fprintf(stderr, "request %u: wrong result\n", i);
			exit(1);
		}
	}
}

static void report(unsigned long loops)
{
	double u[MAXREPS], p[MAXREPS], ratio[MAXREPS];

	if (loops) { /* callgrind: the udma side alone, a fixed count */
		for (unsigned long k = 0; k < loops; k++)
			udma_round();
		printf("%lu bursts of %u %s requests of %zu bytes on %s\n", loops, burst, udma_func_name(func), size, engine);
		return;
	}
	udma_round(); /* warm: the engine decided, the pages touched */
	check();
	peer_round();
	for (unsigned r = 0; r < reps; r++) {
		if (r & 1) { /* alternate which goes first */
			p[r] = timed(peer_round);
			u[r] = timed(udma_round);
		} else {
			u[r] = timed(udma_round);
			p[r] = timed(peer_round);
		}
		ratio[r] = u[r] / p[r];
	}
	qsort(u, reps, sizeof(*u), cmp_double);
	qsort(p, reps, sizeof(*p), cmp_double);
	qsort(ratio, reps, sizeof(*ratio), cmp_double);
	printf("udma %zu B %s, bursts of %u on %s: %.2f ns/request (%.2f-%.2f)\n", size, udma_func_name(func), burst, engine, u[reps / 2],
	       u[0], u[reps - 1]);
	if (func == UDMA_FUNC_COPY) {
		printf("memcpy %zu B: %.2f ns/copy (%.2f-%.2f)\n", peer, p[reps / 2], p[0], p[reps - 1]);
		printf("ratio (median of %u per-repetition ratios): %.2fx (%.2f-%.2f)\n", reps, ratio[reps / 2],
		       ratio[0], ratio[reps - 1]);
		return;
	}
	/* speed against ISA-L's, as udma perf --peers reports it: the inverse of the time ratio */
	printf("isa-l %s %zu B: %.2f ns/call (%.2f-%.2f)\n", func == UDMA_FUNC_CRC32C ? "crc32_iscsi" : "xor_gen", size,
	       p[reps / 2], p[0], p[reps - 1]);
	printf("speed vs isa-l (median of %u per-repetition ratios): %.3fx (%.3f-%.3f)\n", reps, 1 / ratio[reps / 2],
	       1 / ratio[reps - 1], 1 / ratio[0]);
}

int main(int argc, char **argv)
{
	unsigned long loops = 0;
	int c;

	while ((c = getopt(argc, argv, "f:s:p:b:e:r:t:n:")) != -1) {
		switch (c) {
		case 'f':
			if (udma_func_by_name(optarg, &func)) {
				fprintf(stderr, "unknown function %s\n", optarg);
				return 2;
			}
			break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'p': peer = strtoull(optarg, NULL, 0); break;
		case 'b': burst = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'e': engine = optarg; break;
		case 'r': reps = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': target_ns = strtod(optarg, NULL) * 1e6; break;
		case 'n': loops = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-f FUNC] [-s SIZE] [-p PEER] [-b BURST] [-e ENGINE] [-r REPS] [-t MS] [-n LOOPS]\n",
				argv[0]);
			return 2;
		}
	}
	if (!burst || burst > MAXB || !reps || reps > MAXREPS || !peer) {
		fprintf(stderr, "bursts of 1..%d, 1..%d repetitions, PEER > 0\n", MAXB, MAXREPS);
		return 2;
	}
	setup();
	report(loops);
	return 0;
}
