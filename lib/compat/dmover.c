/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed 004: NetBSD's dmover on udma. A dmover session is a udma session; a
 * dmover request wraps a udma request; a dmover back-end is registered as a
 * udma engine whose works are handed to it as dmover requests on
 * dmb_pendreqs. Kernel convention: 0 or a positive errno.
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <udma/backend.h>
#include <dev/dmover/dmovervar.h>

#include "../core/log.h"

/*
 * A session's request pool grows, as the kernel's pool(9) does: chunks of
 * requests, each with a udma session exactly as deep, the first FIRST_CHUNK
 * requests and each next one twice the last up to udma's deepest session.
 * A pooled request keeps one udma request of its chunk's session for life,
 * so taking a request never runs out of udma's slots; requests in flight are
 * bounded by memory alone.
 */
#define FIRST_CHUNK 256
#define MAX_CHUNK 65536

struct dmover_chunk {
	struct dmover_chunk *older;
	struct udma_session *udma;
	uint32_t n;
	struct dmover_request reqs[];
};

static void chunk_free(struct dmover_chunk *c)
{
	/* the kernel panics with requests pending; here they are let finish */
	while (udma_session_destroy(c->udma) == -EBUSY)
		sched_yield();
	free(c);
}

/* Add a chunk of n requests to the pool of ds (under its lock): 0 or a positive errno. */
static int chunk_add(struct dmover_session *ds, enum udma_func f, uint32_t n)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_CALLBACK, .depth = n,
				       .flags = UDMA_SESSION_SHARED }; /* dmover clients call in from any thread */
	struct dmover_chunk *c = calloc(1, sizeof(*c) + n * sizeof(c->reqs[0]));

	if (!c)
		return ENOMEM;
	c->udma = udma_session_create(f, &o);
	if (!c->udma) {
		int err = errno;
		free(c);
		return err == ENODEV ? ESRCH : err; /* as in the kernel: no back-end performs it */
	}
	c->n = n;
	for (uint32_t i = n; i-- > 0;) {
		c->reqs[i].__dreq_req = udma_req_alloc(c->udma);
		assert(c->reqs[i].__dreq_req); /* the session is exactly as deep as the chunk */
		c->reqs[i].__dreq_req->cookie = &c->reqs[i];
		c->reqs[i].__dreq_next = ds->__dses_free;
		ds->__dses_free = &c->reqs[i];
	}
	c->older = ds->__dses_chunks;
	ds->__dses_chunks = c;
	return 0;
}

/* ---- clients ------------------------------------------------------------------------- */

int dmover_session_create(const char *function, struct dmover_session **sessionp)
{
	struct dmover_session *ds;
	enum udma_func f;
	int err;

	if (!sessionp)
		return EINVAL;
	if (udma_func_by_name(function, &f))
		return ESRCH; /* as in the kernel: no back-end performs it */
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return ENOMEM;
	ds->__dses_lock = malloc(sizeof(pthread_mutex_t));
	err = ds->__dses_lock ? chunk_add(ds, f, FIRST_CHUNK) : ENOMEM;
	if (err) {
		free(ds->__dses_lock);
		free(ds);
		return err;
	}
	pthread_mutex_init(ds->__dses_lock, NULL);
	ds->dses_ninputs = udma_func_ninputs(f);
	*sessionp = ds;
	return 0;
}

void dmover_session_destroy(struct dmover_session *ds)
{
	if (!ds)
		return;
	for (struct dmover_chunk *c = ds->__dses_chunks, *older; c; c = older) {
		older = c->older;
		chunk_free(c);
	}
	pthread_mutex_destroy(ds->__dses_lock);
	free(ds->__dses_lock);
	free(ds);
}

struct dmover_request *dmover_request_alloc(struct dmover_session *ds, dmover_buffer *inbuf)
{
	struct dmover_request *dreq;
	int err = 0;

