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
#include <unistd.h>
#include <udma/backend.h>
#include <udma/udma.h>

#include "cmd.h"
#include "util.h"

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
	"  -s, --size N         bytes (K, M, G suffixes, KiB or B; default 64M)\n"
	"  -r, --rights R       r, w or rw (default rw)\n"
	"      --seed N         pattern seed (default 1); `copy --pull --verify` uses the same\n"
	"  -T, --time SEC       stop after SEC seconds (default: never)\n"
	"      --desc-file F    also write the descriptor to F (atomically, when ready)\n"
	"      --manual         no progress thread: serve from this thread's loop\n"
	"      --port P         port to listen on, 0 to 65535 (default 0: chosen by the kernel)\n"
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

static int usage_err(const char *sub, const char *fmt, const char *arg)
{
	fprintf(stderr, "udma fabric%s%s: ", sub ? " " : "", sub ? sub : "");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n(udma fabric%s%s --help for the options)\n", sub ? " " : "", sub ? sub : "");
	return 2;
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

static int parse_seed(const char *s, unsigned *seed)
{
	unsigned long long v;

	if (tool_parse_uint(s, 0, 0xffffffffu, &v))
		return -1;
	*seed = (unsigned)v;
	return 0;
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
	unsigned long long v;

	switch (c) {
	case OPT_PROVIDER:
		cm->provider = optarg;
		return 1;
	case OPT_ADDR:
		cm->addr = optarg;
		return 1;
	case OPT_TIMEOUT:
		if (tool_parse_uint(optarg, 1, 3600000, &v))
			return -1;
		cm->timeout_ms = (unsigned)v;
		return 1;
	default:
		return 0;
	}
}

/* ---- serve ------------------------------------------------------------------------ */

struct serve_opts {
	struct common cm;
	size_t size;
	uint32_t rights;
	unsigned seed;
	double limit;             /* seconds; 0: until a signal */
	const char *desc_file;
};

/* One option of serve (not a common one): 0, or the exit status. */
static int serve_opt(int c, struct serve_opts *o)
{
	unsigned long long v;

	switch (c) {
	case 's':
		if (tool_parse_size(optarg, SIZE_MAX, &o->size) || !o->size)
			return usage_err("serve", "bad size '%s'", optarg);
		return 0;
	case 'r':
		o->rights = !strcmp(optarg, "r") ? UDMA_FABRIC_READ : !strcmp(optarg, "w") ? UDMA_FABRIC_WRITE
			  : !strcmp(optarg, "rw") ? UDMA_FABRIC_READ | UDMA_FABRIC_WRITE : 0;
		return o->rights ? 0 : usage_err("serve", "rights are r, w or rw, not '%s'", optarg);
	case OPT_SEED:
		return parse_seed(optarg, &o->seed) ? usage_err("serve", "bad seed '%s'", optarg) : 0;
	case 'T':
		if (tool_parse_uint(optarg, 1, 1u << 31, &v))
			return usage_err("serve", "bad time '%s'", optarg);
		o->limit = (double)v;
		return 0;
	case OPT_DESC_FILE:
		o->desc_file = optarg;
		return 0;
	case OPT_MANUAL:
		o->cm.flags |= UDMA_FABRIC_MANUAL_PROGRESS;
		return 0;
	case OPT_PORT:
		/* a number: a name or a port above 65535 would reach the provider and bind elsewhere */
		if (tool_parse_uint(optarg, 0, 65535, &v))
			return usage_err("serve", "bad port '%s': want 0 to 65535", optarg);
		o->cm.port = optarg;
		return 0;
	default:
		return usage_err("serve", "bad option%s", NULL);
	}
}

/* 0, the exit status for a bad command line (2), or -1 after --help. */
static int serve_parse(int argc, char **argv, struct serve_opts *o)
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
	int c, h, rc = 0;

	*o = (struct serve_opts){ .size = 64u << 20, .rights = UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, .seed = 1 };
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "s:r:T:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(serve_usage_text, stdout);
			return -1;
		}
		if ((h = common_opt(c, &o->cm)) < 0)
			return usage_err("serve", "bad value '%s'", optarg);
		if (!h)
			rc = serve_opt(c, o);
	}
	if (!rc && optind != argc)
		rc = usage_err("serve", "unexpected argument '%s'", argv[optind]);
	return rc;
}

