/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Engines: registration, the scheduler, learning, unregistration.
 *
 * The scheduler runs per request, not per session (dmover's code chose once
 * per session): among the registered engines that perform the function, it
 * picks the one with the smallest estimated completion time,
 *     overhead + (bytes queued on it + this request) / (speed x lanes),
 * where speed starts at the declared value and is learned from measured
 * work times per size class, and overhead is the learned hand-over latency
 * of engines that do not run inline. Small requests therefore go to the
 * fastest inline engine (the cpu engine unless another is registered): the
 * learned size threshold is where the two estimates cross. The engine set is published as an immutable array that readers
 * load with acquire ordering, so scheduling takes no lock.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/check.h"
#include "../core/clock.h"
#include "mover_internal.h"

struct engine_set {
	unsigned n;
	struct udma_engine *e[];
};

static pthread_mutex_t eng_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine_set *cur_set;       /* acquire/release */
static struct udma_engine *all_engines;  /* for the destructor */
/* Old sets: a scheduler may still be reading one, so they are freed only at exit. */
struct retired_set {
	struct engine_set *set;
	struct retired_set *next;
};
static struct retired_set *retired;
unsigned _udma_chain_engines; /* atomic: registered engines with submit_chain */

static void engines_changed(void);

uint64_t udma_engine_clock_ns(void)
{
	return clock_now_ns();
}

