/*
 * Several client threads, each with sessions in every completion mode,
 * sharing a threads engine (2 workers) and an error engine that delays;
 * the error engine is unregistered while requests are in flight. Every
 * request must complete exactly once with correct data. Then the same with
 * bursts: submitted in bursts of random sizes, reaped (or called back) in
 * random amounts, on the scheduler's choice (small ones inline, large ones
 * on the workers), a pinned threads engine, and a SHARED session; and
 * bursts of xor2 (polled) and crc32c (callbacks) requests, which take the
 * engines' run_plain() path where they are small. Run under TSan by
 * `make tsan`.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <udma/backend.h>
#include "common.h"

#define CLIENTS 3
#define ROUNDS 4000
#define DEPTH 16

struct req_state {
	enum udma_func func; /* copy, or in bursts xor2 (src ^ src2) and crc32c (no dst) */
	char *src, *src2, *dst;
	size_t len;
	char guard; /* dst[len], which the copy must leave alone */
	int completions; /* atomic */
};

static unsigned long bad, total;

/* The request's result is right: its output (and the byte after it), or its CRC. */
static int result_ok(const struct udma_req *r, const struct req_state *st)
{
	if (st->func == UDMA_FUNC_CRC32C) {
		uint32_t crc = (uint32_t)r->imm[0] | (uint32_t)r->imm[1] << 8 | (uint32_t)r->imm[2] << 16 |
			       (uint32_t)r->imm[3] << 24;
		return crc == ref_crc(0, (const unsigned char *)st->src, st->len);
	}
	if (st->dst[st->len] != st->guard)
		return 0;
	if (st->func != UDMA_FUNC_XOR2)
		return !memcmp(st->src, st->dst, st->len);
	for (size_t k = 0; k < st->len; k++)
		if (st->dst[k] != (char)(st->src[k] ^ st->src2[k]))
			return 0;
	return 1;
}

static void check(struct udma_req *r)
{
	struct req_state *st = r->cookie;
	__atomic_add_fetch(&st->completions, 1, __ATOMIC_RELAXED);
	if (r->status || !result_ok(r, st))
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
}

static void *client(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
	struct req_state st[DEPTH];
	struct udma_req *r[DEPTH];
	enum udma_compl_mode mode = id % 2 ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK;
	/* one client per engine: the workers, the delaying engine (unregistered mid-run), the scheduler */
	static const char *const pin[CLIENTS] = { "stress-threads", "stress-delay", NULL };
	struct udma_session_opts o = { .size = sizeof(o), .mode = mode, .depth = DEPTH, .engine = pin[id] };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &o);
	unsigned long on_pinned = 0;

	for (int i = 0; i < DEPTH; i++) {
		st[i].func = UDMA_FUNC_COPY;
		st[i].src = malloc(65536);
		st[i].dst = malloc(65536 + 1);
		r[i] = udma_req_alloc(s);
		r[i]->cookie = &st[i];
		r[i]->cb = check;
	}
	for (int round = 0; round < ROUNDS / DEPTH; round++) {
		for (int i = 0; i < DEPTH; i++) {
			xorshift64(&x);
			st[i].len = x % 65536;
			st[i].completions = 0;
			/* random bytes, not one repeated: a copy from the wrong offset shows */
			random_bytes(st[i].src, st[i].len, &x);
			random_bytes(st[i].dst, st[i].len + 1, &x);
			st[i].guard = st[i].dst[st[i].len];
			r[i]->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { st[i].src, st[i].len } };
			r[i]->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { st[i].dst, st[i].len } };
			if (udma_submit(r[i]))
				__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		}
		while (udma_session_inflight(s))
			if (mode == UDMA_COMPL_POLL)
				udma_session_poll(s, DEPTH);
			else
				usleep(10);
		for (int i = 0; i < DEPTH; i++) {
			if (__atomic_load_n(&st[i].completions, __ATOMIC_RELAXED) != 1)
				__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
			on_pinned += pin[id] && r[i]->engine && !strcmp(r[i]->engine, pin[id]);
		}
		__atomic_add_fetch(&total, DEPTH, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < DEPTH; i++) {
		udma_req_free(r[i]);
		free(st[i].src);
		free(st[i].dst);
	}
	if (pin[id])
		printf("client %u: %lu requests ran on %s\n", id, on_pinned, pin[id]);
	if (pin[id] && !on_pinned) /* the engine under test was really used */
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)udma_session_destroy(s);
}

static void test_stress(void **state)
{
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 2, .name = "stress-threads" };
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "stress-delay", .speed = 1ull << 40, .delay_us = 50 };
	struct udma_engine *te = udma_threads_engine_create(&to), *ee = udma_error_engine_create(&eo);
	pthread_t t[CLIENTS];

	assert_non_null(te);
	assert_non_null(ee);
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_create(&t[i], NULL, client, (void *)(uintptr_t)i);
	usleep(50000);
	assert_int_equal(udma_engine_unregister(ee), 0); /* under load: its works move elsewhere */
	for (unsigned i = 0; i < CLIENTS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	assert_int_equal(udma_engine_unregister(te), 0);
	printf("%lu requests, %lu bad\n", total, bad);
	assert_int_equal(bad, 0);
	assert_int_equal(total, CLIENTS * (ROUNDS / DEPTH) * DEPTH);
}

/* ---- bursts ---- */

