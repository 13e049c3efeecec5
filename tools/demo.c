/* SPDX-License-Identifier: BSD-3-Clause */
/* `udma demo`: DMA memory in each address mode, translated both ways. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <udma/udma.h>

#include "cmd.h"
#include "util.h"

static int demo_usage(FILE *f, int status)
{
	fprintf(f, "usage: udma demo [-m MODE]\n"
		   "\n"
		   "Allocate 4 MiB of DMA memory in each address mode (or only MODE: va, pa,\n"
		   "iommu), on 2 MiB pages where free; translate it to device addresses and\n"
		   "back, time a million lookups, and report. A mode that cannot be used\n"
		   "here is skipped with the reason.\n"
		   "\n"
		   "Exit status: 0; 1 if an allocation or a round trip failed; 2 for bad usage.\n");
	return status;
}

/* Keeps the timed lookups from being optimised away. */
static volatile uint64_t demo_sink;

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
	uint64_t t0 = tool_now_ns();
	for (int i = 0; i < n; i++)
		demo_sink += udma_va_to_iova(d, (char *)m.va + ((i * 4160u) & (m.len - 1)), NULL);
	double ns = (double)(tool_now_ns() - t0) / n;
	printf("%-6s %zu KiB at va %p  iova 0x%llx  pages %zu KiB  contiguous %zu KiB  round trip %s  lookup %.1f ns\n",
	       udma_mode_name(mode), m.len >> 10, m.va, (unsigned long long)iova, m.page_size >> 10, len >> 10,
	       back == m.va ? "ok" : "WRONG", ns);
	udma_mem_free(d, m.va, m.len);
	udma_domain_destroy(d);
	return back == m.va ? 0 : 1;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc = 0, only = -1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":m:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'm':
			for (int m = 0; m <= UDMA_ADDR_IOMMU; m++)
				if (!strcmp(optarg, udma_mode_name((enum udma_addr_mode)m)))
					only = m;
			if (only < 0) {
				fprintf(stderr, "udma demo: unknown mode '%s': va, pa or iommu\n", optarg);
				return 2;
			}
			break;
		case 'h':
			return demo_usage(stdout, 0);
		case ':':
			fprintf(stderr, "udma demo: %s needs a value\n", argv[optind - 1]);
			return demo_usage(stderr, 2);
		default:
			fprintf(stderr, "udma demo: unknown option '%s'\n", argv[optind - 1]);
			return demo_usage(stderr, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "udma demo: unexpected argument '%s'\n", argv[optind]);
		return demo_usage(stderr, 2);
	}
	printf("4 MiB of DMA memory per address mode (2 MiB pages where free):\n");
	for (int m = UDMA_ADDR_VA; m <= UDMA_ADDR_IOMMU; m++)
		if (only < 0 || only == m)
			rc |= demo_mode((enum udma_addr_mode)m);
	return rc;
}
