/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the mover workload reports (perf_mover.h): one table of every size,
 * with ratios to the peers beside the absolute figures, or JSON (schema
 * udma-perf/1) with what the engines learned.
 */
#include "perf_mover.h"

enum { COL_SIZE, COL_NAME, COL_OPS, COL_GBPS, COL_NSOP, COL_DEPTH, COL_AVG, COL_P50, COL_P99, COL_MAX, COL_VS };

static const struct perf_result *peer_at(const struct perf_ctx *px, enum perf_peer p, size_t size)
{
	for (unsigned i = 0; i < px->nres; i++)
		if (px->res[i].peer == (int)p && px->res[i].size == size)
			return &px->res[i];
	return NULL;
}

/* r's speed against peer p's: the median of the repetitions' ratios
 * (a repetition runs every engine and peer once, in turn, so a slow
 * spell of a shared machine divides out), or the ratio of the medians
 * where they do not pair up (a repetition missing on one side); 0: none. */
static double vs_peer(const struct perf_result *r, const struct perf_result *p)
{
	double q[101];
	unsigned n = r->nsamples;

	if (!p || p->ops_s <= 0)
		return 0;
	if (!n || n != p->nsamples)
		return r->ops_s / p->ops_s;
	for (unsigned k = 0; k < n; k++) {
		if (p->samples[k] <= 0)
			return r->ops_s / p->ops_s;
		q[k] = r->samples[k] / p->samples[k];
	}
	return perf_median(q, n, NULL, NULL);
}

static void print_intro(const struct perf_opts *o)
{
	printf("udma perf: %s, %u client thread%s, depth %u, %s completion, %.3g s per point%s\n",
	       udma_func_name(o->func), o->threads, o->threads > 1 ? "s" : "", o->depth, perf_mode_name(o->mode),
	       o->duration, o->verify ? ", every result verified" : "");
	if (o->lat_every)
		printf("latency: submit to completion seen by the client, 1 request in %u timed; it includes the wait\n"
		       "  behind the other requests in flight, so it grows with the depth column (glibc and ISA-L\n"
		       "  are called one at a time: depth 1)\n", o->lat_every);
	printf("GB/s: bytes per request x requests per second; ns/op: client time per request\n");
	if (o->peers)
		printf("vs PEER: the median of the repetitions' ratios of requests per second (each repetition runs\n"
		       "  every engine and peer in turn)\n");
	printf("\n");
}

/* Column heads "vs PEER", kept until the table is printed. */
struct heads {
	char vs[PEER_COUNT][48];
};

static void columns(struct table *t, struct heads *h, const enum perf_peer *cols, unsigned ncol, enum udma_func f)
{
	static const char *const head[] = { "size", "engine", "ops/s", "GB/s", "ns/op", "depth", "lat avg", "p50",
					    "p99", "max" };

	for (unsigned k = 0; k < COL_VS; k++)
		table_col(t, head[k], k == COL_NAME ? TABLE_LEFT : TABLE_RIGHT);
	for (unsigned k = 0; k < ncol; k++) {
		snprintf(h->vs[k], sizeof(h->vs[k]), "vs %s", mover_peer_label(cols[k], f));
		table_col(t, h->vs[k], TABLE_RIGHT);
	}
	table_col(t, "ran on", TABLE_LEFT);
}

static void add_row(struct table *t, const struct perf_ctx *px, const struct perf_result *r,
		    const enum perf_peer *cols, unsigned ncol)
{
	char cell[COL_VS + PEER_COUNT + 1][96];
	const char *cells[COL_VS + PEER_COUNT + 1];

	tool_size_str(r->size, cell[COL_SIZE], sizeof(cell[0]));
	snprintf(cell[COL_NAME], sizeof(cell[0]), "%s%s", r->name, r->peer >= 0 ? " (peer)" : "");
	perf_fmt_ops(r->ops_s, cell[COL_OPS], sizeof(cell[0]));
	snprintf(cell[COL_GBPS], sizeof(cell[0]), "%.2f", perf_gbps(r));
	snprintf(cell[COL_NSOP], sizeof(cell[0]), "%.1f", r->ops_s > 0 ? 1e9 * r->threads / r->ops_s : 0);
	snprintf(cell[COL_DEPTH], sizeof(cell[0]), "%u", r->depth);
	perf_fmt_ns(perf_hist_avg(r->lat), cell[COL_AVG], sizeof(cell[0]));
	perf_fmt_ns((double)perf_hist_pct(r->lat, 0.5), cell[COL_P50], sizeof(cell[0]));
	perf_fmt_ns((double)perf_hist_pct(r->lat, 0.99), cell[COL_P99], sizeof(cell[0]));
	perf_fmt_ns((double)r->lat->max, cell[COL_MAX], sizeof(cell[0]));
	for (unsigned k = 0; k < ncol; k++) {
		const struct perf_result *p = r->peer < 0 ? peer_at(px, cols[k], r->size) : NULL;
		perf_fmt_ratio(vs_peer(r, p), cell[COL_VS + k], sizeof(cell[0]));
	}
	snprintf(cell[COL_VS + ncol], sizeof(cell[0]), "%s", r->note[0] ? r->note : r->peer < 0 ? r->ran_on : "");
	for (unsigned k = 0; k <= COL_VS + ncol; k++)
		cells[k] = cell[k];
	table_row(t, cells);
}

