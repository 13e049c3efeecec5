/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checking and resolving the buffers of the later functions (from
 * UDMA_FUNC_COUNT on): many inputs, several outputs, lost blocks left NONE,
 * DIF's outputs longer or shorter than their inputs. Their buffers are
 * local (linear, iovecs, or a domain whose local addresses are VAs).
 */
#include <string.h>

#include "../core/check.h"
#include "../domain/domain_internal.h"
#include "mover_internal.h"

/* One buffer as an iovec array of local addresses, and its length. */
static int resolve_local(const struct udma_buf *b, struct iovec *lin, struct iovec **iov, uint32_t *cnt, size_t *len)
{
	const struct iovec *v;
	uint32_t n;

	switch (b->type) {
	case UDMA_BUF_LINEAR:
		*lin = (struct iovec){ b->linear.addr, b->linear.len };
		v = lin;
		n = 1;
		break;
	case UDMA_BUF_IOV:
		v = b->iov.iov;
		n = b->iov.cnt;
		break;
	case UDMA_BUF_DOMAIN:
		if (!b->dom.domain || !b->dom.domain->k->local_is_va)
			return udma_fail(EINVAL, "domain buffers of the later functions must be local (VAs)");
		v = b->dom.iov;
		n = b->dom.cnt;
		break;
	default:
		return udma_fail(EINVAL, "bad buffer type %d", (int)b->type);
	}
	int err = _udma_iov_total(v, n, len);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		if (iov_piece_bad(&v[i]))
			return udma_fail(EINVAL, "piece %u [%p, +%zu) is NULL, wraps or reaches past user space", i,
					 v[i].iov_base, v[i].iov_len);
	}
	*iov = (struct iovec *)v;
	*cnt = n;
	return 0;
}

/* The output length the function needs for inputs of len bytes (DIF differs). */
static int out_len_ok(enum udma_func f, const struct udma_params *p, size_t in_len, size_t out_len,
		      const struct func_shape *sh)
{
	size_t bs = p ? p->dif_block : 0, ext = bs + 8;

	switch (f) {
	case UDMA_FUNC_DIF_GENERATE:
		return out_len % ext ? udma_fail(EINVAL, "dif: %zu bytes are not whole %zu-byte blocks", out_len, ext) : 0;
	case UDMA_FUNC_DIF_VERIFY:
		return in_len % ext ? udma_fail(EINVAL, "dif: %zu bytes are not whole %zu-byte blocks", in_len, ext) : 0;
	case UDMA_FUNC_DIF_STRIP:
		if (in_len % ext || out_len != in_len / ext * bs)
			return udma_fail(EINVAL, "dif-strip: %zu bytes in (whole %zu-byte blocks), %zu out", in_len, ext, out_len);
		return 0;
	case UDMA_FUNC_DIF_INSERT:
		if (in_len % bs || out_len != in_len / bs * ext)
			return udma_fail(EINVAL, "dif-insert: %zu bytes in (whole %zu-byte blocks), %zu out", in_len, bs, out_len);
		return 0;
	default:
		if (sh->nins && sh->nouts && out_len != in_len)
			return udma_fail(EINVAL, "region lengths differ: %zu and %zu", in_len, out_len);
		return 0;
	}
}

static int resolve_inputs(struct slot *sl, const struct func_shape *sh, size_t *len)
{
	struct slot_multi *mx = sl->mx;
	const struct udma_req *r = &sl->req;
	int have = 0, err;
	size_t l;

	if (sh->nins && !r->in)
		return udma_fail(EINVAL, "no input buffers");
	for (uint32_t j = 0; j < sh->nins; j++) {
		mx->ins[j] = NULL;
		mx->ins_cnt[j] = 0;
		if (sh->lost >> j & 1) {
			if (r->in[j].type != UDMA_BUF_NONE)
				return udma_fail(EINVAL, "input %u is a lost block: it must be NONE", j);
			continue;
		}
		if ((err = resolve_local(&r->in[j], &mx->lin_in[j], &mx->ins[j], &mx->ins_cnt[j], &l)))
			return err;
		if (have && l != *len)
			return udma_fail(EINVAL, "region lengths differ: %zu and %zu", *len, l);
		*len = l;
		have = 1;
	}
	return 0;
}

