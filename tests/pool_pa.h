/* PA-mode pools of blocks that do and do not divide a 4 KiB page: every
 * block made must be one physical range, aligned, with the pool's device
 * address. Shared by test_pool (hugepages as they come) and test_fault_alloc
 * (none, and free memory scattered into single frames). */
#ifndef UDMA_TEST_POOL_PA_H
#define UDMA_TEST_POOL_PA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udma/pool.h>
#include "common.h"

/* Returns the slots skipped in all; prints what each size got under `label`. */
static inline uint64_t pa_pool_sizes_check(struct udma_domain *d, const char *label)
{
	static const size_t sizes[] = { 2048, 3000, 4096 + 512 };
	uint64_t skipped = 0;

	for (size_t k = 0; k < 3; k++) {
		struct udma_pool_opts o = { .size = sizeof(o), .block_size = sizes[k], .block_count = 300, .align = 64,
					    .min_blocks = 1 };
		struct udma_pool *p = udma_pool_create(d, &o);
		if (!p) { /* a block over a page needs two adjacent frames: there may be none */
			assert_int_equal(errno, ENOMEM);
			assert_true(sizes[k] > 4096);
			continue;
		}
		struct udma_pool_stats s = { .size = sizeof(s) };
		assert_int_equal(udma_pool_stats(p, &s), 0);
		assert_true(s.blocks >= 1 && s.blocks <= 300);
		void **all = malloc(s.blocks * sizeof(*all));
		assert_int_equal(udma_pool_get_bulk(p, all, (unsigned)s.blocks), 0);
		for (uint64_t i = 0; i < s.blocks; i++) {
			size_t len = s.block_size;
			uint64_t pa = udma_va_to_iova(d, all[i], &len);
			assert_int_equal(len, s.block_size); /* one physical range for the whole block */
			assert_int_equal(udma_pool_iova(p, all[i]), pa);
			assert_int_equal(udma_pool_iova(p, (char *)all[i] + s.block_size - 1), pa + s.block_size - 1);
			assert_int_equal(pa % 64, 0);
			memset(all[i], 0x5a, s.block_size);
		}
		assert_int_equal(udma_pool_put_bulk(p, all, (unsigned)s.blocks), 0);
		free(all);
		printf("%s, %zu-byte blocks: %llu usable, %llu slots skipped\n", label, sizes[k],
		       (unsigned long long)s.blocks, (unsigned long long)s.skipped);
		skipped += s.skipped;
		assert_int_equal(udma_pool_destroy(p, 0), 0);
	}
	return skipped;
}

#endif
