/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf --domain`: domain copy throughput against the plain calls
 * they wrap, in one run:
 *   system-domain pull/push   vs memcpy
 *   shm-domain push/pull      vs memcpy into the same mapping
 *   process-domain pull       vs a plain process_vm_readv loop
 * Pinned to one CPU; each case measures the peer and udma in alternating
 * slices (9 each, -d seconds per side) and reports the medians.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf.h"

#define SLICES 9

static double secs;

/* GB/s of fn over size-byte operations for one timed slice. */
typedef int (*op_fn)(void *ctx, size_t size);
static double slice(op_fn fn, void *ctx, size_t size)
{
	long n = 0;
	double t0 = tool_now(), t;

	do {
		for (int i = 0; i < 8; i++, n++)
			if (fn(ctx, size))
				return -1;
		t = tool_now();
	} while (t - t0 < secs / SLICES);
	return (double)n * (double)size / (t - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Peer and udma in alternating slices (the same cache and clock conditions
 * for both), the median of each. -1 if an operation failed. */
static int pair(op_fn peer, void *pctx, op_fn mine, void *mctx, size_t size, double *p, double *m)
{
	double pv[SLICES], mv[SLICES];

	if (slice(peer, pctx, size) < 0 || slice(mine, mctx, size) < 0) /* warm up both */
		return -1;
	for (int k = 0; k < SLICES; k++) {
		pv[k] = slice(peer, pctx, size);
		mv[k] = slice(mine, mctx, size);
		if (pv[k] < 0 || mv[k] < 0)
			return -1;
	}
	qsort(pv, SLICES, sizeof(pv[0]), cmp_double);
	qsort(mv, SLICES, sizeof(mv[0]), cmp_double);
	*p = pv[SLICES / 2];
	*m = mv[SLICES / 2];
	return 0;
}

struct ctx {
	struct udma_domain *d;
	char *src, *dst;
	pid_t pid;
	char *remote;
};

static int do_memcpy(void *p, size_t n)
{
	struct ctx *c = p;

	memcpy(c->dst, c->src, n);
	return 0;
}

static int sys_pull(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec s = { c->src, n }, d = { c->dst, n };

	return udma_domain_pull(udma_system_domain(), NULL, &s, 1, &d, 1, NULL, NULL);
}

static int sys_push(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec s = { c->src, n }, d = { c->dst, n };

	return udma_domain_push(udma_system_domain(), NULL, &d, 1, &s, 1, NULL, NULL);
}

static int shm_push(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec s = { c->src, n }, d = { (void *)0, n };

	return udma_domain_push(c->d, NULL, &d, 1, &s, 1, NULL, NULL);
}

static int shm_pull(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec s = { (void *)0, n }, d = { c->dst, n };

	return udma_domain_pull(c->d, NULL, &s, 1, &d, 1, NULL, NULL);
}

static int vm_readv(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec l = { c->dst, n }, r = { c->remote, n };

	return process_vm_readv(c->pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

static int proc_pull(void *p, size_t n)
{
	struct ctx *c = p;
	struct iovec l = { c->dst, n }, r = { c->remote, n };

	return udma_domain_pull(c->d, NULL, &r, 1, &l, 1, NULL, NULL);
}

#define MAXROWS 32

static struct drow {
	const char *what;
	size_t size;
	double peer, udma;
} rows[MAXROWS];
static int nrows;

static int row(struct perf_ctx *px, const char *what, size_t size, op_fn peer, void *pctx, op_fn mine, void *mctx)
{
	struct drow *r = &rows[nrows];
	char sz[32];

	if (perf_interrupted || nrows == MAXROWS)
		return -1;
	if (perf_progress_on(px) && px->points * 2 * secs > 1) {
		fprintf(stderr, "\r\033[K[%u/%u] %s, %s", px->point + 1, px->points, what, tool_size_str(size, sz, sizeof(sz)));
		fflush(stderr);
	}
	px->point++;
	if (pair(peer, pctx, mine, mctx, size, &r->peer, &r->udma)) {
		perf_fail(px, "%s of %zu bytes: an operation failed (%s)", what, size, strerror(errno));
		return -1;
	}
	r->what = what;
	r->size = size;
	nrows++;
	return 0;
}

static void print_json(struct perf_ctx *px)
{
	struct jw w = { .f = stdout };

	perf_json_header(&w, px, "domain");
	jw_begin(&w, "config", 0);
	jw_num(&w, "duration_s", secs);
	jw_uint(&w, "slices", SLICES);
	jw_end(&w, 0);
	jw_begin(&w, "results", 1);
	for (int i = 0; i < nrows; i++) {
		jw_begin(&w, NULL, 0);
		jw_str(&w, "case", rows[i].what);
		jw_uint(&w, "size", rows[i].size);
		jw_num(&w, "peer_gb_per_s", rows[i].peer);
		jw_num(&w, "udma_gb_per_s", rows[i].udma);
		jw_num(&w, "udma_over_peer", rows[i].peer > 0 ? rows[i].udma / rows[i].peer : 0);
		jw_end(&w, 0);
	}
	jw_end(&w, 1);
	perf_json_end(&w, px);
}

static void print_table(struct perf_ctx *px)
{
	static const char *const head[] = { "case", "size", "peer GB/s", "udma GB/s", "udma / peer" };
	struct table t;

	table_init(&t);
	for (int k = 0; k < 5; k++)
		table_col(&t, head[k], k ? TABLE_RIGHT : TABLE_LEFT);
	for (int i = 0; i < nrows; i++) {
		const struct drow *r = &rows[i];
		char cell[4][32];
		const char *cells[5] = { r->what, cell[0], cell[1], cell[2], cell[3] };
		snprintf(cell[0], sizeof(cell[0]), "%zu KiB", r->size >> 10);
		snprintf(cell[1], sizeof(cell[1]), "%.2f", r->peer);
		snprintf(cell[2], sizeof(cell[2]), "%.2f", r->udma);
		snprintf(cell[3], sizeof(cell[3]), "%.1f%%", r->peer > 0 ? 100.0 * r->udma / r->peer : 0);
		table_row(&t, cells);
	}
	if (table_print(&t, stdout, px->o->markdown))
		perf_fail(px, "out of memory for the table");
	table_free(&t);
}

int perf_domain_run(struct perf_ctx *px)
{
	static const size_t sizes[] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
	const size_t max = 4 << 20;
	struct ctx c = { 0 };
	cpu_set_t one, saved;
	int rc = 0;

	secs = px->o->duration;
	px->points = 4 * 5;
	sched_getaffinity(0, sizeof(saved), &saved);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	c.src = aligned_alloc(4096, max);
	c.dst = aligned_alloc(4096, max);
	if (!c.src || !c.dst) {
		perf_fail(px, "out of memory");
		goto out;
	}
	memset(c.src, 1, max);
	memset(c.dst, 2, max);
	for (size_t i = 0; i < 4 && !rc; i++) {
		rc = row(px, "system pull/memcpy", sizes[i], do_memcpy, &c, sys_pull, &c);
		if (!rc)
			rc = row(px, "system push/memcpy", sizes[i], do_memcpy, &c, sys_push, &c);
	}
	if (rc)
		goto out;
	c.d = udma_shm_create("perf-shm", max, 0);
	if (!c.d) {
		perf_fail(px, "udma_shm_create: %s", strerror(errno));
		goto out;
	}
	char *base = udma_shm_base(c.d, NULL);
	struct ctx into = { .src = c.src, .dst = base }, from = { .src = base, .dst = c.dst };
	for (size_t i = 0; i < 4 && !rc; i++) {
		rc = row(px, "shm push/memcpy", sizes[i], do_memcpy, &into, shm_push, &c);
		if (!rc)
			rc = row(px, "shm pull/memcpy", sizes[i], do_memcpy, &from, shm_pull, &c);
	}
	udma_domain_destroy(c.d);
	if (rc)
		goto out;

	/* a child holding the remote buffer (the same VA as our copy, after fork) */
	c.remote = c.src;
	int pfd[2];
	char go = 1;
	if (pipe(pfd)) {
		perf_fail(px, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	c.pid = fork();
	if (!c.pid) {
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (c.pid < 0 || read(pfd[0], &go, 1) != 1) {
		perf_fail(px, "cannot start the process to read from");
	} else if (!(c.d = udma_process_domain_create(c.pid, NULL))) {
		perf_fail(px, "udma_process_domain_create: %s", strerror(errno));
	} else {
		for (size_t i = 0; i < 4 && !rc; i++)
			rc = row(px, "process pull/vm_readv", sizes[i], vm_readv, &c, proc_pull, &c);
		udma_domain_destroy(c.d);
	}
	close(pfd[0]);
	close(pfd[1]);
	if (c.pid > 0) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, NULL, 0);
	}
out:
	free(c.src);
	free(c.dst);
	sched_setaffinity(0, sizeof(saved), &saved);
	perf_progress_clear(px);
	if (px->o->json)
		print_json(px);
	else
		print_table(px);
	return 0;
}
