/* T10 DIF: dif-generate, dif-insert, dif-verify and dif-strip against PI
 * worked out here (bitwise CRC-16 T10-DIF, big-endian tags), 512+8 and
 * 4096+8, random data, unaligned and scatter-gather buffers whose pieces
 * split blocks and PI, cpu and threads engines; bad formats. */
#include "funcs_util.h"

static void ref_pi(uint8_t pi[8], const uint8_t *data, size_t bs, const struct udma_params *p, uint32_t b)
{
	uint16_t g = ref_crc16_t10dif(data, bs);
	uint32_t ref = p->ref_tag + b;
	uint8_t v[8] = { (uint8_t)(g >> 8), (uint8_t)g, (uint8_t)(p->app_tag >> 8), (uint8_t)p->app_tag,
			 (uint8_t)(ref >> 24), (uint8_t)(ref >> 16), (uint8_t)(ref >> 8), (uint8_t)ref };
	memcpy(pi, v, 8);
}

struct dif_case {
	const char *engine;
	size_t bs, nblocks;
	enum fu_layout lay;
	struct udma_params p;
};

static int run1(const struct dif_case *c, enum udma_func f, struct fu_region *in, struct fu_region *out, uint64_t *res)
{
	struct udma_session *s = fu_session(f, c->engine);
	struct udma_req *r = udma_req_alloc(s);
	if (in)
		fu_describe(&r->in[0], in, c->lay);
	if (out)
		fu_describe(&r->out, out, c->lay);
	r->params = &c->p;
	int rc = fu_run(r);
	*res = r->result;
	udma_req_free(r);
	udma_session_destroy(s);
	return rc;
}

/* Generate in place and insert from plain data: both give the reference PI. */
static void make_checked(const struct dif_case *c, struct fu_region *ext)
{
	size_t bs = c->bs, n = c->nblocks;
	struct fu_region plain, ins;
	uint64_t res;
	uint8_t pi[8];

	fu_region(ext, n * (bs + 8), c->lay, NULL);
	assert_int_equal(run1(c, UDMA_FUNC_DIF_GENERATE, NULL, ext, &res), 0);
	fu_region(&plain, n * bs, c->lay, NULL);
	fu_region(&ins, n * (bs + 8), c->lay, NULL);
	for (size_t b = 0; b < n; b++) {
		ref_pi(pi, (uint8_t *)ext->p + b * (bs + 8), bs, &c->p, (uint32_t)b);
		if (memcmp(pi, ext->p + b * (bs + 8) + bs, 8))
			fail_msg("dif-generate %zu+8 block %zu of %zu on %s: wrong PI", bs, b, n, c->engine);
		memcpy(plain.p + b * bs, ext->p + b * (bs + 8), bs);
	}
	assert_int_equal(run1(c, UDMA_FUNC_DIF_INSERT, &plain, &ins, &res), 0);
	if (memcmp(ins.p, ext->p, ext->len))
		fail_msg("dif-insert %zu+8, %zu blocks on %s differs from dif-generate's", bs, n, c->engine);
	fu_region_free(&plain);
	fu_region_free(&ins);
}

/* Verify and strip give result; strip's output is the data. */
static uint64_t check(const struct dif_case *c, struct fu_region *ext)
{
	struct fu_region out;
	uint64_t rv, rs;

	assert_int_equal(run1(c, UDMA_FUNC_DIF_VERIFY, ext, NULL, &rv), 0);
	fu_region(&out, c->nblocks * c->bs, c->lay, NULL);
	assert_int_equal(run1(c, UDMA_FUNC_DIF_STRIP, ext, &out, &rs), 0);
	assert_int_equal(rv, rs);
	size_t good = rv == UDMA_CMP_EQUAL ? c->nblocks : UDMA_DIF_BLOCK(rv);
	for (size_t b = 0; b < good; b++)
		if (memcmp(out.p + b * c->bs, ext->p + b * (c->bs + 8), c->bs))
			fail_msg("dif-strip block %zu on %s: wrong data", b, c->engine);
	fu_region_free(&out);
	return rv;
}

