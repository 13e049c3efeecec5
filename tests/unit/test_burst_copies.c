/* Bursts of plain copies (one linear output and input: the engines'
 * run_copies() path, docs/movers.md "Bursts"): every small length and
 * alignment, refusals found by the plain copies' own checks, mixed with
 * requests that take the general path, the same request twice, callback
 * mode (and a callback that changes a request checked already), SHARED
 * sessions, the session fd, learning, and an engine's
 * run_copies() with failures. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include "funcs_util.h"

#define N 40

static struct udma_session *poll_session(const char *engine, uint32_t depth, uint32_t flags)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = depth, .engine = engine,
				       .flags = flags };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	assert_non_null(s);
	return s;
}

/* Lengths 0..N-1 at every offset mod 8, in one burst: the bytes around each
 * destination stay as they were (the cpu engine copies up to 16 bytes
 * without memcpy, with overlapping loads and stores). */
static void test_copies_lengths(void **state)
{
	struct udma_session *s = poll_session("cpu", N, 0);
	struct udma_req *r[N];
	static char src[N][N + 16], dst[N][N + 16], want[N][N + 16];

	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < N; i++) {
			r[i] = round ? r[i] : udma_req_alloc(s);
			for (int k = 0; k < N + 16; k++) {
				src[i][k] = (char)fu_rnd();
				dst[i][k] = want[i][k] = (char)fu_rnd();
			}
			int off = (i + round) % 8;
			memcpy(want[i] + off, src[i] + 8 - off, (size_t)i);
			r[i]->in[0] = fu_lin(src[i] + 8 - off, (size_t)i);
			r[i]->out = fu_lin(dst[i] + off, (size_t)i);
		}
		r[0]->in[0] = fu_lin(NULL, 0); /* nothing to copy: NULL is fine */
		r[0]->out = fu_lin(NULL, 0);
		assert_int_equal(udma_submit_burst(r, N), N);
		fu_reap_in_order(s, r, N, NULL);
		for (int i = 0; i < N; i++)
			if (memcmp(dst[i], want[i], N + 16))
				fail_msg("copy of %d bytes at offset %d: wrong bytes", i, (i + round) % 8);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* Plain copies, scatter-gather copies and copies too big for the cpu
 * engine's inline path mixed in one burst; an overlapping one in the middle
 * stops it: those before complete in order, it gets -EINVAL, those after are
 * untouched. Then wrap-around, NULL, flags and a foreign request. */
