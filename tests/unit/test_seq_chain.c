/* Engines that take several steps of a sequence at once (issue 19, item 2;
 * docs/sequences.md, "Engines that take several steps"): "chainer", written
 * only against <udma/udma.h> and <udma/backend.h>, implements
 * submit_chain() and records how many works each call was offered and
 * took. Its works run on the CPU kernels: at once, when the test releases
 * them (so an abort can come while a chain is in flight), or on a worker
 * thread of its own (completions racing the runner). */
#include <pthread.h>
#include <udma/backend.h>
#include "common.h"

#define LEN 4099
#define MAX_HELD 64

/* The engine's state: what it was offered, what it holds, how it behaves. */
static struct {
	unsigned offered[MAX_HELD], took[MAX_HELD], calls; /* per submit_chain() */
	unsigned singles;     /* works through submit() */
	unsigned limit;       /* takes at most this many of a chain; 0: declines */
	int hold;             /* keep works until release() */
	int fail_at;          /* the work (counted from 0 as they run) that fails with -EIO; -1: none */
	unsigned ran;
	struct udma_work *held[MAX_HELD];
	unsigned group[MAX_HELD]; /* held[i] starts a chain of group[i] works (0: inside one) */
	unsigned nheld;
} ch;

/* Run a chain in order: a failing work finishes the rest with -ECANCELED. */
static void run_chain(struct udma_work **w, unsigned n)
{
	int failed = 0;

	for (unsigned i = 0; i < n; i++) {
		if (failed) {
			udma_engine_done(w[i], -ECANCELED);
			continue;
		}
		int st = (int)ch.ran++ == ch.fail_at ? -EIO : udma_cpu_execute(w[i]);
		failed = st != 0;
		udma_engine_done(w[i], st);
	}
}

/* The held works, under lock: a worker may run them (test_chain_async). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stop;

/* Keep the works, or run them here and now. */
static void take(struct udma_work **w, unsigned n)
{
	if (!ch.hold) {
		run_chain(w, n);
		return;
	}
	pthread_mutex_lock(&lock);
	assert_true(ch.nheld + n <= MAX_HELD);
	for (unsigned i = 0; i < n; i++) {
		ch.group[ch.nheld] = i ? 0 : n;
		ch.held[ch.nheld++] = w[i];
	}
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* Run what is held, without the lock (completions submit more: those wait
 * for the next call). */
static unsigned release(void)
{
	struct udma_work *w[MAX_HELD];
	unsigned group[MAX_HELD];

	pthread_mutex_lock(&lock);
	unsigned n = ch.nheld;
	memcpy(w, ch.held, n * sizeof(w[0]));
	memcpy(group, ch.group, n * sizeof(group[0]));
	ch.nheld = 0;
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < n; i += group[i])
		run_chain(w + i, group[i]);
	return n;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stop || ch.nheld) {
		if (!ch.nheld) {
			pthread_cond_wait(&cond, &lock);
			continue;
		}
		pthread_mutex_unlock(&lock);
		release();
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void worker_stop(pthread_t t)
{
	pthread_mutex_lock(&lock);
	stop = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	assert_int_equal(pthread_join(t, NULL), 0);
	stop = 0;
}

static int ch_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	(void)e;
	for (unsigned i = 0; i < n; i++) {
		ch.singles++;
		take(&w[i], 1);
	}
	return (int)n;
}

static int ch_submit_chain(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	unsigned k = n < ch.limit ? n : ch.limit;

	(void)e;
	assert_true(n >= 2 && ch.calls < MAX_HELD);
	ch.offered[ch.calls] = n;
	ch.took[ch.calls++] = k;
	if (k)
		take(w, k);
	return (int)k;
}

static const struct udma_engine_ops ch_ops = { .size = sizeof(ch_ops), .submit = ch_submit,
					       .submit_chain = ch_submit_chain };

static int setup(void **state)
{
	struct udma_engine_desc d = {
		.size = sizeof(d), .name = "chainer", .speed = 1ull << 30, .ops = &ch_ops,
		.funcs = 1u << UDMA_FUNC_COPY | 1u << UDMA_FUNC_CRC32C | 1u << UDMA_FUNC_XOR2 | 1u << UDMA_FUNC_COMPARE,
	};
	*state = udma_engine_register(&d);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return udma_engine_unregister(*state);
}

