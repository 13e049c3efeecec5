/* Sequences (include/udma/sequence.h, docs/sequences.md): steps chained on
 * every engine, temporaries, bounced operands (an SPDK memory domain, a
 * process domain), shm operands of the later functions, copy elision and
 * its safety (spdk#3382's shape), abort, dependencies, an engine failing
 * mid-sequence, bad input, reuse, and threads running sequences at once. */
#include <pthread.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <spdk/dma.h>
#include "funcs_util.h"

#define LEN 65536

static struct udma_buf lin(void *p, size_t len)
{
	return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, len } };
}

static struct udma_step step1(enum udma_func f, struct udma_buf out, const struct udma_buf *in, uint32_t nin)
{
	return (struct udma_step){ .size = sizeof(struct udma_step), .func = f, .out = out, .in = in, .nin = nin };
}

static uint32_t imm_crc(const uint8_t imm[8])
{
	return (uint32_t)imm[0] | (uint32_t)imm[1] << 8 | (uint32_t)imm[2] << 16 | (uint32_t)imm[3] << 24;
}

static struct udma_seq_result result_of(struct udma_seq *q, unsigned i)
{
	struct udma_seq_result r = { .size = sizeof(r) };
	assert_int_equal(udma_seq_step_result(q, i, &r), 0);
	return r;
}

struct done {
	int calls, status;
};

static void count_cb(struct udma_seq *q, int status, void *cookie)
{
	struct done *d = cookie;
	(void)q;
	__atomic_add_fetch(&d->calls, 1, __ATOMIC_SEQ_CST);
	d->status = status;
}

static void rnd(void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)fu_rnd();
}

/* copy a -> T0, crc32c(T0), xor2(out = x, T0, b): three functions, a temporary. */
static void build_chain(struct udma_seq *q, uint8_t *a, uint8_t *b, uint8_t *x, size_t len)
{
	struct udma_buf src = lin(a, len), t0 = UDMA_SEQ_TMP(0, len), xin[2] = { t0, lin(b, len) };
	struct udma_step s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_XOR2, lin(x, len), xin, 2);
	assert_int_equal(udma_seq_append(q, &s), 0);
}

static void check_chain(struct udma_seq *q, const uint8_t *a, const uint8_t *b, const uint8_t *x, size_t len)
{
	assert_int_equal(udma_seq_status(q), 0);
	assert_int_equal(udma_seq_failed_step(q), -1);
	assert_int_equal(udma_seq_steps_done(q), 3);
	assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, a, len));
	for (size_t i = 0; i < len; i++)
		if (x[i] != (a[i] ^ b[i]))
			fail_msg("xor byte %zu of %zu wrong", i, len);
}

/* "Steps run one after another, in the order appended; a step starts only
 * when the one before it completed with status 0 (its outputs are then the
 * next step's to read)." "Completion: exactly once per submission, by
 * callback ... or inside udma_seq_poll()/udma_seq_wait() (POLL mode)." */
static void run_chain(enum udma_compl_mode mode, const char *engine, size_t len)
{
	struct udma_seq_opts o = { .size = sizeof(o), .mode = mode, .engine = engine };
	struct udma_seq *q = udma_seq_create(&o);
	uint8_t *a = malloc(len + 1), *b = malloc(len + 1), *x = malloc(len + 1);
	struct done d = { 0 };

	assert_non_null(q);
	build_chain(q, a, b, x, len);
	for (int round = 0; round < 3; round++) { /* resubmitted as it is */
		rnd(a, len);
		rnd(b, len);
		assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(d.calls, round + 1);
		assert_int_equal(d.status, 0);
		check_chain(q, a, b, x, len);
	}
	assert_int_equal(udma_seq_destroy(q), 0);
	free(a);
	free(b);
	free(x);
}

static void test_chain(void **state)
{
	(void)state;
	size_t sizes[] = { 1, 100, 4096, LEN, 1 << 20 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		run_chain(UDMA_COMPL_CALLBACK, NULL, sizes[i]);
		run_chain(UDMA_COMPL_POLL, NULL, sizes[i]);
		run_chain(UDMA_COMPL_CALLBACK, "threads", sizes[i]);
		run_chain(UDMA_COMPL_POLL, "threads", sizes[i]);
		run_chain(UDMA_COMPL_CALLBACK, "cpu", sizes[i]);
	}
}

/* UDMA_STEP_IMM_PREV: "imm is the previous step's result imm (a CRC chained on)". */
static void test_crc_chained(void **state)
{
	(void)state;
	uint8_t a[3000];
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_buf h0 = lin(a, 1000), h1 = lin(a + 1000, 2000);
	struct udma_step s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &h0, 1);

	rnd(a, sizeof(a));
	assert_int_equal(udma_seq_append(q, &s), 0);
	s.in = &h1;
	s.flags = UDMA_STEP_IMM_PREV;
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, a, sizeof(a)));
	assert_int_equal(udma_seq_destroy(q), 0);
}

/* "udma_seq_append: -EINVAL for NULL, an unknown function or flag, a bad
 * buffer, a buffer count the function does not take, regions whose lengths
 * differ, a temporary read before any step wrote it or used with two
 * lengths, bad params ... and the sequence unchanged." "udma_seq_submit:
 * -EINVAL (NULL, no steps)". Each refusal is logged at debug level. */
static void refuse(struct udma_seq *q, const struct udma_step *s, int err, const char *why)
{
	unsigned n = udma_seq_nsteps(q);
	log_capture_start();
	assert_int_equal(udma_seq_append(q, s), err);
	log_capture_stop();
	assert_logged(why);
	assert_int_equal(udma_seq_nsteps(q), n);
}

