/* SPDX-License-Identifier: BSD-3-Clause */
/* Pools: layout, memory, device addresses, statistics, destroy. The hot
 * path (get/put and the per-thread caches) is in cache.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udma/memory.h>

#include "../core/alloc.h"
#include "pool_internal.h"

#define PAGE 4096ul
#define MAX_BYTES (1ull << 46) /* as udma_mem_alloc: more is a bug */

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }
static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* Offset of slot j from the segment base. */
static uint64_t slot_off(const struct udma_pool *p, uint64_t j)
{
	if (!p->bshift)
		return j * p->fast.stride;
	return ((j / p->per_b) << p->bshift) + (j % p->per_b) * p->fast.stride;
}

/* Bytes that n slots cover (end of the last one). */
static uint64_t layout_bytes(const struct udma_pool *p, uint64_t n)
{
	return n ? slot_off(p, n - 1) + p->fast.stride : 0;
}

const struct pool_seg *_udma_pool_find_seg(const struct udma_pool *p, uintptr_t a)
{
	/* acquire: pairs with the release that publishes a grown segment */
	uint32_t n = __atomic_load_n(&p->nseg, __ATOMIC_ACQUIRE);

	/* newest first: growth doubles, so the last segment holds the most */
	for (uint32_t i = n; i-- > 1;)
		if (a - p->range[i].base < p->range[i].span)
			return &p->seg[i];
	return NULL;
}

/* Give a segment's memory back (unmapping bridge blocks first). */
static void seg_release(struct udma_pool *p, struct pool_seg *s)
{
	if (p->has_bridge && s->mem) {
		for (uint64_t j = 0; s->iova && p->bridge.iova_unmap && j < s->nslots; j++)
			if (s->iova[j] != UDMA_BAD_IOVA)
				p->bridge.iova_unmap(p->bridge.usr, (void *)(s->base + slot_off(p, j)), s->iova[j],
						     p->fast.stride);
		p->bridge.free(p->bridge.usr, s->mem);
	} else if (s->mem) {
		int err = udma_mem_free(p->domain, s->mem, s->mem_len);
		if (err)
			udma_err("pool %s: cannot free its memory: %d", p->name, err);
	}
	free((void *)s->state);
	free(s->iova);
	memset(s, 0, sizeof(*s));
}

/* Is a block with device address iova usable: aligned, not crossing a boundary? */
static int dev_ok(const struct udma_pool *p, uint64_t iova)
{
	if (iova & (p->align - 1))
		return 0;
	if (p->boundary && (iova ^ (iova + p->fast.stride - 1)) & ~(uint64_t)(p->boundary - 1))
		return 0;
	return 1;
}

