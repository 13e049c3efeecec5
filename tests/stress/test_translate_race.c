/*
 * Threads translating while others register, unregister, allocate and free:
 * every lookup returns either "not registered" or a correct, untorn address.
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

struct ctx {
	struct udma_domain *d;
	char *bufs[NBUF];
	volatile int stop;
	unsigned long hits, misses, bad;
	uint64_t win_lo, win_hi;
};

static void *writer(void *arg)
{
	struct ctx *c = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		int i = rand_r(&seed) % NBUF;
		/* odd offsets give 4 KiB entries; even ones whole 2 MiB entries */
		size_t off = (i & 1) ? 4096 * (1 + rand_r(&seed) % 16) : 0;
		size_t len = BUFSZ - off - (i & 1 ? 4096 : 0);
		if (!udma_mem_register(c->d, c->bufs[i] + off, len, NULL))
			udma_mem_unregister(c->d, c->bufs[i] + off, len);
		struct udma_mem m;
		if (!udma_mem_alloc(c->d, 8192, NULL, &m))
			udma_mem_free(c->d, m.va, m.len);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct ctx *c = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;
	unsigned long hits = 0, misses = 0, bad = 0;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		for (int k = 0; k < 1000; k++) {
			int i = rand_r(&seed) % NBUF;
			char *va = c->bufs[i] + (size_t)rand_r(&seed) % BUFSZ;
			size_t len = 8192;
			uint64_t io = udma_va_to_iova(c->d, va, &len);
			if (io == UDMA_BAD_IOVA) {
				misses++;
				continue;
			}
			hits++;
			int ok = len >= 1 && len <= 8192;
			if (udma_domain_mode(c->d) == UDMA_ADDR_VA)
				ok = ok && io == (uintptr_t)va;
			else
				ok = ok && (io & 4095) == ((uintptr_t)va & 4095) && io >= c->win_lo && io < c->win_hi;
			bad += !ok;
		}
	}
	__atomic_fetch_add(&c->hits, hits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->misses, misses, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bad, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void run(enum udma_addr_mode mode)
{
	struct ctx c = { .d = test_domain(mode), .win_lo = 64ull << 30, .win_hi = 1ull << 40 };
	pthread_t w[2], r[2];

	assert_non_null(c.d);
	for (int i = 0; i < NBUF; i++) {
		c.bufs[i] = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(c.bufs[i] != MAP_FAILED);
		memset(c.bufs[i], 0, BUFSZ);
	}
	for (int i = 0; i < 2; i++) {
		pthread_create(&w[i], NULL, writer, &c);
		pthread_create(&r[i], NULL, reader, &c);
	}
	sleep(SECONDS);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i], NULL);
		pthread_join(r[i], NULL);
	}
	printf("%s: %lu hits, %lu misses, %lu bad\n", udma_mode_name(mode), c.hits, c.misses, c.bad);
	assert_int_equal(c.bad, 0);
	assert_true(c.hits > 0 && c.misses > 0); /* both outcomes were really exercised */
	assert_int_equal(udma_domain_destroy(c.d), 0);
	for (int i = 0; i < NBUF; i++)
		munmap(c.bufs[i], BUFSZ);
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
