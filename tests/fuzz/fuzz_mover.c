/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: mover request validation and execution. Each input is a few
 * requests: a function, flags, immediates, and output and input buffers of
 * every type (linear, iov, domain: system, shm, read-only shm, IOMMU device,
 * process, NULL) with random pieces, lengths, NULLs, overflowing lengths,
 * out-of-range offsets and overlaps. An oracle written here predicts, in
 * the library's order, whether each request must be refused and with what
 * error; accepted requests are checked against a reference computed from a
 * snapshot of all memory, and no byte outside the output may change.
 *
 * Most requests (7 in 8: the mode byte's bits 2-4 not all zero) are built
 * valid, so that the data checks run: flags from masked bits, one common
 * length, no NULL, wild or overflowing piece, the output in the lower half
 * of its region and inputs in the upper half (no overlap). The rest are
 * free-form, mostly refused; the corpus's regress-* inputs are among them.
 * The replay prints how many were accepted and fails under one in two.
 * The same input, read again from its start, then drives one request of a
 * later function and one burst (fuzz_mover_later.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <udma/backend.h>
#include <udma/udma.h>

#include "fuzz.h"
#include "ref.h"

#define RSZ 65536u       /* bytes in each memory region */
#define NREG 4           /* arena, shm, device memory, read-only shm */
#define MAXP 20          /* pieces per buffer */

/* Set UDMA_FUZZ_SYSTEM_NULL=1 to let system-domain buffers carry NULL bases
 * (a known library bug, docs/reliability.md: they reach the kernels). */
static int system_null;

enum { R_ARENA, R_SHM, R_DEV, R_RO };
enum { D_SYSTEM, D_SHM, D_DEV, D_RO, D_PROC, D_NULL, D_COUNT };

static unsigned char *region[NREG];  /* this process's view of each */
static unsigned char snap[NREG][RSZ], shadow[NREG][RSZ];
static struct udma_domain *shm, *ro, *dev, *proc;
static struct udma_mem devmem;
static struct udma_session *sessions[UDMA_FUNC_COUNT][2];

/* A buffer as generated, with what the oracle needs to know. */
struct gbuf {
	struct udma_buf b;
	struct iovec v[MAXP];
	int dom;             /* D_* for domain buffers */
	int foreign;         /* bounced (process domain) */
	int wild;            /* some piece points nowhere valid */
	int overflow;        /* lengths overflow size_t */
	struct iovec local[MAXP]; /* local views, in order */
	uint32_t nlocal;
	size_t len;
};

static int init(void)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_IOMMU, .vfio_container_fd = -1 };
	int sv[2];
	const char *e = getenv("UDMA_FUZZ_SYSTEM_NULL");

	system_null = e && *e == '1';
	region[R_ARENA] = mmap(NULL, RSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shm = udma_shm_create("fuzz-mover-shm", RSZ, 0);
	dev = udma_device_domain_create(&o);
	proc = udma_process_domain_create(getpid(), "fuzz-self");
	if (region[R_ARENA] == MAP_FAILED || !shm || !dev || !proc || udma_mem_alloc(dev, RSZ, NULL, &devmem))
		return -1;
	region[R_SHM] = udma_shm_base(shm, NULL);
	region[R_DEV] = devmem.va;
	/* a read-only segment: exported read-only to ourselves */
	struct udma_domain *src = udma_shm_create("fuzz-mover-ro", RSZ, 0);
	if (!src || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || udma_shm_export(src, sv[0], 1) ||
	    !(ro = udma_shm_import(sv[1], 1000)))
		return -1;
	for (unsigned i = 0; i < RSZ; i++)
		((unsigned char *)udma_shm_base(src, NULL))[i] = (unsigned char)(i * 31 + 7);
	close(sv[0]);
	close(sv[1]);
	region[R_RO] = udma_shm_base(ro, NULL);
	return 0;
}

/* Which region and offset holds local address p (-1: none). */
static int locate(const void *p, size_t *off)
{
	for (int r = 0; r < NREG; r++)
		if ((const unsigned char *)p >= region[r] && (const unsigned char *)p < region[r] + RSZ) {
			*off = (size_t)((const unsigned char *)p - region[r]);
			return r;
		}
	return -1;
}

/* Split len into cnt pieces from the input (some may be 0). */
static void split(struct fin *in, size_t len, uint32_t cnt, size_t *pl)
{
	size_t left = len;
	for (uint32_t i = 0; i + 1 < cnt; i++) {
		pl[i] = left ? take(in, 2) % (left + 1) : 0;
		left -= pl[i];
	}
	pl[cnt - 1] = left;
}

/* A piece's offset in its region: anywhere, or for valid requests the output in
 * the lower half and inputs in the upper one. */
static size_t offset(struct fin *in, size_t len, int valid, int write)
{
	if (!valid)
		return take(in, 2) % (RSZ - len + 1);
	return take(in, 2) % (RSZ / 2 - len + 1) + (write ? 0 : RSZ / 2);
}

/* A valid buffer's domain: not NULL, and not the read-only segment for the output. */
static int valid_dom(uint8_t sel, int write)
{
	static const int doms[] = { D_SYSTEM, D_SHM, D_DEV, D_PROC, D_RO };
	return doms[sel % (write ? 4 : 5)];
}

/* One buffer: out (write) or an input. len: the common length, or -1 for "any".
 * valid: a buffer the library must accept (see the top). */
static void gen(struct fin *in, struct gbuf *g, int write, long len, int valid)
{
	uint8_t t = take8(in), sel = take8(in);
	uint32_t cnt = take8(in) % (MAXP + 1);
	size_t pl[MAXP];

	memset(g, 0, sizeof(*g));
	if (len < 0)
		len = (long)(take(in, 2) % (RSZ / 2));
	if (valid) { /* linear, iov or domain; at least one piece */
		t = (uint8_t)(1 + t % 6);
		cnt = 1 + cnt % MAXP;
		sel &= 0x3f;
	}
	switch (t % 8) {
	case 0:
		g->b.type = UDMA_BUF_NONE;
		return;
	case 1: { /* linear in a writable region */
		int r = sel % 3;
		size_t off = offset(in, (size_t)len, valid, write);
		g->b = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { region[r] + off, (size_t)len } };
		if (sel & 0x80) /* NULL address: refused unless the length is 0 */
			g->b.linear.addr = NULL;
		return;
	}
	case 7:
		g->b.type = (enum udma_buf_type)(4 + sel % 100); /* no such type */
		return;
	default:
		break;
	}
	int domain = t % 8 >= 3;
	g->dom = !domain ? D_SYSTEM : valid ? valid_dom(take8(in), write) : (int)(take8(in) % D_COUNT);
	if (!cnt) { /* refused, except as NULL array below */
		g->b = domain ? (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { NULL, NULL, g->v, 0 } }
			      : (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { g->v, 0 } };
		if (domain && g->dom != D_NULL)
			g->b.dom.domain = g->dom == D_SYSTEM ? udma_system_domain() : g->dom == D_SHM ? shm
					  : g->dom == D_DEV ? dev : g->dom == D_RO ? ro : proc;
		if (sel & 0x40) { /* and with a NULL array */
			if (domain)
				g->b.dom.iov = NULL;
			else
				g->b.iov.iov = NULL;
		}
		return;
	}
	split(in, (size_t)len, cnt, pl);
	for (uint32_t i = 0; i < cnt; i++) {
		uint8_t ps = take8(in);
		size_t off = offset(in, pl[i], valid, write);
		int r = ps % 3; /* a writable region for VAs */
		void *va = region[r] + off;
		int wild = valid ? 0 : write ? (ps & 0xe0) == 0xe0 : (ps & 0xc0) == 0xc0;
		switch (domain ? g->dom : D_SYSTEM) {
		case D_SHM:
		case D_RO:
			g->v[i] = (struct iovec){ (void *)(uintptr_t)(wild ? RSZ - pl[i] / 2 + (ps & 15) : off), pl[i] };
			break;
		case D_DEV:
			g->v[i] = (struct iovec){ (void *)(uintptr_t)(devmem.iova + (wild ? RSZ + off : off)), pl[i] };
			break;
		case D_PROC: /* an unmapped address: the pull fails; outputs stay valid (a failed push is partial) */
			g->v[i] = (struct iovec){ wild && !write ? (void *)(uintptr_t)(0x1000 + off) : va, pl[i] };
			break;
		default: /* iov and system: local VAs, NULL where asked */
			g->v[i] = (struct iovec){ wild && (!domain || system_null) ? NULL : va, pl[i] };
		}
		if (wild && pl[i])
			g->wild = 1;
	}
	if ((sel & 0x40) && cnt >= 2) { /* lengths that overflow size_t: refused before any use */
		g->v[0].iov_len = g->v[1].iov_len = (SIZE_MAX >> 1) + 1 + (sel & 7);
		g->overflow = 1;
	}
	if (!domain) {
		g->b = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { g->v, cnt } };
		return;
	}
	struct udma_domain *d[D_COUNT] = { udma_system_domain(), shm, dev, ro, proc, NULL };
	g->b = (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { d[g->dom], NULL, g->v, cnt } };
	g->foreign = g->dom == D_PROC;
}