#define BURST_CLIENTS 6

/* Fill request i for its function with random length (mostly small: the
 * inline batches; now and then large: handed to the workers). */
static void burst_fill(struct udma_req *r, struct req_state *st, uint64_t *x)
{
	xorshift64(x);
	st->len = *x % 8 ? *x % 256 : *x % 65536;
	st->completions = 0;
	random_bytes(st->src, st->len, x);
	random_bytes(st->dst, st->len + 1, x);
	st->guard = st->dst[st->len];
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { st->src, st->len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { st->dst, st->len } };
	if (st->func == UDMA_FUNC_XOR2) {
		random_bytes(st->src2, st->len, x);
		r->in[1] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { st->src2, st->len } };
	} else if (st->func == UDMA_FUNC_CRC32C) {
		r->out = (struct udma_buf){ .type = UDMA_BUF_NONE };
		memset(r->imm, 0, sizeof(r->imm));
	}
}

/* Reap up to max: each reaped request once, checked, and ready again. */
static unsigned burst_reap(struct udma_session *s, struct udma_req **ready, unsigned *nready, unsigned max)
{
	struct udma_req *got[DEPTH];
	int status[DEPTH];
	int k = udma_session_reap(s, got, status, max);

	if (k < 0) {
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		return 0;
	}
	for (int j = 0; j < k; j++) {
		if (status[j] != got[j]->status || !udma_req_is_done(got[j]))
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		check(got[j]);
		ready[(*nready)++] = got[j];
	}
	return (unsigned)k;
}

static void *burst_client(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t x = 0x51ed2701f3a5c9b7ull * (id + 1);
	/* copies: the scheduler's choice, polled; a pinned threads engine;
	 * callbacks; a SHARED session; then xor2 polled, crc32c with callbacks */
	static const char *const pin[BURST_CLIENTS] = { NULL, "stress-threads", NULL, NULL, NULL, NULL };
	static const enum udma_func func[BURST_CLIENTS] = { UDMA_FUNC_COPY, UDMA_FUNC_COPY,  UDMA_FUNC_COPY,
							    UDMA_FUNC_COPY, UDMA_FUNC_XOR2, UDMA_FUNC_CRC32C };
	int cb_mode = id == 2 || id == 5;
	struct udma_session_opts o = { .size = sizeof(o), .mode = cb_mode ? UDMA_COMPL_CALLBACK : UDMA_COMPL_POLL,
				       .depth = DEPTH, .engine = pin[id], .flags = id == 3 ? UDMA_SESSION_SHARED : 0 };
	struct udma_session *s = udma_session_create(func[id], &o);
	struct req_state st[DEPTH];
	struct udma_req *ready[DEPTH];
	unsigned nready = 0;
	unsigned long done = 0;

	for (int i = 0; i < DEPTH; i++) {
		st[i].func = func[id];
		st[i].src = malloc(65536);
		st[i].src2 = malloc(65536);
		st[i].dst = malloc(65536 + 1);
		ready[nready] = udma_req_alloc(s);
		ready[nready]->cookie = &st[i];
		ready[nready++]->cb = cb_mode ? check : NULL;
	}
	while (done < ROUNDS) {
		xorshift64(&x);
		unsigned n = 1 + (unsigned)(x % nready);
		struct udma_req **first = &ready[nready - n];
		for (unsigned i = 0; i < n; i++)
			burst_fill(first[i], first[i]->cookie, &x);
		int got = udma_submit_burst(first, n);
		if (got != (int)n)
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		nready -= n;
		if (cb_mode) { /* all back before the next burst */
			while (udma_session_inflight(s))
				usleep(10);
			for (unsigned i = 0; i < n; i++)
				if (__atomic_load_n(&((struct req_state *)first[i]->cookie)->completions, __ATOMIC_RELAXED) != 1)
					__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
			nready += n;
			done += n;
			continue;
		}
		/* reap a random part, or everything when nothing is ready */
		done += burst_reap(s, ready, &nready, 1 + (unsigned)(x >> 32) % DEPTH);
		while (!nready)
			done += burst_reap(s, ready, &nready, DEPTH);
	}
	while (!cb_mode && nready < DEPTH)
		done += burst_reap(s, ready, &nready, DEPTH);
	for (unsigned i = 0; i < nready; i++) {
		struct req_state *rs = ready[i]->cookie;
		if (rs->completions != 1)
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		udma_req_free(ready[i]);
	}
	for (int i = 0; i < DEPTH; i++) {
		free(st[i].src);
		free(st[i].src2);
		free(st[i].dst);
	}
	__atomic_add_fetch(&total, done, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)udma_session_destroy(s);
}

static void test_stress_bursts(void **state)
{
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 2, .name = "stress-threads" };
	struct udma_engine *te = udma_threads_engine_create(&to);
	pthread_t t[BURST_CLIENTS];

	assert_non_null(te);
	bad = total = 0;
	for (unsigned i = 0; i < BURST_CLIENTS; i++)
		pthread_create(&t[i], NULL, burst_client, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < BURST_CLIENTS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	assert_int_equal(udma_engine_unregister(te), 0);
	printf("%lu requests in bursts, %lu bad\n", total, bad);
	assert_int_equal(bad, 0);
	assert_true(total >= BURST_CLIENTS * ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_stress_bursts),
	};
	return tests_run(tests, NULL, NULL);
}
