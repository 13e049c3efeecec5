/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The threads engine: N workers fed by one lock-free bounded MPMC ring
 * (Vyukov's sequence-numbered cells). Workers take works in batches, spin
 * a little when the ring runs dry, then sleep on a futex; submitters wake
 * one only when someone sleeps and nobody spins (a woken worker that finds
 * the work taken spins on a CPU a client may need). Completions are
 * delivered on the worker: the callback runs there, or the work is queued
 * for the client's poll.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <udma/backend.h>

#include "ring.h"

#define BATCH 16
#define BATCH_BYTES (256u << 10) /* stop taking works past this: big works spread over workers */
#define SPINS 2000

struct threads {
	struct ring ring;
	uint32_t wake_word __attribute__((aligned(64))); /* futex */
	int sleepers;
	int spinners;
	int stop;
	unsigned nworkers;
	pthread_t *workers;
	struct udma_engine *engine;
};

static void *worker(void *arg)
{
	struct threads *t = arg;
	struct udma_work *batch[BATCH];
	unsigned tick = 0;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		unsigned n = 0;
		size_t bytes = 0;
		while (n < BATCH && bytes < BATCH_BYTES && (batch[n] = ring_get(&t->ring)))
			bytes += batch[n++]->len;
		for (unsigned i = 0; i < n; i++) {
			/* one work in 16 timed, for the scheduler: a clock read costs
			 * as much as a small copy */
			int timed = !(tick++ & 15);
			uint64_t t0 = timed ? udma_engine_clock_ns() : 0;
			int err = udma_cpu_execute(batch[i]);
			if (timed)
				batch[i]->exec_ns = udma_engine_clock_ns() - t0 + 1;
			udma_engine_done(batch[i], err);
		}
		if (n)
			continue;
		__atomic_add_fetch(&t->spinners, 1, __ATOMIC_SEQ_CST);
		for (unsigned s = 0; s < SPINS && ring_empty(&t->ring) && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED); s++)
			__builtin_ia32_pause();
		if (!ring_empty(&t->ring)) {
			__atomic_sub_fetch(&t->spinners, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		uint32_t word = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
		/* seq_cst with the submitter: it enqueues then reads sleepers and
		 * spinners; we count ourselves asleep, stop spinning, then re-check */
		__atomic_add_fetch(&t->sleepers, 1, __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(&t->spinners, 1, __ATOMIC_SEQ_CST);
		if (ring_empty(&t->ring) && !__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST))
			syscall(SYS_futex, &t->wake_word, FUTEX_WAIT_PRIVATE, word, NULL, NULL, 0);
		__atomic_sub_fetch(&t->sleepers, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void wake(struct threads *t, int all)
{
	__atomic_add_fetch(&t->wake_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &t->wake_word, FUTEX_WAKE_PRIVATE, all ? INT_MAX : 1, NULL, NULL, 0);
}

static int th_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	struct threads *t = udma_engine_priv(e);
	unsigned i = 0;

	while (i < n && ring_put(&t->ring, w[i]))
		i++;
	if (i && __atomic_load_n(&t->sleepers, __ATOMIC_SEQ_CST)) {
		int many = i > 1 || ring_count(&t->ring) > 1;
		/* one work and a spinner: it takes it (or sees it before sleeping) */
		if (many || !__atomic_load_n(&t->spinners, __ATOMIC_SEQ_CST))
			wake(t, many);
	}
	return (int)i;
}

static int th_reclaim(struct udma_engine *e, struct udma_work **w, unsigned max)
{
	struct threads *t = udma_engine_priv(e);
	unsigned n = 0;

	while (n < max && (w[n] = ring_get(&t->ring)))
		n++;
	return (int)n;
}

static void th_stop(struct threads *t, unsigned started)
{
	__atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
	wake(t, 1);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t->workers[i], NULL);
	free(t->workers);
	ring_fini(&t->ring);
	free(t);
}

static void th_fini(struct udma_engine *e)
{
	struct threads *t = udma_engine_priv(e);
	th_stop(t, t->nworkers);
}

static const struct udma_engine_ops threads_ops = {
	.size = sizeof(threads_ops),
	.submit = th_submit,
	.reclaim = th_reclaim,
	.fini = th_fini,
};

struct udma_engine *udma_threads_engine_create(const struct udma_threads_opts *uo)
{
	struct udma_threads_opts o = { .size = sizeof(o) };
	struct threads *t;
	unsigned started = 0;

	if (uo) {
		if (uo->size < offsetof(struct udma_threads_opts, workers) + sizeof(unsigned))
			return udma_engine_fail_null(EINVAL, "opts->size %zu too small", uo->size);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	if (!o.workers)
		o.workers = 1;
	if (!o.ring)
		o.ring = 1024;
	if (o.workers > 256 || o.ring < 2 || (o.ring & (o.ring - 1)) || o.ring > (1u << 24))
		return udma_engine_fail_null(EINVAL, "workers %u (1..256) or ring %u (power of two, 2..2^24)", o.workers, o.ring);
	t = aligned_alloc(64, sizeof(*t));
	if (t)
		*t = (struct threads){ .nworkers = 0 };
	if (!t || ring_init(&t->ring, o.ring) || !(t->workers = calloc(o.workers, sizeof(pthread_t)))) {
		if (t)
			ring_fini(&t->ring);
		free(t);
		return udma_engine_fail_null(ENOMEM, "out of memory");
	}
	t->nworkers = o.workers;
	for (; started < o.workers; started++)
		if (udma_engine_thread_create(&t->workers[started], worker, t))
			break;
	if (started < o.workers) {
		th_stop(t, started);
		return udma_engine_fail_null(EAGAIN, "cannot start worker threads");
	}
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = o.name ? o.name : "threads",
		.speed = 8ull << 30,
		.funcs = (1u << UDMA_FUNC_COUNT) - 1,
		.funcs64 = (1ull << UDMA_FUNC_END) - 1,
		.flags = UDMA_ENGINE_SPLIT,
		.lanes = o.workers,
		.ops = &threads_ops,
		.priv = t,
	};
	t->engine = udma_engine_register(&d);
	if (!t->engine) {
		int err = errno;
		th_stop(t, started);
		errno = err;
		return NULL;
	}
	return t->engine;
}
