/* Shared by the tests of the later functions (RAID, EC, DIF, bursts):
 * random regions in random layouts, GF(2^8) and CRC references written
 * from their definitions, and a run on the cpu and threads engines. */
#ifndef UDMA_TEST_FUNCS_UTIL_H
#define UDMA_TEST_FUNCS_UTIL_H

#include <stdlib.h>
#include <udma/backend.h>
#include "common.h"

static uint64_t fu_rng = 0x9e3779b97f4a7c15ull;
static inline uint64_t fu_rnd(void)
{
	return xorshift64(&fu_rng);
}

/* Layouts: a random start (rarely 32-byte aligned), scatter-gather, 64-byte aligned. */
enum fu_layout { FU_RANDOM, FU_SG, FU_ALIGNED, FU_LAYOUTS };

/* A region of len random bytes in a layout, described into a udma_buf. */
struct fu_region {
	char *base, *p;
	size_t len;
	struct iovec iov[8];
};

/* Describe region g, as it is, in a layout (its contents stay). */
static inline void fu_describe(struct udma_buf *b, struct fu_region *g, enum fu_layout lay)
{
	if (lay != FU_SG) {
		*b = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { g->p, g->len } };
		return;
	}
	uint32_t n = 0;
	size_t off = 0;
	while (off < g->len && n < 7) {
		size_t piece = 1 + fu_rnd() % (g->len - off);
		g->iov[n++] = (struct iovec){ g->p + off, piece };
		off += piece;
	}
	if (off < g->len || !n)
		g->iov[n++] = (struct iovec){ g->p + off, g->len - off };
	*b = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { g->iov, n } };
}

static inline void fu_region(struct fu_region *g, size_t len, enum fu_layout lay, struct udma_buf *b)
{
	g->base = aligned_alloc(64, (len + 127) & ~(size_t)63);
	assert_non_null(g->base);
	g->p = g->base + (lay == FU_ALIGNED ? 0 : fu_rnd() % 64);
	g->len = len;
	for (size_t k = 0; k < len; k++)
		g->p[k] = (char)fu_rnd();
	if (b)
		fu_describe(b, g, lay);
}

static inline void fu_region_free(struct fu_region *g)
{
	free(g->base);
	g->base = g->p = NULL;
}

/* The product table, for references over large regions. */
static uint8_t fu_mul[256][256];
static inline void fu_mul_init(void)
{
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			fu_mul[a][b] = ref_gf_mul((uint8_t)a, (uint8_t)b);
}

/* Coefficient of source j in parity row i (0-based) of the m x k parity
 * part: Cauchy 1/((k + i) ^ j), Vandermonde (2^i)^j, as ISA-L defines them. */
static inline uint8_t fu_coef(unsigned matrix, unsigned k, unsigned i, unsigned j)
{
	if (matrix == UDMA_EC_CAUCHY)
		return ref_gf_inv((uint8_t)((k + i) ^ j));
	uint8_t gen = 1, p = 1;
	for (unsigned t = 0; t < i; t++)
		gen = ref_gf_mul(gen, 2);
	for (unsigned t = 0; t < j; t++)
		p = ref_gf_mul(p, gen);
	return p;
}

/* Submit and wait; the status. */
static inline int fu_run(struct udma_req *r)
{
	r->flags = UDMA_REQ_WAIT;
	int rc = udma_submit(r);
	if (rc)
		return rc;
	assert_int_equal(udma_req_is_done(r), 1);
	return r->status;
}

/* r is refused with -EINVAL and a log line containing needle; r and its
 * session s are released. */
static inline void fu_refused(struct udma_session *s, struct udma_req *r, const char *needle)
{
	log_capture_start();
	int rc = fu_run(r);
	log_capture_stop();
	if (rc != -EINVAL || !strstr(test_log_buf, needle))
		fail_msg("%s: %d, log \"%s\" (\"%s\" expected)", udma_func_name(udma_session_func(s)), rc,
			 test_log_buf, needle);
	udma_req_free(r);
	udma_session_destroy(s);
}

/* Run body on the cpu engine and on a threads engine. */
static inline void fu_on_engines(void (*body)(const char *engine))
{
	body("cpu");
	struct udma_threads_opts o = { .size = sizeof(o), .workers = 2, .name = "t-later" };
	struct udma_engine *e = udma_threads_engine_create(&o);
	assert_non_null(e);
	body("t-later");
	assert_int_equal(udma_engine_unregister(e), 0);
}

static inline struct udma_session *fu_session(enum udma_func f, const char *engine)
{
	struct udma_session_opts o = { .size = sizeof(o), .engine = engine };
	struct udma_session *s = udma_session_create(f, &o);
	assert_non_null(s);
	return s;
}

/* Lengths: odd, tiny, around ISA-L's 32- and 64-byte steps, and large. */
static const size_t fu_lens[] = { 0, 1, 7, 31, 32, 33, 64, 100, 4095, 4096, 65536, 65537 };
#define FU_NLENS (sizeof(fu_lens) / sizeof(fu_lens[0]))

static inline struct udma_buf fu_lin(void *p, size_t len)
{
	return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { p, len } };
}

/* Reap exactly n, in submission order r[0..n-1], each with status want[i] (NULL: all 0). */
static inline void fu_reap_in_order(struct udma_session *s, struct udma_req **r, unsigned n, const int *want)
{
	struct udma_req *got[64];
	int status[64];
	unsigned k = 0;

	while (k < n) {
		int m = udma_session_reap(s, got, status, n - k < 64 ? n - k : 64);
		assert_true(m >= 0);
		for (int j = 0; j < m; j++, k++) {
			assert_ptr_equal(got[j], r[k]);
			assert_int_equal(status[j], want ? want[k] : 0);
			assert_int_equal(got[j]->status, status[j]);
			assert_int_equal(udma_req_is_done(got[j]), 1);
		}
	}
	assert_int_equal(udma_session_reap(s, got, status, 1), 0);
}

#endif