static int resolve_outputs(struct slot *sl, const struct func_shape *sh, size_t *len)
{
	struct slot_multi *mx = sl->mx;
	const struct udma_req *r = &sl->req;
	int err;
	size_t l;

	if (!sh->single_out && r->out.type != UDMA_BUF_NONE)
		return udma_fail(EINVAL, "%s writes req->outs[], not req->out", udma_func_name(sl->req.session->func));
	if (sh->nouts && !sh->single_out && !r->outs)
		return udma_fail(EINVAL, "no output buffers");
	for (uint32_t j = 0; j < sh->nouts; j++) {
		const struct udma_buf *b = sh->single_out ? &r->out : &r->outs[j];
		if ((err = resolve_local(b, &mx->lin_out[j], &mx->outs[j], &mx->outs_cnt[j], &l)))
			return err;
		if (j && l != *len)
			return udma_fail(EINVAL, "output lengths differ: %zu and %zu", *len, l);
		*len = l;
	}
	return 0;
}

/* No output overlaps an input or another output. */
static int overlaps_ok(const struct slot_multi *mx, const struct func_shape *sh)
{
	for (uint32_t o = 0; o < sh->nouts; o++) {
		for (uint32_t j = 0; j < sh->nins; j++)
			if (mx->ins[j] && iov_overlap(mx->outs[o], mx->outs_cnt[o], mx->ins[j], mx->ins_cnt[j]))
				return udma_fail(EINVAL, "input %u overlaps output %u", j, o);
		for (uint32_t p = 0; p < o; p++)
			if (iov_overlap(mx->outs[o], mx->outs_cnt[o], mx->outs[p], mx->outs_cnt[p]))
				return udma_fail(EINVAL, "outputs %u and %u overlap", p, o);
	}
	return 0;
}

int _udma_prepare_multi(struct slot *sl)
{
	struct udma_session *s = sl->req.session;
	struct udma_req *r = &sl->req;
	struct udma_work *w = &sl->work;
	struct slot_multi *mx = sl->mx;
	struct func_shape sh;
	size_t in_len = 0, out_len = 0;
	int err;

	UDMA_ASSERT(mx && s->func >= UDMA_FUNC_COUNT);
	if ((err = _udma_func_shape(s->func, r->params, &sh)) || (err = resolve_inputs(sl, &sh, &in_len)) ||
	    (err = resolve_outputs(sl, &sh, &out_len)) ||
	    (err = out_len_ok(s->func, r->params, in_len, out_len, &sh)) || (err = overlaps_ok(mx, &sh)))
		return err;
	if (r->params)
		mx->params = *r->params; /* read at submit: the caller may reuse its struct at once */
	sl->foreign = 0;
	*w = (struct udma_work){
		.req = r,
		.func = s->func,
		.len = sh.nins ? in_len : out_len,
		.out = sh.nouts ? mx->outs[0] : NULL,
		.out_cnt = sh.nouts ? mx->outs_cnt[0] : 0,
		.ninputs = sh.nins < UDMA_MAX_INPUTS ? sh.nins : UDMA_MAX_INPUTS,
		.params = r->params ? &mx->params : NULL,
		.ins = mx->ins,
		.ins_cnt = mx->ins_cnt,
		.nins = sh.nins,
		.outs = mx->outs,
		.outs_cnt = mx->outs_cnt,
		.nouts = sh.nouts,
		.out_len = out_len,
	};
	for (uint32_t j = 0; j < w->ninputs; j++) {
		w->in[j] = mx->ins[j];
		w->in_cnt[j] = mx->ins_cnt[j];
	}
	sl->touched = (uint64_t)in_len * sh.nins + (uint64_t)out_len * sh.nouts;
	if (!sl->touched)
		sl->touched = 1;
	return 0;
}
