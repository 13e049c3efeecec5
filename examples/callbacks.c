/*
 * Many requests in flight, each finishing in a callback: the style of an
 * event-driven program that submits and moves on. In CALLBACK mode the
 * callback runs where the request completes: inline in udma_submit() for
 * small work on the cpu engine, or on a worker thread of the "threads"
 * engine (which every program gets with its first session) for large work.
 * So the callback must be thread-safe: here it only checks its buffer and
 * counts with atomics.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udma/udma.h>

#define REQS 200
#define LEN (256u << 10) /* large enough for the scheduler to pick the workers */

static unsigned done_ok, done_bad; /* written by callbacks on any thread */

/* Called once per request, when it is done. cookie: our buffer. */
static void on_done(struct udma_req *r)
{
	const unsigned char *out = r->cookie;
	int ok = r->status == 0 && out[0] == 0x5a && out[LEN - 1] == 0x5a;

	__atomic_fetch_add(ok ? &done_ok : &done_bad, 1, __ATOMIC_RELAXED);
	udma_req_free(r); /* a callback may free its request */
}

int main(void)
{
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_CALLBACK, .depth = REQS };
	struct udma_session *s = udma_session_create(UDMA_FUNC_FILL8, &so);
	unsigned char *mem = malloc((size_t)REQS * LEN); /* plain memory works for VA engines */
	unsigned ok;

	if (!s || !mem)
		return perror("setup"), 1;
	for (int i = 0; i < REQS; i++) {
		struct udma_req *r = udma_req_alloc(s);
		unsigned char *out = mem + (size_t)i * LEN;
		r->cb = on_done;
		r->cookie = out;
		r->imm[0] = 0x5a; /* fill8: the byte to fill with */
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { out, LEN } };
		if (udma_submit(r))
			return perror("udma_submit"), 1;
	}
	/* Wait for the stragglers: udma_session_inflight() counts undelivered ones. */
	while (udma_session_inflight(s))
		sched_yield();
	/* every byte, now that all are in */
	for (size_t i = 0; i < (size_t)REQS * LEN; i++)
		if (mem[i] != 0x5a)
			return fprintf(stderr, "callbacks: byte %zu not filled\n", i), 1;
	ok = __atomic_load_n(&done_ok, __ATOMIC_RELAXED);
	printf("callbacks: %u of %d requests completed and checked, %u bad\n", ok, REQS,
	       __atomic_load_n(&done_bad, __ATOMIC_RELAXED));
	free(mem);
	if (udma_session_destroy(s))
		return perror("udma_session_destroy"), 1;
	return ok == REQS && !done_bad ? 0 : 1;
}