/* The descriptor on stdout (one line) and, if asked, in a file; 0 or -1 (said why). */
static int publish(const struct serve_opts *o, const char *desc)
{
	printf("%s\n", desc);
	int err = tool_out_flush(stdout);
	if (err) {
		fprintf(stderr, "udma fabric serve: cannot write the descriptor to stdout: %s\n", strerror(-err));
		return -1;
	}
	if (o->desc_file) { /* write then rename: a reader never sees half a line */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", o->desc_file, (int)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", desc) < 0 || fclose(f) || rename(tmp, o->desc_file)) {
			fprintf(stderr, "udma fabric serve: cannot write %s: %s\n", o->desc_file, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Export buf and serve until a signal or the time limit; the exit status. */
static int serve(const struct serve_opts *o, struct udma_fabric *fab, unsigned char *buf)
{
	struct udma_fabric_desc d;
	char s[UDMA_FABRIC_DESC_STR_MAX];
	int err = udma_fabric_export(fab, buf, o->size, o->rights, &d);

	if (!err && udma_fabric_desc_encode(&d, s, sizeof(s)) < 0)
		err = -EINVAL;
	if (err) {
		fprintf(stderr, "udma fabric serve: export failed: %s\n", strerror(-err));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (publish(o, s))
		return 1;
	fprintf(stderr, "udma fabric serve: %zu bytes, rights %s%s, provider %s, seed %u; serving%s\n", o->size,
		o->rights & UDMA_FABRIC_READ ? "r" : "", o->rights & UDMA_FABRIC_WRITE ? "w" : "",
		udma_fabric_provider(fab), o->seed, o->limit ? "" : " until SIGINT/SIGTERM");
	double end = o->limit ? tool_now() + o->limit : 0;
	while (!stop && (!end || tool_now() < end)) {
		if (o->cm.flags & UDMA_FABRIC_MANUAL_PROGRESS)
			udma_fabric_progress_wait(fab, 256, 100);
		else
			usleep(50000);
	}
	if (o->desc_file)
		unlink(o->desc_file);
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	int rc = serve_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	unsigned char *buf = malloc(o.size);
	if (!buf) {
		fprintf(stderr, "udma fabric serve: no memory for %zu bytes\n", o.size);
		return 1;
	}
	fill(buf, o.size, 0, o.seed);
	struct udma_fabric *fab = open_fabric(&o.cm);
	rc = fab ? serve(&o, fab, buf) : 1;
	if (fab && udma_fabric_close(fab))
		rc = 1;
	free(buf);
	return rc;
}

/* ---- copy -------------------------------------------------------------------------- */

struct copy_opts {
	struct common cm;
	size_t size, off, iters;
	int dir;                  /* 1 push, 0 pull, -1 not given */
	int verify, use_engine;
	unsigned seed;
	const char *desc;
};

/* What a copy works with: the local buffers, the remote region, maybe a session. */
struct copy_run {
	unsigned char *buf, *back;
	struct udma_fabric *fab;
	struct udma_domain *r;
	struct udma_engine *e;
	struct udma_session *s;
};

/* One option of copy (not a common one): 0, or the exit status. */
static int copy_opt(int c, struct copy_opts *o)
{
	unsigned long long v;

	switch (c) {
	case OPT_PUSH:
	case OPT_PULL:
		if (o->dir >= 0)
			return usage_err("copy", "--push or --pull, once%s", NULL);
		o->dir = c == OPT_PUSH;
		return 0;
	case 's':
		if (tool_parse_size(optarg, SIZE_MAX, &o->size) || !o->size)
			return usage_err("copy", "bad size '%s'", optarg);
		return 0;
	case 'o':
		return tool_parse_size(optarg, SIZE_MAX, &o->off) ? usage_err("copy", "bad offset '%s'", optarg) : 0;
	case 'y':
		o->verify = 1;
		return 0;
	case 'n':
		if (tool_parse_uint(optarg, 1, 1000000, &v))
			return usage_err("copy", "bad iteration count '%s'", optarg);
		o->iters = (size_t)v;
		return 0;
	case OPT_ENGINE:
		o->use_engine = 1;
		return 0;
	case OPT_SEED:
		return parse_seed(optarg, &o->seed) ? usage_err("copy", "bad seed '%s'", optarg) : 0;
	default:
		return usage_err("copy", "bad option%s", NULL);
	}
}

/* 0, the exit status for a bad command line (2), or -1 after --help. */
static int copy_parse(int argc, char **argv, struct copy_opts *o)
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
	int c, h, rc = 0;

	*o = (struct copy_opts){ .iters = 1, .dir = -1, .seed = 1 };
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "s:o:yn:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(copy_usage_text, stdout);
			return -1;
		}
		if ((h = common_opt(c, &o->cm)) < 0)
			return usage_err("copy", "bad value '%s'", optarg);
		if (!h)
			rc = copy_opt(c, o);
	}
	if (rc)
		return rc;
	if (optind + 1 != argc)
		return usage_err("copy", "one DESCRIPTOR expected%s", NULL);
	if (o->dir < 0)
		return usage_err("copy", "--push or --pull is required%s", NULL);
	o->desc = argv[optind];
	return 0;
}

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

