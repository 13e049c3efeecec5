/* Bursts of plain xorN and crc32c requests (linear buffers only: the
 * engines' run_plain() path, docs/movers.md "Bursts"): every small length
 * and alignment with neighbours intact, against references written here;
 * the overlap check at its edges, refusals found by the plain path's own
 * checks, mixed with requests that take the general path, the same request
 * twice, callback mode, SHARED sessions, the session fd, learning, and an
 * engine's run_plain() with failures. References: tests/ref.h. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "funcs_util.h"

#define N 40
#define XORF(n) ((enum udma_func)(UDMA_FUNC_XOR2 + (n) - 2))
#define PAD 64 /* bytes around each region that must stay as they were */

static struct udma_session *session(enum udma_func f, const char *engine, enum udma_compl_mode mode,
				    uint32_t depth, uint32_t flags)
{
	struct udma_session_opts o = { .size = sizeof(o), .mode = mode, .depth = depth, .engine = engine,
				       .flags = flags };
	struct udma_session *s = udma_session_create(f, &o);
	assert_non_null(s);
	return s;
}

static uint32_t imm_crc(const struct udma_req *r)
{
	return (uint32_t)r->imm[0] | (uint32_t)r->imm[1] << 8 | (uint32_t)r->imm[2] << 16 | (uint32_t)r->imm[3] << 24;
}

static void set_seed(struct udma_req *r, uint32_t seed)
{
	memset(r->imm, 0, sizeof(r->imm));
	for (int i = 0; i < 4; i++)
		r->imm[i] = (uint8_t)(seed >> (8 * i));
}

/* xorN (2, 3, 8, 16 inputs) of lengths 0..N-1 and some ISA-L sizes, at
 * every offset mod 8 and 32-byte aligned, in one burst each: outputs
 * right, the bytes around them as they were. */
static const size_t big_lens[] = { 64, 96, 1024, 4096 };
#define NB (sizeof(big_lens) / sizeof(big_lens[0]))
#define NR ((int)(N + NB))
#define SPAN (4096 + 2 * PAD)

static size_t len_of(int i)
{
	return i < N ? (size_t)i : big_lens[i - N];
}

static void test_xor_lengths(void **state)
{
	static const int nins[] = { 2, 3, 8, 16 };
	static _Alignas(64) uint8_t in[16][NR][SPAN], out[NR][SPAN], want[NR][SPAN];

	for (unsigned t = 0; t < sizeof(nins) / sizeof(nins[0]); t++) {
		int ni = nins[t];
		struct udma_session *s = session(UDMA_FUNC_XOR2 + (enum udma_func)(ni - 2), "cpu", UDMA_COMPL_POLL, NR, 0);
		struct udma_req *r[NR];
		for (int i = 0; i < NR; i++)
			r[i] = udma_req_alloc(s);
		for (int round = 0; round < 9; round++) {
			for (int i = 0; i < NR; i++) {
				size_t len = len_of(i), off = round == 8 ? 64 : PAD - (size_t)((i + round) % 8);
				for (int k = 0; k < SPAN; k++)
					out[i][k] = want[i][k] = (uint8_t)fu_rnd();
				memset(want[i] + off, 0, len);
				for (int j = 0; j < ni; j++) {
					size_t ioff = round == 8 ? 64 : PAD + (size_t)((i + j + round) % 8);
					for (int k = 0; k < SPAN; k++)
						in[j][i][k] = (uint8_t)fu_rnd();
					for (size_t k = 0; k < len; k++)
						want[i][off + k] ^= in[j][i][ioff + k];
					r[i]->in[j] = fu_lin(in[j][i] + ioff, len);
				}
				r[i]->out = fu_lin(out[i] + off, len);
			}
			assert_int_equal(udma_submit_burst(r, NR), NR);
			fu_reap_in_order(s, r, NR, NULL);
			for (int i = 0; i < NR; i++)
				if (memcmp(out[i], want[i], SPAN))
					fail_msg("xor%d of %zu bytes, round %d: wrong bytes", ni, len_of(i), round);
		}
		for (int i = 0; i < NR; i++)
			assert_int_equal(udma_req_free(r[i]), 0);
		assert_int_equal(udma_session_destroy(s), 0);
	}
}

