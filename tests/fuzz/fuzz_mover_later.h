/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Part of fuzz_mover.c: the later functions (issue 18) with fuzzed
 * parameters (k, m, matrix, update_index, nlost and lost[], dif_block,
 * dif_check, tags) and buffer shapes, and bursts of copies with a refused
 * request somewhere. Most requests are built valid, the rest get one thing
 * wrong that the library must refuse with -EINVAL (parameters of the wrong
 * size, an output over an input, a lost block given, req->out where outs[]
 * is the place, a parameter out of range). Accepted ones must complete
 * with status 0, change nothing outside their outputs, and where a
 * reference is cheap (dualcast, pq-gen, pq-validate, compare-pattern,
 * ec-encode, ec-update, dif-generate, dif-insert) produce it.
 */

/* One later request as generated: where its regions are in the arena. */
struct later {
	enum udma_func f;
	struct udma_params p;
	unsigned nins, nouts, single_out;
	uint64_t lost;
	size_t in_len, out_len;
	size_t in_off[UDMA_MAX_SOURCES], out_off[UDMA_MAX_OUTPUTS];
};

static struct udma_session *later_sessions[UDMA_FUNC_END];

/* Valid parameters and shape for l->f. */
static void later_params(struct fin *in, struct later *l)
{
	struct udma_params *p = &l->p;
	unsigned a, b;

	*p = (struct udma_params){ .size = sizeof(*p), .dif_block = 512 };
	switch (l->f) {
	case UDMA_FUNC_DUALCAST: l->nins = 1; l->nouts = 2; return;
	case UDMA_FUNC_COMPARE_PATTERN: l->nins = 1; return;
	case UDMA_FUNC_PQ_GEN:
	case UDMA_FUNC_PQ_VALIDATE:
	case UDMA_FUNC_RAID6_RECOVER:
		p->k = 2 + take8(in) % 15;
		l->nins = l->f == UDMA_FUNC_PQ_GEN ? p->k : p->k + 2;
		l->nouts = l->f == UDMA_FUNC_PQ_VALIDATE ? 0 : 2;
		if (l->f != UDMA_FUNC_RAID6_RECOVER)
			return;
		a = take8(in) % (p->k + 1), b = take8(in) % p->k; /* two of data 0..k-1 and P (k), ascending */
		b += b >= a;
		p->nlost = 2;
		p->lost[0] = (uint8_t)(a < b ? a : b);
		p->lost[1] = (uint8_t)(a < b ? b : a);
		l->lost = 1ull << a | 1ull << b;
		return;
	case UDMA_FUNC_EC_ENCODE:
	case UDMA_FUNC_EC_UPDATE:
	case UDMA_FUNC_EC_DECODE:
		p->k = 1 + take8(in) % 16;
		p->m = 1 + take8(in) % 8;
		l->nouts = p->m;
		l->nins = l->f == UDMA_FUNC_EC_ENCODE ? p->k : l->f == UDMA_FUNC_EC_UPDATE ? 2 : p->k + p->m;
		p->update_index = take8(in) % p->k;
		if (l->f != UDMA_FUNC_EC_DECODE)
			return;
		p->nlost = 1 + take8(in) % p->m;
		for (unsigned i = 0, at = 0; i < p->nlost; i++) { /* ascending, room left for the rest */
			at += take8(in) % (p->k + p->m - at - (p->nlost - i) + 1);
			p->lost[i] = (uint8_t)at;
			l->lost |= 1ull << at++;
		}
		l->nouts = p->nlost;
		return;
	default: /* dif-* */
		p->dif_block = take8(in) % 4 ? 512 : 4096;
		p->dif_check = take8(in) & 7;
		p->app_tag = (uint16_t)take(in, 2);
		p->app_mask = (uint16_t)take(in, 2);
		p->ref_tag = (uint32_t)take(in, 4);
		l->nins = l->f != UDMA_FUNC_DIF_GENERATE;
		l->nouts = l->f != UDMA_FUNC_DIF_VERIFY;
		l->single_out = 1;
	}
}

/* Lengths and places: every region apart, in the arena, in order. */
static void later_layout(struct fin *in, struct later *l)
{
	size_t regions = l->nins + l->nouts, room = (RSZ / regions - 128) & ~(size_t)63; /* a stride and a gap each */

	if (l->single_out || l->f == UDMA_FUNC_DIF_VERIFY) {
		size_t bs = l->p.dif_block, ext = bs + 8, blocks = take8(in) % (room / ext + 1);
		l->in_len = l->f == UDMA_FUNC_DIF_INSERT ? blocks * bs : blocks * ext;
		l->out_len = l->f == UDMA_FUNC_DIF_STRIP ? blocks * bs : blocks * ext;
	} else {
		l->in_len = l->out_len = take(in, 2) % (room + 1);
	}
	size_t stride = ((l->in_len > l->out_len ? l->in_len : l->out_len) + 63) & ~(size_t)63, at = 0;
	for (unsigned j = 0; j < l->nins; j++, at += stride + 64 * (take8(in) & 1))
		l->in_off[j] = at;
	for (unsigned o = 0; o < l->nouts; o++, at += stride)
		l->out_off[o] = at;
	FUZZ_CHECK(at <= RSZ, "later layout of %zu bytes", at);
}

