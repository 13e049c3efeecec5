/* Large requests of auto sessions split across engine lanes (lib/mover/split.c,
 * docs/movers.md): data right across odd sizes, unaligned and scatter-gather
 * buffers; a failing chunk fails the request once; chunks held by an engine
 * complete the request once, the last one; unregister runs held chunks
 * elsewhere; requests the scheduler gives to an engine of their own, and
 * pinned sessions, are not split. UDMA_SPLIT=on: every candidate splits. */
#include "funcs_util.h"

extern unsigned _udma_split_cpus; /* lib/mover/split.c: CPUs chunks spread over */
extern int _udma_split_choose(uint64_t whole, uint64_t split, unsigned *tick, int *learn);

/* ---- a lanes engine written against backend.h: holds or fails works ---- */

static struct lanes {
	struct udma_work *held[64];
	unsigned nheld, got;
	int hold, fail_all;
	size_t shortest;      /* the shortest work taken */
} L;

static int ln_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	(void)e;
	for (unsigned i = 0; i < n; i++) {
		L.got++;
		if (!L.shortest || w[i]->len < L.shortest)
			L.shortest = w[i]->len;
		if (L.hold) {
			assert_true(L.nheld < 64);
			L.held[L.nheld++] = w[i];
		} else {
			udma_engine_done(w[i], L.fail_all ? -EIO : udma_cpu_execute(w[i]));
		}
	}
	return (int)n;
}

static int ln_reclaim(struct udma_engine *e, struct udma_work **w, unsigned max)
{
	(void)e;
	unsigned n = 0;
	while (n < max && L.nheld)
		w[n++] = L.held[--L.nheld];
	return (int)n;
}

static const struct udma_engine_ops ln_ops = { .size = sizeof(ln_ops), .submit = ln_submit, .reclaim = ln_reclaim };

static struct udma_engine *lanes_engine(unsigned lanes)
{
	memset(&L, 0, sizeof(L));
	struct udma_engine_desc d = {
		.size = sizeof(d), .name = "lanes", .speed = 1ull << 40, .funcs = (1u << UDMA_FUNC_COUNT) - 1,
		.flags = UDMA_ENGINE_SPLIT, .lanes = lanes, .ops = &ln_ops,
	};
	struct udma_engine *e = udma_engine_register(&d);
	assert_non_null(e);
	return e;
}

/* ---- data integrity on the default threads engine ---- */

static const size_t sizes[] = { 65537, 200003, (1u << 20) + 13 };

/* One request of f over len bytes in layout lay; checked against a reference. */
static void one(struct udma_session *s, enum udma_func f, size_t len, enum fu_layout lay)
{
	struct udma_req *r = udma_req_alloc(s);
	struct fu_region in[3], out, out2;
	unsigned nin = f == UDMA_FUNC_COPY || f == UDMA_FUNC_DUALCAST ? 1 : f == UDMA_FUNC_XOR(3) ? 3 : 0;

	assert_non_null(r);
	for (unsigned j = 0; j < nin; j++)
		fu_region(&in[j], len, lay, &r->in[j]);
	fu_region(&out, len, lay, f == UDMA_FUNC_DUALCAST ? &r->outs[0] : &r->out);
	if (f == UDMA_FUNC_DUALCAST)
		fu_region(&out2, len, lay, &r->outs[1]);
	for (int i = 0; i < 8; i++)
		r->imm[i] = (uint8_t)(0x11 * (i + 1));
	assert_int_equal(fu_run(r), 0);
	assert_string_equal(r->engine, "threads"); /* split: the lanes' engine */
	for (size_t k = 0; k < len; k++) {
		uint8_t want = f == UDMA_FUNC_ZERO ? 0 : f == UDMA_FUNC_FILL8 ? r->imm[0] : f == UDMA_FUNC_FILL64 ? r->imm[k % 8]
			     : (uint8_t)in[0].p[k];
		if (f == UDMA_FUNC_XOR(3))
			want ^= (uint8_t)(in[1].p[k] ^ in[2].p[k]);
		if ((uint8_t)out.p[k] != want || (f == UDMA_FUNC_DUALCAST && out2.p[k] != out.p[k]))
			fail_msg("%s of %zu bytes (layout %d): byte %zu is %#x, not %#x", udma_func_name(f), len, lay, k,
				 (uint8_t)out.p[k], want);
	}
	for (unsigned j = 0; j < nin; j++)
		fu_region_free(&in[j]);
	fu_region_free(&out);
	if (f == UDMA_FUNC_DUALCAST)
		fu_region_free(&out2);
	udma_req_free(r);
}