/* Memory for n slots, laid out and checked. Sets s->usable (<= want). */
static int seg_fill(struct udma_pool *p, struct pool_seg *s, uint64_t n, uint64_t want)
{
	uint64_t bytes = layout_bytes(p, n), extra = p->base_align > PAGE ? p->base_align : 0;
	uintptr_t va;
	int pa = 0;

	memset(s, 0, sizeof(*s));
	if (bytes + extra > MAX_BYTES)
		return udma_fail(ENOMEM, "pool %s: %llu bytes is more than udma allocates", p->name,
				 (unsigned long long)(bytes + extra));
	if (p->has_bridge) {
		extra = p->base_align > 1 ? p->base_align : 0;
		s->mem = p->bridge.alloc(p->bridge.usr, bytes + extra);
		if (!s->mem)
			return udma_fail(ENOMEM, "pool %s: bridge alloc of %llu bytes failed", p->name,
					 (unsigned long long)(bytes + extra));
		s->mem_len = bytes + extra;
		va = (uintptr_t)s->mem;
	} else {
		struct udma_mem_opts o = { .size = sizeof(o), .numa_node = p->numa_node };
		struct udma_mem m;
		int err;

		pa = udma_domain_mode(p->domain) == UDMA_ADDR_PA;
		if (!pa)
			o.flags |= UDMA_MEM_CONTIG; /* one device range: the address is base + offset */
		if ((p->flags & UDMA_POOL_HUGE) || bytes >= (2u << 20))
			o.flags |= UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK;
		if (p->flags & UDMA_POOL_NUMA)
			o.flags |= UDMA_MEM_NUMA;
		size_t want = bytes + extra;
		/* The emulated IOMMU aligns IOVAs of 2 MiB or more to 2 MiB, and 2 MiB
		 * pages align the VA: then both agree modulo the alignment. */
		if (udma_domain_mode(p->domain) == UDMA_ADDR_IOMMU && p->base_align > PAGE) {
			o.flags |= UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK;
			if (want < (2u << 20))
				want = 2u << 20;
		}
		err = udma_mem_alloc(p->domain, want, &o, &m);
		if (err)
			return udma_fail(-err, "pool %s: cannot allocate %llu bytes in %s", p->name,
					 (unsigned long long)want, udma_domain_id(p->domain));
		s->mem = m.va;
		s->mem_len = m.len;
		va = (uintptr_t)m.va;
		if (!pa && !m.contiguous) /* cannot happen with CONTIG; be safe */
			pa = 1;
		s->iova_base = m.iova;
	}
	s->base = align_up(va, p->base_align);
	if (!pa && !p->has_bridge)
		s->iova_base += s->base - va;
	s->nslots = n;
	s->span = bytes;
	s->state = calloc(n, 1);
	if ((pa || p->has_bridge) && s->state) {
		s->iova = malloc(n * sizeof(*s->iova));
		if (s->iova)
			for (uint64_t j = 0; j < n; j++)
				s->iova[j] = UDMA_BAD_IOVA;
	}
	if (!s->state || ((pa || p->has_bridge) && !s->iova)) {
		seg_release(p, s);
		return udma_fail(ENOMEM, "pool %s: no memory for the metadata of %llu blocks", p->name,
				 (unsigned long long)n);
	}

	/* Decide each slot; never more usable blocks than asked for. */
	for (uint64_t j = 0; j < n && s->usable < want; j++) {
		uintptr_t b = s->base + slot_off(p, j);
		uint64_t iova;

		if (p->has_bridge) {
			iova = p->bridge.iova_map(p->bridge.usr, (void *)b, p->fast.stride);
			s->iova[j] = iova;
		} else if (pa) {
			size_t len = p->fast.stride;
			iova = udma_va_to_iova(p->domain, (void *)b, &len);
			if (iova != UDMA_BAD_IOVA && len < p->fast.stride)
				iova = UDMA_BAD_IOVA; /* straddles a physical discontinuity */
			s->iova[j] = iova;
		} else {
			iova = s->iova_base + (b - s->base);
		}
		if (iova == UDMA_BAD_IOVA || !dev_ok(p, iova))
			continue;
		__atomic_store_n(&s->state[j], UDMA_POOL_ST_FREE_, RELAXED);
		s->usable++;
	}
	return 0;
}

/*
 * A segment of want usable blocks, at least minimum. When slots are skipped
 * (PA mode), try again with proportionally more memory: a fresh allocation
 * lands on other physical pages.
 */
static int seg_create(struct udma_pool *p, struct pool_seg *s, uint64_t want, uint64_t minimum)
{
	int tries = (!p->has_bridge && udma_domain_mode(p->domain) == UDMA_ADDR_PA) ? 3 : 1;
	uint64_t n = want;
	int err;

	for (int t = 0; t < tries; t++) {
		err = seg_fill(p, s, n, want);
		if (err)
			return err;
		if (s->usable >= want || (t == tries - 1 && s->usable >= minimum))
			break;
		uint64_t got = s->usable, skipped = n - got;
		udma_dbg("pool %s: %llu of %llu slots usable (%llu straddle a discontinuity or are misaligned)",
			 p->name, (unsigned long long)got, (unsigned long long)n, (unsigned long long)skipped);
		seg_release(p, s);
		if ((t == tries - 1 || !got) && tries > 1) /* PA mode: only hugepages keep larger blocks whole */
			udma_env(UDMA_ENV_HUGEPAGES,
				 "pool %s: blocks of %zu bytes need physically contiguous memory, which 4 KiB pages rarely "
				 "give (%llu of %llu usable): reserve 2 MiB hugepages (sysctl vm.nr_hugepages=N; %ld free "
				 "now) or use blocks that divide 4 KiB",
				 p->name, p->fast.stride, (unsigned long long)got, (unsigned long long)want,
				 udma_hugepages_free(2u << 20, -1));
		if (t == tries - 1 || !got)
			return udma_fail(ENOMEM,
					 "pool %s: only %llu of %llu blocks of %zu bytes have contiguous, aligned device "
					 "addresses (need %llu); in PA mode use 2 MiB pages (vm.nr_hugepages) or "
					 "blocks that divide the page size",
					 p->name, (unsigned long long)got, (unsigned long long)want, p->fast.stride,
					 (unsigned long long)minimum);
		/* Scale by the miss rate, plus a margin. */
		uint64_t more = n + (want - got) * n / got + n / 8 + 16;
		n = more > 4 * want + 64 ? 4 * want + 64 : more;
	}
	__atomic_fetch_add(&p->skipped, s->nslots - s->usable, RELAXED);
	return 0;
}

