/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Soak: N requests (default 1,000,000; `make soak`; the test suite runs a
 * short one) over every engine - cpu, threads (2 workers), a delaying error
 * engine, and the scheduler's choice - with random functions from the whole
 * list, random lengths 0..256 KiB (mostly small), linear or scatter-gather
 * buffers at random alignments, and every completion style (callback,
 * polled, UDMA_REQ_WAIT, udma_req_wait). Every output, CRC and compare
 * result is checked against reference implementations written here; every
 * request must complete exactly once. Resident memory is sampled after a
 * warm-up and at the end and must stay flat.
 *
 *   test_soak [requests]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <udma/backend.h>
#include <udma/udma.h>
#include "ref.h"

#define WINDOW 16                 /* requests in flight */
#define MAXLEN (256u << 10)
#define SRCLEN (8u << 20)         /* random bytes the inputs are taken from */
#define NENGINES 4
#define RSS_SLACK (1ul << 20)     /* "flat": grows by no more than this */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

enum style { ST_CALLBACK, ST_POLL, ST_WAITFLAG, ST_WAITCALL, ST_COUNT };
static const char *const style_name[ST_COUNT] = { "callback", "poll", "REQ_WAIT", "req_wait()" };
static const char *const engine_name[NENGINES] = { NULL, "cpu", "soak-threads", "soak-delay" };

struct slot {
	struct udma_req *r;
	enum udma_func f;
	enum style style;
	size_t len;
	const unsigned char *in[UDMA_MAX_INPUTS];
	unsigned char *out;
	unsigned char *outbase, *scratch; /* scratch: compare's second input */
	struct iovec iov_in[UDMA_MAX_INPUTS][8], iov_out[8];
	uint32_t seed;
	int completions; /* atomic */
	int busy;
};

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static unsigned char *src;
static struct udma_session *sessions[UDMA_FUNC_COUNT][2][NENGINES];
static unsigned long by_func[UDMA_FUNC_COUNT], by_style[ST_COUNT], by_pin[NENGINES], by_engine[NENGINES], errors;
static unsigned long cb_calls, cb_expected; /* cb_calls atomic: every callback, to catch a second delivery */
static unsigned long long bytes;

static void fail(const char *what, const struct slot *s)
{
	fprintf(stderr, "FAIL: %s: %s of %zu bytes, %s, engine %s, status %d\n", what, udma_func_name(s->f), s->len,
		style_name[s->style], s->r->engine ? s->r->engine : "?", s->r->status);
	errors++;
}

static void on_done(struct udma_req *r)
{
	struct slot *s = r->cookie;
	__atomic_add_fetch(&cb_calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->completions, 1, __ATOMIC_RELEASE);
}

/* Anonymous resident memory (statm resident - shared): the heap, mappings and
 * stacks, not code pages, which fault in as rarer paths first run. */
static long rss_bytes(void)
{
	long pages = 0, res = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld %ld", &pages, &res, &shared) != 3)
		res = shared = 0;
	fclose(f);
	return (res - shared) * sysconf(_SC_PAGESIZE);
}

/* [p, p+len) as linear, or as up to 8 random pieces. */
static void describe(struct udma_buf *b, const void *p, size_t len, struct iovec *iov)
{
	if (rnd() % 2) {
		*b = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { (void *)p, len } };
		return;
	}
	uint32_t n = 0;
	size_t off = 0;
	while (off < len && n < 7) {
		size_t piece = 1 + rnd() % (len - off);
		iov[n++] = (struct iovec){ (char *)p + off, piece };
		off += piece;
	}
	if (off < len || !n)
		iov[n++] = (struct iovec){ (char *)p + off, len - off };
	*b = (struct udma_buf){ .type = UDMA_BUF_IOV, .iov = { iov, n } };
}

static size_t random_len(void)
{
	unsigned r = (unsigned)(rnd() % 100);
	if (r < 75)
		return rnd() % 2049;
	if (r < 95)
		return rnd() % 32769;
	return rnd() % (MAXLEN + 1);
}