static void test_split_data(void **state)
{
	static const enum udma_func fs[] = { UDMA_FUNC_COPY,  UDMA_FUNC_ZERO,   UDMA_FUNC_FILL8,
					     UDMA_FUNC_FILL64, UDMA_FUNC_XOR(3), UDMA_FUNC_DUALCAST };
	(void)state;
	for (unsigned cpus = 2; cpus <= 5; cpus += 3) { /* 2 chunks, and 3 (the lanes + here) */
		_udma_split_cpus = cpus;
		for (size_t fi = 0; fi < sizeof(fs) / sizeof(fs[0]); fi++) {
			struct udma_session *s = fu_session(fs[fi], NULL);
			for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
				for (int lay = 0; lay < FU_LAYOUTS; lay++)
					one(s, fs[fi], sizes[si], (enum fu_layout)lay);
			assert_int_equal(udma_session_inflight(s), 0);
			assert_int_equal(udma_session_destroy(s), 0);
		}
	}
}

/* ---- completion: once, with the first error ---- */

static unsigned calls;
static int last_status;

static void count_cb(struct udma_req *r)
{
	calls++;
	last_status = r->status;
}

static struct udma_req *copy_req(struct udma_session *s, char *a, char *b, size_t len)
{
	struct udma_req *r = udma_req_alloc(s);
	assert_non_null(r);
	memset(a, 0x5a, len);
	memset(b, 0, len);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, len } };
	return r;
}

static void test_failing_chunk_fails_once(void **state)
{
	(void)state;
	struct udma_engine *e = lanes_engine(3);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	size_t len = 1 << 20;
	char *a = malloc(len), *b = malloc(len);

	_udma_split_cpus = 4;
	L.fail_all = 1;
	calls = 0;
	struct udma_req *r = copy_req(s, a, b, len);
	r->cb = count_cb;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(L.got, 3);      /* one chunk per lane, one ran here */
	assert_int_equal(calls, 1);      /* completed once */
	assert_int_equal(last_status, -EIO);
	assert_int_equal(udma_session_inflight(s), 0);
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
	free(a);
	free(b);
}

static void test_held_chunks_complete_once(void **state)
{
	(void)state;
	struct udma_engine *e = lanes_engine(3);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	size_t len = 1 << 20;
	char *a = malloc(len), *b = malloc(len);

	_udma_split_cpus = 4;
	L.hold = 1;
	struct udma_req *r = copy_req(s, a, b, len), *got[4];
	int st[4];
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(L.nheld, 3);
	assert_int_equal(udma_session_inflight(s), 1);
	/* the middle one fails; the request waits for the last */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(udma_session_reap(s, got, st, 4), 0);
		assert_false(udma_req_is_done(r));
		struct udma_work *w = L.held[i];
		udma_engine_done(w, i == 1 ? -EIO : udma_cpu_execute(w));
	}
	L.nheld = 0;
	assert_int_equal(udma_session_reap(s, got, st, 4), 1);
	assert_ptr_equal(got[0], r);
	assert_int_equal(st[0], -EIO);
	assert_int_equal(udma_session_reap(s, got, st, 4), 0);
	assert_int_equal(udma_session_inflight(s), 0);
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
	free(a);
	free(b);
}

/* Unregister hands back the chunks not started: they run elsewhere, the request is whole. */
static void test_unregister_runs_held_chunks(void **state)
{
	(void)state;
	struct udma_engine *e = lanes_engine(3);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	size_t len = 1 << 20;
	char *a = malloc(len), *b = malloc(len);

	_udma_split_cpus = 4;
	L.hold = 1;
	struct udma_req *r = copy_req(s, a, b, len), *got[2];
	int st[2];
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(L.nheld, 3);
	assert_int_equal(udma_engine_unregister(e), 0);
	assert_int_equal(udma_session_reap(s, got, st, 2), 1);
	assert_int_equal(st[0], 0);
	assert_memory_equal(a, b, len);
	assert_int_equal(udma_session_inflight(s), 0);
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	free(a);
	free(b);
}

/* ---- what is not split ---- */

/* A callback, off the driver's thread, that submits a large copy and waits. */
static struct udma_session *inner;
static char *in_a, *in_b;

static void wait_inside_cb(struct udma_req *r)
{
	(void)r;
	struct udma_req *q = copy_req(inner, in_a, in_b, 1 << 20);
	q->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(q), 0);
	assert_int_equal(q->status, 0);
	udma_req_free(q);
	calls++;
}

/* A callback may run on the only worker the chunks would need: a request
 * that waits there is not split (it would wait for itself). */
