/*
 * An engine written the way docs/design.md ("Writing an engine") says: only
 * <udma/udma.h> and <udma/backend.h>, linked against the shared library.
 * "fastcopy" runs copies inline through run(), declared far faster than the
 * cpu engine: the scheduler must pick it for copies (the learned inline
 * threshold follows the fastest inline engine, not "the cpu engine"), keep
 * the cpu engine for other functions, and go back to cpu once it leaves.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/udma.h>
#include <udma/backend.h>

static unsigned ran, submitted;

static int fc_run(struct udma_engine *e, struct udma_work *w)
{
	ran++;
	return udma_cpu_execute(w);
}

static int fc_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		submitted++;
		udma_engine_done(w[i], udma_cpu_execute(w[i]));
	}
	return (int)n;
}

static const struct udma_engine_ops fc_ops = { .size = sizeof(fc_ops), .submit = fc_submit, .run = fc_run };

static struct udma_engine *fastcopy(void)
{
	struct udma_engine_desc d = {
		.size = sizeof(d), .name = "fastcopy", .speed = 1ull << 40, .funcs = 1u << UDMA_FUNC_COPY,
		.flags = UDMA_ENGINE_INLINE, .ops = &fc_ops,
	};
	return udma_engine_register(&d);
}

/* A far-away copy engine (works handed to a thread): something to hand over to. */
static struct udma_engine *far_away(void)
{
	struct udma_error_opts o = { .size = sizeof(o), .name = "far-away", .speed = 1ull << 40, .delay_us = 1,
				     .funcs = 1u << UDMA_FUNC_COPY };
	return udma_error_engine_create(&o);
}

static const char *copy_on(struct udma_session *s, size_t len)
{
	char *a = malloc(len), *b = malloc(len);
	struct udma_req *r = udma_req_alloc(s);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(r);
	for (size_t i = 0; i < len; i++)
		a[i] = (char)(i * 7 + 1);
	r->flags = UDMA_REQ_WAIT;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, len } };
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(r->status, 0);
	assert_memory_equal(a, b, len);
	const char *eng = r->engine;
	udma_req_free(r);
	free(a);
	free(b);
	return eng;
}

static const char *zero_on(struct udma_session *s, size_t len)
{
	char *b = malloc(len);
	struct udma_req *r = udma_req_alloc(s);

	assert_non_null(b);
	memset(b, 1, len);
	r->flags = UDMA_REQ_WAIT;
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, len } };
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(r->status, 0);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(b[i], 0);
	const char *eng = r->engine;
	udma_req_free(r);
	free(b);
	return eng;
}

/* "Inline engines get an optional synchronous operation in the engine ops ...
 * the learned inline threshold works for any inline engine." */
static void test_second_inline_engine_chosen(void **state)
{
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL };
	struct udma_session *cp = udma_session_create(UDMA_FUNC_COPY, &so);
	struct udma_session *z = udma_session_create(UDMA_FUNC_ZERO, &so);
	struct udma_engine *far = far_away(), *fc;

	assert_non_null(cp);
	assert_non_null(z);
	assert_non_null(far);
	/* without fastcopy: 64 KiB is past the cpu engine's threshold (it would
	 * take 8 us at its declared 8 GB/s, the far engine's hand-over 1 us) */
	assert_string_equal(copy_on(cp, 64 << 10), "far-away");
	assert_string_equal(copy_on(cp, 64), "cpu");

	fc = fastcopy();
	assert_non_null(fc);
	ran = submitted = 0;
	/* with it: small and 64 KiB copies stay inline, on the fastest inline engine */
	assert_string_equal(copy_on(cp, 64), "fastcopy");
	assert_string_equal(copy_on(cp, 64 << 10), "fastcopy");
	assert_int_equal(ran + submitted, 2);
	assert_true(ran >= 1); /* the session's own path calls run(), not submit() */
	/* other functions are not its own */
	assert_string_equal(zero_on(z, 64), "cpu");

	assert_int_equal(udma_engine_unregister(fc), 0);
	assert_string_equal(copy_on(cp, 64), "cpu");
	assert_int_equal(udma_engine_unregister(far), 0);
	assert_int_equal(udma_session_destroy(cp), 0);
	assert_int_equal(udma_session_destroy(z), 0);
}

/* The cpu engine is registered like any engine: permanent, inline, with run(). */
static int find_cpu(const struct udma_engine_info *i, void *arg)
{
	if (strcmp(i->name, "cpu"))
		return 0;
	*(uint32_t *)arg = i->flags;
	return 1;
}

static void test_cpu_is_an_ordinary_engine(void **state)
{
	uint32_t flags = 0;
	assert_int_equal(udma_engine_foreach(find_cpu, &flags), 1);
	assert_int_equal(flags, UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT);
}

/* run() is for inline engines only; unknown flags are refused. */
static void test_registration_rules(void **state)
{
	struct udma_engine_desc d = {
		.size = sizeof(d), .name = "bad", .speed = 1, .funcs = 1u << UDMA_FUNC_COPY, .ops = &fc_ops,
	};
	assert_null(udma_engine_register(&d));
	assert_int_equal(errno, EINVAL);
	d.flags = UDMA_ENGINE_INLINE | 0x80;
	assert_null(udma_engine_register(&d));
	assert_int_equal(errno, EINVAL);
	/* a permanent engine stays */
	d.flags = UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT;
	d.name = "stays";
	struct udma_engine *e = udma_engine_register(&d);
	assert_non_null(e);
	assert_int_equal(udma_engine_unregister(e), -EPERM);
}