/* One transfer of the whole range into or out of local. */
static int copy_once(const struct copy_opts *o, const struct copy_run *cr, int push, unsigned char *local)
{
	struct iovec rv = { (void *)(uintptr_t)o->off, o->size }, lv = { local, o->size };

	if (o->use_engine)
		return engine_copy(cr->s, cr->r, push, local, o->size, o->off);
	return push ? udma_domain_push(cr->r, NULL, &rv, 1, &lv, 1, NULL, NULL)
		    : udma_domain_pull(cr->r, NULL, &rv, 1, &lv, 1, NULL, NULL);
}

/* The buffers, the fabric, the import and (--engine) a session; 0 or -errno (said why). */
static int copy_setup(const struct copy_opts *o, const struct udma_fabric_desc *d, struct copy_run *cr)
{
	cr->buf = malloc(o->size);
	cr->back = o->verify ? malloc(o->size) : NULL;
	if (!cr->buf || (o->verify && !cr->back)) {
		fprintf(stderr, "udma fabric copy: no memory for %zu bytes\n", o->size);
		return -ENOMEM;
	}
	if (o->dir)
		fill(cr->buf, o->size, o->off, o->seed + 1);
	cr->fab = open_fabric(&o->cm);
	if (!cr->fab)
		return -ENODEV;
	cr->r = udma_fabric_import(cr->fab, d, NULL);
	if (cr->r && o->use_engine) {
		struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK, .depth = 2,
						.engine = "fabric" };
		cr->e = udma_fabric_engine_create(cr->fab, NULL);
		cr->s = cr->e ? udma_session_create(UDMA_FUNC_COPY, &so) : NULL;
	}
	if (!cr->r || (o->use_engine && !cr->s)) {
		int err = -errno;
		fprintf(stderr, "udma fabric copy: %s failed: %s\n", o->dir ? "push" : "pull", strerror(-err));
		return err;
	}
	return 0;
}

static void copy_teardown(struct copy_run *cr)
{
	if (cr->s)
		udma_session_destroy(cr->s);
	if (cr->e)
		udma_engine_unregister(cr->e);
	if (cr->r)
		udma_domain_destroy(cr->r);
	if (cr->fab)
		udma_fabric_close(cr->fab);
	free(cr->buf);
	free(cr->back);
}

/* Compare what was pushed (read back) or pulled (the server's pattern); the exit status. */
static int copy_verify(const struct copy_opts *o, const struct copy_run *cr)
{
	size_t bad = 0, first = 0;

	if (o->dir) {
		int err = copy_once(o, cr, 0, cr->back);
		if (err) {
			fprintf(stderr, "udma fabric copy: reading back failed: %s\n", strerror(-err));
			return 1;
		}
	} else {
		fill(cr->back, o->size, o->off, o->seed);
	}
	for (size_t i = 0; i < o->size; i++)
		if (cr->buf[i] != cr->back[i] && !bad++)
			first = i;
	if (bad) {
		fprintf(stderr, "udma fabric copy: verify FAILED: %zu of %zu bytes differ, first at offset %zu\n", bad,
			o->size, o->off + first);
		return 1;
	}
	printf("verified %zu bytes\n", o->size);
	return 0;
}

