/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What `udma perf` reports: the table (text or Markdown), with ratios to
 * the peers beside the absolute figures; JSON (schema udma-perf/1); and
 * the plot, drawn by gnuplot.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf.h"

static const char *mode_name(enum perf_mode m)
{
	return m == MODE_POLL ? "poll" : m == MODE_CALLBACK ? "callback" : "wait";
}

/* Peers that do the run's function (their columns), in table order. */
static unsigned peer_columns(const struct perf_ctx *px, enum perf_peer *cols)
{
	enum udma_func f = px->o->func;
	int xor = f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16;
	unsigned n = 0;

	if (!px->o->peers)
		return 0;
	if (f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 || f == UDMA_FUNC_COPY || f == UDMA_FUNC_COMPARE)
		cols[n++] = PEER_GLIBC;
	if (xor || f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C)
		cols[n++] = PEER_ISAL;
	if (f == UDMA_FUNC_COPY || f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 || f == UDMA_FUNC_FILL64)
		cols[n++] = PEER_DMADEV;
	return n;
}

static const struct perf_result *peer_at(const struct perf_ctx *px, enum perf_peer p, size_t size)
{
	for (unsigned i = 0; i < px->nres; i++)
		if (px->res[i].peer == (int)p && px->res[i].size == size)
			return &px->res[i];
	return NULL;
}

