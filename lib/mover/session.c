/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions and requests: the pool (an ABA-tagged lock-free stack of slots,
 * so a callback on an engine thread may free while the client allocates),
 * validation and resolution of buffers, dispatch to the chosen engine, and
 * delivery of completions by callback, by waiting, or through the session's
 * MPSC completion queue in POLL mode.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/check.h"
#include "../core/elem_index.h"
#include "../core/mpsc.h"
#include "../core/ptrset.h"
#include "../core/tstack.h"
#include "../domain/domain_internal.h"
#include "mover_internal.h"

/* The request path's small steps, inlined where they are called. */
#define HOT static inline __attribute__((always_inline))

/* ---- completion queues --------------------------------------------------------- */

/* The completers' queue (POLL mode): lib/core/mpsc.h, head on the driver's line. */
static void cq_push(struct udma_session *s, struct mpsc_node *n)
{
	mpsc_push(&s->cq_tail, n);
}

static struct mpsc_node *cq_pop(struct udma_session *s)
{
	return mpsc_pop(&s->cq_head, &s->cq_tail, &s->cq_stub);
}

/* The driver's own completion queue, its thread only: a ring of slots in
 * completion order (each request at most once: depth of them at most).
 * The reap reads it as an array; a chain would make each step wait for
 * the load of the one before. */
static void lq_put_n(struct udma_session *s, struct slot *const *sl, uint32_t n)
{
	uint32_t t = s->lq_head + s->lq_n, d = s->depth;

	UDMA_ASSERT(s->lq_n + n <= d);
	t = t < d ? t : t - d;
	uint32_t first = d - t < n ? d - t : n; /* up to the ring's end, the rest from its start */
	memcpy(s->lq + t, sl, first * sizeof(*sl));
	memcpy(s->lq, sl + first, (n - first) * sizeof(*sl));
	s->lq_n += n;
}

static void lq_put(struct udma_session *s, struct slot *sl)
{
	lq_put_n(s, &sl, 1);
}

static struct slot *lq_pop(struct udma_session *s)
{
	if (!s->lq_n)
		return NULL;
	struct slot *sl = s->lq[s->lq_head];
	s->lq_head = s->lq_head + 1 < s->depth ? s->lq_head + 1 : 0;
	s->lq_n--;
	return sl;
}

/* ---- who is calling ---------------------------------------------------------------- */

/*
 * The thread driving a session counts and checks with plain loads and
 * stores; a completion made inside the driver's own submit or poll goes
 * straight to the client without waking anyone or guarding against a
 * destroy (the only thread that may destroy is busy here). Callbacks that
 * run on other threads, and SHARED sessions, take the atomic paths.
 */
static MOVER_TLS struct udma_session *tl_driving; /* inside submit/poll as this session's driver */
static MOVER_TLS unsigned tl_elsewhere;           /* inside a callback run off the driver's path */

static int is_driver(const struct udma_session *s)
{
	return !s->shared && !tl_elsewhere;
}

/* Bump a counter the driver owns: a plain load and store, never lost to
 * another writer (there is none), readable from any thread. */
