/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma fabric`: remote memory over libfabric, from the command line.
 *   serve   export a buffer, print its descriptor, serve peers until told to stop
 *   copy    push or pull bytes against a descriptor, optionally verified
 *   perf    push and pull throughput and small-request rate against a descriptor
 * The buffer a server exports holds a pattern known from its seed, so a
 * client can check what it pulls without another channel.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <udma/backend.h>
#include <udma/udma.h>

int udma_cmd_fabric(int argc, char **argv);

static const char fabric_usage_text[] =
	"usage: udma fabric <serve|copy|perf> [options]   (udma fabric <sub> --help for each)\n"
	"\n"
	"  serve                export a buffer and wait; prints its descriptor (udma1:...)\n"
	"  copy DESCRIPTOR      push or pull bytes against an exported buffer\n"
	"  perf DESCRIPTOR      push/pull throughput and small-request rate against it\n"
	"\n"
	"DESCRIPTOR is the string serve printed, '-' to read it from stdin, or @FILE.\n"
	"Common options: --provider P (libfabric provider; default tcp;ofi_rxm, or what\n"
	"FI_PROVIDER allows), --addr IP (local address to bind; default 127.0.0.1 for tcp),\n"
	"--timeout MS (bound on every operation; default 10000).\n";

static const char serve_usage_text[] =
	"usage: udma fabric serve [options]\n"
	"\n"
	"Export a buffer filled with a pattern, print its descriptor on stdout (one\n"
	"line), and serve peers' reads and writes until SIGINT/SIGTERM or --time.\n"
	"  -s, --size N         bytes (K, M, G suffixes; default 64M)\n"
	"  -r, --rights R       r, w or rw (default rw)\n"
	"      --seed N         pattern seed (default 1); `copy --pull --verify` uses the same\n"
	"  -T, --time SEC       stop after SEC seconds (default: never)\n"
	"      --desc-file F    also write the descriptor to F (atomically, when ready)\n"
	"      --manual         no progress thread: serve from this thread's loop\n"
	"      --port P         port to listen on (default: chosen by the kernel)\n"
	"      --provider P, --addr IP, --timeout MS   as for every subcommand\n";

static const char copy_usage_text[] =
	"usage: udma fabric copy DESCRIPTOR --push|--pull [options]\n"
	"\n"
	"Move bytes between this process and the exported buffer, and report the rate.\n"
	"  --push               write them (a pattern from --seed + 1)\n"
	"  --pull               read them\n"
	"  -s, --size N         bytes (default: the whole region)\n"
	"  -o, --offset N       where in the region (default 0)\n"
	"  -y, --verify         push: read back and compare; pull: compare with the\n"
	"                       server's pattern (--seed must match serve's)\n"
	"  -n, --iters N        repeat N times, report each (default 1)\n"
	"      --engine         through the mover's fabric engine rather than domain operations\n"
	"      --seed N         the server's pattern seed (default 1)\n"
	"      --provider P, --addr IP, --timeout MS   as for every subcommand\n";

static const char perf_usage_text[] =
	"usage: udma fabric perf DESCRIPTOR [options]\n"
	"\n"
	"Keep --depth requests in flight against the region for --duration seconds per\n"
	"point, push then pull, and report ops/s and GB/s (the region's bytes change).\n"
	"  -s, --size LIST      comma list of request sizes (default 64,4K,64K,1M)\n"
	"  -q, --depth N        requests in flight (default 64)\n"
	"  -d, --duration SEC   per point and direction (default 1)\n"
	"      --provider P, --addr IP, --timeout MS   as for every subcommand\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int usage_err(const char *sub, const char *fmt, const char *arg)
{
	fprintf(stderr, "udma fabric%s%s: ", sub ? " " : "", sub ? sub : "");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n(udma fabric%s%s --help for the options)\n", sub ? " " : "", sub ? sub : "");
	return 2;
}

/* "4096", "4K", "64M", "1G"; 0 on success. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B' && shift)
		end++;
	if (errno || *end || v > (~0ull >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

/* The server's pattern: a function of the offset in the region and a seed. */
static unsigned char pattern(uint64_t i, unsigned seed)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + seed * 0xbf58476d1ce4e5b9ull;
	return (unsigned char)((x >> 29) ^ (x >> 47) ^ i);
}

static void fill(unsigned char *p, size_t n, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(off + i, seed);
}

struct common {
	const char *provider, *addr, *port;
	unsigned timeout_ms;
	uint32_t flags;
};

static struct udma_fabric *open_fabric(const struct common *c)
{
	struct udma_fabric_opts o = {
		.size = sizeof(o),
		.provider = c->provider,
		.node = c->addr,
		.service = c->port,
		.flags = c->flags,
		.timeout_ms = c->timeout_ms,
	};
	struct udma_fabric *f = udma_fabric_open(&o);
	if (!f)
		fprintf(stderr, "udma fabric: cannot open provider %s%s%s: %s\n",
			c->provider ? c->provider : getenv("FI_PROVIDER") ? getenv("FI_PROVIDER") : "tcp;ofi_rxm",
			c->addr ? " on " : "", c->addr ? c->addr : "", strerror(errno));
	return f;
}

/* The descriptor from the argument: the string, '-' (stdin) or @FILE. */
static int read_desc(const char *arg, struct udma_fabric_desc *d)
{
	char line[512];
	const char *s = arg;

	if (!strcmp(arg, "-") || arg[0] == '@') {
		FILE *f = strcmp(arg, "-") ? fopen(arg + 1, "r") : stdin;
		if (!f) {
			fprintf(stderr, "udma fabric: %s: %s\n", arg + 1, strerror(errno));
			return -errno;
		}
		s = fgets(line, sizeof(line), f);
		if (f != stdin)
			fclose(f);
		if (!s) {
			fprintf(stderr, "udma fabric: no descriptor in %s\n", arg);
			return -EINVAL;
		}
	}
	int err = udma_fabric_desc_decode(s, d);
	if (err)
		fprintf(stderr, "udma fabric: not a valid descriptor: %s\n", strerror(-err));
	return err;
}

enum { OPT_SEED = 256, OPT_DESC_FILE, OPT_MANUAL, OPT_PORT, OPT_PROVIDER, OPT_ADDR, OPT_TIMEOUT, OPT_PUSH, OPT_PULL,
       OPT_ENGINE };

#define COMMON_OPTS                                                              \
	{ "provider", required_argument, NULL, OPT_PROVIDER },                   \
	{ "addr", required_argument, NULL, OPT_ADDR },                           \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },                     \
	{ "help", no_argument, NULL, 'h' }

/* Common options; 1 if handled, 0 if not, -1 if bad. */
static int common_opt(int c, struct common *cm)
{
	size_t v;
	switch (c) {
	case OPT_PROVIDER:
		cm->provider = optarg;
		return 1;
	case OPT_ADDR:
		cm->addr = optarg;
		return 1;
	case OPT_TIMEOUT:
		if (parse_size(optarg, &v) || !v || v > 3600000)
			return -1;
		cm->timeout_ms = (unsigned)v;
		return 1;
	default:
		return 0;
	}
}

/* ---- serve ------------------------------------------------------------------------ */

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "rights", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "time", required_argument, NULL, 'T' },
		{ "desc-file", required_argument, NULL, OPT_DESC_FILE },
		{ "manual", no_argument, NULL, OPT_MANUAL },
		{ "port", required_argument, NULL, OPT_PORT },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct common cm = { 0 };
	size_t size = 64u << 20, v;
	uint32_t rights = UDMA_FABRIC_READ | UDMA_FABRIC_WRITE;
	unsigned seed = 1;
	double limit = 0;
	const char *desc_file = NULL;
	int c, h;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:r:T:h", opts, NULL)) != -1) {
		if ((h = common_opt(c, &cm)) < 0)
			return usage_err("serve", "bad value '%s'", optarg);
		if (h)
			continue;
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || !size)
				return usage_err("serve", "bad size '%s'", optarg);
			break;
		case 'r':
			rights = !strcmp(optarg, "r") ? UDMA_FABRIC_READ : !strcmp(optarg, "w") ? UDMA_FABRIC_WRITE
			       : !strcmp(optarg, "rw") ? UDMA_FABRIC_READ | UDMA_FABRIC_WRITE : 0;
			if (!rights)
				return usage_err("serve", "rights are r, w or rw, not '%s'", optarg);
			break;
		case OPT_SEED:
			if (parse_size(optarg, &v) || v > 0xffffffffu)
				return usage_err("serve", "bad seed '%s'", optarg);
			seed = (unsigned)v;
			break;
		case 'T':
			if (parse_size(optarg, &v) || !v)
				return usage_err("serve", "bad time '%s'", optarg);
			limit = (double)v;
			break;
		case OPT_DESC_FILE:
			desc_file = optarg;
			break;
		case OPT_MANUAL:
			cm.flags |= UDMA_FABRIC_MANUAL_PROGRESS;
			break;
		case OPT_PORT:
			cm.port = optarg;
			break;
		case 'h':
			fputs(serve_usage_text, stdout);
			return 0;
		default:
			return usage_err("serve", "bad option%s", NULL);
		}
	}
	if (optind != argc)
		return usage_err("serve", "unexpected argument '%s'", argv[optind]);

	unsigned char *buf = malloc(size);
	if (!buf) {
		fprintf(stderr, "udma fabric serve: no memory for %zu bytes\n", size);
		return 1;
	}
	fill(buf, size, 0, seed);
	struct udma_fabric *fab = open_fabric(&cm);
	if (!fab) {
		free(buf);
		return 1;
	}
	struct udma_fabric_desc d;
	char s[UDMA_FABRIC_DESC_STR_MAX];
	int err = udma_fabric_export(fab, buf, size, rights, &d);
	if (!err && udma_fabric_desc_encode(&d, s, sizeof(s)) < 0)
		err = -EINVAL;
	if (err) {
		fprintf(stderr, "udma fabric serve: export failed: %s\n", strerror(-err));
		udma_fabric_close(fab);
		free(buf);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("%s\n", s);
	fflush(stdout);
	if (desc_file) { /* write then rename: a reader never sees half a line */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", desc_file, (int)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) || rename(tmp, desc_file)) {
			fprintf(stderr, "udma fabric serve: cannot write %s: %s\n", desc_file, strerror(errno));
			udma_fabric_close(fab);
			free(buf);
			return 1;
		}
	}
	fprintf(stderr, "udma fabric serve: %zu bytes, rights %s%s, provider %s, seed %u; serving%s\n", size,
		rights & UDMA_FABRIC_READ ? "r" : "", rights & UDMA_FABRIC_WRITE ? "w" : "", udma_fabric_provider(fab),
		seed, limit ? "" : " until SIGINT/SIGTERM");
	double end = limit ? now_s() + limit : 0;
	while (!stop && (!end || now_s() < end)) {
		if (cm.flags & UDMA_FABRIC_MANUAL_PROGRESS)
			udma_fabric_progress(fab, 256);
		else
			usleep(50000);
	}
	err = udma_fabric_close(fab);
	free(buf);
	if (desc_file)
		unlink(desc_file);
	return err ? 1 : 0;
}

/* ---- copy -------------------------------------------------------------------------- */

/* Move n bytes with the mover's fabric engine (one request). */
static int engine_copy(struct udma_session *s, struct udma_domain *r, int push, void *local, size_t n, size_t off)
{
	struct udma_req *q = udma_req_alloc(s);
	struct iovec rv = { (void *)(uintptr_t)off, n };
	if (!q)
		return -errno;
	struct udma_buf lb = { .type = UDMA_BUF_LINEAR, .linear = { local, n } };
	struct udma_buf rb = { .type = UDMA_BUF_DOMAIN, .dom = { r, NULL, &rv, 1 } };
	q->out = push ? rb : lb;
	q->in[0] = push ? lb : rb;
	q->flags = UDMA_REQ_WAIT;
	int err = udma_submit(q);
	if (!err)
		err = q->status;
	udma_req_free(q);
	return err;
}

static int cmd_copy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "pull", no_argument, NULL, OPT_PULL },
		{ "size", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "verify", no_argument, NULL, 'y' },
		{ "iters", required_argument, NULL, 'n' },
		{ "engine", no_argument, NULL, OPT_ENGINE },
		{ "seed", required_argument, NULL, OPT_SEED },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct common cm = { 0 };
	size_t size = 0, off = 0, iters = 1, v;
	int dir = -1, verify = 0, use_engine = 0, c, h;
	unsigned seed = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:yn:h", opts, NULL)) != -1) {
		if ((h = common_opt(c, &cm)) < 0)
			return usage_err("copy", "bad value '%s'", optarg);
		if (h)
			continue;
		switch (c) {
		case OPT_PUSH:
		case OPT_PULL:
			if (dir >= 0)
				return usage_err("copy", "--push or --pull, once%s", NULL);
			dir = c == OPT_PUSH;
			break;
		case 's':
			if (parse_size(optarg, &size) || !size)
				return usage_err("copy", "bad size '%s'", optarg);
			break;
		case 'o':
			if (parse_size(optarg, &off))
				return usage_err("copy", "bad offset '%s'", optarg);
			break;
		case 'y':
			verify = 1;
			break;
		case 'n':
			if (parse_size(optarg, &iters) || !iters || iters > 1000000)
				return usage_err("copy", "bad iteration count '%s'", optarg);
			break;
		case OPT_ENGINE:
			use_engine = 1;
			break;
		case OPT_SEED:
			if (parse_size(optarg, &v) || v > 0xffffffffu)
				return usage_err("copy", "bad seed '%s'", optarg);
			seed = (unsigned)v;
			break;
		case 'h':
			fputs(copy_usage_text, stdout);
			return 0;
		default:
			return usage_err("copy", "bad option%s", NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_err("copy", "one DESCRIPTOR expected%s", NULL);
	if (dir < 0)
		return usage_err("copy", "--push or --pull is required%s", NULL);

	struct udma_fabric_desc d;
	if (read_desc(argv[optind], &d))
		return 1;
	if (!size)
		size = d.len > off ? (size_t)(d.len - off) : 0;
	if (!size || off > d.len || size > d.len - off) {
		fprintf(stderr, "udma fabric copy: [%zu, +%zu) is outside the region of %llu bytes\n", off, size,
			(unsigned long long)d.len);
		return 1;
	}
	unsigned char *buf = malloc(size), *back = verify ? malloc(size) : NULL;
	if (!buf || (verify && !back)) {
		fprintf(stderr, "udma fabric copy: no memory for %zu bytes\n", size);
		free(buf);
		free(back);
		return 1;
	}
	if (dir)
		fill(buf, size, off, seed + 1);
	struct udma_fabric *fab = open_fabric(&cm);
	if (!fab) {
		free(buf);
		free(back);
		return 1;
	}
	struct udma_domain *r = udma_fabric_import(fab, &d, NULL);
	struct udma_engine *e = NULL;
	struct udma_session *s = NULL;
	int err = r ? 0 : -errno, rc = 0;
	if (!err && use_engine) {
		struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK, .depth = 2,
						.engine = "fabric" };
		e = udma_fabric_engine_create(fab, NULL);
		s = e ? udma_session_create(UDMA_FUNC_COPY, &so) : NULL;
		if (!s)
			err = -errno;
	}
	struct iovec rv = { (void *)(uintptr_t)off, size }, lv = { buf, size };
	for (size_t i = 0; i < iters && !err; i++) {
		double t0 = now_s();
		if (use_engine)
			err = engine_copy(s, r, dir, buf, size, off);
		else
			err = dir ? udma_domain_push(r, NULL, &rv, 1, &lv, 1, NULL, NULL)
				  : udma_domain_pull(r, NULL, &rv, 1, &lv, 1, NULL, NULL);
		double t = now_s() - t0;
		if (!err)
			printf("%s %zu bytes at offset %zu: %.6f s, %.3f GB/s\n", dir ? "pushed" : "pulled", size, off, t,
			       (double)size / t / 1e9);
	}
	if (err) {
		fprintf(stderr, "udma fabric copy: %s failed: %s\n", dir ? "push" : "pull", strerror(-err));
		rc = 1;
	} else if (verify) {
		struct iovec bv = { back, size };
		if (dir) { /* read back what we wrote */
			err = use_engine ? engine_copy(s, r, 0, back, size, off)
					 : udma_domain_pull(r, NULL, &rv, 1, &bv, 1, NULL, NULL);
		} else {
			fill(back, size, off, seed);
		}
		size_t bad = 0, first = 0;
		for (size_t i = 0; !err && i < size; i++)
			if (buf[i] != back[i] && !bad++)
				first = i;
		if (err) {
			fprintf(stderr, "udma fabric copy: reading back failed: %s\n", strerror(-err));
			rc = 1;
		} else if (bad) {
			fprintf(stderr, "udma fabric copy: verify FAILED: %zu of %zu bytes differ, first at offset %zu\n",
				bad, size, off + first);
			rc = 1;
		} else {
			printf("verified %zu bytes\n", size);
		}
	}
	if (s)
		udma_session_destroy(s);
	if (e)
		udma_engine_unregister(e);
	if (r)
		udma_domain_destroy(r);
	udma_fabric_close(fab);
	free(buf);
	free(back);
	return rc;
}

/* ---- perf ---------------------------------------------------------------------------- */

struct pctx {
	int done;    /* atomic */
	int errors;  /* atomic */
	int first_err;
};

static void perf_cb(void *arg, int status)
{
	struct pctx *p = arg;
	if (status && !__atomic_fetch_add(&p->errors, 1, __ATOMIC_RELAXED))
		p->first_err = status;
	__atomic_add_fetch(&p->done, 1, __ATOMIC_RELEASE);
}

/* depth requests of n bytes in flight for secs; ops/s, or -errno. */
static double perf_run(struct udma_domain *r, int push, unsigned char *buf, size_t n, uint64_t region, unsigned depth,
		       double secs, int *err)
{
	struct pctx p = { 0 };
	size_t slots = region / n < depth ? (size_t)(region / n) : depth;
	struct iovec *rv = calloc(depth, sizeof(*rv)), *lv = calloc(depth, sizeof(*lv));
	long sent = 0;
	double t0 = now_s(), end = t0 + secs;

	*err = 0;
	if (!rv || !lv || !slots) {
		free(rv);
		free(lv);
		*err = !slots ? -ERANGE : -ENOMEM;
		return 0;
	}
	while (!stop && !p.errors) {
		double t = now_s();
		if (t >= end)
			break;
		if (sent - __atomic_load_n(&p.done, __ATOMIC_ACQUIRE) >= (long)depth) {
			sched_yield();
			continue;
		}
		unsigned i = (unsigned)(sent % depth);
		rv[i] = (struct iovec){ (void *)(uintptr_t)((sent % (long)slots) * (long)n), n };
		lv[i] = (struct iovec){ buf + (size_t)i * n, n };
		int e = push ? udma_domain_push(r, NULL, &rv[i], 1, &lv[i], 1, perf_cb, &p)
			     : udma_domain_pull(r, NULL, &rv[i], 1, &lv[i], 1, perf_cb, &p);
		if (e) {
			*err = e;
			break;
		}
		sent++;
	}
	while (__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) < sent) /* every request completes within the timeout */
		usleep(100);
	double t = now_s() - t0;
	if (p.errors)
		*err = p.first_err;
	free(rv);
	free(lv);
	return (double)sent / t;
}

static int cmd_perf_fabric(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'q' },
		{ "duration", required_argument, NULL, 'd' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct common cm = { 0 };
	size_t sizes[16] = { 64, 4096, 65536, 1 << 20 }, nsizes = 4, v;
	unsigned depth = 64;
	double secs = 1;
	int c, h;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:q:d:h", opts, NULL)) != -1) {
		if ((h = common_opt(c, &cm)) < 0)
			return usage_err("perf", "bad value '%s'", optarg);
		if (h)
			continue;
		switch (c) {
		case 's': {
			char tmp[256], *save = NULL;
			snprintf(tmp, sizeof(tmp), "%s", optarg);
			nsizes = 0;
			for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (nsizes == 16 || parse_size(t, &sizes[nsizes]) || !sizes[nsizes] || sizes[nsizes] > (1u << 30))
					return usage_err("perf", "bad size list '%s'", optarg);
				nsizes++;
			}
			if (!nsizes)
				return usage_err("perf", "bad size list '%s'", optarg);
			break;
		}
		case 'q':
			if (parse_size(optarg, &v) || !v || v > 65536)
				return usage_err("perf", "bad depth '%s'", optarg);
			depth = (unsigned)v;
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			if (!(secs > 0 && secs <= 3600))
				return usage_err("perf", "bad duration '%s'", optarg);
			break;
		case 'h':
			fputs(perf_usage_text, stdout);
			return 0;
		default:
			return usage_err("perf", "bad option%s", NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_err("perf", "one DESCRIPTOR expected%s", NULL);
	struct udma_fabric_desc d;
	if (read_desc(argv[optind], &d))
		return 1;
	if ((d.rights & (UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)) != (UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)) {
		fprintf(stderr, "udma fabric perf: the region must be exported rw\n");
		return 1;
	}
	size_t maxn = 0;
	for (size_t i = 0; i < nsizes; i++)
		maxn = sizes[i] > maxn ? sizes[i] : maxn;
	unsigned char *buf = malloc(maxn * depth);
	struct udma_fabric *fab = buf ? open_fabric(&cm) : NULL;
	struct udma_domain *r = fab ? udma_fabric_import(fab, &d, NULL) : NULL;
	int rc = 0;
	if (!r) {
		if (buf && fab)
			fprintf(stderr, "udma fabric perf: import failed: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	memset(buf, 0x5a, maxn * depth);
	signal(SIGINT, on_signal);
	printf("provider %s, %u in flight, %.1f s per point\n\n", udma_fabric_provider(fab), depth, secs);
	printf("%10s  %12s %10s  %12s %10s\n", "size", "push ops/s", "push GB/s", "pull ops/s", "pull GB/s");
	for (size_t i = 0; i < nsizes && !stop && !rc; i++) {
		int e1, e2;
		double push = perf_run(r, 1, buf, sizes[i], d.len, depth, secs, &e1);
		double pull = e1 ? 0 : perf_run(r, 0, buf, sizes[i], d.len, depth, secs, &e2);
		if (e1 || e2) {
			fprintf(stderr, "udma fabric perf: %zu-byte requests failed: %s\n", sizes[i], strerror(-(e1 ? e1 : e2)));
			rc = 1;
			break;
		}
		printf("%10zu  %12.0f %10.3f  %12.0f %10.3f\n", sizes[i], push, push * (double)sizes[i] / 1e9, pull,
		       pull * (double)sizes[i] / 1e9);
		fflush(stdout);
	}
out:
	if (r)
		udma_domain_destroy(r);
	if (fab)
		udma_fabric_close(fab);
	free(buf);
	return rc ? rc : stop ? 130 : 0;
}

int udma_cmd_fabric(int argc, char **argv)
{
	if (argc < 2) {
		fputs(fabric_usage_text, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(fabric_usage_text, stdout);
		return 0;
	}
	if (!strcmp(sub, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(sub, "copy"))
		return cmd_copy(argc - 1, argv + 1);
	if (!strcmp(sub, "perf"))
		return cmd_perf_fabric(argc - 1, argv + 1);
	fprintf(stderr, "udma fabric: unknown subcommand '%s'\n", sub);
	fputs(fabric_usage_text, stderr);
	return 2;
}