int udma_engine_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t cpus;
	int rc = pthread_attr_init(&attr);

	if (rc)
		return rc;
	if (!sched_getaffinity(getpid(), sizeof(cpus), &cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	rc = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

static void engine_vdbg(const char *fmt, va_list ap)
{
	if (_udma_log_level_cur >= UDMA_LOG_DEBUG) {
		char line[400];
		vsnprintf(line, sizeof(line), fmt, ap);
		_udma_log_line(UDMA_LOG_DEBUG, "engine", "%s", line);
	}
}

int udma_engine_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	engine_vdbg(fmt, ap);
	va_end(ap);
	return -err;
}

void *udma_engine_fail_null(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	engine_vdbg(fmt, ap);
	va_end(ap);
	errno = err;
	return NULL;
}

/* < 256 B, < 1 KiB, < 4 KiB, ... (factors of 4), the last open-ended */
static unsigned size_class(uint64_t bytes)
{
	if (bytes < 256)
		return 0;
	unsigned c = (63u - (unsigned)__builtin_clzll(bytes) - 8u) / 2u + 1u;
	return c < SIZE_CLASSES - 1 ? c : SIZE_CLASSES - 1;
}

/* Replace the published set; the old one is kept (readers may hold it). */
static int publish(struct udma_engine *add, struct udma_engine *drop)
{
	UDMA_ASSERT_LOCKED(&eng_lock);
	struct engine_set *old = cur_set;
	unsigned n = old ? old->n : 0;
	struct engine_set *s = malloc(sizeof(*s) + (n + 1) * sizeof(s->e[0]));
	struct retired_set *r = old ? malloc(sizeof(*r)) : NULL;

	if (!s || (old && !r)) { /* nothing changes: the old set is neither replaced nor lost */
		free(s);
		free(r);
		return -ENOMEM;
	}
	s->n = 0;
	for (unsigned i = 0; i < n; i++)
		if (old->e[i] != drop)
			s->e[s->n++] = old->e[i];
	if (add)
		s->e[s->n++] = add;
	__atomic_store_n(&cur_set, s, __ATOMIC_RELEASE);
	if (old) {
		*r = (struct retired_set){ old, retired };
		retired = r;
	}
	return 0;
}

/* Without memory for a new set, take drop out of the current one in place:
 * a reader may see it once more or one other engine twice, all of them
 * valid (engines are never freed), and drop is leaving. */
static void unpublish_in_place(struct udma_engine *drop)
{
	struct engine_set *s = cur_set;
	unsigned j = 0;

	for (unsigned i = 0; s && i < s->n; i++)
		if (s->e[i] != drop)
			__atomic_store_n(&s->e[j++], s->e[i], __ATOMIC_RELAXED);
	if (s)
		__atomic_store_n(&s->n, j, __ATOMIC_RELEASE);
}

struct udma_engine *udma_engine_register(const struct udma_engine_desc *ud)
{
	struct udma_engine_desc d = { 0 };
	struct udma_engine *e;

	if (!ud || ud->size < offsetof(struct udma_engine_desc, ops) + sizeof(void *))
		return udma_fail_null(EINVAL, "NULL or too small engine description");
	memcpy(&d, ud, ud->size < sizeof(d) ? ud->size : sizeof(d));
	if (!d.name || !*d.name || strlen(d.name) >= sizeof(e->name))
		return udma_fail_null(EINVAL, "engine name missing or longer than 63 bytes");
	if (!d.ops || !d.ops->submit || d.ops->size < offsetof(struct udma_engine_ops, submit) + sizeof(void *))
		return udma_fail_null(EINVAL, "engine %s has no submit operation", d.name);
	if (d.funcs >> UDMA_FUNC_COUNT)
		return udma_fail_null(EINVAL, "engine %s: bad function mask 0x%x", d.name, d.funcs);
	/* funcs64 (appended) is read only when the caller's size covers it: d was zeroed */
	if ((d.funcs64 >> UDMA_FUNC_END) || (d.funcs64 && (uint32_t)(d.funcs64 & ((1u << UDMA_FUNC_COUNT) - 1)) != d.funcs))
		return udma_fail_null(EINVAL, "engine %s: bad function mask 0x%llx (funcs 0x%x)", d.name,
				      (unsigned long long)d.funcs64, d.funcs);
	if (!d.funcs && !d.funcs64)
		return udma_fail_null(EINVAL, "engine %s: no functions", d.name);
	if (!d.speed)
		return udma_fail_null(EINVAL, "engine %s: declared speed 0", d.name);
	if (d.flags & ~(UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT | UDMA_ENGINE_SPLIT))
		return udma_fail_null(EINVAL, "engine %s: unknown flags 0x%x", d.name, d.flags);
	if ((d.flags & UDMA_ENGINE_SPLIT) && (d.flags & UDMA_ENGINE_INLINE))
		return udma_fail_null(EINVAL, "engine %s: an inline engine takes no chunks (UDMA_ENGINE_SPLIT)", d.name);
	if (d.ops->size >= offsetof(struct udma_engine_ops, run) + sizeof(void *) && d.ops->run &&
	    !(d.flags & UDMA_ENGINE_INLINE))
		return udma_fail_null(EINVAL, "engine %s: run() without UDMA_ENGINE_INLINE", d.name);
	if (d.ops->size >= offsetof(struct udma_engine_ops, run_burst) + sizeof(void *) && d.ops->run_burst &&
	    !d.ops->run)
		return udma_fail_null(EINVAL, "engine %s: run_burst() without run()", d.name);
	if (d.ops->size >= offsetof(struct udma_engine_ops, run_copies) + sizeof(void *) && d.ops->run_copies &&
	    !d.ops->run)
		return udma_fail_null(EINVAL, "engine %s: run_copies() without run()", d.name);
	if (d.ops->size >= offsetof(struct udma_engine_ops, run_plain) + sizeof(void *) && d.ops->run_plain &&
	    !d.ops->run)
		return udma_fail_null(EINVAL, "engine %s: run_plain() without run()", d.name);
	e = zalloc_lines(sizeof(*e)); /* aligned as its type says: its counts sit on lines of their own */
	if (!e)
		return udma_fail_null(ENOMEM, "out of memory");
	snprintf(e->name, sizeof(e->name), "%s", d.name);
	e->desc = d;
	e->desc.name = e->name;
	memcpy(&e->ops, d.ops, d.ops->size < sizeof(e->ops) ? d.ops->size : sizeof(e->ops));
	e->lanes = d.lanes ? d.lanes : 1;
	e->funcs = d.funcs64 ? d.funcs64 : d.funcs;
	for (unsigned f = 0; f < UDMA_FUNC_END; f++)
		for (unsigned c = 0; c < SIZE_CLASSES; c++)
			e->speed[f][c] = d.speed;
	/* A hand-over to another thread or device costs about a microsecond at
	 * the least; measurements replace this guess. With it, small works go
	 * inline from the first request, and the scheduler skips such engines
	 * for them without working out their estimate. */
	if (!(d.flags & UDMA_ENGINE_INLINE))
		e->overhead_ns = 1000;

	pthread_mutex_lock(&eng_lock);
	for (unsigned i = 0; cur_set && i < cur_set->n; i++)
		if (!strcmp(cur_set->e[i]->name, e->name)) {
			pthread_mutex_unlock(&eng_lock);
			free(e);
			return udma_fail_null(EEXIST, "an engine named %s is registered", d.name);
		}
	if (publish(e, NULL)) {
		pthread_mutex_unlock(&eng_lock);
		free(e);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	e->next_all = all_engines;
	all_engines = e;
	if (e->ops.submit_chain)
		__atomic_add_fetch(&_udma_chain_engines, 1, __ATOMIC_RELAXED);
	engines_changed();
	pthread_mutex_unlock(&eng_lock);
	udma_dbg("engine %s registered: %llu B/s, funcs 0x%x, lanes %u", e->name,
		 (unsigned long long)d.speed, d.funcs, e->lanes);
	return e;
}

/* Bytes handed over and not finished (the two are read apart: never below 0). */
static uint64_t engine_queued(const struct udma_engine *e)
{
	uint64_t f = __atomic_load_n(&e->finished.bytes, __ATOMIC_RELAXED);
	uint64_t h = __atomic_load_n(&e->handed.bytes, __ATOMIC_RELAXED);
	return h > f ? h - f : 0;
}

/* Estimated ns until a work of `touched` bytes would finish on e. */
static uint64_t estimate(const struct udma_engine *e, enum udma_func f, uint64_t touched)
{
	uint64_t speed = __atomic_load_n(&e->speed[f][size_class(touched)], __ATOMIC_RELAXED) * e->lanes;
	uint64_t queued = engine_queued(e);
	uint64_t over = (e->desc.flags & UDMA_ENGINE_INLINE) ? 0 : __atomic_load_n(&e->overhead_ns, __ATOMIC_RELAXED);
	return over + (uint64_t)((double)(queued + touched) * 1e9 / (double)(speed ? speed : 1));
}

/*
 * The learned size threshold: per function and size class, the fastest
 * inline engine, and the bytes touched below which it wins outright,
 * because its estimate (touched / its speed) is under the hand-over
 * overhead of every engine that does not run inline, and an engine's
 * estimate is never below its overhead. Requests under it skip the
 * estimates (0: no such size). Recomputed when speeds or overheads are
 * learned and when engines come and go; read relaxed, as the estimates are:
 * a reader that sees an engine with another's threshold still gets a valid
 * engine.
 */
static struct udma_engine *inline_eng[UDMA_FUNC_END][SIZE_CLASSES];
static uint64_t inline_below[UDMA_FUNC_END][SIZE_CLASSES];

static uint64_t speed_of(const struct udma_engine *e, enum udma_func f, unsigned c)
{
	return __atomic_load_n(&e->speed[f][c], __ATOMIC_RELAXED) * e->lanes;
}

static void threshold_update(enum udma_func f)
{
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	double over = 1e30; /* no engine to hand over to: the inline one takes everything */

	for (unsigned i = 0; s && i < s->n; i++) {
		const struct udma_engine *e = s->e[i];
		if (!(e->funcs >> f & 1) || (e->desc.flags & UDMA_ENGINE_INLINE))
			continue;
		double o = (double)__atomic_load_n(&e->overhead_ns, __ATOMIC_RELAXED);
		over = o < over ? o : over;
	}
	for (unsigned c = 0; c < SIZE_CLASSES; c++) {
		struct udma_engine *best = NULL;
		for (unsigned i = 0; s && i < s->n; i++) {
			struct udma_engine *e = s->e[i];
			if ((e->funcs >> f & 1) && (e->desc.flags & UDMA_ENGINE_INLINE) &&
			    !__atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE) &&
			    (!best || speed_of(e, f, c) > speed_of(best, f, c)))
				best = e;
		}
		double below = best ? over * (double)speed_of(best, f, c) / 1e9 : 0;
		__atomic_store_n(&inline_eng[f][c], best, __ATOMIC_RELAXED);
		__atomic_store_n(&inline_below[f][c], below < 1e18 ? (uint64_t)below : (uint64_t)1e18, __ATOMIC_RELAXED);
	}
}

static void engines_changed(void)
{
	for (unsigned f = 0; f < UDMA_FUNC_END; f++)
		threshold_update((enum udma_func)f);
}

struct udma_engine *_udma_engine_by_name(const char *name)
{
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; s && i < s->n; i++)
		if (!strcmp(s->e[i]->name, name))
			return s->e[i];
	return NULL;
}

