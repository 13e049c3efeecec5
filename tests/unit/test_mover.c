/* Movers: every function against a reference, every buffer type and completion mode, bad input. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/backend.h>
#include "common.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static uint32_t imm32(const struct udma_req *r)
{
	return (uint32_t)r->imm[0] | (uint32_t)r->imm[1] << 8 | (uint32_t)r->imm[2] << 16 | (uint32_t)r->imm[3] << 24;
}

static void set_imm32(struct udma_req *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		r->imm[i] = (uint8_t)(v >> (8 * i));
}

/* Describe [p, p+len) as a random scatter-gather list (up to 8 pieces) or linear. */
static void describe(struct udma_buf *b, char *p, size_t len, struct iovec *iov, int sg)
{
	if (!sg) {
		*b = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, len } };
		return;
	}
	uint32_t n = 0;
	size_t off = 0;
	while (off < len && n < 7) {
		size_t piece = 1 + rnd() % (len - off);
		iov[n++] = (struct iovec){ p + off, piece };
		off += piece;
	}
	if (off < len || !n)
		iov[n++] = (struct iovec){ p + off, len - off };
	*b = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { iov, n } };
}

/* 64-byte aligned, with 64 bytes to spare for a random start */
static char *arena(size_t n)
{
	char *p = aligned_alloc(64, (n + 127) & ~(size_t)63);
	assert_non_null(p);
	return p;
}

/* Buffer layouts: random starts (so pieces are rarely all 32-byte aligned),
 * scatter-gather, or every buffer 64-byte aligned, which ISA-L's XOR needs:
 * its body, and our tail after it, run only then. */
enum layout { RANDOM, SG, ALIGNED };

/* One random request of function f, checked against the reference. */
static void one(struct udma_session *s, enum udma_func f, size_t len, enum layout lay)
{
	int nin = udma_func_ninputs(f), sg = lay == SG;
	size_t align = lay == ALIGNED ? 0 : rnd() % 64;
	char *in[UDMA_MAX_INPUTS], *out = NULL, *want = arena(len);
	char *base[UDMA_MAX_INPUTS + 1] = { 0 }; /* what to free: the buffers start at random offsets */
	struct iovec iov_in[UDMA_MAX_INPUTS][8], iov_out[8];
	struct udma_req *r = udma_req_alloc(s);

	assert_non_null(r);
	for (int j = 0; j < nin; j++) {
		base[j] = arena(len);
		in[j] = base[j] + (lay == ALIGNED ? 0 : rnd() % 64);
		for (size_t k = 0; k < len; k++)
			in[j][k] = (char)rnd();
		describe(&r->in[j], in[j], len, iov_in[j], sg);
	}
	if (f == UDMA_FUNC_COMPARE && len && rnd() % 2) { /* equal, or differing at a random place */
		memcpy(in[1], in[0], len);
		if (rnd() % 2)
			in[1][rnd() % len] ^= 1;
	}
	int has_out = f != UDMA_FUNC_CRC32C && f != UDMA_FUNC_COMPARE;
	if (has_out) {
		base[UDMA_MAX_INPUTS] = arena(len);
		out = base[UDMA_MAX_INPUTS] + align;
		memset(out, 0x33, len);
		describe(&r->out, out, len, iov_out, sg);
	}
	uint32_t seed = (uint32_t)rnd();
	for (int i = 0; i < 8; i++)
		r->imm[i] = (uint8_t)rnd();
	if (f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C)
		set_imm32(r, seed);
	/* the reference */
	switch (f) {
	case UDMA_FUNC_ZERO:
		memset(want, 0, len);
		break;
	case UDMA_FUNC_FILL8:
		memset(want, r->imm[0], len);
		break;
	case UDMA_FUNC_FILL64:
		for (size_t k = 0; k < len; k++)
			want[k] = (char)r->imm[k % 8];
		break;
	case UDMA_FUNC_COPY:
	case UDMA_FUNC_COPY_CRC32C:
		memcpy(want, in[0], len);
		break;
	default:
		if (f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16)
			for (size_t k = 0; k < len; k++) {
				char x = 0;
				for (int j = 0; j < nin; j++)
					x ^= in[j][k];
				want[k] = x;
			}
	}
	r->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(udma_req_is_done(r), 1);
	assert_int_equal(r->status, 0);
	if (has_out && memcmp(out, want, len))
		fail_msg("%s of %zu bytes (layout %d) differs from the reference", udma_func_name(f), len, (int)lay);
	if (f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C)
		assert_int_equal(imm32(r), ref_crc(seed, (unsigned char *)in[0], len));
	if (f == UDMA_FUNC_COMPARE) {
		assert_int_equal(r->result, ref_compare(in[0], in[1], len));
	}
	assert_int_equal(udma_req_free(r), 0);
	free(want);
	for (int j = 0; j <= UDMA_MAX_INPUTS; j++)
		free(base[j]);
}