/* One thing wrong, if the mode says so and it applies: 1 if made wrong. */
static int later_break(struct fin *in, struct later *l, struct udma_req *r)
{
	switch (take8(in) % 6) {
	case 0:
		l->p.size = 8;
		return 1;
	case 1: /* an output over the first input */
		if (!l->nouts || !l->nins || (l->lost & 1) || !l->out_len || !l->in_len)
			return 0;
		l->out_off[0] = l->in_off[0];
		return 1;
	case 2: /* a lost block given */
		for (unsigned j = 0; j < l->nins; j++)
			if (l->lost >> j & 1) {
				l->lost &= ~(1ull << j);
				return 1;
			}
		return 0;
	case 3: /* req->out where outs[] is the place */
		if (l->single_out)
			return 0;
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { region[R_ARENA], 0 } };
		return 1;
	case 4: /* a parameter out of range */
		if (l->f >= UDMA_FUNC_PQ_GEN && l->f <= UDMA_FUNC_RAID6_RECOVER)
			l->p.k = take8(in) & 1 ? 1 : 33;
		else if (l->f >= UDMA_FUNC_EC_ENCODE && l->f <= UDMA_FUNC_EC_DECODE)
			l->p.m = take8(in) & 1 ? 0 : 9;
		else if (l->f >= UDMA_FUNC_DIF_GENERATE)
			l->p.dif_block = 520;
		else
			return 0;
		return 1;
	default: /* ec-update's source out of range, or the lost blocks not ascending */
		if (l->f == UDMA_FUNC_EC_UPDATE)
			l->p.update_index = l->p.k;
		else if (l->p.nlost >= 2)
			l->p.lost[1] = l->p.lost[0];
		else
			return 0;
		return 1;
	}
}

static unsigned char *arena(size_t off)
{
	return region[R_ARENA] + off;
}

static const unsigned char *snap_at(size_t off)
{
	return snap[R_ARENA] + off;
}

/* The expected bytes of output o, where a reference is cheap; 0 if none. */
static int later_expect(const struct later *l, unsigned o, unsigned char *want)
{
	const struct udma_params *p = &l->p;

	switch (l->f) {
	case UDMA_FUNC_DUALCAST:
		memcpy(want, snap_at(l->in_off[0]), l->out_len);
		return 1;
	case UDMA_FUNC_PQ_GEN:
	case UDMA_FUNC_EC_ENCODE: {
		uint8_t coef[UDMA_MAX_SOURCES], c = 1; /* P: 1; Q: 2^j; ec: the Cauchy row */
		for (unsigned j = 0; j < l->nins; j++, c = ref_gf_mul(c, 2))
			coef[j] = l->f == UDMA_FUNC_EC_ENCODE ? ref_gf_inv((uint8_t)((p->k + o) ^ j)) : o ? c : 1;
		for (size_t x = 0; x < l->out_len; x++) {
			uint8_t v = 0;
			for (unsigned j = 0; j < l->nins; j++)
				v ^= ref_gf_mul(coef[j], snap_at(l->in_off[j])[x]);
			want[x] = v;
		}
		return 1;
	}
	case UDMA_FUNC_EC_UPDATE: {
		uint8_t c = ref_gf_inv((uint8_t)((p->k + o) ^ p->update_index));
		for (size_t x = 0; x < l->out_len; x++)
			want[x] = snap_at(l->out_off[o])[x] ^
				  ref_gf_mul(c, snap_at(l->in_off[0])[x] ^ snap_at(l->in_off[1])[x]);
		return 1;
	}
	case UDMA_FUNC_DIF_GENERATE:
	case UDMA_FUNC_DIF_INSERT: {
		size_t bs = p->dif_block, blocks = l->out_len / (bs + 8);
		for (size_t b = 0; b < blocks; b++) {
			unsigned char *blk = want + b * (bs + 8), *pi = blk + bs;
			memcpy(blk, l->f == UDMA_FUNC_DIF_INSERT ? snap_at(l->in_off[0]) + b * bs : snap_at(l->out_off[0]) + b * (bs + 8),
			       bs);
			uint16_t g = ref_crc16_t10dif(blk, bs);
			uint32_t ref = p->ref_tag + (uint32_t)b;
			pi[0] = (uint8_t)(g >> 8), pi[1] = (uint8_t)g;
			pi[2] = (uint8_t)(p->app_tag >> 8), pi[3] = (uint8_t)p->app_tag;
			for (int i = 0; i < 4; i++)
				pi[4 + i] = (uint8_t)(ref >> (24 - 8 * i));
		}
		return 1;
	}
	default:
		return 0;
	}
}

