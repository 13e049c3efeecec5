/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cpu engine: runs each work inline in the submitting thread with the
 * function kernels (udma_cpu_execute). Permanent, registered by the library
 * at load (a constructor here would be dropped from static links, where
 * nothing else pulls this file in), and written only against
 * <udma/backend.h> like any other engine. One work in
 * 64 is timed (in bursts too) so the scheduler learns its real speed per size class.
 */
#include <stdint.h>
#include <string.h>
#include <udma/backend.h>

static __thread __attribute__((tls_model("initial-exec"))) unsigned tick;

static int cpu_run(struct udma_engine *e, struct udma_work *w)
{
	(void)e;
	int timed = !(tick++ & 63);
	uint64_t t0 = timed ? udma_engine_clock_ns() : 0;
	int err = udma_cpu_execute(w);
	if (timed)
		w->exec_ns = udma_engine_clock_ns() - t0 + 1;
	return err;
}

/* A burst's works, one after another, timed as run() times them. */
static void cpu_run_burst(struct udma_engine *e, struct udma_work *const *w, unsigned n, int *status)
{
	(void)e;
	unsigned t = tick;
	for (unsigned i = 0; i < n; i++) {
		if (t++ & 63) {
			status[i] = udma_cpu_execute(w[i]);
			continue;
		}
		uint64_t t0 = udma_engine_clock_ns();
		status[i] = udma_cpu_execute(w[i]);
		w[i]->exec_ns = udma_engine_clock_ns() - t0 + 1;
	}
	tick = t;
}

/* 1 to 16 bytes without a call: two loads that cover them, overlapping in
 * the middle, then two stores (a call to memcpy costs more than the copy). */
static inline void copy_small(char *d, const char *s, size_t n)
{
	if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		char a = s[0], b = s[n / 2], c = s[n - 1];
		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = c;
	}
}

/* A burst's plain copies (no work structures), one after another; none can
 * fail. 0 bytes may come with NULL addresses, which memcpy may not be given. */
static int cpu_run_copies(struct udma_engine *e, const struct udma_copy *c, unsigned n, int *status)
{
	(void)e;
	(void)status;
	for (unsigned i = 0; i < n; i++) {
		if (c[i].len - 1 < 16)
			copy_small(c[i].dst, c[i].src, c[i].len);
		else if (c[i].len)
			memcpy(c[i].dst, c[i].src, c[i].len);
	}
	return 0;
}

/* A burst's plain xorN or crc32c requests, one after another; none fails. */
static int cpu_run_plain(struct udma_engine *e, enum udma_func f, const struct udma_plain *p, unsigned n, int *status)
{
	(void)e;
	return udma_cpu_run_plain(f, p, n, status);
}

/* Sessions call run(), run_burst(), run_copies() and run_plain(); submit serves any caller that hands works over. */
static int cpu_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], cpu_run(e, w[i]));
	return (int)n;
}

static const struct udma_engine_ops cpu_ops = {
	.size = sizeof(cpu_ops),
	.submit = cpu_submit,
	.run = cpu_run,
	.run_burst = cpu_run_burst,
	.run_copies = cpu_run_copies,
	.run_plain = cpu_run_plain,
};


void _udma_builtin_cpu_register(void)
{
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = "cpu",
		.speed = 8ull << 30, /* a plausible memcpy rate; learning corrects it */
		.funcs = (1u << UDMA_FUNC_COUNT) - 1,
		.funcs64 = (1ull << UDMA_FUNC_END) - 1,
		.flags = UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT,
		.ops = &cpu_ops,
	};
	udma_engine_register(&d);
}