static void test_waiting_in_callback_not_split(void **state)
{
	(void)state;
	struct udma_engine *e = lanes_engine(3);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK };
	struct udma_session *outer = udma_session_create(UDMA_FUNC_COPY, &so);
	size_t len = 1 << 20;
	char *a = malloc(len), *b = malloc(len);

	inner = udma_session_create(UDMA_FUNC_COPY, &so);
	in_a = malloc(len);
	in_b = malloc(len);
	_udma_split_cpus = 4;
	L.hold = 1;
	calls = 0;
	struct udma_req *r = copy_req(outer, a, b, len);
	r->cb = wait_inside_cb;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(L.nheld, 3);
	L.hold = 0;
	L.shortest = 0;
	/* finished here, off the driver's path: the callback runs here */
	for (unsigned i = 0; i < 3; i++)
		udma_engine_done(L.held[i], udma_cpu_execute(L.held[i]));
	L.nheld = 0;
	assert_int_equal(calls, 1);
	assert_true(!L.shortest || L.shortest == len); /* whole, if the engine got it at all */
	assert_memory_equal(in_a, in_b, len);
	assert_int_equal(udma_session_destroy(inner), 0);
	assert_int_equal(udma_session_destroy(outer), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
	free(a);
	free(b);
	free(in_a);
	free(in_b);
}

static void test_not_split(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *a = malloc(len), *b = malloc(len);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);

	/* a pinned session */
	struct udma_req *r = copy_req(s, a, b, len);
	assert_int_equal(fu_run(r), 0);
	assert_string_equal(r->engine, "cpu");
	udma_req_free(r);
	udma_session_destroy(s);
	/* an engine of its own the scheduler prefers (a device, say) */
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "device", .speed = 1ull << 40,
				      .funcs = 1u << UDMA_FUNC_COPY };
	struct udma_engine *dev = udma_error_engine_create(&eo);
	assert_non_null(dev);
	s = fu_session(UDMA_FUNC_COPY, NULL);
	r = copy_req(s, a, b, len);
	assert_int_equal(fu_run(r), 0);
	assert_string_equal(r->engine, "device");
	assert_memory_equal(a, b, len);
	udma_req_free(r);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(dev), 0);
	free(a);
	free(b);
}

/* Split or whole: both ways learned first, then the faster one, except
 * four candidates in a row out of 64 that take the other way, the first of
 * which is not learned (it finds the lanes asleep). */
static void test_split_choice(void **state)
{
	(void)state;
	unsigned tick = 0;
	int learn;
	assert_int_equal(_udma_split_choose(0, 0, &tick, &learn), 1); /* nothing learned: split first */
	assert_int_equal(learn, 1);
	assert_int_equal(_udma_split_choose(0, 100, &tick, &learn), 0); /* then whole */
	for (int faster_split = 0; faster_split < 2; faster_split++) {
		uint64_t whole = faster_split ? 100 : 200, split = faster_split ? 200 : 100;
		unsigned other = 0, unlearned = 0, run = 0, longest = 0;
		tick = 0;
		for (int i = 0; i < 64 * 10; i++) {
			int way = _udma_split_choose(whole, split, &tick, &learn);
			if (way != faster_split) {
				other++;
				run++;
				longest = run > longest ? run : longest;
				unlearned += !learn;
				assert_true(!learn == (run == 1)); /* only the first of a run */
			} else {
				run = 0;
				assert_int_equal(learn, 1);
			}
		}
		assert_int_equal(other, 40);
		assert_int_equal(unlearned, 10);
		assert_int_equal(longest, 4);
	}
}

/* An inline engine takes no chunks. */
static void test_split_flag_rules(void **state)
{
	(void)state;
	struct udma_engine_desc d = {
		.size = sizeof(d), .name = "bad", .speed = 1, .funcs = 1u << UDMA_FUNC_COPY,
		.flags = UDMA_ENGINE_SPLIT | UDMA_ENGINE_INLINE, .ops = &ln_ops,
	};
	assert_null(udma_engine_register(&d));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	setenv("UDMA_SPLIT", "on", 1);
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_split_data),
		cmocka_unit_test(test_split_choice),
		cmocka_unit_test(test_failing_chunk_fails_once),
		cmocka_unit_test(test_held_chunks_complete_once),
		cmocka_unit_test(test_unregister_runs_held_chunks),
		cmocka_unit_test(test_not_split),
		cmocka_unit_test(test_waiting_in_callback_not_split),
		cmocka_unit_test(test_split_flag_rules),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
