/*
 * Pool stress: threads get blocks (one at a time and in bulk), write a
 * pattern carrying their id, verify it, pass some blocks to another thread
 * that verifies and frees them (by an interior pointer), throw in foreign
 * pointers, and duel: two threads free the same block at once. Threads come
 * and go in rounds, so caches are flushed at exit under load, and the pool
 * is small, so blocks are reclaimed from other threads' caches. At the end
 * every counter reconciles exactly with what the threads saw.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SLOW 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SLOW 1
#endif
#endif
#ifndef SLOW
#define SLOW 0
#endif

#define NTHREADS 4
#define ROUNDS 3
#define ITERS (SLOW ? 10000 : 200000)
#define BLOCKS 96
#define BSIZE 200 /* stride 256 with align 64 */
#define MAILBOX 32

struct hdr {
	uint32_t owner, seq;
};

struct mailbox {
	pthread_mutex_t m;
	void *blk[MAILBOX];
	int n;
};

static struct udma_pool *pool, *duel_pool;
static struct mailbox box[NTHREADS];
static pthread_mutex_t duel_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(void *) duel_blk[NTHREADS];
static _Atomic int duel_res[NTHREADS]; /* 0 pending, else put's result + 1000 */
static _Atomic int running[NTHREADS];

/* What the threads saw, summed at the end. */
static _Atomic uint64_t n_gets, n_puts, n_fail, n_bad, n_duels, n_duel_wins, n_corrupt, n_passed;

static unsigned char pat(uint32_t owner, uint32_t seq, size_t k)
{
	return (unsigned char)(owner * 31u + seq * 7u + k);
}