/* The expected result where it is cheap; 0 if none. */
static int later_result(const struct later *l, const uint8_t pat[8], uint64_t *res)
{
	if (l->f == UDMA_FUNC_COMPARE_PATTERN) {
		*res = UDMA_CMP_EQUAL;
		for (size_t x = 0; x < l->in_len && *res == UDMA_CMP_EQUAL; x++)
			if (snap_at(l->in_off[0])[x] != pat[x % 8])
				*res = x;
		return 1;
	}
	if (l->f != UDMA_FUNC_PQ_VALIDATE)
		return 0;
	*res = 0;
	for (size_t x = 0; x < l->in_len; x++) {
		uint8_t pp = 0, qq = 0, c = 1;
		for (unsigned j = 0; j < l->p.k; j++, c = ref_gf_mul(c, 2)) {
			pp ^= snap_at(l->in_off[j])[x];
			qq ^= ref_gf_mul(c, snap_at(l->in_off[j])[x]);
		}
		*res |= (pp != snap_at(l->in_off[l->p.k])[x] ? UDMA_PQ_P_BAD : 0) |
			(qq != snap_at(l->in_off[l->p.k + 1])[x] ? UDMA_PQ_Q_BAD : 0);
	}
	return 1;
}

/* Accepted: only the outputs changed, and to the reference where there is one. */
static void later_check(const struct later *l, const struct udma_req *r, const uint8_t pat[8])
{
	static unsigned char want[RSZ];
	uint64_t res;

	memcpy(shadow, snap, sizeof(snap));
	for (unsigned o = 0; o < l->nouts; o++) {
		if (later_expect(l, o, want))
			memcpy(shadow[R_ARENA] + l->out_off[o], want, l->out_len);
		else /* no cheap reference: whatever the output got */
			memcpy(shadow[R_ARENA] + l->out_off[o], arena(l->out_off[o]), l->out_len);
	}
	for (int k = 0; k < NREG; k++)
		FUZZ_CHECK(!memcmp(shadow[k], region[k], RSZ), "%s (k %u, m %u, %zu bytes): region %d differs",
			   udma_func_name(l->f), l->p.k, l->p.m, l->in_len, k);
	if (later_result(l, pat, &res))
		FUZZ_CHECK(r->result == res, "%s of %zu bytes: result 0x%llx, want 0x%llx", udma_func_name(l->f), l->in_len,
			   (unsigned long long)r->result, (unsigned long long)res);
}

static void one_later(struct fin *in)
{
	struct later l = { .f = (enum udma_func)(UDMA_FUNC_COUNT + take8(in) % (UDMA_FUNC_END - UDMA_FUNC_COUNT)) };
	uint8_t mode = take8(in), pat[8];

	nrequests++;
	later_params(in, &l);
	later_layout(in, &l);
	if (!later_sessions[l.f]) {
		struct udma_session_opts o = { .size = sizeof(o), .depth = 2, .engine = "cpu" };
		later_sessions[l.f] = udma_session_create(l.f, &o);
		FUZZ_CHECK(later_sessions[l.f], "session for %s: %d", udma_func_name(l.f), errno);
	}
	struct udma_req *r = udma_req_alloc(later_sessions[l.f]);
	FUZZ_CHECK(r, "request alloc: %d", errno);
	int broken = mode % 8 == 0 && later_break(in, &l, r);
	for (int i = 0; i < 8; i++)
		r->imm[i] = pat[i] = take8(in) & (mode & 0x80 ? 0 : 0xff); /* now and then a pattern that matches zeros */
	for (unsigned j = 0; j < l.nins; j++)
		r->in[j] = l.lost >> j & 1 ? (struct udma_buf){ .type = UDMA_BUF_NONE }
					   : (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { arena(l.in_off[j]), l.in_len } };
	for (unsigned o = 0; o < l.nouts; o++)
		*(l.single_out ? &r->out : &r->outs[o]) =
			(struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { arena(l.out_off[o]), l.out_len } };
	/* dualcast and compare-pattern need none: sometimes none */
	r->params = l.f <= UDMA_FUNC_COMPARE_PATTERN && (mode & 0x40) && l.p.size == sizeof(l.p) ? NULL : &l.p;
	r->flags = UDMA_REQ_WAIT;
	for (int k = 0; k < NREG; k++)
		memcpy(snap[k], region[k], RSZ);
	int rc = udma_submit(r);
	FUZZ_CHECK(rc == (broken ? -EINVAL : 0), "%s (k %u, m %u, %zu bytes%s): submit returned %d",
		   udma_func_name(l.f), l.p.k, l.p.m, l.in_len, broken ? ", made wrong" : "", rc);
	if (rc) {
		FUZZ_CHECK(r->status == rc, "refused %s: status %d, not %d", udma_func_name(l.f), r->status, rc);
		for (int k = 0; k < NREG; k++)
			FUZZ_CHECK(!memcmp(snap[k], region[k], RSZ), "a refused %s changed region %d", udma_func_name(l.f), k);
	} else {
		FUZZ_CHECK(udma_req_is_done(r) && r->status == 0, "%s: status %d", udma_func_name(l.f), r->status);
		later_check(&l, r, pat);
		naccepted++;
		nwithdata += l.in_len || l.out_len;
	}
	FUZZ_CHECK(udma_req_free(r) == 0, "free");
}

