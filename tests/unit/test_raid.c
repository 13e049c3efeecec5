/* RAID-6: pq-gen, pq-validate and raid6-recover against references written
 * here (P = XOR, Q = sum 2^i D_i in GF(2^8) mod 0x11d), random data, odd
 * lengths, unaligned and scatter-gather buffers, cpu and threads engines. */
#include "funcs_util.h"

#define MAXK 32

struct stripe {
	unsigned k;
	size_t len;
	struct fu_region d[MAXK + 2]; /* data, then P and Q */
};

static void stripe_fill(struct stripe *st, unsigned k, size_t len, enum fu_layout lay)
{
	st->k = k;
	st->len = len;
	for (unsigned i = 0; i < k + 2; i++)
		fu_region(&st->d[i], len, lay, NULL);
}

static void stripe_free(struct stripe *st)
{
	for (unsigned i = 0; i < st->k + 2; i++)
		fu_region_free(&st->d[i]);
}

/* The reference P and Q of the data. */
static void ref_pq(const struct stripe *st, uint8_t *p, uint8_t *q)
{
	memset(p, 0, st->len);
	memset(q, 0, st->len);
	uint8_t g = 1;
	for (unsigned i = 0; i < st->k; i++) {
		const uint8_t *d = (const uint8_t *)st->d[i].p;
		for (size_t b = 0; b < st->len; b++) {
			p[b] ^= d[b];
			q[b] ^= fu_mul[g][d[b]];
		}
		g = ref_gf_mul(g, 2);
	}
}

static void pq_gen_checked(const char *engine, struct stripe *st, enum fu_layout lay)
{
	struct udma_session *s = fu_session(UDMA_FUNC_PQ_GEN, engine);
	struct udma_req *r = udma_req_alloc(s);
	struct udma_params prm = { .size = sizeof(prm), .k = st->k };
	uint8_t *p = malloc(st->len + 1), *q = malloc(st->len + 1);

	for (unsigned i = 0; i < st->k + 2; i++)
		fu_describe(i < st->k ? &r->in[i] : &r->outs[i - st->k], &st->d[i], lay);
	r->params = &prm;
	assert_int_equal(fu_run(r), 0);
	ref_pq(st, p, q);
	if (memcmp(p, st->d[st->k].p, st->len) || memcmp(q, st->d[st->k + 1].p, st->len))
		fail_msg("pq-gen k %u len %zu layout %d on %s differs from the reference", st->k, st->len, lay, engine);
	udma_req_free(r);
	udma_session_destroy(s);
	free(p);
	free(q);
}

static uint64_t validate(const char *engine, struct stripe *st, enum fu_layout lay)
{
	struct udma_session *s = fu_session(UDMA_FUNC_PQ_VALIDATE, engine);
	struct udma_req *r = udma_req_alloc(s);
	struct udma_params prm = { .size = sizeof(prm), .k = st->k };

	for (unsigned i = 0; i < st->k + 2; i++)
		fu_describe(&r->in[i], &st->d[i], lay);
	r->params = &prm;
	assert_int_equal(fu_run(r), 0);
	uint64_t res = r->result;
	udma_req_free(r);
	udma_session_destroy(s);
	return res;
}

static void validate_checked(const char *engine, struct stripe *st, enum fu_layout lay)
{
	assert_int_equal(validate(engine, st, lay), 0);
	if (!st->len)
		return;
	size_t at = fu_rnd() % st->len;
	st->d[st->k].p[at] ^= 4;
	assert_int_equal(validate(engine, st, lay), UDMA_PQ_P_BAD);
	size_t qat = fu_rnd() % st->len;
	st->d[st->k + 1].p[qat] ^= 1;
	assert_int_equal(validate(engine, st, lay), UDMA_PQ_P_BAD | UDMA_PQ_Q_BAD);
	st->d[st->k].p[at] ^= 4;
	assert_int_equal(validate(engine, st, lay), UDMA_PQ_Q_BAD);
	st->d[st->k + 1].p[qat] ^= 1;
	/* a data byte changed: both mismatch */
	st->d[0].p[at] ^= 0x80;
	uint64_t both = validate(engine, st, lay);
	st->d[0].p[at] ^= 0x80;
	assert_true(both & UDMA_PQ_P_BAD);
}