static void test_bad_input(void **state)
{
	(void)state;
	uint8_t a[256], b[256];
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_buf src = lin(a, 256), shortb = lin(b, 100), t0 = UDMA_SEQ_TMP(0, 256), t1 = UDMA_SEQ_TMP(1, 256);
	struct udma_buf bad = { .type = (enum udma_buf_type)99 }, two[2] = { src, shortb }, tt[2] = { t0, src };
	struct udma_step s;

	assert_non_null(q);
	assert_int_equal(udma_seq_append(NULL, &(struct udma_step){ .size = sizeof(s) }), -EINVAL);
	assert_int_equal(udma_seq_append(q, NULL), -EINVAL);
	log_capture_start();
	assert_int_equal(udma_seq_submit(q, NULL, NULL), -EINVAL);
	log_capture_stop();
	assert_logged("empty sequence");
	assert_int_equal(udma_seq_submit(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(udma_seq_abort(q), -EINVAL); /* never submitted */
	assert_int_equal(udma_seq_wait(q), -EINVAL);

	s = step1(UDMA_FUNC_COPY, lin(b, 256), &src, 1);
	s.size = 8;
	refuse(q, &s, -EINVAL, "step->size");
	s = step1((enum udma_func)99, lin(b, 256), &src, 1);
	refuse(q, &s, -EINVAL, "unknown function");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), &src, 1);
	s.flags = 0x80;
	refuse(q, &s, -EINVAL, "unknown step flags");
	s.flags = UDMA_STEP_IMM_PREV;
	refuse(q, &s, -EINVAL, "no previous step");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), &src, 2);
	refuse(q, &s, -EINVAL, "takes 1 inputs");
	s = step1(UDMA_FUNC_COPY, (struct udma_buf){ 0 }, &src, 1);
	refuse(q, &s, -EINVAL, "writes 1 output");
	s = step1(UDMA_FUNC_CRC32C, lin(b, 256), &src, 1);
	refuse(q, &s, -EINVAL, "writes 0 outputs");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), NULL, 1);
	refuse(q, &s, -EINVAL, "NULL buffer array");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), &bad, 1);
	refuse(q, &s, -EINVAL, "bad buffer type");
	s = step1(UDMA_FUNC_COPY, lin(NULL, 256), &src, 1);
	refuse(q, &s, -EINVAL, "linear buffer at NULL");
	s = step1(UDMA_FUNC_COPY, shortb, &src, 1);
	refuse(q, &s, -EINVAL, "lengths differ");
	s = step1(UDMA_FUNC_XOR2, lin(b, 256), two, 2);
	refuse(q, &s, -EINVAL, "lengths differ");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), &t0, 1);
	refuse(q, &s, -EINVAL, "read before a step wrote it");
	s = step1(UDMA_FUNC_COPY, UDMA_SEQ_TMP(UDMA_SEQ_MAX_TMP, 256), &src, 1);
	refuse(q, &s, -EINVAL, "temporary 16");
	s = step1(UDMA_FUNC_PQ_GEN, (struct udma_buf){ 0 }, two, 2);
	refuse(q, &s, -EINVAL, "needs params");
	struct udma_params p = { .size = sizeof(p), .k = 40 };
	s.params = &p;
	refuse(q, &s, -EINVAL, "k 40");
	s = step1(UDMA_FUNC_COPY, lin(b, 256), &src, 1);
	s.engine = "no-such-engine";
	refuse(q, &s, -ENODEV, "no engine");

	/* a good step, then temporaries misused */
	s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	struct udma_buf t0short = UDMA_SEQ_TMP(0, 100);
	s = step1(UDMA_FUNC_COPY, lin(b, 100), &t0short, 1);
	refuse(q, &s, -EINVAL, "temporary 0 used with 256 and 100 bytes");
	s = step1(UDMA_FUNC_XOR2, t0, tt, 2);
	refuse(q, &s, -EINVAL, "temporary 0 is used twice");
	s = step1(UDMA_FUNC_COPY, t1, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_nsteps(q), 2);

	assert_int_equal(udma_seq_after(q, q), -EINVAL);
	assert_int_equal(udma_seq_after(q, NULL), -EINVAL);
	assert_int_equal(udma_seq_destroy(NULL), -EINVAL);
	struct udma_seq_result r = { .size = sizeof(r) };
	assert_int_equal(udma_seq_step_result(q, 2, &r), -EINVAL);
	r.size = 4;
	assert_int_equal(udma_seq_step_result(q, 0, &r), -EINVAL);
	assert_null(udma_seq_create(&(struct udma_seq_opts){ .size = 4 }));
	assert_int_equal(errno, EINVAL);
	assert_null(udma_seq_create(&(struct udma_seq_opts){ .size = sizeof(struct udma_seq_opts), .engine = "nope" }));
	assert_int_equal(errno, ENODEV);
	assert_int_equal(udma_seq_destroy(q), 0);

	/* "A temporary of the sequence as a buffer of a step (only there: a
	 * request refuses it as a bad buffer type)." */
	struct udma_session *ss = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_req *req = udma_req_alloc(ss);
	req->flags = UDMA_REQ_WAIT;
	req->out = lin(b, 256);
	req->in[0] = t0;
	log_capture_start();
	assert_int_equal(udma_submit(req), -EINVAL);
	log_capture_stop();
	assert_logged("bad buffer type 4");
	assert_int_equal(udma_req_free(req), 0);
	assert_int_equal(udma_session_destroy(ss), 0);
}

/* "What a step's session refuses when the step starts ... completes the
 * sequence with that error and step." pq-gen with outputs that overlap is
 * only caught by the session. */
static void test_refused_at_run(void **state)
{
	(void)state;
	uint8_t a[4][512], o[512];
	struct udma_buf in[2] = { lin(a[0], 512), lin(a[1], 512) }, outs[2] = { lin(o, 512), lin(o, 512) };
	struct udma_params p = { .size = sizeof(p), .k = 2 };
	struct udma_step s = { .size = sizeof(s), .func = UDMA_FUNC_PQ_GEN, .in = in, .nin = 2, .outs = outs, .nouts = 2,
			       .params = &p };
	struct udma_seq *q = udma_seq_create(NULL);
	struct done d = { 0 };

	struct udma_buf c = lin(a[2], 512);
	struct udma_step cp = step1(UDMA_FUNC_COPY, lin(a[3], 512), &c, 1);
	assert_int_equal(udma_seq_append(q, &cp), 0);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, -EINVAL);
	assert_int_equal(udma_seq_failed_step(q), 1);
	assert_int_equal(udma_seq_steps_done(q), 1);
	assert_int_equal(result_of(q, 1).ran, 0);
	assert_int_equal(udma_seq_destroy(q), 0);
}

/* ---- copy elision -------------------------------------------------------------------- */

/* "a copy into a temporary may be skipped, its readers reading the copy's
 * source instead, only when no later step writes the source or the
 * temporary and every later output is memory whose overlap udma can judge.
 * An elided step reports the engine "elided"." spdk#3382: a copy dropped
 * before a CRC of its destination. */
