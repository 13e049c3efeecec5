/* SPDX-License-Identifier: BSD-3-Clause */
/* The tick calibration and the histogram's slow paths (perf_hist.h). */
#include <string.h>

#include "perf_hist.h"

double perf_ns_per_tick = 1.0;

void perf_clock_init(void)
{
	/* 20 ms against the clock: 0.1% is plenty for latencies */
	uint64_t n0 = tool_now_ns(), t0 = perf_ticks(), n1, t1;

	do {
		n1 = tool_now_ns();
		t1 = perf_ticks();
	} while (n1 - n0 < 20000000ull);
	if (t1 > t0)
		perf_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
}

void perf_hist_reset(struct perf_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src)
{
	if (!src->n)
		return;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	if (!dst->n || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
	dst->sum += src->sum;
}

static void bucket_range(unsigned idx, uint64_t *lo, uint64_t *width)
{
	if (idx < HIST_SUB) {
		*lo = idx;
		*width = 1;
		return;
	}
	unsigned e = idx / HIST_SUB + HIST_SUB_BITS - 1, sub = idx % HIST_SUB;
	*width = 1ull << (e - HIST_SUB_BITS);
	*lo = (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

uint64_t perf_hist_pct(const struct perf_hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n + 0.5), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t lo, w;
			bucket_range(i, &lo, &w);
			uint64_t v = lo + w / 2;
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double perf_hist_avg(const struct perf_hist *h)
{
	return h->n ? (double)h->sum / (double)h->n : 0;
}
