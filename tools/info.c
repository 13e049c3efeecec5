/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma info`: what this machine offers udma, and why not where it does
 * not: address modes, hugepages per size and NUMA node, domains, the
 * engines a client program gets (the default threads engine included) with
 * their functions and speeds (declared, and learned in a short calibration;
 * a hand-over cost never measured is called a guess), and the versions of
 * the libraries around it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <isa-l.h>
#include <rdma/fabric.h>
#include <udma/backend.h>
#include <udma/udma.h>

#include "cmd.h"
#include "perf.h"

static int info_usage(FILE *f, int status)
{
	fprintf(f, "usage: udma info [-n]\n"
		   "\n"
		   "What this machine offers udma: address modes (and why one is not\n"
		   "available), hugepages free per size and NUMA node, the domains, the\n"
		   "engines a client program gets (cpu, and the default threads engine with\n"
		   "a worker per CPU) with their functions and speeds, declared and learned\n"
		   "(a hand-over cost not measured yet is marked a guess), and the versions\n"
		   "of ISA-L, libfabric and DPDK.\n"
		   "\n"
		   "  -n, --no-learn   skip the calibration (about 0.1 s) that teaches the\n"
		   "                   engines their speeds; only declared speeds are shown\n"
		   "\n"
		   "Exit status: 0; 2 for bad usage.\n");
	return status;
}

static void modes(void)
{
	char why[160];

	printf("address modes (what a device sees):\n");
	for (int m = UDMA_ADDR_VA; m <= UDMA_ADDR_IOMMU; m++) {
		int err = udma_mode_probe((enum udma_addr_mode)m, why, sizeof(why));
		printf("  %-6s %-3s %s\n", udma_mode_name((enum udma_addr_mode)m), err ? "no" : "yes", why);
	}
}

static void hugepages(void)
{
	static const size_t huge[] = { 2ul << 20, 1ul << 30 };

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
}

static const char *kind_name(enum udma_domain_kind k)
{
	static const char *const names[] = { "system", "device", "shm", "process", "remote", "custom", "storage" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Can this process read another one's memory (ptrace rules, Yama)? Try on a child. */
static const char *process_probe(char *why, size_t len)
{
	static volatile uint64_t word = 0x75646d61;
	int pfd[2];
	char go = 1;

	if (pipe(pfd)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return why;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	const char *res = NULL;
	if (pid < 0 || read(pfd[0], &go, 1) != 1) {
		res = "cannot start a child to read from";
	} else {
		struct udma_domain *d = udma_process_domain_create(pid, "info-probe");
		uint64_t got = 0;
		struct iovec r = { (void *)&word, 8 }, l = { &got, 8 };
		int err = d ? udma_domain_pull(d, NULL, &r, 1, &l, 1, NULL, NULL) : -errno;
		if (err || got != word) {
			snprintf(why, len, "reading a child's memory: %s", err ? strerror(-err) : "wrong data");
			res = why;
		}
		if (d)
			udma_domain_destroy(d);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(pfd[0]);
	close(pfd[1]);
	return res;
}

static void domains(void)
{
	char why[160];

	printf("\ndomains:\n  registered now:");
	for (struct udma_domain *d = udma_domain_first(NULL); d; d = udma_domain_next(d, NULL))
		printf(" %s (%s)", udma_domain_id(d), kind_name(udma_domain_kind(d)));
	printf("\n  device   one per address mode above (udma_device_domain_create)\n");
	struct udma_domain *shm = udma_shm_create("info-probe", 4096, 0);
	if (shm) {
		printf("  shm      yes: memfd segments, shared over Unix sockets (udma_shm_create)\n");
		udma_domain_destroy(shm);
	} else {
		printf("  shm      no: %s\n", strerror(errno));
	}
	const char *no = process_probe(why, sizeof(why));
	printf("  process  %s%s\n", no ? "no: " : "yes: process_vm_readv/writev (udma_process_domain_create)",
	       no ? no : "");
}

/* "zero fill8 fill64 copy xor2..xor16 iscsi-crc32c ..." */
static void funcs_str(uint64_t funcs, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int f = 0; f < UDMA_FUNC_END && off < len; f++) {
		if (!(funcs >> f & 1))
			continue;
		if (f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16) {
			int last = f;
			while (last < UDMA_FUNC_XOR16 && (funcs >> (last + 1) & 1))
				last++;
			if (last > f) {
				off += (size_t)snprintf(buf + off, len - off, "%s%s..%s", off ? " " : "",
							udma_func_name((enum udma_func)f), udma_func_name((enum udma_func)last));
				f = last;
				continue;
			}
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "", udma_func_name((enum udma_func)f));
	}
}

static const enum udma_func shown[] = { UDMA_FUNC_COPY, UDMA_FUNC_FILL8, UDMA_FUNC_XOR(8), UDMA_FUNC_CRC32C };

static int show_engine(const struct udma_engine_info *in, void *arg)
{
	char funcs[512];
	int learned = 0;
	/* funcs64 only from a library that fills it (the size says) */
	int has64 = in->size >= offsetof(struct udma_engine_info, funcs64) + sizeof(in->funcs64);

	funcs_str(has64 && in->funcs64 ? in->funcs64 : in->funcs, funcs, sizeof(funcs));
	printf("  %-9s %s, %u lane%s, declared %.1f GB/s, %llu works done", in->name,
	       in->flags & UDMA_ENGINE_INLINE ? "inline" : "queued", in->lanes, in->lanes > 1 ? "s" : "",
	       (double)in->declared_speed / 1e9, (unsigned long long)in->completed);
	/* the hand-over starts as a guess; say which it is (a library too old to say: unknown) */
	int has_ol = in->size >= offsetof(struct udma_engine_info, overhead_learned) + sizeof(in->overhead_learned);
	if (!(in->flags & UDMA_ENGINE_INLINE))
		printf(", hand-over %llu ns (%s)", (unsigned long long)in->overhead_ns,
		       !has_ol ? "learned or guessed" : in->overhead_learned ? "learned" : "a guess, not measured yet");
	printf("\n            functions: %s\n", funcs);
	for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++)
		for (int c = 0; c < 8; c++)
			learned |= in->learned_speed[shown[k]][c] != 0;
	if (!learned)
		return 0;
	printf("            learned GB/s, by bytes touched:   <256B    <1K    <4K   <16K   <64K  <256K    <1M   >=1M\n");
	for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
		printf("              %-30s", udma_func_name(shown[k]));
		for (int c = 0; c < 8; c++) {
			uint64_t v = in->learned_speed[shown[k]][c];
			if (v)
				printf(" %6.1f", (double)v / 1e9);
			else
				printf(" %6s", "-");
		}
		printf("\n");
	}
	return 0;
}

static int has_threads(const struct udma_engine_info *in, void *arg)
{
	if (!strcmp(in->name, "threads"))
		*(int *)arg = 1;
	return 0;
}

/* Run a few requests of f through engine (poll mode) at each size, so it learns. */
static void calibrate(const char *engine, enum udma_func f)
{
	static const size_t sizes[] = { 64, 1024, 16384, 262144, 2u << 20 };
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = 16, .engine = engine };
	struct udma_session *s = udma_session_create(f, &so);
	int nin = udma_func_ninputs(f);
	char *mem;

	if (!s)
		return;
	mem = calloc((size_t)nin + 1, 2u << 20);
	for (size_t i = 0; mem && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t end = tool_now_ns() + 3000000; /* 3 ms a size */
		while (tool_now_ns() < end) {
			struct udma_req *r = udma_req_alloc(s);
			if (!r)
				break;
			if (f != UDMA_FUNC_CRC32C) {
				r->out.type = UDMA_BUF_LINEAR;
				r->out.linear.addr = mem + (size_t)nin * (2u << 20);
				r->out.linear.len = sizes[i];
			}
			for (int j = 0; j < nin; j++) {
				r->in[j].type = UDMA_BUF_LINEAR;
				r->in[j].linear.addr = mem + (size_t)j * (2u << 20);
				r->in[j].linear.len = sizes[i];
			}
			if (udma_submit(r)) {
				udma_req_free(r);
				break;
			}
			udma_req_wait(r);
			udma_req_free(r);
		}
	}
	free(mem);
	udma_session_destroy(s);
}

/* The engines a client program gets: the cpu engine, and the default
 * "threads" engine that comes with a program's first session (one made
 * here, as any client's would be). */
static void engines(int learn)
{
	struct udma_session *first = udma_session_create(UDMA_FUNC_COPY, NULL);
	int th = 0;

	if (first)
		udma_session_destroy(first);
	udma_engine_foreach(has_threads, &th);
	if (learn)
		for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
			calibrate("cpu", shown[k]);
			if (th)
				calibrate("threads", shown[k]);
		}
	printf("\nengines a client gets%s:\n", learn ? " (after a 0.1 s calibration; -n skips it)"
							 : " (not calibrated: speeds are declared, hand-overs guessed)");
	udma_engine_foreach(show_engine, NULL);
	if (!th)
		printf("  threads   no: %s\n", getenv("UDMA_NO_DEFAULT_ENGINES") ? "UDMA_NO_DEFAULT_ENGINES is set"
										: "the default engine could not start (UDMA_LOG=debug says why)");
	printf("  error     built in, for fault tests (udma perf -e error:corrupt=N:fail=N:delay=US)\n");
}

static void versions(void)
{
	char gp[512];

	printf("\nlibraries:\n  udma      %s (this tool built with %d.%d.%d)\n", udma_version(), UDMA_VERSION_MAJOR,
	       UDMA_VERSION_MINOR, UDMA_VERSION_PATCH);
	printf("  ISA-L     %d.%d.%d (XOR and CRC-32C kernels)\n", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION,
	       ISAL_PATCH_VERSION);
	uint32_t v = udma_fabric_libfabric_version();
	if (v)
		printf("  libfabric %u.%u (fi_version; loaded by udma fabric)\n", FI_MAJOR(v), FI_MINOR(v));
	else
		printf("  libfabric missing: %s\n", udma_strerror_last());
	const char *dv = perf_dpdk_version();
	if (dv)
		printf("  DPDK      %s (the peers of udma perf --peers)\n", strncmp(dv, "DPDK ", 5) ? dv : dv + 5);
	else
		printf("  DPDK      missing: %s\n", perf_dpdk_why());
	if (perf_gnuplot_path(gp, sizeof(gp)))
		printf("  gnuplot   %s (udma perf --plot)\n", gp);
	else
		printf("  gnuplot   missing: not in PATH (udma perf --plot writes the script only)\n");
}

int cmd_info(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "no-learn", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, learn = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "nh", longs, NULL)) != -1) {
		switch (opt) {
		case 'n':
			learn = 0;
			break;
		case 'h':
			return info_usage(stdout, 0);
		default:
			fprintf(stderr, "udma info: unknown option '%s'\n", argv[optind - 1]);
			return info_usage(stderr, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "udma info: unexpected argument '%s'\n", argv[optind]);
		return info_usage(stderr, 2);
	}
	printf("udma %s\n\n", udma_version());
	modes();
	hugepages();
	domains();
	engines(learn);
	versions();
	return 0;
}
