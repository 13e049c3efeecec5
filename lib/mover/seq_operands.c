/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A step's operands: what kind each is (checked at append), and the buffer
 * its request gets when the step runs — the caller's own, a temporary's
 * piece of the arena (or the elided copy's source), local views of a shm or
 * device domain, or a piece of the bounce area for domains without them.
 */
#include <stdlib.h>

#include "../core/check.h"
#include "../domain/domain_internal.h"
#include "seq_internal.h"

int _udma_seq_opnd_classify(struct seq_opnd *o, const struct udma_buf *b)
{
	int err;

	*o = (struct seq_opnd){ .buf = *b };
	switch (b->type) {
	case UDMA_BUF_NONE:
		o->kind = OPND_NONE;
		return 0;
	case UDMA_BUF_LINEAR:
		if (!b->linear.addr && b->linear.len)
			return udma_fail(EINVAL, "linear buffer at NULL");
		o->kind = OPND_LOCAL;
		o->len = b->linear.len;
		return 0;
	case UDMA_BUF_IOV:
		o->kind = OPND_LOCAL;
		return _udma_iov_total(b->iov.iov, b->iov.cnt, &o->len);
	case UDMA_BUF_SEQ_TMP:
		if (b->tmp.slot >= UDMA_SEQ_MAX_TMP)
			return udma_fail(EINVAL, "temporary %u (0..%u)", b->tmp.slot, UDMA_SEQ_MAX_TMP - 1);
		o->kind = OPND_TMP;
		o->len = b->tmp.len;
		return 0;
	case UDMA_BUF_DOMAIN: {
		struct udma_domain *d = b->dom.domain;
		if (!d)
			return udma_fail(EINVAL, "domain buffer without a domain");
		if ((err = _udma_iov_total(b->dom.iov, b->dom.cnt, &o->len)))
			return err;
		o->kind = d->k->local_is_va ? OPND_LOCAL : d->k->local_view ? OPND_VIEW : OPND_FOREIGN;
		if (o->kind == OPND_VIEW && !(o->view = malloc(sizeof(*o->view))))
			return udma_fail(ENOMEM, "out of memory");
		if (o->view)
			iovbuf_init(o->view);
		return 0;
	}
	default:
		return udma_fail(EINVAL, "bad buffer type %d", (int)b->type);
	}
}

void _udma_seq_opnd_fini(struct seq_opnd *o)
{
	if (o->view) {
		_udma_iovbuf_fini(o->view);
		free(o->view);
		o->view = NULL;
	}
}

/* A buffer of the caller's own, or its local-VA domain's, as a request takes it. */
static struct udma_buf local_buf(const struct udma_buf *b)
{
	if (b->type != UDMA_BUF_DOMAIN)
		return *b;
	return (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { b->dom.iov, b->dom.cnt } };
}

int _udma_seq_opnd_buf(struct udma_seq *q, struct seq_opnd *o, int write, char **bounce, struct udma_buf *out)
{
	int err;

	switch (o->kind) {
	case OPND_NONE:
		*out = (struct udma_buf){ .type = UDMA_BUF_NONE };
		return 0;
	case OPND_LOCAL:
		*out = local_buf(&o->buf);
		return 0;
	case OPND_TMP: {
		uint32_t n = o->buf.tmp.slot;
		if (q->tmp_alias[n]) { /* an elided copy's source, local by the rule */
			*out = local_buf(&q->tmp_alias[n]->buf);
			return 0;
		}
		*out = (struct udma_buf){ .type = UDMA_BUF_LINEAR,
					  .linear = { (char *)q->arena + q->tmp_off[n], o->len } };
		return 0;
	}
	case OPND_VIEW:
		o->view->n = 0;
		if ((err = _udma_domain_local_view(o->buf.dom.domain, o->buf.dom.iov, o->buf.dom.cnt, write, o->view)))
			return udma_fail(-err, "no local view of %s: %d", udma_domain_id(o->buf.dom.domain), err);
		*out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { o->view->v, (uint32_t)o->view->n } };
		return 0;
	case OPND_FOREIGN:
		UDMA_ASSERT(bounce);
		o->bounce = (struct iovec){ *bounce, o->len };
		*bounce += (o->len + 4095) & ~(size_t)4095; /* page-aligned pieces: storage reads them with O_DIRECT */
		*out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { o->bounce.iov_base, o->len } };
		return 0;
	}
	UDMA_ASSERT(0);
	return -EINVAL;
}

void _udma_seq_resolve_fixed(struct udma_seq *q)
{
	UDMA_ASSERT(q->planned);
	for (unsigned i = 0; i < q->nsteps; i++) {
		struct seq_step *st = &q->steps[i];
		for (uint32_t j = 0; j < st->nin + st->nout; j++) {
			struct seq_opnd *o = &st->opnd[j];
			if (o->kind != OPND_VIEW && o->kind != OPND_FOREIGN) {
				int err = _udma_seq_opnd_buf(q, o, j >= st->nin, NULL, &st->rin[j]);
				UDMA_ASSERT(!err); /* local and temporary ones cannot fail */
				(void)err;
			}
		}
	}
	q->resolved = 1;
}