static void fill(void *b, uint32_t owner, uint32_t seq)
{
	struct hdr *h = b;
	unsigned char *c = b;
	h->owner = owner;
	h->seq = seq;
	for (size_t k = sizeof(*h); k < BSIZE; k++)
		c[k] = pat(owner, seq, k);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static int check(const void *b)
{
	const struct hdr *h = b;
	const unsigned char *c = b;
	for (size_t k = sizeof(*h); k < BSIZE; k++)
		if (c[k] != pat(h->owner, h->seq, k))
			return 0;
	return 1;
}

static void put_checked(void *b, unsigned *seed)
{
	/* any address inside the block frees it */
	int e = udma_pool_put(pool, (char *)b + rand_r(seed) % 256);
	if (e)
		atomic_fetch_add(&n_corrupt, 1);
	else
		atomic_fetch_add(&n_puts, 1);
}

/* Answer a duel addressed to thread id: free the block the challenger also frees. */
static void serve_duel(int id)
{
	void *b = atomic_exchange(&duel_blk[id], NULL); /* claim it: the challenger may settle too */
	if (!b)
		return;
	atomic_store(&duel_res[id], udma_pool_put(duel_pool, (char *)b + 3) + 1000);
}

static void drain_mailbox(int id, unsigned *seed)
{
	struct mailbox *mb = &box[id];
	void *got[MAILBOX];
	int n;

	pthread_mutex_lock(&mb->m);
	n = mb->n;
	memcpy(got, mb->blk, n * sizeof(got[0]));
	mb->n = 0;
	pthread_mutex_unlock(&mb->m);
	for (int i = 0; i < n; i++) {
		if (!check(got[i]) || ((struct hdr *)got[i])->owner == (uint32_t)id)
			atomic_fetch_add(&n_corrupt, 1);
		put_checked(got[i], seed);
	}
}

static void duel(int id, unsigned *seed)
{
	int peer = (id + 1 + rand_r(seed) % (NTHREADS - 1)) % NTHREADS;

	if (!atomic_load(&running[peer]))
		return;
	/* one duel at a time, so nobody reallocates the block meanwhile; trylock:
	 * a thread blocked here could not answer the duel it is challenged to */
	if (pthread_mutex_trylock(&duel_lock))
		return;
	void *b = udma_pool_get(duel_pool);
	if (!b) {
		pthread_mutex_unlock(&duel_lock);
		atomic_fetch_add(&n_corrupt, 1);
		return;
	}
	atomic_store(&duel_res[peer], 0);
	atomic_store(&duel_blk[peer], b);
	int mine = udma_pool_put(duel_pool, (char *)b + 100);
	/* the peer answers, or has left (then we settle it ourselves) */
	while (!atomic_load(&duel_res[peer])) {
		if (!atomic_load(&running[peer])) {
			void *expect = b;
			if (atomic_compare_exchange_strong(&duel_blk[peer], &expect, NULL)) {
				atomic_store(&duel_res[peer], udma_pool_put(duel_pool, b) + 1000);
				break;
			}
		}
		serve_duel(id);
		sched_yield();
	}
	int theirs = atomic_load(&duel_res[peer]) - 1000;
	pthread_mutex_unlock(&duel_lock);
	atomic_fetch_add(&n_duels, 1);
	if ((mine == 0) + (theirs == 0) != 1 || (mine != 0 && mine != -EALREADY) ||
	    (theirs != 0 && theirs != -EALREADY))
		atomic_fetch_add(&n_corrupt, 1);
	else
		atomic_fetch_add(&n_duel_wins, 1);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned seed = (unsigned)id * 2654435761u + 1;
	void *held[16];
	uint32_t seq = 0;
	int local;

	for (int it = 0; it < ITERS; it++) {
		int k = 1 + rand_r(&seed) % 16, got = 0;
		if (rand_r(&seed) & 1) {
			if (!udma_pool_get_bulk(pool, held, (unsigned)k))
				got = k;
			else
				atomic_fetch_add(&n_fail, 1);
		} else {
			for (int i = 0; i < k; i++) {
				held[got] = udma_pool_get(pool);
				if (held[got])
					got++;
				else
					atomic_fetch_add(&n_fail, 1);
			}
		}
		atomic_fetch_add(&n_gets, got);
		for (int i = 0; i < got; i++)
			fill(held[i], (uint32_t)id, seq++);
		if (!(it & 7))
			sched_yield(); /* let others scribble, if they wrongly can */
		for (int i = 0; i < got; i++) {
			struct hdr *h = held[i];
			if (!check(held[i]) || h->owner != (uint32_t)id)
				atomic_fetch_add(&n_corrupt, 1);
			int to = rand_r(&seed) % NTHREADS;
			if (to != id && (rand_r(&seed) & 3) == 0 && atomic_load(&running[to])) {
				struct mailbox *mb = &box[to];
				pthread_mutex_lock(&mb->m);
				int ok = mb->n < MAILBOX;
				if (ok)
					mb->blk[mb->n++] = held[i];
				pthread_mutex_unlock(&mb->m);
				if (ok) {
					atomic_fetch_add(&n_passed, 1);
					continue;
				}
			}
			put_checked(held[i], &seed);
		}
		if ((it % 97) == 0) {
			if (udma_pool_put(pool, &local) != -EINVAL)
				atomic_fetch_add(&n_corrupt, 1);
			atomic_fetch_add(&n_bad, 1);
		}
		if ((it % 53) == 0)
			duel(id, &seed);
		serve_duel(id);
		drain_mailbox(id, &seed);
	}
	atomic_store(&running[id], 0);
	serve_duel(id);
	return NULL;
}

static void test_stress(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU);
	if (!d)
		d = test_domain(UDMA_ADDR_VA);
	assert_non_null(d);
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = BSIZE, .block_count = BLOCKS, .align = 64,
				    .cache_size = 16 };
	pool = udma_pool_create(d, &o);
	assert_non_null(pool);
	o.block_count = 4;
	duel_pool = udma_pool_create(d, &o);
	assert_non_null(duel_pool);
	for (int i = 0; i < NTHREADS; i++)
		pthread_mutex_init(&box[i].m, NULL);

	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[NTHREADS];
		for (int i = 0; i < NTHREADS; i++)
			atomic_store(&running[i], 1);
		for (int i = 0; i < NTHREADS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
		for (int i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
		/* blocks still in the mailboxes of threads that have left */
		unsigned seed = 1;
		for (int i = 0; i < NTHREADS; i++)
			drain_mailbox(i, &seed);
		assert_int_equal(udma_pool_cache_flush(pool), 0); /* this thread lives on */
		struct udma_pool_stats s = { .size = sizeof(s) };
		assert_int_equal(udma_pool_stats(pool, &s), 0);
		assert_int_equal(s.cached, 0); /* every exited thread's cache came back */
		assert_int_equal(s.free, BLOCKS);
	}

	struct udma_pool_stats s = { .size = sizeof(s) }, ds = { .size = sizeof(ds) };
	assert_int_equal(udma_pool_stats(pool, &s), 0);
	assert_int_equal(udma_pool_stats(duel_pool, &ds), 0);
	printf("gets %llu, puts %llu, passed %llu, failures %llu, bad %llu, duels %llu, steals %llu, hwm %llu\n",
	       (unsigned long long)n_gets, (unsigned long long)n_puts, (unsigned long long)n_passed,
	       (unsigned long long)n_fail, (unsigned long long)n_bad, (unsigned long long)n_duels,
	       (unsigned long long)s.steals, (unsigned long long)s.hwm);
	assert_int_equal(atomic_load(&n_corrupt), 0);
	assert_int_equal(n_gets, n_puts);
	assert_int_equal(s.blocks, BLOCKS);
	assert_int_equal(s.free, BLOCKS);
	assert_int_equal(s.in_use, 0);
	assert_int_equal(s.alloc_failures, n_fail);
	assert_int_equal(s.bad_frees, n_bad);
	assert_int_equal(s.double_frees, 0);
	assert_true(s.hwm <= BLOCKS);
	assert_true(n_duels > 0);
	assert_int_equal(n_duel_wins, n_duels);
	assert_int_equal(ds.double_frees, n_duels); /* exactly one loser per duel */
	assert_int_equal(ds.free, 4);
	/* no block is lost or duplicated */
	void *all[BLOCKS];
	assert_int_equal(udma_pool_get_bulk(pool, all, BLOCKS), 0);
	for (int i = 0; i < BLOCKS; i++)
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(all[i], all[j]);
	assert_int_equal(udma_pool_put_bulk(pool, all, BLOCKS), 0);
	assert_int_equal(udma_pool_destroy(pool, 0), 0);
	assert_int_equal(udma_pool_destroy(duel_pool, 0), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/*
 * Racing double frees on the out-of-line put (udma_pool_put_noinline, the
 * path of pools the inline code does not cover): RACERS threads free the
 * same RACE_BLOCKS blocks, in the same order, meeting before each block, by
 * interior pointers of their own. Each block must be freed exactly once and
 * every other free refused with -EALREADY and counted; afterwards the pool
 * holds each block once.
 */
#define RACERS 2
#define RACE_BLOCKS 64
#define RACE_ROUNDS (SLOW ? 200 : 2000)

static struct {
	struct udma_pool *p;
	void *blk[RACE_BLOCKS];
	size_t stride;
	pthread_barrier_t go, done;
	_Atomic int wins[RACE_BLOCKS];
	struct {
		alignas(64) _Atomic unsigned seq;
	} here[RACERS];
	_Atomic uint64_t losses, wrong;
	_Atomic int stop;
} race;

/*
 * Meet the other racers before each block, so the frees collide (a winner
 * that takes the pool lock would otherwise fall behind the losers). Each
 * racer announces itself on a line of its own and reads the others' lines:
 * the last to arrive waits for a line from another CPU too, so all leave at
 * about the same moment.
 */
static void meet(int id, unsigned seq)
{
	atomic_store(&race.here[id].seq, seq);
	for (int j = 0; j < RACERS; j++)
		for (int k = 0; atomic_load(&race.here[j].seq) < seq; k++)
			if (k > 1000) /* spin first: who yields leaves late */
				sched_yield();
}

static void *racer(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (unsigned seq = 0;;) {
		pthread_barrier_wait(&race.go);
		if (atomic_load(&race.stop))
			return NULL;
		size_t off = ((size_t)id * 13) % race.stride; /* any address inside the block frees it */
		for (int i = 0; i < RACE_BLOCKS; i++) {
			meet(id, ++seq);
			int e = udma_pool_put_noinline(race.p, (char *)race.blk[i] + off);
			if (!e)
				atomic_fetch_add(&race.wins[i], 1);
			else if (e == -EALREADY)
				atomic_fetch_add(&race.losses, 1);
			else
				atomic_fetch_add(&race.wrong, 1);
		}
		udma_pool_cache_flush(race.p);
		pthread_barrier_wait(&race.done);
	}
}

static void race_pool(struct udma_pool *p, const char *what)
{
	struct udma_pool_stats s = { .size = sizeof(s) };
	pthread_t t[RACERS];
	uint64_t lost = 0, twice = 0;
	int r;

	assert_non_null(p);
	assert_int_equal(udma_pool_stats(p, &s), 0);
	assert_true(s.blocks >= RACE_BLOCKS);
	race.p = p;
	race.stride = s.block_size;
	atomic_store(&race.losses, 0);
	atomic_store(&race.wrong, 0);
	atomic_store(&race.stop, 0);
	for (int i = 0; i < RACERS; i++)
		atomic_store(&race.here[i].seq, 0);
	pthread_barrier_init(&race.go, NULL, RACERS + 1);
	pthread_barrier_init(&race.done, NULL, RACERS + 1);
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i), 0);
	for (r = 0; r < RACE_ROUNDS; r++) {
		assert_int_equal(udma_pool_get_bulk(p, race.blk, RACE_BLOCKS), 0);
		for (int i = 0; i < RACE_BLOCKS; i++)
			atomic_store(&race.wins[i], 0);
		pthread_barrier_wait(&race.go);
		pthread_barrier_wait(&race.done);
		for (int i = 0; i < RACE_BLOCKS; i++) {
			int w = atomic_load(&race.wins[i]);
			lost += w == 0;
			twice += w > 1;
		}
		if (lost || twice) {
			r++;
			break;
		}
	}
	atomic_store(&race.stop, 1);
	pthread_barrier_wait(&race.go);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&race.go);
	pthread_barrier_destroy(&race.done);

	assert_int_equal(udma_pool_stats(p, &s), 0);
	printf("%s: %d rounds, blocks freed twice %llu, never %llu; double frees %llu, refused %llu\n", what,
	       r, (unsigned long long)twice, (unsigned long long)lost, (unsigned long long)s.double_frees,
	       (unsigned long long)atomic_load(&race.losses));
	assert_int_equal(twice, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(atomic_load(&race.wrong), 0);
	assert_int_equal(s.double_frees, (uint64_t)r * RACE_BLOCKS * (RACERS - 1));
	assert_int_equal(atomic_load(&race.losses), s.double_frees);
	assert_int_equal(s.bad_frees, 0);
	assert_int_equal(s.in_use, 0);
	assert_int_equal(s.free, s.blocks);
	/* each block is in the pool once: all of them come out, all different */
	void **all = malloc(s.blocks * sizeof(*all));
	assert_non_null(all);
	assert_int_equal(udma_pool_get_bulk(p, all, (unsigned)s.blocks), 0);
	qsort(all, s.blocks, sizeof(*all), cmp_ptr);
	for (uint64_t i = 1; i < s.blocks; i++)
		assert_ptr_not_equal(all[i], all[i - 1]);
	assert_int_equal(udma_pool_put_bulk(p, all, (unsigned)s.blocks), 0);
	free(all);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
}

