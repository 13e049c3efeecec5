/* Bursts: udma_submit_burst, udma_session_reap (no callbacks, a status per
 * request), udma_session_capacity, on the cpu and threads engines and an
 * engine that fails every other work; refusals; sizes that go to different
 * engines in one burst; bounced buffers among local ones; callback-mode
 * bursts. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "funcs_util.h"

#define N 16

static int callbacks;
static void counting_cb(struct udma_req *r)
{
	callbacks++;
}

/* N copies of random sizes in one burst, reaped until all are back. */
static void burst_copies(const char *engine)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = N, .engine = engine };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *reqs[N], *got[N];
	struct fu_region in[N], out[N];
	int status[N], seen[N] = { 0 };

	assert_non_null(s);
	assert_int_equal(udma_session_capacity(s), N);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			reqs[i] = round ? reqs[i] : udma_req_alloc(s);
			size_t len = fu_rnd() % 5000;
			fu_region(&in[i], len, (enum fu_layout)(i % FU_LAYOUTS), &reqs[i]->in[0]);
			fu_region(&out[i], len, (enum fu_layout)(i % FU_LAYOUTS), &reqs[i]->out);
			reqs[i]->cb = counting_cb; /* reaping never calls it */
			reqs[i]->cookie = (void *)(intptr_t)i;
		}
		callbacks = 0;
		assert_int_equal(udma_submit_burst(reqs, N), N);
		assert_int_equal(udma_session_capacity(s), 0);
		int n = 0;
		while (n < N) {
			int k = udma_session_reap(s, got, status, 3);
			assert_in_range(k, 0, 3);
			for (int j = 0; j < k; j++) {
				int i = (int)(intptr_t)got[j]->cookie;
				assert_int_equal(status[j], 0);
				assert_int_equal(udma_req_is_done(got[j]), 1);
				assert_int_equal(seen[i], round);
				seen[i]++;
				if (memcmp(in[i].p, out[i].p, in[i].len))
					fail_msg("burst copy %d of %zu bytes on %s is wrong", i, in[i].len, engine);
			}
			n += k;
			assert_int_equal(udma_session_capacity(s), (unsigned)n);
		}
		assert_int_equal(callbacks, 0);
		for (int i = 0; i < N; i++) {
			fu_region_free(&in[i]);
			fu_region_free(&out[i]);
		}
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(udma_req_free(reqs[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

static void test_burst_engines(void **state)
{
	fu_on_engines(burst_copies);
}

/* Each reaped request's own status: every second work fails. */
static void test_burst_status(void **state)
{
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "every-other", .speed = 1ull << 40,
				      .funcs = 1u << UDMA_FUNC_FILL8, .fail_every = 2, .fail_status = -EIO };
	struct udma_engine *e = udma_error_engine_create(&eo);
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .engine = "every-other" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, &o);
	struct udma_req *reqs[N], *got[N];
	int status[N], fails = 0, n = 0;
	char buf[N][8];

	assert_non_null(e);
	for (int i = 0; i < N; i++) {
		reqs[i] = udma_req_alloc(s);
		reqs[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { buf[i], 8 } };
	}
	assert_int_equal(udma_submit_burst(reqs, N), N);
	while (n < N) {
		int k = udma_session_reap(s, got + n, status + n, N - (unsigned)n);
		assert_true(k >= 0);
		n += k;
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(status[i], got[i]->status);
		assert_true(status[i] == 0 || status[i] == -EIO);
		fails += status[i] == -EIO;
	}
	assert_int_equal(fails, N / 2);
	/* reaped with NULL status: fine too */
	assert_int_equal(udma_submit_burst(reqs, 1), 1);
	while (!udma_session_reap(s, got, NULL, 1))
		;
	for (int i = 0; i < N; i++)
		udma_req_free(reqs[i]);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* The first refused request stops the burst; none accepted: its errno. */
static void test_burst_refusals(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_session *other = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[3] = { udma_req_alloc(s), udma_req_alloc(s), udma_req_alloc(other) }, *got[3];
	char a[64], b[64];

	for (int i = 0; i < 3; i++) {
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	}
	r[1]->out.linear.len = 32; /* lengths differ */
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 3), 1);
	assert_int_equal(udma_submit_burst(r + 1, 2), -EINVAL);
	log_capture_stop();
	assert_logged("differ");
	assert_int_equal(udma_session_reap(s, got, NULL, 3), 1);
	/* udma_submit says why in the status too */
	r[1]->status = 0;
	log_capture_start();
	assert_int_equal(udma_submit(r[1]), -EINVAL);
	log_capture_stop();
	assert_int_equal(r[1]->status, -EINVAL);
	r[1]->out.linear.len = 64;
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 3), 2); /* r[2] is another session's */
	log_capture_stop();
	assert_logged("session");
	assert_int_equal(udma_session_reap(s, got, NULL, 3), 2);
	r[0]->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit_burst(r, 1), -EINVAL);
	r[0]->flags = 0;
	assert_int_equal(udma_submit_burst(NULL, 1), -EINVAL);
	assert_int_equal(udma_submit_burst(r, 0), 0);
	assert_int_equal(udma_session_reap(NULL, got, NULL, 1), -EINVAL);
	assert_int_equal(udma_session_reap(s, NULL, NULL, 1), -EINVAL);
	assert_int_equal(udma_session_capacity(NULL), 0);
	for (int i = 0; i < 3; i++)
		udma_req_free(r[i]);
	udma_session_destroy(other);
	udma_session_destroy(s);

	/* reaping needs POLL mode */
	s = udma_session_create(UDMA_FUNC_COPY, NULL);
	log_capture_start();
	assert_int_equal(udma_session_reap(s, got, NULL, 1), -EINVAL);
	log_capture_stop();
	assert_logged("POLL");
	udma_session_destroy(s);
}

