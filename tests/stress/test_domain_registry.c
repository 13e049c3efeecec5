/*
 * Concurrent create / destroy / iterate / operate on domains. Run under
 * ThreadSanitizer by `make tsan`. Checks: no destroyed domain is returned,
 * every domain seen has the id asked for, operations on live domains work,
 * and everything created is gone at the end.
 */
#include <pthread.h>
#include <unistd.h>
#include "common.h"

#define ROUNDS 3000

static volatile int stop;
static unsigned long seen, bad;

static void *creator(void *arg)
{
	const char *id = arg;
	char buf[64], out[64];
	for (int i = 0; i < ROUNDS; i++) {
		struct udma_domain *d = udma_shm_create(id, 4096, 0);
		if (!d) {
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		snprintf(buf, sizeof(buf), "%s %d", id, i);
		struct iovec at = { (void *)64, sizeof(buf) }, s = { buf, sizeof(buf) }, o = { out, sizeof(out) };
		if (udma_domain_push(d, NULL, &at, 1, &s, 1, NULL, NULL) ||
		    udma_domain_pull(d, NULL, &at, 1, &o, 1, NULL, NULL) || strcmp(out, buf))
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		if (udma_domain_destroy(d))
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *iterator(void *arg)
{
	const char *id = arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (struct udma_domain *d = udma_domain_first(id); d; d = udma_domain_next(d, id)) {
			if (strcmp(udma_domain_id(d), id))
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			/* a held domain can still be read, even if destroyed meanwhile */
			size_t sz;
			udma_shm_base(d, &sz);
			__atomic_fetch_add(&seen, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void test_churn(void **state)
{
	pthread_t c[2], it[2];
	pthread_create(&c[0], NULL, creator, "churn-a");
	pthread_create(&c[1], NULL, creator, "churn-b");
	pthread_create(&it[0], NULL, iterator, "churn-a");
	pthread_create(&it[1], NULL, iterator, "churn-b");
	pthread_join(c[0], NULL);
	pthread_join(c[1], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(it[0], NULL);
	pthread_join(it[1], NULL);
	printf("%lu domains seen by iterators, %lu bad\n", seen, bad);
	assert_int_equal(bad, 0);
	assert_null(udma_domain_first("churn-a"));
	assert_null(udma_domain_first("churn-b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn),
	};
	return tests_run(tests, NULL, NULL);
}