static void all_functions(const char *engine)
{
	static const size_t fixed[] = { 0, 1, 7, 31, 32, 33, 64, 4095, 4096, 65537, (1 << 20) + 13 };
	for (int f = 0; f < UDMA_FUNC_COUNT; f++) {
		struct udma_session_opts o = { .size = sizeof(o), .engine = engine };
		struct udma_session *s = udma_session_create((enum udma_func)f, &o);
		assert_non_null(s);
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			for (int lay = RANDOM; lay <= ALIGNED; lay++)
				one(s, (enum udma_func)f, fixed[i], (enum layout)lay);
		for (int i = 0; i < 6; i++) /* random lengths */
			one(s, (enum udma_func)f, rnd() % 300000, (enum layout)(rnd() % 3));
		assert_int_equal(udma_session_destroy(s), 0);
	}
}

static void test_functions_cpu(void **state) { all_functions("cpu"); }
static void test_functions_auto(void **state) { all_functions(NULL); }

static void test_functions_threads(void **state)
{
	struct udma_threads_opts o = { .size = sizeof(o), .workers = 2, .name = "t-funcs" };
	struct udma_engine *e = udma_threads_engine_create(&o);
	assert_non_null(e);
	all_functions("t-funcs");
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* "seed 0 gives the standard CRC-32C", "chainable" */
static void test_crc_standard_and_chain(void **state)
{
	struct udma_session *s = udma_session_create(UDMA_FUNC_CRC32C, NULL);
	struct udma_req *r = udma_req_alloc(s);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { "123456789", 9 } };
	r->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(imm32(r), 0xE3069283u); /* the CRC-32C check value */
	/* chaining: "1234" then "56789" gives the same */
	memset(r->imm, 0, 8);
	r->in[0].linear = (typeof(r->in[0].linear)){ "1234", 4 };
	assert_int_equal(udma_submit(r), 0);
	r->in[0].linear = (typeof(r->in[0].linear)){ "56789", 5 };
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(imm32(r), 0xE3069283u);
	udma_req_free(r);
	udma_session_destroy(s);
}

static int ncb;
static void count_cb(struct udma_req *r) { ncb++; (void)r; }