/*
 * The oracle for one buffer, in resolve()'s order: 0 or the error, with
 * the local views filled in and the length. Foreign buffers keep their
 * pieces (bounced; the pieces are local VAs of this process anyway).
 */
static int judge(struct gbuf *g, int write)
{
	const struct udma_buf *b = &g->b;
	const struct iovec *v;
	uint32_t cnt;
	size_t t = 0;

	g->nlocal = 0;
	switch (b->type) {
	case UDMA_BUF_LINEAR:
		if (!b->linear.addr && b->linear.len)
			return -EINVAL;
		g->len = b->linear.len;
		if (b->linear.len)
			g->local[g->nlocal++] = (struct iovec){ b->linear.addr, b->linear.len };
		return 0;
	case UDMA_BUF_IOV:
		v = b->iov.iov, cnt = b->iov.cnt;
		break;
	case UDMA_BUF_DOMAIN:
		if (!b->dom.domain)
			return -EINVAL;
		v = b->dom.iov, cnt = b->dom.cnt;
		break;
	default:
		return -EINVAL;
	}
	if (!v || !cnt || g->overflow)
		return -EINVAL;
	for (uint32_t i = 0; i < cnt; i++)
		t += v[i].iov_len;
	g->len = t;
	for (uint32_t i = 0; i < cnt; i++) {
		if (!v[i].iov_len)
			continue;
		void *p = v[i].iov_base;
		/* a NULL local piece is refused (system domain: once the known bug is fixed) */
		if (!p && (b->type == UDMA_BUF_IOV || g->dom == D_SYSTEM))
			return -EINVAL;
		if (b->type == UDMA_BUF_DOMAIN && (g->dom == D_SHM || g->dom == D_RO)) {
			uintptr_t a = (uintptr_t)p;
			if (a > RSZ || v[i].iov_len > RSZ - a)
				return -ERANGE;
			if (write && g->dom == D_RO)
				return -EACCES;
			p = region[g->dom == D_SHM ? R_SHM : R_RO] + a;
		} else if (b->type == UDMA_BUF_DOMAIN && g->dom == D_DEV) {
			uint64_t a = (uintptr_t)p;
			if (a < devmem.iova || a - devmem.iova > RSZ || v[i].iov_len > RSZ - (a - devmem.iova))
				return -EFAULT;
			p = region[R_DEV] + (a - devmem.iova);
		}
		g->local[g->nlocal++] = (struct iovec){ p, v[i].iov_len };
	}
	return 0;
}