struct found {
	const char *name;
	uint32_t lanes;
	int seen;
};

static int find_engine(const struct udma_engine_info *i, void *arg)
{
	struct found *f = arg;
	if (strcmp(i->name, f->name))
		return 0;
	f->lanes = i->lanes;
	f->seen = 1;
	return 1;
}

/* "A client that opens a session without naming an engine gets real
 * asynchrony for work large enough to profit (a threads engine available by
 * default, created lazily, its lanes sized to the machine)". */
static void test_default_threads_engine(void **state)
{
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .engine = "threads" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	assert_non_null(s); /* naming it works: it is created with the first session */
	struct found f = { .name = "threads" };
	udma_engine_foreach(find_engine, &f);
	assert_true(f.seen);
	assert_int_equal(f.lanes, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(copy_on(s, 1 << 20), "threads");
	assert_int_equal(udma_session_destroy(s), 0);
}

struct overhead {
	const char *name;
	uint64_t ns;
	uint32_t learned;
	int seen;
};

static int find_overhead(const struct udma_engine_info *i, void *arg)
{
	struct overhead *o = arg;
	if (strcmp(i->name, o->name))
		return 0;
	o->ns = i->overhead_ns;
	o->learned = i->overhead_learned;
	o->seen = 1;
	return 1;
}

/* "marks estimates that were never measured as guesses": a queued engine's
 * hand-over cost starts as a guess (overhead_learned 0) and is marked
 * learned once a hand-over was timed. */
static void test_overhead_guess_then_learned(void **state)
{
	/* delay_us: works complete on the engine's thread, a real hand-over */
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "handover", .speed = 1ull << 40,
				      .funcs = 1u << UDMA_FUNC_COPY, .delay_us = 1 };
	struct udma_engine *e = udma_error_engine_create(&eo);
	struct overhead o = { .name = "handover" };

	assert_non_null(e);
	udma_engine_foreach(find_overhead, &o);
	assert_true(o.seen);
	assert_int_equal(o.ns, 1000);
	assert_int_equal(o.learned, 0);
	struct udma_session_opts so = { .size = sizeof(so), .engine = "handover" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	assert_non_null(s);
	for (int i = 0; i < 32; i++) /* hand-overs are timed one in 16 */
		assert_string_equal(copy_on(s, 1 << 16), "handover");
	udma_engine_foreach(find_overhead, &o);
	assert_int_equal(o.learned, 1);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* A child of fork() has no workers: its requests run elsewhere, not never. */
static void test_default_engine_after_fork(void **state)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	assert_non_null(s);
	pid_t pid = fork();
	if (!pid) {
		alarm(20);
		struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL };
		struct udma_session *c = udma_session_create(UDMA_FUNC_COPY, &so);
		const char *e = c ? copy_on(c, 16 << 20) : "none";
		_exit(strcmp(e, "threads") && strcmp(e, "none") ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* Submit a copy of len bytes on s without waiting (POLL mode). */
static struct udma_req *copy_nowait(struct udma_session *s, char *a, char *b, size_t len)
{
	struct udma_req *r = udma_req_alloc(s);
	assert_non_null(r);
	memset(a, 5, len);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, len } };
	assert_int_equal(udma_submit(r), 0);
	return r;
}

/* Readable within ms, then re-armed by reading it. */
static int fd_fires(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;
	if (poll(&p, 1, ms) != 1)
		return 0;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

/* "every session (not only storage) can give a pollable fd (eventfd), so a
 * client waiting in epoll or its own io_uring is woken by udma completions
 * instead of spinning" */
static void test_session_fd(void **state)
{
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .engine = "threads" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so), *cb;
	size_t len = 8 << 20;
	char *a = malloc(len), *b = malloc(len);

	assert_non_null(s);
	int fd = udma_session_fd(s);
	assert_true(fd >= 0);
	assert_int_equal(udma_session_fd(s), fd); /* one per session */
	assert_false(fd_fires(fd, 0));
	/* completed on a worker: the fd wakes the sleeper, then poll delivers */
	struct udma_req *r = copy_nowait(s, a, b, len);
	assert_true(fd_fires(fd, 10000));
	int got = 0;
	for (int i = 0; i < 1000 && !got; i++)
		got = udma_session_poll(s, 8);
	assert_int_equal(got, 1);
	assert_true(udma_req_is_done(r));
	assert_memory_equal(a, b, len);
	udma_req_free(r);
	assert_false(fd_fires(fd, 0));
	assert_int_equal(udma_session_destroy(s), 0);

	/* completed inline, inside the caller's own submit: readable at once */
	so.engine = "cpu";
	s = udma_session_create(UDMA_FUNC_COPY, &so);
	fd = udma_session_fd(s);
	r = copy_nowait(s, a, b, 4096);
	assert_true(fd_fires(fd, 0));
	assert_int_equal(udma_session_poll(s, 8), 1);
	udma_req_free(r);
	assert_int_equal(udma_session_destroy(s), 0);

	/* callback sessions deliver by calling back: no fd */
	cb = udma_session_create(UDMA_FUNC_COPY, NULL);
	assert_int_equal(udma_session_fd(cb), -EINVAL);
	assert_int_equal(udma_session_destroy(cb), 0);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_cpu_is_an_ordinary_engine),
		cmocka_unit_test(test_second_inline_engine_chosen),
		cmocka_unit_test(test_registration_rules),
		cmocka_unit_test(test_default_threads_engine),
		cmocka_unit_test(test_default_engine_after_fork),
		cmocka_unit_test(test_overhead_guess_then_learned),
		cmocka_unit_test(test_session_fd),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