static uint8_t ea[LEN], eb[LEN], orig[LEN];

static void test_elision_3382(void **state)
{
	(void)state;
	uint8_t *a = ea, *b = eb;
	struct udma_buf src = lin(a, LEN), dst = lin(b, LEN), t0 = UDMA_SEQ_TMP(0, LEN);
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_step s;

	/* 1. copy A -> B (the client's), crc32c(B), then A overwritten: the
	 * copy runs, B holds A's old bytes, the CRC is B's */
	rnd(a, LEN);
	memcpy(orig, a, LEN);
	memset(b, 0, LEN);
	s = step1(UDMA_FUNC_COPY, dst, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &dst, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_FILL8, src, NULL, 0);
	s.imm[0] = 0x5a;
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	assert_string_not_equal(result_of(q, 0).engine, "elided");
	assert_memory_equal(b, orig, LEN);
	assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, orig, LEN));
	assert_int_equal(a[LEN - 1], 0x5a);

	/* 2. copy A -> T0, A overwritten, crc32c(T0): reading A for T0 would
	 * give the CRC of the new bytes; the copy runs */
	rnd(a, LEN);
	memcpy(orig, a, LEN);
	assert_int_equal(udma_seq_reset(q), 0);
	s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_FILL8, src, NULL, 0);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_string_not_equal(result_of(q, 0).engine, "elided");
	assert_int_equal(imm_crc(result_of(q, 2).imm), ref_crc(0, orig, LEN));

	/* 3. the same, A overwritten through an iovec that covers only its last
	 * byte: overlap judged piece by piece */
	rnd(a, LEN);
	memcpy(orig, a, LEN);
	struct iovec tail = { a + LEN - 1, 1 };
	struct udma_buf tailb = { .type = UDMA_BUF_IOV, .iov = { &tail, 1 } }, t1 = UDMA_SEQ_TMP(1, 1);
	assert_int_equal(udma_seq_reset(q), 0);
	s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_FILL8, t1, NULL, 0);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COPY, tailb, &t1, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_string_not_equal(result_of(q, 0).engine, "elided");
	assert_int_equal(imm_crc(result_of(q, 3).imm), ref_crc(0, orig, LEN));
	assert_int_equal(udma_seq_destroy(q), 0);
}

/* "a copy into a temporary may be skipped ... An elided step reports the
 * engine "elided"." — and when the rule's third condition is not met (a
 * later output in a shm domain), it is not. */
static void test_elision_when_safe(void **state)
{
	(void)state;
	uint8_t *a = ea, *b = eb;
	struct udma_buf src = lin(a, LEN), dst = lin(b, LEN), t0 = UDMA_SEQ_TMP(0, LEN);
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_step s;

	/* 4. nothing writes A or T0 afterwards: the copy is elided, the CRC
	 * still A's, and nothing else written */
	rnd(a, LEN);
	memset(b, 0, LEN);
	s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COPY, dst, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_steps_done(q), 3);
	assert_string_equal(result_of(q, 0).engine, "elided");
	assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, a, LEN));
	assert_memory_equal(b, a, LEN);

	/* 5. a later output in a shm domain: its overlap with A cannot be
	 * judged from addresses, so the copy runs */
	struct udma_domain *shm = udma_shm_create("seq-elide", LEN, 0);
	assert_non_null(shm);
	struct iovec off = { (void *)0, LEN };
	struct udma_buf sb = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = shm, .iov = &off, .cnt = 1 } };
	assert_int_equal(udma_seq_reset(q), 0);
	s = step1(UDMA_FUNC_COPY, t0, &src, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_ZERO, sb, NULL, 0);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	assert_string_not_equal(result_of(q, 0).engine, "elided");
	assert_int_equal(imm_crc(result_of(q, 2).imm), ref_crc(0, a, LEN));
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_domain_destroy(shm), 0);
}

/* ---- abort, engine failure, dependencies ---------------------------------------------- */

static struct udma_engine *hold_engine(const char *name, uint32_t fail_every)
{
	struct udma_error_opts o = { .size = sizeof(o), .name = name, .hold = !fail_every, .fail_every = fail_every,
				     .fail_status = -EIO };
	struct udma_engine *e = udma_error_engine_create(&o);
	assert_non_null(e);
	return e;
}

/* Three copies a[i] -> b[i] of 4 KiB on an engine. */
static struct udma_seq *three_copies(const char *engine, uint8_t (*a)[4096], uint8_t (*b)[4096], struct udma_buf *bufs)
{
	struct udma_seq_opts o = { .size = sizeof(o), .engine = engine };
	struct udma_seq *q = udma_seq_create(&o);
	assert_non_null(q);
	for (int i = 0; i < 3; i++) {
		rnd(a[i], 4096);
		memset(b[i], 0, 4096);
		bufs[i] = lin(a[i], 4096);
		struct udma_step s = step1(UDMA_FUNC_COPY, lin(b[i], 4096), &bufs[i], 1);
		assert_int_equal(udma_seq_append(q, &s), 0);
	}
	return q;
}

/* "Abort a submitted sequence from any thread: no step that has not
 * started will start; a step in flight finishes. The completion follows
 * with -ECANCELED ..., naming the first step that did not run. 0, -EINVAL
 * (NULL or not submitted), -EALREADY (completed)." "-EBUSY while the
 * sequence is submitted" (append, reset, destroy, submit). */
