/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma setup`: the machine's state for DMA memory, as dpdk-hugepages.py
 * shows it for DPDK: hugepages per size and NUMA node (and, as root,
 * reserving them), the locked-memory limit, access to physical addresses,
 * VFIO and IOMMU groups, and per address mode whether it works here and
 * what it needs. Reads /sys and /proc; changes nothing unless asked.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <udma/udma.h>

#include "cmd.h"
#include "util.h"

#define HP_SYS "/sys/kernel/mm/hugepages"
#define NODE_SYS "/sys/devices/system/node"
#define MAX_SIZES 4
#define MAX_NODES 64
#define MAX_RESERVE 8
#define REF_POOL (64ull << 20) /* a pool of 1024 blocks of 64 KiB, locked in PA mode */

struct hp_size {
	size_t kb;
	long nr, free, surplus;
	long node_nr[MAX_NODES], node_free[MAX_NODES]; /* -1: no such node */
};

struct machine {
	struct hp_size hp[MAX_SIZES];
	int nsizes, nnodes;
	struct rlimit memlock;
	int cap_ipc_lock, cap_sys_admin;
	int pa_err;            /* udma_mode_probe(PA) */
	char pa_why[160];
	int vfio_dev;          /* /dev/vfio/vfio exists */
	int iommu_groups;      /* -1: no /sys/kernel/iommu_groups */
	int vfio_pci_devices;  /* bound to vfio-pci */
};

static int setup_usage(FILE *f, int status)
{
	fprintf(f, "usage: udma setup [--json] [--hugepages SIZE:COUNT[@NODE]]...\n"
		   "\n"
		   "The machine's state for DMA memory: hugepages per size and NUMA node, the\n"
		   "locked-memory limit, access to physical addresses (/proc/self/pagemap),\n"
		   "VFIO and IOMMU groups, and per address mode (va, pa, iommu) whether it\n"
		   "works here and what it needs.\n"
		   "\n"
		   "  --hugepages SIZE:COUNT[@NODE]  reserve COUNT hugepages of SIZE (2M, 1G)\n"
		   "                   in all (spread by the kernel) or on NODE; root only.\n"
		   "                   May be repeated. The state is shown afterwards.\n"
		   "  --json           the state as JSON\n"
		   "\n"
		   "Exit status: 0; 1 when a reservation failed or fell short; 2 for bad usage.\n");
	return status;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Entries of a directory (those with a ':' in the name: PCI addresses); -1 if none. */
static int count_dir(const char *path, int pci_only)
{
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.' && (!pci_only || strchr(e->d_name, ':'));
	closedir(d);
	return n;
}

/* The sysfs file of kb-sized hugepages: in all (node < 0) or on node. */
static const char *hp_path(char *buf, size_t len, int node, size_t kb, const char *file)
{
	if (node < 0)
		snprintf(buf, len, HP_SYS "/hugepages-%zukB/%s", kb, file);
	else
		snprintf(buf, len, NODE_SYS "/node%d/hugepages/hugepages-%zukB/%s", node, kb, file);
	return buf;
}

static void read_hugepages(struct machine *m)
{
	DIR *d = opendir(HP_SYS);
	char path[160];

	for (struct dirent *e; d && (e = readdir(d)) && m->nsizes < MAX_SIZES;) {
		size_t kb;
		if (sscanf(e->d_name, "hugepages-%zukB", &kb) != 1)
			continue;
		struct hp_size *h = &m->hp[m->nsizes++];
		h->kb = kb;
		h->nr = read_long(hp_path(path, sizeof(path), -1, kb, "nr_hugepages"));
		h->free = read_long(hp_path(path, sizeof(path), -1, kb, "free_hugepages"));
		h->surplus = read_long(hp_path(path, sizeof(path), -1, kb, "surplus_hugepages"));
		for (int n = 0; n < MAX_NODES; n++) {
			h->node_nr[n] = read_long(hp_path(path, sizeof(path), n, kb, "nr_hugepages"));
			h->node_free[n] = read_long(hp_path(path, sizeof(path), n, kb, "free_hugepages"));
			if (h->node_nr[n] >= 0 && n + 1 > m->nnodes)
				m->nnodes = n + 1;
		}
	}
	if (d)
		closedir(d);
	for (int i = 1; i < m->nsizes; i++) /* smallest size first */
		for (int j = i; j > 0 && m->hp[j].kb < m->hp[j - 1].kb; j--) {
			struct hp_size t = m->hp[j];
			m->hp[j] = m->hp[j - 1], m->hp[j - 1] = t;
		}
}

/* Bit cap of this process's effective capabilities. */
static int has_cap(int cap)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (int)(eff >> cap & 1);
}

static void read_machine(struct machine *m)
{
	memset(m, 0, sizeof(*m));
	read_hugepages(m);
	getrlimit(RLIMIT_MEMLOCK, &m->memlock);
	m->cap_ipc_lock = has_cap(14);  /* CAP_IPC_LOCK: no memlock limit */
	m->cap_sys_admin = has_cap(21); /* CAP_SYS_ADMIN: pagemap PFNs */
	m->pa_err = udma_mode_probe(UDMA_ADDR_PA, m->pa_why, sizeof(m->pa_why));
	m->vfio_dev = access("/dev/vfio/vfio", F_OK) == 0;
	m->iommu_groups = count_dir("/sys/kernel/iommu_groups", 0);
	int n = count_dir("/sys/bus/pci/drivers/vfio-pci", 1);
	m->vfio_pci_devices = n < 0 ? 0 : n;
}

/* "8 MiB", "unlimited" */
static const char *limit_str(rlim_t v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		return "unlimited";
	return tool_size_str((size_t)v, buf, len);
}

static int memlock_ok(const struct machine *m)
{
	return m->cap_ipc_lock || m->memlock.rlim_cur == RLIM_INFINITY || m->memlock.rlim_cur >= REF_POOL;
}

static void show_text(const struct machine *m)
{
	char a[32], b[32];

	printf("hugepages (reserve: udma setup --hugepages SIZE:COUNT[@NODE], as root):\n");
	if (!m->nsizes)
		printf("  none: this kernel has no %s\n", HP_SYS);
	for (int i = 0; i < m->nsizes; i++) {
		const struct hp_size *h = &m->hp[i];
		printf("  %-8s total %ld, free %ld, surplus %ld", tool_size_str(h->kb << 10, a, sizeof(a)), h->nr,
		       h->free, h->surplus);
		for (int n = 0; n < m->nnodes; n++)
			if (h->node_nr[n] >= 0)
				printf("  node%d: %ld (%ld free)", n, h->node_nr[n], h->node_free[n]);
		printf("\n");
	}
	printf("\nmemlock: limit %s (hard %s)%s; %s\n", limit_str(m->memlock.rlim_cur, a, sizeof(a)),
	       limit_str(m->memlock.rlim_max, b, sizeof(b)),
	       m->cap_ipc_lock ? ", not applied: CAP_IPC_LOCK" : "",
	       memlock_ok(m) ? "enough for a 64 MiB PA-mode pool"
			     : "too low for a 64 MiB PA-mode pool: raise it (ulimit -l, memlock in "
			       "/etc/security/limits.conf, LimitMEMLOCK= for a service)");
	if (m->pa_err)
		printf("pagemap: PFNs hidden: %s\n", m->pa_why);
	else
		printf("pagemap: PFNs visible (CAP_SYS_ADMIN%s)\n", m->cap_sys_admin ? "" : "?");
	printf("vfio:    /dev/vfio/vfio %s; IOMMU groups: ", m->vfio_dev ? "present" : "absent");
	if (m->iommu_groups < 0)
		printf("none (no /sys/kernel/iommu_groups)");
	else
		printf("%d%s", m->iommu_groups, m->iommu_groups ? "" : " (IOMMU off? intel_iommu=on / amd_iommu=on)");
	printf("; devices bound to vfio-pci: %d\n", m->vfio_pci_devices);

	printf("\naddress modes:\n");
	printf("  va     yes: device address = virtual address (SVA, or an IOMMU mapped 1:1); needs nothing\n");
	printf("  pa     %s: %s", m->pa_err ? "no" : "yes", m->pa_err ? "needs CAP_SYS_ADMIN (run as root)" : "physical addresses readable");
	printf("; pins its memory (memlock %s)", memlock_ok(m) ? "ok" : "too low");
	long free2m = m->nsizes ? udma_hugepages_free(2u << 20, -1) : -1;
	printf("; hugepages keep it contiguous (%ld free 2 MiB)\n", free2m < 0 ? 0 : free2m);
	printf("  iommu  yes, emulated (udma's IOVAs, software engines); real VFIO %s\n",
	       m->vfio_dev && m->iommu_groups > 0 && m->vfio_pci_devices > 0
		       ? "possible: a device is bound to vfio-pci"
		       : "needs an IOMMU (groups), /dev/vfio/vfio and a device bound to vfio-pci");
}

static void show_json(const struct machine *m)
{
	struct jw w = { .f = stdout };

	jw_begin(&w, NULL, 0);
	jw_begin(&w, "hugepages", 1);
	for (int i = 0; i < m->nsizes; i++) {
		const struct hp_size *h = &m->hp[i];
		jw_begin(&w, NULL, 0);
		jw_uint(&w, "size", (uint64_t)h->kb << 10);
		jw_num(&w, "total", (double)h->nr);
		jw_num(&w, "free", (double)h->free);
		jw_num(&w, "surplus", (double)h->surplus);
		jw_begin(&w, "nodes", 1);
		for (int n = 0; n < m->nnodes; n++) {
			if (h->node_nr[n] < 0)
				continue;
			jw_begin(&w, NULL, 0);
			jw_uint(&w, "node", (uint64_t)n);
			jw_num(&w, "total", (double)h->node_nr[n]);
			jw_num(&w, "free", (double)h->node_free[n]);
			jw_end(&w, 0);
		}
		jw_end(&w, 1);
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	jw_begin(&w, "memlock", 0);
	if (m->memlock.rlim_cur == RLIM_INFINITY)
		jw_null(&w, "limit");
	else
		jw_uint(&w, "limit", (uint64_t)m->memlock.rlim_cur);
	jw_bool(&w, "cap_ipc_lock", m->cap_ipc_lock);
	jw_bool(&w, "enough_for_64MiB_pool", memlock_ok(m));
	jw_end(&w, 0);
	jw_begin(&w, "pagemap", 0);
	jw_bool(&w, "pfns_visible", !m->pa_err);
	jw_str(&w, "why", m->pa_why);
	jw_end(&w, 0);
	jw_begin(&w, "vfio", 0);
	jw_bool(&w, "dev_vfio", m->vfio_dev);
	jw_num(&w, "iommu_groups", m->iommu_groups);
	jw_uint(&w, "vfio_pci_devices", (uint64_t)m->vfio_pci_devices);
	jw_end(&w, 0);
	jw_begin(&w, "modes", 0);
	jw_bool(&w, "va", 1);
	jw_bool(&w, "pa", !m->pa_err);
	jw_bool(&w, "iommu_emulated", 1);
	jw_bool(&w, "iommu_vfio", m->vfio_dev && m->iommu_groups > 0 && m->vfio_pci_devices > 0);
	jw_end(&w, 0);
	jw_end(&w, 0);
	printf("\n");
}

struct reserve {
	size_t size;
	unsigned long long count;
	int node; /* -1: all */
};

/* "2M:64", "1G:4@1" */
static int parse_reserve(const char *s, struct reserve *r)
{
	const char *end;
	unsigned long long node;

	if (tool_parse_size_at(s, 16ull << 30, &end, &r->size) || *end != ':' || !r->size ||
	    (r->size & (r->size - 1)) || r->size < (64u << 10))
		return -1;
	char num[32];
	const char *at = strchr(end + 1, '@');
	size_t n = at ? (size_t)(at - end - 1) : strlen(end + 1);
	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, end + 1, n);
	num[n] = 0;
	if (tool_parse_uint(num, 0, 1u << 30, &r->count))
		return -1;
	r->node = -1;
	if (at) {
		if (tool_parse_uint(at + 1, 0, MAX_NODES - 1, &node))
			return -1;
		r->node = (int)node;
	}
	return 0;
}

/* Write the count, read back what the kernel gave. 0, or 1 (said why).
 * The line saying it worked goes to out (stderr under --json). */
static int reserve(const struct reserve *r, FILE *out)
{
	char path[160], sz[32], on[24] = "";

	if (r->node >= 0)
		snprintf(on, sizeof(on), " on node %d", r->node);
	hp_path(path, sizeof(path), r->node, r->size >> 10, "nr_hugepages");
	tool_size_str(r->size, sz, sizeof(sz));
	if (read_long(path) < 0) {
		fprintf(stderr, "udma setup: no %s hugepages%s here (%s)\n", sz, on, path);
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "udma setup: reserving hugepages needs root (writing %s): run it with sudo\n", path);
		return 1;
	}
	FILE *f = fopen(path, "w");
	int err = !f || fprintf(f, "%llu\n", r->count) < 0;
	if (f && fclose(f))
		err = 1;
	if (err) {
		fprintf(stderr, "udma setup: writing %s: %s\n", path, strerror(errno));
		return 1;
	}
	long got = read_long(path);
	if (got != (long)r->count) {
		fprintf(stderr, "udma setup: asked for %llu %s hugepages%s, the kernel gave %ld (memory fragmented? "
				"reserve at boot: hugepages=N on the kernel command line)\n", r->count, sz, on, got);
		return 1;
	}
	fprintf(out, "reserved %llu %s hugepages%s\n", r->count, sz, on);
	return 0;
}

int cmd_setup(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "hugepages", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reserve res[MAX_RESERVE];
	int opt, json = 0, nres = 0, rc = 0;
	struct machine m;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'H':
			if (nres == MAX_RESERVE || parse_reserve(optarg, &res[nres])) {
				fprintf(stderr, "udma setup: bad --hugepages '%s' (SIZE:COUNT[@NODE], e.g. 2M:64, 1G:4@0; "
						"at most %d)\n", optarg, MAX_RESERVE);
				return setup_usage(stderr, 2);
			}
			nres++;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return setup_usage(stdout, 0);
		default:
			fprintf(stderr, "udma setup: unknown option '%s'\n", argv[optind - 1]);
			return setup_usage(stderr, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "udma setup: unexpected argument '%s'\n", argv[optind]);
		return setup_usage(stderr, 2);
	}
	for (int i = 0; i < nres; i++)
		rc |= reserve(&res[i], json ? stderr : stdout);
	read_machine(&m);
	if (json)
		show_json(&m);
	else
		show_text(&m);
	return rc;
}
