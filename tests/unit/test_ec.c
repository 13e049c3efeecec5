/* Reed-Solomon: ec-encode, ec-update and ec-decode against parity worked
 * out here from the matrices' definitions (Cauchy 1/((k+i)^j), Vandermonde
 * (2^i)^j in GF(2^8) mod 0x11d), random data, odd lengths, unaligned and
 * scatter-gather buffers, cpu and threads engines; bad parameters. */
#include "funcs_util.h"
#include "mover/kernels.h"

#define MAXK 32
#define MAXM 8

struct code {
	unsigned k, m, matrix;
	size_t len;
	enum fu_layout lay;
	struct fu_region b[MAXK + MAXM]; /* data, then parity */
};

static void ref_parity(const struct code *c, unsigned i, uint8_t *out)
{
	memset(out, 0, c->len);
	for (unsigned j = 0; j < c->k; j++) {
		uint8_t coef = fu_coef(c->matrix, c->k, i, j);
		const uint8_t *d = (const uint8_t *)c->b[j].p;
		for (size_t x = 0; x < c->len; x++)
			out[x] ^= fu_mul[coef][d[x]];
	}
}

static void parity_checked(const struct code *c, const char *what, const char *engine)
{
	uint8_t *want = malloc(c->len + 1);
	for (unsigned i = 0; i < c->m; i++) {
		ref_parity(c, i, want);
		if (memcmp(want, c->b[c->k + i].p, c->len))
			fail_msg("%s %u+%u (matrix %u) len %zu layout %d on %s: parity %u differs", what, c->k, c->m,
				 c->matrix, c->len, c->lay, engine, i);
	}
	free(want);
}

static void encode(struct code *c, const char *engine)
{
	struct udma_session *s = fu_session(UDMA_FUNC_EC_ENCODE, engine);
	struct udma_req *r = udma_req_alloc(s);
	struct udma_params p = { .size = sizeof(p), .k = c->k, .m = c->m, .matrix = c->matrix };

	for (unsigned i = 0; i < c->k + c->m; i++)
		fu_describe(i < c->k ? &r->in[i] : &r->outs[i - c->k], &c->b[i], c->lay);
	r->params = &p;
	assert_int_equal(fu_run(r), 0);
	parity_checked(c, "ec-encode", engine);
	udma_req_free(r);
	udma_session_destroy(s);
}

/* Source idx gets new contents; the parity follows through ec-update. */
static void update(struct code *c, const char *engine)
{
	struct udma_session *s = fu_session(UDMA_FUNC_EC_UPDATE, engine);
	struct udma_req *r = udma_req_alloc(s);
	unsigned idx = (unsigned)(fu_rnd() % c->k);
	struct udma_params p = { .size = sizeof(p), .k = c->k, .m = c->m, .matrix = c->matrix, .update_index = idx };
	struct fu_region fresh;

	fu_describe(&r->in[0], &c->b[idx], c->lay);
	fu_region(&fresh, c->len, c->lay, &r->in[1]);
	for (unsigned i = 0; i < c->m; i++)
		fu_describe(&r->outs[i], &c->b[c->k + i], c->lay);
	r->params = &p;
	assert_int_equal(fu_run(r), 0);
	memcpy(c->b[idx].p, fresh.p, c->len);
	parity_checked(c, "ec-update", engine);
	fu_region_free(&fresh);
	udma_req_free(r);
	udma_session_destroy(s);
}

/* Lose up to m random blocks and rebuild them from the rest. */
static void decode(struct code *c, const char *engine)
{
	struct udma_session *s = fu_session(UDMA_FUNC_EC_DECODE, engine);
	struct udma_req *r = udma_req_alloc(s);
	struct udma_params p = { .size = sizeof(p), .k = c->k, .m = c->m, .matrix = c->matrix };
	struct fu_region got[MAXM];
	int gone[MAXK + MAXM] = { 0 };

	p.nlost = 1 + (unsigned)(fu_rnd() % c->m);
	for (unsigned n = 0; n < p.nlost;) {
		unsigned b = (unsigned)(fu_rnd() % (c->k + c->m));
		n += !gone[b];
		gone[b] = 1;
	}
	for (unsigned b = 0, n = 0; b < c->k + c->m; b++) {
		if (gone[b]) {
			p.lost[n] = (uint8_t)b;
			fu_region(&got[n], c->len, c->lay, &r->outs[n]);
			n++;
		} else {
			fu_describe(&r->in[b], &c->b[b], c->lay);
		}
	}
	r->params = &p;
	assert_int_equal(fu_run(r), 0);
	for (unsigned n = 0; n < p.nlost; n++) {
		if (memcmp(got[n].p, c->b[p.lost[n]].p, c->len))
			fail_msg("ec-decode %u+%u (matrix %u) len %zu on %s: block %u (%u lost) wrong", c->k, c->m, c->matrix,
				 c->len, engine, p.lost[n], p.nlost);
		fu_region_free(&got[n]);
	}
	udma_req_free(r);
	udma_session_destroy(s);
}

static void ec_all(const char *engine)
{
	static const unsigned shapes[][2] = { { 1, 1 }, { 3, 2 }, { 8, 3 }, { 10, 4 }, { 16, 8 }, { 32, 8 }, { 32, 1 } };
	static const size_t lens[] = { 0, 1, 31, 33, 100, 4096, 65537 };
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (unsigned matrix = 0; matrix <= UDMA_EC_VANDERMONDE; matrix++)
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
				struct code c = { .k = shapes[si][0], .m = shapes[si][1], .matrix = matrix, .len = lens[li] };
				c.lay = (enum fu_layout)(fu_rnd() % FU_LAYOUTS);
				for (unsigned i = 0; i < c.k + c.m; i++)
					fu_region(&c.b[i], c.len, c.lay, NULL);
				encode(&c, engine);
				update(&c, engine);
				/* Vandermonde rows decode only for small codes (ISA-L's caveat) */
				if (matrix == UDMA_EC_CAUCHY || c.k + c.m <= 12)
					decode(&c, engine);
				for (unsigned i = 0; i < c.k + c.m; i++)
					fu_region_free(&c.b[i]);
			}
}

static void test_ec_engines(void **state)
{
	fu_on_engines(ec_all);
}

static void expect_einval(enum udma_func f, struct udma_params p, const char *needle)
{
	struct udma_session *s = fu_session(f, "cpu");
	struct udma_req *r = udma_req_alloc(s);
	char buf[64];

	for (unsigned i = 0; i < UDMA_MAX_SOURCES; i++)
		r->in[i] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { buf, 0 } };
	p.size = sizeof(p);
	r->params = &p;
	fu_refused(s, r, needle);
}

static void test_ec_bad_input(void **state)
{
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 0, .m = 2 }, "k 0");
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 33, .m = 2 }, "k 33");
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 4, .m = 0 }, "m 0");
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 4, .m = 9 }, "m 9");
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 4, .m = 2, .matrix = 7 }, "matrix 7");
	expect_einval(UDMA_FUNC_EC_UPDATE, (struct udma_params){ .k = 4, .m = 2, .update_index = 4 }, "source 4 of 4");
	expect_einval(UDMA_FUNC_EC_DECODE, (struct udma_params){ .k = 4, .m = 2, .nlost = 0 }, "0 lost");
	expect_einval(UDMA_FUNC_EC_DECODE, (struct udma_params){ .k = 4, .m = 2, .nlost = 3, .lost = { 0, 1, 2 } },
		      "3 lost");
	expect_einval(UDMA_FUNC_EC_DECODE, (struct udma_params){ .k = 4, .m = 2, .nlost = 1, .lost = { 6 } },
		      "below 6");
	/* a lost block whose buffer is given */
	expect_einval(UDMA_FUNC_EC_DECODE, (struct udma_params){ .k = 4, .m = 2, .nlost = 1, .lost = { 1 } },
		      "lost block");
	expect_einval(UDMA_FUNC_EC_ENCODE, (struct udma_params){ .k = 4, .m = 2 }, "bad buffer type"); /* outs left NONE */
}

/* The coding tables of a (matrix, k, m) are built once, whatever asks. */
static void test_tables_cached(void **state)
{
	struct code c = { .k = 5, .m = 2, .matrix = UDMA_EC_CAUCHY, .len = 96, .lay = FU_ALIGNED };
	for (unsigned i = 0; i < c.k + c.m; i++)
		fu_region(&c.b[i], c.len, c.lay, NULL);
	encode(&c, "cpu");
	unsigned long before = _udma_ec_tables_built();
	for (int i = 0; i < 20; i++) {
		encode(&c, i % 2 ? "cpu" : NULL);
		update(&c, "cpu");
	}
	assert_int_equal(_udma_ec_tables_built(), before);
	c.m = 3; /* another shape: one more */
	for (unsigned i = 0; i < c.k + c.m; i++) {
		fu_region_free(&c.b[i]);
		fu_region(&c.b[i], c.len, c.lay, NULL);
	}
	encode(&c, "cpu");
	encode(&c, "cpu");
	assert_int_equal(_udma_ec_tables_built(), before + 1);
	for (unsigned i = 0; i < c.k + c.m; i++)
		fu_region_free(&c.b[i]);
}

int main(void)
{
	fu_mul_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_engines),
		cmocka_unit_test(test_ec_bad_input),
		cmocka_unit_test(test_tables_cached),
	};
	return tests_run(tests, NULL, NULL);
}