int _udma_engine_accepts(struct udma_engine *e, struct udma_domain *d)
{
	return e->ops.accepts && e->ops.accepts(e, d);
}

/* Does e take every foreign buffer of the work as it is (no bounce)? */
static int takes_all(struct udma_engine *e, const struct slot *sl)
{
	const struct udma_work *w = &sl->work;
	if (w->out_dom && !_udma_engine_accepts(e, w->out_dom))
		return 0;
	for (uint32_t j = 0; j < w->ninputs; j++)
		if (w->in_dom[j] && !_udma_engine_accepts(e, w->in_dom[j]))
			return 0;
	return 1;
}

struct udma_engine *_udma_engine_choose(enum udma_func f, uint64_t touched, const struct slot *sl,
				  const struct udma_engine *exclude)
{
	unsigned c = size_class(touched);
	struct udma_engine *fast = __atomic_load_n(&inline_eng[f][c], __ATOMIC_RELAXED);
	if (fast && (!sl || !sl->foreign) && fast != exclude &&
	    touched < __atomic_load_n(&inline_below[f][c], __ATOMIC_RELAXED))
		return fast;
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	struct udma_engine *best = NULL;
	uint64_t best_ns = UINT64_MAX;
	int best_direct = 0;

	for (unsigned i = 0; s && i < s->n; i++) {
		struct udma_engine *e = s->e[i];
		if (e == exclude || !(e->funcs >> f & 1) || __atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE))
			continue;
		/* A work with buffers in domains without a local view goes to an
		 * engine that takes them directly if there is one: a bounce moves
		 * every byte twice more through a blocking pull/push. */
		int direct = !sl || !sl->foreign || takes_all(e, sl);
		/* its hand-over latency alone loses: skip the division (small works,
		 * where an inline engine is already the answer) */
		if (direct <= best_direct && !(e->desc.flags & UDMA_ENGINE_INLINE) &&
		    __atomic_load_n(&e->overhead_ns, __ATOMIC_RELAXED) >= best_ns)
			continue;
		uint64_t ns = estimate(e, f, touched);
		if (direct > best_direct || (direct == best_direct && ns < best_ns)) {
			best_ns = ns;
			best = e;
			best_direct = direct;
		}
	}
	return best;
}

