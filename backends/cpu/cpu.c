/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cpu engine: runs each work inline in the submitting thread with the
 * kernels of lib/mover/kernels.c. Always registered. One work in 64 is
 * timed so the scheduler learns its real speed per size class.
 */
#include <time.h>
#include <udma/backend.h>

#include "../../lib/mover/mover.h"

static MOVER_TLS unsigned tick;

int cpu_run(struct udma_work *w)
{
	int timed = !(tick++ & 63);
	uint64_t t0 = timed ? mover_now_ns() : 0;
	int err = udma_cpu_execute(w);
	if (timed)
		w->exec_ns = mover_now_ns() - t0 + 1;
	return err;
}

/* Every engine has a submit; the sessions call cpu_run() directly instead,
 * a round trip through udma_engine_done shorter (lib/mover/session.c). */
static int cpu_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	(void)e;
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], cpu_run(w[i]));
	return (int)n;
}

static const struct udma_engine_ops cpu_ops = {
	.size = sizeof(cpu_ops),
	.submit = cpu_submit,
};

static struct udma_engine *the_cpu;

struct udma_engine *cpu_engine(void)
{
	return the_cpu;
}

__attribute__((constructor)) static void cpu_register(void)
{
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = "cpu",
		.speed = 8ull << 30, /* a plausible memcpy rate; learning corrects it */
		.funcs = (1u << UDMA_FUNC_COUNT) - 1,
		.flags = UDMA_ENGINE_INLINE,
		.ops = &cpu_ops,
	};
	the_cpu = udma_engine_register(&d);
	if (the_cpu) {
		the_cpu->untracked = 1; /* inline in its caller, never unregistered */
		engines_changed(); /* it is known as the cpu engine only now */
	}
}
