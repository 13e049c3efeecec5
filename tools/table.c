/* SPDX-License-Identifier: BSD-3-Clause */
/* Tables whose columns are as wide as their widest cell, as text or Markdown (util.h). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
}

void table_col(struct table *t, const char *head, enum table_align align)
{
	assert(t->ncols < TABLE_MAX_COLS && !t->nrows);
	t->head[t->ncols] = head;
	t->align[t->ncols] = align;
	t->width[t->ncols] = strlen(head);
	t->ncols++;
}

void table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		unsigned cap = t->cap ? 2 * t->cap : 16;
		char **c = realloc(t->cells, (size_t)cap * t->ncols * sizeof(*c));
		if (!c) {
			t->failed = 1;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	char **row = t->cells + (size_t)t->nrows * t->ncols;
	for (unsigned i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "");
		if (!row[i]) {
			while (i--)
				free(row[i]);
			t->failed = 1;
			return;
		}
		size_t n = strlen(row[i]);
		if (n > t->width[i])
			t->width[i] = n;
	}
	t->nrows++;
}

/* One line, with no spaces at its end. */
static void print_text(const struct table *t, FILE *f, const char *const *cells)
{
	for (unsigned i = 0; i < t->ncols; i++) {
		int w = (int)t->width[i];
		const char *sep = i ? "  " : "";
		if (i + 1 == t->ncols && !*cells[i])
			break;
		if (t->align[i] == TABLE_RIGHT)
			fprintf(f, "%s%*s", sep, w, cells[i]);
		else if (i + 1 < t->ncols)
			fprintf(f, "%s%-*s", sep, w, cells[i]);
		else
			fprintf(f, "%s%s", sep, cells[i]);
	}
	fputc('\n', f);
}

static void print_md(const struct table *t, FILE *f, const char *const *cells)
{
	fputc('|', f);
	for (unsigned i = 0; i < t->ncols; i++)
		fprintf(f, " %s |", cells[i]);
	fputc('\n', f);
}

int table_print(const struct table *t, FILE *f, int markdown)
{
	void (*line)(const struct table *, FILE *, const char *const *) = markdown ? print_md : print_text;

	line(t, f, t->head);
	if (markdown) {
		fputc('|', f);
		for (unsigned i = 0; i < t->ncols; i++)
			fputs(t->align[i] == TABLE_RIGHT ? "---:|" : "---|", f);
		fputc('\n', f);
	}
	for (unsigned r = 0; r < t->nrows; r++)
		line(t, f, (const char *const *)t->cells + (size_t)r * t->ncols);
	return t->failed ? -ENOMEM : 0;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < (size_t)t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	table_init(t);
}
