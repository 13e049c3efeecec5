/*
 * The session threading contract (include/udma/mover.h):
 *   "a session is driven by one thread at a time (submit, poll, alloc/free,
 *    destroy), and callbacks may also alloc, submit and free from whatever
 *    thread they run on"
 *   "A session opened with UDMA_SESSION_SHARED may be used by several
 *    threads at once (one polls at a time)"
 * The driver's steps are counted without atomics and the others' with
 * them; these tests mix both and count every request: each completes
 * exactly once with the right bytes, udma_session_inflight() is exact at
 * the end, and destroy refuses (-EBUSY) while anything is in flight.
 * Run under TSan by `make tsan`.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <udma/backend.h>
#include "common.h"

#define LEN 512

struct job {
	char src[LEN], dst[LEN];
	uint8_t seed;
	int chain;       /* callbacks still to chain off this one */
	int completions; /* atomic */
};

static unsigned long done_ok, done_bad; /* atomic */
static int gate; /* atomic: the first chained callback waits for it */

/* Wait for nothing in flight, bounded: a lost count shows as a failure, not a hang. */
static void drain(struct udma_session *s)
{
	for (int i = 0; udma_session_inflight(s); i++) {
		assert_true(i < 200000); /* 20 s */
		usleep(100);
	}
}

/* Random source and destination drawn from seed: a copy from the wrong offset shows. */
static void fill_job(struct job *j, uint8_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1u); /* never 0 */
	j->seed = seed;
	random_bytes(j->src, LEN, &x);
	random_bytes(j->dst, LEN, &x);
	j->completions = 0;
}

static void set_bufs(struct udma_req *r, struct job *j)
{
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { j->src, LEN } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { j->dst, LEN } };
	r->cookie = j;
}

static void check(struct udma_req *r)
{
	struct job *j = r->cookie;
	int ok = !r->status && !memcmp(j->src, j->dst, LEN) &&
		 __atomic_add_fetch(&j->completions, 1, __ATOMIC_RELAXED) == 1;
	__atomic_add_fetch(ok ? &done_ok : &done_bad, 1, __ATOMIC_RELAXED);
}

/* ---- callbacks on engine threads that alloc, submit and free ---------------------- */

/* A callback that chains: while its job has links left, it takes a new
 * request from the session, submits it, and frees its own — all on the
 * worker thread, while the driver allocates and submits too. */
static void chain_cb(struct udma_req *r)
{
	struct job *j = r->cookie;
	struct udma_session *s = r->session;

	while (!__atomic_load_n(&gate, __ATOMIC_ACQUIRE)) /* in flight until it returns */
		usleep(100);
	check(r);
	if (j->chain-- > 0) {
		struct udma_req *n = udma_req_alloc(s);
		if (!n) { /* the pool is shared with the driver: may be dry for a moment */
			__atomic_add_fetch(&done_bad, 1, __ATOMIC_RELAXED);
		} else {
			fill_job(j, (uint8_t)(j->seed + 1));
			set_bufs(n, j);
			n->cb = chain_cb;
			if (udma_submit(n)) {
				udma_req_free(n);
				__atomic_add_fetch(&done_bad, 1, __ATOMIC_RELAXED);
			}
		}
	}
	if (udma_req_free(r))
		__atomic_add_fetch(&done_bad, 1, __ATOMIC_RELAXED);
}

static void test_callbacks_chain_on_workers(void **state)
{
	enum { JOBS = 24, LINKS = 200, DEPTH = 64 };
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 2, .name = "chain-threads" };
	struct udma_engine *te = udma_threads_engine_create(&to);
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = DEPTH,
				       .engine = "chain-threads" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct job *jobs = calloc(JOBS, sizeof(*jobs));

	assert_non_null(te);
	assert_non_null(s);
	done_ok = done_bad = 0;
	gate = 0;
	for (int i = 0; i < JOBS; i++) {
		struct udma_req *r = udma_req_alloc(s);
		assert_non_null(r);
		fill_job(&jobs[i], (uint8_t)i);
		jobs[i].chain = LINKS;
		set_bufs(r, &jobs[i]);
		r->cb = chain_cb;
		assert_int_equal(udma_submit(r), 0);
	}
	/* "Destroying a session with requests in flight → -EBUSY": the callbacks
	 * are held at the gate, so all JOBS are in flight */
	assert_int_equal(udma_session_inflight(s), JOBS);
	assert_int_equal(udma_session_destroy(s), -EBUSY);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	drain(s);
	assert_int_equal(udma_session_inflight(s), 0);
	printf("%lu chained completions, %lu bad\n", done_ok, done_bad);
	assert_int_equal(done_bad, 0);
	assert_int_equal(done_ok, JOBS * (LINKS + 1));
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_engine_unregister(te), 0);
	free(jobs);
}

/* ---- POLL mode: callbacks run in the driver's poll and submit again ---------------- */

static struct udma_session *poll_s;
static int poll_links; /* driver-only */