static int overlap(const struct gbuf *a, const struct gbuf *b)
{
	for (uint32_t i = 0; i < a->nlocal; i++)
		for (uint32_t j = 0; j < b->nlocal; j++) {
			uintptr_t a0 = (uintptr_t)a->local[i].iov_base, b0 = (uintptr_t)b->local[j].iov_base;
			if (a0 < b0 + b->local[j].iov_len && b0 < a0 + a->local[i].iov_len)
				return 1;
		}
	return 0;
}

/* Gather a buffer's bytes from the snapshot. */
static void gather(const struct gbuf *g, unsigned char *dst)
{
	size_t at = 0, off = 0;
	for (uint32_t i = 0; i < g->nlocal; i++) {
		int r = locate(g->local[i].iov_base, &off);
		FUZZ_CHECK(r >= 0, "piece %p outside the regions", g->local[i].iov_base);
		memcpy(dst + at, snap[r] + off, g->local[i].iov_len);
		at += g->local[i].iov_len;
	}
}

/* Write the expected output into the shadow, piece by piece in order. */
static void scatter(const struct gbuf *g, const unsigned char *src)
{
	size_t at = 0, off = 0;
	for (uint32_t i = 0; i < g->nlocal; i++) {
		int r = locate(g->local[i].iov_base, &off);
		FUZZ_CHECK(r >= 0, "output piece %p outside the regions", g->local[i].iov_base);
		memcpy(shadow[r] + off, src + at, g->local[i].iov_len);
		at += g->local[i].iov_len;
	}
}

