/* Bursts: udma_submit_burst, udma_session_reap (no callbacks, a status per
 * request), udma_session_capacity, on the cpu and threads engines and an
 * engine that fails every other work; refusals. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_engines),
		cmocka_unit_test(test_burst_status),
		cmocka_unit_test(test_burst_refusals),
	};
	return tests_run(tests, NULL, NULL);
}
