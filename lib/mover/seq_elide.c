/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plan of a sequence before it runs: which copies may be skipped, which
 * go straight through a domain's pull or push (seq_bounce.c decides), and
 * where temporaries and bounce pieces lie in the arena.
 *
 * The rule (docs/sequences.md, "Copy elision"): a copy step may be skipped,
 * its temporary read from the copy's source instead, only when
 *   - its output is a temporary that no other step writes (the client never
 *     sees temporaries, so nobody misses the copy),
 *   - its source is local memory or a temporary (read again later, cheaply),
 *   - no later step writes the source: every later output is memory whose
 *     overlap with the source can be judged (local or temporary) and none
 *     overlaps it.
 * spdk#3382 dropped a copy whose destination a CRC then read while the
 * destination was the client's; here a copy into client memory always runs.
 */
#include "seq_internal.h"

/* The local pieces of a local operand (linear, iovecs, VA domain). */
static void pieces(const struct seq_opnd *o, const struct iovec **v, uint32_t *n, struct iovec *one)
{
	const struct udma_buf *b = &o->buf;
	if (b->type == UDMA_BUF_LINEAR) {
		*one = (struct iovec){ b->linear.addr, b->linear.len };
		*v = one;
		*n = 1;
	} else if (b->type == UDMA_BUF_IOV) {
		*v = b->iov.iov;
		*n = b->iov.cnt;
	} else {
		*v = b->dom.iov;
		*n = b->dom.cnt;
	}
}

/* May output w (of a step after the copy) write the copy's source src? */
static int may_write(const struct seq_opnd *w, const struct seq_opnd *src)
{
	const struct iovec *a, *b;
	uint32_t an, bn;
	struct iovec a1, b1;

	if (w->kind == OPND_NONE)
		return 0;
	if (w->kind == OPND_TMP)
		return src->kind == OPND_TMP && src->buf.tmp.slot == w->buf.tmp.slot;
	if (w->kind != OPND_LOCAL)
		return 1; /* a view or a foreign domain: its overlap with local memory cannot be judged */
	if (src->kind == OPND_TMP)
		return 0;
	pieces(w, &a, &an, &a1);
	pieces(src, &b, &bn, &b1);
	return iov_overlap(a, an, b, bn);
}

/* Steps other than `self` writing temporary slot n. */
static unsigned writers_of(const struct udma_seq *q, uint32_t n, unsigned self)
{
	unsigned count = 0;
	for (unsigned i = 0; i < q->nsteps; i++) {
		const struct seq_step *st = &q->steps[i];
		for (uint32_t j = st->nin; i != self && j < st->nin + st->nout; j++)
			count += st->opnd[j].kind == OPND_TMP && st->opnd[j].buf.tmp.slot == n;
	}
	return count;
}

static int elidable(const struct udma_seq *q, unsigned i)
{
	const struct seq_step *st = &q->steps[i];
	if (st->func != UDMA_FUNC_COPY)
		return 0;
	const struct seq_opnd *src = &st->opnd[0], *dst = &st->opnd[1];
	if (dst->kind != OPND_TMP || (src->kind != OPND_LOCAL && src->kind != OPND_TMP))
		return 0;
	if (writers_of(q, dst->buf.tmp.slot, i))
		return 0;
	for (unsigned k = i + 1; k < q->nsteps; k++) {
		const struct seq_step *later = &q->steps[k];
		for (uint32_t j = later->nin; j < later->nin + later->nout; j++)
			if (may_write(&later->opnd[j], src))
				return 0;
	}
	return 1;
}

static size_t page_up(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

void _udma_seq_plan(struct udma_seq *q)
{
	size_t off = 0, bounce = 0;

	for (unsigned n = 0; n < UDMA_SEQ_MAX_TMP; n++)
		q->tmp_alias[n] = NULL;
	for (unsigned i = 0; i < q->nsteps; i++) {
		struct seq_step *st = &q->steps[i];
		st->elided = elidable(q, i);
		if (st->elided) {
			const struct seq_opnd *src = &st->opnd[0];
			uint32_t n = st->opnd[1].buf.tmp.slot;
			/* a temporary's source may itself be an elided copy's */
			q->tmp_alias[n] = src->kind == OPND_TMP && q->tmp_alias[src->buf.tmp.slot]
						  ? q->tmp_alias[src->buf.tmp.slot]
					  : src->kind == OPND_TMP ? NULL
								  : src;
			st->elided = src->kind != OPND_TMP || q->tmp_alias[n];
		}
		_udma_seq_plan_bounce(q, st); /* after the aliases of the steps before it */
		if (st->bounce_need > bounce)
			bounce = st->bounce_need;
	}
	for (unsigned n = 0; n < UDMA_SEQ_MAX_TMP; n++) {
		q->tmp_off[n] = off;
		if (!q->tmp_alias[n])
			off += page_up(q->tmp_len[n]);
	}
	q->bounce_off = off;
	q->arena_len = off + bounce;
	q->planned = 1;
}