/* An engine that is not inline, declared so fast that large works go to it;
 * it performs them at once inside submit(). */
static int far_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], udma_cpu_execute(w[i]));
	return (int)n;
}

static const struct udma_engine_ops far_ops = { .size = sizeof(far_ops), .submit = far_submit };

/* Small and large copies mixed in one burst of an auto session: the small
 * run here on cpu, the large go to the fast engine, each decided for its
 * own size; completions come back in submission order (the works run here
 * before a handed-over one are completed first), and the data is right. */
static void test_burst_mixed_sizes(void **state)
{
	struct udma_engine_desc d = { .size = sizeof(d), .name = "far", .speed = 1ull << 50,
				      .funcs = 1u << UDMA_FUNC_COPY, .ops = &far_ops };
	struct udma_engine *far = udma_engine_register(&d);
	static const size_t lens[] = { 8, 1 << 20, 8, 8, 1 << 20, 8, 64, 1 << 20 };
	enum { M = sizeof(lens) / sizeof(lens[0]) };
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = M };

	assert_non_null(far);
	/* linear buffers take the plain path (batches of copies), scatter-gather
	 * ones the general path (an engine chosen per request, the gathered
	 * works run before one is handed to another engine) */
	static const enum fu_layout lays[] = { FU_SG, FU_ALIGNED };
	for (int l = 0; l < 2; l++) {
		enum fu_layout lay = lays[l];
		struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
		struct udma_req *r[M];
		struct fu_region in[M], out[M];

		assert_non_null(s);
		for (int i = 0; i < M; i++) {
			r[i] = udma_req_alloc(s);
			fu_region(&in[i], lens[i], lay, &r[i]->in[0]);
			fu_region(&out[i], lens[i], lay, &r[i]->out);
		}
		assert_int_equal(udma_submit_burst(r, M), M);
		fu_reap_in_order(s, r, M, NULL);
		for (int i = 0; i < M; i++) {
			assert_string_equal(r[i]->engine, lens[i] > 64 ? "far" : "cpu");
			if (memcmp(in[i].p, out[i].p, lens[i]))
				fail_msg("copy %d of %zu bytes (layout %d) is wrong", i, lens[i], (int)lay);
			fu_region_free(&in[i]);
			fu_region_free(&out[i]);
			udma_req_free(r[i]);
		}
		assert_int_equal(udma_session_destroy(s), 0);
	}
	assert_int_equal(udma_engine_unregister(far), 0);
}

/* Requests whose buffers are bounced (a child's memory, through a process
 * domain) among linear ones in one burst: they go through the dispatch, the
 * others run in batches around them; every one back once, with its data.
 * The child's bytes differ from ours at the same addresses, so a bounced
 * request run as a local one would show. */
static char child_in[64], child_out[64];