uint64_t _udma_engine_queued(const struct udma_engine *e)
{
	return engine_queued(e);
}

unsigned _udma_size_class(uint64_t bytes)
{
	return size_class(bytes);
}

struct udma_engine *_udma_engine_inline_runner(enum udma_func f, uint64_t touched)
{
	struct udma_engine *e = __atomic_load_n(&inline_eng[f][size_class(touched)], __ATOMIC_RELAXED);
	return e && e->ops.run && (e->desc.flags & UDMA_ENGINE_PERMANENT) ? e : NULL;
}

struct udma_engine *_udma_engine_splitter(enum udma_func f)
{
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	struct udma_engine *best = NULL;
	uint64_t best_ns = UINT64_MAX;

	for (unsigned i = 0; s && i < s->n; i++) {
		struct udma_engine *e = s->e[i];
		/* chunks carry the request's VAs: engines of the system domain only */
		if (!(e->desc.flags & UDMA_ENGINE_SPLIT) || e->desc.domain || !(e->funcs >> f & 1) ||
		    __atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE))
			continue;
		uint64_t ns = estimate(e, f, SPLIT_FLOOR);
		if (ns < best_ns) {
			best_ns = ns;
			best = e;
		}
	}
	return best;
}

void _udma_engine_learn(struct udma_engine *e, enum udma_func f, uint64_t touched, uint64_t exec_ns, uint64_t latency_ns)
{
	if (exec_ns && touched >= 64) { /* tiny works time the clock, not the engine */
		uint64_t *sp = &e->speed[f][size_class(touched)];
		uint64_t sample = (uint64_t)((double)touched * 1e9 / (double)exec_ns);
		uint64_t old = __atomic_load_n(sp, __ATOMIC_RELAXED);
		/* EWMA, 1/8 weight: a few measurements move it, one outlier does not */
		__atomic_store_n(sp, old - old / 8 + sample / 8, __ATOMIC_RELAXED);
		if (e->desc.flags & UDMA_ENGINE_INLINE)
			threshold_update(f);
	}
	if (latency_ns > exec_ns && !(e->desc.flags & UDMA_ENGINE_INLINE)) {
		uint64_t over = latency_ns - exec_ns, old = __atomic_load_n(&e->overhead_ns, __ATOMIC_RELAXED);
		__atomic_store_n(&e->overhead_ns, old ? old - old / 8 + over / 8 : over, __ATOMIC_RELAXED);
		__atomic_store_n(&e->overhead_measured, 1, __ATOMIC_RELAXED);
		for (unsigned g = 0; g < UDMA_FUNC_END; g++)
			if (e->funcs >> g & 1)
				threshold_update((enum udma_func)g);
	}
}