/* Lose blocks a < b (b = k: P) and rebuild them. */
static void recover_checked(const char *engine, struct stripe *st, unsigned a, unsigned b, enum fu_layout lay)
{
	struct udma_session *s = fu_session(UDMA_FUNC_RAID6_RECOVER, engine);
	struct udma_req *r = udma_req_alloc(s);
	struct udma_params prm = { .size = sizeof(prm), .k = st->k, .nlost = 2, .lost = { (uint8_t)a, (uint8_t)b } };
	struct fu_region got[2];

	for (unsigned i = 0; i < st->k + 2; i++)
		if (i != a && i != b)
			fu_describe(&r->in[i], &st->d[i], lay);
	fu_region(&got[0], st->len, lay, &r->outs[0]);
	fu_region(&got[1], st->len, lay, &r->outs[1]);
	r->params = &prm;
	assert_int_equal(fu_run(r), 0);
	if (memcmp(got[0].p, st->d[a].p, st->len) || memcmp(got[1].p, st->d[b].p, st->len))
		fail_msg("raid6-recover k %u lost %u,%u len %zu layout %d on %s: wrong blocks", st->k, a, b, st->len, lay,
			 engine);
	fu_region_free(&got[0]);
	fu_region_free(&got[1]);
	udma_req_free(r);
	udma_session_destroy(s);
}

static void raid_all(const char *engine)
{
	static const unsigned ks[] = { 2, 3, 8, 16, 32 };
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
		for (size_t li = 0; li < FU_NLENS; li++)
			for (int lay = 0; lay < FU_LAYOUTS; lay++) {
				struct stripe st;
				unsigned k = ks[ki];
				stripe_fill(&st, k, fu_lens[li], (enum fu_layout)lay);
				pq_gen_checked(engine, &st, (enum fu_layout)lay);
				validate_checked(engine, &st, (enum fu_layout)lay);
				unsigned a = (unsigned)(fu_rnd() % k), b = a + 1 + (unsigned)(fu_rnd() % (k - a));
				recover_checked(engine, &st, a, b, (enum fu_layout)lay); /* b may be P */
				recover_checked(engine, &st, a, k, (enum fu_layout)lay); /* data and P */
				if (a + 1 < k)
					recover_checked(engine, &st, a, a + 1, (enum fu_layout)lay); /* two data */
				stripe_free(&st);
			}
}

static void test_raid_engines(void **state)
{
	fu_on_engines(raid_all);
}

