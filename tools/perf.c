/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf`: the command line, checked whole before any work, then the
 * run: the workload (perf_mover.c, perf_pool.c, perf_translate.c,
 * perf_domain.c, each with its own table or JSON), the machine's load and
 * the plot.
 */
#include <assert.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "perf.h"

static const char perf_usage_text[] =
	"usage: udma perf [WORKLOAD] [options]\n"
	"\n"
	"Measure udma against its peers. Workloads:\n"
	"  (default)        movers: requests of one function through the engines\n"
	"  --pool           pool get/put pairs (peer: DPDK rte_mempool)\n"
	"  --translate      VA<->IOVA translation lookups (peers: DPDK's translation calls)\n"
	"  --domain         domain pull/push (peers: memcpy, process_vm_readv)\n"
	"  --storage PATH   direct I/O to a file or block device (peer: fio, io_uring);\n"
	"                   --rw read|write|randread|randwrite (default randread),\n"
	"                   --storage-size SIZE creates PATH with data when missing;\n"
	"                   -s, -q, -d, -r, --peers apply (writes overwrite PATH)\n"
	"  --seq            a sequence copy -> crc32c -> xor8 (default 64K); --peers: the\n"
	"                   same steps as separate requests, and memcpy + ISA-L called\n"
	"                   directly; -s, -e, -d, -r, -y apply\n"
	"\n"
	"Movers:\n"
	"  -f, --func NAME      zero, fill8 (fill), fill64, copy (default), xor2..xor16,\n"
	"                       crc32c (iscsi-crc32c), copy-crc32c, compare, dualcast,\n"
	"                       compare-pattern, pq-gen, pq-validate, raid6-recover (8 sources),\n"
	"                       ec-encode, ec-update, ec-decode (8+3, Cauchy; 3 lost),\n"
	"                       dif-generate, dif-verify, dif-strip, dif-insert (512+8;\n"
	"                       -s: the data bytes, in whole blocks)\n"
	"  -s, --size SIZES     bytes per request: N, A..B (powers of two), A..BxF (factor F),\n"
	"                       or a comma list; K, M, G suffixes, KiB, or a bare B\n"
	"                       (default 4K; pool: 256, at least 1, with -y 16)\n"
	"  -q, --depth N        requests in flight per thread (default 32; pool: blocks held, 1)\n"
	"  -t, --threads N      client threads, one session each (default 1)\n"
	"  -e, --engine LIST    comma list of: cpu, threads[:WORKERS], auto (the scheduler\n"
	"                       picks per request), error[:corrupt=N][:fail=N][:delay=US]\n"
	"                       (default cpu,threads,auto)\n"
	"  -m, --mode MODE      completion: poll (default), callback, wait\n"
	"  -b, --burst N        submit and reap N requests per call (poll mode; no callbacks)\n"
	"  -d, --duration SEC   measured time per point (default 1; domain: 0.3 per side)\n"
	"  -y, --verify         check every result; a wrong one fails the run\n"
	"  -r, --reps N         repeat each point N times, engines and peers in turn, and\n"
	"                       report the median ops/s (default 1; translate: 11)\n"
	"  -p, --peers          the same workload on glibc, ISA-L, DPDK dma_skeleton\n"
	"                       (pool: DPDK rte_mempool; translate: DPDK); a peer that\n"
	"                       cannot run is listed as missing, with the reason\n"
	"      --lat-every N    time 1 request in N for the latency columns (default 8; 0: none);\n"
	"                       latency includes queueing behind the row's depth of requests\n"
	"\n"
	"Output:\n"
	"  -j, --json           JSON on stdout instead of the table (schema udma-perf/1)\n"
	"      --markdown       tables in Markdown\n"
	"  -o, --plot FILE      draw GB/s against size per engine (FILE.png or FILE.svg, gnuplot)\n"
	"      --progress, --no-progress   the live line on stderr (default: on a terminal)\n"
	"\n"
	"Translation: --cpu N (pin; default the last allowed CPU), --rep-ms MS (one\n"
	"  repetition, default 20).  DPDK: --no-huge (EAL without hugepages).\n"
	"\n"
	"Exit status: 0; 1 if an engine failed, a result was wrong or stdout could not\n"
	"be written (the reason on stderr); 2 for a bad command line, before any work;\n"
	"130 if interrupted (SIGINT, SIGTERM, SIGHUP).\n";

static int perf_usage(FILE *f, int status)
{
	fputs(perf_usage_text, f);
	return status;
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fputs("udma perf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(udma perf --help for the options)\n", stderr);
	return 2;
}

/* ---- values ------------------------------------------------------------------------ */

/* One item of -s: A, A..B or A..BxF. */
static int parse_size_item(const char *tok, struct perf_opts *o)
{
	unsigned long long f = 2;
	const char *p;
	size_t a, b;

	if (tool_parse_size_at(tok, PERF_MAX_SIZE, &p, &a))
		return bad("bad size '%s': want a number up to 256M, with K, M or G", tok);
	if (!*p) {
		if (o->nsizes == PERF_MAX_SIZES)
			return bad("more than %d sizes", PERF_MAX_SIZES);
		o->sizes[o->nsizes++] = a;
		return 0;
	}
	if (p[0] != '.' || p[1] != '.' || tool_parse_size_at(p + 2, PERF_MAX_SIZE, &p, &b) ||
	    (*p && (*p != 'x' || tool_parse_uint(p + 1, 2, 1024, &f))))
		return bad("bad size range '%s': want A..B or A..BxF (F from 2 to 1024), up to 256M", tok);
	if (!a || a > b)
		return bad("bad size range '%s': want 0 < A <= B", tok);
	for (size_t s = a; s <= b; s *= f) {
		if (o->nsizes == PERF_MAX_SIZES)
			return bad("size range '%s' gives more than %d sizes", tok, PERF_MAX_SIZES);
		o->sizes[o->nsizes++] = s;
		if (s > PERF_MAX_SIZE / f)
			break;
	}
	return 0;
}

static int parse_sizes(const char *arg, struct perf_opts *o)
{
	char *copy = strdup(arg), *save = NULL;
	int rc = 0;

	if (!copy)
		return bad("out of memory");
	o->nsizes = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
		rc = parse_size_item(tok, o);
	if (!rc && !o->nsizes)
		rc = bad("no sizes in '%s'", arg);
	free(copy);
	return rc;
}

/* error[:corrupt=N][:fail=N][:delay=US] */
static int parse_error_engine(const char *tok, struct perf_engine *e)
{
	char *copy = strdup(tok + 5), *save = NULL;
	unsigned long long v;
	int rc = 0;

	if (!copy)
		return bad("out of memory");
	e->kind = ENG_ERROR;
	e->err.size = sizeof(e->err);
	for (char *kv = strtok_r(copy, ":", &save); kv && !rc; kv = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || tool_parse_uint(eq + 1, 0, 1000000000, &v)) {
			rc = bad("bad engine '%s': error takes corrupt=N, fail=N, delay=US", tok);
			break;
		}
		*eq = 0;
		if (!strcmp(kv, "corrupt"))
			e->err.corrupt_every = (uint32_t)v;
		else if (!strcmp(kv, "fail"))
			e->err.fail_every = (uint32_t)v;
		else if (!strcmp(kv, "delay"))
			e->err.delay_us = (uint32_t)v;
		else
			rc = bad("bad engine '%s': unknown setting '%s' (corrupt, fail, delay)", tok, kv);
	}
	free(copy);
	return rc;
}

static int parse_engine(const char *tok, struct perf_opts *o)
{
	struct perf_engine *e;
	unsigned long long v;

	if (o->nengines == PERF_MAX_ENGINES)
		return bad("more than %d engines", PERF_MAX_ENGINES);
	e = &o->engines[o->nengines];
	memset(e, 0, sizeof(*e));
	if (!strcmp(tok, "cpu")) {
		e->kind = ENG_CPU;
	} else if (!strcmp(tok, "auto")) {
		e->kind = ENG_AUTO;
	} else if (!strncmp(tok, "threads", 7) && (!tok[7] || tok[7] == ':')) {
		e->kind = ENG_THREADS;
		e->workers = 1;
		if (tok[7] && tool_parse_uint(tok + 8, 1, 64, &v))
			return bad("bad engine '%s': threads:WORKERS with 1 to 64 workers", tok);
		if (tok[7])
			e->workers = (unsigned)v;
	} else if (!strncmp(tok, "error", 5) && (!tok[5] || tok[5] == ':')) {
		if (parse_error_engine(tok, e))
			return 2;
	} else {
		return bad("unknown engine '%s': cpu, threads[:N], auto or error[:...]", tok);
	}
	/* the shown (and registered) name: threads:1 is plain "threads" */
	if (e->kind == ENG_THREADS && e->workers > 1)
		snprintf(e->name, sizeof(e->name), "threads:%u", e->workers);
	else
		snprintf(e->name, sizeof(e->name), "%s", e->kind == ENG_CPU ? "cpu" : e->kind == ENG_AUTO ? "auto"
						   : e->kind == ENG_THREADS ? "threads" : "error");
	for (unsigned i = 0; i < o->nengines; i++)
		if (!strcmp(o->engines[i].name, e->name))
			return bad("engine '%s' given twice", e->name);
	o->nengines++;
	return 0;
}

static int parse_engines(const char *arg, struct perf_opts *o)
{
	char *copy = strdup(arg), *save = NULL;
	int rc = 0, n = 0;

	if (!copy)
		return bad("out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save), n++)
		rc = parse_engine(tok, o);
	free(copy);
	if (!rc && !n)
		rc = bad("no engine in '%s'", arg);
	return rc;
}

static int parse_func(const char *arg, struct perf_opts *o)
{
	const char *name = !strcmp(arg, "crc32c") ? "iscsi-crc32c" : !strcmp(arg, "fill") ? "fill8" : arg;

	if (udma_func_by_name(name, &o->func))
		return bad("unknown function '%s' (udma perf --help lists them)", arg);
	return 0;
}

static int parse_mode(const char *arg, struct perf_opts *o)
{
	if (!strcmp(arg, "poll"))
		o->mode = MODE_POLL;
	else if (!strcmp(arg, "callback") || !strcmp(arg, "cb"))
		o->mode = MODE_CALLBACK;
	else if (!strcmp(arg, "wait"))
		o->mode = MODE_WAIT;
	else
		return bad("bad --mode '%s': poll, callback or wait", arg);
	return 0;
}

/* ---- the command line ------------------------------------------------------------------ */

/* Options, as bits: which apply to which workload. */
enum {
	O_FUNC = 1 << 0, O_SIZE = 1 << 1, O_DEPTH = 1 << 2, O_THREADS = 1 << 3, O_ENGINE = 1 << 4,
	O_DUR = 1 << 5, O_VERIFY = 1 << 6, O_MODE = 1 << 7, O_PEERS = 1 << 8, O_PLOT = 1 << 9,
	O_LAT = 1 << 10, O_CPU = 1 << 11, O_REPS = 1 << 12, O_REPMS = 1 << 13, O_NOHUGE = 1 << 14,
	O_BURST = 1 << 15,
	O_STORAGE = 1 << 16,
};

static const char *const opt_names[] = {
	"--func", "--size", "--depth", "--threads", "--engine", "--duration", "--verify", "--mode",
	"--peers", "--plot", "--lat-every", "--cpu", "--reps", "--rep-ms", "--no-huge", "--burst",
	"--rw/--storage-size",
};

static const unsigned allowed[] = {
	[W_MOVER] = O_FUNC | O_SIZE | O_DEPTH | O_THREADS | O_ENGINE | O_DUR | O_VERIFY | O_MODE | O_PEERS | O_PLOT |
		    O_LAT | O_NOHUGE | O_REPS | O_BURST,
	[W_POOL] = O_SIZE | O_DEPTH | O_THREADS | O_DUR | O_VERIFY | O_PEERS | O_NOHUGE | O_REPS,
	[W_TRANSLATE] = O_PEERS | O_CPU | O_REPS | O_REPMS | O_NOHUGE,
	[W_DOMAIN] = O_DUR,
	[W_STORAGE] = O_SIZE | O_DEPTH | O_DUR | O_PEERS | O_REPS | O_STORAGE,
	[W_SEQ] = O_SIZE | O_ENGINE | O_DUR | O_VERIFY | O_PEERS | O_REPS,
};

static const char *const workload_opt[] = { "movers", "--pool", "--translate", "--domain", "--storage", "--seq" };

enum { L_MARKDOWN = 256, L_LAT, L_PROGRESS, L_NOPROGRESS, L_POOL, L_TRANSLATE, L_DOMAIN, L_CPU, L_REPMS, L_NOHUGE,
       L_STORAGE, L_STORAGE_SIZE, L_RW, L_SEQ };

static const struct option longs[] = {
	{ "func", required_argument, NULL, 'f' },
	{ "size", required_argument, NULL, 's' },
	{ "depth", required_argument, NULL, 'q' },
	{ "threads", required_argument, NULL, 't' },
	{ "engine", required_argument, NULL, 'e' },
	{ "duration", required_argument, NULL, 'd' },
	{ "verify", no_argument, NULL, 'y' },
	{ "mode", required_argument, NULL, 'm' },
	{ "peers", no_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "plot", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "markdown", no_argument, NULL, L_MARKDOWN },
	{ "lat-every", required_argument, NULL, L_LAT },
	{ "progress", no_argument, NULL, L_PROGRESS },
	{ "no-progress", no_argument, NULL, L_NOPROGRESS },
	{ "pool", no_argument, NULL, L_POOL },
	{ "translate", no_argument, NULL, L_TRANSLATE },
	{ "domain", no_argument, NULL, L_DOMAIN },
	{ "seq", no_argument, NULL, L_SEQ },
	{ "cpu", required_argument, NULL, L_CPU },
	{ "reps", required_argument, NULL, 'r' },
	{ "rep-ms", required_argument, NULL, L_REPMS },
	{ "no-huge", no_argument, NULL, L_NOHUGE },
	{ "burst", required_argument, NULL, 'b' },
	{ "storage", required_argument, NULL, L_STORAGE },
	{ "storage-size", required_argument, NULL, L_STORAGE_SIZE },
	{ "rw", required_argument, NULL, L_RW },
	{ NULL, 0, NULL, 0 },
};

/* What the command line said, beyond the options themselves. */
struct given {
	unsigned opts;  /* O_* */
	int workloads;  /* --pool, --translate, --domain seen */
};

/* An option that takes no value: 1 if c is one (set), else 0. */
static int flag_option(int c, struct perf_opts *o, struct given *g)
{
	switch (c) {
	case 'y': o->verify = 1; g->opts |= O_VERIFY; return 1;
	case 'p': o->peers = 1; g->opts |= O_PEERS; return 1;
	case 'j': o->json = 1; return 1;
	case L_MARKDOWN: o->markdown = 1; return 1;
	case L_PROGRESS: o->progress = 1; return 1;
	case L_NOPROGRESS: o->progress = 0; return 1;
	case L_POOL: o->workload = W_POOL; g->workloads++; return 1;
	case L_TRANSLATE: o->workload = W_TRANSLATE; g->workloads++; return 1;
	case L_DOMAIN: o->workload = W_DOMAIN; g->workloads++; return 1;
	case L_SEQ: o->workload = W_SEQ; g->workloads++; return 1;
	case L_NOHUGE: o->no_huge = 1; g->opts |= O_NOHUGE; return 1;
	default: return 0;
	}
}

/* An option with a value: 0, or the exit status (2). */
static int value_option(int c, const char *arg, struct perf_opts *o, struct given *g)
{
	unsigned long long v;

	switch (c) {
	case 'f':
		g->opts |= O_FUNC;
		return parse_func(arg, o);
	case 's':
		g->opts |= O_SIZE;
		return parse_sizes(arg, o);
	case 'e':
		g->opts |= O_ENGINE;
		return parse_engines(arg, o);
	case 'm':
		g->opts |= O_MODE;
		return parse_mode(arg, o);
	case 'o':
		g->opts |= O_PLOT;
		o->plot = arg;
		return 0;
	case 'q':
		g->opts |= O_DEPTH;
		if (tool_parse_uint(arg, 1, 65536, &v))
			return bad("bad --depth '%s': want 1 to 65536", arg);
		o->depth = (unsigned)v;
		return 0;
	case 't':
		g->opts |= O_THREADS;
		if (tool_parse_uint(arg, 1, PERF_MAX_THREADS, &v))
			return bad("bad --threads '%s': want 1 to %d", arg, PERF_MAX_THREADS);
		o->threads = (unsigned)v;
		return 0;
	case 'd':
		g->opts |= O_DUR;
		if (tool_parse_double(arg, 0.001, 3600, &o->duration))
			return bad("bad --duration '%s': want seconds from 0.001 to 3600", arg);
		return 0;
	case L_LAT:
		g->opts |= O_LAT;
		if (tool_parse_uint(arg, 0, 1000000, &v))
			return bad("bad --lat-every '%s': want 0 (none) to 1000000", arg);
		o->lat_every = (unsigned)v;
		return 0;
	case L_CPU:
		g->opts |= O_CPU;
		if (tool_parse_uint(arg, 0, CPU_SETSIZE - 1, &v))
			return bad("bad --cpu '%s': want 0 to %d", arg, CPU_SETSIZE - 1);
		o->cpu = (int)v;
		return 0;
	case 'r':
		g->opts |= O_REPS;
		if (tool_parse_uint(arg, 1, 101, &v))
			return bad("bad --reps '%s': want 1 to 101", arg);
		o->reps = (int)v;
		return 0;
	case 'b':
		g->opts |= O_BURST;
		if (tool_parse_uint(arg, 1, 65536, &v))
			return bad("bad --burst '%s': want 1 to 65536", arg);
		o->burst = (unsigned)v;
		return 0;
	case L_STORAGE:
		o->workload = W_STORAGE;
		o->storage = arg;
		g->workloads++;
		return 0;
	case L_STORAGE_SIZE: {
		size_t sz;
		g->opts |= O_STORAGE;
		if (tool_parse_size(arg, (size_t)1 << 46, &sz) || !sz)
			return bad("bad --storage-size '%s'", arg);
		o->storage_size = sz;
		return 0;
	}
	case L_RW:
		g->opts |= O_STORAGE;
		for (int k = 0; k < 4; k++)
			if (!strcmp(arg, (const char *const[]){ "read", "write", "randread", "randwrite" }[k])) {
				o->storage_rw = k;
				return 0;
			}
		return bad("bad --rw '%s': read, write, randread or randwrite", arg);
	case L_REPMS:
		g->opts |= O_REPMS;
		if (tool_parse_double(arg, 0.1, 10000, &o->rep_ms))
			return bad("bad --rep-ms '%s': want 0.1 to 10000", arg);
		return 0;
	}
	assert(!"an option getopt_long() knows and this switch does not");
	return 2;
}

static void defaults(struct perf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->func = UDMA_FUNC_COPY;
	o->sizes[0] = 4096;
	o->nsizes = 1;
	o->threads = 1;
	o->mode = MODE_POLL;
	o->lat_every = 8;
	o->progress = -1;
	o->cpu = -1;
	o->reps = 11;
	o->rep_ms = 20;
	o->storage_rw = 2; /* randread */
}

/* What no single option shows: options against each other and the
 * workload, and what would fail only once the work began. */
static int check(struct perf_opts *o, const struct given *g)
{
	unsigned extra = g->opts & ~allowed[o->workload];
	char why[PATH_MAX + 64];
	cpu_set_t mine;

	if (g->workloads > 1)
		return bad("give one of --pool, --translate, --domain, --storage, --seq");
	if (o->json && o->markdown)
		return bad("--json and --markdown exclude each other");
	if (o->workload == W_SEQ && (o->json || o->markdown))
		return bad("--seq prints its table as text only");
	if (extra)
		return bad("%s does not apply to the %s workload", opt_names[__builtin_ctz(extra)],
			   workload_opt[o->workload]);
	if (o->burst && o->mode != MODE_POLL)
		return bad("--burst reaps completions: it needs --mode poll");
	if (o->plot && perf_plot_check(o->plot, why, sizeof(why)))
		return bad("bad --plot '%s': %s", o->plot, why);
	for (unsigned i = 0; o->workload == W_POOL && (g->opts & O_SIZE) && i < o->nsizes; i++)
		if (o->sizes[i] < (o->verify ? 16 : 1))
			return bad("bad --size %zu for --pool: blocks of at least %d bytes%s", o->sizes[i],
				   o->verify ? 16 : 1, o->verify ? " (-y stamps 16 bytes in each)" : "");
	if (o->cpu >= 0 && (sched_getaffinity(0, sizeof(mine), &mine) || !CPU_ISSET(o->cpu, &mine)))
		return bad("bad --cpu %d: not a CPU this process may run on", o->cpu);
	return 0;
}

/* The defaults that depend on the workload. */
static void workload_defaults(struct perf_opts *o, const struct given *g)
{
	if (!o->nengines)
		parse_engines("cpu,threads,auto", o);
	if (!o->depth)
		o->depth = o->workload == W_POOL ? 1 : 32;
	if (!(g->opts & O_SIZE) && o->workload == W_POOL)
		o->sizes[0] = 256;
	if (!(g->opts & O_SIZE) && o->workload == W_SEQ)
		o->sizes[0] = 64 << 10;
	if (!(g->opts & O_DUR))
		o->duration = o->workload == W_DOMAIN ? 0.3 : 1.0;
	if (!(g->opts & O_REPS) && o->workload != W_TRANSLATE)
		o->reps = 1;
	if (o->mode == MODE_WAIT && o->depth > 1 && !(g->opts & O_DEPTH))
		o->depth = 1; /* a waiting client has one request out unless told otherwise */
}

/* 0, the exit status for a bad command line (2), or -1 after --help. */
static int parse(int argc, char **argv, struct perf_opts *o)
{
	struct given g = { 0 };
	int c, rc = 0;

	defaults(o);
	optind = 1;
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, ":f:s:q:t:e:d:ym:pjo:r:b:h", longs, NULL)) != -1) {
		if (c == 'h')
			return perf_usage(stdout, 0) - 1;
		if (c == ':')
			return bad("%s needs a value", argv[optind - 1]);
		if (c == '?')
			return bad("unknown option '%s'", argv[optind - 1]);
		if (!flag_option(c, o, &g))
			rc = value_option(c, optarg, o, &g);
	}
	if (rc)
		return rc;
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	workload_defaults(o, &g);
	return check(o, &g);
}

/* ---- the command ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	perf_interrupted = 1;
}

static int run(struct perf_ctx *px)
{
	switch (px->o->workload) {
	case W_MOVER:
		return perf_mover_run(px);
	case W_POOL:
		return perf_pool_run(px);
	case W_TRANSLATE:
		return perf_translate_run(px);
	case W_DOMAIN:
		return perf_domain_run(px);
	case W_STORAGE:
		return perf_storage_run(px);
	case W_SEQ:
		return perf_seq_run(px);
	}
	return -1;
}

/* The machine's state during the run, under the table: figures from a busy
 * machine are not this machine's figures. */
static void print_machine(const struct perf_opts *o)
{
	double load = perf_other_load();

	if (load >= 0)
		printf("\nother processes: %.2f of %ld CPUs busy on average during the run%s\n", load,
		       sysconf(_SC_NPROCESSORS_ONLN), load > 0.2 ? " (the figures are disturbed)" : "");
	double xcpu = o->workload == W_MOVER ? perf_cross_cpu_ns() : -1;
	if (xcpu > 0)
		printf("a cache line passed between two CPUs: %.0f ns a round trip, at the end of the run\n", xcpu);
}

int cmd_perf(int argc, char **argv)
{
	struct perf_opts o;
	struct perf_ctx px;
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	memset(&px, 0, sizeof(px));
	px.o = &o;
	perf_clock_init();
	perf_busy_start();
	/* a hang-up stops the run as the others do, so that DPDK's runtime
	 * directory and the engines are cleaned up on the way out */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	rc = run(&px);
	perf_progress_clear(&px);
	if (!o.json)
		print_machine(&o);
	if (!rc && o.plot)
		rc = perf_plot(&px);
	perf_dpdk_fini();
	perf_results_free(&px);
	if (px.failed) {
		fprintf(stderr, "udma perf: failed: %s\n", px.why);
		return 1;
	}
	if (perf_interrupted) {
		fprintf(stderr, "udma perf: interrupted\n");
		return 130;
	}
	return rc ? 1 : 0;
}