static void test_abort(void **state)
{
	(void)state;
	static uint8_t a[3][4096], b[3][4096];
	struct udma_buf bufs[3];
	struct udma_engine *e = hold_engine("seq-hold", 0);
	struct udma_seq *q = three_copies("seq-hold", a, b, bufs);
	struct done d = { 0 };

	assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
	assert_int_equal(udma_seq_submit(q, count_cb, &d), -EBUSY);
	struct udma_step s = step1(UDMA_FUNC_COPY, lin(b[0], 4096), &bufs[0], 1);
	assert_int_equal(udma_seq_append(q, &s), -EBUSY);
	assert_int_equal(udma_seq_reset(q), -EBUSY);
	assert_int_equal(udma_seq_destroy(q), -EBUSY);
	struct udma_seq *other = udma_seq_create(NULL);
	assert_int_equal(udma_seq_after(q, other), -EBUSY);
	assert_int_equal(udma_seq_destroy(other), 0);
	struct udma_seq_result r = { .size = sizeof(r) };
	assert_int_equal(udma_seq_step_result(q, 0, &r), -EBUSY);
	assert_int_equal(udma_seq_done(q), 0);
	assert_int_equal(udma_seq_abort(q), 0);
	assert_int_equal(d.calls, 0); /* step 0 is still held */
	assert_int_equal(udma_error_engine_release(e, 0), 1);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, -ECANCELED);
	assert_int_equal(udma_seq_failed_step(q), 1);
	assert_int_equal(udma_seq_steps_done(q), 1);
	assert_int_equal(result_of(q, 0).ran, 1);
	assert_int_equal(result_of(q, 1).ran, 0);
	assert_int_equal(result_of(q, 2).status, -ECANCELED);
	assert_memory_equal(b[0], a[0], 4096);
	for (int i = 1; i < 3; i++)
		for (int k = 0; k < 4096; k++)
			assert_int_equal(b[i][k], 0); /* never ran */
	assert_int_equal(udma_seq_abort(q), -EALREADY);
	assert_int_equal(udma_seq_abort(NULL), -EINVAL);
	assert_int_equal(udma_error_engine_release(e, 0), 0); /* nothing else was handed over */
	assert_int_equal(d.calls, 1);
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* "Abort a submitted sequence from any thread": one thread runs a
 * sequence of copies again and again on a slow engine while another aborts
 * it at random moments. Each run completes once, with 0 (every output
 * written) or -ECANCELED (the steps that ran wrote theirs, no other did). */
struct aborter {
	struct udma_seq *q;
	int stop, aborts;
};

static void *abort_loop(void *p)
{
	struct aborter *a = p;
	uint64_t seed = 99;
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		usleep((useconds_t)(xorshift64(&seed) % 300));
		a->aborts += udma_seq_abort(a->q) == 0;
	}
	return NULL;
}

static void test_abort_race(void **state)
{
	(void)state;
	static uint8_t a[3][4096], b[3][4096];
	struct udma_buf bufs[3];
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "seq-slow", .delay_us = 50 };
	struct udma_engine *e = udma_error_engine_create(&eo);
	struct udma_seq *q = three_copies("seq-slow", a, b, bufs);
	struct aborter ab = { .q = q };
	pthread_t t;
	int done_all = 0, cancelled = 0;

	assert_non_null(e);
	assert_int_equal(pthread_create(&t, NULL, abort_loop, &ab), 0);
	for (int round = 0; round < 300; round++) {
		struct done d = { 0 };
		memset(b, 0, sizeof(b));
		assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(__atomic_load_n(&d.calls, __ATOMIC_SEQ_CST), 1);
		unsigned ran = udma_seq_steps_done(q);
		if (d.status == 0) {
			done_all++;
			assert_int_equal(ran, 3);
		} else {
			cancelled++;
			assert_int_equal(d.status, -ECANCELED);
			assert_int_equal(udma_seq_failed_step(q), (int)ran);
		}
		for (unsigned i = 0; i < 3; i++) {
			if (i < ran)
				assert_memory_equal(b[i], a[i], 4096);
			else
				assert_int_equal(b[i][0] | b[i][4095], 0);
		}
	}
	__atomic_store_n(&ab.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_int_equal(done_all + cancelled, 300);
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* "a step's engine failing mid-sequence completes the sequence with that
 * error (the step index), nothing leaked, each completion delivered once"
 * (issue 19); steps naming their engines run on different ones. */
static void test_engine_failure(void **state)
{
	(void)state;
	static uint8_t a[3][4096], b[3][4096];
	struct udma_buf bufs[3];
	struct udma_engine *e = hold_engine("seq-fail2", 2); /* its second work fails */
	struct udma_seq *q = three_copies("seq-fail2", a, b, bufs);
	struct done d = { 0 };

	assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, -EIO);
	assert_int_equal(udma_seq_failed_step(q), 1);
	assert_int_equal(udma_seq_steps_done(q), 2);
	assert_int_equal(result_of(q, 1).status, -EIO);
	assert_int_equal(result_of(q, 2).ran, 0);
	assert_memory_equal(b[0], a[0], 4096);
	assert_int_equal(udma_seq_destroy(q), 0);

	/* steps on different engines: the cpu, then the failing one */
	q = udma_seq_create(NULL);
	struct udma_step s = step1(UDMA_FUNC_COPY, lin(b[0], 4096), &bufs[0], 1);
	s.engine = "cpu";
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COPY, lin(b[1], 4096), &bufs[1], 1);
	s.engine = "seq-fail2";
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_append(q, &s), 0);
	for (int round = 0; round < 4; round++) { /* the engine fails every other work: step 2 */
		d = (struct done){ 0 };
		assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(d.calls, 1);
		assert_string_equal(result_of(q, 0).engine, "cpu");
		assert_string_equal(result_of(q, 1).engine, "seq-fail2");
		assert_int_equal(result_of(q, 1).status, 0);
		assert_int_equal(d.status, -EIO);
		assert_int_equal(udma_seq_failed_step(q), 2);
		assert_int_equal(udma_seq_steps_done(q), 3);
	}
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* "Run after other: the sequence starts only once other's ... submission
 * completed with status 0; if it failed or was aborted, this one completes
 * with -ECANCELED and runs no step." */
