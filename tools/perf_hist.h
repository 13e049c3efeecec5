/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency for `udma perf`: a cheap tick counter (the TSC, or the arm64
 * virtual counter), calibrated once against tools' clock (util.h), and a
 * log-linear histogram: 16 buckets per power of two, so any percentile is
 * within 1/16 (6%) of the truth, in 8 KiB whatever the run's length.
 */
#ifndef UDMA_TOOLS_PERF_HIST_H
#define UDMA_TOOLS_PERF_HIST_H

#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "util.h"

#define HIST_SUB_BITS 4
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (64u * HIST_SUB)

struct perf_hist {
	uint64_t n, sum, min, max;
	uint64_t b[HIST_BUCKETS];
};

/* Unordered reads, far cheaper than clock_gettime() (docs/performance.md). */
static inline uint64_t perf_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return tool_now_ns();
#endif
}

/* In spin loops: let the sibling hyperthread (or the host) have the core. */
static inline void perf_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

extern double perf_ns_per_tick;
void perf_clock_init(void);

static inline uint64_t perf_ticks_ns(uint64_t dt)
{
	return (uint64_t)((double)dt * perf_ns_per_tick);
}

static inline unsigned perf_hist_idx(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

static inline void perf_hist_add(struct perf_hist *h, uint64_t v)
{
	h->b[perf_hist_idx(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min || h->n == 1)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void perf_hist_reset(struct perf_hist *h);
void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src);
/* The value below which a fraction q of the samples lie (bucket midpoint, clamped to min..max). */
uint64_t perf_hist_pct(const struct perf_hist *h, double q);
double perf_hist_avg(const struct perf_hist *h);

#endif