static void test_completion_modes(void **state)
{
	char a[256], b[256];
	memset(a, 9, sizeof(a));
	/* poll: callbacks run inside udma_session_poll, in this thread */
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 8 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[8];
	ncb = 0;
	for (int i = 0; i < 8; i++) {
		r[i] = udma_req_alloc(s);
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 256 } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 256 } };
		r[i]->cb = count_cb;
		assert_int_equal(udma_submit(r[i]), 0);
	}
	assert_null(udma_req_alloc(s)); /* the pool holds 8 */
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(ncb, 0); /* nothing delivered until polled */
	assert_int_equal(udma_req_is_done(r[0]), 0);
	assert_int_equal(udma_session_inflight(s), 8);
	assert_int_equal(udma_session_destroy(s), -EBUSY);
	assert_int_equal(udma_req_free(r[0]), -EBUSY);
	assert_int_equal(udma_session_poll(s, 3), 3);
	assert_int_equal(ncb, 3);
	assert_int_equal(udma_session_poll(s, 100), 5);
	assert_int_equal(ncb, 8);
	assert_int_equal(udma_session_inflight(s), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(udma_req_is_done(r[i]), 1);
		assert_int_equal(udma_req_free(r[i]), 0);
	}
	assert_int_equal(udma_session_destroy(s), 0);

	/* wait on a request in a callback-mode session running on worker threads */
	struct udma_threads_opts to = { .size = sizeof(to), .name = "t-modes" };
	struct udma_engine *e = udma_threads_engine_create(&to);
	struct udma_session_opts co = { .size = sizeof(co), .engine = "t-modes" };
	s = udma_session_create(UDMA_FUNC_COPY, &co);
	struct udma_req *q = udma_req_alloc(s);
	q->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 256 } };
	q->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 256 } };
	assert_int_equal(udma_submit(q), 0);
	assert_int_equal(udma_req_wait(q), 0);
	assert_int_equal(q->status, 0);
	assert_string_equal(q->engine, "t-modes");
	assert_int_equal(udma_req_free(q), 0);
	assert_int_equal(udma_req_wait(q), -EINVAL); /* freed */
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* The callback runs on a worker: how many CPUs it may run on. */
static int worker_cpus;
static void note_worker_cpus(struct udma_req *r)
{
	cpu_set_t c;
	(void)r;
	if (!sched_getaffinity(0, sizeof(c), &c))
		__atomic_store_n(&worker_cpus, CPU_COUNT(&c), __ATOMIC_RELEASE);
}

/* Made from a thread pinned to one CPU, as a client pinned by its
 * application (or DPDK's EAL) makes the default engine on first use. */
static void *make_engine_pinned(void *arg)
{
	cpu_set_t all, one;
	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	struct udma_threads_opts to = { .size = sizeof(to), .name = "t-pinned" };
	*(struct udma_engine **)arg = udma_threads_engine_create(&to);
	return NULL;
}

/* Workers run wherever the process may, not only on the creator's CPU:
 * else a split or handed-over request waits for the client's own CPU. */
static void test_threads_workers_not_pinned(void **state)
{
	cpu_set_t all;
	assert_int_equal(sched_getaffinity(getpid(), sizeof(all), &all), 0);
	if (CPU_COUNT(&all) < 2)
		skip(); /* one CPU: pinned and unpinned are the same */
	struct udma_engine *e = NULL;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, make_engine_pinned, &e), 0);
	pthread_join(th, NULL);
	assert_non_null(e);
	char a[64] = { 1 }, b[64];
	struct udma_session_opts co = { .size = sizeof(co), .engine = "t-pinned" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &co);
	struct udma_req *q = udma_req_alloc(s);
	q->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
	q->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	q->cb = note_worker_cpus;
	worker_cpus = 0;
	assert_int_equal(udma_submit(q), 0);
	assert_int_equal(udma_req_wait(q), 0);
	while (udma_session_inflight(s)) /* done is set before the callback returns */
		sched_yield();
	assert_string_equal(q->engine, "t-pinned");
	assert_int_equal(__atomic_load_n(&worker_cpus, __ATOMIC_ACQUIRE), CPU_COUNT(&all));
	udma_req_free(q);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