static void check(struct slot *s)
{
	struct udma_req *r = s->r;
	int nin = udma_func_ninputs(s->f);

	if (s->style == ST_CALLBACK || s->style == ST_POLL) {
		if (__atomic_load_n(&s->completions, __ATOMIC_RELAXED) != 1)
			fail("not completed exactly once", s);
	} else if (!udma_req_is_done(r)) {
		fail("not done after waiting", s);
	}
	if (r->status) {
		fail("error status", s);
		return;
	}
	for (int e = 1; e < NENGINES; e++)
		if (r->engine && !strcmp(r->engine, engine_name[e]))
			by_engine[e]++;
	bytes += s->len * (uint64_t)(nin + 1);
	switch (s->f) {
	case UDMA_FUNC_CRC32C:
	case UDMA_FUNC_COPY_CRC32C: {
		uint32_t got = (uint32_t)r->imm[0] | (uint32_t)r->imm[1] << 8 | (uint32_t)r->imm[2] << 16 |
			       (uint32_t)r->imm[3] << 24;
		if (got != ref_crc(s->seed, s->in[0], s->len))
			fail("crc differs from the reference", s);
		if (s->f == UDMA_FUNC_COPY_CRC32C && memcmp(s->out, s->in[0], s->len))
			fail("copy differs from the reference", s);
		return;
	}
	case UDMA_FUNC_COMPARE: {
		if (r->result != ref_compare(s->in[0], s->in[1], s->len))
			fail("compare result differs from the reference", s);
		return;
	}
	default:
		break;
	}
	/* functions with an output: compare word by word with the reference */
	for (size_t k = 0; k < s->len; k += 8) {
		size_t n = s->len - k < 8 ? s->len - k : 8;
		uint64_t want = 0, got = 0, x;
		switch (s->f) {
		case UDMA_FUNC_ZERO:
			break;
		case UDMA_FUNC_FILL8:
			memset(&want, r->imm[0], 8);
			break;
		case UDMA_FUNC_FILL64:
			for (size_t b = 0; b < 8; b++)
				((unsigned char *)&want)[b] = r->imm[(k + b) % 8];
			break;
		case UDMA_FUNC_COPY:
			memcpy(&want, s->in[0] + k, n);
			break;
		default: /* xor2..xor16 */
			for (int j = 0; j < nin; j++) {
				x = 0;
				memcpy(&x, s->in[j] + k, n);
				want ^= x;
			}
		}
		memcpy(&got, s->out + k, n);
		if (n < 8) /* bytes past the end are not ours */
			want &= (1ull << (8 * n)) - 1, got &= (1ull << (8 * n)) - 1;
		if (want != got) {
			fail("output differs from the reference", s);
			return;
		}
	}
}

