/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The uring engine: mover works with a storage-domain buffer become reads
 * and writes, without a bounce. It accepts storage domains (their buffers
 * arrive as file offsets, untouched) and reaches them through the domain's
 * own pull/push/memzero, which submit to io_uring with the memory as a
 * fixed buffer when it is DMA memory:
 *   copy          file -> memory: a read; memory -> file: a write
 *   copy-crc32c   the same, and the CRC-32C of the memory side, in one work
 *   zero          into a file: memzero (fallocate ZERO_RANGE)
 * A file-to-file copy goes through a buffer of the engine's.
 * Works without a storage buffer are done on the CPU (function kernels);
 * its low declared speed keeps the scheduler from choosing it for them.
 * Written only against <udma/backend.h>; registered by the library when
 * the first storage domain is made. submit() queues works for the engine's
 * LANES threads, which block in the I/O and complete them (the callback
 * runs there, or the work waits for the client's poll), so the submitter
 * goes on and up to LANES works overlap, each queue-depth parallel itself.
 * The threads live as long as the process; a fork()ed child has none.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <udma/backend.h>
#include <udma/storage.h>

static unsigned tick;

static int uring_accepts(struct udma_engine *e, struct udma_domain *d)
{
	(void)e;
	return udma_domain_kind(d) == UDMA_KIND_STORAGE;
}

/* The CRC-32C of local iovecs into the request, as the cpu kernels take it. */
static int crc_of(const struct udma_work *w, struct iovec *iov, uint32_t cnt)
{
	struct udma_work t = *w;

	t.func = UDMA_FUNC_CRC32C;
	t.out = NULL, t.out_cnt = 0, t.out_dom = NULL;
	t.in[0] = iov, t.in_cnt[0] = cnt, t.in_dom[0] = NULL;
	t.ninputs = 1;
	return udma_cpu_execute(&t);
}

static int file_to_memory(struct udma_work *w)
{
	int err = udma_domain_pull(w->in_dom[0], w->req->in[0].dom.domain_ctx, w->in[0], w->in_cnt[0], w->out,
				   w->out_cnt, NULL, NULL);
	if (!err && w->func == UDMA_FUNC_COPY_CRC32C)
		err = crc_of(w, w->out, w->out_cnt);
	return err;
}

static int memory_to_file(struct udma_work *w)
{
	void *ctx = w->req->out.dom.domain_ctx;

	if (w->func == UDMA_FUNC_ZERO)
		return udma_domain_memzero(w->out_dom, ctx, w->out, w->out_cnt, NULL, NULL);
	int err = w->func == UDMA_FUNC_COPY_CRC32C ? crc_of(w, w->in[0], w->in_cnt[0]) : 0;
	return err ? err : udma_domain_push(w->out_dom, ctx, w->out, w->out_cnt, w->in[0], w->in_cnt[0], NULL, NULL);
}

/* File to file: through a page-aligned buffer of the engine's. */
static int file_to_file(struct udma_work *w)
{
	size_t len = (w->len + 4095) & ~(size_t)4095;
	void *buf = aligned_alloc(4096, len ? len : 4096);
	struct iovec mid = { buf, w->len };

	if (!buf)
		return udma_engine_fail(ENOMEM, "uring: no buffer of %zu bytes", w->len);
	struct udma_work t = *w;
	t.out = &mid, t.out_cnt = 1, t.out_dom = NULL;
	int err = file_to_memory(&t);
	if (!err) {
		t = *w;
		t.in[0] = &mid, t.in_cnt[0] = 1, t.in_dom[0] = NULL;
		t.func = UDMA_FUNC_COPY; /* the CRC, if any, was taken on the way in */
		err = memory_to_file(&t);
	}
	free(buf);
	return err;
}

static int uring_do(struct udma_work *w)
{
	int in_file = w->ninputs && w->in_dom[0], out_file = w->out_dom != NULL;

	if (in_file && out_file)
		return file_to_file(w);
	if (in_file)
		return file_to_memory(w);
	if (out_file)
		return memory_to_file(w);
	return udma_cpu_execute(w);
}

/* Works wait here for one of the engine's threads: each blocks in its
 * work's I/O, so LANES works overlap, and the submitter never waits. */
#define LANES 4

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct udma_work *head, **tail;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &q.head };

static void run_one(struct udma_work *w)
{
	/* one work in 4 timed: I/O dwarfs the clock, and the scheduler learns from it */
	int timed = !(__atomic_fetch_add(&tick, 1, __ATOMIC_RELAXED) & 3);
	uint64_t t0 = timed ? udma_engine_clock_ns() : 0;
	int err = uring_do(w);
	if (timed)
		w->exec_ns = udma_engine_clock_ns() - t0 + 1;
	udma_engine_done(w, err);
}

static void *lane(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q.lock);
		while (!q.head)
			pthread_cond_wait(&q.more, &q.lock);
		struct udma_work *w = q.head;
		q.head = w->next;
		if (!q.head)
			q.tail = &q.head;
		pthread_mutex_unlock(&q.lock);
		run_one(w);
	}
	return NULL;
}

static int uring_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	(void)e;
	pthread_mutex_lock(&q.lock);
	for (unsigned i = 0; i < n; i++) {
		w[i]->next = NULL;
		*q.tail = w[i];
		q.tail = &w[i]->next;
	}
	pthread_cond_broadcast(&q.more);
	pthread_mutex_unlock(&q.lock);
	return (int)n;
}

static const struct udma_engine_ops uring_ops = {
	.size = sizeof(uring_ops),
	.submit = uring_submit,
	.accepts = uring_accepts,
};

void _udma_builtin_uring_register(void)
{
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = "uring",
		.speed = 1ull << 30, /* a disk's rate; learning corrects it */
		.funcs = (1u << UDMA_FUNC_COPY) | (1u << UDMA_FUNC_COPY_CRC32C) | (1u << UDMA_FUNC_ZERO),
		.lanes = LANES,
		.ops = &uring_ops,
	};
	unsigned started = 0;
	pthread_t t;

	for (unsigned i = 0; i < LANES; i++)
		if (!udma_engine_thread_create(&t, lane, NULL) && !pthread_detach(t))
			started++;
	if (!started) { /* no thread to run them: no engine (works are bounced) */
		udma_engine_fail(EAGAIN, "uring: no thread could be started");
		return;
	}
	udma_engine_register(&d);
}