static void test_bad_input(void **state)
{
	char a[64], b[64], c[32];
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_req *r = udma_req_alloc(s);

	log_capture_start();
	assert_null(udma_session_create(99, NULL));
	struct udma_session_opts bad = { .size = sizeof(bad), .engine = "no-such-engine" };
	assert_null(udma_session_create(UDMA_FUNC_COPY, &bad));
	assert_int_equal(errno, ENODEV);
	bad = (struct udma_session_opts){ .size = sizeof(bad), .mode = 7 };
	assert_null(udma_session_create(UDMA_FUNC_COPY, &bad));
	/* lengths differ */
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c, 32 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	assert_logged("lengths differ");
	/* overlap */
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a + 8, 64 - 8 } };
	r->in[0].linear.len = 56;
	assert_int_equal(udma_submit(r), -EINVAL);
	assert_logged("overlaps");
	/* WAIT and a callback */
	r->in[0].linear = (typeof(r->in[0].linear)){ a, 64 };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	r->flags = UDMA_REQ_WAIT;
	r->cb = count_cb;
	assert_int_equal(udma_submit(r), -EINVAL);
	r->cb = NULL;
	r->flags = 0x80;
	assert_int_equal(udma_submit(r), -EINVAL);
	r->flags = 0;
	/* NULL buffers, bad types */
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { NULL, 64 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	r->out = (struct udma_buf){ .type = 9 };
	assert_int_equal(udma_submit(r), -EINVAL);
	r->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { NULL, 3 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	struct iovec huge[2] = { { b, SIZE_MAX }, { b, 2 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { huge, 2 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { NULL, NULL, huge, 1 } };
	assert_int_equal(udma_submit(r), -EINVAL);
	/* after all the rejections the request still works */
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	r->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_req_free(r), -EINVAL); /* double free */
	assert_int_equal(udma_submit(r), -EINVAL);   /* free request */
	assert_int_equal(udma_submit(NULL), -EINVAL);
	char fake[sizeof(struct udma_req)] = { 0 };
	assert_int_equal(udma_req_free((struct udma_req *)fake), -EINVAL);
	/* crc has no output buffer */
	struct udma_session *cs = udma_session_create(UDMA_FUNC_CRC32C, NULL);
	struct udma_req *cr = udma_req_alloc(cs);
	cr->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
	cr->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	assert_int_equal(udma_submit(cr), -EINVAL);
	log_capture_stop();
	udma_req_free(cr);
	udma_session_destroy(cs);
	assert_int_equal(udma_session_destroy(s), 0);
	assert_int_equal(udma_session_destroy(NULL), -EINVAL);
}

/* Domain buffers: shm and device (local views), process (bounced), across domains. */
static void test_domain_buffers(void **state)
{
	struct udma_domain *shm = udma_shm_create("mover-shm", 1 << 20, 0);
	struct udma_domain *dev = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem m;
	char *src = arena(100000);
	for (int i = 0; i < 100000; i++)
		src[i] = (char)(i * 13);
	assert_int_equal(udma_mem_alloc(dev, 100000, NULL, &m), 0);
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_req *r = udma_req_alloc(s);
	/* system -> shm at an offset */
	struct iovec in = { src, 100000 }, at = { (void *)4096, 100000 };
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { udma_system_domain(), NULL, &in, 1 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { shm, NULL, &at, 1 } };
	r->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(r->status, 0);
	assert_memory_equal((char *)udma_shm_base(shm, NULL) + 4096, src, 100000);
	/* shm -> device (IOVAs) */
	struct iovec dv = { (void *)(uintptr_t)m.iova, 100000 };
	r->in[0] = r->out;
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { dev, NULL, &dv, 1 } };
	assert_int_equal(udma_submit(r), 0);
	assert_memory_equal(m.va, src, 100000);
	/* a VA where an IOVA is due fails cleanly */
	struct iovec wrong = { m.va, 100 };
	r->out.dom.iov = &wrong;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { src, 100 } };
	assert_int_equal(udma_submit(r), -EFAULT);
	/* out of the segment */
	struct iovec oob = { (void *)((1 << 20) - 10), 100 };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { shm, NULL, &oob, 1 } };
	assert_int_equal(udma_submit(r), -ERANGE);
	/* a child process's memory: pulled and pushed through a bounce buffer */
	static char remote[4096];
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (!pid) {
		memset(remote, 'r', sizeof(remote));
		char go = 1;
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char go;
	assert_int_equal(read(pfd[0], &go, 1), 1);
	struct udma_domain *p = udma_process_domain_create(pid, NULL);
	struct iovec rem = { remote, 4096 };
	char local[4096];
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { p, NULL, &rem, 1 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { local, 4096 } };
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(r->status, 0);
	assert_int_equal(local[4095], 'r');
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { src, 4096 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { p, NULL, &rem, 1 } };
	assert_int_equal(udma_submit(r), 0);
	r->in[0] = r->out;
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { local, 4096 } };
	assert_int_equal(udma_submit(r), 0);
	assert_memory_equal(local, src, 4096); /* the push landed in the child */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(udma_submit(r), -ESRCH); /* errors arrive as errors */
	udma_domain_destroy(p);
	udma_req_free(r);
	udma_session_destroy(s);
	udma_mem_free(dev, m.va, m.len);
	udma_domain_destroy(dev);
	udma_domain_destroy(shm);
	free(src);
}

