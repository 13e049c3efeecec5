/* Seed 002 (SPDK DMA device framework) through <spdk/dma.h>, quoted. */
#include <pthread.h>
#include <spdk/dma.h>
#include "common.h"

/* enum spdk_dma_device_type { RDMA, DMA, ACCEL, VENDOR_SPECIFIC_TYPE_START = 1000,
 *   VENDOR_SPECIFIC_TYPE_END = VENDOR_SPECIFIC_TYPE_START + 999 } */
_Static_assert(SPDK_DMA_DEVICE_TYPE_RDMA == 0 && SPDK_DMA_DEVICE_TYPE_DMA == 1 && SPDK_DMA_DEVICE_TYPE_ACCEL == 2, "");
_Static_assert(SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_START == 1000, "");
_Static_assert(SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_END == 1999, "");
/* every struct carries its size first */
_Static_assert(offsetof(struct spdk_memory_domain_ctx, size) == 0, "");
_Static_assert(offsetof(struct spdk_memory_domain_rdma_ctx, ibv_pd) == sizeof(size_t), "");
_Static_assert(offsetof(struct spdk_memory_domain_translation_ctx, rdma.ibv_qp) == sizeof(size_t), "");
_Static_assert(offsetof(struct spdk_memory_domain_translation_result, iov_count) == sizeof(size_t), "");

static int ncb, rc_seen;
static void cpl(void *ctx, int rc)
{
	ncb++;
	rc_seen = rc;
	(void)ctx;
}

/* "#define SPDK_RDMA_DMA_DEVICE "SPDK_RDMA_DMA_DEVICE"" */
static void test_macro(void **state)
{
	assert_string_equal(SPDK_RDMA_DMA_DEVICE, "SPDK_RDMA_DMA_DEVICE");
}

/* "Creates a new memory domain of the specified type." "ctx: Optional memory domain context
 * to be copied by this function. Later ctx can be retrieved using spdk_memory_domain_get_context" */
static void test_create_and_context(void **state)
{
	struct spdk_memory_domain *d;
	struct spdk_memory_domain_rdma_ctx rctx = { .size = sizeof(rctx), .ibv_pd = (void *)0x1234 };
	struct spdk_memory_domain_ctx ctx = { .size = sizeof(ctx), .user_ctx = &rctx, .user_ctx_size = sizeof(rctx) };

	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_RDMA, &ctx, SPDK_RDMA_DMA_DEVICE), 0);
	assert_int_equal(spdk_memory_domain_get_dma_device_type(d), SPDK_DMA_DEVICE_TYPE_RDMA);
	assert_string_equal(spdk_memory_domain_get_dma_device_id(d), SPDK_RDMA_DMA_DEVICE);
	struct spdk_memory_domain_ctx *got = spdk_memory_domain_get_context(d);
	assert_non_null(got);
	assert_ptr_not_equal(got, &ctx); /* copied */
	assert_int_equal(got->user_ctx_size, sizeof(rctx));
	/* "Get an opaque pointer to the user context and its size." */
	size_t sz = 0;
	struct spdk_memory_domain_rdma_ctx *u = spdk_memory_domain_get_user_context(d, &sz);
	assert_int_equal(sz, sizeof(rctx));
	assert_ptr_equal(u->ibv_pd, (void *)0x1234);
	rctx.ibv_pd = NULL;
	assert_ptr_equal(u->ibv_pd, (void *)0x1234);
	spdk_memory_domain_destroy(d);

	/* no ctx: get_context gives NULL, get_user_context gives NULL */
	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "plain"), 0);
	assert_null(spdk_memory_domain_get_context(d));
	assert_null(spdk_memory_domain_get_user_context(d, &sz));
	spdk_memory_domain_destroy(d);
	spdk_memory_domain_destroy(NULL); /* harmless */
}

/* arguments are validated at run time (-EINVAL), not only by assertions */
static void test_create_bad(void **state)
{
	struct spdk_memory_domain *d;
	struct spdk_memory_domain_ctx zero = { 0 };
	assert_int_equal(spdk_memory_domain_create(NULL, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "x"), -EINVAL);
	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_DMA, &zero, "x"), -EINVAL);
	assert_int_equal(spdk_memory_domain_create(&d, 77, NULL, "x"), -EINVAL);
	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_DMA, NULL, NULL), -EINVAL);
	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_VENDOR_SPECIFIC_TYPE_END, NULL, "v"), 0);
	spdk_memory_domain_destroy(d);
}