static void corrupt_checked(struct dif_case *c, struct fu_region *ext)
{
	size_t b = fu_rnd() % c->nblocks, at = b * (c->bs + 8);
	char *pi = ext->p + at + c->bs;

	ext->p[at + fu_rnd() % c->bs] ^= 0x10; /* data */
	assert_int_equal(check(c, ext), UDMA_DIF_FAIL(b, UDMA_DIF_GUARD));
	pi[3] ^= 1; /* the guard still disagrees with the data; now the app tag too */
	assert_int_equal(check(c, ext), UDMA_DIF_FAIL(b, UDMA_DIF_GUARD | UDMA_DIF_APP));
	c->p.app_mask = 0xfffe; /* the bit that differs is masked */
	assert_int_equal(check(c, ext), UDMA_DIF_FAIL(b, UDMA_DIF_GUARD));
	c->p.app_mask = 0;
	pi[7] ^= 2;
	assert_int_equal(check(c, ext), UDMA_DIF_FAIL(b, UDMA_DIF_GUARD | UDMA_DIF_APP | UDMA_DIF_REF));
	c->p.dif_check = UDMA_DIF_REF;
	assert_int_equal(check(c, ext), UDMA_DIF_FAIL(b, UDMA_DIF_REF));
	c->p.dif_check = 0;
}

static void dif_all(const char *engine)
{
	static const size_t blocks[] = { 0, 1, 3, 17 };
	for (size_t bi = 0; bi < 2; bi++)
		for (size_t ni = 0; ni < sizeof(blocks) / sizeof(blocks[0]); ni++)
			for (int lay = 0; lay < FU_LAYOUTS; lay++) {
				struct dif_case c = { engine, bi ? 4096 : 512, blocks[ni], (enum fu_layout)lay,
						      { .size = sizeof(struct udma_params), .dif_block = bi ? 4096 : 512,
							.app_tag = (uint16_t)fu_rnd(), .ref_tag = (uint32_t)fu_rnd() } };
				struct fu_region ext;
				make_checked(&c, &ext);
				assert_int_equal(check(&c, &ext), UDMA_CMP_EQUAL);
				if (c.nblocks)
					corrupt_checked(&c, &ext);
				fu_region_free(&ext);
			}
}

static void test_dif_engines(void **state)
{
	fu_on_engines(dif_all);
}

static void expect_einval(enum udma_func f, const struct udma_params *p, size_t in_len, size_t out_len,
			  const char *needle)
{
	struct udma_session *s = fu_session(f, "cpu");
	struct udma_req *r = udma_req_alloc(s);
	static char in[3 * 4104], out[3 * 4104];

	if (udma_func_ninputs(f))
		r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { in, in_len } };
	if (f != UDMA_FUNC_DIF_VERIFY)
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { out, out_len } };
	r->params = p;
	fu_refused(s, r, needle);
}

static void test_dif_bad_input(void **state)
{
	struct udma_params p = { .size = sizeof(p), .dif_block = 520 };
	expect_einval(UDMA_FUNC_DIF_GENERATE, &p, 0, 528, "block of 520");
	p.dif_block = 0;
	expect_einval(UDMA_FUNC_DIF_VERIFY, &p, 520, 0, "block of 0");
	p.dif_block = 512;
	p.dif_check = 8;
	expect_einval(UDMA_FUNC_DIF_VERIFY, &p, 520, 0, "unknown checks");
	p.dif_check = 0;
	expect_einval(UDMA_FUNC_DIF_GENERATE, &p, 0, 2 * 520 + 1, "not whole 520-byte blocks");
	expect_einval(UDMA_FUNC_DIF_VERIFY, &p, 512, 0, "not whole 520-byte blocks");
	expect_einval(UDMA_FUNC_DIF_STRIP, &p, 1040, 1040, "dif-strip");
	expect_einval(UDMA_FUNC_DIF_INSERT, &p, 1000, 1040, "dif-insert");
	expect_einval(UDMA_FUNC_DIF_INSERT, &p, 1024, 1024, "dif-insert");
	p.dif_block = 4096;
	expect_einval(UDMA_FUNC_DIF_INSERT, &p, 4096, 4096 + 520, "dif-insert");
	expect_einval(UDMA_FUNC_DIF_INSERT, NULL, 512, 520, "needs params");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dif_engines),
		cmocka_unit_test(test_dif_bad_input),
	};
	return tests_run(tests, NULL, NULL);
}