static void fmt_ops(double v, char *b, size_t n)
{
	if (v >= 1e9)
		snprintf(b, n, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(b, n, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(b, n, "%.2f k", v / 1e3);
	else
		snprintf(b, n, "%.1f", v);
}

static void fmt_ns(double ns, char *b, size_t n)
{
	if (ns <= 0)
		snprintf(b, n, "-");
	else if (ns < 1e4)
		snprintf(b, n, "%.0f ns", ns);
	else if (ns < 1e7)
		snprintf(b, n, "%.1f us", ns / 1e3);
	else
		snprintf(b, n, "%.1f ms", ns / 1e6);
}

static void fmt_ratio(double r, char *b, size_t n)
{
	if (!(r > 0))
		snprintf(b, n, "-");
	else if (r < 10)
		snprintf(b, n, "%.2fx", r);
	else
		snprintf(b, n, "%.1fx", r);
}

static double gbps(const struct perf_result *r)
{
	return r->ops_s * (double)r->size / 1e9;
}

void perf_out_mover_size(struct perf_ctx *px, size_t size, int first)
{
	const struct perf_opts *o = px->o;
	enum perf_peer cols[PEER_COUNT];
	unsigned ncol = peer_columns(px, cols);
	int md = o->markdown;
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32];

	if (first) {
		printf("udma perf: %s, %u client thread%s, depth %u, %s completion, %.3g s per point%s\n",
		       udma_func_name(o->func), o->threads, o->threads > 1 ? "s" : "", o->depth, mode_name(o->mode),
		       o->duration, o->verify ? ", every result verified" : "");
		if (o->lat_every)
			printf("latency: submit to completion seen by the client, 1 request in %u timed\n", o->lat_every);
		printf("GB/s: bytes per request x requests per second; ns/op: client time per request\n\n");
		if (md) {
			printf("| size | engine | ops/s | GB/s | ns/op | avg | p50 | p99 | max |");
			for (unsigned k = 0; k < ncol; k++)
				printf(" vs %s |", perf_peer_label(cols[k], o->func));
			printf(" ran on |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|");
			for (unsigned k = 0; k < ncol; k++)
				printf("---:|");
			printf("---|\n");
		} else {
			printf("%9s  %-18s %10s %8s %8s %9s %9s %9s %9s", "size", "engine", "ops/s", "GB/s", "ns/op", "lat avg",
			       "p50", "p99", "max");
			for (unsigned k = 0; k < ncol; k++) {
				snprintf(a, sizeof(a), "vs %s", perf_peer_label(cols[k], o->func));
				printf(" %12s", a);
			}
			printf("  ran on\n");
		}
	}
	for (unsigned i = 0; i < px->nres; i++) {
		const struct perf_result *r = &px->res[i];
		if (r->size != size)
			continue;
		perf_size_str(r->size, a, sizeof(a));
		fmt_ops(r->ops_s, b, sizeof(b));
		snprintf(c, sizeof(c), "%.2f", gbps(r));
		snprintf(d, sizeof(d), "%.1f", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
		fmt_ns(perf_hist_avg(r->lat), e, sizeof(e));
		fmt_ns((double)perf_hist_pct(r->lat, 0.5), f, sizeof(f));
		fmt_ns((double)perf_hist_pct(r->lat, 0.99), g, sizeof(g));
		fmt_ns((double)r->lat->max, h, sizeof(h));
		char name[64];
		snprintf(name, sizeof(name), "%s%s", r->name, r->peer >= 0 ? " (peer)" : "");
		if (md)
			printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", a, name, b, c, d, e, f, g, h);
		else
			printf("%9s  %-18s %10s %8s %8s %9s %9s %9s %9s", a, name, b, c, d, e, f, g, h);
		for (unsigned k = 0; k < ncol; k++) {
			const struct perf_result *p = r->peer < 0 ? peer_at(px, cols[k], size) : NULL;
			fmt_ratio(p && p->ops_s > 0 ? r->ops_s / p->ops_s : 0, a, sizeof(a));
			printf(md ? " %s |" : " %12s", a);
		}
		const char *tail = r->note[0] ? r->note : r->ran_on;
		printf(md ? " %s |\n" : "  %s\n", r->peer >= 0 ? (r->note[0] ? r->note : "") : tail);
	}
	fflush(stdout);
}

void perf_out_missing(struct perf_ctx *px)
{
	if (!px->nmissing)
		return;
	printf("\npeers missing:\n");
	for (unsigned i = 0; i < px->nmissing; i++)
		printf("  %s: missing: %s\n", px->missing[i].peer, px->missing[i].reason);
}

void perf_out_pool(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	int md = o->markdown;
	char a[32], b[32], c[32], e[32], f[32], g[32];

	printf("udma perf --pool: get+put of %u block%s per round, %.3g s per point%s\n", o->depth,
	       o->depth > 1 ? "s" : "", o->duration, o->verify ? ", every block checked" : "");
	printf("pairs/s: gets+puts per second, all threads; ns/pair: per thread\n\n");
	if (md)
		printf("| block | threads | pool | pairs/s | ns/pair | p50 | p99 | max | vs rte_mempool |\n"
		       "|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
	else
		printf("%9s %7s  %-22s %10s %8s %9s %9s %9s %15s\n", "block", "threads", "pool", "pairs/s", "ns/pair",
		       "p50", "p99", "max", "vs rte_mempool");
	for (unsigned i = 0; i < px->nres; i++) {
		const struct perf_result *r = &px->res[i];
		const struct perf_result *p = NULL;
		if (r->peer < 0)
			for (unsigned k = 0; k < px->nres; k++)
				if (px->res[k].peer == PEER_MEMPOOL && px->res[k].size == r->size &&
				    px->res[k].threads == r->threads)
					p = &px->res[k];
		perf_size_str(r->size, a, sizeof(a));
		fmt_ops(r->ops_s, b, sizeof(b));
		snprintf(c, sizeof(c), "%.1f", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
		fmt_ns((double)perf_hist_pct(r->lat, 0.5), e, sizeof(e));
		fmt_ns((double)perf_hist_pct(r->lat, 0.99), f, sizeof(f));
		fmt_ns((double)r->lat->max, g, sizeof(g));
		char ratio[32];
		fmt_ratio(p && p->ops_s > 0 ? r->ops_s / p->ops_s : 0, ratio, sizeof(ratio));
		if (md)
			printf("| %s | %u | %s | %s | %s | %s | %s | %s | %s |\n", a, r->threads, r->name, b, c, e, f, g,
			       r->peer < 0 ? ratio : "");
		else
			printf("%9s %7u  %-22s %10s %8s %9s %9s %9s %15s\n", a, r->threads, r->name, b, c, e, f, g,
			       r->peer < 0 ? ratio : "");
	}
	perf_out_missing(px);
	fflush(stdout);
}

/* ---- JSON -------------------------------------------------------------------------- */

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Before every value: the comma, the indentation, the key. */
static void jw_sep(struct jw *w, const char *key)
{
	if (w->depth) {
		if (!w->first[w->depth])
			fputc(',', w->f);
		w->first[w->depth] = 0;
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	}
	if (key) {
		put_str(w->f, key);
		fputs(": ", w->f);
	}
}

void jw_begin(struct jw *w, const char *key, int array)
{
	jw_sep(w, key);
	fputc(array ? '[' : '{', w->f);
	w->first[++w->depth] = 1;
}

void jw_end(struct jw *w, int array)
{
	int empty = w->first[w->depth];

	w->depth--;
	if (!empty)
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	fputc(array ? ']' : '}', w->f);
	if (!w->depth)
		fputc('\n', w->f);
}

void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_sep(w, key);
	if (v)
		put_str(w->f, v);
	else
		fputs("null", w->f);
}

void jw_num(struct jw *w, const char *key, double v)
{
	jw_sep(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs("null", w->f);
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	jw_sep(w, key);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_bool(struct jw *w, const char *key, int v)
{
	jw_sep(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	jw_sep(w, key);
	fputs("null", w->f);
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (colon && !strncmp(line, "model name", 10)) {
			colon += 2;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
}

void perf_json_header(struct jw *w, struct perf_ctx *px, const char *workload)
{
	struct utsname u;
	char model[128];

	jw_begin(w, NULL, 0);
	jw_str(w, "schema", "udma-perf/1");
	jw_str(w, "udma", udma_version());
	jw_str(w, "workload", workload);
	jw_begin(w, "machine", 0);
	cpu_model(model, sizeof(model));
	jw_str(w, "cpu", model);
	jw_uint(w, "cpus", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	if (!uname(&u))
		jw_str(w, "kernel", u.release);
	/* other processes' CPU use during the run: disturbed figures say so */
	double load = perf_other_load();
	if (load >= 0)
		jw_num(w, "other_cpus_busy", load);
	else
		jw_null(w, "other_cpus_busy");
	double xcpu = perf_cross_cpu_ns();
	if (xcpu > 0)
		jw_num(w, "cross_cpu_round_trip_ns", xcpu);
	else
		jw_null(w, "cross_cpu_round_trip_ns");
	jw_end(w, 0);
	jw_begin(w, "peers", 0);
	jw_bool(w, "asked", px->o->peers);
	if (perf_dpdk_version())
		jw_str(w, "dpdk", perf_dpdk_version());
	else
		jw_null(w, "dpdk");
	jw_str(w, "dpdk_eal", perf_dpdk_up() ? perf_dpdk_how() : NULL);
	jw_end(w, 0);
}

void perf_json_lat(struct jw *w, const struct perf_hist *h)
{
	if (!h->n) {
		jw_null(w, "latency_ns");
		return;
	}
	jw_begin(w, "latency_ns", 0);
	jw_uint(w, "samples", h->n);
	jw_num(w, "avg", perf_hist_avg(h));
	jw_uint(w, "p50", perf_hist_pct(h, 0.5));
	jw_uint(w, "p99", perf_hist_pct(h, 0.99));
	jw_uint(w, "max", h->max);
	jw_end(w, 0);
}

struct eng_json {
	struct jw *w;
	enum udma_func f;
};

static int engine_json(const struct udma_engine_info *info, void *arg)
{
	struct eng_json *ej = arg;
	struct jw *w = ej->w;

	jw_begin(w, NULL, 0);
	jw_str(w, "name", info->name);
	jw_uint(w, "declared_bytes_per_s", info->declared_speed);
	jw_uint(w, "lanes", info->lanes);
	jw_bool(w, "inline", !!(info->flags & UDMA_ENGINE_INLINE));
	jw_uint(w, "completed", info->completed);
	jw_uint(w, "overhead_ns", info->overhead_ns);
	/* size classes of bytes touched: < 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, larger */
	jw_begin(w, "learned_bytes_per_s", 1);
	for (int c = 0; c < 8; c++)
		jw_uint(w, NULL, info->learned_speed[ej->f][c]);
	jw_end(w, 1);
	jw_end(w, 0);
	return 0;
}

int perf_out_json(struct perf_ctx *px, FILE *f)
{
	const struct perf_opts *o = px->o;
	struct jw w = { .f = f };
	enum perf_peer cols[PEER_COUNT];
	unsigned ncol = peer_columns(px, cols);

	perf_json_header(&w, px, o->workload == W_POOL ? "pool" : "mover");
	jw_begin(&w, "config", 0);
	if (o->workload == W_MOVER)
		jw_str(&w, "func", udma_func_name(o->func));
	jw_begin(&w, "sizes", 1);
	for (unsigned i = 0; i < o->nsizes; i++)
		jw_uint(&w, NULL, o->sizes[i]);
	jw_end(&w, 1);
	jw_uint(&w, "depth", o->depth);
	jw_uint(&w, "threads", o->threads);
	if (o->workload == W_MOVER) {
		jw_begin(&w, "engines", 1);
		for (unsigned i = 0; i < o->nengines; i++)
			jw_str(&w, NULL, o->engines[i].name);
		jw_end(&w, 1);
		jw_str(&w, "mode", mode_name(o->mode));
		jw_uint(&w, "lat_every", o->lat_every);
	}
	jw_num(&w, "duration_s", o->duration);
	jw_uint(&w, "reps", (uint64_t)o->reps);
	jw_bool(&w, "verify", o->verify);
	jw_end(&w, 0);

	jw_begin(&w, "results", 1);
	for (unsigned i = 0; i < px->nres; i++) {
		const struct perf_result *r = &px->res[i];
		jw_begin(&w, NULL, 0);
		jw_str(&w, "name", r->name);
		jw_bool(&w, "peer", r->peer >= 0);
		jw_uint(&w, "size", r->size);
		jw_uint(&w, "threads", r->threads);
		jw_uint(&w, "depth", r->depth);
		jw_uint(&w, "ops", r->ops);
		jw_num(&w, "seconds", r->secs);
		jw_num(&w, "ops_per_s", r->ops_s);
		if (r->nsamples > 1) {
			jw_begin(&w, "ops_per_s_reps", 1);
			for (unsigned k = 0; k < r->nsamples; k++)
				jw_num(&w, NULL, r->samples[k]);
			jw_end(&w, 1);
		}
		jw_num(&w, "gb_per_s", gbps(r));
		jw_num(&w, "ns_per_op", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
		perf_json_lat(&w, r->lat);
		if (r->ran_on[0])
			jw_str(&w, "ran_on", r->ran_on);
		if (r->note[0])
			jw_str(&w, "note", r->note);
		if (r->peer < 0) {
			/* ratios of ops/s to each peer at the same size (and threads) */
			jw_begin(&w, "vs", 0);
			for (unsigned k = 0; k < ncol; k++) {
				const struct perf_result *p = peer_at(px, cols[k], r->size);
				if (p && p->ops_s > 0)
					jw_num(&w, perf_peer_label(cols[k], o->func), r->ops_s / p->ops_s);
			}
			if (o->workload == W_POOL)
				for (unsigned k = 0; k < px->nres; k++)
					if (px->res[k].peer == PEER_MEMPOOL && px->res[k].size == r->size &&
					    px->res[k].threads == r->threads && px->res[k].ops_s > 0)
						jw_num(&w, "rte_mempool", r->ops_s / px->res[k].ops_s);
			jw_end(&w, 0);
		}
		jw_end(&w, 0);
	}
	jw_end(&w, 1);

	jw_begin(&w, "missing", 1);
	for (unsigned i = 0; i < px->nmissing; i++) {
		jw_begin(&w, NULL, 0);
		jw_str(&w, "peer", px->missing[i].peer);
		jw_str(&w, "reason", px->missing[i].reason);
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	if (o->workload == W_MOVER) {
		/* what the scheduler learned: where "auto" sent requests, and why */
		struct eng_json ej = { &w, o->func };
		jw_begin(&w, "engines", 1);
		udma_engine_foreach(engine_json, &ej);
		jw_end(&w, 1);
	}
	jw_bool(&w, "failed", px->failed);
	jw_str(&w, "error", px->failed ? px->why : NULL);
	jw_end(&w, 0);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* ---- the plot ----------------------------------------------------------------------- */

const char *perf_gnuplot_path(char *buf, size_t len)
{
	const char *env = getenv("UDMA_GNUPLOT");
	const char *path = getenv("PATH");

	if (env)
		return *env && access(env, X_OK) == 0 ? snprintf(buf, len, "%s", env), buf : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f); /* '' is a quote inside '...' */
		fputc(*s, f);
	}
	fputc('\'', f);
}

int perf_out_plot(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	const char *names[64];
	unsigned nseries = 0;
	char script[4096], gp[512];
	int svg = !strcmp(strrchr(o->plot, '.'), ".svg");

	for (unsigned i = 0; i < px->nres; i++) {
		unsigned k = 0;
		while (k < nseries && strcmp(names[k], px->res[i].name))
			k++;
		if (k == nseries && nseries < 64)
			names[nseries++] = px->res[i].name;
	}
	if (!nseries) {
		fprintf(stderr, "udma perf: --plot: nothing measured, no plot\n");
		return -1;
	}
	snprintf(script, sizeof(script), "%s.gp", o->plot);
	FILE *f = fopen(script, "w");
	if (!f) {
		fprintf(stderr, "udma perf: --plot: cannot write %s: %s\n", script, strerror(errno));
		return -1;
	}
	fprintf(f, "# udma perf: GB/s against bytes per request, per engine and peer\n");
	if (svg)
		fprintf(f, "set terminal svg size 960,600 dynamic noenhanced font 'sans,11'\n");
	else
		fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
			   "  set terminal pngcairo size 960,600 noenhanced font 'sans,10'\n"
			   "} else {\n  set terminal png size 960,600 noenhanced\n}\n");
	fprintf(f, "set output ");
	gp_quote(f, o->plot);
	fprintf(f, "\nset title 'udma perf: %s, %u thread%s, depth %u, %s completion, %.3g s per point'\n",
		udma_func_name(o->func), o->threads, o->threads > 1 ? "s" : "", o->depth, mode_name(o->mode),
		o->duration);
	fprintf(f, "set logscale x 2\nset format x '%%.0b%%BB'\nset xlabel 'bytes per request'\n"
		   "set ylabel 'GB/s'\nset grid\nset key top left\nset yrange [0:*]\n");
	fprintf(f, "plot ");
	for (unsigned k = 0; k < nseries; k++) {
		char title[80];
		int peer = 0;
		for (unsigned i = 0; i < px->nres; i++)
			if (!strcmp(px->res[i].name, names[k]))
				peer = px->res[i].peer >= 0;
		snprintf(title, sizeof(title), "%s%s", names[k], peer ? " (peer)" : "");
		fprintf(f, "%s'-' using 1:2 with linespoints lw 2 %stitle ", k ? ", \\\n     " : "", peer ? "dt 2 " : "");
		gp_quote(f, title);
	}
	fputc('\n', f);
	for (unsigned k = 0; k < nseries; k++) {
		for (unsigned i = 0; i < px->nres; i++)
			if (!strcmp(px->res[i].name, names[k]))
				fprintf(f, "%zu %.6g\n", px->res[i].size, gbps(&px->res[i]));
		fprintf(f, "e\n");
	}
	if (fclose(f)) {
		fprintf(stderr, "udma perf: --plot: cannot write %s\n", script);
		return -1;
	}
	if (!perf_gnuplot_path(gp, sizeof(gp))) {
		fprintf(stderr,
			"udma perf: --plot: gnuplot not found (install it: Debian/Ubuntu gnuplot-nox), so %s was not drawn;\n"
			"  the plot script is %s (run: gnuplot %s)\n", o->plot, script, script);
		return 0;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execl(gp, "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "udma perf: --plot: %s failed on %s; the script is kept\n", gp, script);
		return -1;
	}
	unlink(script);
	if (!o->json)
		printf("\nplot: %s (gnuplot)\n", o->plot);
	return 0;
}