static void test_double_free_out_of_line(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_IOMMU), *pa = test_domain(UDMA_ADDR_PA);
	int pa_err = errno;
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = 200, .block_count = 128, .align = 64 };

	assert_non_null(d);
	o.flags = UDMA_POOL_NO_CACHE;
	race_pool(udma_pool_create(d, &o), "no cache");
	o.flags = 0;
	o.block_size = 96;
	o.align = 32;
	o.boundary = 256; /* two blocks per 256 bytes, a gap after each pair */
	race_pool(udma_pool_create(d, &o), "boundary gaps");
	o.block_size = 200;
	o.align = 64;
	o.boundary = 0;
	o.block_count = 16;
	o.flags = UDMA_POOL_GROW; /* most blocks in grown segments */
	struct udma_pool *g = udma_pool_create(d, &o);
	void *fill[RACE_BLOCKS * 2];
	assert_int_equal(udma_pool_get_bulk(g, fill, RACE_BLOCKS * 2), 0);
	assert_int_equal(udma_pool_put_bulk(g, fill, RACE_BLOCKS * 2), 0);
	race_pool(g, "grown");
	if (pa) {
		o.flags = 0;
		o.block_size = 2048;
		o.block_count = 128;
		race_pool(udma_pool_create(pa, &o), "pa");
		assert_int_equal(udma_domain_destroy(pa), 0);
	} else {
		printf("SKIP pa pool: no PA domain (%s)\n", strerror(pa_err));
	}
	assert_int_equal(udma_domain_destroy(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_double_free_out_of_line),
	};
	return tests_run(tests, NULL, NULL);
}