static void test_burst_bounced(void **state)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test does not leave it behind */
		memset(child_in, 'c', sizeof(child_in));
		char go = 1;
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char go;
	assert_int_equal(read(pfd[0], &go, 1), 1);
	struct udma_domain *child = udma_process_domain_create(pid, "burst-child");
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 8 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[6], *got[6];
	char a[6][64], b[6][64];
	struct iovec rin = { child_in, 64 }, rout = { child_out, 64 };
	int status[6], seen[6] = { 0 }, n = 0;

	assert_non_null(child);
	memset(child_in, 'p', sizeof(child_in)); /* ours: not what the child has */
	for (int i = 0; i < 6; i++) {
		r[i] = udma_req_alloc(s);
		memset(a[i], 'A' + i, 64);
		memset(b[i], 0, 64);
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a[i], 64 } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b[i], 64 } };
		r[i]->cookie = (void *)(intptr_t)i;
	}
	r[1]->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { child, NULL, &rin, 1 } };
	r[4]->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { child, NULL, &rout, 1 } };
	assert_int_equal(udma_submit_burst(r, 6), 6);
	while (n < 6) {
		int k = udma_session_reap(s, got + n, status + n, 6 - (unsigned)n);
		assert_true(k >= 0);
		n += k;
	}
	for (int j = 0; j < 6; j++) {
		assert_int_equal(status[j], 0);
		seen[(intptr_t)got[j]->cookie]++;
	}
	memset(a[1], 'c', 64); /* what the child had */
	/* what the push left in the child, pulled back */
	r[4]->in[0] = r[4]->out;
	r[4]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b[4], 64 } };
	assert_int_equal(udma_submit_burst(&r[4], 1), 1);
	assert_int_equal(udma_session_reap(s, got, status, 1), 1);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(seen[i], 1);
		if (memcmp(a[i], b[i], 64))
			fail_msg("copy %d is wrong", i);
		assert_int_equal(udma_req_free(r[i]), 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_domain_destroy(child), 0);
}

/* A refused request in the middle: those before it are accepted and
 * complete, in order; it gets its reason in its status and is the caller's
 * to fix and submit again; those after it are untouched. A request already
 * in flight keeps its status. */
static void test_burst_refused_middle(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 8, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[5], *got[5];
	char a[5][64], b[5][64];
	int status[5];

	for (int i = 0; i < 5; i++) {
		r[i] = udma_req_alloc(s);
		memset(a[i], 'a' + i, 64);
		memset(b[i], 0, 64);
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a[i], 64 } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b[i], 64 } };
	}
	r[2]->out.linear.len = 32; /* lengths differ */
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 5), 2);
	log_capture_stop();
	assert_logged("differ");
	assert_int_equal(r[2]->status, -EINVAL);
	assert_int_equal(udma_req_is_done(r[3]), 0);
	assert_int_equal(b[3][0], 0); /* not run */
	assert_int_equal(udma_session_capacity(s), 8 - 2);
	assert_int_equal(udma_session_reap(s, got, status, 5), 2);
	assert_ptr_equal(got[0], r[0]);
	assert_ptr_equal(got[1], r[1]);
	assert_int_equal(status[0], 0);
	assert_int_equal(status[1], 0);

	/* in flight in the middle: refused with EBUSY, its status left alone */
	r[2]->out.linear.len = 64;
	r[4]->flags = UDMA_REQ_WAIT; /* and a waiting one after it: refused too */
	assert_int_equal(udma_submit_burst(&r[2], 1), 1);
	struct udma_req *again[3] = { r[3], r[2], r[4] };
	log_capture_start();
	assert_int_equal(udma_submit_burst(again, 3), 1);
	log_capture_stop();
	assert_logged("in flight");
	assert_int_equal(r[2]->status, 0);
	assert_int_equal(udma_session_reap(s, got, status, 5), 2);
	log_capture_start();
	assert_int_equal(udma_submit_burst(&r[4], 1), -EINVAL);
	log_capture_stop();
	assert_logged("waits");
	assert_int_equal(r[4]->status, -EINVAL);
	for (int i = 0; i < 4; i++)
		if (memcmp(a[i], b[i], 64))
			fail_msg("copy %d is wrong", i);
	for (int i = 0; i < 5; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* CALLBACK mode: each request's callback once (in order where they run in
 * the caller's thread), with its status; a callback may submit a burst of
 * its own. Callbacks may run on engine threads: they count what is wrong,
 * the test checks the counts. */
static struct udma_req *cb_seen[2 * N];
static int cb_n, cb_wrong;
static struct udma_req *cb_next[N];

static void order_cb(struct udma_req *r)
{
	cb_seen[__atomic_fetch_add(&cb_n, 1, __ATOMIC_RELAXED)] = r;
	if (r->status || (r->cookie && udma_submit_burst(cb_next, N) != N)) /* the first one submits the rest */
		__atomic_fetch_add(&cb_wrong, 1, __ATOMIC_RELAXED);
}

static void burst_callbacks(const char *engine)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = 2 * N, .engine = engine };
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, &o);
	struct udma_req *r[N];
	char buf[2 * N][16];

	assert_non_null(s);
	cb_n = cb_wrong = 0;
	for (int i = 0; i < 2 * N; i++) {
		struct udma_req *q = udma_req_alloc(s);
		q->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { buf[i], sizeof(buf[i]) } };
		q->imm[0] = (uint8_t)i;
		q->cb = order_cb;
		if (i < N)
			r[i] = q;
		else
			cb_next[i - N] = q;
	}
	r[0]->cookie = r; /* marks the first */
	assert_int_equal(udma_submit_burst(r, N), N);
	while (udma_session_inflight(s))
		sched_yield();
	assert_int_equal(__atomic_load_n(&cb_n, __ATOMIC_ACQUIRE), 2 * N);
	assert_int_equal(cb_wrong, 0);
	/* in the caller's thread, in order: the first's callback runs its own
	 * burst (and their callbacks) before the rest of the outer one */
	for (int i = 0; !strcmp(engine, "cpu") && i < 2 * N; i++)
		assert_ptr_equal(cb_seen[i], i == 0 ? r[0] : i <= N ? cb_next[i - 1] : r[i - N]);
	for (int i = 0; i < 2 * N; i++) {
		for (size_t k = 0; k < sizeof(buf[i]); k++)
			assert_int_equal((uint8_t)buf[i][k], (uint8_t)i);
		assert_int_equal(udma_req_free(i < N ? r[i] : cb_next[i - N]), 0);
	}
	assert_int_equal(udma_session_destroy(s), 0);
}

