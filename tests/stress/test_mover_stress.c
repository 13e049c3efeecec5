/*
 * Several client threads, each with sessions in every completion mode,
 * sharing a threads engine (2 workers) and an error engine that delays;
 * the error engine is unregistered while requests are in flight. Every
 * request must complete exactly once with correct data. Run under TSan
 * by `make tsan`.
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
	char *src, *dst;
	size_t len;
	char guard; /* dst[len], which the copy must leave alone */
	int completions; /* atomic */
};

static unsigned long bad, total;

static void check(struct udma_req *r)
{
	struct req_state *st = r->cookie;
	__atomic_add_fetch(&st->completions, 1, __ATOMIC_RELAXED);
	if (r->status || memcmp(st->src, st->dst, st->len) || st->dst[st->len] != st->guard)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};
	return tests_run(tests, NULL, NULL);
}
