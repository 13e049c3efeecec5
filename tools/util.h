/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The helpers every subcommand of `udma` shares, and nothing above them:
 * number and size parsing, the clock, standard descriptors and output
 * checks (util.c), the JSON writer (json.c) and aligned tables (table.c).
 */
#ifndef UDMA_TOOLS_UTIL_H
#define UDMA_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- util.c ---- */

/* A decimal number in [lo, hi], nothing after it. 0, or -1. */
int tool_parse_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out);
/* A decimal fraction in [lo, hi], nothing after it. 0, or -1. */
int tool_parse_double(const char *s, double lo, double hi, double *out);
/*
 * A size: digits, then K, M or G (either case; powers of 1024) optionally
 * followed by "iB", or a bare "B": "4096", "4K", "4KiB", "4KB", "64B".
 * At most max. *end: past what was read (the caller says whether more may
 * follow). 0, or -1.
 */
int tool_parse_size_at(const char *s, size_t max, const char **end, size_t *out);
/* The same, the whole string. */
int tool_parse_size(const char *s, size_t max, size_t *out);
/* "4 KiB", "64 B", "1 MiB": the largest unit that divides n. */
const char *tool_size_str(size_t n, char *buf, size_t len);

/* CLOCK_MONOTONIC: the one clock of tools/. */
uint64_t tool_now_ns(void);
double tool_now(void); /* seconds */

/* Give each closed descriptor 0..2 a /dev/null that cannot be used the way
 * it would be (stdout opened for reading): nothing else can take the slot,
 * and writing stdout fails as it would have. 0, or -errno. */
int tool_std_fds(void);
/* Flush f: 0, or -errno if anything written to it was lost. */
int tool_out_flush(FILE *f);

/* ---- json.c: keys only inside objects, NULL key inside arrays ---- */

struct jw {
	FILE *f;
	int depth;
	int first[32];
};
void jw_begin(struct jw *w, const char *key, int array);
void jw_end(struct jw *w, int array);
void jw_str(struct jw *w, const char *key, const char *v); /* v NULL: null */
void jw_num(struct jw *w, const char *key, double v);      /* not finite: null */
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_bool(struct jw *w, const char *key, int v);
void jw_null(struct jw *w, const char *key);

/* ---- table.c: columns as wide as their widest cell ---- */

#define TABLE_MAX_COLS 24

enum table_align { TABLE_RIGHT, TABLE_LEFT };

/* Rows are kept until table_print(), so every column fits all of its cells. */
struct table {
	unsigned ncols, nrows, cap;
	const char *head[TABLE_MAX_COLS];
	enum table_align align[TABLE_MAX_COLS];
	size_t width[TABLE_MAX_COLS];
	char **cells; /* nrows x ncols copies */
	int failed;   /* a row could not be kept */
};
void table_init(struct table *t);
void table_col(struct table *t, const char *head, enum table_align align);
/* Add a row of ncols cells (copied). */
void table_row(struct table *t, const char *const *cells);
/* Print as text (two spaces between columns) or as Markdown; -ENOMEM if a
 * row was lost. The rows stay. */
int table_print(const struct table *t, FILE *f, int markdown);
void table_free(struct table *t);

#endif