/* "pick the candidate engine with the smallest estimated completion time" */
static void test_scheduler_speed_and_load(void **state)
{
	struct udma_error_opts fast = { .size = sizeof(fast), .name = "fast", .speed = 1ull << 40, .hold = 1,
					.funcs = 1u << UDMA_FUNC_COPY };
	struct udma_error_opts slow = { .size = sizeof(slow), .name = "slow", .speed = 100ull << 30,
					.funcs = 1u << UDMA_FUNC_COPY };
	struct udma_engine *ef = udma_error_engine_create(&fast), *es = udma_error_engine_create(&slow);
	assert_non_null(ef);
	assert_non_null(es);
	const size_t len = 4 << 20;
	char *a = arena(len), *b = arena(len);
	memset(a, 1, len);
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 64 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r = udma_req_alloc(s);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, len } };
	assert_int_equal(udma_submit(r), 0);
	assert_string_equal(r->engine, "fast"); /* fastest, idle */
	/* the fast engine now holds 4 MiB; keep loading it until the slow one wins */
	const char *got = "fast";
	int n = 1;
	struct udma_req *more[40];
	for (; n < 40 && !strcmp(got, "fast"); n++) {
		more[n] = udma_req_alloc(s);
		*more[n] = *r;
		more[n]->in = r->in;
		more[n]->done = 0;
		assert_int_equal(udma_submit(more[n]), 0);
		got = more[n]->engine;
	}
	assert_string_equal(got, "slow"); /* a loaded fast engine loses to an idle slow one */
	assert_true(n > 2);
	/* held on the fast engine: the first request and more[1 .. n-2] */
	assert_int_equal(udma_error_engine_release(ef, 0), n - 1);
	while (udma_session_inflight(s))
		udma_session_poll(s, 64);
	for (int i = 1; i < n; i++)
		assert_int_equal(udma_req_free(more[i]), 0);
	udma_req_free(r);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(ef), 0);
	assert_int_equal(udma_engine_unregister(es), 0);
	free(a);
	free(b);
}

/* A copy engine far faster than the cpu that hands each work to a thread
 * (1 us away): the other side of the inline threshold. With it, a POLL
 * session's waiting request and two arenas of len bytes, the first filled. */
struct far_case {
	struct udma_engine *engine;
	char *a, *b;
	size_t len;
	struct udma_session *s;
	struct udma_req *r;
};

static void far_setup(struct far_case *c, size_t len)
{
	struct udma_error_opts o = { .size = sizeof(o), .name = "far-away", .speed = 1ull << 40, .delay_us = 1,
				     .funcs = 1u << UDMA_FUNC_COPY };
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL };

	c->engine = udma_error_engine_create(&o);
	assert_non_null(c->engine);
	c->len = len;
	c->a = arena(len);
	c->b = arena(len);
	memset(c->a, 3, len);
	c->s = udma_session_create(UDMA_FUNC_COPY, &so);
	c->r = udma_req_alloc(c->s);
	c->r->flags = UDMA_REQ_WAIT;
}

/* Every byte copied, everything given back. */
static void far_teardown(struct far_case *c)
{
	assert_memory_equal(c->a, c->b, c->len);
	udma_req_free(c->r);
	udma_session_destroy(c->s);
	assert_int_equal(udma_engine_unregister(c->engine), 0);
	free(c->a);
	free(c->b);
}

/* "Requests below a learned size threshold run inline on the cpu engine":
 * a far faster engine that hands work to a thread gets the big request,
 * while a small one runs inline (its hand-over alone would cost more). */