static void test_copies_mixed_and_refused(void **state)
{
	struct udma_session *s = poll_session("cpu", 16, 0);
	struct udma_session *other = poll_session("cpu", 4, 0);
	struct udma_req *r[10];
	static char a[10][256], b[10][256], big[2][1 << 16];
	struct iovec iv[2][2];

	for (int i = 0; i < 10; i++) {
		r[i] = udma_req_alloc(s);
		memset(a[i], 'A' + i, sizeof(a[i]));
		memset(b[i], 0, sizeof(b[i]));
		r[i]->in[0] = fu_lin(a[i], 8 + (size_t)i);
		r[i]->out = fu_lin(b[i], 8 + (size_t)i);
	}
	for (int j = 0; j < 2; j++) { /* r[2] and r[5]: an iovec output */
		iv[j][0] = (struct iovec){ b[2 + 3 * j], 4 };
		iv[j][1] = (struct iovec){ b[2 + 3 * j] + 100, 6 + 3 * (size_t)j };
		r[2 + 3 * j]->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { iv[j], 2 } };
	}
	memset(big[0], 7, sizeof(big[0]));
	r[3]->in[0] = fu_lin(big[0], sizeof(big[0]));
	r[3]->out = fu_lin(big[1], sizeof(big[1]));
	r[7]->in[0] = fu_lin(a[7], 64);
	r[7]->out = fu_lin(a[7] + 32, 64); /* overlaps its input */
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 10), 7);
	log_capture_stop();
	assert_logged("overlaps");
	assert_int_equal(r[7]->status, -EINVAL);
	assert_int_equal(udma_req_is_done(r[8]), 0);
	assert_int_equal(b[8][0], 0);
	fu_reap_in_order(s, r, 7, NULL);
	for (int i = 0; i < 7; i++) {
		if (i == 3)
			assert_int_equal(memcmp(big[0], big[1], sizeof(big[0])), 0);
		else if (i == 2 || i == 5)
			assert_true(b[i][0] == 'A' + i && b[i][100] == 'A' + i && b[i][4] == 0);
		else
			assert_true(b[i][7 + i] == 'A' + i && b[i][8 + i] == 0);
	}

	/* refused by the plain copies' checks, found again by the general
	 * path's: NULL, wrap-around, unknown flags, another session's */
	char *top = (char *)(UINTPTR_MAX - 3);
	struct { struct udma_buf in, out; uint32_t flags; const char *why; } bad[] = {
		{ fu_lin(NULL, 8), fu_lin(b[8], 8), 0, "NULL" },
		{ fu_lin(a[8], 8), fu_lin(top, 8), 0, "wraps" },
		{ fu_lin(a[8], 8), fu_lin(b[8], 8), 0x10, "flags" },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		r[8]->in[0] = bad[k].in;
		r[8]->out = bad[k].out;
		r[8]->flags = bad[k].flags;
		log_capture_start();
		assert_int_equal(udma_submit_burst(&r[7], 2), -EINVAL); /* r[7] still overlaps */
		r[7]->out = fu_lin(b[7], 64);
		assert_int_equal(udma_submit_burst(&r[7], 3), 1);
		log_capture_stop();
		assert_logged(bad[k].why);
		assert_int_equal(r[8]->status, -EINVAL);
		fu_reap_in_order(s, &r[7], 1, NULL);
		r[7]->out = fu_lin(a[7] + 32, 64);
	}
	struct udma_req *theirs = udma_req_alloc(other), *two[2] = { r[9], theirs };
	theirs->in[0] = fu_lin(a[9], 8);
	theirs->out = fu_lin(b[9], 8);
	log_capture_start();
	assert_int_equal(udma_submit_burst(two, 2), 1);
	log_capture_stop();
	assert_logged("session");
	fu_reap_in_order(s, two, 1, NULL);
	assert_int_equal(udma_req_free(theirs), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(other), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* The same request twice in one burst: the second is in flight by then
 * (-EBUSY, the burst stops there), the first completes once. */
static void test_copies_twice(void **state)
{
	struct udma_session *s = poll_session("cpu", 8, 0);
	struct udma_req *a = udma_req_alloc(s), *b = udma_req_alloc(s), *r[4] = { a, b, a, b };
	char in[2][8] = { "abcdefg", "hijklmn" }, out[2][8];

	a->in[0] = fu_lin(in[0], 8);
	a->out = fu_lin(out[0], 8);
	b->in[0] = fu_lin(in[1], 8);
	b->out = fu_lin(out[1], 8);
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 4), 2);
	log_capture_stop();
	assert_logged("in flight");
	assert_int_equal(udma_session_inflight(s), 2);
	fu_reap_in_order(s, r, 2, NULL);
	assert_int_equal(memcmp(in, out, sizeof(in)), 0);
	assert_int_equal(udma_req_free(a), 0);
	assert_int_equal(udma_req_free(b), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* CALLBACK mode: each callback once, in order, done set when it runs. */
static struct udma_req *seen[N];
static int nseen, cb_bad;

static void seen_cb(struct udma_req *r)
{
	if (!udma_req_is_done(r) || r->status)
		cb_bad++;
	seen[nseen++] = r;
}

static void test_copies_callbacks(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = N, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[N];
	static char in[N][16], out[N][16];

	assert_non_null(s);
	for (int i = 0; i < N; i++) {
		r[i] = udma_req_alloc(s);
		memset(in[i], i + 1, 16);
		r[i]->in[0] = fu_lin(in[i], 16);
		r[i]->out = fu_lin(out[i], 16);
		r[i]->cb = seen_cb;
	}
	assert_int_equal(udma_submit_burst(r, N), N);
	assert_int_equal(nseen, N);
	assert_int_equal(cb_bad, 0);
	assert_int_equal(udma_session_inflight(s), 0);
	for (int i = 0; i < N; i++) {
		assert_ptr_equal(seen[i], r[i]);
		assert_int_equal(memcmp(in[i], out[i], 16), 0);
		assert_int_equal(udma_req_free(r[i]), 0);
	}
	assert_int_equal(udma_session_destroy(s), 0);
}

/* A callback of a request ahead in the burst (on the general path: an
 * iovec output) changes the next one, a plain copy, to overlap: it is
 * judged as it is when claimed, and refused. */
static struct udma_req *victim;
static char vbuf[64];

static void spoil_cb(struct udma_req *r)
{
	victim->out = fu_lin(vbuf + 8, 16); /* overlaps its input, vbuf[0..16) */
}

static void test_copies_changed_by_callback(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = 4, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *x = udma_req_alloc(s), *r[2];
	char in[16] = "abcdefghijklmno", out[16];
	struct iovec iv = { out, 16 };

	assert_non_null(s);
	victim = udma_req_alloc(s);
	x->in[0] = fu_lin(in, 16);
	x->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { &iv, 1 } };
	x->cb = spoil_cb;
	victim->in[0] = fu_lin(vbuf, 16);
	victim->out = fu_lin(vbuf + 32, 16);
	r[0] = x;
	r[1] = victim;
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 2), 1);
	log_capture_stop();
	assert_logged("overlaps");
	assert_int_equal(victim->status, -EINVAL);
	assert_int_equal(memcmp(in, out, 16), 0);
	assert_int_equal(udma_req_free(x), 0);
	assert_int_equal(udma_req_free(victim), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* A SHARED session's burst goes request by request; the fd of a POLL
 * session is readable after a burst of plain copies. */
static void test_copies_shared_and_fd(void **state)
{
	for (int shared = 0; shared < 2; shared++) {
		struct udma_session *s = poll_session("cpu", 8, shared ? UDMA_SESSION_SHARED : 0);
		int fd = udma_session_fd(s);
		struct udma_req *r[8];
		char in[8][8], out[8][8];
		uint64_t v;

		assert_true(fd >= 0);
		for (int i = 0; i < 8; i++) {
			r[i] = udma_req_alloc(s);
			memset(in[i], 'a' + i, 8);
			r[i]->in[0] = fu_lin(in[i], 8);
			r[i]->out = fu_lin(out[i], 8);
		}
		assert_int_equal(udma_submit_burst(r, 8), 8);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 0), 1);
		assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
		assert_true(v >= 1);
		fu_reap_in_order(s, r, 8, NULL);
		assert_int_equal(memcmp(in, out, sizeof(in)), 0);
		for (int i = 0; i < 8; i++)
			assert_int_equal(udma_req_free(r[i]), 0);
		assert_int_equal(udma_session_destroy(s), 0);
	}
}