static unsigned char instream[UDMA_MAX_INPUTS][RSZ * NREG], outstream[RSZ * NREG];
static int cb_calls;
static unsigned long nrequests, naccepted, nwithdata;

static void count_cb(struct udma_req *q)
{
	cb_calls++;
}

/* The oracle, in the library's order: 0 or the error submit must return; *common
 * gets the length every region has. */
static int oracle(const struct udma_req *r, struct gbuf *out, struct gbuf *ins, int nin, int has_out,
		  size_t *common)
{
	int want = 0;
	if (r->flags & ~UDMA_REQ_WAIT)
		want = -EINVAL;
	else if ((r->flags & UDMA_REQ_WAIT) && r->cb)
		want = -EINVAL;
	else if (has_out)
		want = judge(out, 1);
	else if (out->b.type != UDMA_BUF_NONE)
		want = -EINVAL;
	*common = has_out ? out->len : 0;
	for (int j = 0; j < nin && !want; j++) {
		if ((want = judge(&ins[j], 0)))
			break;
		if (!has_out && j == 0)
			*common = ins[0].len;
		else if (ins[j].len != *common)
			want = -EINVAL;
		else if (has_out && !out->foreign && !ins[j].foreign && overlap(out, &ins[j]))
			want = -EINVAL;
	}
	if (!want) /* bounced inputs are pulled at dispatch: an unmapped piece fails there */
		for (int j = 0; j < nin; j++)
			if (ins[j].foreign && ins[j].wild && *common)
				want = -EFAULT;
	return want;
}

/* An accepted request's results against the reference, from the snapshot. */
static void check_result(const struct udma_req *r, enum udma_func f, const uint8_t imm[8], const struct gbuf *out,
			 const struct gbuf *ins, int nin, int has_out, size_t common)
{
	memcpy(shadow, snap, sizeof(snap));
	for (int j = 0; j < nin; j++)
		gather(&ins[j], instream[j]);
	for (size_t k = 0; k < common; k++) {
		unsigned char x = 0;
		switch (f) {
		case UDMA_FUNC_ZERO:
			break;
		case UDMA_FUNC_FILL8:
			x = imm[0];
			break;
		case UDMA_FUNC_FILL64:
			x = imm[k % 8];
			break;
		default: /* copy, copy-crc32c, xor */
			for (int j = 0; j < nin; j++)
				x ^= instream[j][k];
		}
		outstream[k] = x;
	}
	if (has_out)
		scatter(out, outstream);
	for (int k = 0; k < NREG; k++)
		FUZZ_CHECK(!memcmp(shadow[k], region[k], RSZ), "%s of %zu bytes: region %d differs from the reference",
			   udma_func_name(f), common, k);
	if (f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C) {
		uint32_t seed = 0, got = 0;
		for (int i = 0; i < 4; i++) {
			seed |= (uint32_t)imm[i] << (8 * i);
			got |= (uint32_t)r->imm[i] << (8 * i);
		}
		FUZZ_CHECK(got == ref_crc(seed, instream[0], common), "crc of %zu bytes", common);
	}
	if (f == UDMA_FUNC_COMPARE) {
		uint64_t first = ref_compare(instream[0], instream[1], common);
		FUZZ_CHECK(r->result == first, "compare of %zu bytes: %llu, want %llu", common,
			   (unsigned long long)r->result, (unsigned long long)first);
	}
}