static void test_small_requests_inline(void **state)
{
	struct far_case c;
	far_setup(&c, 64 << 20);
	struct udma_req *r = c.r;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c.a, 64 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c.b, 64 } };
	for (int i = 0; i < 100; i++) {
		assert_int_equal(udma_submit(r), 0);
		assert_string_equal(r->engine, "cpu");
	}
	r->in[0].linear.len = r->out.linear.len = c.len;
	assert_int_equal(udma_submit(r), 0);
	assert_string_equal(r->engine, "far-away");
	assert_int_equal(r->status, 0);
	far_teardown(&c);
}

static int learned(const struct udma_engine_info *i, void *arg)
{
	if (strcmp(i->name, "cpu"))
		return 0;
	for (int c = 0; c < 8; c++)
		if (i->learned_speed[UDMA_FUNC_COPY][c])
			*(int *)arg = 1;
	return 1;
}

/* "speed starts at the declared value and is learned from measured completions" */
/* What the scheduler knows, from udma_engine_foreach: both engines' copy
 * speeds for a size class, and the other engine's overhead. */
struct sched_view {
	const char *other;
	unsigned cls;
	double cpu_speed, other_speed, other_over;
};

static int sched_visit(const struct udma_engine_info *i, void *arg)
{
	struct sched_view *v = arg;
	if (!strcmp(i->name, "cpu")) {
		uint64_t sp = i->learned_speed[UDMA_FUNC_COPY][v->cls];
		v->cpu_speed = (double)(sp ? sp : i->declared_speed);
	} else if (!strcmp(i->name, v->other)) {
		uint64_t sp = i->learned_speed[UDMA_FUNC_COPY][v->cls];
		v->other_speed = (double)(sp ? sp : i->declared_speed);
		v->other_over = (double)i->overhead_ns;
	}
	return 0;
}

/* "Requests below a learned size threshold run inline on the cpu engine":
 * at every size, a copy goes inline when the cpu engine's estimate is well
 * under the other engine's (its hand-over overhead plus the bytes at its
 * speed; nothing queued, as each request is waited for), and to the other
 * engine when well over. Checked against the figures the scheduler itself
 * reports, at factors of 2 either side, so learning between requests
 * cannot flip the answer. */
static void test_threshold_follows_estimates(void **state)
{
	struct far_case c;
	far_setup(&c, 32 << 20);
	struct udma_req *r = c.r;
	int inline_seen = 0, away_seen = 0;

	for (size_t len = 64; len <= c.len; len *= 2) {
		for (int k = 0; k < 3; k++) {
			uint64_t touched = 2 * (uint64_t)len;
			struct sched_view v = { .other = "far-away",
						.cls = touched < 256 ? 0 : (63u - (unsigned)__builtin_clzll(touched) - 8u) / 2u + 1u };
			if (v.cls > 7)
				v.cls = 7;
			udma_engine_foreach(sched_visit, &v);
			double cpu_ns = (double)touched * 1e9 / v.cpu_speed;
			double far_ns = v.other_over + (double)touched * 1e9 / v.other_speed;
			r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c.a, len } };
			r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { c.b, len } };
			assert_int_equal(udma_submit(r), 0);
			assert_int_equal(r->status, 0);
			if (cpu_ns * 2 < far_ns) {
				if (strcmp(r->engine, "cpu"))
					fail_msg("%zu B: cpu %.0f ns, far-away %.0f ns: ran on %s", len, cpu_ns, far_ns, r->engine);
				inline_seen = 1;
			} else if (cpu_ns > 2 * far_ns) {
				if (strcmp(r->engine, "far-away"))
					fail_msg("%zu B: cpu %.0f ns, far-away %.0f ns: ran on %s", len, cpu_ns, far_ns, r->engine);
				away_seen = 1;
			}
		}
	}
	assert_true(inline_seen && away_seen); /* both sides were checked */
	far_teardown(&c);
}