static void test_after(void **state)
{
	(void)state;
	static uint8_t a[3][4096], b[3][4096], c[4096];
	struct udma_buf bufs[3];
	struct udma_engine *e = hold_engine("seq-hold2", 0);
	struct udma_seq *first = three_copies("seq-hold2", a, b, bufs);
	struct udma_seq *then = udma_seq_create(NULL);
	struct done d1 = { 0 }, d2 = { 0 };

	/* then copies first's last output: it must see it written */
	struct udma_buf from = lin(b[2], 4096);
	struct udma_step s = step1(UDMA_FUNC_COPY, lin(c, 4096), &from, 1);
	assert_int_equal(udma_seq_append(then, &s), 0);
	assert_int_equal(udma_seq_after(then, first), 0);
	assert_int_equal(udma_seq_submit(then, count_cb, &d2), 0); /* first not even submitted */
	assert_int_equal(udma_seq_submit(first, count_cb, &d1), 0);
	assert_int_equal(udma_seq_destroy(first), -EBUSY);
	assert_int_equal(d2.calls, 0); /* first's step 0 is held */
	assert_int_equal(udma_seq_done(then), 0);
	while (!udma_seq_done(first)) /* a release runs what the callbacks hand over meanwhile too */
		if (!udma_error_engine_release(e, 0))
			sched_yield();
	assert_int_equal(udma_seq_wait(first), 0);
	assert_int_equal(udma_seq_wait(then), 0);
	assert_int_equal(d1.status, 0);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.status, 0);
	assert_memory_equal(c, a[2], 4096);

	/* first complete already: then runs at once */
	memset(c, 0, sizeof(c));
	assert_int_equal(udma_seq_submit(then, count_cb, &d2), 0);
	assert_int_equal(udma_seq_wait(then), 0);
	assert_int_equal(d2.status, 0);
	assert_memory_equal(c, a[2], 4096);

	/* first aborted: then is cancelled, runs nothing */
	memset(c, 0, sizeof(c));
	assert_int_equal(udma_seq_submit(first, count_cb, &d1), 0);
	assert_int_equal(udma_seq_submit(then, count_cb, &d2), 0);
	assert_int_equal(udma_seq_abort(first), 0);
	while (udma_error_engine_release(e, 0) == 0)
		sched_yield();
	assert_int_equal(udma_seq_wait(then), 0);
	assert_int_equal(d1.status, -ECANCELED);
	assert_int_equal(d2.status, -ECANCELED);
	assert_int_equal(udma_seq_steps_done(then), 0);
	assert_int_equal(udma_seq_failed_step(then), 0);
	assert_int_equal(c[0] | c[4095], 0);

	/* then aborted while it waits: completes at once, first unaffected */
	d2 = (struct done){ 0 };
	assert_int_equal(udma_seq_submit(first, count_cb, &d1), 0);
	assert_int_equal(udma_seq_submit(then, count_cb, &d2), 0);
	assert_int_equal(udma_seq_abort(then), 0);
	assert_int_equal(udma_seq_wait(then), 0);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.status, -ECANCELED);
	assert_int_equal(udma_seq_destroy(first), -EBUSY);
	while (!udma_seq_done(first))
		if (!udma_error_engine_release(e, 0))
			sched_yield();
	assert_int_equal(udma_seq_wait(first), 0);
	assert_int_equal(d1.status, 0);
	assert_int_equal(udma_seq_destroy(then), 0);

	/* a POLL-mode sequence after a CALLBACK one: released, it runs in its own poll */
	struct udma_seq_opts po = { .size = sizeof(po), .mode = UDMA_COMPL_POLL };
	then = udma_seq_create(&po);
	assert_int_equal(udma_seq_append(then, &s), 0);
	assert_int_equal(udma_seq_after(then, first), 0);
	memset(c, 0, sizeof(c));
	d2 = (struct done){ 0 };
	assert_int_equal(udma_seq_submit(first, count_cb, &d1), 0);
	assert_int_equal(udma_seq_submit(then, count_cb, &d2), 0);
	while (!udma_seq_done(first))
		if (!udma_error_engine_release(e, 0))
			sched_yield();
	assert_int_equal(d2.calls, 0); /* not before its poll */
	while (udma_seq_poll(then) == 0) /* the callback comes in the poll that returns 1 */
		sched_yield();
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.status, 0);
	assert_memory_equal(c, a[2], 4096);
	assert_int_equal(udma_seq_destroy(then), 0);
	assert_int_equal(udma_seq_destroy(first), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* Waiting, in a sequence's callback, for one it released: that one runs
 * there (it would otherwise wait for this callback to return: a hang). */
static struct udma_seq *waited_for;
static void wait_in_cb(struct udma_seq *q, int status, void *cookie)
{
	struct done *d = cookie;
	(void)q;
	d->status = status ? status : udma_seq_wait(waited_for) ? -1 : udma_seq_status(waited_for);
	d->calls++;
}

static void test_wait_released_in_callback(void **state)
{
	(void)state;
	uint8_t a[64] = { 7 }, b[64] = { 0 }, c[64] = { 0 };
	struct udma_buf ab = lin(a, 64), bb = lin(b, 64);
	struct udma_seq_opts o = { .size = sizeof(o), .engine = "cpu" };
	struct udma_seq *first = udma_seq_create(&o), *then = udma_seq_create(&o);
	struct udma_step s = step1(UDMA_FUNC_COPY, lin(b, 64), &ab, 1);
	struct done d = { 0 };

	assert_int_equal(udma_seq_append(first, &s), 0);
	s = step1(UDMA_FUNC_COPY, lin(c, 64), &bb, 1);
	assert_int_equal(udma_seq_append(then, &s), 0);
	assert_int_equal(udma_seq_after(then, first), 0);
	waited_for = then;
	assert_int_equal(udma_seq_submit(then, NULL, NULL), 0);
	assert_int_equal(udma_seq_submit(first, wait_in_cb, &d), 0);
	assert_int_equal(udma_seq_wait(first), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(c[0], 7);
	assert_int_equal(udma_seq_destroy(then), 0);
	assert_int_equal(udma_seq_destroy(first), 0);
}

/* A chain of sequences, each after the one before, released from one
 * completion to the next on one thread: they run one after another, not
 * nested inside each other's completion (which would take stack in
 * proportion to the chain: this thread has 256 KiB). */
enum { CHAIN = 5000 };
static void *chain_run(void *arg)
{
	struct udma_seq **q = arg;
	static uint8_t cell[CHAIN + 1][64];
	static struct udma_buf from[CHAIN];
	memset(cell, 0, sizeof(cell));
	cell[0][0] = 42;
	for (int i = 0; i < CHAIN; i++) { /* each copies the previous one's output on */
		q[i] = udma_seq_create(&(struct udma_seq_opts){ .size = sizeof(struct udma_seq_opts), .engine = "cpu" });
		from[i] = lin(cell[i], 64);
		struct udma_step s = step1(UDMA_FUNC_COPY, lin(cell[i + 1], 64), &from[i], 1);
		if (!q[i] || udma_seq_append(q[i], &s) || (i && udma_seq_after(q[i], q[i - 1])))
			return (void *)1;
	}
	for (int i = CHAIN - 1; i >= 0; i--) /* the last first: each waits */
		if (udma_seq_submit(q[i], NULL, NULL))
			return (void *)2;
	for (int i = CHAIN - 1; i >= 0; i--)
		if (udma_seq_wait(q[i]) || udma_seq_status(q[i]) || udma_seq_destroy(q[i]))
			return (void *)3;
	return cell[CHAIN][0] == 42 ? NULL : (void *)4;
}

static void test_after_chain(void **state)
{
	(void)state;
	static struct udma_seq *q[CHAIN];
	pthread_attr_t a;
	pthread_t t;
	void *rc;
	assert_int_equal(pthread_attr_init(&a), 0);
#if defined(NO_MLOCK) /* the sanitizers' frames are larger */
	assert_int_equal(pthread_attr_setstacksize(&a, 1u << 20), 0);
#else
	assert_int_equal(pthread_attr_setstacksize(&a, 256u << 10), 0);
#endif
	assert_int_equal(pthread_create(&t, &a, chain_run, q), 0);
	assert_int_equal(pthread_join(t, &rc), 0);
	assert_null(rc);
}

/* "A completed sequence may be submitted again" — from its own callback
 * too; udma_seq_destroy: "-EBUSY ... from inside its own callback". */
static int resubmits;
static void again_cb(struct udma_seq *q, int status, void *cookie)
{
	assert_int_equal(status, 0);
	assert_int_equal(udma_seq_destroy(q), -EBUSY);
	assert_int_equal(udma_seq_wait(q), -EINVAL);
	if (++resubmits < 5)
		assert_int_equal(udma_seq_submit(q, again_cb, cookie), 0);
}

static void test_resubmit_in_callback(void **state)
{
	(void)state;
	uint8_t a[1000], b[1000], x[1000];
	for (int m = 0; m < 2; m++) {
		struct udma_seq_opts o = { .size = sizeof(o), .mode = m ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK };
		struct udma_seq *q = udma_seq_create(&o);
		rnd(a, sizeof(a));
		rnd(b, sizeof(b));
		build_chain(q, a, b, x, sizeof(a));
		resubmits = 0;
		assert_int_equal(udma_seq_submit(q, again_cb, NULL), 0);
		while (__atomic_load_n(&resubmits, __ATOMIC_SEQ_CST) < 5)
			assert_true(udma_seq_poll(q) >= 0);
		assert_int_equal(udma_seq_wait(q), 0);
		check_chain(q, a, b, x, sizeof(a));
		assert_int_equal(udma_seq_destroy(q), 0);
	}
}

/* ---- operands in domains -------------------------------------------------------------- */

/* An SPDK memory domain whose addresses are offsets into dev[]: pull and
 * push complete on a thread of their own, later (as an RDMA or accel
 * domain would). */
static uint8_t dev[2 * LEN];
struct later {
	spdk_memory_domain_data_cpl_cb cb;
	void *arg;
	struct iovec *dst, *src;
	uint32_t dcnt, scnt;
	int push;
};
static int async_ops;

static void *later_run(void *p)
{
	struct later *l = p;
	usleep(1000);
	for (uint32_t i = 0; i < (l->push ? l->dcnt : l->scnt); i++) {
		struct iovec *far = l->push ? &l->dst[i] : &l->src[i];
		uint8_t *mem = dev + (uintptr_t)far->iov_base;
		size_t n = far->iov_len;
		/* one local piece in these tests */
		if (l->push)
			memcpy(mem, l->src[0].iov_base, n);
		else
			memcpy(l->dst[0].iov_base, mem, n);
	}
	l->cb(l->arg, 0);
	free(l);
	return NULL;
}

static int spdk_move(struct iovec *dst, uint32_t dcnt, struct iovec *src, uint32_t scnt, int push,
		     spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	struct later *l = malloc(sizeof(*l));
	pthread_t t;
	*l = (struct later){ cb, arg, dst, src, dcnt, scnt, push };
	__atomic_add_fetch(&async_ops, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(pthread_create(&t, NULL, later_run, l), 0);
	pthread_detach(t);
	return 0;
}

static int spdk_pull(struct spdk_memory_domain *d, void *ctx, struct iovec *si, uint32_t sc, struct iovec *di,
		     uint32_t dc, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	(void)d, (void)ctx;
	return spdk_move(di, dc, si, sc, 0, cb, arg);
}

static int spdk_push(struct spdk_memory_domain *d, void *ctx, struct iovec *di, uint32_t dc, struct iovec *si,
		     uint32_t sc, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	(void)d, (void)ctx;
	return spdk_move(di, dc, si, sc, 1, cb, arg);
}

/* "Buffers: ... a domain buffer in any domain (... custom — SPDK's memory
 * domains — ...). Operands an engine cannot take in place are bounced:
 * pulled into a buffer of the sequence before the step, pushed out after
 * it." Issue 19: "the SPDK memory-domain compat can take part as operands". */
static void test_spdk_domain(void **state)
{
	(void)state;
	struct spdk_memory_domain *sd;
	assert_int_equal(spdk_memory_domain_create(&sd, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "seq-spdk"), 0);
	spdk_memory_domain_set_pull(sd, spdk_pull);
	spdk_memory_domain_set_push(sd, spdk_push);
	struct udma_domain *ud = (struct udma_domain *)sd;
	struct iovec lo = { (void *)0, LEN }, hi = { (void *)(uintptr_t)LEN, LEN };
	struct udma_buf far_in = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = ud, .iov = &lo, .cnt = 1 } };
	struct udma_buf far_out = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = ud, .iov = &hi, .cnt = 1 } };
	struct udma_buf t0 = UDMA_SEQ_TMP(0, LEN);

	for (int m = 0; m < 2; m++) {
		struct udma_seq_opts o = { .size = sizeof(o), .mode = m ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK };
		struct udma_seq *q = udma_seq_create(&o);
		rnd(dev, LEN);
		memset(dev + LEN, 0, LEN);
		/* pull far -> T0 (a copy from the domain), CRC it, push T0 -> far */
		struct udma_step s = step1(UDMA_FUNC_COPY, t0, &far_in, 1);
		assert_int_equal(udma_seq_append(q, &s), 0);
		s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1);
		assert_int_equal(udma_seq_append(q, &s), 0);
		s = step1(UDMA_FUNC_COPY, far_out, &t0, 1);
		assert_int_equal(udma_seq_append(q, &s), 0);
		async_ops = 0;
		assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(udma_seq_status(q), 0);
		assert_int_equal(async_ops, 2);
		/* a copy with one side in the domain is its pull or push, into or out of T0 directly */
		assert_string_equal(result_of(q, 0).engine, "domain");
		assert_string_equal(result_of(q, 2).engine, "domain");
		assert_int_equal(udma_seq_steps_done(q), 3);
		assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, dev, LEN));
		assert_memory_equal(dev + LEN, dev, LEN);
		assert_int_equal(udma_seq_destroy(q), 0);
	}
	spdk_memory_domain_destroy(sd);
}

