/* SPDX-License-Identifier: BSD-3-Clause */
/* Pieces of what `udma perf` workloads report: table cells, and JSON (schema udma-perf/1) (perf.h). */
#include <sys/utsname.h>
#include <unistd.h>

#include "perf.h"

const char *perf_mode_name(enum perf_mode m)
{
	return m == MODE_POLL ? "poll" : m == MODE_CALLBACK ? "callback" : "wait";
}

void perf_fmt_ops(double v, char *b, size_t n)
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

void perf_fmt_ns(double ns, char *b, size_t n)
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

void perf_fmt_ratio(double r, char *b, size_t n)
{
	if (!(r > 0))
		snprintf(b, n, "-");
	else if (r < 10)
		snprintf(b, n, "%.2fx", r);
	else
		snprintf(b, n, "%.1fx", r);
}

double perf_gbps(const struct perf_result *r)
{
	return r->ops_s * (double)r->size / 1e9;
}

void perf_print_missing(const struct perf_ctx *px)
{
	if (!px->nmissing)
		return;
	printf("\npeers missing:\n");
	for (unsigned i = 0; i < px->nmissing; i++)
		printf("  %s: missing: %s\n", px->missing[i].peer, px->missing[i].reason);
}

/* ---- JSON ---------------------------------------------------------------------------- */

void perf_json_header(struct jw *w, struct perf_ctx *px, const char *workload)
{
	struct utsname u;
	char model[128];

	jw_begin(w, NULL, 0);
	jw_str(w, "schema", "udma-perf/1");
	jw_str(w, "udma", udma_version());
	jw_str(w, "workload", workload);
	jw_begin(w, "machine", 0);
	perf_cpu_model(model, sizeof(model));
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

void perf_json_result(struct jw *w, const struct perf_result *r)
{
	jw_str(w, "name", r->name);
	jw_bool(w, "peer", r->peer >= 0);
	jw_uint(w, "size", r->size);
	jw_uint(w, "threads", r->threads);
	jw_uint(w, "depth", r->depth);
	jw_uint(w, "ops", r->ops);
	jw_num(w, "seconds", r->secs);
	jw_num(w, "ops_per_s", r->ops_s);
	if (r->nsamples > 1) {
		jw_begin(w, "ops_per_s_reps", 1);
		for (unsigned k = 0; k < r->nsamples; k++)
			jw_num(w, NULL, r->samples[k]);
		jw_end(w, 1);
	}
	jw_num(w, "gb_per_s", perf_gbps(r));
	jw_num(w, "ns_per_op", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
	perf_json_lat(w, r->lat);
	if (r->ran_on[0])
		jw_str(w, "ran_on", r->ran_on);
	if (r->note[0])
		jw_str(w, "note", r->note);
}

void perf_json_missing(struct jw *w, const struct perf_ctx *px)
{
	jw_begin(w, "missing", 1);
	for (unsigned i = 0; i < px->nmissing; i++) {
		jw_begin(w, NULL, 0);
		jw_str(w, "peer", px->missing[i].peer);
		jw_str(w, "reason", px->missing[i].reason);
		jw_end(w, 0);
	}
	jw_end(w, 1);
}

void perf_json_end(struct jw *w, const struct perf_ctx *px)
{
	jw_bool(w, "failed", px->failed);
	jw_str(w, "error", px->failed ? px->why : NULL);
	jw_end(w, 0);
	fflush(w->f);
}