/* ---- bursts --------------------------------------------------------------------------- */

#define BURST_MAX 6
static struct udma_session *burst_sessions[2];

/*
 * A burst of copies on a POLL session (cpu, or the scheduler's choice),
 * one of them perhaps with lengths that differ: the burst must stop there
 * (its index returned, or -EINVAL if it is the first), its status must say
 * -EINVAL, those before it must be reaped with the right data (in order on
 * the cpu engine, which runs them inline; in completion order, each once,
 * where the scheduler may send requests of different lengths to different
 * engines), and those after it must not have run.
 */
static void one_burst(struct fin *in)
{
	int sel = take8(in) & 1;
	unsigned n = 1 + take8(in) % BURST_MAX, bad = take8(in) % (2 * BURST_MAX);
	struct udma_req *r[BURST_MAX], *got[BURST_MAX];
	size_t len[BURST_MAX];
	int status[BURST_MAX];

	if (!burst_sessions[sel]) {
		struct udma_session_opts o = { .size = sizeof(o), .mode = UDMA_COMPL_POLL, .depth = BURST_MAX,
					       .engine = sel ? NULL : "cpu" };
		burst_sessions[sel] = udma_session_create(UDMA_FUNC_COPY, &o);
		FUZZ_CHECK(burst_sessions[sel], "burst session: %d", errno);
	}
	for (unsigned i = 0; i < n; i++) {
		nrequests++;
		r[i] = udma_req_alloc(burst_sessions[sel]);
		FUZZ_CHECK(r[i], "burst request alloc: %d", errno);
		len[i] = take(in, 2) % (RSZ / 2 / BURST_MAX);
		size_t at = (size_t)i * (RSZ / 2 / BURST_MAX);
		r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { arena(RSZ / 2 + at), len[i] } };
		r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { arena(at), len[i] + (i == bad) } };
	}
	for (int k = 0; k < NREG; k++)
		memcpy(snap[k], region[k], RSZ);
	int rc = udma_submit_burst(r, n), ok = bad < n ? (int)bad : (int)n;
	FUZZ_CHECK(rc == (ok ? ok : -EINVAL), "burst of %u, entry %u bad: returned %d", n, bad, rc);
	if (bad < n)
		FUZZ_CHECK(r[bad]->status == -EINVAL, "refused burst entry %u: status %d", bad, r[bad]->status);
	for (int done = 0; done < ok;) {
		int k = udma_session_reap(burst_sessions[sel], got + done, status + done, (unsigned)(ok - done));
		FUZZ_CHECK(k >= 0, "reap: %d", k);
		done += k;
	}
	memcpy(shadow, snap, sizeof(snap));
	int seen[BURST_MAX] = { 0 };
	for (int j = 0; j < ok; j++) {
		int i = 0;
		while (i < ok && got[j] != r[i])
			i++;
		FUZZ_CHECK(i < ok && !seen[i] && status[j] == 0 && (sel || i == j),
			   "%s session: reaped %d is %p (entry %d), status %d", sel ? "auto" : "cpu", j, (void *)got[j], i,
			   status[j]);
		seen[i] = 1;
	}
	for (int i = 0; i < ok; i++) {
		memcpy(shadow[R_ARENA] + (size_t)i * (RSZ / 2 / BURST_MAX),
		       snap[R_ARENA] + RSZ / 2 + (size_t)i * (RSZ / 2 / BURST_MAX), len[i]);
		naccepted++;
		nwithdata += len[i] != 0;
	}
	for (unsigned i = (unsigned)ok; i < n; i++)
		FUZZ_CHECK(!udma_req_is_done(r[i]), "burst entry %u after the refused one ran", i);
	for (int k = 0; k < NREG; k++)
		FUZZ_CHECK(!memcmp(shadow[k], region[k], RSZ), "burst of %u: region %d differs", n, k);
	for (unsigned i = 0; i < n; i++)
		FUZZ_CHECK(udma_req_free(r[i]) == 0, "free burst entry %u", i);
}
