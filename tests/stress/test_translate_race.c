/*
 * Threads translating while others register, unregister, allocate and free:
 * every lookup returns either "not registered" or a correct, untorn address;
 * exactly the registration's address (or exactly "not registered") whenever
 * nothing changed the buffer during the lookup, in every mode.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define NBUF 64
#define BUFSZ (4ul << 20) /* 2 MiB entries and 4 KiB entries both in play */
#define SECONDS 2

/*
 * What is registered in one buffer, published by its one writer under a
 * sequence count (odd while a register or unregister is under way), so a
 * reader knows the exact answer whenever the count is even and the same
 * before and after its lookup.
 */
struct buf {
	char *base;
	unsigned gen;
	int registered;
	uint64_t lo, hi; /* the registered VAs */
	uint64_t iova;   /* the device address of lo */
};

struct ctx {
	struct udma_domain *d;
	struct buf b[NBUF];
	volatile int stop;
	unsigned long hits, misses, exact, bad;
	uint64_t win_lo, win_hi;
};

struct writer_arg {
	struct ctx *c;
	int first; /* this writer's buffers: first, first + 2, ... */
};

static void publish(struct buf *b, int registered, uint64_t lo, uint64_t hi, uint64_t iova)
{
	__atomic_store_n(&b->registered, registered, __ATOMIC_RELAXED);
	__atomic_store_n(&b->lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&b->hi, hi, __ATOMIC_RELAXED);
	__atomic_store_n(&b->iova, iova, __ATOMIC_RELAXED);
}

/* Register the buffer, or unregister what is there; the count odd meanwhile.
 * 1 if the unregistration was refused. */
static int flip(struct ctx *c, struct buf *b, int i, unsigned *seed)
{
	int wrong = 0;

	unsigned g = __atomic_load_n(&b->gen, __ATOMIC_RELAXED);
	__atomic_store_n(&b->gen, g + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* odd before udma's tables change */
	if (b->registered) {
		wrong = udma_mem_unregister(c->d, (void *)(uintptr_t)b->lo, b->hi - b->lo) != 0;
		publish(b, 0, 0, 0, 0);
	} else {
		/* odd buffers: 4 KiB entries at odd page offsets; even ones: whole 2 MiB entries */
		size_t off = (i & 1) ? 4096 * (1 + rand_r(seed) % 16) : 0;
		size_t len = BUFSZ - off - (i & 1 ? 4096 : 0);
		struct udma_mem m;
		if (!udma_mem_register(c->d, b->base + off, len, &m))
			publish(b, 1, (uintptr_t)b->base + off, (uintptr_t)b->base + off + len, m.iova);
	}
	__atomic_store_n(&b->gen, g + 2, __ATOMIC_RELEASE);
	return wrong;
}

static void *writer(void *arg)
{
	struct writer_arg *a = arg;
	struct ctx *c = a->c;
	unsigned seed = (unsigned)(uintptr_t)&seed;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		int i = a->first + 2 * (rand_r(&seed) % (NBUF / 2));
		if (flip(c, &c->b[i], i, &seed))
			__atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
		struct udma_mem m;
		if (!udma_mem_alloc(c->d, 8192, NULL, &m))
			udma_mem_free(c->d, m.va, m.len);
	}
	return NULL;
}

/* Check one lookup of va in b: 1 if wrong. Exact when nothing changed b meanwhile. */
static int check(struct ctx *c, struct buf *b, const char *va, unsigned long *exact)
{
	unsigned g1 = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);
	int registered = __atomic_load_n(&b->registered, __ATOMIC_RELAXED);
	uint64_t lo = __atomic_load_n(&b->lo, __ATOMIC_RELAXED), hi = __atomic_load_n(&b->hi, __ATOMIC_RELAXED);
	uint64_t iova = __atomic_load_n(&b->iova, __ATOMIC_RELAXED);
	size_t len = 8192;
	uint64_t io = udma_va_to_iova(c->d, va, &len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the lookup before the second count */
	unsigned g2 = __atomic_load_n(&b->gen, __ATOMIC_RELAXED);
	uint64_t v = (uintptr_t)va;
	int va_mode = udma_domain_mode(c->d) == UDMA_ADDR_VA;

	if (g1 == g2 && !(g1 & 1)) {
		(*exact)++;
		if (!registered || v < lo || v >= hi)
			return io != UDMA_BAD_IOVA;
		/* beyond hi, another buffer's registration may continue the range */
		size_t least = hi - v < 8192 ? hi - v : 8192;
		return io != (va_mode ? v : iova + (v - lo)) || len < least || len > 8192;
	}
	if (io == UDMA_BAD_IOVA)
		return 0;
	/* changed meanwhile: an address of the right form, or nothing */
	if (len < 1 || len > 8192)
		return 1;
	if (va_mode)
		return io != v;
	return (io & 4095) != (v & 4095) || io < c->win_lo || io >= c->win_hi;
}

static void *reader(void *arg)
{
	struct ctx *c = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;
	unsigned long hits = 0, misses = 0, exact = 0, bad = 0;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		for (int k = 0; k < 1000; k++) {
			struct buf *b = &c->b[rand_r(&seed) % NBUF];
			const char *va = b->base + (size_t)rand_r(&seed) % BUFSZ;
			size_t len = 8192;
			if (udma_va_to_iova(c->d, va, &len) == UDMA_BAD_IOVA)
				misses++;
			else
				hits++;
			bad += check(c, b, va, &exact);
		}
	}
	__atomic_fetch_add(&c->hits, hits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->misses, misses, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->exact, exact, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bad, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void run(enum udma_addr_mode mode)
{
	static struct ctx c;
	struct writer_arg wa[2] = { { &c, 0 }, { &c, 1 } };
	pthread_t w[2], r[2];

	memset(&c, 0, sizeof(c));
	c.d = test_domain(mode);
	c.win_lo = 64ull << 30;
	c.win_hi = 1ull << 40;
	assert_non_null(c.d);
	for (int i = 0; i < NBUF; i++) {
		c.b[i].base = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(c.b[i].base != MAP_FAILED);
		memset(c.b[i].base, 0, BUFSZ);
	}
	for (int i = 0; i < 2; i++) {
		pthread_create(&w[i], NULL, writer, &wa[i]);
		pthread_create(&r[i], NULL, reader, &c);
	}
	sleep(SECONDS);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i], NULL);
		pthread_join(r[i], NULL);
	}
	printf("%s: %lu hits, %lu misses, %lu checked exactly, %lu bad\n", udma_mode_name(mode), c.hits, c.misses,
	       c.exact, c.bad);
	assert_int_equal(c.bad, 0);
	assert_true(c.hits > 0 && c.misses > 0 && c.exact > 0); /* every outcome was really exercised */
	for (int i = 0; i < NBUF; i++)
		if (c.b[i].registered)
			assert_int_equal(udma_mem_unregister(c.d, (void *)(uintptr_t)c.b[i].lo, c.b[i].hi - c.b[i].lo), 0);
	assert_int_equal(udma_domain_destroy(c.d), 0);
	for (int i = 0; i < NBUF; i++)
		munmap(c.b[i].base, BUFSZ);
}

static void test_race_va(void **state) { run(UDMA_ADDR_VA); }
static void test_race_iommu(void **state) { run(UDMA_ADDR_IOMMU); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_race_va),
		cmocka_unit_test(test_race_iommu),
	};
	return tests_run(tests, NULL, NULL);
}
