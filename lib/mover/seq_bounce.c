/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bouncing a step's operands in domains without local views (process,
 * remote, custom — SPDK's memory domains — and storage): pulled into the
 * sequence's bounce area before the step, pushed from it after. The
 * domains' operations may complete later, on any thread: each completion
 * counts down, and the last one wakes the sequence. A copy with one side
 * in such a domain is that domain's pull or push alone, straight into or
 * out of the other side (no bounce, no engine) — where that side suits the
 * domain: storage moves memory with O_DIRECT, which wants it aligned.
 */
#include <udma/storage.h>

#include "seq_internal.h"

/* The first error of the round is the step's. */
static void note_err(struct udma_seq *q, int status)
{
	int none = 0;
	__atomic_compare_exchange_n(&q->ops_err, &none, status, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void op_done(void *arg, int status)
{
	struct udma_seq *q = arg;

	if (status)
		note_err(q, status);
	if (!__atomic_sub_fetch(&q->ops_pending, 1, __ATOMIC_ACQ_REL))
		_udma_seq_kick(q);
}

/* An operation refused at once: its callback never comes. */
static void refused(struct udma_seq *q, const char *what, const struct seq_opnd *o, int rc)
{
	__atomic_sub_fetch(&q->ops_pending, 1, __ATOMIC_RELAXED);
	udma_dbg("%s %s: %d", what, udma_domain_id(o->buf.dom.domain), rc);
	note_err(q, rc);
}

/* Begin a round: one count held while issuing, so no completion finishes it early. */
static void round_begin(struct udma_seq *q)
{
	__atomic_store_n(&q->ops_err, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->ops_pending, 1, __ATOMIC_RELEASE);
}

/* Drop the issuer's count: 1 if every operation is done (the caller goes on). */
static int round_end(struct udma_seq *q)
{
	return !__atomic_sub_fetch(&q->ops_pending, 1, __ATOMIC_ACQ_REL);
}

/* Pull (inputs) or push (outputs) every foreign operand of steps [from, to) through its bounce piece. */
static int move_foreign(struct udma_seq *q, struct seq_step *st, uint32_t from, uint32_t to, int push)
{
	round_begin(q);
	for (uint32_t j = from; j < to; j++) {
		struct seq_opnd *o = &st->opnd[j];
		if (o->kind != OPND_FOREIGN || !o->len)
			continue;
		__atomic_add_fetch(&q->ops_pending, 1, __ATOMIC_RELAXED);
		int rc = (push ? udma_domain_push : udma_domain_pull)(o->buf.dom.domain, o->buf.dom.domain_ctx,
								     o->buf.dom.iov, o->buf.dom.cnt, &o->bounce, 1,
								     op_done, q);
		if (rc)
			refused(q, push ? "pushing to" : "pulling from", o, rc);
	}
	return round_end(q);
}

int _udma_seq_pull(struct udma_seq *q, struct seq_step *st)
{
	return move_foreign(q, st, 0, st->nin, 0);
}

int _udma_seq_push(struct udma_seq *q, struct seq_step *st)
{
	return move_foreign(q, st, st->nin, st->nin + st->nout, 1);
}

/* May the near side of a copy with a foreign far side go to the far
 * domain as it is? Storage needs aligned memory (O_DIRECT): a temporary
 * (page-aligned pieces of the arena) is, client memory only if every piece
 * is; views are judged only at run time, so they take the bounce. */
static int direct_ok(const struct udma_seq *q, const struct seq_opnd *near, const struct seq_opnd *far)
{
	struct udma_domain *d = far->buf.dom.domain;
	struct udma_storage_info info = { .size = sizeof(info) };

	if (udma_domain_kind(d) != UDMA_KIND_STORAGE)
		return 1;
	if (near->kind == OPND_TMP && !q->tmp_alias[near->buf.tmp.slot])
		return 1;
	const struct seq_opnd *o = near->kind == OPND_TMP ? q->tmp_alias[near->buf.tmp.slot] : near;
	if (o->kind != OPND_LOCAL || udma_storage_info(d, &info) || !info.mem_align || !info.offset_align)
		return 0;
	const struct udma_buf *b = &o->buf;
	struct iovec one = { b->linear.addr, b->linear.len };
	const struct iovec *v = b->type == UDMA_BUF_LINEAR ? &one : b->type == UDMA_BUF_IOV ? b->iov.iov : b->dom.iov;
	uint32_t n = b->type == UDMA_BUF_LINEAR ? 1 : b->type == UDMA_BUF_IOV ? b->iov.cnt : b->dom.cnt;
	for (uint32_t i = 0; i < n; i++)
		if ((uintptr_t)v[i].iov_base % info.mem_align || v[i].iov_len % info.offset_align)
			return 0;
	return 1;
}

void _udma_seq_plan_bounce(const struct udma_seq *q, struct seq_step *st)
{
	st->by_domain = 0;
	st->foreign_in = st->foreign_out = 0;
	st->bounce_need = 0;
	if (st->func == UDMA_FUNC_COPY && (st->opnd[0].kind == OPND_FOREIGN) != (st->opnd[1].kind == OPND_FOREIGN)) {
		int push = st->opnd[1].kind == OPND_FOREIGN;
		st->by_domain = direct_ok(q, &st->opnd[!push], &st->opnd[push]);
	}
	for (uint32_t j = 0; !st->by_domain && j < st->nin + st->nout; j++) {
		if (st->opnd[j].kind != OPND_FOREIGN)
			continue;
		st->bounce_need += (st->opnd[j].len + 4095) & ~(size_t)4095;
		*(j < st->nin ? &st->foreign_in : &st->foreign_out) = 1;
	}
}

/* The local side of a by_domain copy as iovecs. */
static int local_side(struct udma_seq *q, struct seq_opnd *o, int write, struct iovec **iov, uint32_t *cnt)
{
	struct udma_buf b;
	int err = _udma_seq_opnd_buf(q, o, write, NULL, &b);
	if (err)
		return err;
	if (b.type == UDMA_BUF_LINEAR) {
		o->bounce = (struct iovec){ b.linear.addr, b.linear.len };
		*iov = &o->bounce;
		*cnt = 1;
	} else {
		*iov = b.iov.iov;
		*cnt = b.iov.cnt;
	}
	return 0;
}

int _udma_seq_copy_by_domain(struct udma_seq *q, struct seq_step *st)
{
	struct seq_opnd *in = &st->opnd[0], *out = &st->opnd[1];
	int push = out->kind == OPND_FOREIGN;
	struct seq_opnd *far = push ? out : in, *near = push ? in : out;
	struct iovec *iov;
	uint32_t cnt;
	int rc = local_side(q, near, !push, &iov, &cnt);

	if (rc)
		return rc;
	round_begin(q);
	if (far->len) {
		const struct udma_buf *b = &far->buf;
		__atomic_add_fetch(&q->ops_pending, 1, __ATOMIC_RELAXED);
		rc = push ? udma_domain_push(b->dom.domain, b->dom.domain_ctx, b->dom.iov, b->dom.cnt, iov, cnt, op_done, q)
			  : udma_domain_pull(b->dom.domain, b->dom.domain_ctx, b->dom.iov, b->dom.cnt, iov, cnt, op_done, q);
		if (rc)
			refused(q, push ? "pushing to" : "pulling from", far, rc);
	}
	return round_end(q);
}
