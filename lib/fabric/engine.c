/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fabric engine for the mover: copy, zero, fill8 and fill64 between
 * local buffers and remote domains of one fabric, which it accepts in their
 * own addresses (offsets in the region). local -> remote is fi_write,
 * remote -> local fi_read, remote -> remote reads into a staging buffer and
 * writes from it; zero and fill on remote memory write from a local
 * pattern buffer of at most 64 KiB, every piece from the same buffer
 * (fill64 starts each piece at the pattern's phase). Works on local buffers
 * only run on the CPU kernels, inline.
 *
 * Every work is accepted: its RMA pieces join the fabric's FIFO, of which
 * at most the fabric's depth are on the wire. Completion comes from the
 * progress thread; with manual progress, from udma_session_poll() (POLL
 * sessions) or, for callback sessions and waiting requests, before
 * submit returns, since nothing else would drive the fabric for them.
 */
#include <stdlib.h>
#include <string.h>
#include <udma/backend.h>

#include "../core/iov.h"
#include "fabric_internal.h"

#define PATTERN (64u << 10)
#define FUNCS ((1u << UDMA_FUNC_ZERO) | (1u << UDMA_FUNC_FILL8) | (1u << UDMA_FUNC_FILL64) | (1u << UDMA_FUNC_COPY))

struct feng {
	struct udma_fabric *fab;
};

struct ework {
	struct fab_req r;
	struct udma_work *w;
	void *buf;                   /* pattern or staging */
	struct fab_remote *out_rm;   /* remote -> remote: the write still to do */
	uint64_t t0;
	int sync, flag;
};

static void ework_finish(struct ework *ew, int st)
{
	struct udma_work *w = ew->w;

	w->exec_ns = udma_engine_clock_ns() - ew->t0 + 1;
	free(ew->buf);
	free(ew);
	udma_engine_done(w, st);
}

static void ework_done(struct fab_req *r);

/* remote -> remote, second half: write the staged bytes. */
static int ework_push_staged(struct ework *ew)
{
	struct udma_work *w = ew->w;
	struct iovec l = { ew->buf, w->len };
	struct fab_remote *rm = ew->out_rm;

	ew->out_rm = NULL;
	_udma_fab_req_init(&ew->r, rm->fab, ework_done);
	ew->r.defer = rm->fab->has_thread && !ew->sync;
	int err = _udma_fab_req_add_pairs(&ew->r, 1, &l, 1, rm, w->out, w->out_cnt);
	if (err) {
		_udma_fab_req_abandon(&ew->r);
		return err;
	}
	_udma_fab_req_start(&ew->r);
	return 0;
}

static void ework_done(struct fab_req *r)
{
	struct ework *ew = (struct ework *)r;
	int st = r->status;

	if (!st && ew->out_rm) {
		if (!(st = ework_push_staged(ew)))
			return;
	}
	if (ew->sync) {
		r->status = st;
		_udma_fab_req_signal(r->fab, &ew->flag);
		return;
	}
	ework_finish(ew, st);
}

/* Remote zero/fill: pieces of at most PATTERN bytes from one local pattern buffer. */
static int add_fill(struct ework *ew, struct fab_remote *rm)
{
	struct udma_work *w = ew->w;
	size_t n = w->len < PATTERN ? w->len : PATTERN;
	uint8_t *b = malloc(n + 8);
	void *desc;
	int err;

	if (!b)
		return udma_fail(ENOMEM, "no pattern buffer");
	ew->buf = b;
	for (size_t i = 0; i < n + 8; i++)
		b[i] = w->func == UDMA_FUNC_ZERO ? 0 : w->func == UDMA_FUNC_FILL8 ? w->req->imm[0] : w->req->imm[i % 8];
	if ((err = _udma_fab_local_desc(&ew->r, b, n + 8, &desc)))
		return err;
	uint64_t pos = 0; /* bytes of output before this piece: fill64's phase */
	for (uint32_t i = 0; i < w->out_cnt && !err; i++)
		for (size_t off = 0; off < w->out[i].iov_len && !err;) {
			size_t k = w->out[i].iov_len - off < n ? w->out[i].iov_len - off : n;
			size_t phase = w->func == UDMA_FUNC_FILL64 ? pos % 8 : 0;
			err = _udma_fab_req_add(&ew->r, 1, b + phase, k, desc, rm->peer,
					  rm->desc.base + (uintptr_t)w->out[i].iov_base + off, rm->desc.key);
			off += k;
			pos += k;
		}
	return err;
}

/* Build and start one work; 0 or an error for which no RMA was started. */
static int start(struct feng *fe, struct udma_work *w)
{
	struct udma_fabric *fab = fe->fab;
	struct fab_remote *out_rm = _udma_fab_remote_of(w->out_dom, fab);
	struct fab_remote *in_rm = w->func == UDMA_FUNC_COPY ? _udma_fab_remote_of(w->in_dom[0], fab) : NULL;
	int err;

	if ((w->out_dom && !out_rm) || (w->func == UDMA_FUNC_COPY && w->in_dom[0] && !in_rm))
		return udma_fail(EINVAL, "a buffer is in a domain this engine did not accept");
	if (!out_rm && !in_rm) { /* local only: the CPU kernels */
		uint64_t t0 = udma_engine_clock_ns();
		err = udma_cpu_execute(w);
		w->exec_ns = udma_engine_clock_ns() - t0 + 1;
		udma_engine_done(w, err);
		return 0;
	}
	if ((out_rm && (err = _udma_fab_remote_check(out_rm, w->out, w->out_cnt, 1))) ||
	    (in_rm && (err = _udma_fab_remote_check(in_rm, w->in[0], w->in_cnt[0], 0))))
		return err;
	struct ework *ew = calloc(1, sizeof(*ew));
	if (!ew)
		return udma_fail(ENOMEM, "out of memory");
	ew->w = w;
	ew->t0 = udma_engine_clock_ns();
	_udma_fab_req_init(&ew->r, fab, ework_done);
	/* manual progress and nobody polling for this work: finish it here */
	ew->sync = !fab->has_thread && !udma_work_polled(w);
	/* with the progress thread, completions are its own (docs/fabric.md) */
	ew->r.defer = fab->has_thread;
	if (w->func != UDMA_FUNC_COPY) {
		err = add_fill(ew, out_rm);
	} else if (out_rm && in_rm) { /* stage: read all, then write all */
		ew->buf = malloc(w->len ? w->len : 1);
		struct iovec l = { ew->buf, w->len };
		err = ew->buf ? _udma_fab_req_add_pairs(&ew->r, 0, &l, 1, in_rm, w->in[0], w->in_cnt[0])
			      : udma_fail(ENOMEM, "no staging buffer of %zu bytes", w->len);
		ew->out_rm = out_rm;
	} else if (out_rm) {
		err = _udma_fab_req_add_pairs(&ew->r, 1, w->in[0], w->in_cnt[0], out_rm, w->out, w->out_cnt);
	} else {
		err = _udma_fab_req_add_pairs(&ew->r, 0, w->out, w->out_cnt, in_rm, w->in[0], w->in_cnt[0]);
	}
	if (err) {
		_udma_fab_req_abandon(&ew->r);
		free(ew->buf);
		free(ew);
		return err;
	}
	if (!ew->sync) {
		_udma_fab_req_start(&ew->r);
		return 0;
	}
	_udma_fab_req_start(&ew->r);
	_udma_fab_req_wait(fab, &ew->flag);
	ework_finish(ew, ew->r.status);
	return 0;
}

static int f_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	struct feng *fe = udma_engine_priv(e);

	for (unsigned i = 0; i < n; i++) {
		int err = start(fe, w[i]);
		if (err) /* accepted, and failed: the client sees the status */
			udma_engine_done(w[i], err);
	}
	return (int)n;
}

