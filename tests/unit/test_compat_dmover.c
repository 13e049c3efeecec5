/* Seed 004 (NetBSD dmover) through <dev/dmover/dmovervar.h>, quoted. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <dev/dmover/dmovervar.h>
#include "common.h"
#include "seed_hw_bzero.h" /* the seed's example, unchanged */

static void test_hw_bzero(void **state)
{
	char buf[5000];
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(hw_bzero(buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

/* "dreq_outbuf_type" and "dreq_outbuf.dreq_outbuf_type" name the same field */
static void test_outbuf_type_alias(void **state)
{
	struct dmover_request r;
	r.dreq_outbuf_type = DMOVER_BUF_UIO;
	assert_int_equal(r.dreq_outbuf.dreq_outbuf_type, DMOVER_BUF_UIO);
	_Static_assert(DMOVER_BUF_NONE == 0 && DMOVER_BUF_LINEAR == 1 && DMOVER_BUF_UIO == 2, "");
	_Static_assert(DMOVER_REQ_DONE == 1 && DMOVER_REQ_ERROR == 2 && DMOVER_REQ_RUNNING == 4 && DMOVER_REQ_WAIT == 8, "");
}

/* "When a client wishes to use a dmover function, it creates a session for that function" */
static void test_session_create(void **state)
{
	struct dmover_session *s;
	assert_int_equal(dmover_session_create("no-such-function", &s), ESRCH);
	assert_int_equal(dmover_session_create(DMOVER_FUNC_XOR5, &s), 0);
	assert_int_equal(s->dses_ninputs, 5);
	dmover_session_destroy(s);
	assert_int_equal(dmover_session_create(DMOVER_FUNC_COPY, NULL), EINVAL);
}

static volatile int called;
static void cb(struct dmover_request *r)
{
	called++;
	assert_true(r->dreq_flags & DMOVER_REQ_DONE);
	assert_false(r->dreq_flags & DMOVER_REQ_RUNNING);
	assert_ptr_equal(r->dreq_cookie, (void *)&called);
}

/* "or may have a call-back invoked once the request has been completed";
 * "For functions which use input regions, the lengths of each input region and the output region must be the same." */
static void test_copy_callback_and_errors(void **state)
{
	struct dmover_session *s;
	char a[4096], b[4096];
	memset(a, 'x', sizeof(a));
	assert_int_equal(dmover_session_create(DMOVER_FUNC_COPY, &s), 0);
	struct dmover_request *r = dmover_request_alloc(s, NULL);
	assert_non_null(r);
	r->dreq_callback = cb;
	r->dreq_cookie = (void *)&called;
	r->dreq_outbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_outbuf.dmbuf_linear = (dmover_buf_linear){ b, sizeof(b) };
	r->dreq_inbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_inbuf[0].dmbuf_linear = (dmover_buf_linear){ a, sizeof(a) };
	called = 0;
	dmover_process(r);
	assert_int_equal(called, 1);
	assert_false(r->dreq_flags & DMOVER_REQ_ERROR);
	assert_memory_equal(a, b, sizeof(a));
	/* unequal lengths: "If an error occurs ... DMOVER_REQ_ERROR ... dreq_error set to an errno" */
	r->dreq_outbuf.dmbuf_linear.l_len = 100;
	dmover_process(r);
	assert_int_equal(called, 2);
	assert_true(r->dreq_flags & DMOVER_REQ_ERROR);
	assert_int_equal(r->dreq_error, EINVAL);
	/* "no input may overlap with the output" */
	r->dreq_outbuf.dmbuf_linear = (dmover_buf_linear){ a + 1, sizeof(a) - 1 };
	r->dreq_inbuf[0].dmbuf_linear.l_len = sizeof(a) - 1;
	dmover_process(r);
	assert_int_equal(r->dreq_error, EINVAL);
	/* "If this flag is set, a callback may not be used." */
	r->dreq_flags = DMOVER_REQ_WAIT;
	dmover_process(r);
	assert_true(r->dreq_flags & DMOVER_REQ_ERROR);
	dmover_request_free(r);
	dmover_session_destroy(s);
}

/* UIO buffers; "If the inbuf argument is not NULL, inbuf is used as the array of input buffer descriptors" */
static void test_xor_uio_caller_inbuf(void **state)
{
	struct dmover_session *s;
	char in1[3000], in2[3000], out[3000];
	for (int i = 0; i < 3000; i++) {
		in1[i] = (char)i;
		in2[i] = (char)(i * 7);
	}
	struct iovec v1[2] = { { in1, 1000 }, { in1 + 1000, 2000 } }, v2[1] = { { in2, 3000 } },
		     vo[3] = { { out, 1 }, { out + 1, 2998 }, { out + 2999, 1 } };
	struct uio u1 = { v1, 2, 0, 3000, UIO_WRITE, 0 }, u2 = { v2, 1, 0, 3000, UIO_WRITE, 0 },
		   uo = { vo, 3, 0, 3000, UIO_READ, 0 };
	dmover_buffer *mine = malloc(2 * sizeof(*mine));
	mine[0].dmbuf_uio = &u1;
	mine[1].dmbuf_uio = &u2;
	assert_int_equal(dmover_session_create(DMOVER_FUNC_XOR2, &s), 0);
	struct dmover_request *r = dmover_request_alloc(s, mine);
	assert_ptr_equal(r->dreq_inbuf, mine);
	r->dreq_flags = DMOVER_REQ_WAIT;
	r->dreq_outbuf_type = DMOVER_BUF_UIO;
	r->dreq_outbuf.dmbuf_uio = &uo;
	r->dreq_inbuf_type = DMOVER_BUF_UIO;
	dmover_process(r);
	assert_false(r->dreq_flags & DMOVER_REQ_ERROR);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(out[i], (char)(in1[i] ^ in2[i]));
	dmover_request_free(r); /* the caller's inbuf array is not freed (the kernel's code did) */
	mine[0].dmbuf_uio = NULL; /* still ours to use: ASan would object otherwise */
	free(mine);
	dmover_session_destroy(s);
}

/* One iscsi-crc32c request of n bytes with the given seed, waited for: the result. */
static uint32_t crc_of(struct dmover_session *s, const char *p, size_t n, uint32_t seed)
{
	struct dmover_request *r = dmover_request_alloc(s, NULL);
	uint32_t crc;

	assert_non_null(r);
	r->dreq_flags = DMOVER_REQ_WAIT;
	r->dreq_outbuf_type = DMOVER_BUF_NONE;
	r->dreq_inbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_inbuf[0].dmbuf_linear = (dmover_buf_linear){ (void *)p, n };
	memset(r->dreq_immediate, 0, 8);
	memcpy(r->dreq_immediate, &seed, 4);
	dmover_process(r);
	assert_false(r->dreq_flags & DMOVER_REQ_ERROR);
	assert_int_equal(r->dreq_flags & (DMOVER_REQ_DONE | DMOVER_REQ_RUNNING), DMOVER_REQ_DONE);
	memcpy(&crc, r->dreq_immediate, 4);
	dmover_request_free(r);
	return crc;
}

/* iscsi-crc32c: seed in dreq_immediate, result out, no output buffer; a seed other
 * than 0 continues a CRC (udma's convention, docs/movers.md: results chain) */
static void test_crc(void **state)
{
	struct dmover_session *s;
	assert_int_equal(dmover_session_create(DMOVER_FUNC_ISCSI_CRC32C, &s), 0);
	assert_int_equal(crc_of(s, "123456789", 9, 0), 0xE3069283u); /* the standard check value */
	uint32_t head = crc_of(s, "12345", 5, 0);
	assert_int_not_equal(head, 0);
	assert_int_equal(crc_of(s, "6789", 4, head), 0xE3069283u);
	assert_int_equal(crc_of(s, "6789", 4, 0xdeadbeef), ref_crc(0xdeadbeef, (const unsigned char *)"6789", 4));
	dmover_session_destroy(s);
}

/* A back-end registered through this header: "examine the pending request queue ... call dmover_done()". */
static int processed;
static void fill_process(struct dmover_backend *b)
{
	struct dmover_request *r;
	while ((r = TAILQ_FIRST(&b->dmb_pendreqs))) {
		TAILQ_REMOVE(&b->dmb_pendreqs, r, dreq_dmbq);
		b->dmb_npendreqs--;
		assert_ptr_equal(r->dreq_assignment->das_backend, b);
		assert_string_equal(r->dreq_assignment->das_algdesc->dad_name, DMOVER_FUNC_FILL8);
		if (r->dreq_outbuf_type == DMOVER_BUF_LINEAR)
			memset(r->dreq_outbuf.dmbuf_linear.l_addr, r->dreq_immediate[0], r->dreq_outbuf.dmbuf_linear.l_len);
		else
			for (int i = 0; i < r->dreq_outbuf.dmbuf_uio->uio_iovcnt; i++)
				memset(r->dreq_outbuf.dmbuf_uio->uio_iov[i].iov_base, r->dreq_immediate[0],
				       r->dreq_outbuf.dmbuf_uio->uio_iov[i].iov_len);
		processed++;
		dmover_done(r);
	}
}

static const struct dmover_algdesc fill_alg[] = { { DMOVER_FUNC_FILL8, NULL, 0 } };
static struct dmover_backend fast_fill = {
	.dmb_name = "hw-fill",
	.dmb_speed = 100 * 1024 * 1024, /* KB/s: far faster than the cpu engine's declared speed */
	.dmb_algdescs = fill_alg,
	.dmb_nalgdescs = 1,
	.dmb_process = fill_process,
};

static void test_backend(void **state)
{
	struct dmover_session *s;
	char buf[1 << 16];
	dmover_backend_register(&fast_fill);
	assert_int_equal(dmover_session_create(DMOVER_FUNC_FILL8, &s), 0);
	struct dmover_request *r = dmover_request_alloc(s, NULL);
	r->dreq_flags = DMOVER_REQ_WAIT;
	r->dreq_outbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_outbuf.dmbuf_linear = (dmover_buf_linear){ buf, sizeof(buf) };
	r->dreq_immediate[0] = 0xab;
	processed = 0;
	dmover_process(r);
	assert_false(r->dreq_flags & DMOVER_REQ_ERROR);
	assert_int_equal(processed, 1); /* the scheduler chose the faster back-end */
	assert_int_equal((unsigned char)buf[12345], 0xab);
	/* "The back-end must already be registered" — and unregistering leaves sessions working */
	dmover_backend_unregister(&fast_fill);
	r->dreq_immediate[0] = 0x11;
	r->dreq_flags = DMOVER_REQ_WAIT;
	dmover_process(r);
	assert_int_equal(processed, 1);
	assert_int_equal(buf[100], 0x11);
	dmover_request_free(r);
	dmover_session_destroy(s);
}

/*
 * "If an error occurs when processing the request, the DMOVER_REQ_ERROR bit
 * must be set in the dreq_flags member of the request, and the dreq_error
 * member set to an errno(2) value to indicate the error." A back-end that
 * fails every request with ENXIO: the client sees DONE, ERROR, ENXIO, and no
 * RUNNING, waiting and through a callback.
 */
static int failed_here;
static void failing_process(struct dmover_backend *b)
{
	struct dmover_request *r;
	while ((r = TAILQ_FIRST(&b->dmb_pendreqs))) {
		TAILQ_REMOVE(&b->dmb_pendreqs, r, dreq_dmbq);
		b->dmb_npendreqs--;
		failed_here++;
		r->dreq_flags |= DMOVER_REQ_ERROR;
		r->dreq_error = ENXIO;
		dmover_done(r);
	}
}

static const struct dmover_algdesc copy_alg[] = { { DMOVER_FUNC_COPY, NULL, 1 } };
static struct dmover_backend failing_copy = {
	.dmb_name = "hw-fails",
	.dmb_speed = 4000000000u, /* KB/s: chosen over the cpu engine for a fresh back-end's first request */
	.dmb_algdescs = copy_alg,
	.dmb_nalgdescs = 1,
	.dmb_process = failing_process,
};

static int error_cb_flags, error_cb_errno;
static void error_cb(struct dmover_request *r)
{
	error_cb_flags = r->dreq_flags;
	error_cb_errno = r->dreq_error;
}

/* Register the failing back-end afresh (nothing learned yet, so it takes the first
 * request), run one copy of 1 MiB, unregister: whether it ran there. */
static int copy_on_failing_backend(struct dmover_request *r, int wait)
{
	static char in[1 << 20], out[1 << 20];
	dmover_backend_register(&failing_copy);
	failed_here = 0;
	r->dreq_flags = wait ? DMOVER_REQ_WAIT : 0;
	r->dreq_callback = wait ? NULL : error_cb;
	r->dreq_outbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_outbuf.dmbuf_linear = (dmover_buf_linear){ out, sizeof(out) };
	r->dreq_inbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_inbuf[0].dmbuf_linear = (dmover_buf_linear){ in, sizeof(in) };
	dmover_process(r);
	dmover_backend_unregister(&failing_copy);
	return failed_here;
}

static void test_backend_error(void **state)
{
	struct dmover_session *s;
	assert_int_equal(dmover_session_create(DMOVER_FUNC_COPY, &s), 0);
	struct dmover_request *r = dmover_request_alloc(s, NULL);

	assert_int_equal(copy_on_failing_backend(r, 1), 1);
	assert_int_equal(r->dreq_flags & ~DMOVER_REQ_WAIT, DMOVER_REQ_DONE | DMOVER_REQ_ERROR);
	assert_int_equal(r->dreq_error, ENXIO);

	error_cb_flags = error_cb_errno = 0;
	assert_int_equal(copy_on_failing_backend(r, 0), 1);
	assert_int_equal(error_cb_flags, DMOVER_REQ_DONE | DMOVER_REQ_ERROR);
	assert_int_equal(error_cb_errno, ENXIO);
	assert_int_equal(r->dreq_flags, DMOVER_REQ_DONE | DMOVER_REQ_ERROR);
	dmover_request_free(r);
	dmover_session_destroy(s);
}

/*
 * An asynchronous back-end: dmb_process only queues; a thread of its own
 * computes each CRC-32C from the seed in dreq_immediate and calls dmover_done
 * ("The dmover_done() function may be called at IPL_VM, IPL_SOFTCLOCK,
 * IPL_SOFTNET, or in non-interrupt context"). Requests whose index is a
 * multiple of 7 it fails with ENXIO. The index travels in the seed's top bits.
 */
#define ASYNC_REQS 3000
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	TAILQ_HEAD(, dmover_request) queue;
	int stop;
	int took[ASYNC_REQS]; /* which requests ran here */
} async = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static uint32_t seed_of_index(int i)
{
	return (uint32_t)i << 16 | 0x5eed;
}

static void async_process(struct dmover_backend *b)
{
	struct dmover_request *r;
	pthread_mutex_lock(&async.lock);
	while ((r = TAILQ_FIRST(&b->dmb_pendreqs))) {
		TAILQ_REMOVE(&b->dmb_pendreqs, r, dreq_dmbq);
		b->dmb_npendreqs--;
		TAILQ_INSERT_TAIL(&async.queue, r, dreq_dmbq);
	}
	pthread_cond_signal(&async.cond);
	pthread_mutex_unlock(&async.lock);
}

static void async_run(struct dmover_request *r)
{
	uint32_t seed;
	memcpy(&seed, r->dreq_immediate, 4);
	int i = (int)(seed >> 16);
	const dmover_buf_linear *in = &r->dreq_inbuf[0].dmbuf_linear;
	async.took[i] = 1;
	if (i % 7 == 0) {
		r->dreq_flags |= DMOVER_REQ_ERROR;
		r->dreq_error = ENXIO;
	} else {
		uint32_t crc = ref_crc(seed, in->l_addr, in->l_len);
		memcpy(r->dreq_immediate, &crc, 4);
	}
	dmover_done(r);
}

static void *async_completer(void *arg)
{
	pthread_mutex_lock(&async.lock);
	for (;;) {
		struct dmover_request *r = TAILQ_FIRST(&async.queue);
		if (!r && async.stop)
			break;
		if (!r) {
			pthread_cond_wait(&async.cond, &async.lock);
			continue;
		}
		TAILQ_REMOVE(&async.queue, r, dreq_dmbq);
		pthread_mutex_unlock(&async.lock);
		async_run(r);
		pthread_mutex_lock(&async.lock);
	}
	pthread_mutex_unlock(&async.lock);
	return NULL;
}

static const struct dmover_algdesc crc_alg[] = { { DMOVER_FUNC_ISCSI_CRC32C, NULL, 1 } };
static struct dmover_backend async_crc = {
	.dmb_name = "hw-async-crc",
	.dmb_speed = 4000000000u,
	.dmb_algdescs = crc_alg,
	.dmb_nalgdescs = 1,
	.dmb_process = async_process,
};

/* Every 100th request is large, so that a fresh back-end, whose hand-over the
 * scheduler guesses at a microsecond, beats the cpu engine for it; the cpu
 * engine takes small ones inline, and most large ones once the back-end's
 * latency is learned. */
#define ASYNC_BIG (256 << 10)
static unsigned char async_data[ASYNC_BIG + ASYNC_REQS];
static uint32_t async_expect[ASYNC_REQS];
static int async_done, async_wrong;

static size_t async_len(int i)
{
	return i % 100 ? 256 : ASYNC_BIG;
}

/* Completions come from the back-end's thread (or inline from the cpu engine):
 * no cmocka asserts here, only counts the test checks. */
static void async_cb(struct dmover_request *r)
{
	int i = (int)(intptr_t)r->dreq_cookie, wrong;
	uint32_t crc;
	memcpy(&crc, r->dreq_immediate, 4);
	if (__atomic_load_n(&async.took[i], __ATOMIC_RELAXED) && i % 7 == 0)
		wrong = r->dreq_flags != (DMOVER_REQ_DONE | DMOVER_REQ_ERROR) || r->dreq_error != ENXIO;
	else
		wrong = r->dreq_flags != DMOVER_REQ_DONE || crc != async_expect[i];
	if (wrong)
		__atomic_add_fetch(&async_wrong, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&async_done, 1, __ATOMIC_RELEASE);
}

/*
 * "The client then enqueues requests on that session, which the back-ends
 * process asynchronously." ASYNC_REQS requests taken from one session before
 * any is processed (udma's session refused the 257th: NetBSD's request pool
 * has no cap), then all processed with callbacks and completed from the
 * back-end's thread; every CRC (seeds other than 0), error and flag checked.
 */
static void test_async_backend_many_requests(void **state)
{
	static struct dmover_request *r[ASYNC_REQS];
	struct dmover_session *s;
	pthread_t t;
	uint64_t x = 42;

	for (size_t k = 0; k < sizeof(async_data); k++)
		async_data[k] = (unsigned char)xorshift64(&x);
	for (int i = 0; i < ASYNC_REQS; i++)
		async_expect[i] = ref_crc(seed_of_index(i), async_data + i, async_len(i));
	TAILQ_INIT(&async.queue);
	async.stop = 0;
	memset(async.took, 0, sizeof(async.took));
	assert_int_equal(pthread_create(&t, NULL, async_completer, NULL), 0);
	dmover_backend_register(&async_crc);
	assert_int_equal(dmover_session_create(DMOVER_FUNC_ISCSI_CRC32C, &s), 0);
	for (int i = 0; i < ASYNC_REQS; i++) {
		r[i] = dmover_request_alloc(s, NULL);
		assert_non_null(r[i]);
		r[i]->dreq_callback = async_cb;
		r[i]->dreq_cookie = (void *)(intptr_t)i;
		r[i]->dreq_outbuf_type = DMOVER_BUF_NONE;
		r[i]->dreq_inbuf_type = DMOVER_BUF_LINEAR;
		r[i]->dreq_inbuf[0].dmbuf_linear = (dmover_buf_linear){ async_data + i, async_len(i) };
		uint32_t seed = seed_of_index(i);
		memcpy(r[i]->dreq_immediate, &seed, 4);
	}
	async_done = async_wrong = 0;
	for (int i = 0; i < ASYNC_REQS; i++)
		dmover_process(r[i]);
	while (__atomic_load_n(&async_done, __ATOMIC_ACQUIRE) < ASYNC_REQS)
		sched_yield();
	int here = 0;
	for (int i = 0; i < ASYNC_REQS; i++)
		here += async.took[i];
	printf("%d of %d requests ran on the asynchronous back-end\n", here, ASYNC_REQS);
	assert_int_equal(async_wrong, 0);
	assert_true(async.took[0]); /* the fresh back-end took the first request, and failed it */
	for (int i = 0; i < ASYNC_REQS; i++)
		dmover_request_free(r[i]);
	/* a second free is refused: the pool hands out two different requests after it */
	dmover_request_free(r[0]);
	struct dmover_request *a = dmover_request_alloc(s, NULL), *b = dmover_request_alloc(s, NULL);
	assert_ptr_not_equal(a, b);
	dmover_request_free(a);
	dmover_request_free(b);
	dmover_session_destroy(s);
	dmover_backend_unregister(&async_crc);
	pthread_mutex_lock(&async.lock);
	async.stop = 1;
	pthread_cond_signal(&async.cond);
	pthread_mutex_unlock(&async.lock);
	pthread_join(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw_bzero),
		cmocka_unit_test(test_outbuf_type_alias),
		cmocka_unit_test(test_session_create),
		cmocka_unit_test(test_copy_callback_and_errors),
		cmocka_unit_test(test_xor_uio_caller_inbuf),
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_backend_error),
		cmocka_unit_test(test_async_backend_many_requests),
	};
	return tests_run(tests, NULL, NULL);
}