static int cmd_copy(int argc, char **argv)
{
	struct copy_opts o;
	struct copy_run cr = { 0 };
	struct udma_fabric_desc d;
	int err = 0, rc = copy_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (read_desc(o.desc, &d))
		return 1;
	if (!o.size)
		o.size = d.len > o.off ? (size_t)(d.len - o.off) : 0;
	if (!o.size || o.off > d.len || o.size > d.len - o.off) {
		fprintf(stderr, "udma fabric copy: [%zu, +%zu) is outside the region of %llu bytes\n", o.off, o.size,
			(unsigned long long)d.len);
		return 1;
	}
	if (copy_setup(&o, &d, &cr)) {
		copy_teardown(&cr);
		return 1;
	}
	for (size_t i = 0; i < o.iters && !err; i++) {
		double t0 = tool_now();
		err = copy_once(&o, &cr, o.dir, cr.buf);
		double t = tool_now() - t0;
		if (!err)
			printf("%s %zu bytes at offset %zu: %.6f s, %.3f GB/s\n", o.dir ? "pushed" : "pulled", o.size, o.off,
			       t, (double)o.size / t / 1e9);
	}
	if (err) {
		fprintf(stderr, "udma fabric copy: %s failed: %s\n", o.dir ? "push" : "pull", strerror(-err));
		rc = 1;
	} else if (o.verify) {
		rc = copy_verify(&o, &cr);
	}
	copy_teardown(&cr);
	return rc;
}

/* ---- perf ---------------------------------------------------------------------------- */

struct fperf_ctx {
	int done;    /* atomic */
	int errors;  /* atomic */
	int first_err;
};

static void fperf_cb(void *arg, int status)
{
	struct fperf_ctx *p = arg;
	if (status && !__atomic_fetch_add(&p->errors, 1, __ATOMIC_RELAXED))
		p->first_err = status;
	__atomic_add_fetch(&p->done, 1, __ATOMIC_RELEASE);
}

/* depth requests of n bytes in flight for secs; ops/s, or -errno. */
static double fperf_run(struct udma_domain *r, int push, unsigned char *buf, size_t n, uint64_t region, unsigned depth,
		       double secs, int *err)
{
	struct fperf_ctx p = { 0 };
	size_t slots = region / n < depth ? (size_t)(region / n) : depth;
	struct iovec *rv = calloc(depth, sizeof(*rv)), *lv = calloc(depth, sizeof(*lv));
	long sent = 0;
	double t0 = tool_now(), end = t0 + secs;

	*err = 0;
	if (!rv || !lv || !slots) {
		free(rv);
		free(lv);
		*err = !slots ? -ERANGE : -ENOMEM;
		return 0;
	}
	while (!stop && !p.errors) {
		double t = tool_now();
		if (t >= end)
			break;
		if (sent - __atomic_load_n(&p.done, __ATOMIC_ACQUIRE) >= (long)depth) {
			sched_yield();
			continue;
		}
		unsigned i = (unsigned)(sent % depth);
		rv[i] = (struct iovec){ (void *)(uintptr_t)((sent % (long)slots) * (long)n), n };
		lv[i] = (struct iovec){ buf + (size_t)i * n, n };
		int e = push ? udma_domain_push(r, NULL, &rv[i], 1, &lv[i], 1, fperf_cb, &p)
			     : udma_domain_pull(r, NULL, &rv[i], 1, &lv[i], 1, fperf_cb, &p);
		if (e) {
			*err = e;
			break;
		}
		sent++;
	}
	while (__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) < sent) /* every request completes within the timeout */
		usleep(100);
	double t = tool_now() - t0;
	if (p.errors)
		*err = p.first_err;
	free(rv);
	free(lv);
	return (double)sent / t;
}

struct fperf_opts {
	struct common cm;
	size_t sizes[16], nsizes;
	unsigned depth;
	double secs;
	const char *desc;
};

/* -s: a comma list of up to 16 sizes from 1 byte to 1 GiB. */
static int fperf_sizes(const char *arg, struct fperf_opts *o)
{
	char tmp[256], *save = NULL;

	if (strlen(arg) >= sizeof(tmp))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s", arg);
	o->nsizes = 0;
	for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == 16 || tool_parse_size(t, 1u << 30, &o->sizes[o->nsizes]) || !o->sizes[o->nsizes])
			return -1;
		o->nsizes++;
	}
	return o->nsizes ? 0 : -1;
}