/* "Operands an engine cannot take in place are bounced" — a process domain
 * (this process, through process_vm_readv/writev) for a later function
 * (dualcast), whose requests take only local buffers. A pull that fails
 * completes the sequence with its error at that step. */
static void test_process_domain(void **state)
{
	(void)state;
	static uint8_t a[8192], o1[8192], o2[8192];
	struct udma_domain *pd = udma_process_domain_create(getpid(), "seq-self");
	if (!pd)
		skip_because("no process domain of this process: %s", strerror(errno));
	struct iovec ai = { a, sizeof(a) }, oi = { o2, sizeof(o2) }, bad = { (void *)8, 64 };
	struct udma_buf in = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = pd, .iov = &ai, .cnt = 1 } };
	struct udma_buf outs[2] = { lin(o1, sizeof(o1)),
				    { .type = UDMA_BUF_DOMAIN, .dom = { .domain = pd, .iov = &oi, .cnt = 1 } } };
	struct udma_step s = { .size = sizeof(s), .func = UDMA_FUNC_DUALCAST, .in = &in, .nin = 1, .outs = outs, .nouts = 2 };
	struct udma_seq *q = udma_seq_create(NULL);

	rnd(a, sizeof(a));
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	if (udma_seq_status(q) == -EPERM) {
		udma_seq_destroy(q);
		udma_domain_destroy(pd);
		skip_because("process_vm_readv on this process is not permitted here");
	}
	assert_int_equal(udma_seq_status(q), 0);
	assert_memory_equal(o1, a, sizeof(a));
	assert_memory_equal(o2, a, sizeof(a));

	/* an unmapped address: the bounce pull fails, the CRC step did not run */
	struct udma_buf badin = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = pd, .iov = &bad, .cnt = 1 } };
	struct udma_buf o64 = lin(o1, 64);
	assert_int_equal(udma_seq_reset(q), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &badin, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), -EFAULT);
	assert_int_equal(udma_seq_failed_step(q), 0);
	assert_int_equal(udma_seq_steps_done(q), 0);
	assert_int_equal(result_of(q, 0).ran, 0);
	/* a copy from it is the domain's pull itself: it ran, and failed */
	assert_int_equal(udma_seq_reset(q), 0);
	s = step1(UDMA_FUNC_COPY, o64, &badin, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), -EFAULT);
	assert_int_equal(udma_seq_failed_step(q), 0);
	assert_int_equal(udma_seq_steps_done(q), 1);
	assert_string_equal(result_of(q, 0).engine, "domain");
	assert_int_equal(result_of(q, 0).status, -EFAULT);
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_domain_destroy(pd), 0);
}