static void reset(unsigned limit, int hold, int fail_at)
{
	memset(&ch, 0, sizeof(ch));
	ch.limit = limit;
	ch.hold = hold;
	ch.fail_at = fail_at;
}

static struct udma_buf lin(void *p, size_t len)
{
	return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, len } };
}

static void append(struct udma_seq *q, enum udma_func f, struct udma_buf out, const struct udma_buf *in, uint32_t nin)
{
	struct udma_step s = { .size = sizeof(s), .func = f, .out = out, .in = in, .nin = nin };
	assert_int_equal(udma_seq_append(q, &s), 0);
}

/* The buffers of a chain: copy a -> m, crc32c(m), xor2(x = m ^ k), compare(x, want). */
struct bufs {
	uint8_t a[LEN], m[LEN], k[LEN], x[LEN], want[LEN], y[LEN];
	struct udma_buf in_a, in_m, in_xor[2], in_cmp[2], in_x;
};

static void bufs_init(struct bufs *b)
{
	for (size_t i = 0; i < LEN; i++) {
		b->a[i] = (uint8_t)(i * 31 + 7);
		b->k[i] = (uint8_t)(i * 13 + 1);
		b->want[i] = b->a[i] ^ b->k[i];
	}
	memset(b->m, 0, LEN);
	memset(b->x, 0, LEN);
	memset(b->y, 0, LEN);
	b->in_a = lin(b->a, LEN);
	b->in_m = lin(b->m, LEN);
	b->in_xor[0] = lin(b->m, LEN);
	b->in_xor[1] = lin(b->k, LEN);
	b->in_cmp[0] = lin(b->x, LEN);
	b->in_cmp[1] = lin(b->want, LEN);
	b->in_x = lin(b->x, LEN);
}

/* The four steps, on chainer; with `more`, a fifth (copy x -> y) on the
 * copy's session again: a chain ends before it. */
static struct udma_seq *build(struct bufs *b, enum udma_compl_mode mode, int more)
{
	struct udma_seq_opts o = { .size = sizeof(o), .mode = mode, .engine = "chainer" };
	struct udma_seq *q = udma_seq_create(&o);

	assert_non_null(q);
	bufs_init(b);
	append(q, UDMA_FUNC_COPY, lin(b->m, LEN), &b->in_a, 1);
	append(q, UDMA_FUNC_CRC32C, (struct udma_buf){ .type = UDMA_BUF_NONE }, &b->in_m, 1);
	append(q, UDMA_FUNC_XOR2, lin(b->x, LEN), b->in_xor, 2);
	append(q, UDMA_FUNC_COMPARE, (struct udma_buf){ .type = UDMA_BUF_NONE }, b->in_cmp, 2);
	if (more)
		append(q, UDMA_FUNC_COPY, lin(b->y, LEN), &b->in_x, 1);
	return q;
}

static struct udma_seq_result result_of(struct udma_seq *q, unsigned i)
{
	struct udma_seq_result r = { .size = sizeof(r) };
	assert_int_equal(udma_seq_step_result(q, i, &r), 0);
	return r;
}

static uint32_t imm_crc(const uint8_t imm[8])
{
	return (uint32_t)imm[0] | (uint32_t)imm[1] << 8 | (uint32_t)imm[2] << 16 | (uint32_t)imm[3] << 24;
}

/* Every step ran on chainer and the data is right. */
static void check_data(struct udma_seq *q, const struct bufs *b, unsigned nsteps)
{
	assert_int_equal(udma_seq_status(q), 0);
	assert_int_equal(udma_seq_failed_step(q), -1);
	assert_int_equal(udma_seq_steps_done(q), nsteps);
	for (unsigned i = 0; i < nsteps; i++) {
		struct udma_seq_result r = result_of(q, i);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.ran, 1);
		assert_string_equal(r.engine, "chainer");
	}
	assert_memory_equal(b->m, b->a, LEN);
	assert_int_equal(imm_crc(result_of(q, 1).imm), ref_crc(0, b->a, LEN));
	assert_memory_equal(b->x, b->want, LEN);
	assert_int_equal(result_of(q, 3).result, UDMA_CMP_EQUAL);
}