/* One option of perf (not a common one): 0, or the exit status. */
static int fperf_opt(int c, struct fperf_opts *o)
{
	unsigned long long v;

	switch (c) {
	case 's':
		return fperf_sizes(optarg, o) ? usage_err("perf", "bad size list '%s'", optarg) : 0;
	case 'q':
		if (tool_parse_uint(optarg, 1, 65536, &v))
			return usage_err("perf", "bad depth '%s'", optarg);
		o->depth = (unsigned)v;
		return 0;
	case 'd':
		return tool_parse_double(optarg, 1e-6, 3600, &o->secs) ? usage_err("perf", "bad duration '%s'", optarg) : 0;
	default:
		return usage_err("perf", "bad option%s", NULL);
	}
}

/* 0, the exit status for a bad command line (2), or -1 after --help. */
static int fperf_parse(int argc, char **argv, struct fperf_opts *o)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'q' },
		{ "duration", required_argument, NULL, 'd' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, h, rc = 0;

	*o = (struct fperf_opts){ .sizes = { 64, 4096, 65536, 1 << 20 }, .nsizes = 4, .depth = 64, .secs = 1 };
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "s:q:d:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(perf_usage_text, stdout);
			return -1;
		}
		if ((h = common_opt(c, &o->cm)) < 0)
			return usage_err("perf", "bad value '%s'", optarg);
		if (!h)
			rc = fperf_opt(c, o);
	}
	if (rc)
		return rc;
	if (optind + 1 != argc)
		return usage_err("perf", "one DESCRIPTOR expected%s", NULL);
	o->desc = argv[optind];
	return 0;
}

/* Push then pull at each size; the exit status. */
static int fperf_table(const struct fperf_opts *o, struct udma_fabric *fab, struct udma_domain *r, uint64_t len,
		      unsigned char *buf)
{
	printf("provider %s, %u in flight, %.1f s per point\n\n", udma_fabric_provider(fab), o->depth, o->secs);
	printf("%10s  %12s %10s  %12s %10s\n", "size", "push ops/s", "push GB/s", "pull ops/s", "pull GB/s");
	for (size_t i = 0; i < o->nsizes && !stop; i++) {
		int e1, e2 = 0;
		double push = fperf_run(r, 1, buf, o->sizes[i], len, o->depth, o->secs, &e1);
		double pull = e1 ? 0 : fperf_run(r, 0, buf, o->sizes[i], len, o->depth, o->secs, &e2);
		if (e1 || e2) {
			fprintf(stderr, "udma fabric perf: %zu-byte requests failed: %s\n", o->sizes[i],
				strerror(-(e1 ? e1 : e2)));
			return 1;
		}
		printf("%10zu  %12.0f %10.3f  %12.0f %10.3f\n", o->sizes[i], push, push * (double)o->sizes[i] / 1e9, pull,
		       pull * (double)o->sizes[i] / 1e9);
		fflush(stdout);
	}
	return 0;
}

static int cmd_perf_fabric(int argc, char **argv)
{
	struct fperf_opts o;
	struct udma_fabric_desc d;
	int rc = fperf_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (read_desc(o.desc, &d))
		return 1;
	if ((d.rights & (UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)) != (UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)) {
		fprintf(stderr, "udma fabric perf: the region must be exported rw\n");
		return 1;
	}
	size_t maxn = 0;
	for (size_t i = 0; i < o.nsizes; i++)
		maxn = o.sizes[i] > maxn ? o.sizes[i] : maxn;
	unsigned char *buf = malloc(maxn * o.depth);
	struct udma_fabric *fab = buf ? open_fabric(&o.cm) : NULL;
	struct udma_domain *r = fab ? udma_fabric_import(fab, &d, NULL) : NULL;
	if (!buf)
		fprintf(stderr, "udma fabric perf: no memory for %zu bytes\n", maxn * o.depth);
	else if (fab && !r)
		fprintf(stderr, "udma fabric perf: import failed: %s\n", strerror(errno));
	if (r) {
		memset(buf, 0x5a, maxn * o.depth);
		signal(SIGINT, on_signal);
		rc = fperf_table(&o, fab, r, d.len, buf);
		udma_domain_destroy(r);
	} else {
		rc = 1;
	}
	if (fab)
		udma_fabric_close(fab);
	free(buf);
	return rc ? rc : stop ? 130 : 0;
}

int cmd_fabric(int argc, char **argv)
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
