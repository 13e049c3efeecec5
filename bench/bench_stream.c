/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Streaming mappings (udma_map/udma_unmap, behind dma_map_single): ns per
 * map and per unmap, in each address mode,
 *   - in pairs (map, unmap) of memory the domain owns and of foreign memory;
 *   - with N mappings live, unmapped oldest first (what a queue of I/Os
 *     does), for N from 1 to 65536: the cost must not grow with N.
 * The kernel's dma_map_single has no user-space peer to run beside it.
 *
 * usage: bench_stream [-r REPS]   (median of REPS runs, default 5)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <udma/udma.h>

#define STEP 256 /* bytes between mapped buffers */
#define MAXN 65536

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what)
{
	fprintf(stderr, "bench_stream: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ns per map+unmap pair of 256 B at 64 places in buf, for about 0.2 s */
static double pairs(struct udma_domain *d, char *buf)
{
	long n = 0;
	double t0 = now(), t;

	do {
		for (int i = 0; i < 1000; i++) {
			uint64_t h = udma_map(d, buf + (i % 64) * STEP, STEP, UDMA_DIR_BIDI);
			if (h == UDMA_BAD_IOVA || udma_unmap(d, h, STEP))
				die("map/unmap");
		}
		n += 1000;
		t = now();
	} while (t - t0 < 0.2);
	return (t - t0) / n * 1e9;
}

/* n mappings live, then unmapped oldest first: ns per map and per unmap */
static void queue(struct udma_domain *d, char *buf, int n, uint64_t *h, double *map_ns, double *unmap_ns)
{
	int rounds = n >= 4096 ? 1 : 4096 / n;
	double tm = 0, tu = 0;

	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		for (int i = 0; i < n; i++)
			if ((h[i] = udma_map(d, buf + (size_t)i * STEP, STEP, UDMA_DIR_BIDI)) == UDMA_BAD_IOVA)
				die("map");
		double t1 = now();
		for (int i = 0; i < n; i++)
			if (udma_unmap(d, h[i], STEP))
				die("unmap");
		tm += t1 - t0;
		tu += now() - t1;
	}
	*map_ns = tm / ((double)rounds * n) * 1e9;
	*unmap_ns = tu / ((double)rounds * n) * 1e9;
}

int main(int argc, char **argv)
{
	static const int sizes[] = { 1, 32, 1024, 16384, MAXN };
	int reps = 5, opt;

	while ((opt = getopt(argc, argv, "r:")) != -1)
		if (opt == 'r' && atoi(optarg) > 0)
			reps = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_stream [-r REPS]\n");
			return 2;
		}
	uint64_t *h = malloc(MAXN * sizeof(*h));
	char *foreign = aligned_alloc(4096, (size_t)MAXN * STEP);
	if (!h || !foreign)
		die("malloc");
	memset(foreign, 1, (size_t)MAXN * STEP);
	printf("udma streaming mappings, %d B each, median of %d\n\n", STEP, reps);
	printf("| mode | pair, owned memory | pair, foreign memory |");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		printf(" %d live: map / unmap |", sizes[k]);
	printf("\n|---|---:|---:|");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		printf("---:|");
	printf("\n");
	for (int mode = UDMA_ADDR_VA; mode <= UDMA_ADDR_IOMMU; mode++) {
		struct udma_device_opts o = { .size = sizeof(o), .mode = (enum udma_addr_mode)mode,
					      .vfio_container_fd = -1 };
		struct udma_domain *d = udma_device_domain_create(&o);
		struct udma_mem m;
		double a[reps], b[reps];

		if (!d) {
			printf("| %s | %s |\n", udma_mode_name((enum udma_addr_mode)mode), strerror(errno));
			continue;
		}
		if (udma_mem_alloc(d, 64 * STEP, NULL, &m))
			die("udma_mem_alloc");
		printf("| %s |", udma_mode_name((enum udma_addr_mode)mode));
		for (int r = 0; r < reps; r++)
			a[r] = pairs(d, m.va), b[r] = pairs(d, foreign);
		printf(" %.0f ns | %.0f ns |", median(a, reps), median(b, reps));
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			for (int r = 0; r < reps; r++)
				queue(d, foreign, sizes[k], h, &a[r], &b[r]);
			printf(" %.0f / %.0f ns |", median(a, reps), median(b, reps));
		}
		printf("\n");
		udma_mem_free(d, m.va, 64 * STEP);
		udma_domain_destroy(d);
	}
	free(foreign);
	free(h);
	return 0;
}