static void test_learning(void **state)
{
	char a[8192], b[8192];
	struct udma_session_opts o = { .size = sizeof(o), .engine = "cpu" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r = udma_req_alloc(s);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, sizeof(a) } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, sizeof(b) } };
	r->flags = UDMA_REQ_WAIT;
	for (int i = 0; i < 200; i++)
		assert_int_equal(udma_submit(r), 0);
	int have = 0;
	udma_engine_foreach(learned, &have);
	assert_true(have);
	udma_req_free(r);
	udma_session_destroy(s);
}

/* "Unregister while requests are pending: they finish, or move to another capable engine" */
static void test_unregister_moves_pending(void **state)
{
	struct udma_error_opts h = { .size = sizeof(h), .name = "holder", .speed = 1ull << 40, .hold = 1 };
	struct udma_engine *e = udma_error_engine_create(&h);
	char a[65536], b[32][65536];
	memset(a, 5, sizeof(a));
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = 32, .engine = "holder" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r[32];
	ncb = 0;
	for (int i = 0; i < 32; i++) {
		r[i] = udma_req_alloc(s);
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, sizeof(a) } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b[i], sizeof(b[i]) } };
		r[i]->cb = count_cb;
		assert_int_equal(udma_submit(r[i]), 0);
	}
	assert_int_equal(udma_error_engine_release(e, 10), 10); /* 10 finish here, 22 still held */
	assert_int_equal(udma_engine_unregister(e), 0);           /* the rest move to cpu */
	while (udma_session_inflight(s))
		udma_session_poll(s, 64);
	assert_int_equal(ncb, 32); /* every request completed exactly once */
	for (int i = 0; i < 32; i++) {
		assert_int_equal(r[i]->status, 0);
		assert_memory_equal(b[i], a, sizeof(a));
		udma_req_free(r[i]);
	}
	/* a pinned session on a gone engine falls back to the scheduler */
	struct udma_req *q = udma_req_alloc(s);
	q->in[0] = r[0]->in[0];
	q->out = r[0]->out;
	q->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(q), 0);
	assert_string_equal(q->engine, "cpu");
	udma_req_free(q);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), -EINVAL); /* not registered any more */
}

/* The error engine: failures and corruptions by rule, delivered as statuses / caught by checks. */
static void test_error_engine(void **state)
{
	struct udma_error_opts x = { .size = sizeof(x), .name = "faulty", .speed = 1ull << 40, .fail_every = 3,
				     .corrupt_every = 5, .fail_status = EIO };
	struct udma_engine *e = udma_error_engine_create(&x);
	char a[1000], b[1000];
	memset(a, 3, sizeof(a));
	struct udma_session_opts o = { .size = sizeof(o), .engine = "faulty" };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	struct udma_req *r = udma_req_alloc(s);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 1000 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 1000 } };
	r->flags = UDMA_REQ_WAIT;
	int fails = 0, bad = 0;
	for (int i = 1; i <= 30; i++) {
		memset(b, 0, sizeof(b));
		assert_int_equal(udma_submit(r), 0);
		if (r->status) {
			assert_int_equal(r->status, -EIO);
			fails++;
		} else if (memcmp(a, b, sizeof(a))) {
			bad++;
		}
	}
	assert_int_equal(fails, 10);
	assert_int_equal(bad, 4); /* every 5th, less those that failed (15, 30) */
	udma_req_free(r);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
	/* delays complete later, from the engine's thread (100 ms: a loaded machine
	 * under TSan can stall the test thread for milliseconds after submit) */
	struct udma_error_opts d = { .size = sizeof(d), .name = "slowpoke", .speed = 1ull << 40, .delay_us = 100000 };
	e = udma_error_engine_create(&d);
	o.engine = "slowpoke";
	s = udma_session_create(UDMA_FUNC_COPY, &o);
	r = udma_req_alloc(s);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 1000 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 1000 } };
	assert_int_equal(udma_submit(r), 0);
	assert_int_equal(udma_req_is_done(r), 0);
	assert_int_equal(udma_req_wait(r), 0);
	assert_int_equal(r->status, 0);
	udma_req_free(r);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