/* The scheduler still learns from bursts of plain copies: the cpu engine's
 * speed for copies of 4 KiB (8 KiB touched) is learned from them alone. */
struct learned {
	uint64_t speed;
};

static int find_cpu(const struct udma_engine_info *info, void *arg)
{
	if (strcmp(info->name, "cpu"))
		return 0;
	((struct learned *)arg)->speed = info->learned_speed[UDMA_FUNC_COPY][3]; /* < 16 KiB touched */
	return 1;
}

static void test_copies_learn(void **state)
{
	struct udma_session *s = poll_session("cpu", 32, 0);
	struct udma_req *r[32];
	static char in[32][4096], out[32][4096];
	struct learned l = { 0 };

	udma_engine_foreach(find_cpu, &l);
	assert_int_equal(l.speed, 0); /* nothing in this process copied 4 KiB before */
	for (int i = 0; i < 32; i++) {
		r[i] = udma_req_alloc(s);
		r[i]->in[0] = fu_lin(in[i], 4096);
		r[i]->out = fu_lin(out[i], 4096);
	}
	for (int k = 0; k < 16; k++) {
		assert_int_equal(udma_submit_burst(r, 32), 32);
		fu_reap_in_order(s, r, 32, NULL);
	}
	udma_engine_foreach(find_cpu, &l);
	assert_true(l.speed > 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* An engine's run_copies(): its failures reach each request's status;
 * run_copies() without run() is refused at registration. Permanent (it
 * stays registered), so it is the last test. */
static int copies_calls;

static int plain_run(struct udma_engine *e, struct udma_work *w)
{
	return udma_cpu_execute(w);
}

static int plain_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], plain_run(e, w[i]));
	return (int)n;
}

/* Copies of 13 bytes fail with -EIO; the rest are done. */
static int picky_copies(struct udma_engine *e, const struct udma_copy *c, unsigned n, int *status)
{
	int failed = 0;

	copies_calls++;
	for (unsigned i = 0; i < n; i++) {
		status[i] = c[i].len == 13 ? -EIO : 0;
		failed |= status[i];
		if (!status[i] && c[i].len)
			memcpy(c[i].dst, c[i].src, c[i].len);
	}
	return failed;
}

