/* The region set: sorted, found by address, O(1) at both ends. Checked
 * against a plain sorted model after every operation. */
#include "common.h"
#include "ref.h"
#include "memory/region.h"

#define N 4000

static uint64_t model[N]; /* starts, sorted */
static size_t nmodel;

static void check(const struct region_set *s)
{
	assert_int_equal(s->n, nmodel);
	for (size_t i = 0; i < nmodel; i++) {
		assert_int_equal(s->r[i].start, model[i]);
		assert_int_equal(s->r[i].user_len, model[i] / 16); /* the payload came along */
	}
	if (nmodel) {
		assert_true(s->r >= s->buf && s->r + s->n <= s->buf + s->cap);
		assert_int_equal(_udma_region_find(s, model[nmodel / 2] + 5), (long)(nmodel / 2));
	}
}

static void insert(struct region_set *s, uint64_t start)
{
	struct region r = { .start = start, .end = start + 16, .user_len = start / 16 };
	size_t i = 0;

	assert_false(_udma_region_overlaps(s, r.start, r.end));
	assert_int_equal(_udma_region_insert(s, &r), 0);
	while (i < nmodel && model[i] < start)
		i++;
	memmove(&model[i + 1], &model[i], (nmodel - i) * sizeof(model[0]));
	model[i] = start;
	nmodel++;
	check(s);
}

static void remove_at(struct region_set *s, size_t i)
{
	_udma_region_remove(s, i);
	memmove(&model[i], &model[i + 1], (nmodel - i - 1) * sizeof(model[0]));
	nmodel--;
	check(s);
}

/* "new regions arrive at the front while the oldest are freed from the
 * back": a queue that keeps turning over stays in a bounded buffer. */
static void test_queue_at_the_front(void **state)
{
	struct region_set s = { 0 };

	nmodel = 0;
	for (uint64_t k = 0; k < 20 * N; k++) {
		insert(&s, (1ull << 40) - 64 * k);
		if (s.n > 100)
			remove_at(&s, s.n - 1);
	}
	assert_true(s.cap <= 512); /* recentred, not grown without end */
	while (s.n)
		remove_at(&s, 0);
	_udma_region_set_fini(&s);
}

static void test_random(void **state)
{
	struct region_set s = { 0 };
	uint64_t rng = 42;

	nmodel = 0;
	for (int k = 0; k < 6 * N; k++) {
		uint64_t x = xorshift64(&rng);
		if (nmodel < N && (x % 3 || !nmodel)) {
			uint64_t start = (x >> 8) % (1ull << 30) * 32;
			if (!_udma_region_overlaps(&s, start, start + 16))
				insert(&s, start);
		} else {
			remove_at(&s, (size_t)((x >> 8) % nmodel));
		}
	}
	assert_int_equal(_udma_region_find(&s, 1), nmodel && model[0] <= 1 ? 0 : -1);
	_udma_region_set_fini(&s);
}

/* A region's end is the first byte after it: regions that touch do not
 * overlap, and the byte at an end belongs to the next region or to none. */
static void test_touching_regions(void **state)
{
	struct region_set s = { 0 };
	struct region a = { .start = 0x1000, .end = 0x2000 }, c = { .start = 0x3000, .end = 0x4000 };
	struct region b = { .start = 0x2000, .end = 0x3000 };

	assert_int_equal(_udma_region_insert(&s, &a), 0);
	assert_int_equal(_udma_region_insert(&s, &c), 0);
	assert_int_equal(_udma_region_find(&s, 0x1fff), 0);
	assert_int_equal(_udma_region_find(&s, 0x2000), -1);
	assert_int_equal(_udma_region_find(&s, 0x4000), -1);
	assert_false(_udma_region_overlaps(&s, 0x2000, 0x3000)); /* exactly the gap */
	assert_true(_udma_region_overlaps(&s, 0x1fff, 0x2001));
	assert_true(_udma_region_overlaps(&s, 0x2fff, 0x3001));
	assert_int_equal(_udma_region_insert(&s, &b), 0);
	assert_int_equal(_udma_region_find(&s, 0x2000), 1);
	assert_int_equal(_udma_region_find(&s, 0x3000), 2);
	_udma_region_set_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_at_the_front),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_touching_regions),
	};
	return tests_run(tests, NULL, NULL);
}