struct done {
	int calls, status;
};

static void count_cb(struct udma_seq *q, int status, void *cookie)
{
	struct done *d = cookie;
	(void)q;
	d->calls++;
	d->status = status;
}

/* "lets engines that can take several steps at once take them": the four
 * steps go to chainer in one submit_chain() of four, in both modes, and
 * again on resubmission. */
static void test_chain_taken(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		static struct bufs b;
		struct udma_seq *q = build(&b, mode ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK, 0);
		for (int round = 0; round < 2; round++) {
			struct done d = { 0 };
			reset(UINT32_MAX, 0, -1);
			memset(b.m, 0, LEN);
			memset(b.x, 0, LEN);
			assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
			if (!mode) { /* chainer runs them inside the call: all done on return */
				assert_true(udma_seq_done(q));
				assert_int_equal(d.status, 0);
			}
			assert_int_equal(udma_seq_wait(q), 0);
			assert_int_equal(d.calls, 1);
			assert_int_equal(ch.calls, 1);
			assert_int_equal(ch.offered[0], 4);
			assert_int_equal(ch.took[0], 4);
			assert_int_equal(ch.singles, 0);
			check_data(q, &b, 4);
		}
		assert_int_equal(udma_seq_destroy(q), 0);
	}
}

/* "a failing one finishes the rest with -ECANCELED": step 1 of the chain
 * fails; the sequence completes once, with its error and index; steps 2 and
 * 3 did not run; the sequence is whole for the next submission. */
static void test_chain_failing_step(void **state)
{
	(void)state;
	static struct bufs b;
	struct udma_seq *q = build(&b, UDMA_COMPL_CALLBACK, 0);
	struct done d = { 0 };

	for (int hold = 0; hold < 2; hold++) {
		reset(UINT32_MAX, hold, 1);
		d = (struct done){ 0 };
		assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
		if (hold) { /* the cancelled ones are still in flight: no completion yet */
			assert_int_equal(ch.nheld, 4);
			assert_false(udma_seq_done(q));
			assert_int_equal(release(), 4);
		}
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.status, -EIO);
		assert_int_equal(ch.calls, 1);
		assert_int_equal(ch.took[0], 4);
		assert_int_equal(udma_seq_status(q), -EIO);
		assert_int_equal(udma_seq_failed_step(q), 1);
		assert_int_equal(udma_seq_steps_done(q), 2);
		assert_int_equal(result_of(q, 0).status, 0);
		assert_int_equal(result_of(q, 1).status, -EIO);
		assert_int_equal(result_of(q, 1).ran, 1);
		for (unsigned i = 2; i < 4; i++) {
			assert_int_equal(result_of(q, i).status, -ECANCELED);
			assert_int_equal(result_of(q, i).ran, 0);
		}
		assert_memory_equal(b.m, b.a, LEN);
		for (size_t i = 0; i < LEN; i++) /* the xor did not run */
			assert_int_equal(b.x[i], 0);
	}
	reset(UINT32_MAX, 0, -1);
	d = (struct done){ 0 };
	assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(d.calls, 1);
	check_data(q, &b, 4);
	assert_int_equal(udma_seq_destroy(q), 0);
}

/* "return how many it took (0: submit them one by one)": declining every
 * chain, the steps go through submit() one at a time; taking two of four,
 * the other two follow as a chain of their own. Held, so that a step never
 * submitted leaves the sequence incomplete with nothing held (not a hang). */