static void one_request(struct fin *in)
{
	enum udma_func f = (enum udma_func)(take8(in) % UDMA_FUNC_COUNT);
	uint8_t fl = take8(in), mode = take8(in), imm[8];
	int valid = (mode >> 2) % 8 != 0;
	int poll = !!(fl & 8), nin = udma_func_ninputs(f), has_out = f != UDMA_FUNC_CRC32C && f != UDMA_FUNC_COMPARE;
	struct gbuf out, ins[UDMA_MAX_INPUTS];
	long len = mode % 4 || valid ? (long)(take(in, 2) % (RSZ / 2)) : -1; /* mostly one common length */
	size_t common;

	if (valid) /* WAIT or a callback or neither; no unknown flag */
		fl = (fl & 1 ? fl & ~6 : fl & ~4);
	nrequests++;

	if (!sessions[f][poll]) {
		struct udma_session_opts o = { .size = sizeof(o), .depth = 2, .engine = "cpu",
					       .mode = poll ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK };
		sessions[f][poll] = udma_session_create(f, &o);
		FUZZ_CHECK(sessions[f][poll], "session for %s: %d", udma_func_name(f), errno);
	}
	struct udma_req *r = udma_req_alloc(sessions[f][poll]);
	FUZZ_CHECK(r, "request alloc: %d", errno);
	for (int i = 0; i < 8; i++)
		r->imm[i] = imm[i] = take8(in);
	r->flags = (fl & 1 ? UDMA_REQ_WAIT : 0) | (fl & 4 ? 0x100 : 0);
	r->cb = fl & 2 ? count_cb : NULL;
	if (valid && !has_out)
		memset(&out, 0, sizeof(out)); /* UDMA_BUF_NONE */
	else
		gen(in, &out, 1, len, valid);
	r->out = out.b;
	for (int j = 0; j < nin; j++) {
		gen(in, &ins[j], 0, len, valid);
		r->in[j] = ins[j].b;
	}
	int want = oracle(r, &out, ins, nin, has_out, &common);

	for (int k = 0; k < NREG; k++)
		memcpy(snap[k], region[k], RSZ);
	cb_calls = 0;
	int rc = udma_submit(r);
	FUZZ_CHECK(rc == want, "%s: submit returned %d, the oracle says %d", udma_func_name(f), rc, want);
	FUZZ_CHECK(!valid || !want, "%s: a request built valid was judged %d", udma_func_name(f), want);
	if (rc) {
		for (int k = 0; k < NREG; k++)
			FUZZ_CHECK(!memcmp(snap[k], region[k], RSZ), "a refused request changed region %d", k);
		FUZZ_CHECK(!cb_calls, "a refused request called back");
		FUZZ_CHECK(udma_req_free(r) == 0, "free after refusal");
		return;
	}
	/* accepted and not yet polled: a second submit or a free are refused */
	if (poll && !udma_req_is_done(r)) {
		FUZZ_CHECK(udma_submit(r) == -EBUSY, "second submit while in flight");
		FUZZ_CHECK(udma_req_free(r) == -EBUSY, "free while in flight");
	}
	if (!(r->flags & UDMA_REQ_WAIT))
		FUZZ_CHECK(udma_req_wait(r) == 0, "wait");
	FUZZ_CHECK(udma_req_is_done(r), "not done");
	FUZZ_CHECK(r->status == 0, "%s: status %d", udma_func_name(f), r->status);
	FUZZ_CHECK(cb_calls == (r->cb ? 1 : 0), "callback ran %d times", cb_calls);
	check_result(r, f, imm, &out, ins, nin, has_out, common);
	FUZZ_CHECK(udma_req_free(r) == 0, "free");
	naccepted++;
	nwithdata += common != 0;
}

#include "fuzz_mover_later.h"

/* Called by replay.c at the end: how many requests reached the data checks. */
int fuzz_replay_report(void)
{
	printf("fuzz_mover: %lu requests, %lu accepted and checked (%lu with data)\n", nrequests, naccepted, nwithdata);
	if (naccepted * 2 < nrequests) {
		fprintf(stderr, "fuzz_mover: fewer than half the requests were accepted: the generator is broken\n");
		return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fin in = { data, size };

	if (!ready) {
		fuzz_log_everything();
		if (init()) {
			fprintf(stderr, "fuzz_mover: setup failed: %s\n", strerror(errno));
			abort();
		}
		ready = 1;
	}
	/* fresh, recognisable contents: stale bytes from an earlier input do not matter */
	for (int k = 0; k < R_RO; k++)
		for (unsigned i = 0; i < RSZ; i += 64)
			region[k][i] = (unsigned char)(i >> 6 ^ k);
	for (int n = 0; n < 4 && in.n; n++)
		one_request(&in);
	/* the same bytes, read again, drive a later function and a burst */
	struct fin again = { data, size };
	one_later(&again);
	one_burst(&again);
	return 0;
}
