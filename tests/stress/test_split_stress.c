/*
 * Split requests (lib/mover/split.c) in flight from several threads at once:
 * POLL-mode clients keep a few large copies each in flight and a
 * CALLBACK-mode client resubmits from its callbacks (on whatever thread
 * finishes the last chunk). Every request completes exactly once, with
 * the right bytes at its random offsets, and nothing is left in flight.
 * UDMA_SPLIT=on: every candidate splits. Run under TSan by `make tsan`.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <udma/backend.h>
#include "common.h"

#define POLLERS 3
#define DEPTH 4
#define ROUNDS 60
#define MAXLEN (600u << 10)

struct job {
	char *src, *dst;
	size_t len, off;
	uint64_t rng;
	int completions; /* atomic */
	unsigned left;   /* callback client: resubmissions to go */
};

static unsigned long bad; /* atomic */

static void job_init(struct job *j, uint64_t seed)
{
	j->rng = seed | 1;
	j->src = malloc(MAXLEN + 64);
	j->dst = malloc(MAXLEN + 64);
	assert_non_null(j->src);
	assert_non_null(j->dst);
}

/* A new copy of random length (40 KiB .. 600 KiB) at a random offset. */
static void job_set(struct job *j, struct udma_req *r)
{
	j->len = (40u << 10) + xorshift64(&j->rng) % (MAXLEN - (40u << 10));
	j->off = xorshift64(&j->rng) % 64;
	random_bytes(j->src + j->off, j->len, &j->rng);
	memset(j->dst, 0, MAXLEN + 64);
	j->completions = 0;
	r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { j->src + j->off, j->len } };
	r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { j->dst + j->off, j->len } };
	r->cookie = j;
}

static void job_check(struct udma_req *r)
{
	struct job *j = r->cookie;
	if (__atomic_add_fetch(&j->completions, 1, __ATOMIC_RELAXED) != 1 || r->status ||
	    memcmp(j->src + j->off, j->dst + j->off, j->len) || j->dst[j->off + j->len] || (j->off && j->dst[j->off - 1]))
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
}

static void *poller(void *arg)
{
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = DEPTH };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	struct job jobs[DEPTH];
	struct udma_req *got[DEPTH];
	int st[DEPTH];

	assert_non_null(s);
	for (unsigned i = 0; i < DEPTH; i++) {
		job_init(&jobs[i], (uintptr_t)arg * 977 + i);
		struct udma_req *r = udma_req_alloc(s);
		job_set(&jobs[i], r);
		assert_int_equal(udma_submit(r), 0);
	}
	for (unsigned done = 0; done < ROUNDS * DEPTH;) {
		int n = udma_session_reap(s, got, st, DEPTH);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++, done++) {
			job_check(got[i]);
			if (done + DEPTH < ROUNDS * DEPTH) { /* again, while rounds are left */
				job_set(got[i]->cookie, got[i]);
				assert_int_equal(udma_submit(got[i]), 0);
			} else {
				udma_req_free(got[i]);
			}
		}
	}
	assert_int_equal(udma_session_inflight(s), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	for (unsigned i = 0; i < DEPTH; i++) {
		free(jobs[i].src);
		free(jobs[i].dst);
	}
	return NULL;
}

static void resubmit_cb(struct udma_req *r)
{
	struct job *j = r->cookie;
	job_check(r);
	if (j->left) {
		j->left--;
		job_set(j, r);
		if (udma_submit(r))
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	}
}

static void test_split_from_threads(void **state)
{
	(void)state;
	pthread_t t[POLLERS];
	for (uintptr_t i = 0; i < POLLERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, poller, (void *)(i + 1)), 0);

	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK, .depth = 2 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	struct job j[2];
	assert_non_null(s);
	for (unsigned i = 0; i < 2; i++) {
		job_init(&j[i], 4242 + i);
		j[i].left = ROUNDS;
		struct udma_req *r = udma_req_alloc(s);
		r->cb = resubmit_cb;
		job_set(&j[i], r);
		assert_int_equal(udma_submit(r), 0);
	}
	for (uintptr_t i = 0; i < POLLERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; udma_session_inflight(s); i++) {
		assert_true(i < 200000); /* 20 s: a lost completion fails, not hangs */
		usleep(100);
	}
	assert_int_equal(__atomic_load_n(&bad, __ATOMIC_RELAXED), 0);
	assert_int_equal(udma_session_destroy(s), 0);
	for (unsigned i = 0; i < 2; i++) {
		free(j[i].src);
		free(j[i].dst);
	}
}

int main(void)
{
	setenv("UDMA_SPLIT", "on", 1);
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_split_from_threads),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
