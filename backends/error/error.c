/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The error engine, for tests: it performs functions like the cpu engine
 * but fails every Nth work, corrupts every Mth output, delays completions,
 * or holds works until released — fault injection for everything above it.
 * Without delay or hold it runs inline; otherwise a thread of its own
 * completes works when due.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <udma/backend.h>

struct pending {
	struct udma_work *w;
	uint64_t due_ns;
	int fail, corrupt;
	struct pending *next;
};

struct erreng {
	struct udma_error_opts o;
	uint64_t count; /* atomic: works seen */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pending *head, *tail; /* delayed (FIFO: one delay for all) */
	struct pending *held, *held_tail;
	int stop;
	int has_thread;
	pthread_t thread;
};

static void run(struct erreng *x, struct pending *p)
{
	struct udma_work *w = p->w;
	int err = p->fail ? x->o.fail_status : udma_cpu_execute(w);

	if (!err && p->corrupt && w->out && w->len) { /* flip one byte in the middle of the output */
		size_t at = w->len / 2;
		for (uint32_t i = 0; i < w->out_cnt; i++) {
			if (at < w->out[i].iov_len) {
				((unsigned char *)w->out[i].iov_base)[at] ^= 0x5a;
				break;
			}
			at -= w->out[i].iov_len;
		}
	}
	free(p);
	udma_engine_done(w, err);
}

static void *delayer(void *arg)
{
	struct erreng *x = arg;

	pthread_mutex_lock(&x->lock);
	while (!x->stop) {
		struct pending *p = x->head;
		if (!p) {
			pthread_cond_wait(&x->cond, &x->lock);
			continue;
		}
		uint64_t now = udma_engine_clock_ns();
		if (p->due_ns > now) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t wait = p->due_ns - now;
			ts.tv_sec += (time_t)(wait / 1000000000ull);
			ts.tv_nsec += (long)(wait % 1000000000ull);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&x->cond, &x->lock, &ts);
			continue;
		}
		x->head = p->next;
		if (!x->head)
			x->tail = NULL;
		pthread_mutex_unlock(&x->lock);
		run(x, p);
		pthread_mutex_lock(&x->lock);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void append(struct pending **head, struct pending **tail, struct pending *p)
{
	p->next = NULL;
	if (*tail)
		(*tail)->next = p;
	else
		*head = p;
	*tail = p;
}

static int err_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	struct erreng *x = udma_engine_priv(e);

	for (unsigned i = 0; i < n; i++) {
		uint64_t k = __atomic_add_fetch(&x->count, 1, __ATOMIC_RELAXED);
		struct pending *p = malloc(sizeof(*p));
		if (!p)
			return i ? (int)i : -ENOMEM;
		p->w = w[i];
		p->fail = x->o.fail_every && k % x->o.fail_every == 0;
		p->corrupt = x->o.corrupt_every && k % x->o.corrupt_every == 0;
		p->due_ns = udma_engine_clock_ns() + (uint64_t)x->o.delay_us * 1000;
		if (!x->o.hold && !x->o.delay_us) {
			run(x, p);
			continue;
		}
		pthread_mutex_lock(&x->lock);
		if (x->o.hold)
			append(&x->held, &x->held_tail, p);
		else
			append(&x->head, &x->tail, p);
		pthread_cond_signal(&x->cond);
		pthread_mutex_unlock(&x->lock);
	}
	return (int)n;
}

int udma_error_engine_release(struct udma_engine *e, unsigned n)
{
	struct erreng *x = udma_engine_priv(e);
	int done = 0;

	if (!x)
		return udma_engine_fail(EINVAL, "NULL engine");
	for (;;) {
		pthread_mutex_lock(&x->lock);
		struct pending *p = x->held;
		if (p && (!n || (unsigned)done < n)) {
			x->held = p->next;
			if (!x->held)
				x->held_tail = NULL;
		} else {
			p = NULL;
		}
		pthread_mutex_unlock(&x->lock);
		if (!p)
			return done;
		run(x, p); /* in the caller's thread: completions arrive from here */
		done++;
	}
}

static int err_reclaim(struct udma_engine *e, struct udma_work **w, unsigned max)
{
	struct erreng *x = udma_engine_priv(e);
	unsigned n = 0;

	pthread_mutex_lock(&x->lock);
	while (n < max && (x->held || x->head)) {
		struct pending **list = x->held ? &x->held : &x->head;
		struct pending *p = *list;
		*list = p->next;
		w[n++] = p->w;
		free(p);
	}
	if (!x->held)
		x->held_tail = NULL;
	if (!x->head)
		x->tail = NULL;
	pthread_mutex_unlock(&x->lock);
	return (int)n;
}

static void err_free(struct erreng *x)
{
	pthread_mutex_lock(&x->lock);
	x->stop = 1;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	if (x->has_thread)
		pthread_join(x->thread, NULL);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
}

static void err_fini(struct udma_engine *e)
{
	err_free(udma_engine_priv(e));
}

static const struct udma_engine_ops error_ops = {
	.size = sizeof(error_ops),
	.submit = err_submit,
	.reclaim = err_reclaim,
	.fini = err_fini,
};

struct udma_engine *udma_error_engine_create(const struct udma_error_opts *uo)
{
	struct erreng *x;

	if (!uo || uo->size < offsetof(struct udma_error_opts, fail_every))
		return udma_engine_fail_null(EINVAL, "NULL or too small error-engine options");
	x = calloc(1, sizeof(*x));
	if (!x)
		return udma_engine_fail_null(ENOMEM, "out of memory");
	memcpy(&x->o, uo, uo->size < sizeof(x->o) ? uo->size : sizeof(x->o));
	if (!x->o.fail_status)
		x->o.fail_status = -EIO;
	if (x->o.fail_status > 0)
		x->o.fail_status = -x->o.fail_status;
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (x->o.delay_us && !x->o.hold) {
		if (udma_engine_thread_create(&x->thread, delayer, x)) {
			free(x);
			return udma_engine_fail_null(EAGAIN, "cannot start the delay thread");
		}
		x->has_thread = 1;
	}
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = x->o.name ? x->o.name : "error",
		.speed = x->o.speed ? x->o.speed : 1000000000ull,
		.funcs = x->o.funcs ? x->o.funcs : (1u << UDMA_FUNC_COUNT) - 1,
		.flags = x->o.hold || x->o.delay_us ? 0 : UDMA_ENGINE_INLINE,
		.ops = &error_ops,
		.priv = x,
	};
	struct udma_engine *e = udma_engine_register(&d);
	if (!e) {
		int err = errno;
		err_free(x);
		errno = err;
		return NULL;
	}
	return e;
}
