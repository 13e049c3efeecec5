/*
 * Domain copy throughput against the plain system calls they wrap, in one run:
 *   system-domain pull/push   vs memcpy
 *   shm-domain push/pull      vs memcpy into the same mapping
 *   process-domain pull       vs a plain process_vm_readv loop
 * Usage: bench_domain [seconds per side per case, default 0.3]
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <udma/udma.h>

static double secs = 0.3;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* GB/s of fn over size-byte operations for one timed slice. */
typedef int (*op_fn)(void *ctx, size_t size);
static double slice(op_fn fn, void *ctx, size_t size)
{
	long n = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 8; i++, n++)
			if (fn(ctx, size))
				return -1;
		t = now();
	} while (t - t0 < secs / 9);
	return (double)n * size / (t - t0) / 1e9;
}

static double median(double *v, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (v[j] < v[i]) {
				double x = v[i];
				v[i] = v[j];
				v[j] = x;
			}
	return v[n / 2];
}

/* Peer and udma measured in alternating slices (same cache and clock
 * conditions for both), the median of each reported. */
static void pair(op_fn peer, void *pctx, op_fn mine, void *mctx, size_t size, double *p, double *m)
{
	double pv[9], mv[9];
	slice(peer, pctx, size); /* warm up both */
	slice(mine, mctx, size);
	for (int k = 0; k < 9; k++) {
		pv[k] = slice(peer, pctx, size);
		mv[k] = slice(mine, mctx, size);
	}
	*p = median(pv, 9);
	*m = median(mv, 9);
}

struct ctx {
	struct udma_domain *d;
	char *src, *dst;
	pid_t pid;
	char *remote;
};

static int do_memcpy(void *p, size_t n) { struct ctx *c = p; memcpy(c->dst, c->src, n); return 0; }
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

static void row(const char *what, size_t size, op_fn peer, void *pctx, op_fn mine, void *mctx)
{
	double base, me;
	pair(peer, pctx, mine, mctx, size, &base, &me);
	printf("%-22s %8zu KiB %10.2f %10.2f %8.1f%%\n", what, size >> 10, base, me, 100.0 * me / base);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
	const size_t max = 4 << 20;
	struct ctx c = { 0 };
	cpu_set_t one;

	if (argc > 1)
		secs = atof(argv[1]);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	c.src = aligned_alloc(4096, max);
	c.dst = aligned_alloc(4096, max);
	memset(c.src, 1, max);
	memset(c.dst, 2, max);

	printf("%-22s %12s %10s %10s %9s\n", "case", "size", "peer GB/s", "udma GB/s", "ratio");
	for (size_t i = 0; i < 4; i++) {
		row("system pull/memcpy", sizes[i], do_memcpy, &c, sys_pull, &c);
		row("system push/memcpy", sizes[i], do_memcpy, &c, sys_push, &c);
	}
	c.d = udma_shm_create("bench-shm", max, 0);
	char *base = udma_shm_base(c.d, NULL);
	struct ctx into = { .src = c.src, .dst = base }, from = { .src = base, .dst = c.dst };
	for (size_t i = 0; i < 4; i++) {
		row("shm push/memcpy", sizes[i], do_memcpy, &into, shm_push, &c);
		row("shm pull/memcpy", sizes[i], do_memcpy, &from, shm_pull, &c);
	}
	udma_domain_destroy(c.d);

	/* a child holding the remote buffer (same VA as our copy, after fork) */
	c.remote = c.src;
	int pfd[2];
	if (pipe(pfd))
		return 1;
	c.pid = fork();
	if (!c.pid) {
		char go = 1;
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char go;
	if (read(pfd[0], &go, 1) != 1)
		return 1;
	c.d = udma_process_domain_create(c.pid, NULL);
	for (size_t i = 0; i < 4; i++)
		row("process pull/vm_readv", sizes[i], vm_readv, &c, proc_pull, &c);
	udma_domain_destroy(c.d);
	kill(c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	return 0;
}
