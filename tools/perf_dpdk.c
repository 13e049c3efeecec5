/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK's EAL for the peers of `udma perf` (dmadev, mempool, translation):
 * initialised at most once per process, only when a peer needs it, with
 * arguments that work on a plain machine: --in-memory on hugepages when
 * at least 16 are free, else --no-huge; our own --file-prefix, whose
 * runtime directory is removed at the end.
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf.h"

#ifdef UDMA_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_version.h>

static int tried, up;
static char why[200], how[320];
/* The EAL keeps pointers into its argv until cleanup, and may overwrite
 * slots: the copies are freed from a list of their own. */
static char *eal_strs[20], *eal_argv[21];

int perf_dpdk_init(int cpu, int no_huge, unsigned mem_mb, const char *not_wanted)
{
	char lcore[16], prefix[64], mem[16], *argv[20];
	cpu_set_t saved;
	int argc = 0;

	if (tried)
		return up ? 0 : -1;
	tried = 1;
	if (not_wanted) {
		snprintf(why, sizeof(why), "%s", not_wanted);
		return -1;
	}
	if (sched_getaffinity(0, sizeof(saved), &saved) < 0) {
		snprintf(why, sizeof(why), "sched_getaffinity failed");
		return -1;
	}
	if (cpu < 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &saved))
				cpu = i;
	long huge = udma_hugepages_free(2ul << 20, -1);
	/* hugepages if the memory fits in those free (and at least 16 are) */
	int use_huge = !no_huge && huge >= 16 && (unsigned long)huge * 2 >= mem_mb;

	snprintf(lcore, sizeof(lcore), "%d", cpu);
	snprintf(mem, sizeof(mem), "%u", mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=udma-perf-%d", (int)getpid());
	argv[argc++] = "udma-perf";
	/* --no-huge means legacy memory, which --in-memory refuses: no shared config then */
	argv[argc++] = use_huge ? "--in-memory" : "--no-shconf";
	if (!use_huge)
		argv[argc++] = "--no-huge";
	argv[argc++] = "-m";
	argv[argc++] = mem;
	argv[argc++] = "--no-pci";
	argv[argc++] = "-l";
	argv[argc++] = lcore;
	argv[argc++] = "--iova-mode=va";
	argv[argc++] = "--log-level=*:error";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = prefix;
	argv[argc] = NULL;
	size_t len = 0;
	for (int i = 1; i < argc && len < sizeof(how); i++)
		len += (size_t)snprintf(how + len, sizeof(how) - len, "%s%s", i > 1 ? " " : "", argv[i]);
	for (int i = 0; i < argc; i++)
		eal_argv[i] = eal_strs[i] = strdup(argv[i]);
	if (rte_eal_init(argc, eal_argv) < 0) {
		snprintf(why, sizeof(why), "rte_eal_init: %s", rte_strerror(rte_errno));
		sched_setaffinity(0, sizeof(saved), &saved);
		return -1;
	}
	/* The EAL pins this thread to the lcore; give the scheduler the other
	 * CPUs back, or udma's worker threads (created later) would inherit it. */
	sched_setaffinity(0, sizeof(saved), &saved);
	up = 1;
	return 0;
}

int perf_dpdk_up(void)
{
	return up;
}

const char *perf_dpdk_why(void)
{
	return tried ? why : "DPDK not initialised";
}

const char *perf_dpdk_how(void)
{
	return how;
}

const char *perf_dpdk_version(void)
{
	return rte_version();
}

int perf_dpdk_client_cpus(cpu_set_t *set)
{
	if (!up)
		return -1;
	rte_cpuset_t c = rte_lcore_cpuset(rte_get_main_lcore());
	memcpy(set, &c, sizeof(c) < sizeof(*set) ? sizeof(c) : sizeof(*set));
	return 0;
}

void perf_dpdk_fini(void)
{
	char dir[PATH_MAX];

	if (!up)
		return;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	up = 0;
	for (int i = 0; i < 20; i++)
		free(eal_strs[i]);
	rmdir(dir);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		rmdir(dir); /* /var/run/dpdk, if nothing else is in it */
	}
}

#else

int perf_dpdk_init(int cpu, int no_huge, unsigned mem_mb, const char *not_wanted)
{
	return -1;
}

int perf_dpdk_up(void)
{
	return 0;
}

const char *perf_dpdk_why(void)
{
	return "not built with DPDK (no libdpdk, or -Ddpdk=disabled, when udma was configured)";
}

const char *perf_dpdk_how(void)
{
	return "";
}

const char *perf_dpdk_version(void)
{
	return NULL;
}

int perf_dpdk_client_cpus(cpu_set_t *set)
{
	return -1;
}

void perf_dpdk_fini(void)
{
}

#endif
