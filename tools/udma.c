/* SPDX-License-Identifier: BSD-3-Clause */
/* udma: the command that ships with the library. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <udma/udma.h>

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: udma <command> [options]\n"
		"\n"
		"commands:\n"
		"  info            address modes available here (and why not), hugepages free\n"
		"  demo [-m MODE]  allocate DMA memory in each mode (or MODE: va, pa, iommu),\n"
		"                  translate it both ways and report\n"
		"  help            this text\n"
		"\n"
		"environment: UDMA_LOG=error|warn|info|debug\n");
	return status;
}

static int cmd_info(void)
{
	static const size_t huge[] = { 2ul << 20, 1ul << 30 };
	char why[160];

	printf("udma %s\n\naddress modes:\n", udma_version());
	for (int m = UDMA_ADDR_VA; m <= UDMA_ADDR_IOMMU; m++) {
		int err = udma_mode_probe((enum udma_addr_mode)m, why, sizeof(why));
		printf("  %-6s %-3s %s\n", udma_mode_name((enum udma_addr_mode)m), err ? "no" : "yes", why);
	}
	printf("\nhugepages free:\n");
	for (size_t i = 0; i < 2; i++) {
		long all = udma_hugepages_free(huge[i], -1);
		printf("  %4zu MiB: %ld", huge[i] >> 20, all < 0 ? 0 : all);
		for (int node = 0; node < 64; node++) {
			long n = udma_hugepages_free(huge[i], node);
			if (n < 0)
				break;
			printf("  (node %d: %ld)", node, n);
		}
		printf("%s\n", all < 0 ? "  (size not supported here)" : "");
	}
	return 0;
}

/* Keeps the timed lookups from being optimised away. */
static volatile uint64_t demo_sink;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int demo_mode(enum udma_addr_mode mode)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = mode, .vfio_container_fd = -1 };
	struct udma_mem_opts mo = { .size = sizeof(mo), .flags = UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK };
	struct udma_domain *d = udma_device_domain_create(&o);
	struct udma_mem m;
	char why[160];

	if (!d) {
		udma_mode_probe(mode, why, sizeof(why));
		printf("%-6s skipped: %s\n", udma_mode_name(mode), why);
		return 0;
	}
	int err = udma_mem_alloc(d, 4u << 20, &mo, &m);
	if (err) {
		printf("%-6s alloc failed: %s\n", udma_mode_name(mode), strerror(-err));
		udma_domain_destroy(d);
		return 1;
	}
	size_t len = m.len;
	uint64_t iova = udma_va_to_iova(d, m.va, &len);
	void *back = udma_iova_to_va(d, iova, NULL);
	const int n = 1000000;
	double t0 = now_ns();
	for (int i = 0; i < n; i++)
		demo_sink += udma_va_to_iova(d, (char *)m.va + ((i * 4160u) & (m.len - 1)), NULL);
	double ns = (now_ns() - t0) / n;
	printf("%-6s %zu KiB at va %p  iova 0x%llx  pages %zu KiB  contiguous %zu KiB  round trip %s  lookup %.1f ns\n",
	       udma_mode_name(mode), m.len >> 10, m.va, (unsigned long long)iova, m.page_size >> 10, len >> 10,
	       back == m.va ? "ok" : "WRONG", ns);
	udma_mem_free(d, m.va, m.len);
	udma_domain_destroy(d);
	return back == m.va ? 0 : 1;
}

static int cmd_demo(int argc, char **argv)
{
	int opt, rc = 0, only = -1;

	optind = 1;
	while ((opt = getopt(argc, argv, "m:h")) != -1) {
		switch (opt) {
		case 'm':
			for (int m = 0; m <= UDMA_ADDR_IOMMU; m++)
				if (!strcmp(optarg, udma_mode_name((enum udma_addr_mode)m)))
					only = m;
			if (only < 0) {
				fprintf(stderr, "udma demo: unknown mode '%s'\n", optarg);
				return usage(stderr, 2);
			}
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	printf("4 MiB of DMA memory per address mode (2 MiB pages where free):\n");
	for (int m = UDMA_ADDR_VA; m <= UDMA_ADDR_IOMMU; m++)
		if (only < 0 || only == m)
			rc |= demo_mode((enum udma_addr_mode)m);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	if (!strcmp(argv[1], "demo"))
		return cmd_demo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout, 0);
	fprintf(stderr, "udma: unknown command '%s'\n", argv[1]);
	return usage(stderr, 2);
}