static void test_copies_engine_op(void **state)
{
	static const struct udma_engine_ops bad = { .size = sizeof(bad), .submit = plain_submit,
						    .run_copies = picky_copies };
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = plain_submit, .run = plain_run,
						    .run_copies = picky_copies };
	struct udma_engine_desc d = { .size = sizeof(d), .name = "copies-no-run", .speed = 1,
				      .funcs = 1u << UDMA_FUNC_COPY, .flags = UDMA_ENGINE_INLINE, .ops = &bad };
	log_capture_start();
	assert_null(udma_engine_register(&d));
	log_capture_stop();
	assert_int_equal(errno, EINVAL);
	assert_logged("run_copies");
	d.name = "picky";
	d.ops = &ops;
	d.flags = UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT;
	assert_non_null(udma_engine_register(&d));

	struct udma_session *s = poll_session("picky", 8, 0);
	struct udma_req *r[6];
	char in[6][16], out[6][16];
	int want[6];

	for (int i = 0; i < 6; i++) {
		r[i] = udma_req_alloc(s);
		memset(in[i], 'a' + i, 16);
		memset(out[i], 0, 16);
		size_t len = i % 2 ? 13 : 16;
		r[i]->in[0] = fu_lin(in[i], len);
		r[i]->out = fu_lin(out[i], len);
		want[i] = i % 2 ? -EIO : 0;
	}
	copies_calls = 0;
	assert_int_equal(udma_submit_burst(r, 6), 6);
	assert_true(copies_calls >= 1);
	fu_reap_in_order(s, r, 6, want);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(r[i]->engine, "picky");
		assert_int_equal(out[i][0], i % 2 ? 0 : 'a' + i);
		assert_int_equal(udma_req_free(r[i]), 0);
	}
	assert_int_equal(udma_session_destroy(s), 0);
}

/* The overlap check's edges: an output right after or right before its
 * input is fine; one byte into it, either side, is refused. The fine ones
 * go first in each burst: the refused one is judged inside a run. */