/* An unset callback makes the operation return -ENOTSUP; invalidate is a no-op. */
static void test_unset_callbacks(void **state)
{
	struct spdk_memory_domain *d;
	char b[8];
	struct iovec v = { b, 8 };
	struct spdk_memory_domain_translation_result r = { .size = sizeof(r) };

	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "unset"), 0);
	assert_int_equal(spdk_memory_domain_pull_data(d, NULL, &v, 1, &v, 1, cpl, NULL), -ENOTSUP);
	assert_int_equal(spdk_memory_domain_push_data(d, NULL, &v, 1, &v, 1, cpl, NULL), -ENOTSUP);
	assert_int_equal(spdk_memory_domain_memzero(d, NULL, &v, 1, cpl, NULL), -ENOTSUP);
	assert_int_equal(spdk_memory_domain_transfer_data(d, NULL, &v, 1, d, NULL, &v, 1, NULL, cpl, NULL), -ENOTSUP);
	assert_int_equal(spdk_memory_domain_translate_data(d, NULL, d, NULL, b, 8, &r), -ENOTSUP);
	spdk_memory_domain_invalidate_data(d, NULL, &v, 1);
	spdk_memory_domain_destroy(d);
}

/* "Implementation of this function must call cpl_cb only when it returns 0." and
 * "Set pull function for memory domain. Overwrites existing pull function." */
static int pull_ok(struct spdk_memory_domain *src, void *sctx, struct iovec *si, uint32_t sc, struct iovec *di,
		   uint32_t dc, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	cb(arg, 0);
	return 0;
}
static int pull_fail(struct spdk_memory_domain *src, void *sctx, struct iovec *si, uint32_t sc, struct iovec *di,
		     uint32_t dc, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	return -EAGAIN;
}
static struct spdk_memory_domain *seen_dst;
static int xlate(struct spdk_memory_domain *src, void *sctx, struct spdk_memory_domain *dst,
		 struct spdk_memory_domain_translation_ctx *dctx, void *addr, size_t len,
		 struct spdk_memory_domain_translation_result *res)
{
	seen_dst = dst;
	res->iov_count = 1;
	res->iov = (struct iovec){ addr, len };
	res->dst_domain = dst;
	res->rdma.lkey = 11;
	res->rdma.rkey = dctx ? 22 : 0;
	return 0;
}
static int invalidated;
static void inval(struct spdk_memory_domain *d, void *ctx, struct iovec *iov, uint32_t n)
{
	invalidated += (int)n;
}
static int zeroed;
static int mz(struct spdk_memory_domain *d, void *ctx, struct iovec *iov, uint32_t n, spdk_memory_domain_data_cpl_cb cb,
	      void *arg)
{
	zeroed++;
	cb(arg, 0);
	return 0;
}
static int xfer(struct spdk_memory_domain *dst, void *dctx, struct iovec *di, uint32_t dc,
		struct spdk_memory_domain *src, void *sctx, struct iovec *si, uint32_t sc,
		struct spdk_memory_domain_translation_result *t, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	cb(arg, t ? (int)t->rdma.lkey : 0);
	return 0;
}
static int push_ok(struct spdk_memory_domain *dst, void *dctx, struct iovec *di, uint32_t dc, struct iovec *si,
		   uint32_t sc, spdk_memory_domain_data_cpl_cb cb, void *arg)
{
	cb(arg, 0);
	return 0;
}

static void test_callbacks(void **state)
{
	struct spdk_memory_domain *d;
	char b[8];
	struct iovec v = { b, 8 };
	struct spdk_memory_domain_translation_result r = { .size = sizeof(r) };
	struct spdk_memory_domain_translation_ctx qp = { .size = sizeof(qp), .rdma.ibv_qp = b };

	assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_RDMA, NULL, "cbs"), 0);
	spdk_memory_domain_set_pull(d, pull_fail);
	ncb = 0;
	assert_int_equal(spdk_memory_domain_pull_data(d, NULL, &v, 1, &v, 1, cpl, NULL), -EAGAIN);
	assert_int_equal(ncb, 0);
	spdk_memory_domain_set_pull(d, pull_ok);
	assert_int_equal(spdk_memory_domain_pull_data(d, NULL, &v, 1, &v, 1, cpl, NULL), 0);
	assert_int_equal(ncb, 1);
	spdk_memory_domain_set_push(d, push_ok);
	assert_int_equal(spdk_memory_domain_push_data(d, NULL, &v, 1, &v, 1, cpl, NULL), 0);
	assert_int_equal(ncb, 2);
	/* "This function calls src_domain translation callback" */
	spdk_memory_domain_set_translation(d, xlate);
	struct spdk_memory_domain *sys = spdk_memory_domain_get_system_domain();
	assert_int_equal(spdk_memory_domain_translate_data(d, NULL, sys, &qp, b, 8, &r), 0);
	assert_ptr_equal(seen_dst, sys);
	assert_int_equal(r.rdma.lkey, 11);
	assert_int_equal(r.rdma.rkey, 22);
	spdk_memory_domain_set_invalidate(d, inval);
	spdk_memory_domain_invalidate_data(d, NULL, &v, 1);
	assert_int_equal(invalidated, 1);
	spdk_memory_domain_set_memzero(d, mz);
	assert_int_equal(spdk_memory_domain_memzero(d, NULL, &v, 1, cpl, NULL), 0);
	assert_int_equal(zeroed, 1);
	/* transfer: "Optional memory translation from the source to the destination memory domain" */
	spdk_memory_domain_set_data_transfer(d, xfer);
	assert_int_equal(spdk_memory_domain_transfer_data(d, NULL, &v, 1, sys, NULL, &v, 1, &r, cpl, NULL), 0);
	assert_int_equal(rc_seen, 11);
	spdk_memory_domain_destroy(d);
}