static int f_poll(struct udma_engine *e, unsigned max)
{
	struct feng *fe = udma_engine_priv(e);
	/* with a progress thread there is nothing to drive, and competing for the CQ only costs */
	return fe->fab->has_thread ? 0 : _udma_fab_progress(fe->fab, max, 0);
}

static int f_accepts(struct udma_engine *e, struct udma_domain *d)
{
	struct feng *fe = udma_engine_priv(e);
	return _udma_fab_remote_of(d, fe->fab) != NULL;
}

static void f_fini(struct udma_engine *e)
{
	struct feng *fe = udma_engine_priv(e);

	__atomic_store_n(&fe->fab->engine, NULL, __ATOMIC_RELEASE);
	free(fe);
}

static const struct udma_engine_ops fabric_engine_ops = {
	.size = sizeof(fabric_engine_ops),
	.submit = f_submit,
	.poll = f_poll,
	.fini = f_fini,
	.accepts = f_accepts,
};

struct udma_engine *udma_fabric_engine_create(struct udma_fabric *fab, const struct udma_fabric_engine_opts *uo)
{
	struct udma_fabric_engine_opts o = { .size = sizeof(o) };
	struct udma_engine *busy = (struct udma_engine *)(uintptr_t)1, *none = NULL;

	if (!fab)
		return udma_fail_null(EINVAL, "NULL fabric");
	if (uo) {
		if (uo->size < offsetof(struct udma_fabric_engine_opts, name) + sizeof(o.name))
			return udma_fail_null(EINVAL, "opts->size %zu too small", uo->size);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	/* one engine per fabric: claim the slot first */
	if (!__atomic_compare_exchange_n(&fab->engine, &none, busy, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return udma_fail_null(EBUSY, "fabric %s already has an engine", fab->prov);
	struct feng *fe = calloc(1, sizeof(*fe));
	if (!fe) {
		__atomic_store_n(&fab->engine, NULL, __ATOMIC_RELEASE);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	fe->fab = fab;
	struct udma_engine_desc d = {
		.size = sizeof(d),
		.name = o.name ? o.name : "fabric",
		.speed = o.speed ? o.speed : 2000000000ull,
		.funcs = FUNCS,
		.lanes = 1,
		.ops = &fabric_engine_ops,
		.priv = fe,
	};
	struct udma_engine *e = udma_engine_register(&d);
	if (!e) {
		int err = errno;
		free(fe);
		__atomic_store_n(&fab->engine, NULL, __ATOMIC_RELEASE);
		errno = err;
		return NULL;
	}
	__atomic_store_n(&fab->engine, e, __ATOMIC_RELEASE);
	return e;
}
