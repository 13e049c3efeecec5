/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf --storage PATH`: direct I/O to a file or block device through
 * a udma storage domain, and (with --peers) through fio on the same file,
 * size, depth and pattern (ioengine=io_uring, fixedbufs, registerfiles,
 * direct=1), the two alternating -r times; the medians, their ratio, and
 * CPU time per I/O of both (getrusage for udma, fio's usr+sys for fio).
 *
 * udma keeps -q I/Os in flight (the domain's queue depth) in one pull or
 * push of 8 x q pieces (random or consecutive offsets; at most 1024) on
 * q buffers of DMA memory, so every I/O is on a fixed buffer; a slot is
 * refilled as soon as its I/O completes, as fio does, and the queue drains
 * only at the end of each batch (one time in eight). Pieces i and i + q
 * share a buffer, as a benchmark may.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf.h"

#define MAX_REPS 101
#define MAX_Q 1024

static const char *const rw_names[] = { "read", "write", "randread", "randwrite" };

struct sres {
	double iops[MAX_REPS], cpu_us[MAX_REPS];
	unsigned n;
};

struct srow {
	size_t size;
	struct sres udma, fio;
};

static struct srow rows[PERF_MAX_SIZES];
static unsigned nrows;
static struct udma_storage_info done_info = { .size = sizeof(done_info) }; /* after the run: I/O counts */

static double ru_secs(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct sctx {
	struct udma_domain *s;
	char *mem;
	size_t bs;
	unsigned qd, pieces;
	int write, random;
	uint64_t blocks, next;
	unsigned seed;
	struct iovec f[MAX_Q], m[MAX_Q];
};

static int batch(struct sctx *c)
{
	for (unsigned i = 0; i < c->pieces; i++) {
		uint64_t b = c->random ? ((uint64_t)rand_r(&c->seed) << 16 ^ (uint64_t)rand_r(&c->seed)) % c->blocks
				       : c->next++ % c->blocks;
		c->f[i] = (struct iovec){ (void *)(uintptr_t)(b * c->bs), c->bs };
		c->m[i] = (struct iovec){ c->mem + (size_t)(i % c->qd) * c->bs, c->bs };
	}
	return c->write ? udma_domain_push(c->s, NULL, c->f, c->pieces, c->m, c->pieces, NULL, NULL)
			: udma_domain_pull(c->s, NULL, c->f, c->pieces, c->m, c->pieces, NULL, NULL);
}

/* One udma repetition: IOPS and CPU microseconds per I/O. */
static int udma_rep(struct sctx *c, double secs, double *iops, double *cpu_us)
{
	uint64_t ios = 0;
	double t0 = tool_now(), c0 = ru_secs(), t;
	int err;

	do {
		if ((err = batch(c)))
			return err;
		ios += c->pieces;
		t = tool_now();
	} while (t - t0 < secs && !perf_interrupted);
	*iops = (double)ios / (t - t0);
	*cpu_us = (ru_secs() - c0) * 1e6 / (double)ios;
	return 0;
}

/* The number after "key" : in s (from where *at points), or -1. */
static double json_num(const char *s, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\" :", key);
	const char *p = strstr(s, k);
	return p ? strtod(p + strlen(k), NULL) : -1;
}

/* One fio repetition, the same work; -1 and why in px if fio did not run. */
static int fio_rep(struct perf_ctx *px, size_t bs, uint64_t fsize, double secs, double *iops, double *cpu_us)
{
	const struct perf_opts *o = px->o;
	char cmd[1024 + PATH_MAX];
	static char out[1 << 16];
	snprintf(cmd, sizeof(cmd),
		 "fio --name=udma-peer --filename='%s' --ioengine=io_uring --fixedbufs --registerfiles --direct=1 "
		 "--rw=%s --bs=%zu --iodepth=%u --size=%llu --runtime=%dms --time_based --output-format=json 2>/dev/null",
		 o->storage, rw_names[o->storage_rw], bs, o->depth, (unsigned long long)fsize, (int)(secs * 1000 + 0.5));
	if (strchr(o->storage, '\'')) {
		perf_missing(px, "fio", "left out: the path has a quote in it");
		return -1;
	}
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	int st = p ? pclose(p) : -1;
	out[n] = 0;
	const char *side = strstr(out, o->storage_rw & 1 ? "\"write\" :" : "\"read\" :");
	if (st || !side) {
		perf_missing(px, "fio", "fio did not run (exit %d; is Debian's fio installed?)", st);
		return -1;
	}
	double io = json_num(side, "iops"), total = json_num(side, "total_ios");
	double usr = json_num(out, "usr_cpu"), sys = json_num(out, "sys_cpu"), ms = json_num(out, "job_runtime");
	*iops = io;
	*cpu_us = total > 0 ? (usr + sys) / 100.0 * ms * 1e3 / total : 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, unsigned n)
{
	double s[MAX_REPS];
	if (!n)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return s[n / 2];
}

/* Make PATH of size bytes with real data (holes would be read without the
 * device), unless it exists. 0, or -1 with the failure said. */
static int ensure_file(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	struct stat st;

	if (!stat(o->storage, &st))
		return 0;
	if (errno != ENOENT || !o->storage_size) {
		perf_fail(px, "%s: %s%s", o->storage, strerror(errno),
			  errno == ENOENT ? " (--storage-size SIZE creates it)" : "");
		return -1;
	}
	int fd = open(o->storage, O_CREAT | O_EXCL | O_WRONLY, 0644);
	char *chunk = malloc(1 << 20);
	int err = fd < 0 || !chunk;
	for (uint64_t off = 0; !err && off < o->storage_size; off += 1 << 20) {
		size_t n = o->storage_size - off < (1 << 20) ? (size_t)(o->storage_size - off) : (1 << 20);
		memset(chunk, (int)(off >> 20) | 1, n);
		err = pwrite(fd, chunk, n, (off_t)off) != (ssize_t)n;
	}
	if (!err)
		err = fsync(fd);
	if (err)
		perf_fail(px, "creating %s: %s", o->storage, strerror(errno));
	free(chunk);
	if (fd >= 0)
		close(fd);
	return err ? -1 : 0;
}

/* Every size, udma and fio in turn -r times. */
static void measure(struct perf_ctx *px, struct sctx *c, uint64_t fsize)
{
	const struct perf_opts *o = px->o;

	for (unsigned i = 0; i < o->nsizes && !perf_interrupted && !px->failed; i++) {
		struct srow *r = &rows[nrows++];
		r->size = c->bs = o->sizes[i];
		c->blocks = fsize / c->bs;
		for (int k = 0; k < o->reps && !perf_interrupted; k++) {
			int err = udma_rep(c, o->duration, &r->udma.iops[k], &r->udma.cpu_us[k]);
			if (err) {
				perf_fail(px, "udma %s of %zu bytes: %s", rw_names[o->storage_rw], c->bs, strerror(-err));
				return;
			}
			r->udma.n++;
			if (o->peers && !px->nmissing && !fio_rep(px, c->bs, fsize, o->duration, &r->fio.iops[k], &r->fio.cpu_us[k]))
				r->fio.n++;
			if (perf_progress_on(px)) {
				fprintf(stderr, "\r\033[K[%u/%u] %s %zu", ++px->point, px->points, rw_names[o->storage_rw], c->bs);
				fflush(stderr);
			}
		}
	}
}

static void print_table(struct perf_ctx *px)
{
	static const char *const head[] = { "size", "udma IOPS", "MB/s", "CPU us/IO", "fio IOPS", "MB/s",
					    "CPU us/IO", "udma / fio" };
	struct table t;

	table_init(&t);
	for (int k = 0; k < 8; k++)
		table_col(&t, head[k], k ? TABLE_RIGHT : TABLE_LEFT);
	for (unsigned i = 0; i < nrows; i++) {
		const struct srow *r = &rows[i];
		double ui = median(r->udma.iops, r->udma.n), fi = median(r->fio.iops, r->fio.n);
		char cell[8][32];
		const char *cells[8];
		tool_size_str(r->size, cell[0], sizeof(cell[0]));
		snprintf(cell[1], 32, "%.0f", ui);
		snprintf(cell[2], 32, "%.1f", ui * (double)r->size / 1e6);
		snprintf(cell[3], 32, "%.2f", median(r->udma.cpu_us, r->udma.n));
		snprintf(cell[4], 32, r->fio.n ? "%.0f" : "-", fi);
		snprintf(cell[5], 32, r->fio.n ? "%.1f" : "-", fi * (double)r->size / 1e6);
		snprintf(cell[6], 32, r->fio.n ? "%.2f" : "-", median(r->fio.cpu_us, r->fio.n));
		snprintf(cell[7], 32, r->fio.n && fi > 0 ? "%.2fx" : "-", fi > 0 ? ui / fi : 0);
		for (int k = 0; k < 8; k++)
			cells[k] = cell[k];
		table_row(&t, cells);
	}
	printf("%s on %s, queue depth %u, %.2f s per side, median of %d; udma: %llu I/Os on fixed buffers, %llu plain\n",
	       rw_names[px->o->storage_rw], px->o->storage, px->o->depth, px->o->duration, px->o->reps,
	       (unsigned long long)done_info.fixed_ios, (unsigned long long)done_info.plain_ios);
	if (table_print(&t, stdout, px->o->markdown))
		perf_fail(px, "out of memory for the table");
	table_free(&t);
	perf_print_missing(px);
}

static void json_side(struct jw *w, const char *name, int peer, const struct srow *r, const struct sres *s)
{
	double iops = median(s->iops, s->n);

	jw_begin(w, NULL, 0);
	jw_str(w, "name", name);
	jw_bool(w, "peer", peer);
	jw_uint(w, "size", r->size);
	jw_num(w, "ops_per_s", iops);
	jw_num(w, "gb_per_s", iops * (double)r->size / 1e9);
	jw_num(w, "cpu_us_per_op", median(s->cpu_us, s->n));
	jw_begin(w, "ops_per_s_reps", 1);
	for (unsigned k = 0; k < s->n; k++)
		jw_num(w, NULL, s->iops[k]);
	jw_end(w, 1);
	if (!peer && r->fio.n)
		jw_num(w, "vs_fio", median(r->fio.iops, r->fio.n) > 0 ? iops / median(r->fio.iops, r->fio.n) : 0);
	jw_end(w, 0);
}

static void print_json(struct perf_ctx *px)
{
	struct jw w = { .f = stdout };

	perf_json_header(&w, px, "storage");
	jw_begin(&w, "config", 0);
	jw_str(&w, "path", px->o->storage);
	jw_str(&w, "rw", rw_names[px->o->storage_rw]);
	jw_uint(&w, "depth", px->o->depth);
	jw_num(&w, "duration_s", px->o->duration);
	jw_uint(&w, "reps", (uint64_t)px->o->reps);
	jw_uint(&w, "udma_fixed_buffer_ios", done_info.fixed_ios);
	jw_uint(&w, "udma_plain_ios", done_info.plain_ios);
	jw_end(&w, 0);
	jw_begin(&w, "results", 1);
	for (unsigned i = 0; i < nrows; i++) {
		json_side(&w, "udma", 0, &rows[i], &rows[i].udma);
		if (rows[i].fio.n)
			json_side(&w, "fio (io_uring, fixedbufs, registerfiles)", 1, &rows[i], &rows[i].fio);
	}
	jw_end(&w, 1);
	perf_json_missing(&w, px);
	perf_json_end(&w, px);
}

int perf_storage_run(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	struct udma_storage_opts so = { .size = sizeof(so), .queue_depth = o->depth };
	struct udma_storage_info info = { .size = sizeof(info) };
	struct udma_domain *dev = NULL;
	struct udma_mem mem = { 0 };
	struct sctx *c = calloc(1, sizeof(*c));
	size_t maxbs = 0;

	for (unsigned i = 0; i < o->nsizes; i++)
		maxbs = o->sizes[i] > maxbs ? o->sizes[i] : maxbs;
	px->points = o->nsizes * (unsigned)o->reps;
	if (!o->peers)
		perf_missing(px, "fio", "left out (no --peers)");
	if (!c || ensure_file(px))
		goto out;
	if (o->depth > MAX_Q || !(c->s = udma_storage_domain_create(o->storage, &so))) {
		perf_fail(px, "%s: %s", o->storage, o->depth > MAX_Q ? "depth over 1024" : strerror(errno));
		goto out;
	}
	udma_storage_info(c->s, &info);
	if (info.capacity < maxbs || !(dev = udma_device_domain_create(NULL)) ||
	    udma_mem_alloc(dev, maxbs * o->depth, NULL, &mem)) {
		perf_fail(px, "%s: %llu bytes, or no DMA memory for %u x %zu bytes", o->storage,
			  (unsigned long long)info.capacity, o->depth, maxbs);
		goto out;
	}
	c->mem = mem.va, c->qd = o->depth, c->seed = 1;
	c->pieces = o->depth * 8 < MAX_Q ? o->depth * 8 : MAX_Q;
	c->write = o->storage_rw & 1, c->random = o->storage_rw >= 2;
	measure(px, c, info.capacity);
	udma_storage_info(c->s, &done_info);
	perf_progress_clear(px);
	if (o->json)
		print_json(px);
	else
		print_table(px);
out:
	if (mem.va)
		udma_mem_free(dev, mem.va, mem.len);
	if (dev)
		udma_domain_destroy(dev);
	if (c && c->s)
		udma_domain_destroy(c->s);
	free(c);
	return 0;
}