void mover_print(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	enum perf_peer cols[PEER_COUNT];
	unsigned ncol = o->peers ? mover_peer_columns(o->func, cols) : 0;
	struct heads h;
	struct table t;

	print_intro(o);
	table_init(&t);
	columns(&t, &h, cols, ncol, o->func);
	/* the rows as run: size by size, each size's engines then its peers */
	for (unsigned i = 0; i < px->nres; i++)
		add_row(&t, px, &px->res[i], cols, ncol);
	if (table_print(&t, stdout, o->markdown))
		perf_fail(px, "out of memory for the table");
	table_free(&t);
	perf_print_missing(px);
	fflush(stdout);
}

/* ---- JSON ---------------------------------------------------------------------------- */

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
	if (info->size >= offsetof(struct udma_engine_info, overhead_learned) + sizeof(info->overhead_learned))
		jw_bool(w, "overhead_learned", info->overhead_learned); /* false: overhead_ns is the starting guess */
	/* size classes of bytes touched: < 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, larger */
	jw_begin(w, "learned_bytes_per_s", 1);
	for (int c = 0; c < 8; c++)
		jw_uint(w, NULL, info->learned_speed[ej->f][c]);
	jw_end(w, 1);
	jw_end(w, 0);
	return 0;
}

static void json_config(struct jw *w, const struct perf_opts *o)
{
	jw_begin(w, "config", 0);
	jw_str(w, "func", udma_func_name(o->func));
	jw_begin(w, "sizes", 1);
	for (unsigned i = 0; i < o->nsizes; i++)
		jw_uint(w, NULL, o->sizes[i]);
	jw_end(w, 1);
	jw_uint(w, "depth", o->depth);
	jw_uint(w, "threads", o->threads);
	jw_begin(w, "engines", 1);
	for (unsigned i = 0; i < o->nengines; i++)
		jw_str(w, NULL, o->engines[i].name);
	jw_end(w, 1);
	jw_str(w, "mode", perf_mode_name(o->mode));
	jw_uint(w, "lat_every", o->lat_every);
	jw_num(w, "duration_s", o->duration);
	jw_uint(w, "reps", (uint64_t)o->reps);
	jw_bool(w, "verify", o->verify);
	jw_end(w, 0);
}

void mover_json(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	struct jw w = { .f = stdout };
	enum perf_peer cols[PEER_COUNT];
	unsigned ncol = o->peers ? mover_peer_columns(o->func, cols) : 0;

	perf_json_header(&w, px, "mover");
	json_config(&w, o);
	jw_begin(&w, "results", 1);
	for (unsigned i = 0; i < px->nres; i++) {
		const struct perf_result *r = &px->res[i];
		jw_begin(&w, NULL, 0);
		perf_json_result(&w, r);
		if (r->peer < 0) {
			/* ratios of ops/s to each peer at the same size */
			jw_begin(&w, "vs", 0);
			for (unsigned k = 0; k < ncol; k++) {
				const struct perf_result *p = peer_at(px, cols[k], r->size);
				if (p && p->ops_s > 0)
					jw_num(&w, mover_peer_label(cols[k], o->func), vs_peer(r, p));
			}
			jw_end(&w, 0);
		}
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	perf_json_missing(&w, px);
	/* what the scheduler learned: where "auto" sent requests, and why */
	struct eng_json ej = { &w, o->func };
	jw_begin(&w, "engines", 1);
	udma_engine_foreach(engine_json, &ej);
	jw_end(&w, 1);
	perf_json_end(&w, px);
}