static void start(struct slot *s)
{
	s->f = (enum udma_func)(rnd() % UDMA_FUNC_COUNT);
	s->style = (enum style)(rnd() % ST_COUNT);
	int eng = (int)(rnd() % NENGINES), nin = udma_func_ninputs(s->f);
	struct udma_session *ses = sessions[s->f][s->style == ST_POLL][eng];

	s->len = random_len();
	s->completions = 0;
	s->r = udma_req_alloc(ses);
	if (!s->r) {
		fprintf(stderr, "FAIL: no request free\n");
		exit(1);
	}
	struct udma_req *r = s->r;
	r->cookie = s;
	r->cb = s->style == ST_CALLBACK || s->style == ST_POLL ? on_done : NULL;
	r->flags = s->style == ST_WAITFLAG ? UDMA_REQ_WAIT : 0;
	for (int i = 0; i < 8; i++)
		r->imm[i] = (uint8_t)rnd();
	s->seed = (uint32_t)rnd();
	if (s->f == UDMA_FUNC_CRC32C || s->f == UDMA_FUNC_COPY_CRC32C)
		for (int i = 0; i < 4; i++)
			r->imm[i] = (uint8_t)(s->seed >> (8 * i));
	for (int j = 0; j < nin; j++)
		s->in[j] = src + rnd() % (SRCLEN - MAXLEN);
	if (s->f == UDMA_FUNC_COMPARE && s->len && rnd() % 2) { /* equal, or differing at one place */
		memcpy(s->scratch, s->in[0], s->len);
		if (rnd() % 2)
			s->scratch[rnd() % s->len] ^= (uint8_t)(1 + rnd() % 255);
		s->in[1] = s->scratch;
	}
	for (int j = 0; j < nin; j++)
		describe(&r->in[j], s->in[j], s->len, s->iov_in[j]);
	if (s->f != UDMA_FUNC_CRC32C && s->f != UDMA_FUNC_COMPARE) {
		s->out = s->outbase + rnd() % 64;
		describe(&r->out, s->out, s->len, s->iov_out);
	}
	by_func[s->f]++;
	by_style[s->style]++;
	by_pin[eng]++;
	cb_expected += r->cb != NULL;
	int rc = udma_submit(r);
	if (rc) {
		fprintf(stderr, "FAIL: submit of %s (%zu bytes) refused: %d\n", udma_func_name(s->f), s->len, rc);
		exit(1);
	}
	s->busy = 1;
}