void _udma_engines_poll(void)
{
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; s && i < s->n; i++)
		if (s->e[i]->ops.poll)
			s->e[i]->ops.poll(s->e[i], 64);
}

int udma_engine_unregister(struct udma_engine *e)
{
	struct udma_work *back[64];
	int n;

	if (!e)
		return udma_fail(EINVAL, "NULL engine");
	if (e->desc.flags & UDMA_ENGINE_PERMANENT)
		return udma_fail(EPERM, "engine %s is permanent", e->name);
	pthread_mutex_lock(&eng_lock);
	if (__atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&eng_lock);
		return udma_fail(EINVAL, "engine %s is not registered", e->name);
	}
	/* seq_cst pairs with the submit path: it bumps handed, then checks leaving */
	__atomic_store_n(&e->leaving, 1, __ATOMIC_SEQ_CST);
	if (e->ops.submit_chain)
		__atomic_sub_fetch(&_udma_chain_engines, 1, __ATOMIC_RELAXED);
	if (publish(NULL, e))
		unpublish_in_place(e);
	engines_changed();
	pthread_mutex_unlock(&eng_lock);

	/* Works not started go elsewhere, or fail with -ENODEV. */
	while (e->ops.reclaim && (n = e->ops.reclaim(e, back, 64)) > 0)
		for (int i = 0; i < n; i++) {
			if (back[i]->req->flags & REQ_CHUNK) { /* a chunk of a split request */
				_udma_split_chunk_rescue(back[i]);
				continue;
			}
			struct slot *sl = (struct slot *)back[i]->req;
			engine_count(&e->finished, sl->touched);
			int err = _udma_slot_dispatch(sl, NULL, e);
			if (err)
				_udma_slot_complete(sl, err);
		}
	/* Works already running finish. */
	for (unsigned spins = 0; __atomic_load_n(&e->handed.n, __ATOMIC_SEQ_CST) !=
				 __atomic_load_n(&e->finished.n, __ATOMIC_ACQUIRE); spins++) {
		if (e->ops.poll)
			e->ops.poll(e, 64);
		if (spins < 1000)
			sched_yield();
		else
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	if (e->ops.fini)
		e->ops.fini(e);
	udma_dbg("engine %s unregistered", e->name);
	return 0;
}