	if (!ds)
		return udma_fail_null(EINVAL, "NULL session");
	pthread_mutex_lock(ds->__dses_lock);
	if (!ds->__dses_free) {
		uint32_t n = ds->__dses_chunks->n * 2;
		err = chunk_add(ds, udma_session_func(ds->__dses_chunks->udma), n < MAX_CHUNK ? n : MAX_CHUNK);
	}
	dreq = ds->__dses_free;
	if (dreq)
		ds->__dses_free = dreq->__dreq_next;
	pthread_mutex_unlock(ds->__dses_lock);
	if (!dreq)
		return udma_fail_null(err, "cannot grow the request pool: %s", strerror(err));
	struct udma_req *r = dreq->__dreq_req;
	memset(dreq, 0, offsetof(struct dmover_request, __dreq_req));
	dreq->dreq_session = ds;
	/* the caller's array is the caller's: never freed here (the kernel's code did) */
	dreq->dreq_inbuf = inbuf ? inbuf : ds->dses_ninputs ? dreq->__dreq_inbufs : NULL;
	r->cookie = dreq;
	return dreq;
}

void dmover_request_free(struct dmover_request *dreq)
{
	if (!dreq || !dreq->dreq_session) {
		udma_dbg("NULL request, not from a session, or freed twice");
		return;
	}
	struct dmover_session *ds = dreq->dreq_session;
	struct udma_session *us = dreq->__dreq_req->session;
	/* freeing is udma's test of "not in flight"; the slot is taken again at once */
	if (udma_req_free(dreq->__dreq_req)) {
		udma_err("dmover_request_free: request %p is still in flight; not freed", (void *)dreq);
		return;
	}
	dreq->__dreq_req = udma_req_alloc(us);
	assert(dreq->__dreq_req); /* the slot just freed, or another of the chunk's */
	dreq->__dreq_req->cookie = dreq;
	dreq->dreq_session = NULL; /* a second free is refused */
	pthread_mutex_lock(ds->__dses_lock);
	dreq->__dreq_next = ds->__dses_free;
	ds->__dses_free = dreq;
	pthread_mutex_unlock(ds->__dses_lock);
}

static struct udma_buf to_udma(dmover_buffer_type t, const dmover_buffer *b)
{
	switch (t) {
	case DMOVER_BUF_NONE:
		return (struct udma_buf){ .type = UDMA_BUF_NONE };
	case DMOVER_BUF_LINEAR:
		return (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { b->dmbuf_linear.l_addr, b->dmbuf_linear.l_len } };
	case DMOVER_BUF_UIO:
		if (b->dmbuf_uio && b->dmbuf_uio->uio_iovcnt >= 0)
			return (struct udma_buf){ .type = UDMA_BUF_IOV,
						  .iov = { b->dmbuf_uio->uio_iov, (uint32_t)b->dmbuf_uio->uio_iovcnt } };
		break;
	}
	return (struct udma_buf){ .type = (enum udma_buf_type)-1 }; /* refused by udma_submit */
}

static void finish(struct dmover_request *dreq, int status)
{
	struct udma_req *r = dreq->__dreq_req;
	void (*cb)(struct dmover_request *) = dreq->dreq_callback;

	if (status) {
		dreq->dreq_error = -status;
		dreq->dreq_flags |= DMOVER_REQ_ERROR;
	} else {
		memcpy(dreq->dreq_immediate, r->imm, sizeof(dreq->dreq_immediate)); /* crc results */
	}
	dreq->dreq_assignment = NULL;
	__atomic_store_n(&dreq->dreq_flags, (dreq->dreq_flags & ~DMOVER_REQ_RUNNING) | DMOVER_REQ_DONE, __ATOMIC_RELEASE);
	if (cb)
		cb(dreq);
}

static void trampoline(struct udma_req *r)
{
	finish(r->cookie, r->status);
}