static void test_copies_overlap_edges(void **state)
{
	struct udma_session *s = poll_session("cpu", 8, 0);
	struct udma_req *r[3] = { udma_req_alloc(s), udma_req_alloc(s), udma_req_alloc(s) };
	static char buf[3][128];
	size_t lens[] = { 1, 8, 17 };

	for (unsigned k = 0; k < 3; k++) {
		size_t n = lens[k];
		for (int side = -1; side <= 1; side += 2) {
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 128; j++)
					buf[i][j] = (char)(i * 128 + j);
			char *in0 = buf[0] + 48, *in1 = buf[1] + 48, *in2 = buf[2] + 48;
			r[0]->in[0] = fu_lin(in0, n);
			r[0]->out = fu_lin(in0 + side * (ptrdiff_t)n, n); /* adjacent */
			r[1]->in[0] = fu_lin(in1, n);
			r[1]->out = fu_lin(in1 - side * (ptrdiff_t)n, n); /* adjacent, the other side */
			r[2]->in[0] = fu_lin(in2, n);
			r[2]->out = fu_lin(in2 + side * (ptrdiff_t)(n - 1), n); /* one byte in, or the same for n 1 */
			log_capture_start();
			assert_int_equal(udma_submit_burst(r, 3), 2);
			log_capture_stop();
			assert_logged("overlaps");
			assert_int_equal(r[2]->status, -EINVAL);
			fu_reap_in_order(s, r, 2, NULL);
			for (size_t j = 0; j < n; j++) {
				assert_int_equal(in0[side * (ptrdiff_t)n + (ptrdiff_t)j], (char)(48 + j));
				assert_int_equal(in1[-side * (ptrdiff_t)n + (ptrdiff_t)j], (char)(128 + 48 + j));
			}
		}
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* Addresses in or next to the session's requests that are not requests:
 * one inside a request, one a request's size past the last. Refused
 * (-EINVAL, "not a request of the first's session") after the good ones
 * before them, without being read as requests. */
static void test_copies_not_slots(void **state)
{
	enum { D = 4 };
	struct udma_session *s = poll_session("cpu", D, 0);
	struct udma_req *r[D], *lo, *hi;
	char in[8] = "abcdefg", out[D][8];
	uintptr_t stride = UINTPTR_MAX;

	for (int i = 0; i < D; i++) {
		r[i] = udma_req_alloc(s);
		r[i]->in[0] = fu_lin(in, 8);
		r[i]->out = fu_lin(out[i], 8);
	}
	lo = hi = r[0];
	for (int i = 1; i < D; i++) {
		lo = r[i] < lo ? r[i] : lo;
		hi = r[i] > hi ? r[i] : hi;
	}
	for (int i = 0; i < D; i++) /* all D taken: the slots are D in a row */
		for (int j = 0; j < D; j++)
			if (r[j] > r[i] && (uintptr_t)r[j] - (uintptr_t)r[i] < stride)
				stride = (uintptr_t)r[j] - (uintptr_t)r[i];
	assert_int_equal((uintptr_t)hi - (uintptr_t)lo, (D - 1) * stride);
	struct udma_req *fake[] = { (struct udma_req *)((char *)lo + 8), (struct udma_req *)((char *)hi + stride),
				    (struct udma_req *)((char *)lo - stride), (struct udma_req *)((char *)hi + stride / 2) };
	for (unsigned k = 0; k < sizeof(fake) / sizeof(fake[0]); k++) {
		struct udma_req *b[3] = { r[0], fake[k], r[1] };
		log_capture_start();
		assert_int_equal(udma_submit_burst(b, 3), 1);
		log_capture_stop();
		assert_logged("not a request of the first's session");
		assert_int_equal(udma_req_is_done(r[1]), 0);
		fu_reap_in_order(s, b, 1, NULL);
	}
	for (int i = 0; i < D; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* CALLBACK mode: each callback resubmits its own request once, in a burst
 * with a spare request (which links the two anew): the outer burst still
 * delivers each of its requests once, in order, between the nested ones. */
static struct udma_req *spare;
static int resubmitted[N];
static struct udma_req *const *outer_r;

static void again_cb(struct udma_req *r)
{
	seen[nseen++] = r;
	if (r == spare)
		return;
	int i = 0;
	while (outer_r[i] != r)
		i++;
	if (resubmitted[i]++)
		return;
	struct udma_req *two[2] = { r, spare };
	if (udma_submit_burst(two, 2) != 2)
		cb_bad++;
}

static void test_copies_callbacks_resubmit(void **state)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = 8, .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[4];
	static char in[5][16], out[5][16];

	assert_non_null(s);
	nseen = cb_bad = 0;
	outer_r = r;
	for (int i = 0; i < 5; i++) {
		struct udma_req *q = udma_req_alloc(s);
		memset(in[i], i + 1, 16);
		q->in[0] = fu_lin(in[i], 16);
		q->out = fu_lin(out[i], 16);
		q->cb = again_cb;
		if (i < 4)
			r[i] = q;
		else
			spare = q;
	}
	assert_int_equal(udma_submit_burst(r, 4), 4);
	assert_int_equal(cb_bad, 0);
	assert_int_equal(nseen, 12);
	for (int i = 0; i < 4; i++) {
		assert_ptr_equal(seen[3 * i], r[i]);
		assert_ptr_equal(seen[3 * i + 1], r[i]);
		assert_ptr_equal(seen[3 * i + 2], spare);
		assert_int_equal(resubmitted[i], 2);
		assert_int_equal(memcmp(in[i], out[i], 16), 0);
		assert_int_equal(udma_req_free(r[i]), 0);
	}
	assert_int_equal(udma_session_inflight(s), 0);
	assert_int_equal(udma_req_free(spare), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies_learn), /* first: nothing learned yet */
		cmocka_unit_test(test_copies_lengths),
		cmocka_unit_test(test_copies_mixed_and_refused),
		cmocka_unit_test(test_copies_twice),
		cmocka_unit_test(test_copies_overlap_edges),
		cmocka_unit_test(test_copies_not_slots),
		cmocka_unit_test(test_copies_callbacks),
		cmocka_unit_test(test_copies_changed_by_callback),
		cmocka_unit_test(test_copies_callbacks_resubmit),
		cmocka_unit_test(test_copies_shared_and_fd),
		cmocka_unit_test(test_copies_engine_op), /* last: leaves a permanent engine */
	};
	return tests_run(tests, NULL, NULL);
}
