/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every `udma perf` workload does around its clients: rows of
 * results, failures, missing peers, a point's measured window, and the
 * progress line on stderr (perf.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "perf.h"

volatile sig_atomic_t perf_interrupted;

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

double perf_median(const double *v, unsigned n, double *lo, double *hi)
{
	double s[101];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	if (lo)
		*lo = s[0];
	if (hi)
		*hi = s[n - 1];
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
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
		r->ops_s = perf_median(r->samples, r->nsamples, NULL, NULL);
		if (to != i)
			px->res[to] = *r;
		to++;
	}
	px->nres = to;
}

void perf_results_free(struct perf_ctx *px)
{
	for (unsigned i = 0; i < px->nres; i++)
		free(px->res[i].lat);
	free(px->res);
	px->res = NULL;
	px->nres = px->cap = 0;
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
	double t0 = tool_now(), end = t0 + secs, last_t = t0;
	uint64_t last_ops = live_ops ? live_ops(arg) : 0;
	/* a live line only for runs that take more than a second in all */
	int show = perf_progress_on(px) && px->points * (px->o->duration + 0.02) > 1.0;

	for (;;) {
		double now = tool_now();
		if (now >= end || perf_interrupted || (stop && *stop))
			break;
		double nap = end - now < 0.1 ? end - now : 0.1;
		struct timespec ts = { 0, (long)(nap * 1e9) };
		nanosleep(&ts, NULL);
		if (!show)
			continue;
		now = tool_now();
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