void dmover_process(struct dmover_request *dreq)
{
	if (!dreq || !dreq->__dreq_req) {
		udma_dbg("NULL request or not from a session");
		return;
	}
	struct udma_req *r = dreq->__dreq_req;
	int wait = dreq->dreq_flags & DMOVER_REQ_WAIT;

	dreq->dreq_flags = wait | DMOVER_REQ_RUNNING;
	dreq->dreq_error = 0;
	dreq->__dreq_assignment = (struct dmover_assignment){ 0 };
	dreq->dreq_assignment = &dreq->__dreq_assignment;
	if (wait && dreq->dreq_callback) { /* the kernel panics (DIAGNOSTIC); here it is an error */
		dreq->dreq_callback = NULL;
		finish(dreq, -EINVAL);
		return;
	}
	r->flags = wait ? UDMA_REQ_WAIT : 0;
	r->cb = wait ? NULL : trampoline;
	memcpy(r->imm, dreq->dreq_immediate, sizeof(r->imm));
	r->out = to_udma(dreq->dreq_outbuf_type, (const dmover_buffer *)&dreq->dreq_outbuf.dmbuf_linear);
	for (int j = 0; j < dreq->dreq_session->dses_ninputs; j++)
		r->in[j] = dreq->dreq_inbuf ? to_udma(dreq->dreq_inbuf_type, &dreq->dreq_inbuf[j])
					    : (struct udma_buf){ .type = (enum udma_buf_type)-1 };
	int err = udma_submit(r);
	if (err)
		finish(dreq, err);
	else if (wait)
		finish(dreq, r->status);
}

/* ---- back-ends ------------------------------------------------------------------------- */

static pthread_mutex_t *be_lock(struct dmover_backend *b)
{
	return b->__dmb_lock;
}

/* Describe a work's iovec array as a dmover buffer of type t. */
static void to_dmover(dmover_buffer *b, struct uio *u, dmover_buffer_type t, struct iovec *iov, uint32_t cnt,
		      size_t len)
{
	if (t == DMOVER_BUF_LINEAR) {
		b->dmbuf_linear = (dmover_buf_linear){ cnt ? iov[0].iov_base : NULL, len };
		return;
	}
	*u = (struct uio){ .uio_iov = iov, .uio_iovcnt = (int)cnt, .uio_resid = len };
	b->dmbuf_uio = u;
}

static int be_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	struct dmover_backend *b = udma_engine_priv(e);

	for (unsigned i = 0; i < n; i++) {
		struct udma_work *wk = w[i];
		struct dmover_request *d = calloc(1, sizeof(*d)); /* the back-end's copy of the request */
		if (!d)
			return i ? (int)i : -ENOMEM;
		const char *fname = udma_func_name(wk->func);
		for (int a = 0; a < b->dmb_nalgdescs; a++)
			if (!strcmp(b->dmb_algdescs[a].dad_name, fname))
				d->__dreq_assignment = (struct dmover_assignment){ b, &b->dmb_algdescs[a] };
		d->dreq_assignment = &d->__dreq_assignment;
		d->__dreq_work = wk;
		memcpy(d->dreq_immediate, wk->req->imm, sizeof(d->dreq_immediate));
		/* one buffer type for all regions: linear if every one is a single piece */
		int linear = !wk->out || wk->out_cnt == 1;
		for (uint32_t j = 0; j < wk->ninputs; j++)
			linear &= wk->in_cnt[j] == 1;
		dmover_buffer_type t = linear ? DMOVER_BUF_LINEAR : DMOVER_BUF_UIO;
		d->dreq_outbuf_type = wk->out ? t : DMOVER_BUF_NONE;
		if (wk->out)
			to_dmover((dmover_buffer *)&d->dreq_outbuf.dmbuf_linear, &d->__dreq_uio[0], t, wk->out, wk->out_cnt,
				  wk->len);
		d->dreq_inbuf_type = t;
		d->dreq_inbuf = d->__dreq_inbufs;
		for (uint32_t j = 0; j < wk->ninputs; j++)
			to_dmover(&d->__dreq_inbufs[j], &d->__dreq_uio[1 + j], t, wk->in[j], wk->in_cnt[j], wk->len);
		d->dreq_flags = DMOVER_REQ_RUNNING;
		/* The lock plays the kernel's splbio: dmb_process runs under it. It is
		 * recursive because a completion may submit again from inside. */
		pthread_mutex_lock(be_lock(b));
		TAILQ_INSERT_TAIL(&b->dmb_pendreqs, d, dreq_dmbq);
		b->dmb_npendreqs++;
		b->dmb_process(b);
		pthread_mutex_unlock(be_lock(b));
	}
	return (int)n;
}