static void test_chain_partial(void **state)
{
	(void)state;
	static const unsigned limit[2] = { 0, 2 };
	for (int l = 0; l < 2; l++) {
		static struct bufs b;
		struct udma_seq *q = build(&b, UDMA_COMPL_CALLBACK, 0);
		struct done d = { 0 };
		reset(limit[l], 1, -1);
		assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
		while (!udma_seq_done(q))
			assert_int_not_equal(release(), 0);
		assert_int_equal(d.status, 0);
		assert_int_equal(udma_seq_wait(q), 0);
		assert_int_equal(d.calls, 1);
		check_data(q, &b, 4);
		if (!limit[l]) { /* offered 4, 3 and 2 steps, declined each: four singles */
			assert_int_equal(ch.calls, 3);
			assert_int_equal(ch.offered[0], 4);
			assert_int_equal(ch.offered[2], 2);
			assert_int_equal(ch.singles, 4);
		} else {
			assert_int_equal(ch.calls, 2);
			assert_int_equal(ch.offered[0], 4);
			assert_int_equal(ch.took[0], 2);
			assert_int_equal(ch.offered[1], 2);
			assert_int_equal(ch.took[1], 2);
			assert_int_equal(ch.singles, 0);
		}
		assert_int_equal(udma_seq_destroy(q), 0);
	}
}

/* "A submitted sequence can be aborted; its steps not yet started never
 * run, and the client learns which ran": aborted while a chain of four is
 * with the engine, those four finish (they were handed over), the fifth
 * (on the copy's session again, so not in the chain) never starts. */
static void test_chain_abort(void **state)
{
	(void)state;
	static struct bufs b;
	struct udma_seq *q = build(&b, UDMA_COMPL_CALLBACK, 1);
	struct done d = { 0 };

	reset(UINT32_MAX, 1, -1);
	assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
	assert_int_equal(ch.calls, 1);
	assert_int_equal(ch.offered[0], 4);
	assert_int_equal(ch.nheld, 4);
	assert_int_equal(udma_seq_abort(q), 0);
	assert_int_equal(d.calls, 0);
	assert_int_equal(release(), 4);
	assert_int_equal(udma_seq_wait(q), 0);
	assert_int_equal(ch.nheld, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, -ECANCELED);
	assert_int_equal(udma_seq_failed_step(q), 4);
	assert_int_equal(udma_seq_steps_done(q), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(result_of(q, i).ran, 1);
	assert_int_equal(result_of(q, 4).ran, 0);
	assert_memory_equal(b.x, b.want, LEN);
	for (size_t i = 0; i < LEN; i++) /* the fifth step did not run */
		assert_int_equal(b.y[i], 0);
	assert_int_equal(udma_seq_destroy(q), 0);
}

/* Completions on the engine's own thread, racing the runner that is still
 * handing the chain over (or polling), a step failing in some rounds: each
 * sequence completes once, with the right outcome and data. */
static void test_chain_async(void **state)
{
	(void)state;
	static struct bufs b;
	for (int mode = 0; mode < 2; mode++) {
		struct udma_seq *q = build(&b, mode ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK, 0);
		for (int round = 0; round < 40; round++) {
			int fail_at = round % 4 == 3 ? round % 3 : -1;
			struct done d = { 0 };
			pthread_t t;
			reset(round % 5 == 4 ? 2 : UINT32_MAX, 1, fail_at);
			memset(b.m, 0, LEN);
			memset(b.x, 0, LEN);
			assert_int_equal(pthread_create(&t, NULL, worker, NULL), 0);
			assert_int_equal(udma_seq_submit(q, count_cb, &d), 0);
			assert_int_equal(udma_seq_wait(q), 0);
			worker_stop(t);
			assert_int_equal(d.calls, 1);
			if (fail_at < 0) {
				check_data(q, &b, 4);
				continue;
			}
			assert_int_equal(d.status, -EIO);
			assert_int_equal(udma_seq_failed_step(q), fail_at);
			assert_int_equal(udma_seq_steps_done(q), (unsigned)fail_at + 1);
			for (unsigned i = (unsigned)fail_at + 1; i < 4; i++)
				assert_int_equal(result_of(q, i).ran, 0);
		}
		assert_int_equal(udma_seq_destroy(q), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_taken),
		cmocka_unit_test(test_chain_failing_step),
		cmocka_unit_test(test_chain_partial),
		cmocka_unit_test(test_chain_abort),
		cmocka_unit_test(test_chain_async),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
