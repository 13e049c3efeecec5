/*
 * An engine of your own, written against <udma/backend.h> alone: here a
 * copy engine that does the work in software, as a driver for a real DMA
 * device would hand it to hardware. It is registered under a name, and a
 * session that names it sends every request to it.
 *
 * What an engine sees is a struct udma_work: the request's buffers already
 * resolved into iovec arrays in the engine's domain (NULL: this process's
 * VAs). It must finish each work it takes exactly once, udma_engine_done().
 */
#include <stdio.h>
#include <string.h>
#include <udma/udma.h>
#include <udma/backend.h>

static unsigned works_done;

/* Copy len bytes from one iovec list to another (they may split differently). */
static void copy_iovs(const struct iovec *dst, const struct iovec *src, size_t len)
{
	size_t di = 0, doff = 0, si = 0, soff = 0;

	while (len) {
		size_t n = dst[di].iov_len - doff;
		if (n > src[si].iov_len - soff)
			n = src[si].iov_len - soff;
		if (n > len)
			n = len;
		memcpy((char *)dst[di].iov_base + doff, (const char *)src[si].iov_base + soff, n);
		len -= n, doff += n, soff += n;
		if (doff == dst[di].iov_len)
			di++, doff = 0;
		if (soff == src[si].iov_len)
			si++, soff = 0;
	}
}

/* Take n works; this engine does each at once, so it always takes them all. */
static int my_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	(void)e;
	for (unsigned i = 0; i < n; i++) {
		copy_iovs(w[i]->out, w[i]->in[0], w[i]->len);
		works_done++;
		udma_engine_done(w[i], 0); /* exactly once per work */
	}
	return (int)n;
}

int main(void)
{
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = my_submit };
	struct udma_engine_desc desc = {
		.size = sizeof(desc),
		.name = "mycopy",                  /* what sessions name it by */
		.speed = 1000000000,               /* declared bytes/s; the scheduler learns the real one */
		.funcs = 1u << UDMA_FUNC_COPY,     /* what it can do */
		.ops = &ops,
	};
	struct udma_engine *e = udma_engine_register(&desc);
	struct udma_session_opts so = { .size = sizeof(so), .engine = "mycopy" }; /* chosen by name */
	struct udma_session *s = e ? udma_session_create(UDMA_FUNC_COPY, &so) : NULL;
	char src[8192], dst[8192] = { 0 };

	if (!s)
		return perror("setup"), 1;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 13);
	struct udma_req *r = udma_req_alloc(s);
	r->flags = UDMA_REQ_WAIT;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { src, sizeof(src) } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { dst, sizeof(dst) } };
	int err = udma_submit(r);
	int ok = !err && !r->status && !strcmp(r->engine, "mycopy") && !memcmp(src, dst, sizeof(src));
	printf("custom_engine: copy ran on \"%s\", %u work(s) done, data %s\n", err ? "-" : r->engine, works_done,
	       ok ? "checked" : "WRONG");
	udma_req_free(r);
	udma_session_destroy(s);
	/* Unregister waits until nothing of it is in flight. */
	if (udma_engine_unregister(e))
		return perror("udma_engine_unregister"), 1;
	return ok && works_done == 1 ? 0 : 1;
}
