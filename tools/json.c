/* SPDX-License-Identifier: BSD-3-Clause */
/* A tiny JSON writer, two spaces an indentation level (util.h). */
#include <assert.h>
#include <math.h>

#include "util.h"

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
	assert(w->depth + 1 < (int)(sizeof(w->first) / sizeof(w->first[0])));
	jw_sep(w, key);
	fputc(array ? '[' : '{', w->f);
	w->first[++w->depth] = 1;
}

void jw_end(struct jw *w, int array)
{
	int empty = w->first[w->depth];

	assert(w->depth > 0);
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