static void poll_cb(struct udma_req *r)
{
	check(r);
	if (poll_links-- > 0) { /* resubmit the same request from inside the poll */
		fill_job(r->cookie, (uint8_t)poll_links);
		if (udma_submit(r))
			__atomic_add_fetch(&done_bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (udma_req_free(r))
		__atomic_add_fetch(&done_bad, 1, __ATOMIC_RELAXED);
}

static void test_poll_callbacks_resubmit(void **state)
{
	struct job j[4];
	/* the cpu engine: completions made inside the driver's own submit wait for its poll */
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 4, .engine = "cpu" };
	poll_s = udma_session_create(UDMA_FUNC_COPY, &o);
	assert_non_null(poll_s);
	done_ok = done_bad = 0;
	poll_links = 1000;
	for (int i = 0; i < 4; i++) {
		struct udma_req *r = udma_req_alloc(poll_s);
		fill_job(&j[i], (uint8_t)i);
		set_bufs(r, &j[i]);
		r->cb = poll_cb;
		assert_int_equal(udma_submit(r), 0);
		assert_true(udma_req_is_done(r) == 0); /* queued for the poll, not delivered in submit */
	}
	assert_int_equal(udma_session_inflight(poll_s), 4);
	assert_int_equal(udma_session_destroy(poll_s), -EBUSY);
	while (udma_session_inflight(poll_s))
		udma_session_poll(poll_s, 3);
	assert_int_equal(done_bad, 0);
	assert_int_equal(done_ok, 4 + 1000);
	/* double free and submit-after-free are still caught on the driver's path */
	struct udma_req *r = udma_req_alloc(poll_s);
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_req_free(r), -EINVAL);
	assert_int_equal(udma_submit(r), -EINVAL);
	assert_int_equal(udma_session_destroy(poll_s), 0);
}

/* ---- SHARED: several threads submit, alloc and free on one session ----------------- */

#define SHARED_THREADS 3
#define SHARED_ROUNDS 3000

/* Waits, then checks in its own thread (no callback: a callback may still
 * be running when the waiter wakes, and the request is freed right after). */
static void *shared_client(void *arg)
{
	struct udma_session *s = arg;
	struct job *j = calloc(8, sizeof(*j));
	struct udma_req *r[8];
	uintptr_t bad = 0;

	for (int round = 0; round < SHARED_ROUNDS / 8; round++) {
		for (int i = 0; i < 8; i++) {
			r[i] = udma_req_alloc(s);
			if (!r[i]) {
				free(j);
				return (void *)(uintptr_t)-1;
			}
			fill_job(&j[i], (uint8_t)(round + i));
			set_bufs(r[i], &j[i]);
			bad += udma_submit(r[i]) != 0;
		}
		for (int i = 0; i < 8; i++) {
			udma_req_wait(r[i]);
			check(r[i]);
			bad += udma_req_free(r[i]) != 0;
		}
	}
	free(j);
	return (void *)bad;
}

/* engine NULL: the scheduler runs these small copies inline in each thread */
static void shared_session(const char *engine)
{
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 1, .name = "shared-threads" };
	struct udma_engine *te = udma_threads_engine_create(&to);
	/* room for every thread's 8 (a thread holding some while waiting for more could deadlock) */
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = SHARED_THREADS * 8,
				       .engine = engine, .flags = UDMA_SESSION_SHARED };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	pthread_t t[SHARED_THREADS];

	assert_non_null(te);
	assert_non_null(s);
	done_ok = done_bad = 0;
	for (int i = 0; i < SHARED_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, shared_client, s), 0);
	for (int i = 0; i < SHARED_THREADS; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		assert_null(bad);
	}
	/* callbacks count in flight until they return: wait for the last ones */
	drain(s);
	assert_int_equal(done_bad, 0);
	assert_int_equal(done_ok, SHARED_THREADS * (SHARED_ROUNDS / 8) * 8);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_engine_unregister(te), 0);
}

static void test_shared_session_inline(void **state) { shared_session(NULL); }
static void test_shared_session_workers(void **state) { shared_session("shared-threads"); }

/* "flags: UDMA_SESSION_*": anything else is refused; opts from before the
 * field existed (a smaller size) still work. */
static void test_session_flags(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .flags = 0x80 };
	errno = 0;
	assert_null(udma_session_create(UDMA_FUNC_COPY, &o));
	assert_int_equal(errno, EINVAL);
	o = (struct udma_session_opts){ .size = offsetof(struct udma_session_opts, flags), .depth = 2, .flags = 0x80 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	assert_non_null(s); /* flags lies beyond the caller's size: not read */
	assert_int_equal(udma_session_destroy(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callbacks_chain_on_workers),
		cmocka_unit_test(test_poll_callbacks_resubmit),
		cmocka_unit_test(test_shared_session_inline),
		cmocka_unit_test(test_shared_session_workers),
		cmocka_unit_test(test_session_flags),
	};
	return tests_run(tests, NULL, NULL);
}
