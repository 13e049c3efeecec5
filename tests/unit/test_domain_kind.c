/*
 * A domain kind added the way docs/design.md ("Adding a domain kind") says:
 * a struct domain_kind table and a creator in this one file, against the
 * kind interface (lib/domain/domain_internal.h) and the public headers, and
 * nothing else of udma changed. "window" domains address a private buffer
 * by offset. The registry, the built-in operations, translation and the
 * mover then work on it unchanged, and destroy calls its fini.
 */
#include <stdlib.h>

#include "common.h"
#include "domain/domain_internal.h"

#define WIN 65536

struct window_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	char *buf;
};

static int finis;

static int window_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write, struct iovbuf *out)
{
	struct window_domain *w = (struct window_domain *)d;
	int err = 0;
	for (uint32_t i = 0; i < cnt && !err; i++) {
		uintptr_t off = (uintptr_t)iov[i].iov_base;
		if (off > WIN || iov[i].iov_len > WIN - off)
			return -ERANGE;
		err = _udma_iovbuf_push(out, w->buf + off, iov[i].iov_len);
	}
	return err;
}

static int window_from_local(struct udma_domain *d, const struct iovbuf *va, struct iovbuf *out)
{
	struct window_domain *w = (struct window_domain *)d;
	int err = 0;
	for (size_t i = 0; i < va->n && !err; i++) {
		char *p = va->v[i].iov_base;
		if (p < w->buf || p + va->v[i].iov_len > w->buf + WIN)
			return -EFAULT;
		err = _udma_iovbuf_push(out, (void *)(uintptr_t)(p - w->buf), va->v[i].iov_len);
	}
	return err;
}

static void window_fini(struct udma_domain *d)
{
	free(((struct window_domain *)d)->buf);
	finis++;
}

static const struct domain_kind window_kind = {
	.kind = UDMA_KIND_CUSTOM,
	.ops = &_udma_builtin_ops,
	.local_view = window_view,
	.from_local = window_from_local,
	.fini = window_fini,
};

static struct udma_domain *window_create(const char *id)
{
	struct window_domain *w = calloc(1, sizeof(*w));
	if (!w || !(w->buf = calloc(1, WIN)) || _udma_domain_init(&w->d, &window_kind, UDMA_DEV_DMA, id) ||
	    _udma_domain_publish(&w->d)) {
		if (w)
			free(w->buf);
		free(w);
		return NULL;
	}
	return &w->d;
}

static void test_new_kind_works_everywhere(void **state)
{
	struct udma_domain *d = window_create("window");
	char in[4096], out[4096];
	uint64_t seed = 7;
	assert_non_null(d);
	random_bytes(in, sizeof(in), &seed);

	/* the built-in operations, through the kind's local view */
	struct iovec at = { (void *)100, sizeof(in) }, l = { in, sizeof(in) }, back = { out, sizeof(out) };
	assert_int_equal(udma_domain_push(d, NULL, &at, 1, &l, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_pull(d, NULL, &at, 1, &back, 1, NULL, NULL), 0);
	assert_memory_equal(in, out, sizeof(in));
	struct iovec past = { (void *)(WIN - 8), 16 };
	assert_int_equal(udma_domain_pull(d, NULL, &past, 1, &back, 1, NULL, NULL), -ERANGE);

	/* translation into it, from the system domain: a VA inside -> its offset */
	size_t len;
	char *base;
	struct iovec first = { 0, 1 };
	struct udma_xlate_result r = { .size = sizeof(r) };
	struct iovbuf v;
	iovbuf_init(&v);
	assert_int_equal(_udma_domain_local_view(d, &first, 1, 0, &v), 0);
	base = v.v[0].iov_base;
	_udma_iovbuf_fini(&v);
	assert_int_equal(udma_domain_translate(udma_system_domain(), NULL, d, NULL, base + 300, 64, &r), 0);
	assert_int_equal((uintptr_t)r.iov.iov_base, 300);
	len = r.iov.iov_len;
	assert_int_equal(len, 64);

	/* the mover: a copy out of the window by domain offsets, resolved through the kind */
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_req *q = udma_req_alloc(s);
	struct iovec src = { (void *)100, 1000 };
	memset(out, 0, sizeof(out));
	q->flags = UDMA_REQ_WAIT;
	q->in[0] = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { .domain = d, .iov = &src, .cnt = 1 } };
	q->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { out, 1000 } };
	assert_int_equal(udma_submit(q), 0);
	assert_int_equal(q->status, 0);
	assert_memory_equal(in, out, 1000);
	udma_req_free(q);
	assert_int_equal(udma_session_destroy(s), 0);

	/* the registry: found by id, destroyed, its fini run once */
	struct udma_domain *it = udma_domain_first("window");
	assert_ptr_equal(it, d);
	udma_domain_put(it);
	assert_int_equal(udma_domain_destroy(d), 0);
	assert_int_equal(finis, 1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_new_kind_works_everywhere),
	};
	return tests_run(t, NULL, NULL);
}
