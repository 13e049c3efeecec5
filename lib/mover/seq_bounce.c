/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bouncing a step's operands in domains without local views (process,
 * remote, custom — SPDK's memory domains — and storage): pulled into the
 * sequence's bounce area before the step, pushed from it after. The
 * domains' operations may complete later, on any thread: each completion
 * counts down, and the last one wakes the sequence.
 */
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

int _udma_seq_pull(struct udma_seq *q, struct seq_step *st)
{
	round_begin(q);
	for (uint32_t j = 0; j < st->nin; j++) {
		struct seq_opnd *o = &st->opnd[j];
		if (o->kind != OPND_FOREIGN || !o->len)
			continue;
		__atomic_add_fetch(&q->ops_pending, 1, __ATOMIC_RELAXED);
		int rc = udma_domain_pull(o->buf.dom.domain, o->buf.dom.domain_ctx, o->buf.dom.iov, o->buf.dom.cnt,
					  &o->bounce, 1, op_done, q);
		if (rc)
			refused(q, "pulling from", o, rc);
	}
	return round_end(q);
}

int _udma_seq_push(struct udma_seq *q, struct seq_step *st)
{
	round_begin(q);
	for (uint32_t j = st->nin; j < st->nin + st->nout; j++) {
		struct seq_opnd *o = &st->opnd[j];
		if (o->kind != OPND_FOREIGN || !o->len)
			continue;
		__atomic_add_fetch(&q->ops_pending, 1, __ATOMIC_RELAXED);
		int rc = udma_domain_push(o->buf.dom.domain, o->buf.dom.domain_ctx, o->buf.dom.iov, o->buf.dom.cnt,
					  &o->bounce, 1, op_done, q);
		if (rc)
			refused(q, "pushing to", o, rc);
	}
	return round_end(q);
}