void *udma_engine_priv(struct udma_engine *e)
{
	return e ? e->desc.priv : NULL;
}

const char *udma_engine_name(const struct udma_engine *e)
{
	return e ? e->name : NULL;
}

int udma_engine_foreach(int (*fn)(const struct udma_engine_info *info, void *arg), void *arg)
{
	const struct engine_set *s = __atomic_load_n(&cur_set, __ATOMIC_ACQUIRE);
	int rc = 0;

	if (!fn)
		return udma_fail(EINVAL, "NULL visitor");
	for (unsigned i = 0; s && i < s->n && !rc; i++) {
		const struct udma_engine *e = s->e[i];
		uint64_t all[UDMA_FUNC_END][SIZE_CLASSES];
		struct udma_engine_info info = {
			.size = sizeof(info),
			.name = e->name,
			.declared_speed = e->desc.speed,
			.funcs = e->desc.funcs,
			.flags = e->desc.flags,
			.overhead_ns = __atomic_load_n(&e->overhead_ns, __ATOMIC_RELAXED),
			.lanes = e->lanes,
			.queued_bytes = engine_queued(e),
			.completed = __atomic_load_n(&e->finished.n, __ATOMIC_RELAXED),
			.funcs64 = e->funcs,
			.nfuncs = UDMA_FUNC_END,
			.learned_all = (const uint64_t(*)[8])all,
			.overhead_learned = (uint32_t)__atomic_load_n(&e->overhead_measured, __ATOMIC_RELAXED),
		};
		for (unsigned f = 0; f < UDMA_FUNC_END; f++)
			for (unsigned c = 0; c < SIZE_CLASSES; c++) {
				uint64_t v = __atomic_load_n(&e->speed[f][c], __ATOMIC_RELAXED);
				all[f][c] = v == e->desc.speed ? 0 : v;
				if (f < UDMA_FUNC_COUNT)
					info.learned_speed[f][c] = all[f][c];
			}
		rc = fn(&info, arg);
	}
	return rc;
}

/*
 * The default asynchronous engine: a threads engine named "threads" with a
 * worker per CPU, created with the first session (no threads start in a
 * program that never moves data), unless an engine of that name exists. A
 * child of fork() has no workers: it stops using the engine at once.
 */
static struct udma_engine *default_threads;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_threads_forked(void)
{
	__atomic_store_n(&default_threads->leaving, 1, __ATOMIC_RELEASE);
	engines_changed();
}

static void default_threads_create(void)
{
	if (getenv("UDMA_NO_DEFAULT_ENGINES") || _udma_engine_by_name("threads"))
		return;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct udma_threads_opts o = { .size = sizeof(o), .workers = cpus > 1 ? (unsigned)cpus : 1 };
	default_threads = udma_threads_engine_create(&o);
	if (default_threads)
		pthread_atfork(NULL, NULL, default_threads_forked);
	else
		udma_dbg("no default threads engine: %s", strerror(errno));
}

void _udma_engines_default(void)
{
	pthread_once(&default_once, default_threads_create);
}

/* The built-in engines that are always there, registered at load. */
__attribute__((constructor)) static void engines_builtin(void)
{
	_udma_builtin_cpu_register();
}

__attribute__((destructor)) static void engines_release(void)
{
	/* Free the retired sets; engines and the current set live until exit. */
	while (retired) {
		struct retired_set *r = retired;
		retired = r->next;
		free(r->set);
		free(r);
	}
}