static void finish(struct slot *s)
{
	if (!s->busy)
		return;
	if (s->style != ST_WAITFLAG)
		udma_req_wait(s->r);
	/* done is set before the callback runs (maybe on an engine thread): let it count */
	if (s->r->cb)
		while (!__atomic_load_n(&s->completions, __ATOMIC_ACQUIRE))
			sched_yield();
	check(s);
	udma_req_free(s->r);
	s->busy = 0;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000ul;
	unsigned long warm = n / 10 < 100000 ? n / 10 : 100000; /* every session and slot in use by then */
	static struct slot slots[WINDOW];
	struct udma_threads_opts to = { .size = sizeof(to), .workers = 2, .name = "soak-threads" };
	struct udma_error_opts eo = { .size = sizeof(eo), .name = "soak-delay", .delay_us = 20, .speed = 4ull << 30 };
	struct udma_engine *te = udma_threads_engine_create(&to), *ee = udma_error_engine_create(&eo);
	struct timespec t0, t1;
	long rss_warm = 0, rss_max = 0, rss_at[10] = { 0 };

	if (!te || !ee) {
		fprintf(stderr, "FAIL: engines: %s\n", strerror(errno));
		return 1;
	}
	src = malloc(SRCLEN);
	for (size_t i = 0; i < SRCLEN; i += 8) {
		uint64_t v = rnd();
		memcpy(src + i, &v, 8);
	}
	for (int f = 0; f < UDMA_FUNC_COUNT; f++)
		for (int poll = 0; poll < 2; poll++)
			for (int e = 0; e < NENGINES; e++) {
				struct udma_session_opts o = { .size = sizeof(o), .depth = WINDOW, .engine = engine_name[e],
							       .mode = poll ? UDMA_COMPL_POLL : UDMA_COMPL_CALLBACK };
				if (!(sessions[f][poll][e] = udma_session_create((enum udma_func)f, &o))) {
					fprintf(stderr, "FAIL: session %s: %s\n", udma_func_name((enum udma_func)f),
						strerror(errno));
					return 1;
				}
			}
	/* touch every request of every session once: their memory is resident before the first sample */
	for (int f = 0; f < UDMA_FUNC_COUNT; f++)
		for (int poll = 0; poll < 2; poll++)
			for (int e = 0; e < NENGINES; e++) {
				struct udma_req *r[WINDOW];
				for (int i = 0; i < WINDOW; i++)
					r[i] = udma_req_alloc(sessions[f][poll][e]);
				for (int i = 0; i < WINDOW; i++)
					udma_req_free(r[i]);
			}
	for (int i = 0; i < WINDOW; i++) {
		slots[i].outbase = malloc(MAXLEN + 64);
		slots[i].scratch = malloc(MAXLEN);
		/* resident from the start (not 0: malloc + memset 0 may become a calloc that touches nothing) */
		memset(slots[i].outbase, 0x5a, MAXLEN + 64);
		memset(slots[i].scratch, 0x5a, MAXLEN);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < n; i++) {
		struct slot *s = &slots[i % WINDOW];
		finish(s);
		start(s);
		if (i + 1 == warm)
			rss_warm = rss_bytes();
		if (i > warm && i % 4096 == 0) {
			long r = rss_bytes();
			rss_max = r > rss_max ? r : rss_max;
		}
		if (n >= 10 && (i + 1) % (n / 10) == 0 && (i + 1) / (n / 10) <= 10)
			rss_at[(i + 1) / (n / 10) - 1] = rss_bytes();
	}
	for (int i = 0; i < WINDOW; i++)
		finish(&slots[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long rss_end = rss_bytes();
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("soak: %lu requests in %.1f s (%.0f/s), %.2f GB touched, %lu wrong\n", n, secs, (double)n / secs,
	       (double)bytes / 1e9, errors);
	printf("  sessions: scheduler's choice %lu, pinned cpu %lu, soak-threads %lu, soak-delay %lu\n", by_pin[0],
	       by_pin[1], by_pin[2], by_pin[3]);
	printf("  ran on: cpu %lu, soak-threads %lu, soak-delay %lu\n", by_engine[1], by_engine[2], by_engine[3]);
	if (__atomic_load_n(&cb_calls, __ATOMIC_RELAXED) != cb_expected) {
		fprintf(stderr, "FAIL: %lu callbacks for %lu requests with one\n", cb_calls, cb_expected);
		errors++;
	}
	printf("  styles: callback %lu, poll %lu, REQ_WAIT %lu, req_wait() %lu\n", by_style[0], by_style[1],
	       by_style[2], by_style[3]);
	printf("  functions:");
	for (int f = 0; f < UDMA_FUNC_COUNT; f++)
		printf(" %s %lu", udma_func_name((enum udma_func)f), by_func[f]);
	printf("\n  anonymous resident memory: %.1f MiB after %lu warm-up requests, %.1f MiB at the end (max %.1f MiB)\n",
	       rss_warm / 1048576.0, warm, rss_end / 1048576.0, rss_max / 1048576.0);
	printf("  anonymous resident memory at each tenth (MiB):");
	for (int i = 0; i < 10; i++)
		printf(" %.1f", rss_at[i] / 1048576.0);
	printf("\n");

	for (int f = 0; f < UDMA_FUNC_COUNT; f++)
		for (int poll = 0; poll < 2; poll++)
			for (int e = 0; e < NENGINES; e++)
				for (int tries = 0; udma_session_destroy(sessions[f][poll][e]); tries++) {
					if (tries > 100000) { /* a callback still returning takes nanoseconds */
						fprintf(stderr, "FAIL: session still busy at the end\n");
						errors++;
						break;
					}
					sched_yield();
				}
	if (udma_engine_unregister(te) || udma_engine_unregister(ee))
		errors++;
	for (int i = 0; i < WINDOW; i++) {
		free(slots[i].outbase);
		free(slots[i].scratch);
	}
	free(src);
	if (rss_end > rss_warm + (long)RSS_SLACK || rss_max > rss_warm + (long)RSS_SLACK) {
#ifdef SANITIZED
		printf("  (resident memory grew by %.1f MiB: not judged under a sanitizer, whose quarantine holds freed memory)\n",
		       (rss_end - rss_warm) / 1048576.0);
#else
		fprintf(stderr, "FAIL: resident memory grew by %.1f MiB (allowed %lu MiB)\n",
			(rss_max - rss_warm) / 1048576.0, RSS_SLACK >> 20);
		errors++;
#endif
	}
	return errors ? 1 : 0;
}