static int be_reclaim(struct udma_engine *e, struct udma_work **w, unsigned max)
{
	struct dmover_backend *b = udma_engine_priv(e);
	struct dmover_request *d;
	unsigned n = 0;

	pthread_mutex_lock(be_lock(b));
	while (n < max && (d = TAILQ_FIRST(&b->dmb_pendreqs))) {
		TAILQ_REMOVE(&b->dmb_pendreqs, d, dreq_dmbq);
		b->dmb_npendreqs--;
		w[n++] = d->__dreq_work;
		free(d);
	}
	pthread_mutex_unlock(be_lock(b));
	return (int)n;
}

static const struct udma_engine_ops be_ops = {
	.size = sizeof(be_ops),
	.submit = be_submit,
	.reclaim = be_reclaim,
};

void dmover_backend_register(struct dmover_backend *b)
{
	uint32_t funcs = 0;

	if (!b || !b->dmb_name || !b->dmb_process) {
		udma_err("dmover_backend_register: NULL back-end, name or dmb_process");
		return;
	}
	for (int a = 0; a < b->dmb_nalgdescs; a++) {
		enum udma_func f;
		const struct dmover_algdesc *ad = &b->dmb_algdescs[a];
		if (udma_func_by_name(ad->dad_name, &f) || udma_func_ninputs(f) != ad->dad_ninputs) {
			udma_warn("back-end %s: skipping \"%s\" with %d inputs (unknown, or the wrong input count)",
				  b->dmb_name, ad->dad_name ? ad->dad_name : "", ad->dad_ninputs);
			continue;
		}
		funcs |= 1u << f;
	}
	TAILQ_INIT(&b->dmb_pendreqs);
	b->dmb_npendreqs = 0;
	LIST_INIT(&b->dmb_sessions);
	b->dmb_nsessions = 0;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	b->__dmb_lock = malloc(sizeof(pthread_mutex_t));
	if (!b->__dmb_lock || !funcs) {
		udma_err("dmover_backend_register: %s has no usable function or no memory", b->dmb_name);
		free(b->__dmb_lock);
		b->__dmb_lock = NULL;
		return;
	}
	pthread_mutex_init(b->__dmb_lock, &ma);
	pthread_mutexattr_destroy(&ma);
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = b->dmb_name,
		.speed = (uint64_t)(b->dmb_speed ? b->dmb_speed : 1) * 1024, /* KB/s to B/s */
		.funcs = funcs,
		.ops = &be_ops,
		.priv = b,
	};
	b->__dmb_engine = udma_engine_register(&d);
	if (!b->__dmb_engine) {
		udma_err("dmover_backend_register: %s: %s", b->dmb_name, strerror(errno));
		pthread_mutex_destroy(b->__dmb_lock);
		free(b->__dmb_lock);
		b->__dmb_lock = NULL;
	}
}

void dmover_backend_unregister(struct dmover_backend *b)
{
	if (!b || !b->__dmb_engine) {
		udma_err("dmover_backend_unregister: back-end not registered");
		return;
	}
	/* pending requests move to another back-end (the kernel panicked here) */
	udma_engine_unregister(b->__dmb_engine);
	b->__dmb_engine = NULL;
	pthread_mutex_destroy(b->__dmb_lock);
	free(b->__dmb_lock);
	b->__dmb_lock = NULL;
}

void dmover_done(struct dmover_request *d)
{
	if (!d || !d->__dreq_work) {
		udma_err("dmover_done: %p is not a request handed to a back-end", (void *)d);
		return;
	}
	struct udma_work *w = d->__dreq_work;
	int status = (d->dreq_flags & DMOVER_REQ_ERROR) ? -(d->dreq_error ? d->dreq_error : EIO) : 0;
	if (!status)
		memcpy(w->req->imm, d->dreq_immediate, sizeof(d->dreq_immediate));
	free(d);
	udma_engine_done(w, status);
}