/* "Buffers: ... or storage": a file's regions as operands. Written from a
 * temporary (the domain's push) and from unaligned client memory (a copy
 * into the bounce area, then the push: O_DIRECT wants aligned memory), then
 * read by functions that need them in memory (bounced: pulled
 * page-aligned), a CRC and a compare. */
static void test_storage_operands(void **state)
{
	(void)state;
	struct statfs fs;
	char path[64] = "seq-storage-XXXXXX";
	if (!statfs(".", &fs) && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC))
		skip_because("the current directory is on tmpfs: storage domains need a disk file system");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * LEN), 0);
	close(fd);
	struct udma_domain *file = udma_storage_domain_create(path, NULL);
	if (!file) {
		unlink(path);
		skip_because("no storage domain on %s: %s", path, strerror(errno));
	}
	static uint8_t abuf[LEN + 8192];
	/* 8 bytes off a page: O_DIRECT cannot take it, so its copy is bounced */
	uint8_t *a = abuf + 4096 - (uintptr_t)abuf % 4096 + 8;
	struct iovec at0 = { (void *)0, LEN }, at1 = { (void *)(uintptr_t)LEN, LEN };
	struct udma_buf src = lin(a, LEN), t0 = UDMA_SEQ_TMP(0, LEN);
	struct udma_buf f0 = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = file, .iov = &at0, .cnt = 1 } };
	struct udma_buf f1 = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = file, .iov = &at1, .cnt = 1 } };
	struct udma_buf cmp[2] = { f0, src };
	struct udma_seq *q = udma_seq_create(NULL);
	struct udma_step s;

	rnd(a, LEN);
	s = step1(UDMA_FUNC_FILL8, t0, NULL, 0); /* T0 = 0x33.. */
	s.imm[0] = 0x33;
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COPY, f1, &t0, 1); /* file[1] = T0 */
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COPY, f0, &src, 1); /* file[0] = a */
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &f0, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_COMPARE, (struct udma_buf){ 0 }, cmp, 2);
	assert_int_equal(udma_seq_append(q, &s), 0);
	s = step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &f1, 1);
	assert_int_equal(udma_seq_append(q, &s), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	assert_string_equal(result_of(q, 1).engine, "domain"); /* from a temporary: page-aligned */
	assert_string_not_equal(result_of(q, 2).engine, "domain");
	assert_int_equal(imm_crc(result_of(q, 3).imm), ref_crc(0, a, LEN));
	assert_true(result_of(q, 4).result == UDMA_CMP_EQUAL);
	static uint8_t fill33[LEN];
	memset(fill33, 0x33, LEN);
	assert_int_equal(imm_crc(result_of(q, 5).imm), ref_crc(0, fill33, LEN));
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_domain_destroy(file), 0);
	unlink(path);
}

/* A later function on shm operands, which its own requests refuse
 * ("domain buffers of the later functions must be local"): the sequence
 * passes their local views. dif-verify, then P+Q of the verified blocks
 * into temporaries, copied out to shm. */