/* Bad parameters and buffers: -EINVAL with a debug line, nothing run. */
static void test_raid_bad_input(void **state)
{
	struct udma_session *s = fu_session(UDMA_FUNC_RAID6_RECOVER, "cpu");
	struct udma_req *r = udma_req_alloc(s);
	struct fu_region d[6];
	struct udma_params prm = { .size = sizeof(prm), .k = 4, .nlost = 2, .lost = { 1, 2 } };

	for (unsigned i = 0; i < 6; i++)
		fu_region(&d[i], 64, FU_ALIGNED, i == 1 || i == 2 ? NULL : &r->in[i]);
	r->outs[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { d[1].p, 64 } };
	r->outs[1] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { d[2].p, 64 } };
	r->params = &prm;
	assert_int_equal(fu_run(r), 0); /* the good request first */

	static const struct { const char *why; struct udma_params p; } bad[] = {
		{ "k 1", { .k = 1, .nlost = 2, .lost = { 0, 1 } } },
		{ "k 33", { .k = 33, .nlost = 2, .lost = { 0, 1 } } },
		{ "one lost", { .k = 4, .nlost = 1, .lost = { 1 } } },
		{ "three lost", { .k = 4, .nlost = 3, .lost = { 1, 2, 3 } } },
		{ "Q lost", { .k = 4, .nlost = 2, .lost = { 1, 5 } } },
		{ "not ascending", { .k = 4, .nlost = 2, .lost = { 2, 1 } } },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct udma_params p = bad[i].p;
		p.size = sizeof(p);
		r->params = &p;
		log_capture_start();
		int rc = fu_run(r);
		log_capture_stop();
		if (rc != -EINVAL)
			fail_msg("%s: %d, not -EINVAL", bad[i].why, rc);
		assert_true(strlen(test_log_buf) > 0);
	}
	r->params = NULL; /* no parameters at all */
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("needs params");
	struct udma_params small = prm;
	small.size = 8;
	r->params = &small;
	assert_int_equal(fu_run(r), -EINVAL);
	r->params = &prm;
	r->in[1] = r->in[0]; /* a lost block given */
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("lost block");
	r->in[1] = (struct udma_buf){ .type = UDMA_BUF_NONE };
	r->in[0].linear.len = 32; /* lengths differ */
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("differ");
	r->in[0].linear.len = 64;
	r->outs[1] = r->in[0]; /* an output over an input */
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("overlaps");
	r->outs[1] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { d[2].p, 64 } };
	r->out = r->outs[1]; /* req->out is not where its outputs go */
	assert_int_equal(fu_run(r), -EINVAL);
	for (unsigned i = 0; i < 6; i++)
		fu_region_free(&d[i]);
	udma_req_free(r);
	udma_session_destroy(s);

	/* pq-gen with one source */
	s = fu_session(UDMA_FUNC_PQ_GEN, "cpu");
	r = udma_req_alloc(s);
	struct udma_params one = { .size = sizeof(one), .k = 1 };
	r->params = &one;
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("k 1 out of");
	udma_req_free(r);
	udma_session_destroy(s);
}

/* Parameters are copied at submit: changing them while a threads engine
 * still has the work changes nothing (read late, k = 2 would drop sources). */
static void test_params_read_at_submit(void **state)
{
	enum { NREQ = 32, K = 8, LEN = 16384 };
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 1, .name = "t-params" };
	struct udma_engine *e = udma_threads_engine_create(&to);
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = NREQ, .engine = "t-params" };
	struct udma_session *s;
	struct udma_params prm = { .size = sizeof(prm), .k = K };
	static struct stripe st[NREQ];
	struct udma_req *r[NREQ], *got[NREQ];
	uint8_t *p = malloc(LEN), *q = malloc(LEN);

	assert_non_null(e);
	s = udma_session_create(UDMA_FUNC_PQ_GEN, &o);
	assert_non_null(s);
	for (int i = 0; i < NREQ; i++) {
		stripe_fill(&st[i], K, LEN, FU_ALIGNED);
		r[i] = udma_req_alloc(s);
		for (unsigned j = 0; j < K + 2; j++)
			fu_describe(j < K ? &r[i]->in[j] : &r[i]->outs[j - K], &st[i].d[j], FU_ALIGNED);
		r[i]->params = &prm;
	}
	assert_int_equal(udma_submit_burst(r, NREQ), NREQ);
	prm.k = 2; /* the caller reuses its struct at once */
	for (int n = 0; n < NREQ;)
		n += udma_session_reap(s, got, NULL, NREQ);
	for (int i = 0; i < NREQ; i++) {
		assert_int_equal(r[i]->status, 0);
		ref_pq(&st[i], p, q);
		if (memcmp(p, st[i].d[K].p, LEN) || memcmp(q, st[i].d[K + 1].p, LEN))
			fail_msg("request %d used the parameters as changed after submit", i);
		udma_req_free(r[i]);
		stripe_free(&st[i]);
	}
	free(p);
	free(q);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

int main(void)
{
	fu_mul_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raid_engines),
		cmocka_unit_test(test_raid_bad_input),
		cmocka_unit_test(test_params_read_at_submit),
	};
	return tests_run(tests, NULL, NULL);
}
