/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf`: the command line, the progress line, and the run: workload,
 * then the table, JSON and plot. The workloads live in perf_*.c.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "perf.h"

volatile sig_atomic_t perf_interrupted;

static const char perf_usage_text[] =
	"usage: udma perf [WORKLOAD] [options]\n"
	"\n"
	"Measure udma against its peers. Workloads:\n"
	"  (default)        movers: requests of one function through the engines\n"
	"  --pool           pool get/put pairs (peer: DPDK rte_mempool)\n"
	"  --translate      VA<->IOVA translation lookups (peers: DPDK's translation calls)\n"
	"  --domain         domain pull/push (peers: memcpy, process_vm_readv)\n"
	"\n"
	"Movers:\n"
	"  -f, --func NAME      zero, fill8 (fill), fill64, copy (default), xor2..xor16,\n"
	"                       crc32c (iscsi-crc32c), copy-crc32c, compare\n"
	"  -s, --size SIZES     bytes per request: N, A..B (powers of two), A..BxF (factor F),\n"
	"                       or a comma list; K, M, G suffixes (default 4K)\n"
	"  -q, --depth N        requests in flight per thread (default 32; pool: blocks held, 1)\n"
	"  -t, --threads N      client threads, one session each (default 1)\n"
	"  -e, --engine LIST    comma list of: cpu, threads[:WORKERS], auto (the scheduler\n"
	"                       picks per request), error[:corrupt=N][:fail=N][:delay=US]\n"
	"                       (default cpu,threads,auto)\n"
	"  -m, --mode MODE      completion: poll (default), callback, wait\n"
	"  -d, --duration SEC   measured time per point (default 1; domain: 0.3 per side)\n"
	"  -y, --verify         check every result; a wrong one fails the run\n"
	"  -r, --reps N         repeat each point N times, engines and peers in turn, and\n"
	"                       report the median ops/s (default 1; translate: 11)\n"
	"  -p, --peers          the same workload on glibc, ISA-L, DPDK dma_skeleton\n"
	"                       (pool: DPDK rte_mempool; translate: DPDK); a peer that\n"
	"                       cannot run is listed as missing, with the reason\n"
	"      --lat-every N    time 1 request in N for the latency columns (default 8; 0: none)\n"
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
	"Exit status: 0; 1 if an engine failed or a result was wrong (the reason on\n"
	"stderr); 2 for a bad command line; 130 if interrupted.\n";

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

double perf_now(void)
{
	return (double)perf_clock_ns() * 1e-9;
}

const char *perf_size_str(size_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	unsigned u = 0;

	while (u < 3 && n >= 1024 && !(n & 1023)) {
		n >>= 10;
		u++;
	}
	snprintf(buf, len, "%zu %s", n, unit[u]);
	return buf;
}

/* ---- parsing --------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "4096", "4K", "4k", "4KiB", "1M", "1G"; *end past what was used. */
static int parse_size1(const char *s, const char **end, size_t *out)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	unsigned shift = 0;
	switch (toupper((unsigned char)*e)) {
	case 'K': shift = 10; e++; break;
	case 'M': shift = 20; e++; break;
	case 'G': shift = 30; e++; break;
	}
	if (shift && e[0] == 'i' && e[1] == 'B')
		e += 2;
	else if (*e == 'B')
		e++;
	if (errno || v > (PERF_MAX_SIZE >> shift))
		return -1;
	*out = (size_t)(v << shift);
	*end = e;
	return 0;
}

static int parse_sizes(const char *arg, struct perf_opts *o)
{
	char *copy = strdup(arg), *save = NULL;
	int rc = 0;

	o->nsizes = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		const char *p;
		size_t a, b;
		if (parse_size1(tok, &p, &a)) {
			rc = bad("bad size '%s': want a number up to 256M, with K, M or G", tok);
			break;
		}
		if (!*p) {
			if (o->nsizes == PERF_MAX_SIZES)
				rc = bad("more than %d sizes", PERF_MAX_SIZES);
			else
				o->sizes[o->nsizes++] = a;
			continue;
		}
		unsigned long long f = 2;
		if (p[0] != '.' || p[1] != '.' || parse_size1(p + 2, &p, &b) ||
		    (*p && (*p != 'x' || parse_uint(p + 1, 2, 1024, &f)))) {
			rc = bad("bad size range '%s': want A..B or A..BxF (F from 2 to 1024), up to 256M", tok);
			break;
		}
		if (!a || a > b) {
			rc = bad("bad size range '%s': want 0 < A <= B", tok);
			break;
		}
		for (size_t s = a; s <= b; s *= f) {
			if (o->nsizes == PERF_MAX_SIZES) {
				rc = bad("size range '%s' gives more than %d sizes", tok, PERF_MAX_SIZES);
				break;
			}
			o->sizes[o->nsizes++] = s;
			if (s > PERF_MAX_SIZE / f)
				break;
		}
	}
	if (!rc && !o->nsizes)
		rc = bad("no sizes in '%s'", arg);
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
		if (tok[7] && parse_uint(tok + 8, 1, 64, &v))
			return bad("bad engine '%s': threads:WORKERS with 1 to 64 workers", tok);
		if (tok[7])
			e->workers = (unsigned)v;
	} else if (!strncmp(tok, "error", 5) && (!tok[5] || tok[5] == ':')) {
		e->kind = ENG_ERROR;
		e->err.size = sizeof(e->err);
		char *copy = strdup(tok + 5), *save = NULL;
		int rc = 0;
		for (char *kv = strtok_r(copy, ":", &save); kv && !rc; kv = strtok_r(NULL, ":", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq || parse_uint(eq + 1, 0, 1000000000, &v)) {
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
		if (rc)
			return rc;
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

	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save), n++)
		rc = parse_engine(tok, o);
	free(copy);
	if (!rc && !n)
		rc = bad("no engine in '%s'", arg);
	return rc;
}

/* Options, as bits: which apply to which workload. */
enum {
	O_FUNC = 1 << 0, O_SIZE = 1 << 1, O_DEPTH = 1 << 2, O_THREADS = 1 << 3, O_ENGINE = 1 << 4,
	O_DUR = 1 << 5, O_VERIFY = 1 << 6, O_MODE = 1 << 7, O_PEERS = 1 << 8, O_PLOT = 1 << 9,
	O_LAT = 1 << 10, O_CPU = 1 << 11, O_REPS = 1 << 12, O_REPMS = 1 << 13, O_NOHUGE = 1 << 14,
};

static const char *const opt_names[] = {
	"--func", "--size", "--depth", "--threads", "--engine", "--duration", "--verify", "--mode",
	"--peers", "--plot", "--lat-every", "--cpu", "--reps", "--rep-ms", "--no-huge",
};

static const unsigned allowed[] = {
	[W_MOVER] = O_FUNC | O_SIZE | O_DEPTH | O_THREADS | O_ENGINE | O_DUR | O_VERIFY | O_MODE | O_PEERS | O_PLOT |
		    O_LAT | O_NOHUGE | O_REPS,
	[W_POOL] = O_SIZE | O_DEPTH | O_THREADS | O_DUR | O_VERIFY | O_PEERS | O_NOHUGE | O_REPS,
	[W_TRANSLATE] = O_PEERS | O_CPU | O_REPS | O_REPMS | O_NOHUGE,
	[W_DOMAIN] = O_DUR,
};

static const char *const workload_opt[] = { "movers", "--pool", "--translate", "--domain" };

static int parse(int argc, char **argv, struct perf_opts *o)
{
	enum { L_MARKDOWN = 256, L_LAT, L_PROGRESS, L_NOPROGRESS, L_POOL, L_TRANSLATE, L_DOMAIN, L_CPU, L_REPS,
	       L_REPMS, L_NOHUGE };
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
		{ "cpu", required_argument, NULL, L_CPU },
		{ "reps", required_argument, NULL, 'r' },
		{ "rep-ms", required_argument, NULL, L_REPMS },
		{ "no-huge", no_argument, NULL, L_NOHUGE },
		{ NULL, 0, NULL, 0 },
	};
	unsigned given = 0;
	int c, workloads = 0;
	unsigned long long v;
	char *end;

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
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:s:q:t:e:d:ym:pjo:r:h", longs, NULL)) != -1) {
		switch (c) {
		case 'f': {
			const char *name = !strcmp(optarg, "crc32c") ? "iscsi-crc32c" : !strcmp(optarg, "fill") ? "fill8"
															: optarg;
			if (udma_func_by_name(name, &o->func))
				return bad("unknown function '%s': zero, fill8, fill64, copy, xor2..xor16, crc32c, "
					   "copy-crc32c, compare", optarg);
			given |= O_FUNC;
			break;
		}
		case 's':
			if (parse_sizes(optarg, o))
				return 2;
			given |= O_SIZE;
			break;
		case 'q':
			if (parse_uint(optarg, 1, 65536, &v))
				return bad("bad --depth '%s': want 1 to 65536", optarg);
			o->depth = (unsigned)v;
			given |= O_DEPTH;
			break;
		case 't':
			if (parse_uint(optarg, 1, PERF_MAX_THREADS, &v))
				return bad("bad --threads '%s': want 1 to %d", optarg, PERF_MAX_THREADS);
			o->threads = (unsigned)v;
			given |= O_THREADS;
			break;
		case 'e':
			if (parse_engines(optarg, o))
				return 2;
			given |= O_ENGINE;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->duration >= 0.001 && o->duration <= 3600))
				return bad("bad --duration '%s': want seconds from 0.001 to 3600", optarg);
			given |= O_DUR;
			break;
		case 'y':
			o->verify = 1;
			given |= O_VERIFY;
			break;
		case 'm':
			if (!strcmp(optarg, "poll"))
				o->mode = MODE_POLL;
			else if (!strcmp(optarg, "callback") || !strcmp(optarg, "cb"))
				o->mode = MODE_CALLBACK;
			else if (!strcmp(optarg, "wait"))
				o->mode = MODE_WAIT;
			else
				return bad("bad --mode '%s': poll, callback or wait", optarg);
			given |= O_MODE;
			break;
		case 'p':
			o->peers = 1;
			given |= O_PEERS;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'o': {
			const char *dot = strrchr(optarg, '.');
			if (!dot || (strcmp(dot, ".png") && strcmp(dot, ".svg")))
				return bad("bad --plot '%s': the file name ends in .png or .svg", optarg);
			o->plot = optarg;
			given |= O_PLOT;
			break;
		}
		case 'h':
			return perf_usage(stdout, 0) - 1; /* -1: done, exit 0 */
		case L_MARKDOWN:
			o->markdown = 1;
			break;
		case L_LAT:
			if (parse_uint(optarg, 0, 1000000, &v))
				return bad("bad --lat-every '%s': want 0 (none) to 1000000", optarg);
			o->lat_every = (unsigned)v;
			given |= O_LAT;
			break;
		case L_PROGRESS:
			o->progress = 1;
			break;
		case L_NOPROGRESS:
			o->progress = 0;
			break;
		case L_POOL:
			o->workload = W_POOL;
			workloads++;
			break;
		case L_TRANSLATE:
			o->workload = W_TRANSLATE;
			workloads++;
			break;
		case L_DOMAIN:
			o->workload = W_DOMAIN;
			workloads++;
			break;
		case L_CPU:
			if (parse_uint(optarg, 0, CPU_SETSIZE - 1, &v))
				return bad("bad --cpu '%s': want 0 to %d", optarg, CPU_SETSIZE - 1);
			o->cpu = (int)v;
			given |= O_CPU;
			break;
		case 'r':
			if (parse_uint(optarg, 1, 101, &v))
				return bad("bad --reps '%s': want 1 to 101", optarg);
			o->reps = (int)v;
			given |= O_REPS;
			break;
		case L_REPMS:
			errno = 0;
			o->rep_ms = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->rep_ms >= 0.1 && o->rep_ms <= 10000))
				return bad("bad --rep-ms '%s': want 0.1 to 10000", optarg);
			given |= O_REPMS;
			break;
		case L_NOHUGE:
			o->no_huge = 1;
			given |= O_NOHUGE;
			break;
		case ':':
			return bad("%s needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (workloads > 1)
		return bad("give one of --pool, --translate, --domain");
	if (o->json && o->markdown)
		return bad("--json and --markdown exclude each other");
	unsigned extra = given & ~allowed[o->workload];
	if (extra)
		return bad("%s does not apply to the %s workload", opt_names[__builtin_ctz(extra)],
			   workload_opt[o->workload]);
	if (!o->nengines)
		parse_engines("cpu,threads,auto", o);
	if (!o->depth)
		o->depth = o->workload == W_POOL ? 1 : 32;
	if (!(given & O_SIZE) && o->workload == W_POOL)
		o->sizes[0] = 256;
	if (!(given & O_DUR))
		o->duration = o->workload == W_DOMAIN ? 0.3 : 1.0;
	if (!(given & O_REPS) && o->workload != W_TRANSLATE)
		o->reps = 1;
	if (o->mode == MODE_WAIT && o->depth > 1 && (given & O_DEPTH) == 0)
		o->depth = 1; /* a waiting client has one request out unless told otherwise */
	return 0;
}

/* ---- results, failures, progress ------------------------------------------------- */

struct perf_result *perf_result_add(struct perf_ctx *px)
{
	if (px->nres == px->cap) {
		unsigned cap = px->cap ? px->cap * 2 : 32;
		struct perf_result *r = realloc(px->res, cap * sizeof(*r));
		if (!r)
			return NULL;
		px->res = r;
		px->cap = cap;
	}
	struct perf_result *r = &px->res[px->nres];
	memset(r, 0, sizeof(*r));
	r->lat = calloc(1, sizeof(*r->lat));
	if (!r->lat)
		return NULL;
	px->nres++;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void perf_result_finish(struct perf_ctx *px, unsigned from)
{
	unsigned to = from;

	for (unsigned i = from; i < px->nres; i++) {
		struct perf_result *r = &px->res[i];
		if (!r->nsamples) {
			free(r->lat);
			continue;
		}
		double v[101];
		memcpy(v, r->samples, r->nsamples * sizeof(v[0]));
		qsort(v, r->nsamples, sizeof(v[0]), cmp_double);
		r->ops_s = r->nsamples & 1 ? v[r->nsamples / 2] : (v[r->nsamples / 2 - 1] + v[r->nsamples / 2]) / 2;
		if (to != i)
			px->res[to] = *r;
		to++;
	}
	px->nres = to;
}

void perf_missing(struct perf_ctx *px, const char *peer, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < px->nmissing; i++)
		if (!strcmp(px->missing[i].peer, peer) && !strcmp(px->missing[i].reason, reason))
			return;
	if (px->nmissing == sizeof(px->missing) / sizeof(px->missing[0]))
		return;
	snprintf(px->missing[px->nmissing].peer, sizeof(px->missing[0].peer), "%s", peer);
	snprintf(px->missing[px->nmissing].reason, sizeof(px->missing[0].reason), "%s", reason);
	px->nmissing++;
}

void perf_fail(struct perf_ctx *px, const char *fmt, ...)
{
	va_list ap;

	if (px->failed)
		return;
	px->failed = 1;
	va_start(ap, fmt);
	vsnprintf(px->why, sizeof(px->why), fmt, ap);
	va_end(ap);
}

int perf_progress_on(const struct perf_ctx *px)
{
	return px->o->progress > 0 || (px->o->progress < 0 && isatty(STDERR_FILENO));
}

void perf_progress_clear(const struct perf_ctx *px)
{
	if (perf_progress_on(px))
		fputs("\r\033[K", stderr);
}

static void fmt_rate(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1f k", v / 1e3);
	else
		snprintf(buf, len, "%.0f ", v);
}

void perf_measure(struct perf_ctx *px, int run, int *phase, const volatile int *stop, const char *what,
		  uint64_t (*live_ops)(void *arg), void *arg)
{
	if (run) {
		double warm = px->o->duration / 10;
		perf_wait(px, warm < 0.02 ? 0.02 : warm > 0.2 ? 0.2 : warm, what, stop, NULL, NULL);
		__atomic_store_n(phase, 1, __ATOMIC_RELEASE);
		perf_wait(px, px->o->duration, what, stop, live_ops, arg);
	}
	__atomic_store_n(phase, 2, __ATOMIC_RELEASE);
}

void perf_wait(struct perf_ctx *px, double secs, const char *what, const volatile int *stop,
	       uint64_t (*live_ops)(void *arg), void *arg)
{
	double t0 = perf_now(), end = t0 + secs, last_t = t0;
	uint64_t last_ops = live_ops ? live_ops(arg) : 0;
	/* a live line only for runs that take more than a second in all */
	int show = perf_progress_on(px) && px->points * (px->o->duration + 0.02) > 1.0;

	for (;;) {
		double now = perf_now();
		if (now >= end || perf_interrupted || (stop && *stop))
			break;
		double nap = end - now < 0.1 ? end - now : 0.1;
		struct timespec ts = { 0, (long)(nap * 1e9) };
		nanosleep(&ts, NULL);
		if (!show)
			continue;
		now = perf_now();
		char rate[32] = "";
		if (live_ops) {
			uint64_t ops = live_ops(arg);
			fmt_rate((double)(ops - last_ops) / (now - last_t), rate, sizeof(rate));
			last_ops = ops;
			last_t = now;
		}
		double left = (double)(px->points - px->point) * (px->o->duration + 0.05) + (end - now);
		fprintf(stderr, "\r\033[K[%u/%u] %s  %sops/s  %.0f s left", px->point + 1, px->points, what, rate,
			left > 0 ? left : 0);
		fflush(stderr);
	}
}

/* ---- how busy the machine was ---------------------------------------------------- */

/* CPU seconds all processes spent (from /proc/stat), and this process's. */
static int cpu_seconds(double *all, double *self)
{
	unsigned long long v[10] = { 0 };
	struct rusage ru;
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) : 0;

	if (f)
		fclose(f);
	if (n < 8 || hz <= 0 || getrusage(RUSAGE_SELF, &ru))
		return -1;
	/* user nice system (idle iowait) irq softirq steal */
	*all = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
	*self = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
		(double)ru.ru_stime.tv_usec * 1e-6;
	return 0;
}

static double busy_t0, busy_all0, busy_self0;
static int busy_ok;

static void busy_start(void)
{
	busy_t0 = perf_now();
	busy_ok = !cpu_seconds(&busy_all0, &busy_self0);
}

double perf_other_load(void)
{
	double all, self, dt = perf_now() - busy_t0;

	if (!busy_ok || dt < 0.05 || cpu_seconds(&all, &self))
		return -1;
	double other = ((all - busy_all0) - (self - busy_self0)) / dt;
	return other < 0 ? 0 : other;
}

/* ---- how far apart two CPUs are ---------------------------------------------------- */

/* On a virtual machine the host places the vCPUs, and moves them: a cache
 * line passed between two of them took 55-70 ns here most of the time and
 * 310-330 ns now and then. Engines that hand work to another CPU move with
 * it, so each run says what it was. */
#define PINGS 20000

static long ping __attribute__((aligned(64)));

static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *pong_main(void *arg)
{
	pin_to(*(int *)arg);
	for (long i = 0; i < PINGS; i++) {
		while (__atomic_load_n(&ping, __ATOMIC_ACQUIRE) != 2 * i + 1)
			perf_relax();
		__atomic_store_n(&ping, 2 * i + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

double perf_cross_cpu_ns(void)
{
	cpu_set_t mine;
	int a = -1, b = -1;
	pthread_t t;

	if (sched_getaffinity(0, sizeof(mine), &mine))
		return -1;
	for (int c = 0; c < CPU_SETSIZE && b < 0; c++)
		if (CPU_ISSET(c, &mine))
			*(a < 0 ? &a : &b) = c;
	if (b < 0)
		return -1;
	ping = 0;
	if (pthread_create(&t, NULL, pong_main, &b))
		return -1;
	pin_to(a);
	double t0 = perf_now();
	for (long i = 0; i < PINGS; i++) {
		__atomic_store_n(&ping, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&ping, __ATOMIC_ACQUIRE) != 2 * i + 2)
			perf_relax();
	}
	double ns = (perf_now() - t0) * 1e9 / PINGS;
	pthread_join(t, NULL);
	sched_setaffinity(0, sizeof(mine), &mine);
	return ns;
}

/* ---- the command ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	perf_interrupted = 1;
}

int cmd_perf(int argc, char **argv)
{
	struct perf_opts o;
	struct perf_ctx px;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	memset(&px, 0, sizeof(px));
	px.o = &o;
	px.t_start = perf_now();
	perf_clock_init();
	busy_start();
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	switch (o.workload) {
	case W_MOVER:
		rc = perf_mover_run(&px);
		break;
	case W_POOL:
		rc = perf_pool_run(&px);
		break;
	case W_TRANSLATE:
		rc = perf_translate_run(&px);
		break;
	case W_DOMAIN:
		rc = perf_domain_run(&px);
		break;
	}
	perf_progress_clear(&px);
	double load = perf_other_load();
	if (load >= 0 && !o.json)
		/* figures from a busy machine are not this machine's figures: say so */
		printf("\nother processes: %.2f of %ld CPUs busy on average during the run%s\n", load,
		       sysconf(_SC_NPROCESSORS_ONLN), load > 0.2 ? " (the figures are disturbed)" : "");
	double xcpu = o.workload == W_MOVER && !o.json ? perf_cross_cpu_ns() : -1;
	if (xcpu > 0)
		printf("a cache line passed between two CPUs: %.0f ns a round trip, at the end of the run\n", xcpu);
	if (!rc && o.json && (o.workload == W_MOVER || o.workload == W_POOL))
		rc = perf_out_json(&px, stdout);
	if (!rc && o.plot)
		rc = perf_out_plot(&px);
	if (o.workload == W_MOVER)
		perf_mover_fini(&px);
	perf_dpdk_fini();
	for (unsigned i = 0; i < px.nres; i++)
		free(px.res[i].lat);
	free(px.res);
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