/* spdk_memory_domain_get_first(NULL) returns the system domain; get_next filters by id */
static void test_iteration(void **state)
{
	struct spdk_memory_domain *a, *b, *c;
	assert_ptr_equal(spdk_memory_domain_get_first(NULL), spdk_memory_domain_get_system_domain());
	assert_string_equal(spdk_memory_domain_get_dma_device_id(spdk_memory_domain_get_system_domain()), "system");
	assert_int_equal(spdk_memory_domain_create(&a, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "it"), 0);
	assert_int_equal(spdk_memory_domain_create(&b, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "other"), 0);
	assert_int_equal(spdk_memory_domain_create(&c, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "it"), 0);
	/* "if set then this function returns the first memory domain which id matches or NULL" */
	assert_ptr_equal(spdk_memory_domain_get_first("it"), a);
	assert_ptr_equal(spdk_memory_domain_get_next(a, "it"), c);
	assert_null(spdk_memory_domain_get_next(c, "it"));
	assert_null(spdk_memory_domain_get_first("nope"));
	/* unfiltered walk sees all three after the system domain */
	int n = 0;
	for (struct spdk_memory_domain *d = spdk_memory_domain_get_first(NULL); d; d = spdk_memory_domain_get_next(d, NULL))
		n += d == a || d == b || d == c;
	assert_int_equal(n, 3);
	/* destroying the domain the iterator stands on: still a safe next step */
	struct spdk_memory_domain *it = spdk_memory_domain_get_first("it");
	spdk_memory_domain_destroy(a);
	assert_ptr_equal(spdk_memory_domain_get_next(it, "it"), c);
	spdk_memory_domain_destroy(b);
	spdk_memory_domain_destroy(c);
	assert_null(spdk_memory_domain_get_first("it"));
}

/* destroying the system domain is refused; its operations work */
static void test_system_domain(void **state)
{
	struct spdk_memory_domain *sys = spdk_memory_domain_get_system_domain();
	char a[16] = "system copy", b[16] = { 0 };
	struct iovec s = { a, 12 }, d = { b, 12 };

	spdk_memory_domain_destroy(sys);
	assert_ptr_equal(spdk_memory_domain_get_first(NULL), sys);
	ncb = 0;
	assert_int_equal(spdk_memory_domain_pull_data(sys, NULL, &s, 1, &d, 1, cpl, NULL), 0);
	assert_string_equal(b, "system copy");
	assert_int_equal(ncb, 1);
	assert_int_equal(spdk_memory_domain_memzero(sys, NULL, &d, 1, cpl, NULL), 0);
	assert_int_equal(b[0], 0);
	/* its callbacks cannot be replaced */
	spdk_memory_domain_set_pull(sys, pull_fail);
	assert_int_equal(spdk_memory_domain_pull_data(sys, NULL, &s, 1, &d, 1, cpl, NULL), 0);
}

/* a walk on another thread while this one creates and destroys */
static void *walker(void *arg)
{
	for (int i = 0; i < 2000; i++)
		for (struct spdk_memory_domain *d = spdk_memory_domain_get_first("churn"); d;
		     d = spdk_memory_domain_get_next(d, "churn"))
			assert_string_equal(spdk_memory_domain_get_dma_device_id(d), "churn");
	return NULL;
}

static void test_iteration_while_churning(void **state)
{
	pthread_t t;
	pthread_create(&t, NULL, walker, NULL);
	for (int i = 0; i < 2000; i++) {
		struct spdk_memory_domain *d;
		assert_int_equal(spdk_memory_domain_create(&d, SPDK_DMA_DEVICE_TYPE_DMA, NULL, "churn"), 0);
		spdk_memory_domain_destroy(d);
	}
	pthread_join(t, NULL);
	assert_null(spdk_memory_domain_get_first("churn"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_macro),
		cmocka_unit_test(test_create_and_context),
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_unset_callbacks),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_system_domain),
		cmocka_unit_test(test_iteration_while_churning),
	};
	return tests_run(tests, NULL, NULL);
}