static void test_shm_pq(void **state)
{
	(void)state;
	enum { K = 4, BS = 512, BLK = BS + 8, NB = 8, SZ = BLK * NB };
	struct udma_domain *shm = udma_shm_create("seq-pq", (K + 2) * SZ, 0);
	assert_non_null(shm);
	uint8_t *base = udma_shm_base(shm, NULL);
	struct udma_params dp = { .size = sizeof(dp), .dif_block = BS, .app_tag = 7, .ref_tag = 100 };
	struct udma_params pq = { .size = sizeof(pq), .k = K };
	struct iovec blk[K + 2];
	struct udma_buf in[K], outs[2] = { UDMA_SEQ_TMP(0, SZ), UDMA_SEQ_TMP(1, SZ) };
	struct udma_seq *q = udma_seq_create(NULL);

	for (int i = 0; i < K + 2; i++)
		blk[i] = (struct iovec){ (void *)(uintptr_t)(i * SZ), SZ };
	for (int i = 0; i < K; i++) {
		in[i] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { .domain = shm, .iov = &blk[i], .cnt = 1 } };
		rnd(base + i * SZ, SZ);
		/* PI written with a plain request, then checked by the sequence */
		struct udma_step g = step1(UDMA_FUNC_DIF_GENERATE, in[i], NULL, 0);
		g.params = &dp;
		assert_int_equal(udma_seq_append(q, &g), 0);
	}
	for (int i = 0; i < K; i++) {
		struct udma_step v = step1(UDMA_FUNC_DIF_VERIFY, (struct udma_buf){ 0 }, &in[i], 1);
		v.params = &dp;
		assert_int_equal(udma_seq_append(q, &v), 0);
	}
	struct udma_step s = { .size = sizeof(s), .func = UDMA_FUNC_PQ_GEN, .in = in, .nin = K, .outs = outs, .nouts = 2,
			       .params = &pq };
	assert_int_equal(udma_seq_append(q, &s), 0);
	for (int j = 0; j < 2; j++) {
		struct udma_buf to = { .type = UDMA_BUF_DOMAIN, .dom = { .domain = shm, .iov = &blk[K + j], .cnt = 1 } };
		s = step1(UDMA_FUNC_COPY, to, &outs[j], 1);
		assert_int_equal(udma_seq_append(q, &s), 0);
	}
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	for (int i = 0; i < K; i++)
		assert_true(result_of(q, K + i).result == UDMA_CMP_EQUAL);
	for (size_t b = 0; b < SZ; b++) {
		uint8_t p = 0, qq = 0;
		for (int i = K - 1; i >= 0; i--) {
			p ^= base[i * SZ + b];
			qq = (uint8_t)(ref_gf_mul(qq, 2) ^ base[i * SZ + b]);
		}
		if (base[K * SZ + b] != p || base[(K + 1) * SZ + b] != qq)
			fail_msg("P or Q byte %zu wrong", b);
	}
	/* a corrupted block: dif-verify says where (its result), not an error */
	assert_int_equal(udma_seq_destroy(q), 0);
	q = udma_seq_create(NULL);
	base[SZ + 3] ^= 1;
	struct udma_step v = step1(UDMA_FUNC_DIF_VERIFY, (struct udma_buf){ 0 }, &in[1], 1);
	v.params = &dp;
	assert_int_equal(udma_seq_append(q, &v), 0);
	assert_int_equal(udma_seq_submit(q, NULL, NULL), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(udma_seq_status(q), 0);
	assert_int_equal(UDMA_DIF_BLOCK(result_of(q, 0).result), 0);
	assert_true(UDMA_DIF_TAGS(result_of(q, 0).result) & UDMA_DIF_GUARD);
	assert_int_equal(udma_seq_destroy(q), 0);
	assert_int_equal(udma_domain_destroy(shm), 0);
}

/* ---- threads -------------------------------------------------------------------------------- */

/* "a sequence is driven by one thread at a time, as a session": several
 * threads, each with sequences of its own on the shared engines, data checked. */
struct worker {
	int id, failures;
	enum udma_compl_mode mode;
};

static void *worker_run(void *p)
{
	struct worker *w = p;
	uint64_t seed = 0x1234567ull * (uint64_t)(w->id + 1);
	struct udma_seq_opts o = { .size = sizeof(o), .mode = w->mode };
	for (int round = 0; round < 40; round++) {
		size_t len = 1 + xorshift64(&seed) % 200000;
		uint8_t *a = malloc(len), *b = malloc(len), *x = malloc(len);
		struct udma_seq *q = udma_seq_create(&o);
		struct udma_buf src = lin(a, len), t0 = UDMA_SEQ_TMP(0, len), xin[2] = { t0, lin(b, len) };
		struct udma_step s[3] = { step1(UDMA_FUNC_COPY, t0, &src, 1),
					  step1(UDMA_FUNC_CRC32C, (struct udma_buf){ 0 }, &t0, 1),
					  step1(UDMA_FUNC_XOR2, lin(x, len), xin, 2) };
		random_bytes(a, len, &seed);
		random_bytes(b, len, &seed);
		for (int i = 0; i < 3; i++)
			w->failures += udma_seq_append(q, &s[i]) != 0;
		for (int again = 0; again < 3; again++) {
			w->failures += udma_seq_submit(q, NULL, NULL) != 0;
			w->failures += udma_seq_wait(q) != 0 || udma_seq_status(q) != 0;
			struct udma_seq_result r = { .size = sizeof(r) };
			udma_seq_step_result(q, 1, &r);
			w->failures += imm_crc(r.imm) != ref_crc(0, a, len);
			for (size_t i = 0; i < len; i++)
				w->failures += x[i] != (a[i] ^ b[i]);
		}
		w->failures += udma_seq_destroy(q) != 0;
		free(a);
		free(b);
		free(x);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	enum { N = 4 };
	pthread_t t[N];
	struct worker w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){ .id = i, .mode = i & 1 ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_crc_chained),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_refused_at_run),
		cmocka_unit_test(test_elision_3382),
		cmocka_unit_test(test_elision_when_safe),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_abort_race),
		cmocka_unit_test(test_engine_failure),
		cmocka_unit_test(test_after),
		cmocka_unit_test(test_after_chain),
		cmocka_unit_test(test_wait_released_in_callback),
		cmocka_unit_test(test_resubmit_in_callback),
		cmocka_unit_test(test_spdk_domain),
		cmocka_unit_test(test_process_domain),
		cmocka_unit_test(test_storage_operands),
		cmocka_unit_test(test_shm_pq),
		cmocka_unit_test(test_threads),
	};
	return tests_run(tests, NULL, NULL);
}