static void own_add(unsigned *c, unsigned v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static void count_submit(struct udma_session *s, int driver, unsigned v)
{
	if (driver)
		own_add(&s->nsub, v);
	else
		__atomic_add_fetch(&s->nsub_x, v, __ATOMIC_SEQ_CST);
}

/* ---- the pool -------------------------------------------------------------------- */

/* Only the driver touches the pool of a POLL-mode session (its callbacks
 * run in its poll): plain loads and stores suffice. In CALLBACK mode a
 * callback on an engine thread may free while the driver allocates. */
static int pool_solo(const struct udma_session *s)
{
	return s->mode == UDMA_COMPL_POLL && !s->shared;
}

#define SLOTS(s) (s)->slots, sizeof(struct slot), offsetof(struct slot, free_next)

static struct slot *pool_pop(struct udma_session *s)
{
	int64_t i = pool_solo(s) ? tstack_pop_solo(&s->free_head, SLOTS(s)) : tstack_pop(&s->free_head, SLOTS(s));
	return i < 0 ? NULL : &s->slots[i];
}

static void pool_push(struct udma_session *s, struct slot *sl)
{
	if (pool_solo(s))
		tstack_push_solo(&s->free_head, SLOTS(s), sl->index);
	else
		tstack_push(&s->free_head, SLOTS(s), sl->index);
}

/* req as a slot of s, or NULL if it is not one (NULL and addresses below
 * the slots wrap around to large offsets). */
static struct slot *slot_in(const struct udma_session *s, const struct udma_req *req)
{
	uintptr_t off = (uintptr_t)req - (uintptr_t)s->slots;
	if (off >= (uintptr_t)s->depth * sizeof(struct slot) || off % sizeof(struct slot))
		return NULL;
	return (struct slot *)req;
}

static struct slot *slot_of(struct udma_req *req)
{
	return req && req->session ? slot_in(req->session, req) : NULL;
}

/* ---- sessions ------------------------------------------------------------------- */

/* Sessions not yet destroyed: a second destroy is refused, not a use after free. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ptrset live;

struct udma_session *udma_session_create(enum udma_func func, const struct udma_session_opts *uo)
{
	struct udma_session_opts o = { .size = sizeof(o) };
	struct udma_session *s;
	int ninputs = udma_func_ninputs(func);

	if (ninputs < 0)
		return udma_fail_null(EINVAL, "unknown function %d", (int)func);
	_udma_engines_default();
	if (uo) {
		if (uo->size < offsetof(struct udma_session_opts, mode) + sizeof(o.mode))
			return udma_fail_null(EINVAL, "opts->size %zu too small", uo->size);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	/* fields past the caller's size keep their defaults (flags 0) */
	if (o.flags & ~UDMA_SESSION_SHARED)
		return udma_fail_null(EINVAL, "unknown session flags 0x%x", o.flags);
	if (o.mode != UDMA_COMPL_CALLBACK && o.mode != UDMA_COMPL_POLL)
		return udma_fail_null(EINVAL, "unknown completion mode %d", (int)o.mode);
	if (!o.depth)
		o.depth = 256;
	if (o.depth > 65536)
		return udma_fail_null(EINVAL, "depth %u above 65536", o.depth);
	s = zalloc_lines(sizeof(*s)); /* aligned as its type says */
	if (!s)
		return udma_fail_null(ENOMEM, "out of memory");
	s->shared = !!(o.flags & UDMA_SESSION_SHARED);
	s->efd = -1;
	s->func = func;
	s->ninputs = ninputs;
	s->mode = o.mode;
	s->depth = o.depth;
	if (o.engine && strcmp(o.engine, "auto")) {
		s->pinned = _udma_engine_by_name(o.engine);
		if (!s->pinned || !(s->pinned->funcs >> func & 1)) {
			free(s);
			return udma_fail_null(ENODEV, "no engine \"%s\" that performs %s", o.engine, udma_func_name(func));
		}
	}
	s->slots = calloc(o.depth, sizeof(*s->slots));
	s->lq = calloc(o.depth, sizeof(*s->lq));
	if (!s->slots || !s->lq || (func >= UDMA_FUNC_COUNT && !(s->multi = calloc(o.depth, sizeof(*s->multi))))) {
		free(s->lq);
		free(s->slots);
		free(s);
		return udma_fail_null(ENOMEM, "out of memory for %u requests", o.depth);
	}
	for (uint32_t i = o.depth; i-- > 0;) {
		s->slots[i].index = i;
		s->slots[i].mx = s->multi ? &s->multi[i] : NULL;
		pool_push(s, &s->slots[i]);
	}
	mpsc_init(&s->cq_head, &s->cq_tail, &s->cq_stub);
	pthread_mutex_lock(&live_lock);
	int err = _udma_ptrset_add(&live, s);
	pthread_mutex_unlock(&live_lock);
	if (err) {
		free(s->multi);
		free(s->lq);
		free(s->slots);
		free(s);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	return s;
}

int udma_session_destroy(struct udma_session *s)
{
	if (!s)
		return udma_fail(EINVAL, "NULL session");
	pthread_mutex_lock(&live_lock);
	unsigned n = _udma_ptrset_has(&live, s) ? udma_session_inflight(s) : UINT_MAX;
	if (!n)
		_udma_ptrset_del(&live, s);
	pthread_mutex_unlock(&live_lock);
	if (n == UINT_MAX)
		return udma_fail(EINVAL, "%p is not a session (never created, or destroyed)", (void *)s);
	if (n)
		return udma_fail(EBUSY, "session has %u requests in flight", n);
	/* a completer may still be on its way out (waking waiters): a few instructions */
	while (__atomic_load_n(&s->touching, __ATOMIC_SEQ_CST))
		sched_yield();
	for (uint32_t i = 0; i < s->depth; i++) {
		struct slot *sl = &s->slots[i];
		if (sl->ext) {
			_udma_iovbuf_fini(&sl->ext->out);
			for (int j = 0; j < UDMA_MAX_INPUTS; j++)
				_udma_iovbuf_fini(&sl->ext->in[j]);
			free(sl->ext);
		}
		if (sl->bounce) {
			free(sl->bounce->mem);
			free(sl->bounce);
		}
	}
	if (s->efd >= 0)
		close(s->efd);
	free(s->multi);
	free(s->lq);
	free(s->slots);
	free(s);
	return 0;
}

int udma_session_fd(struct udma_session *s)
{
	if (!s || s->mode != UDMA_COMPL_POLL)
		return udma_fail(EINVAL, "a pollable fd is for POLL-mode sessions");
	int fd = __atomic_load_n(&s->efd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return udma_fail(errno, "eventfd: %s", strerror(errno));
	int none = -1;
	if (!__atomic_compare_exchange_n(&s->efd, &none, fd, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd); /* another thread made one first */
		return none;
	}
	/* a completion queued before completers could see the fd: say so */
	if (udma_session_inflight(s))
		eventfd_write(fd, 1);
	return fd;
}

/* A completion waits to be polled: wake a client sleeping on the session's fd. */
static void notify_fd(struct udma_session *s)
{
	int fd = __atomic_load_n(&s->efd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		eventfd_write(fd, 1);
}

enum udma_func udma_session_func(const struct udma_session *s)
{
	return s ? s->func : UDMA_FUNC_COUNT;
}

int udma_session_ninputs(const struct udma_session *s)
{
	return s ? s->ninputs : udma_fail(EINVAL, "NULL session");
}

unsigned udma_session_inflight(const struct udma_session *s)
{
	if (!s)
		return 0;
	/* deliveries first: a callback that submits does so before its own
	 * delivery is counted, so its submissions are seen too */
	unsigned done = __atomic_load_n(&s->ndone_x, __ATOMIC_SEQ_CST) + __atomic_load_n(&s->ndone, __ATOMIC_RELAXED);
	unsigned sub = __atomic_load_n(&s->nsub_x, __ATOMIC_SEQ_CST) + __atomic_load_n(&s->nsub, __ATOMIC_RELAXED);
	return sub - done;
}

struct udma_req *udma_req_alloc(struct udma_session *s)
{
	if (!s)
		return udma_fail_null(EINVAL, "NULL session");
	struct slot *sl = pool_pop(s);
	if (!sl)
		return udma_fail_null(ENOBUFS, "all %u requests of the session are in use", s->depth);
	/* field by field, not memset: gcc makes a memset of the whole request
	 * `rep stos`, whose start-up costs more than the rest of the path */
	struct udma_req *r = &sl->req;
	r->session = s;
	r->flags = 0;
	r->cb = NULL;
	r->cookie = NULL;
	memset(r->imm, 0, sizeof(r->imm));
	r->out = (struct udma_buf){ .type = UDMA_BUF_NONE };
	r->in = sl->inbuf;
	r->status = 0;
	r->result = 0;
	r->done = 0;
	r->engine = NULL;
	r->outs = NULL;
	r->params = NULL;
	if (sl->mx) { /* a later function's request: its own arrays */
		memset(sl->mx->inbuf, 0, sizeof(sl->mx->inbuf));
		memset(sl->mx->outbuf, 0, sizeof(sl->mx->outbuf));
		r->in = sl->mx->inbuf;
		r->outs = sl->mx->outbuf;
		sl->submitted = 0;
		__atomic_store_n(&sl->state, SLOT_OWNED, __ATOMIC_RELAXED);
		return r;
	}
	/* the first input apart: gcc makes the loop a call to memset */
	if (s->ninputs)
		sl->inbuf[0] = (struct udma_buf){ .type = UDMA_BUF_NONE };
	for (int j = 1; j < s->ninputs; j++)
		sl->inbuf[j] = (struct udma_buf){ .type = UDMA_BUF_NONE };
	sl->submitted = 0;
	__atomic_store_n(&sl->state, SLOT_OWNED, __ATOMIC_RELAXED);
	return &sl->req;
}

/* Move a slot from state *from to `to`: the driver's own check and store, or
 * a CAS where another thread may race (a callback elsewhere). On failure
 * *from holds the state found. */
HOT int claim(struct slot *sl, int *from, int to, int driver)
{
	if (!driver)
		return __atomic_compare_exchange_n(&sl->state, from, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	int st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
	if (st != *from) {
		*from = st;
		return 0;
	}
	__atomic_store_n(&sl->state, to, __ATOMIC_RELAXED);
	return 1;
}

int udma_req_free(struct udma_req *req)
{
	struct slot *sl = slot_of(req);
	if (!sl)
		return udma_fail(EINVAL, "%p is not a request of a session", (void *)req);
	int st = SLOT_OWNED;
	if (!claim(sl, &st, SLOT_FREE, is_driver(req->session)))
		return st == SLOT_FREE ? udma_fail(EINVAL, "request %p freed twice", (void *)req)
				       : udma_fail(EBUSY, "request %p is in flight", (void *)req);
	pool_push(req->session, sl);
	return 0;
}

/* ---- buffers ----------------------------------------------------------------------- */

static struct iovbuf *ext_buf(struct slot *sl, int which)
{
	if (!sl->ext) {
		sl->ext = malloc(sizeof(*sl->ext));
		if (!sl->ext)
			return NULL;
		iovbuf_init(&sl->ext->out);
		for (int j = 0; j < UDMA_MAX_INPUTS; j++)
			iovbuf_init(&sl->ext->in[j]);
	}
	struct iovbuf *b = which < 0 ? &sl->ext->out : &sl->ext->in[which];
	b->n = 0;
	return b;
}

/* Local pieces: none at NULL, none reaching past user space (iov_piece_bad()). */
static int local_pieces_ok(const struct iovec *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (iov_piece_bad(&v[i]))
			return udma_fail(EINVAL, "piece %u [%p, +%zu) is NULL, wraps or reaches past user space", i,
					 v[i].iov_base, v[i].iov_len);
	}
	return 0;
}

/* Resolve one buffer into iovecs (which: -1 output, else input index). */
static int resolve(struct slot *sl, const struct udma_buf *b, int which, struct iovec **iov, uint32_t *cnt,
		   struct udma_domain **dom, size_t *len)
{
	struct iovec *lin = which < 0 ? &sl->lin_out : &sl->lin_in[which];
	int err;

	*dom = NULL;
	switch (b->type) {
	case UDMA_BUF_LINEAR:
		*lin = (struct iovec){ b->linear.addr, b->linear.len };
		if ((err = local_pieces_ok(lin, 1)))
			return err;
		*iov = lin;
		*cnt = 1;
		*len = b->linear.len;
		return 0;
	case UDMA_BUF_IOV:
		if ((err = _udma_iov_total(b->iov.iov, b->iov.cnt, len)) || (err = local_pieces_ok(b->iov.iov, b->iov.cnt)))
			return err;
		*iov = b->iov.iov;
		*cnt = b->iov.cnt;
		return 0;
	case UDMA_BUF_DOMAIN: {
		struct udma_domain *d = b->dom.domain;
		if (!d)
			return udma_fail(EINVAL, "domain buffer without a domain");
		if ((err = _udma_iov_total(b->dom.iov, b->dom.cnt, len)))
			return err;
		if (d->k->local_is_va) {
			if ((err = local_pieces_ok(b->dom.iov, b->dom.cnt)))
				return err;
			*iov = b->dom.iov;
			*cnt = b->dom.cnt;
			return 0;
		}
		if (d->k->local_view) {
			struct iovbuf *v = ext_buf(sl, which);
			if (!v)
				return -ENOMEM;
			if ((err = _udma_domain_local_view(d, b->dom.iov, b->dom.cnt, which < 0, v)))
				return err;
			*iov = v->v;
			*cnt = (uint32_t)v->n;
			return 0;
		}
		/* no local view: the engine takes it as is, or it is bounced */
		*iov = b->dom.iov;
		*cnt = b->dom.cnt;
		*dom = d;
		sl->foreign = 1;
		return 0;
	}
	default:
		return udma_fail(EINVAL, "bad buffer type %d", (int)b->type);
	}
}

HOT int has_output(enum udma_func f)
{
	return f != UDMA_FUNC_CRC32C && f != UDMA_FUNC_COMPARE;
}

/* All buffers linear (the common case): checked and resolved into sl->work
 * in one pass. 1: done; 0: not all linear, or something to refuse:
 * prepare_any() checks again and says what. */
HOT int prepare_linear(struct slot *sl)
{
	struct udma_session *s = sl->req.session;
	struct udma_req *r = &sl->req;
	struct udma_work *w = &sl->work;
	int n = s->ninputs, out = has_output(s->func);
	size_t len;

	if (out ? r->out.type != UDMA_BUF_LINEAR : r->out.type != UDMA_BUF_NONE)
		return 0;
	if (n && !r->in)
		return 0;
	if (!out && (!n || r->in[0].type != UDMA_BUF_LINEAR))
		return 0;
	len = out ? r->out.linear.len : r->in[0].linear.len;
	w->out = NULL;
	w->out_cnt = 0;
	if (out) {
		sl->lin_out = (struct iovec){ r->out.linear.addr, len };
		if (iov_piece_bad(&sl->lin_out))
			return 0;
		w->out = &sl->lin_out;
		w->out_cnt = 1;
	}
	for (int j = 0; j < n; j++) {
		if (r->in[j].type != UDMA_BUF_LINEAR || r->in[j].linear.len != len)
			return 0;
		sl->lin_in[j] = (struct iovec){ r->in[j].linear.addr, len };
		if (iov_piece_bad(&sl->lin_in[j]) || (out && iov_overlap(&sl->lin_out, 1, &sl->lin_in[j], 1)))
			return 0;
		w->in[j] = &sl->lin_in[j];
		w->in_cnt[j] = 1;
		w->in_dom[j] = NULL;
	}
	sl->foreign = 0;
	w->req = r;
	w->func = s->func;
	w->ninputs = (uint32_t)n;
	w->exec_ns = 0;
	w->out_dom = NULL;
	w->len = len;
	sl->touched = len ? (uint64_t)len * (uint64_t)(n + out) : 1;
	return 1;
}

/* Check and resolve the buffers of any type into sl->work, saying what is wrong. */
static int prepare_any(struct slot *sl)
{
	struct udma_session *s = sl->req.session;
	struct udma_work *w = &sl->work;
	struct udma_req *r = &sl->req;
	size_t len = 0, l;
	int err;

	sl->foreign = 0;
	w->req = r;
	w->func = s->func;
	w->ninputs = (uint32_t)s->ninputs;
	w->exec_ns = 0;
	w->out = NULL;
	w->out_cnt = 0;
	w->out_dom = NULL;
	if (has_output(s->func)) {
		if ((err = resolve(sl, &r->out, -1, &w->out, &w->out_cnt, &w->out_dom, &len)))
			return err;
	} else if (r->out.type != UDMA_BUF_NONE) {
		return udma_fail(EINVAL, "%s has no output buffer", udma_func_name(s->func));
	}
	if (s->ninputs && !r->in)
		return udma_fail(EINVAL, "no input buffers");
	for (int j = 0; j < s->ninputs; j++) {
		if ((err = resolve(sl, &r->in[j], j, &w->in[j], &w->in_cnt[j], &w->in_dom[j], &l)))
			return err;
		if (!has_output(s->func) && j == 0)
			len = l;
		else if (l != len)
			return udma_fail(EINVAL, "region lengths differ: %zu and %zu", len, l);
		/* overlap can only be judged between local addresses */
		if (w->out && !w->out_dom && !w->in_dom[j] && iov_overlap(w->out, w->out_cnt, w->in[j], w->in_cnt[j]))
			return udma_fail(EINVAL, "input %d overlaps the output", j);
	}
	w->len = len;
	sl->touched = (uint64_t)len * (uint64_t)(s->ninputs + (w->out ? 1 : 0));
	if (!sl->touched)
		sl->touched = 1;
	return 0;
}

/* Check and resolve the request's buffers into sl->work: the common case
 * inline, the rest out of line. */
HOT int prepare(struct slot *sl)
{
	if (sl->mx)
		return _udma_prepare_multi(sl);
	return prepare_linear(sl) ? 0 : prepare_any(sl);
}

/* Bounce buffers for domains the engine does not take as they are. */
struct pull_wait {
	int done, status;
};

static void pull_done(void *arg, int status)
{
	struct pull_wait *p = arg;
	p->status = status;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
}

static int wait_op(int rc, struct pull_wait *p)
{
	if (rc)
		return rc;
	while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
		sched_yield();
	return p->status;
}

static int setup_bounce(struct slot *sl, struct udma_engine *e)
{
	struct udma_work *w = &sl->work;
	struct udma_req *r = &sl->req;
	int out_foreign = w->out_dom && !_udma_engine_accepts(e, w->out_dom);
	unsigned nin = 0;

	for (uint32_t j = 0; j < w->ninputs; j++)
		nin += w->in_dom[j] && !_udma_engine_accepts(e, w->in_dom[j]);
	if (!out_foreign && !nin)
		return 0;
	struct bounce *b = sl->bounce;
	size_t need = w->len * (nin + (unsigned)out_foreign);
	if (!b && !(b = sl->bounce = calloc(1, sizeof(*b))))
		return -ENOMEM;
	if (!b->mem || b->len < need) { /* need 0 too: p += 0 on NULL is undefined */
		free(b->mem);
		/* page-aligned: storage domains read and write it with O_DIRECT */
		b->mem = aligned_alloc(4096, need ? (need + 4095) & ~(size_t)4095 : 4096);
		b->len = b->mem ? need : 0;
		if (!b->mem)
			return udma_fail(ENOMEM, "no bounce buffer of %zu bytes", need);
	}
	char *p = b->mem;
	for (uint32_t j = 0; j < w->ninputs; j++) {
		if (!w->in_dom[j] || _udma_engine_accepts(e, w->in_dom[j]))
			continue;
		struct pull_wait pw = { 0 };
		b->in_iov[j] = (struct iovec){ p, w->len };
		int err = w->len ? wait_op(udma_domain_pull(w->in_dom[j], r->in[j].dom.domain_ctx, w->in[j], w->in_cnt[j],
							 &b->in_iov[j], 1, pull_done, &pw), &pw) : 0;
		if (err)
			return udma_fail(-err, "pulling input %u from %s: %d", j, udma_domain_id(w->in_dom[j]), err);
		w->in[j] = &b->in_iov[j];
		w->in_cnt[j] = 1;
		w->in_dom[j] = NULL;
		p += w->len;
	}
	b->out_foreign = out_foreign;
	if (out_foreign) {
		b->out_dom = w->out_dom;
		b->out_ctx = r->out.dom.domain_ctx;
		b->out_iov = w->out;
		b->out_cnt = w->out_cnt;
		sl->lin_out = (struct iovec){ p, w->len };
		w->out = &sl->lin_out;
		w->out_cnt = 1;
		w->out_dom = NULL;
	}
	return 0;
}

static int finish_bounce(struct slot *sl, int status)
{
	struct bounce *b = sl->bounce;
	if (!b || !b->out_foreign)
		return status;
	b->out_foreign = 0;
	if (status || !sl->work.len)
		return status;
	struct pull_wait pw = { 0 };
	int err = wait_op(udma_domain_push(b->out_dom, b->out_ctx, b->out_iov, b->out_cnt, &sl->lin_out, 1, pull_done, &pw),
			  &pw);
	return err ? udma_fail(-err, "pushing the output to %s: %d", udma_domain_id(b->out_dom), err) : 0;
}

/* ---- dispatch and completion ---------------------------------------------------------- */

static MOVER_TLS unsigned sample_tick;
/* Works a permanent engine ran in this thread, added to its count in batches
 * (no shared line written per work). */
static MOVER_TLS struct udma_engine *tl_ran_on;
static MOVER_TLS unsigned tl_ran;

/* A permanent inline engine's works run here, through run(), uncounted in
 * flight: nothing to hand over, and unregister never waits for it. */
static int runs_here(const struct udma_engine *e)
{
	return e->ops.run && (e->desc.flags & UDMA_ENGINE_PERMANENT);
}

/* A work ran here on e: learn from it if e timed it. */
HOT void learn_here(struct udma_engine *e, const struct udma_work *w)
{
	if (w->exec_ns)
		_udma_engine_learn(e, w->func, ((const struct slot *)w->req)->touched, w->exec_ns, 0);
}

/* Count n works that ran here on e finished (in this thread's batch of 64). */
static void ran_here(struct udma_engine *e, unsigned n)
{
	if (tl_ran_on != e) {
		if (tl_ran_on)
			__atomic_add_fetch(&tl_ran_on->finished.n, tl_ran, __ATOMIC_RELAXED);
		tl_ran_on = e;
		tl_ran = 0;
	}
	if ((tl_ran += n) >= 64) {
		__atomic_add_fetch(&e->finished.n, tl_ran, __ATOMIC_RELAXED);
		tl_ran = 0;
	}
}

/* Perform the work on such an engine, here and now; its status. */
static int run_here(struct udma_engine *e, struct slot *sl)
{
	UDMA_ASSERT(runs_here(e));
	struct udma_work *w = &sl->work;
	sl->req.engine = e->name;
	int status = e->ops.run(e, w);
	learn_here(e, w);
	ran_here(e, 1);
	return status;
}

/* Hand one work to e: its run() (finished at once) or its submit(). */
static int hand_over(struct udma_engine *e, struct udma_work *w)
{
	if (e->ops.run) {
		udma_engine_done(w, e->ops.run(e, w));
		return 1;
	}
	return e->ops.submit(e, &w, 1);
}

int _udma_slot_dispatch(struct slot *sl, struct udma_engine *first, const struct udma_engine *exclude)
{
	struct udma_session *s = sl->req.session;
	const struct udma_engine *skip = NULL;
	struct udma_work *w = &sl->work;

	/* Cut across lanes (split.c): it completes once, perhaps already. Not a
	 * request that waits inside a callback: that callback may hold the
	 * only worker its chunks would need. */
	if (!exclude && split_candidate(sl) && !(tl_elsewhere && (sl->req.flags & UDMA_REQ_WAIT)) &&
	    _udma_split_submit(sl, first))
		return 0;
	for (unsigned tries = 0;; tries++) {
		struct udma_engine *e = first ? first : s->pinned;
		first = NULL;
		if (!e || e == exclude || __atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE))
			e = _udma_engine_choose(s->func, sl->touched, sl, exclude);
		if (e && e == skip)
			e = _udma_engine_choose(s->func, sl->touched, sl, skip);
		if (!e)
			return udma_fail(ENODEV, "no engine performs %s", udma_func_name(s->func));
		if (sl->foreign) {
			int err = setup_bounce(sl, e);
			if (err)
				return err;
		}
		if (runs_here(e)) {
			_udma_slot_complete(sl, run_here(e, sl));
			return 0;
		}
		/* seq_cst pairs with unregister: it sets leaving, then waits
		 * until finished catches up with handed */
		__atomic_add_fetch(&e->handed.n, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&e->leaving, __ATOMIC_SEQ_CST)) {
			__atomic_sub_fetch(&e->handed.n, 1, __ATOMIC_RELEASE);
			skip = e;
			continue;
		}
		__atomic_add_fetch(&e->handed.bytes, sl->touched, __ATOMIC_RELAXED);
		__atomic_store_n(&sl->engine, e, __ATOMIC_RELEASE); /* waiters peek at it */
		sl->req.engine = e->name;
		sl->t_submit = !(e->desc.flags & UDMA_ENGINE_INLINE) && !(++sample_tick & 15) ? clock_now_ns() : 0;
		int n = hand_over(e, w);
		if (n == 1)
			return 0; /* the work may be complete already: sl is not ours now */
		__atomic_store_n(&sl->engine, NULL, __ATOMIC_RELAXED);
		/* taken back on the submitter's own line */
		__atomic_sub_fetch(&e->handed.bytes, sl->touched, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&e->handed.n, 1, __ATOMIC_RELEASE);
		if (n < 0)
			return udma_fail(-n, "engine %s refused the work: %d", e->name, n);
		if (tries > 64) /* full: let it drain */
			sched_yield();
		skip = tries & 1 ? NULL : e; /* alternate: another engine, or this one again */
	}
}

static void wake_waiters(struct udma_session *s)
{
	/* seq_cst: pairs with the waiter's "count myself, then look again" */
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&s->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &s->wake, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
}

/*
 * Hand the completion to the client. After done is set, the client may
 * reuse or free the request, so nothing of it is read afterwards. With a
 * callback, the session counts the request in flight until the callback
 * has returned: a client that waits for nothing in flight may then reuse
 * buffers or destroy the session safely. `touching` covers the last steps
 * (waking waiters), so udma_session_destroy() never frees under them.
 */
static void deliver(struct slot *sl, int call)
{
	struct udma_req *r = &sl->req;
	struct udma_session *s = r->session;
	udma_req_cb cb = call ? r->cb : NULL;
	int wait_flag = r->flags & UDMA_REQ_WAIT;

	__atomic_add_fetch(&s->touching, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sl->state, SLOT_OWNED, __ATOMIC_RELAXED);
	if (cb) {
		__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
		tl_elsewhere++;
		cb(r);
		tl_elsewhere--;
		__atomic_add_fetch(&s->ndone_x, 1, __ATOMIC_SEQ_CST);
	} else {
		__atomic_add_fetch(&s->ndone_x, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
		if (wait_flag) /* the waiter is inside udma_submit */
			syscall(SYS_futex, &r->done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		else
			wake_waiters(s);
	}
	__atomic_sub_fetch(&s->touching, 1, __ATOMIC_RELEASE);
}

/* Delivery by the driver itself (inside its submit or poll): nobody else is
 * waiting on this session and nobody can destroy it meanwhile. */
static void deliver_own(struct slot *sl, int call)
{
	struct udma_req *r = &sl->req;
	struct udma_session *s = r->session;
	udma_req_cb cb = call ? r->cb : NULL;

	__atomic_store_n(&sl->state, SLOT_OWNED, __ATOMIC_RELAXED);
	if (cb) {
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
		cb(r);
		own_add(&s->ndone, 1);
	} else {
		own_add(&s->ndone, 1);
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	}
}

/* A completion made by the driver itself: queued for its poll, or delivered. */
static void complete_own(struct slot *sl)
{
	struct udma_session *s = sl->req.session;

	if (s->mode == UDMA_COMPL_POLL) {
		__atomic_store_n(&sl->state, SLOT_QUEUED, __ATOMIC_RELAXED);
		lq_put(s, sl);
		notify_fd(s);
	} else {
		deliver_own(sl, 1);
	}
}

void _udma_slot_complete(struct slot *sl, int status)
{
	struct udma_session *s = sl->req.session;

	sl->req.status = finish_bounce(sl, status);
	if (tl_driving == s) { /* in the driver's own submit or poll */
		complete_own(sl);
		return;
	}
	if (s->mode == UDMA_COMPL_POLL) {
		/* Once pushed, the completion may be polled at once and the session
		 * destroyed: count ourselves touching it until the wake-up is done. */
		__atomic_add_fetch(&s->touching, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sl->state, SLOT_QUEUED, __ATOMIC_RELAXED);
		cq_push(s, &sl->cq);
		notify_fd(s);
		wake_waiters(s);
		__atomic_sub_fetch(&s->touching, 1, __ATOMIC_RELEASE);
	} else {
		deliver(sl, 1);
	}
}

int udma_work_polled(const struct udma_work *w)
{
	const struct udma_req *r = w ? w->req : NULL;
	return r && r->session->mode == UDMA_COMPL_POLL && !(r->flags & UDMA_REQ_WAIT);
}

void udma_engine_done(struct udma_work *w, int status)
{
	if (w->req->flags & REQ_CHUNK) {
		_udma_split_chunk_done(w, status);
		return;
	}
	struct slot *sl = (struct slot *)w->req;
	struct udma_engine *e = __atomic_load_n(&sl->engine, __ATOMIC_RELAXED);

	if (e) {
		uint64_t lat = sl->t_submit ? clock_now_ns() - sl->t_submit : 0;
		if (w->exec_ns || lat)
			_udma_engine_learn(e, w->func, sl->touched, w->exec_ns, lat);
		__atomic_store_n(&sl->engine, NULL, __ATOMIC_RELAXED);
		engine_count(&e->finished, sl->touched); /* the last touch of e */
	}
	_udma_slot_complete(sl, status);
}

/* What result says before the work runs: compares find no difference. */
static uint64_t result_start(enum udma_func f)
{
	return f == UDMA_FUNC_PQ_VALIDATE ? 0 : UDMA_CMP_EQUAL;
}

/* A claimed request refused: the caller's again, the reason in its status. */
static int refuse(struct slot *sl, int err)
{
	sl->req.status = err;
	__atomic_store_n(&sl->state, SLOT_OWNED, __ATOMIC_RELEASE);
	return err;
}

/* Claim a request for submission and check what needs no buffers (a
 * burst's requests may not wait). 0, or the -errno of a refusal, in the
 * status too unless the request was not the caller's (free, in flight). */
HOT int take(struct slot *sl, int driver, int burst)
{
	struct udma_req *req = &sl->req;
	int st = SLOT_OWNED;

	if (!claim(sl, &st, SLOT_INFLIGHT, driver))
		return st == SLOT_FREE ? udma_fail(EINVAL, "request %p is free", (void *)req)
				       : udma_fail(EBUSY, "request %p is already in flight", (void *)req);
	if (req->flags & ~UDMA_REQ_WAIT)
		return refuse(sl, udma_fail(EINVAL, "unknown request flags 0x%x", req->flags));
	if ((req->flags & UDMA_REQ_WAIT) && burst)
		return refuse(sl, udma_fail(EINVAL, "request %p of a burst waits", (void *)req));
	if ((req->flags & UDMA_REQ_WAIT) && req->cb)
		return refuse(sl, udma_fail(EINVAL, "a request waits or calls back, not both"));
	req->status = 0;
	req->done = 0;
	req->engine = NULL;
	sl->submitted = 1;
	if (req->session->func == UDMA_FUNC_COMPARE || sl->mx)
		req->result = result_start(req->session->func);
	return 0;
}

/* Count a prepared request in flight and hand it to an engine (e first,
 * if given): 0, or the -errno of a refusal. */
static int dispatch(struct udma_session *s, struct slot *sl, struct udma_engine *e, int driver)
{
	struct udma_session *outer = tl_driving;

	count_submit(s, driver, 1);
	if (driver)
		tl_driving = s;
	int err = _udma_slot_dispatch(sl, e, NULL);
	tl_driving = outer;
	if (err) {
		count_submit(s, driver, (unsigned)-1);
		return refuse(sl, err);
	}
	return 0;
}

static int submit_one(struct udma_req *req, int burst)
{
	struct slot *sl = slot_of(req);
	int err;

	if (!sl)
		return udma_fail(EINVAL, "%p is not a request of a session", (void *)req);
	struct udma_session *s = req->session;
	int driver = is_driver(s);
	if ((err = take(sl, driver, burst)))
		return err;
	if ((err = prepare(sl)))
		return refuse(sl, err);
	uint32_t wait = req->flags & UDMA_REQ_WAIT;
	/* the engine, chosen here when the driver may run the work itself */
	struct udma_engine *e = NULL;
	if (driver && !sl->foreign)
		e = s->pinned ? s->pinned : _udma_engine_choose(s->func, sl->touched, sl, NULL);
	if (e && runs_here(e) && !split_candidate(sl)) {
		/* A permanent inline engine, driven from the session's own
		 * thread: nothing to hand over, bounce or guard */
		count_submit(s, driver, 1);
		req->status = run_here(e, sl);
		complete_own(sl);
	} else if ((err = dispatch(s, sl, e, driver))) {
		return err;
	}
	if (wait)
		udma_req_wait(req);
	return 0;
}

int udma_submit(struct udma_req *req)
{
	return submit_one(req, 0);
}

/* The slot whose queue link n is. */
HOT struct slot *cq_slot(struct mpsc_node *n)
{
	return (struct slot *)((char *)n - offsetof(struct slot, cq));
}

/* n of the driver's own completions from sl[0] on handed back (with their
 * status, if with_status). Inlined twice, with and without, so the loop
 * does not ask each time. */
HOT void reap_run(struct slot *const *sl, unsigned n, struct udma_req **reqs, int *status, int with_status)
{
	for (unsigned i = 0; i < n; i++) {
		struct slot *q = sl[i];
		reqs[i] = &q->req;
		if (with_status)
			status[i] = q->req.status;
		__atomic_store_n(&q->state, SLOT_OWNED, __ATOMIC_RELAXED);
		__atomic_store_n(&q->req.done, 1, __ATOMIC_RELEASE);
	}
}

/* The driver reaps its own completions: up to max handed back (with
 * their status, if status) from the ring, in at most two runs, counted
 * delivered once; how many. */
static unsigned reap_own(struct udma_session *s, struct udma_req **reqs, int *status, unsigned max)
{
	unsigned n = s->lq_n < max ? s->lq_n : max, h = s->lq_head, first = s->depth - h < n ? s->depth - h : n;

	if (status) {
		reap_run(s->lq + h, first, reqs, status, 1);
		reap_run(s->lq, n - first, reqs + first, status + first, 1);
	} else {
		reap_run(s->lq + h, first, reqs, NULL, 0);
		reap_run(s->lq, n - first, reqs + first, NULL, 0);
	}
	h += n;
	s->lq_head = h < s->depth ? h : h - s->depth;
	s->lq_n -= n;
	own_add(&s->ndone, n);
	return n;
}

/* Deliver up to max queued completions; with reqs, hand them back there
 * (and their status) instead of calling their callbacks. */
static int drain(struct udma_session *s, unsigned max, struct udma_req **reqs, int *status)
{
	int done = 0;
	int driver = is_driver(s);
	struct udma_session *outer = tl_driving;

	if (driver)
		tl_driving = s;
	_udma_engines_poll();
	if (driver && reqs)
		done = (int)reap_own(s, reqs, status, max);
	while ((unsigned)done < max) {
		struct slot *sl = driver ? lq_pop(s) : NULL;
		if (!sl) {
			struct mpsc_node *n = cq_pop(s);
			if (!n)
				break;
			sl = cq_slot(n);
		}
		if (reqs) {
			reqs[done] = &sl->req;
			if (status)
				status[done] = sl->req.status;
		}
		if (driver)
			deliver_own(sl, !reqs);
		else
			deliver(sl, !reqs);
		done++;
	}
	tl_driving = outer;
	return done;
}

int udma_session_poll(struct udma_session *s, unsigned max)
{
	if (!s)
		return udma_fail(EINVAL, "NULL session");
	return drain(s, max, NULL, NULL);
}

int udma_session_reap(struct udma_session *s, struct udma_req **reqs, int *status, unsigned max)
{
	if (!s || (max && !reqs))
		return udma_fail(EINVAL, "NULL session or request array");
	if (s->mode != UDMA_COMPL_POLL)
		return udma_fail(EINVAL, "reaping needs a POLL-mode session");
	return drain(s, max, reqs, status);
}

/* ---- bursts ---------------------------------------------------------------------- */

#define BATCH 32

/* A burst's works that run here on one engine, in order, not run yet. */
struct batch {
	struct udma_engine *e;
	unsigned n;
	struct udma_work *w[BATCH];
};

/* Run the batch and complete its works: queued for the poll or the reap in
 * one go, or delivered one by one to their callbacks. Counts, statistics
 * and the fd's wake-up once per batch. */
static void batch_run(struct udma_session *s, struct batch *b)
{
	struct udma_engine *e = b->e;
	unsigned n = b->n;
	int status[BATCH];

	if (!n)
		return;
	b->n = 0;
	count_submit(s, 1, n);
	if (e->ops.run_burst)
		e->ops.run_burst(e, b->w, n, status);
	else
		for (unsigned i = 0; i < n; i++)
			status[i] = e->ops.run(e, b->w[i]);
	ran_here(e, n);
	if (s->mode != UDMA_COMPL_POLL) { /* a callback may free or resubmit its request: nothing of it after */
		for (unsigned i = 0; i < n; i++) {
			struct slot *sl = (struct slot *)b->w[i]->req;
			learn_here(e, b->w[i]);
			sl->req.status = status[i];
			deliver_own(sl, 1);
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct slot *sl = (struct slot *)b->w[i]->req;
		learn_here(e, b->w[i]);
		sl->req.status = status[i];
		__atomic_store_n(&sl->state, SLOT_QUEUED, __ATOMIC_RELAXED);
		lq_put(s, sl);
	}
	notify_fd(s);
}

/* The last engine the burst chose to run here, for requests of the same
 * size: the scheduler would choose it again (the session has one function,
 * and works run here change no engine's queue). */
struct pick {
	struct udma_engine *e;
	uint64_t touched;
};

/* The engine for a prepared request of a burst; NULL: the dispatch decides
 * (bounce buffers, or no engine). */
static struct udma_engine *burst_engine(struct udma_session *s, const struct slot *sl, struct pick *p)
{
	if (sl->foreign)
		return NULL;
	if (s->pinned)
		return s->pinned;
	if (p->e && sl->touched == p->touched)
		return p->e;
	struct udma_engine *e = _udma_engine_choose(s->func, sl->touched, sl, NULL);
	*p = e && runs_here(e) ? (struct pick){ e, sl->touched } : (struct pick){ NULL, 0 };
	return e;
}

/* Entry i of a burst, by the session's driver: checked and prepared, then
 * batched to run here, or (after the batch, to keep the order) handed to
 * its engine. 0, or the -errno of a refusal. */
static int burst_one(struct udma_session *s, struct udma_req *req, unsigned i, struct batch *b, struct pick *p)
{
	struct slot *sl = slot_in(s, req);
	int err;

	if (!sl)
		return udma_fail(EINVAL, "burst entry %u is not a request of the first's session", i);
	if ((err = take(sl, 1, 1)))
		return err;
	if ((err = prepare(sl)))
		return refuse(sl, err);
	struct udma_engine *e = burst_engine(s, sl, p);
	if (e && runs_here(e)) {
		if (b->n == BATCH || (b->n && b->e != e))
			batch_run(s, b);
		b->e = e;
		sl->req.engine = e->name;
		b->w[b->n++] = &sl->work;
		return 0;
	}
	batch_run(s, b);
	return dispatch(s, sl, e, 1);
}

/* ---- plain copies of a burst ------------------------------------------------------- */

static MOVER_TLS unsigned copies_tick;

/* Complete a batch's n claimed requests sl[0..n-1]: queued for the reap
 * with one wake-up, or delivered to their callbacks. Their status is 0
 * from the claim; status, if not NULL, holds each one's. The claim left
 * them SLOT_INFLIGHT: queued, they stay so until reaped (SLOT_QUEUED is
 * only ever stored, never told apart from SLOT_INFLIGHT: both say "not
 * the caller's"). */
static void copies_complete(struct udma_session *s, struct slot *const *sl, const int *status, unsigned n)
{
	if (status)
		for (unsigned i = 0; i < n; i++)
			sl[i]->req.status = status[i];
	if (s->mode != UDMA_COMPL_POLL) { /* a callback may free or resubmit its request: nothing of it after */
		for (unsigned i = 0; i < n; i++)
			deliver_own(sl[i], 1);
		return;
	}
	lq_put_n(s, sl, n);
	notify_fd(s);
}

/* Bytes the batch's copies touch, on average. */
static uint64_t copies_touched(const struct udma_copy *c, unsigned n)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += c[i].len;
	return 2 * sum / n;
}

/* Run a batch of copies (of the requests sl) on e in one run_copies()
 * call and complete them. One call in 64 (per thread) is timed, where the
 * copies are big enough to learn from (_udma_engine_learn ignores works
 * under 64 bytes touched): the scheduler learns n works of the batch's
 * average size. */
static void copies_run(struct udma_session *s, struct udma_engine *e, const struct udma_copy *c,
		       struct slot *const *sl, unsigned n)
{
	int status[BATCH];

	UDMA_ASSERT(n && n <= BATCH);
	count_submit(s, 1, n);
	uint64_t each = copies_tick++ & 63 ? 0 : copies_touched(c, n), t0 = 0;
	if (each >= 64)
		t0 = clock_now_ns();
	int failed = e->ops.run_copies(e, c, n, status);
	if (each >= 64)
		_udma_engine_learn(e, UDMA_FUNC_COPY, each, (clock_now_ns() - t0) / n + 1, 0);
	ran_here(e, n);
	copies_complete(s, sl, failed ? status : NULL, n);
}

/* The engine for plain requests touching this many bytes if it takes
 * them (run_copies() or run_plain()), else NULL: the pinned one, the
 * burst's last choice for that size, or the scheduler's (NULL slot:
 * linear buffers, nothing foreign). */
static struct udma_engine *plain_engine(struct udma_session *s, uint64_t touched, struct pick *p)
{
	struct udma_engine *e = s->pinned;
	if (!e && p->e && touched == p->touched) {
		e = p->e;
	} else if (!e) {
		e = _udma_engine_choose(s->func, touched, NULL, NULL);
		*p = e && runs_here(e) ? (struct pick){ e, touched } : (struct pick){ NULL, 0 };
	}
	if (!e || !runs_here(e))
		return NULL;
	return (s->func == UDMA_FUNC_COPY ? e->ops.run_copies != NULL : e->ops.run_plain != NULL) ? e : NULL;
}

/* The first checks of a plain burst entry (the takes' below): a request
 * of the session, flags 0, owned, with inputs. */
HOT int plain_req_ok(const struct udma_req *req, uintptr_t slots, uintptr_t depth)
{
	return elem_index((uintptr_t)req - slots, sizeof(struct slot)) < depth && !req->flags && req->in &&
	       __atomic_load_n(&((const struct slot *)req)->state, __ATOMIC_ACQUIRE) == SLOT_OWNED;
}

/* A burst's plain requests in the making: the claimed requests, and
 * their descriptors in c[] (copies) or p[] with v[] (xorN, crc32c). */
struct plain_batch {
	struct slot *sl[BATCH]; /* the requests, in order */
	struct udma_copy c[BATCH];
	struct udma_plain p[BATCH];
	void *v[BATCH][UDMA_MAX_INPUTS + 1];
};

/* The length of req if it may be a plain request of the session (a
 * request of it, flags 0, owned, the buffer that gives the length
 * linear: the output, crc32c's input; at most SIZE_MAX / 2, which the
 * takes' bounds need), for choosing an engine; else SIZE_MAX: burst_one()
 * judges it. The take (copies_take(), crc_take(), xor_take()) checks the
 * rest; nothing else is touched. */
HOT size_t plain_len(const struct udma_session *s, const struct udma_req *req)
{
	if (!plain_req_ok(req, (uintptr_t)s->slots, s->depth))
		return SIZE_MAX;
	const struct udma_buf *b = s->func == UDMA_FUNC_CRC32C ? req->in : &req->out;
	return b->type == UDMA_BUF_LINEAR && b->linear.len <= SIZE_MAX / 2 ? b->linear.len : SIZE_MAX;
}

/* Bytes a plain request of len bytes touches (as prepare_linear() counts them). */
static uint64_t plain_touched(const struct udma_session *s, size_t len)
{
	return len ? (uint64_t)len * (uint64_t)(s->ninputs + has_output(s->func)) : 1;
}

/* Run a batch of plain requests (pb's first n) on e and complete them,
 * timed one call in 64 as copies_run() times its. */
static void plain_run(struct udma_session *s, struct udma_engine *e, const struct plain_batch *pb, unsigned n)
{
	int status[BATCH];

	if (s->func == UDMA_FUNC_COPY) {
		copies_run(s, e, pb->c, pb->sl, n);
		return;
	}
	UDMA_ASSERT(n && n <= BATCH);
	count_submit(s, 1, n);
	uint64_t each = 0, t0 = 0;
	if (!(copies_tick++ & 63)) { /* the batch's average, as copies_touched() */
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += plain_touched(s, pb->p[i].len);
		each = sum / n;
	}
	if (each >= 64)
		t0 = clock_now_ns();
	int failed = e->ops.run_plain(e, s->func, pb->p, n, status);
	if (each >= 64)
		_udma_engine_learn(e, s->func, each, (clock_now_ns() - t0) / n + 1, 0);
	ran_here(e, n);
	copies_complete(s, pb->sl, failed ? status : NULL, n);
}

/* Claim the checked request q for the engine named name: in flight, and *sl. */
HOT void claim_onto(struct slot *q, const char *name, struct slot **sl)
{
	__atomic_store_n(&q->state, SLOT_INFLIGHT, __ATOMIC_RELAXED);
	q->req.status = 0;
	q->req.done = 0;
	q->req.engine = name;
	q->submitted = 1;
	*sl = q;
}

/* Check and claim reqs[0..n-1] in one pass while they are plain copies
 * of len bytes (plain_len()'s), for the engine named name: requests of
 * the session (plain_req_ok()), one linear output and input of len bytes,
 * neither NULL nor past user space (iov_piece_bad()), not overlapping;
 * the requests and their descriptors into pb from m; how many. The first
 * that is not one (or found owned no more: the same request twice in the
 * burst) stops it; it is burst_one()'s, which says what is wrong with it,
 * if anything. Per request, NULL and past user space are
 * (d - 1 | src - 1) > iov_bound(len) (never for len 0, where NULL is
 * fine; the or may also refuse a fine pair, which burst_one() then
 * takes) and overlap is d - src + len - 1 < 2 len - 1 (never for len 0).
 * Out of line, as are crc_take() and xor_take(): each loop gets the
 * registers to itself. */
static __attribute__((noinline)) unsigned copies_take(struct udma_req *const *reqs, unsigned n,
						     const struct udma_session *s, size_t len, const char *name,
						     struct plain_batch *pb, unsigned m)
{
	uintptr_t bad = iov_bound(len), wide = len ? 2 * len - 1 : 0;
	uintptr_t slots = (uintptr_t)s->slots, depth = s->depth;
	struct slot **o = pb->sl + m;
	struct udma_req *const *r = reqs, *const *end = reqs + n;
	struct udma_copy *c = pb->c + m;

	for (; r < end; r++, c++) {
		struct slot *q = (struct slot *)*r;
		if (elem_index((uintptr_t)q - slots, sizeof(struct slot)) >= depth || q->req.flags || !q->req.in ||
		    __atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != SLOT_OWNED || q->req.out.type != UDMA_BUF_LINEAR ||
		    q->req.out.linear.len != len)
			break;
		const struct udma_buf *in = q->req.in;
		if (in->type != UDMA_BUF_LINEAR || in->linear.len != len)
			break;
		uintptr_t d = (uintptr_t)q->req.out.linear.addr, src = (uintptr_t)in->linear.addr;
		if (((d - 1) | (src - 1)) > bad || d - src + len - 1 < wide)
			break;
		claim_onto(q, name, o++);
		c->len = len;
		c->src = (const void *)src;
		c->dst = (void *)d;
	}
	return (unsigned)(r - reqs);
}

/* As copies_take(), for a crc32c session: no output, one linear input
 * neither NULL nor past user space. The request's own input descriptor holds
 * the pointer run_plain() reads (v[0]): it is the request's, unchanged
 * while in flight. */
static __attribute__((noinline)) unsigned crc_take(struct udma_req *const *reqs, unsigned n,
						  const struct udma_session *s, size_t len, const char *name,
						  struct plain_batch *pb, unsigned m)
{
	uintptr_t bad = iov_bound(len), slots = (uintptr_t)s->slots, depth = s->depth;
	struct slot **o = pb->sl + m;
	struct udma_req *const *r = reqs, *const *end = reqs + n;
	struct udma_plain *p = pb->p + m;

	for (; r < end; r++, p++) {
		struct slot *q = (struct slot *)*r;
		if (!plain_req_ok(&q->req, slots, depth) || q->req.out.type != UDMA_BUF_NONE)
			break;
		struct udma_buf *in = q->req.in;
		if (in->type != UDMA_BUF_LINEAR || in->linear.len != len || (uintptr_t)in->linear.addr - 1 > bad)
			break;
		claim_onto(q, name, o++);
		*p = (struct udma_plain){ &in->linear.addr, len, q->req.imm };
	}
	return (unsigned)(r - reqs);
}

/* As copies_take(), for an xorN session: one linear output and ninputs
 * linear inputs of len bytes, none NULL or past user space, no input overlapping
 * the output, their pointers into pb's v (ISA-L's layout). Per input,
 * branch-free: a type or length that is not the request's joins
 * `odd`, src - 1 the or `hi` (NULL and past user space: the or is at least
 * the largest) and d + len - 1 - src the minimum `lo` (overlap: below
 * 2 len - 1). */
static __attribute__((noinline)) unsigned xor_take(struct udma_req *const *reqs, unsigned n,
						  const struct udma_session *s, size_t len, const char *name,
						  struct plain_batch *pb, unsigned m)
{
	uintptr_t bad = iov_bound(len), wide = len ? 2 * len - 1 : 0;
	uintptr_t slots = (uintptr_t)s->slots, depth = s->depth;
	struct slot **o = pb->sl + m;
	struct udma_req *const *r = reqs, *const *end = reqs + n;
	struct udma_plain *p = pb->p + m;
	void *(*v)[UDMA_MAX_INPUTS + 1] = pb->v + m;
	size_t ni = (size_t)s->ninputs;

	for (; r < end; r++, p++, v++) {
		struct slot *q = (struct slot *)*r;
		if (!plain_req_ok(&q->req, slots, depth) || q->req.out.type != UDMA_BUF_LINEAR ||
		    q->req.out.linear.len != len)
			break;
		const struct udma_buf *in = q->req.in;
		void **vp = *v;
		uintptr_t d = (uintptr_t)q->req.out.linear.addr, c = d + len - 1, hi = d - 1, lo = UINTPTR_MAX;
		uintptr_t odd = 0;
		for (size_t k = 0; k < ni; k++) {
			uintptr_t src = (uintptr_t)in[k].linear.addr;
			odd |= (uintptr_t)(in[k].type ^ UDMA_BUF_LINEAR) | (in[k].linear.len ^ len);
			hi |= src - 1;
			lo = c - src < lo ? c - src : lo;
			vp[k] = (void *)src;
		}
		if (odd || hi > bad || lo < wide)
			break;
		claim_onto(q, name, o++);
		vp[ni] = (void *)d;
		*p = (struct udma_plain){ vp, len, q->req.imm };
	}
	return (unsigned)(r - reqs);
}

/* The burst of a COPY, xorN or crc32c session from entry *i on: runs of
 * plain requests of one length checked, claimed and run in batches by
 * their engine's run_copies() or run_plain(), the rest as burst_one()
 * takes them (b), in order: one of the two batches is empty at any time.
 * The engine is decided once per length in a row. Nothing runs (no
 * callback) between a check and its claim. 0, or the -errno of the
 * refusal that stopped it at *i. */
static int burst_plain(struct udma_session *s, struct udma_req *const *reqs, unsigned n, unsigned *i,
		       struct batch *b, struct pick *p)
{
	struct plain_batch pb;
	struct udma_engine *e = NULL, *for_e = NULL; /* e: the batch's; for_e: for requests of for_len */
	size_t for_len = SIZE_MAX;
	unsigned k = *i, m = 0;
	int err = 0;

	while (k < n) {
		unsigned room = n - k < BATCH - m ? n - k : BATCH - m, got = 0;
		size_t len = plain_len(s, reqs[k]);
		if (len != SIZE_MAX && b->n) { /* the general batch first; its callbacks may change the request */
			batch_run(s, b);
			len = plain_len(s, reqs[k]);
		}
		if (len != SIZE_MAX && len != for_len) {
			for_len = len;
			for_e = plain_engine(s, plain_touched(s, len), p);
		}
		if (len != SIZE_MAX && for_e) {
			if (m && for_e != e) { /* another engine: the batch so far first */
				plain_run(s, e, &pb, m);
				m = 0;
			}
			e = for_e;
			UDMA_ASSERT(len <= SIZE_MAX / 2); /* plain_len()'s: the takes' bounds need it */
			got = s->func == UDMA_FUNC_COPY ? copies_take(reqs + k, room, s, len, e->name, &pb, m)
			      : s->func == UDMA_FUNC_CRC32C ? crc_take(reqs + k, room, s, len, e->name, &pb, m)
							    : xor_take(reqs + k, room, s, len, e->name, &pb, m);
		}
		if (!got) { /* not a plain request, or no engine for one */
			if (m)
				plain_run(s, e, &pb, m);
			m = 0;
			if ((err = burst_one(s, reqs[k], k, b, p)))
				break;
			k++;
			continue;
		}
		k += got;
		if ((m += got) == BATCH) {
			plain_run(s, e, &pb, m);
			m = 0;
		}
	}
	if (m)
		plain_run(s, e, &pb, m);
	*i = k;
	return err;
}

/* A burst where the caller is not the session's driver (a SHARED session,
 * a callback on another thread): request by request. */
static int burst_each(struct udma_session *s, struct udma_req *const *reqs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int err = slot_in(s, reqs[i]) ? submit_one(reqs[i], 1)
					       : udma_fail(EINVAL, "burst entry %u is not a request of the first's session", i);
		if (err)
			return i ? (int)i : err;
	}
	return (int)n;
}

int udma_submit_burst(struct udma_req *const *reqs, unsigned n)
{
	struct batch b;
	struct pick p = { NULL, 0 };
	unsigned i = 0;
	int err = 0;

	if (!reqs && n)
		return udma_fail(EINVAL, "NULL request array");
	if (!n)
		return 0;
	if (!slot_of(reqs[0]))
		return udma_fail(EINVAL, "burst entry 0 is not a request of a session");
	struct udma_session *s = reqs[0]->session;
	if (!is_driver(s))
		return burst_each(s, reqs, n);
	struct udma_session *outer = tl_driving;
	tl_driving = s;
	b.e = NULL;
	b.n = 0;
	if (s->func == UDMA_FUNC_COPY || s->func == UDMA_FUNC_CRC32C ||
	    (s->func >= UDMA_FUNC_XOR2 && s->func <= UDMA_FUNC_XOR16))
		err = burst_plain(s, reqs, n, &i, &b, &p);
	else
		for (; i < n && !(err = burst_one(s, reqs[i], i, &b, &p)); i++)
			;
	batch_run(s, &b);
	tl_driving = outer;
	return i ? (int)i : err;
}

unsigned udma_session_capacity(const struct udma_session *s)
{
	if (!s)
		return 0;
	unsigned busy = udma_session_inflight(s);
	return busy < s->depth ? s->depth - busy : 0;
}

int udma_req_wait(struct udma_req *req)
{
	struct slot *sl = slot_of(req);

	if (!sl)
		return udma_fail(EINVAL, "%p is not a request of a session", (void *)req);
	struct udma_session *s = req->session;
	/* OWNED with done unset is either delivery in progress or never submitted */
	if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == SLOT_FREE || !sl->submitted)
		return udma_fail(EINVAL, "request %p was not submitted", (void *)req);
	/* Spin while the engine leaves a CPU free for us (a sleeping waiter costs
	 * a wake-up per completion, and the woken thread may land on the
	 * worker's CPU); sleep at once when its workers need every CPU. */
	static long ncpu_cached; /* relaxed: racing first callers store the same value */
	long ncpu = __atomic_load_n(&ncpu_cached, __ATOMIC_RELAXED);
	if (!ncpu) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		__atomic_store_n(&ncpu_cached, ncpu, __ATOMIC_RELAXED);
	}
	const struct udma_engine *e = __atomic_load_n(&sl->engine, __ATOMIC_ACQUIRE);
	uint64_t spin_until = e && e->lanes < ncpu ? clock_now_ns() + 50000 : 0;
	for (unsigned spins = 0; !udma_req_is_done(req); spins++) {
		if (s->mode == UDMA_COMPL_POLL && udma_session_poll(s, UINT_MAX))
			continue;
		if (spins < 64 || (spin_until && ((spins & 255) || clock_now_ns() < spin_until))) {
			__builtin_ia32_pause();
			continue;
		}
		/* woken on req->done by the completer; in POLL mode the completion
		 * is queued for us to poll, and the queue's push wakes the session word */
		if ((req->flags & UDMA_REQ_WAIT) && s->mode != UDMA_COMPL_POLL) {
			syscall(SYS_futex, &req->done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
			continue;
		}
		/* Sleep on the session's word: count ourselves, then look once more
		 * (the completer publishes, then looks for us: one of us sees the other). */
		uint32_t word = __atomic_load_n(&s->wake, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
		int idle = !udma_req_is_done(req) &&
			   (s->mode != UDMA_COMPL_POLL || !udma_session_poll(s, UINT_MAX));
		if (idle && !udma_req_is_done(req)) {
			struct timespec cap = { 0, 1000000 }; /* belt and braces: look again every ms */
			syscall(SYS_futex, &s->wake, FUTEX_WAIT_PRIVATE, word, &cap, NULL, 0);
		}
		__atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

/* ---- chains ---------------------------------------------------------------------- */

int _udma_req_may_chain(const struct udma_req *req)
{
	const struct udma_engine *p = req->session->pinned;
	return !p || p->ops.submit_chain;
}

/* The engine that would take a prepared request, if it takes chains. */
static struct udma_engine *chain_engine(const struct slot *sl)
{
	const struct udma_session *s = sl->req.session;
	struct udma_engine *e = s->pinned;
	if (!e || __atomic_load_n(&e->leaving, __ATOMIC_ACQUIRE))
		e = _udma_engine_choose(s->func, sl->touched, sl, NULL);
	return e && e->ops.submit_chain ? e : NULL;
}

/* Claim and prepare reqs[0..] while they go to one engine that takes
 * chains (in *e); how many. Those after them are untouched. */
static unsigned chain_take(struct udma_req *const *reqs, unsigned n, struct slot **sl, struct udma_engine **e)
{
	unsigned k = 0;

	for (; k < n; k++) {
		struct slot *s = slot_of(reqs[k]);
		if (!s || take(s, 0, 1))
			break;
		/* a refusal here is found again when the request is submitted alone */
		if (prepare(s) || s->foreign || (k ? chain_engine(s) != *e : !(*e = chain_engine(s)))) {
			refuse(s, 0);
			break;
		}
		sl[k] = s;
	}
	return k;
}

/* Take back sl[from..n-1] from e: unsubmitted, the caller's again. */
static void chain_untake(struct udma_engine *e, struct slot **sl, unsigned from, unsigned n, int counted)
{
	for (unsigned i = from; i < n; i++) {
		if (counted) {
			__atomic_store_n(&sl[i]->engine, NULL, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&e->handed.bytes, sl[i]->touched, __ATOMIC_RELAXED);
			count_submit(sl[i]->req.session, 0, (unsigned)-1);
		}
		refuse(sl[i], 0);
	}
	if (counted && n > from)
		__atomic_sub_fetch(&e->handed.n, n - from, __ATOMIC_RELEASE);
}

int _udma_submit_chain(struct udma_req *const *reqs, unsigned n)
{
	struct slot *sl[UDMA_CHAIN_MAX];
	struct udma_work *w[UDMA_CHAIN_MAX];
	struct udma_engine *e = NULL;

	UDMA_ASSERT(n <= UDMA_CHAIN_MAX);
	unsigned k = chain_take(reqs, n, sl, &e);
	if (k < 2) { /* nothing to gain: the caller submits it alone */
		chain_untake(e, sl, 0, k, 0);
		return 0;
	}
	/* seq_cst pairs with unregister, as in _udma_slot_dispatch */
	__atomic_add_fetch(&e->handed.n, k, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&e->leaving, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&e->handed.n, k, __ATOMIC_RELEASE);
		chain_untake(e, sl, 0, k, 0);
		return 0;
	}
	for (unsigned i = 0; i < k; i++) {
		__atomic_add_fetch(&e->handed.bytes, sl[i]->touched, __ATOMIC_RELAXED);
		count_submit(sl[i]->req.session, 0, 1);
		sl[i]->req.engine = e->name;
		sl[i]->t_submit = 0; /* its latency would include the works before it */
		__atomic_store_n(&sl[i]->engine, e, __ATOMIC_RELEASE);
		w[i] = &sl[i]->work;
	}
	int got = e->ops.submit_chain(e, w, k);
	if (got < 0 || (unsigned)got > k) {
		UDMA_ASSERT(got < 0);
		got = 0;
	}
	chain_untake(e, sl, (unsigned)got, k, 1);
	return got;
}