/* An engine that takes process-domain buffers as they are (as a fabric engine takes remote ones). */
static int taker_accepts(struct udma_engine *e, struct udma_domain *d)
{
	return udma_domain_kind(d) == UDMA_KIND_PROCESS;
}
static int taker_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) /* untouched: the input is still in the process's addresses */
		udma_engine_done(w[i], w[i]->in_dom[0] && udma_domain_kind(w[i]->in_dom[0]) == UDMA_KIND_PROCESS ? 0 : -EIO);
	return (int)n;
}

/* The scheduler prefers an engine that takes a foreign domain directly to a bounce. */
static void test_scheduler_prefers_direct(void **state)
{
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = taker_submit, .accepts = taker_accepts };
	struct udma_engine_desc d = { .size = sizeof(d), .name = "taker", .speed = 1000, /* far slower than cpu */
				      .funcs = 1u << UDMA_FUNC_COPY, .flags = UDMA_ENGINE_INLINE, .ops = &ops };
	struct udma_engine *e = udma_engine_register(&d);
	struct udma_domain *self = udma_process_domain_create(getpid(), "self");
	char a[64] = "from myself", b[64];
	struct iovec rem = { a, 64 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_req *r = udma_req_alloc(s);

	assert_non_null(e);
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { self, NULL, &rem, 1 } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	r->flags = UDMA_REQ_WAIT;
	assert_int_equal(udma_submit(r), 0);
	assert_string_equal(r->engine, "taker");
	assert_int_equal(r->status, 0);
	/* local buffers: the slow engine is not preferred any more */
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
	assert_int_equal(udma_submit(r), 0);
	assert_string_equal(r->engine, "cpu");
	assert_int_equal(udma_engine_unregister(e), 0);
	/* without it, the same request is bounced through the cpu engine */
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { self, NULL, &rem, 1 } };
	memset(b, 0, sizeof(b));
	assert_int_equal(udma_submit(r), 0);
	assert_string_equal(r->engine, "cpu");
	assert_string_equal(b, "from myself");
	udma_req_free(r);
	udma_session_destroy(s);
	udma_domain_destroy(self);
}

static void test_engine_registration(void **state)
{
	struct udma_engine_desc d = { .size = sizeof(d) };
	log_capture_start();
	assert_null(udma_engine_register(&d));
	assert_null(udma_engine_register(NULL));
	struct udma_threads_opts o = { .size = sizeof(o), .ring = 1000 };
	assert_null(udma_threads_engine_create(&o)); /* not a power of two */
	o.ring = 0;
	o.name = "cpu";
	assert_null(udma_threads_engine_create(&o)); /* name taken */
	assert_int_equal(errno, EEXIST);
	log_capture_stop();
	assert_int_equal(udma_engine_unregister(NULL), -EINVAL);
	assert_string_equal(udma_func_name(UDMA_FUNC_CRC32C), "iscsi-crc32c");
	enum udma_func f;
	assert_int_equal(udma_func_by_name("xor16", &f), 0);
	assert_int_equal(f, UDMA_FUNC_XOR16);
	assert_int_equal(udma_func_ninputs(UDMA_FUNC_XOR(9)), 9);
	assert_int_equal(udma_func_by_name("xor17", &f), -EINVAL);
}

int main(void)
{
	/* The scheduler tests reason about the engines they register; the
	 * default threads engine is tested in test_engine_sdk. */
	setenv("UDMA_NO_DEFAULT_ENGINES", "1", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_functions_cpu),
		cmocka_unit_test(test_functions_auto),
		cmocka_unit_test(test_functions_threads),
		cmocka_unit_test(test_crc_standard_and_chain),
		cmocka_unit_test(test_completion_modes),
		cmocka_unit_test(test_threads_workers_not_pinned),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_domain_buffers),
		cmocka_unit_test(test_scheduler_speed_and_load),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_small_requests_inline),
		cmocka_unit_test(test_threshold_follows_estimates),
		cmocka_unit_test(test_unregister_moves_pending),
		cmocka_unit_test(test_error_engine),
		cmocka_unit_test(test_scheduler_prefers_direct),
		cmocka_unit_test(test_engine_registration),
	};
	return tests_run(tests, NULL, NULL);
}