/* Push the usable blocks of s on the shared stack, lowest address on top. */
static void seg_push(struct udma_pool *p, const struct pool_seg *s)
{
	for (uint64_t j = s->nslots; j-- > 0;)
		if (__atomic_load_n(&s->state[j], RELAXED) == UDMA_POOL_ST_FREE_)
			p->stack[p->top++] = s->base + slot_off(p, j);
	__atomic_store_n(&p->shared_free, p->top, RELAXED);
}

static void pool_free_all(struct udma_pool *p)
{
	uint32_t n = __atomic_load_n(&p->nseg, RELAXED);

	for (uint32_t i = 0; i < n; i++)
		seg_release(p, &p->seg[i]);
	free(p->stack);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int _udma_pool_grow_locked(struct udma_pool *p)
{
	uint32_t n = __atomic_load_n(&p->nseg, RELAXED);
	uint64_t usable = __atomic_load_n(&p->usable, RELAXED);
	uint64_t want = p->grow_next;
	struct pool_seg s;
	int err;

	if (!(p->flags & UDMA_POOL_GROW) || n >= POOL_MAX_SEGS || usable >= p->max_blocks)
		return -ENOMEM;
	if (want > p->max_blocks - usable)
		want = p->max_blocks - usable;
	/* Fast division needs offsets below 4 GiB in every segment. */
	while (p->fast.magic && p->shift < 0 && !p->bshift && want > 1 && layout_bytes(p, want) >= (1ull << 32))
		want /= 2;
	err = seg_create(p, &s, want, 1);
	if (err)
		return err;
	uintptr_t *st = realloc(p->stack, (usable + s.usable) * sizeof(*st));
	if (!st) {
		seg_release(p, &s);
		return udma_fail(ENOMEM, "pool %s: cannot grow its free stack", p->name);
	}
	p->stack = st;
	p->stack_cap = usable + s.usable;
	p->seg[n] = s;
	p->range[n].base = s.base;
	p->range[n].span = s.span;
	seg_push(p, &p->seg[n]);
	/* release: the segment is complete before readers (_udma_pool_find_seg) see it */
	__atomic_store_n(&p->nseg, n + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&p->usable, usable + s.usable, RELAXED);
	__atomic_fetch_add(&p->grows, 1, RELAXED);
	p->grow_next = usable + s.usable;
	udma_dbg("pool %s: grew by %llu blocks to %llu", p->name, (unsigned long long)s.usable,
		 (unsigned long long)(usable + s.usable));
	return 0;
}

static int log2u(uint64_t x)
{
	return 63 - __builtin_clzll(x);
}

struct udma_pool *udma_pool_create(struct udma_domain *d, const struct udma_pool_opts *uo)
{
	struct udma_pool_opts o;
	struct udma_pool *p;
	int err;

	if (!uo)
		return udma_fail_null(EINVAL, "NULL options");
	if (uo->size < offsetof(struct udma_pool_opts, flags))
		return udma_fail_null(EINVAL, "opts->size %zu too small", uo->size);
	memset(&o, 0, sizeof(o));
	memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	if (!o.block_size || !o.block_count)
		return udma_fail_null(EINVAL, "block_size %zu and block_count %u must not be 0", o.block_size,
				      o.block_count);
	if (!o.align)
		o.align = UDMA_POOL_DEFAULT_ALIGN;
	if (!is_pow2(o.align) || o.align > UDMA_POOL_MAX_ALIGN)
		return udma_fail_null(EINVAL, "align %zu is not a power of two up to %lu", o.align,
				      UDMA_POOL_MAX_ALIGN);
	if (o.block_size > UDMA_POOL_MAX_BLOCK_SIZE || align_up(o.block_size, o.align) > UDMA_POOL_MAX_BLOCK_SIZE)
		return udma_fail_null(EINVAL, "block_size %zu (aligned to %zu) is above %lu", o.block_size, o.align,
				      UDMA_POOL_MAX_BLOCK_SIZE);
	size_t stride = align_up(o.block_size, o.align);
	if (o.boundary && (!is_pow2(o.boundary) || o.boundary < stride))
		return udma_fail_null(EINVAL, "boundary %zu must be a power of two >= the block size %zu",
				      o.boundary, stride);
	if (o.flags & ~UDMA_POOL_ALL_FLAGS)
		return udma_fail_null(EINVAL, "unknown flag bits 0x%x", o.flags & ~UDMA_POOL_ALL_FLAGS);
	if (o.min_blocks > o.block_count)
		return udma_fail_null(EINVAL, "min_blocks %u above block_count %u", o.min_blocks, o.block_count);
	if (o.max_blocks && !(o.flags & UDMA_POOL_GROW))
		return udma_fail_null(EINVAL, "max_blocks needs UDMA_POOL_GROW");
	if ((o.flags & UDMA_POOL_GROW) && o.max_blocks && o.max_blocks < o.block_count)
		return udma_fail_null(EINVAL, "max_blocks %u below block_count %u", o.max_blocks, o.block_count);
	if (o.cache_size > POOL_MAX_CACHE)
		return udma_fail_null(EINVAL, "cache_size %u above %u", o.cache_size, POOL_MAX_CACHE);
	if (!d == !o.bridge)
		return udma_fail_null(EINVAL, "give a domain or a bridge (exactly one)");
	if (o.bridge) {
		const struct udma_pool_bridge *b = o.bridge;
		if (b->size < sizeof(*b))
			return udma_fail_null(EINVAL, "bridge->size %zu too small", b->size);
		if (!b->alloc || !b->free || !b->iova_map)
			return udma_fail_null(EINVAL, "bridge needs alloc, free and iova_map");
		if (o.flags & (UDMA_POOL_NUMA | UDMA_POOL_HUGE))
			return udma_fail_null(EINVAL, "NUMA and HUGE apply to domain memory, not to a bridge");
	}
	err = _udma_pool_global_init();
	if (err)
		return udma_fail_null(-err, "cannot set up per-thread caches");

	p = zalloc_lines(sizeof(*p));
	if (!p)
		return udma_fail_null(ENOMEM, "out of memory");
	snprintf(p->name, sizeof(p->name), "%s", o.name ? o.name : "pool");
	p->fast.stride = stride;
	p->align = o.align;
	p->boundary = o.boundary;
	p->base_align = o.boundary > o.align ? o.boundary : o.align;
	p->shift = is_pow2(stride) ? log2u(stride) : -1;
	if (o.boundary && o.boundary % stride) {
		p->bshift = (unsigned)log2u(o.boundary);
		p->per_b = o.boundary / stride;
	}
	p->flags = o.flags;
	p->numa_node = o.numa_node;
	p->nocache = !!(o.flags & UDMA_POOL_NO_CACHE);
	p->domain = d;
	if (o.bridge) {
		p->bridge = *o.bridge;
		p->has_bridge = 1;
	}
	p->max_blocks = (o.flags & UDMA_POOL_GROW) ? (o.max_blocks ? o.max_blocks : UINT32_MAX) : o.block_count;
	/* Multiply-high division: exact for any offset with a power-of-two
	 * stride, for offsets below 4 GiB otherwise - always so inside a
	 * boundary unit, and growth keeps segments below it. */
	if (stride > 1 && (p->shift >= 0 || p->bshift || layout_bytes(p, o.block_count) < (1ull << 32)))
		p->fast.magic = UINT64_MAX / stride + 1;
	pthread_mutex_init(&p->lock, NULL);

	err = seg_create(p, &p->seg[0], o.block_count, o.min_blocks ? o.min_blocks : o.block_count);
	if (err) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		errno = -err;
		return NULL;
	}
	__atomic_store_n(&p->nseg, 1, RELAXED);
	__atomic_store_n(&p->usable, p->seg[0].usable, RELAXED);
	p->grow_next = p->seg[0].usable;
	p->stack_cap = p->seg[0].usable;
	p->stack = malloc(p->stack_cap * sizeof(*p->stack));
	if (!p->stack) {
		pool_free_all(p);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	seg_push(p, &p->seg[0]);

	if (!p->nocache) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		uint64_t c = o.cache_size;
		if (!c) { /* small enough that caches hold a fraction of the pool */
			c = p->seg[0].usable / (4 * (uint64_t)(ncpu > 0 ? ncpu : 1));
			c = c < 2 ? 2 : c > 256 ? 256 : c;
		}
		p->cache_cap = (uint32_t)c;
	}
	if (_udma_pool_register(p)) {
		pool_free_all(p);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	p->fast.base = p->seg[0].base;
	p->fast.span = p->seg[0].span;
	p->fast.state = p->seg[0].state;
	if (!p->bshift && p->fast.magic)
		p->fast.flags |= UDMA_POOL_FAST_DIRECT;
	if (o.flags & UDMA_POOL_RELAXED_FREE)
		p->fast.flags |= UDMA_POOL_FAST_RELAXED;
	udma_dbg("pool %s: %llu blocks of %zu bytes (align %zu, boundary %zu, %llu skipped), cache %u", p->name,
		 (unsigned long long)p->seg[0].usable, p->fast.stride, p->align, p->boundary,
		 (unsigned long long)__atomic_load_n(&p->skipped, RELAXED), p->cache_cap);
	return p;
}

int udma_pool_destroy(struct udma_pool *p, unsigned int flags)
{
	int err;

	if (!p)
		return udma_fail(EINVAL, "NULL pool");
	if (flags & ~UDMA_POOL_FORCE)
		return udma_fail(EINVAL, "unknown flag bits 0x%x", flags & ~UDMA_POOL_FORCE);
	err = _udma_pool_retire(p, flags & UDMA_POOL_FORCE);
	if (err)
		return err;
	pool_free_all(p);
	return 0;
}

uint64_t udma_pool_iova(struct udma_pool *p, const void *ptr)
{
	const struct pool_seg *s;
	uint64_t j;
	uintptr_t start;

	if (unlikely(!p || pool_locate(p, (uintptr_t)ptr, &s, &j, &start))) {
		udma_dbg("%p is not inside a block of pool %s", ptr, p ? p->name : "(null)");
		errno = EINVAL;
		return UDMA_BAD_IOVA;
	}
	if (unlikely(__atomic_load_n(&s->state[j], RELAXED) != UDMA_POOL_ST_USED_)) {
		udma_dbg("block %p of pool %s is not in use", (void *)start, p->name);
		errno = EINVAL;
		return UDMA_BAD_IOVA;
	}
	if (s->iova)
		return s->iova[j] + ((uintptr_t)ptr - start);
	return s->iova_base + ((uintptr_t)ptr - s->base);
}

void *udma_pool_block(struct udma_pool *p, const void *ptr)
{
	const struct pool_seg *s;
	uint64_t j;
	uintptr_t start;

	if (!p || pool_locate(p, (uintptr_t)ptr, &s, &j, &start) ||
	    __atomic_load_n(&s->state[j], RELAXED) != UDMA_POOL_ST_USED_)
		return udma_fail_null(EINVAL, "%p is not inside a block in use of pool %s", ptr, p ? p->name : "(null)");
	return (void *)start;
}

size_t udma_pool_block_size(const struct udma_pool *p)
{
	return p ? p->fast.stride : 0;
}

struct udma_domain *udma_pool_domain(const struct udma_pool *p)
{
	return p ? p->domain : NULL;
}

int udma_pool_stats(struct udma_pool *p, struct udma_pool_stats *st)
{
	struct udma_pool_stats s = { .size = sizeof(s) };
	uint64_t cached;

	if (!p || !st)
		return udma_fail(EINVAL, "NULL pool or stats");
	if (st->size < offsetof(struct udma_pool_stats, in_use))
		return udma_fail(EINVAL, "stats->size %zu too small", st->size);
	pthread_mutex_lock(&p->lock);
	s.blocks = __atomic_load_n(&p->usable, RELAXED);
	s.free = _udma_pool_free_locked(p, &cached);
	s.cached = cached;
	s.in_use = s.blocks > s.free ? s.blocks - s.free : 0;
	if (s.in_use > __atomic_load_n(&p->hwm, RELAXED))
		__atomic_store_n(&p->hwm, s.in_use, RELAXED);
	pthread_mutex_unlock(&p->lock);
	s.hwm = __atomic_load_n(&p->hwm, RELAXED);
	s.alloc_failures = __atomic_load_n(&p->alloc_failures, RELAXED);
	s.bad_frees = __atomic_load_n(&p->bad_frees, RELAXED);
	s.double_frees = __atomic_load_n(&p->double_frees, RELAXED);
	s.skipped = __atomic_load_n(&p->skipped, RELAXED);
	s.steals = __atomic_load_n(&p->steals, RELAXED);
	s.grows = __atomic_load_n(&p->grows, RELAXED);
	s.block_size = p->fast.stride;
	s.align = p->align;
	s.boundary = p->boundary;
	s.cache_size = p->cache_cap;
	memcpy((char *)st + sizeof(st->size), (char *)&s + sizeof(s.size),
	       (st->size < sizeof(s) ? st->size : sizeof(s)) - sizeof(s.size));
	return 0;
}