static void test_burst_callbacks(void **state)
{
	fu_on_engines(burst_callbacks);
}

/* A permanent inline engine with run() and no run_burst(): a burst calls
 * run() once per work. run_burst() without run() is refused at
 * registration. The engine stays registered (permanent): slow, and for
 * fill8 only, so the scheduler never picks it for others. */
static int runs;

static int loop_run(struct udma_engine *e, struct udma_work *w)
{
	runs++;
	return udma_cpu_execute(w);
}

static int loop_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], loop_run(e, w[i]));
	return (int)n;
}

static void only_burst(struct udma_engine *e, struct udma_work *const *w, unsigned n, int *status)
{
}

static void test_burst_engine_ops(void **state)
{
	static const struct udma_engine_ops bad = { .size = sizeof(bad), .submit = loop_submit, .run_burst = only_burst };
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = loop_submit, .run = loop_run };
	struct udma_engine_desc d = { .size = sizeof(d), .name = "burst-no-run", .speed = 1, .funcs = 1u << UDMA_FUNC_FILL8,
				      .flags = UDMA_ENGINE_INLINE, .ops = &bad };
	log_capture_start();
	assert_null(udma_engine_register(&d));
	log_capture_stop();
	assert_int_equal(errno, EINVAL);
	assert_logged("run_burst");
	d.name = "burst-loop";
	d.ops = &ops;
	d.flags = UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT;
	assert_non_null(udma_engine_register(&d));

	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 5, .engine = "burst-loop" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, &o);
	struct udma_req *r[5], *got[5];
	char buf[5][32];

	runs = 0;
	for (int i = 0; i < 5; i++) {
		r[i] = udma_req_alloc(s);
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { buf[i], sizeof(buf[i]) } };
		r[i]->imm[0] = (uint8_t)(0x40 + i);
	}
	assert_int_equal(udma_submit_burst(r, 5), 5);
	assert_int_equal(runs, 5);
	assert_int_equal(udma_session_reap(s, got, NULL, 5), 5);
	for (int i = 0; i < 5; i++) {
		assert_ptr_equal(got[i], r[i]);
		assert_string_equal(r[i]->engine, "burst-loop");
		for (size_t k = 0; k < sizeof(buf[i]); k++)
			assert_int_equal(buf[i][k], 0x40 + i);
		udma_req_free(r[i]);
	}
	assert_int_equal(udma_session_destroy(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_engines),
		cmocka_unit_test(test_burst_status),
		cmocka_unit_test(test_burst_refusals),
		cmocka_unit_test(test_burst_mixed_sizes),
		cmocka_unit_test(test_burst_bounced),
		cmocka_unit_test(test_burst_refused_middle),
		cmocka_unit_test(test_burst_callbacks),
		cmocka_unit_test(test_burst_engine_ops), /* last: leaves a permanent engine */
	};
	return tests_run(tests, NULL, NULL);
}
