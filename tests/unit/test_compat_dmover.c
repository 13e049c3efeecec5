/* Seed 004 (NetBSD dmover) through <dev/dmover/dmovervar.h>, quoted. */
#include <errno.h>
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

/* iscsi-crc32c: seed in dreq_immediate, result out, no output buffer */
static void test_crc(void **state)
{
	struct dmover_session *s;
	assert_int_equal(dmover_session_create(DMOVER_FUNC_ISCSI_CRC32C, &s), 0);
	struct dmover_request *r = dmover_request_alloc(s, NULL);
	r->dreq_flags = DMOVER_REQ_WAIT;
	r->dreq_outbuf_type = DMOVER_BUF_NONE;
	r->dreq_inbuf_type = DMOVER_BUF_LINEAR;
	r->dreq_inbuf[0].dmbuf_linear = (dmover_buf_linear){ "123456789", 9 };
	memset(r->dreq_immediate, 0, 8);
	dmover_process(r);
	uint32_t crc;
	memcpy(&crc, r->dreq_immediate, 4);
	assert_int_equal(crc, 0xE3069283u);
	dmover_request_free(r);
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
	};
	return tests_run(tests, NULL, NULL);
}
