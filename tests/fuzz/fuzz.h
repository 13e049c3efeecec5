/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets: reading the input as a stream of small
 * numbers (zeros once it runs out, so every input is a complete program),
 * and the failure report. A target is a libFuzzer LLVMFuzzerTestOneInput();
 * replay.c gives it a main() for the test suite.
 */
#ifndef UDMA_FUZZ_H
#define UDMA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <udma/core.h>

struct fin {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t take(struct fin *in, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v |= (uint64_t)(in->n ? *in->p : 0) << (8 * i);
		if (in->n)
			in->p++, in->n--;
	}
	return v;
}

static inline uint8_t take8(struct fin *in)
{
	return (uint8_t)take(in, 1);
}

static void fuzz_log_sink(enum udma_log_level lvl, const char *line, void *arg)
{
	(void)lvl, (void)line, (void)arg;
}

/* Debug logging on, into nowhere: the arguments of every rejection's log
 * line are evaluated too (they may read what the check just refused). */
static inline void fuzz_log_everything(void)
{
	udma_log_set_sink(fuzz_log_sink, NULL);
	udma_log_set_level(UDMA_LOG_DEBUG);
}

/* An oracle disagreed with the library: abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                          \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif
