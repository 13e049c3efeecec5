/* dualcast and compare-pattern against references written here: random
 * data, odd lengths, unaligned and scatter-gather buffers, cpu and threads
 * engines; bad buffers. */
#include "funcs_util.h"

static void dualcast_all(const char *engine)
{
	struct udma_session *s = fu_session(UDMA_FUNC_DUALCAST, engine);
	for (size_t li = 0; li < FU_NLENS; li++)
		for (int lay = 0; lay < FU_LAYOUTS; lay++) {
			struct udma_req *r = udma_req_alloc(s);
			struct fu_region in, a, b;
			size_t len = fu_lens[li] + (size_t)lay; /* odd lengths too */
			fu_region(&in, len, (enum fu_layout)lay, &r->in[0]);
			fu_region(&a, len, (enum fu_layout)lay, &r->outs[0]);
			fu_region(&b, len, (enum fu_layout)lay, &r->outs[1]);
			assert_int_equal(fu_run(r), 0);
			if (memcmp(a.p, in.p, len) || memcmp(b.p, in.p, len))
				fail_msg("dualcast of %zu bytes (layout %d) on %s: outputs differ from the input", len, lay,
					 engine);
			fu_region_free(&in);
			fu_region_free(&a);
			fu_region_free(&b);
			udma_req_free(r);
		}
	udma_session_destroy(s);
}

static uint64_t ref_compare_pattern(const uint8_t *p, size_t len, const uint8_t pat[8])
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat[i % 8])
			return i;
	return UDMA_CMP_EQUAL;
}

static void compare_pattern_all(const char *engine)
{
	struct udma_session *s = fu_session(UDMA_FUNC_COMPARE_PATTERN, engine);
	for (size_t li = 0; li < FU_NLENS; li++)
		for (int lay = 0; lay < FU_LAYOUTS; lay++)
			for (int variant = 0; variant < 3; variant++) { /* equal, one byte off, random */
				struct udma_req *r = udma_req_alloc(s);
				struct fu_region in;
				size_t len = fu_lens[li] + (size_t)lay;
				fu_region(&in, len, (enum fu_layout)lay, &r->in[0]);
				for (int i = 0; i < 8; i++)
					r->imm[i] = (uint8_t)fu_rnd();
				if (variant < 2)
					for (size_t i = 0; i < len; i++)
						in.p[i] = (char)r->imm[i % 8];
				if (variant == 1 && len)
					in.p[fu_rnd() % len] ^= 0x40;
				uint8_t pat[8];
				memcpy(pat, r->imm, 8);
				assert_int_equal(fu_run(r), 0);
				assert_int_equal(r->result, ref_compare_pattern((uint8_t *)in.p, len, pat));
				fu_region_free(&in);
				udma_req_free(r);
			}
	udma_session_destroy(s);
}

static void both(const char *engine)
{
	dualcast_all(engine);
	compare_pattern_all(engine);
}

static void test_engines(void **state)
{
	fu_on_engines(both);
}

static void test_bad_buffers(void **state)
{
	struct udma_session *s = fu_session(UDMA_FUNC_DUALCAST, "cpu");
	struct udma_req *r = udma_req_alloc(s);
	char in[64], a[128], b[64];

	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { in, 64 } };
	r->outs[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a, 64 } };
	r->outs[1] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { a + 8, 32 } };
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL); /* lengths differ */
	log_capture_stop();
	assert_logged("lengths differ");
	r->outs[1].linear.len = 64;
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL); /* the outputs overlap */
	log_capture_stop();
	assert_logged("overlap");
	r->outs[1] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b, 64 } };
	r->out = r->outs[1];
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL); /* req->out is not where its outputs go */
	log_capture_stop();
	assert_logged("req->outs[]");
	r->out = (struct udma_buf){ .type = UDMA_BUF_NONE };
	assert_int_equal(fu_run(r), 0);

	/* a domain whose local addresses are not VAs: refused, not bounced */
	struct udma_domain *dev = test_domain(UDMA_ADDR_IOMMU);
	struct udma_mem m;
	assert_non_null(dev);
	assert_int_equal(udma_mem_alloc(dev, 4096, NULL, &m), 0);
	size_t l = 64;
	struct iovec dv = { (void *)(uintptr_t)udma_va_to_iova(dev, m.va, &l), 64 };
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { dev, NULL, &dv, 1 } };
	log_capture_start();
	assert_int_equal(fu_run(r), -EINVAL);
	log_capture_stop();
	assert_logged("must be local");
	udma_mem_free(dev, m.va, m.len);
	assert_int_equal(udma_domain_destroy(dev), 0);
	udma_req_free(r);
	udma_session_destroy(s);
}

/* An engine registered with the first ABI's 32-bit mask alone does the old
 * functions only; funcs64 must agree with funcs. */
static int nop_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], 0);
	return (int)n;
}

static void test_engine_masks(void **state)
{
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = nop_submit };
	struct udma_engine_desc d = { .size = offsetof(struct udma_engine_desc, funcs64), .name = "old-abi",
				      .speed = 1, .funcs = 1u << UDMA_FUNC_COPY, .ops = &ops };
	d.funcs64 = ~0ull; /* past the old size: never read */
	struct udma_engine *e = udma_engine_register(&d);
	assert_non_null(e);
	struct udma_session_opts o = { .size = sizeof(o), .engine = "old-abi" };
	assert_null(udma_session_create(UDMA_FUNC_DUALCAST, &o));
	assert_int_equal(errno, ENODEV);
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	assert_non_null(s);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);

	d.size = sizeof(d);
	d.name = "mismatch";
	d.funcs64 = 1ull << UDMA_FUNC_DUALCAST; /* says no copy, funcs says copy */
	assert_null(udma_engine_register(&d));
	assert_int_equal(errno, EINVAL);
	d.funcs64 = 1ull << UDMA_FUNC_END;
	d.funcs = 0;
	assert_null(udma_engine_register(&d));
	assert_int_equal(errno, EINVAL);
	d.funcs64 = 1ull << UDMA_FUNC_DUALCAST;
	e = udma_engine_register(&d);
	assert_non_null(e);
	o.engine = "mismatch";
	s = udma_session_create(UDMA_FUNC_DUALCAST, &o);
	assert_non_null(s);
	udma_session_destroy(s);
	assert_int_equal(udma_engine_unregister(e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_bad_buffers),
		cmocka_unit_test(test_engine_masks),
	};
	return tests_run(tests, NULL, NULL);
}