/* crc32c of lengths 0..N-1 and some ISA-L sizes at every offset, each
 * with its own seed (results chain), against the bitwise reference; the
 * input stays as it was and imm's upper bytes are the client's. */
static void test_crc_lengths(void **state)
{
	static uint8_t in[NR][SPAN];
	struct udma_session *s = session(UDMA_FUNC_CRC32C, "cpu", UDMA_COMPL_POLL, NR, 0);
	struct udma_req *r[NR];
	uint32_t seed[NR];

	for (int i = 0; i < NR; i++)
		r[i] = udma_req_alloc(s);
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < NR; i++) {
			for (int k = 0; k < SPAN; k++)
				in[i][k] = (uint8_t)fu_rnd();
			seed[i] = round ? (uint32_t)fu_rnd() : 0;
			set_seed(r[i], seed[i]);
			r[i]->imm[7] = 0xa5;
			r[i]->in[0] = fu_lin(in[i] + PAD + (i + round) % 8, len_of(i));
		}
		r[0]->in[0] = fu_lin(NULL, 0); /* nothing to read: NULL is fine */
		assert_int_equal(udma_submit_burst(r, NR), NR);
		fu_reap_in_order(s, r, NR, NULL);
		for (int i = 0; i < NR; i++) {
			uint32_t want = ref_crc(seed[i], in[i] + PAD + (i + round) % 8, i ? len_of(i) : 0);
			if (imm_crc(r[i]) != want || r[i]->imm[7] != 0xa5)
				fail_msg("crc32c of %zu bytes, round %d: 0x%08x, want 0x%08x", len_of(i), round,
					 imm_crc(r[i]), want);
		}
	}
	for (int i = 0; i < NR; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* One xor3 request with inputs a, b, c into d (64 bytes each), alone in a
 * burst: how many were accepted (a refusal's log captured). */
/* An xor3 request of 64 bytes into d, submitted alone (the first of a
 * burst is checked on its own) and then behind a fine one of the same
 * length (checked with the run it would join): 1 if both took it, else
 * the status it was refused with, which must be the same both times. */
static int xor3_one(struct udma_session *s, struct udma_req *r, void *d, void *a, void *b, void *c)
{
	static uint8_t lead_in[3][64], lead_out[64];
	struct udma_req *two[2] = { udma_req_alloc(s), r };
	int got[2];

	for (int j = 0; j < 3; j++)
		two[0]->in[j] = fu_lin(lead_in[j], 64);
	two[0]->out = fu_lin(lead_out, 64);
	r->out = fu_lin(d, 64);
	r->in[0] = fu_lin(a, 64);
	r->in[1] = fu_lin(b, 64);
	r->in[2] = fu_lin(c, 64);
	for (int k = 0; k < 2; k++) {
		log_capture_start();
		int n = udma_submit_burst(two + 1 - k, 1 + (unsigned)k);
		log_capture_stop();
		if (n < 0) { /* the first refused: its reason */
			assert_int_equal(k, 0);
			assert_int_equal(n, r->status);
			n = 0;
		}
		assert_true(n == 1 + k || (n == k && r->status < 0));
		if (n)
			fu_reap_in_order(s, two + 1 - k, (unsigned)n, NULL);
		got[k] = n == 1 + k ? 1 : r->status;
	}
	assert_int_equal(got[0], got[1]);
	assert_int_equal(udma_req_free(two[0]), 0);
	return got[0];
}

/* The overlap check at its edges (alone and within a run: xor3_one()): an
 * input that ends where the output
 * begins, or begins where it ends, is fine; one byte more either way is
 * refused (the third input too, and an input equal to the output). */
static void test_xor_overlap_edges(void **state)
{
	struct udma_session *s = session(XORF(3), "cpu", UDMA_COMPL_POLL, 4, 0);
	struct udma_req *r = udma_req_alloc(s);
	static uint8_t m[512], a[64], b[64];
	uint8_t *d = m + 192;

	assert_int_equal(xor3_one(s, r, d, d - 64, a, b), 1);
	assert_int_equal(xor3_one(s, r, d, a, d + 64, b), 1);
	assert_int_equal(xor3_one(s, r, d, a, b, d + 64), 1);
	assert_int_equal(xor3_one(s, r, d, d - 63, a, b), -EINVAL);
	assert_logged("overlaps");
	assert_int_equal(xor3_one(s, r, d, a, d + 63, b), -EINVAL);
	assert_logged("overlaps");
	assert_int_equal(xor3_one(s, r, d, a, b, d + 63), -EINVAL);
	assert_logged("overlaps");
	assert_int_equal(xor3_one(s, r, d, a, b, d), -EINVAL);
	assert_logged("overlaps");
	assert_int_equal(udma_req_free(r), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* xor8 requests, scatter-gather ones (the general path) among them; one
 * whose sixth input overlaps the output stops the burst: those before
 * complete in order, it gets -EINVAL, those after are untouched. Then
 * inputs of another length or type, NULL, wrap-around, flags and another
 * session's request, each refused where the plain path hands it over. */
static void test_xor_mixed_and_refused(void **state)
{
	struct udma_session *s = session(XORF(8), "cpu", UDMA_COMPL_POLL, 16, 0);
	struct udma_session *other = session(XORF(8), "cpu", UDMA_COMPL_POLL, 4, 0);
	struct udma_req *r[10];
	static uint8_t in[8][64], out[10][128];
	struct iovec iv[2][2];
	uint8_t x = 0;

	for (int j = 0; j < 8; j++) {
		memset(in[j], 1 << j, sizeof(in[j]));
		x ^= (uint8_t)(1 << j);
	}
	memset(out, 0, sizeof(out));
	for (int i = 0; i < 10; i++) {
		r[i] = udma_req_alloc(s);
		for (int j = 0; j < 8; j++)
			r[i]->in[j] = fu_lin(in[j], 32 + (size_t)i);
		r[i]->out = fu_lin(out[i], 32 + (size_t)i);
	}
	for (int j = 0; j < 2; j++) { /* r[2] and r[5]: an iovec output */
		iv[j][0] = (struct iovec){ out[2 + 3 * j], 4 };
		iv[j][1] = (struct iovec){ out[2 + 3 * j] + 64, 30 + 3 * (size_t)j };
		r[2 + 3 * j]->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { iv[j], 2 } };
	}
	r[7]->in[5] = fu_lin(out[7] + 8, 39); /* overlaps the output */
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 10), 7);
	log_capture_stop();
	assert_logged("input 5 overlaps");
	assert_int_equal(r[7]->status, -EINVAL);
	assert_int_equal(udma_req_is_done(r[8]), 0);
	assert_int_equal(out[8][0], 0);
	fu_reap_in_order(s, r, 7, NULL);
	for (int i = 0; i < 7; i++) {
		if (i == 2 || i == 5)
			assert_true(out[i][0] == x && out[i][64] == x && out[i][4] == 0);
		else
			assert_true(out[i][31 + i] == x && out[i][32 + i] == 0);
	}

	char *top = (char *)(UINTPTR_MAX - 3);
	struct iovec one = { in[3], 40 };
	struct { int which; struct udma_buf b; uint32_t flags; const char *why; } bad[] = {
		{ 3, fu_lin(in[3], 41), 0, "lengths differ" },
		{ 3, { .type = UDMA_BUF_IOV, .iov = { &one, 1 } }, 0, "" }, /* fine: the general path */
		{ 3, fu_lin(NULL, 40), 0, "NULL" },
		{ 7, fu_lin(top, 40), 0, "wraps" },
		{ -1, fu_lin(top, 40), 0, "wraps" },
		{ -1, fu_lin(NULL, 40), 0, "NULL" },
		{ 0, fu_lin(in[0], 40), 0x10, "flags" },
	};
	r[7]->in[5] = fu_lin(in[5], 39);
	r[7]->out = fu_lin(out[7], 39);
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		for (int j = 0; j < 8; j++)
			r[8]->in[j] = fu_lin(in[j], 40);
		r[8]->out = fu_lin(out[8], 40);
		if (bad[k].which < 0)
			r[8]->out = bad[k].b;
		else
			r[8]->in[bad[k].which] = bad[k].b;
		r[8]->flags = bad[k].flags;
		memset(out[8], 0, sizeof(out[8]));
		log_capture_start();
		int got = udma_submit_burst(&r[7], 3);
		log_capture_stop();
		if (!*bad[k].why) {
			assert_int_equal(got, 3);
			fu_reap_in_order(s, &r[7], 3, NULL);
			assert_int_equal(out[8][39], x);
			continue;
		}
		assert_int_equal(got, 1);
		assert_logged(bad[k].why);
		assert_int_equal(r[8]->status, -EINVAL);
		assert_int_equal(out[8][0], 0);
		fu_reap_in_order(s, &r[7], 1, NULL);
		r[8]->flags = 0;
	}
	struct udma_req *theirs = udma_req_alloc(other), *two[2] = { r[9], theirs };
	for (int j = 0; j < 8; j++)
		theirs->in[j] = fu_lin(in[j], 8);
	theirs->out = fu_lin(out[9], 8);
	log_capture_start();
	assert_int_equal(udma_submit_burst(two, 2), 1);
	log_capture_stop();
	assert_logged("session");
	fu_reap_in_order(s, two, 1, NULL);
	assert_int_equal(udma_req_free(theirs), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(other), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* One-byte xor8 requests with a one-piece iovec input or output (its
 * count, 1, where a linear buffer's length is): the type tells them apart. */
static void test_xor_iov_alias(void **state)
{
	struct udma_session *s = session(XORF(8), "cpu", UDMA_COMPL_POLL, 4, 0);
	struct udma_req *r[2] = { udma_req_alloc(s), udma_req_alloc(s) };
	uint8_t in[8] = { 1, 2, 4, 8, 16, 32, 64, 128 }, out = 0, o1 = 0;
	struct iovec i1 = { &in[3], 1 }, v1 = { &o1, 1 };

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 8; j++)
			r[i]->in[j] = fu_lin(&in[j], 1);
	r[0]->in[3] = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { &i1, 1 } };
	r[0]->out = fu_lin(&out, 1);
	r[1]->out = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { &v1, 1 } };
	assert_int_equal(udma_submit_burst(r, 2), 2);
	fu_reap_in_order(s, r, 2, NULL);
	assert_int_equal(out, 0xff);
	assert_int_equal(o1, 0xff);
	assert_int_equal(udma_req_free(r[0]), 0);
	assert_int_equal(udma_req_free(r[1]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* crc32c: an iovec input among linear ones; an output given, a NULL or
 * wrapping input stop the burst with -EINVAL, those after untouched. */
static void test_crc_mixed_and_refused(void **state)
{
	struct udma_session *s = session(UDMA_FUNC_CRC32C, "cpu", UDMA_COMPL_POLL, 8, 0);
	struct udma_req *r[6];
	static uint8_t in[6][100], junk[100];
	struct iovec iv[2] = { { in[2], 30 }, { in[2] + 30, 70 } };

	for (int i = 0; i < 6; i++) {
		r[i] = udma_req_alloc(s);
		for (int k = 0; k < 100; k++)
			in[i][k] = (uint8_t)fu_rnd();
		r[i]->in[0] = fu_lin(in[i], 100);
		set_seed(r[i], 0);
	}
	r[2]->in[0] = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { iv, 2 } };
	assert_int_equal(udma_submit_burst(r, 6), 6);
	fu_reap_in_order(s, r, 6, NULL);
	for (int i = 0; i < 6; i++)
		assert_int_equal(imm_crc(r[i]), ref_crc(0, in[i], 100));

	char *top = (char *)(UINTPTR_MAX - 3);
	struct { struct udma_buf in, out; const char *why; } bad[] = {
		{ fu_lin(in[4], 100), fu_lin(junk, 100), "no output" },
		{ fu_lin(NULL, 100), { .type = UDMA_BUF_NONE }, "NULL" },
		{ fu_lin(top, 100), { .type = UDMA_BUF_NONE }, "wraps" },
		{ fu_lin(in[4], SIZE_MAX), { .type = UDMA_BUF_NONE }, "wraps" },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		r[4]->in[0] = bad[k].in;
		r[4]->out = bad[k].out;
		set_seed(r[5], 0x1234);
		log_capture_start();
		assert_int_equal(udma_submit_burst(&r[3], 3), 1);
		log_capture_stop();
		assert_logged(bad[k].why);
		assert_int_equal(r[4]->status, -EINVAL);
		assert_int_equal(imm_crc(r[5]), 0x1234);
		fu_reap_in_order(s, &r[3], 1, NULL);
	}
	r[4]->out = (struct udma_buf){ .type = UDMA_BUF_NONE };
	for (int i = 0; i < 6; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* The same request twice in one burst: the second is in flight by then
 * (the burst stops there), the first completes once. */
static void test_plain_twice(void **state)
{
	struct udma_session *s = session(UDMA_FUNC_CRC32C, "cpu", UDMA_COMPL_POLL, 8, 0);
	struct udma_req *a = udma_req_alloc(s), *b = udma_req_alloc(s), *r[4] = { a, b, a, b };
	uint8_t in[2][8] = { "abcdefg", "hijklmn" };

	a->in[0] = fu_lin(in[0], 8);
	b->in[0] = fu_lin(in[1], 8);
	set_seed(a, 0);
	set_seed(b, 0);
	log_capture_start();
	assert_int_equal(udma_submit_burst(r, 4), 2);
	log_capture_stop();
	assert_logged("in flight");
	fu_reap_in_order(s, r, 2, NULL);
	assert_int_equal(imm_crc(a), ref_crc(0, in[0], 8));
	assert_int_equal(imm_crc(b), ref_crc(0, in[1], 8));
	assert_int_equal(udma_req_free(a), 0);
	assert_int_equal(udma_req_free(b), 0);
	assert_int_equal(udma_session_destroy(s), 0);
}

/* CALLBACK mode: each callback once, in order, done set when it runs. */
static struct udma_req *seen[N];
static int nseen, cb_bad;

static void seen_cb(struct udma_req *r)
{
	if (!udma_req_is_done(r) || r->status)
		cb_bad++;
	seen[nseen++] = r;
}

static void test_plain_callbacks(void **state)
{
	static const enum udma_func fs[] = { XORF(4), UDMA_FUNC_CRC32C };
	static uint8_t in[4][N][32], out[N][32];

	for (unsigned t = 0; t < 2; t++) {
		struct udma_session *s = session(fs[t], "cpu", UDMA_COMPL_CALLBACK, N, 0);
		int ni = udma_func_ninputs(fs[t]);
		struct udma_req *r[N];
		for (int i = 0; i < N; i++) {
			r[i] = udma_req_alloc(s);
			for (int j = 0; j < ni; j++) {
				memset(in[j][i], (i + 1) << j, 32);
				r[i]->in[j] = fu_lin(in[j][i], 32);
			}
			if (fs[t] != UDMA_FUNC_CRC32C)
				r[i]->out = fu_lin(out[i], 32);
			set_seed(r[i], 0);
			r[i]->cb = seen_cb;
		}
		nseen = cb_bad = 0;
		assert_int_equal(udma_submit_burst(r, N), N);
		assert_int_equal(nseen, N);
		assert_int_equal(cb_bad, 0);
		assert_int_equal(udma_session_inflight(s), 0);
		for (int i = 0; i < N; i++) {
			assert_ptr_equal(seen[i], r[i]);
			if (fs[t] == UDMA_FUNC_CRC32C)
				assert_int_equal(imm_crc(r[i]), ref_crc(0, in[0][i], 32));
			else
				assert_int_equal(out[i][31], (uint8_t)(in[0][i][0] ^ in[1][i][0] ^ in[2][i][0] ^ in[3][i][0]));
			assert_int_equal(udma_req_free(r[i]), 0);
		}
		assert_int_equal(udma_session_destroy(s), 0);
	}
}

/* A SHARED session's burst goes request by request; the fd of a POLL
 * session is readable after a burst of plain requests. */
static void test_plain_shared_and_fd(void **state)
{
	for (int shared = 0; shared < 2; shared++) {
		struct udma_session *s = session(UDMA_FUNC_XOR2, "cpu", UDMA_COMPL_POLL, 8,
						 shared ? UDMA_SESSION_SHARED : 0);
		int fd = udma_session_fd(s);
		struct udma_req *r[8];
		uint8_t a[8][8], b[8][8], out[8][8];
		uint64_t v;

		assert_true(fd >= 0);
		for (int i = 0; i < 8; i++) {
			r[i] = udma_req_alloc(s);
			memset(a[i], 'a' + i, 8);
			memset(b[i], 0x20, 8);
			r[i]->in[0] = fu_lin(a[i], 8);
			r[i]->in[1] = fu_lin(b[i], 8);
			r[i]->out = fu_lin(out[i], 8);
		}
		assert_int_equal(udma_submit_burst(r, 8), 8);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 0), 1);
		assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
		assert_true(v >= 1);
		fu_reap_in_order(s, r, 8, NULL);
		for (int i = 0; i < 8; i++) {
			assert_int_equal(out[i][7], ('a' + i) ^ 0x20);
			assert_int_equal(udma_req_free(r[i]), 0);
		}
		assert_int_equal(udma_session_destroy(s), 0);
	}
}

/* The scheduler still learns from bursts of plain requests: the cpu
 * engine's xor8 speed for 1 KiB (9 KiB touched) and crc32c speed for
 * 4 KiB are learned from them alone. */
struct learned {
	uint64_t xor8, crc;
};

static int find_cpu(const struct udma_engine_info *info, void *arg)
{
	if (strcmp(info->name, "cpu"))
		return 0;
	((struct learned *)arg)->xor8 = info->learned_speed[XORF(8)][3]; /* < 16 KiB touched */
	((struct learned *)arg)->crc = info->learned_speed[UDMA_FUNC_CRC32C][3];
	return 1;
}

static void test_plain_learn(void **state)
{
	static const enum udma_func fs[] = { XORF(8), UDMA_FUNC_CRC32C };
	static uint8_t in[8][32][4096], out[32][1024];
	struct learned l = { 0 };

	udma_engine_foreach(find_cpu, &l);
	assert_int_equal(l.xor8, 0); /* nothing in this process ran these before */
	assert_int_equal(l.crc, 0);
	for (unsigned t = 0; t < 2; t++) {
		struct udma_session *s = session(fs[t], "cpu", UDMA_COMPL_POLL, 32, 0);
		struct udma_req *r[32];
		int ni = udma_func_ninputs(fs[t]);
		size_t len = fs[t] == UDMA_FUNC_CRC32C ? 4096 : 1024;
		for (int i = 0; i < 32; i++) {
			r[i] = udma_req_alloc(s);
			for (int j = 0; j < ni; j++)
				r[i]->in[j] = fu_lin(in[j][i], len);
			if (fs[t] != UDMA_FUNC_CRC32C)
				r[i]->out = fu_lin(out[i], len);
		}
		for (int k = 0; k < 64; k++) { /* one batch in 64 is timed */
			assert_int_equal(udma_submit_burst(r, 32), 32);
			fu_reap_in_order(s, r, 32, NULL);
		}
		for (int i = 0; i < 32; i++)
			assert_int_equal(udma_req_free(r[i]), 0);
		assert_int_equal(udma_session_destroy(s), 0);
	}
	udma_engine_foreach(find_cpu, &l);
	assert_true(l.xor8 > 0);
	assert_true(l.crc > 0);
}

/* An engine's run_plain(): its failures reach each request's status, its
 * descriptors are as documented; run_plain() without run() is refused at
 * registration. Permanent (it stays registered), so it is the last test. */
static int plain_calls, plain_reqs;

static int eng_run(struct udma_engine *e, struct udma_work *w)
{
	return udma_cpu_execute(w);
}

static int eng_submit(struct udma_engine *e, struct udma_work **w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		udma_engine_done(w[i], eng_run(e, w[i]));
	return (int)n;
}

/* Requests of 13 bytes fail with -EIO; the rest are done. */
static int picky_plain(struct udma_engine *e, enum udma_func f, const struct udma_plain *p, unsigned n, int *status)
{
	int failed = 0;

	plain_calls++;
	plain_reqs += (int)n;
	for (unsigned i = 0; i < n; i++) {
		status[i] = p[i].len == 13 ? -EIO : 0;
		failed |= status[i];
		if (!status[i])
			status[i] = udma_cpu_execute_plain(f, &p[i]);
	}
	return failed;
}

static void test_plain_engine_op(void **state)
{
	static const struct udma_engine_ops bad = { .size = sizeof(bad), .submit = eng_submit,
						    .run_plain = picky_plain };
	static const struct udma_engine_ops ops = { .size = sizeof(ops), .submit = eng_submit, .run = eng_run,
						    .run_plain = picky_plain };
	struct udma_engine_desc d = { .size = sizeof(d), .name = "plain-no-run", .speed = 1,
				      .funcs = 1u << XORF(3) | 1u << UDMA_FUNC_CRC32C, .flags = UDMA_ENGINE_INLINE,
				      .ops = &bad };
	log_capture_start();
	assert_null(udma_engine_register(&d));
	log_capture_stop();
	assert_int_equal(errno, EINVAL);
	assert_logged("run_plain");
	d.name = "picky-plain";
	d.ops = &ops;
	d.flags = UDMA_ENGINE_INLINE | UDMA_ENGINE_PERMANENT;
	assert_non_null(udma_engine_register(&d));

	struct udma_session *s = session(XORF(3), "picky-plain", UDMA_COMPL_POLL, 8, 0);
	struct udma_req *r[6];
	uint8_t in[3][6][16], out[6][16];
	int want[6];

	for (int i = 0; i < 6; i++) {
		r[i] = udma_req_alloc(s);
		size_t len = i % 2 ? 13 : 16;
		for (int j = 0; j < 3; j++) {
			memset(in[j][i], 1 << j, 16);
			r[i]->in[j] = fu_lin(in[j][i], len);
		}
		memset(out[i], 0, 16);
		r[i]->out = fu_lin(out[i], len);
		want[i] = i % 2 ? -EIO : 0;
	}
	plain_calls = 0;
	assert_int_equal(udma_submit_burst(r, 6), 6);
	assert_true(plain_calls >= 1);
	fu_reap_in_order(s, r, 6, want);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(r[i]->engine, "picky-plain");
		assert_int_equal(out[i][0], i % 2 ? 0 : 7);
	}

	/* inputs that end where the output begins, or begin where it ends,
	 * are plain ones too: they reach run_plain() */
	static uint8_t m[4][48];
	for (int i = 0; i < 2; i++) {
		uint8_t *d = m[2 * i] + 16;
		r[i]->in[0] = fu_lin(d - 16, 16);
		r[i]->in[1] = fu_lin(d + 16, 16);
		r[i]->in[2] = fu_lin(m[2 * i + 1], 16);
		r[i]->out = fu_lin(d, 16);
	}
	plain_reqs = 0;
	assert_int_equal(udma_submit_burst(r, 2), 2);
	fu_reap_in_order(s, r, 2, NULL);
	assert_int_equal(plain_reqs, 2);
	for (int i = 0; i < 6; i++)
		assert_int_equal(udma_req_free(r[i]), 0);
	assert_int_equal(udma_session_destroy(s), 0);

	/* crc32c on it; a function without a plain form is refused by the kernel */
	uint8_t data[16] = "0123456789abcde";
	s = session(UDMA_FUNC_CRC32C, "picky-plain", UDMA_COMPL_POLL, 2, 0);
	r[0] = udma_req_alloc(s);
	r[0]->in[0] = fu_lin(data, 16);
	set_seed(r[0], 0);
	assert_int_equal(udma_submit_burst(r, 1), 1);
	fu_reap_in_order(s, r, 1, NULL);
	assert_int_equal(imm_crc(r[0]), ref_crc(0, data, 16));
	assert_int_equal(udma_req_free(r[0]), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	void *v[2] = { data, data };
	struct udma_plain p = { v, 16, NULL };
	log_capture_start();
	assert_int_equal(udma_cpu_execute_plain(UDMA_FUNC_COPY, &p), -EINVAL);
	log_capture_stop();
	assert_logged("no plain form");

	/* udma_cpu_run_plain(), run_plain()'s whole call: every request of a
	 * refused function gets the error; crc32c chains each through its
	 * own imm (a 0-byte one, with no buffer, keeps its seed), status
	 * untouched */
	uint8_t imm[3][8] = { { 0 }, { 0x5a, 0xa5, 0x5a, 0xa5 }, { 0 } };
	void *v1[1] = { data + 1 }, *v0[1] = { NULL };
	struct udma_plain ps[3] = { { v, 16, imm[0] }, { v1, 15, imm[1] }, { v0, 0, imm[2] } };
	int st[3] = { 1, 1, 1 };
	log_capture_start();
	assert_int_not_equal(udma_cpu_run_plain(UDMA_FUNC_COPY, ps, 3, st), 0);
	log_capture_stop();
	for (int i = 0; i < 3; i++)
		assert_int_equal(st[i], -EINVAL);
	st[0] = st[1] = st[2] = 7;
	assert_int_equal(udma_cpu_run_plain(UDMA_FUNC_CRC32C, ps, 3, st), 0);
	assert_int_equal(st[0] + st[1] + st[2], 21);
	uint32_t got[3];
	for (int i = 0; i < 3; i++)
		got[i] = (uint32_t)imm[i][0] | (uint32_t)imm[i][1] << 8 | (uint32_t)imm[i][2] << 16 |
			 (uint32_t)imm[i][3] << 24;
	assert_int_equal(got[0], ref_crc(0, data, 16));
	assert_int_equal(got[1], ref_crc(0xa55aa55a, data + 1, 15));
	assert_int_equal(got[2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_learn), /* first: nothing learned yet */
		cmocka_unit_test(test_xor_lengths),
		cmocka_unit_test(test_crc_lengths),
		cmocka_unit_test(test_xor_overlap_edges),
		cmocka_unit_test(test_xor_mixed_and_refused),
		cmocka_unit_test(test_xor_iov_alias),
		cmocka_unit_test(test_crc_mixed_and_refused),
		cmocka_unit_test(test_plain_twice),
		cmocka_unit_test(test_plain_callbacks),
		cmocka_unit_test(test_plain_shared_and_fd),
		cmocka_unit_test(test_plain_engine_op), /* last: leaves a permanent engine */
	};
	return tests_run(tests, NULL, NULL);
}
