/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: pools. Each input creates up to 4 pools with
 * random options - in a VA or IOMMU device domain or on bridge memory that
 * refuses some blocks, with random block size, count, alignment, boundary,
 * caches on or off, growth - and runs random operation sequences on them:
 * get, get_bulk, put of block starts, interior pointers, blocks already
 * free and foreign pointers (stack, heap, the bytes next to a pool, other
 * pools' blocks), put_bulk, iova/block lookups, cache flushes, stats and
 * destroy with blocks in use. A model predicts every result: blocks are
 * distinct, aligned, inside the pool and never across a boundary, in VA
 * and device addresses; counters match; nothing written to a block leaks
 * into another.
 */
#include <errno.h>
#include <string.h>
#include <udma/pool.h>
#include <udma/udma.h>

#include "fuzz.h"

#define NPOOL 4
#define MAXHELD 1024

struct mpool {
	struct udma_pool *p;
	size_t stride, align, boundary;
	uint32_t flags;
	int bridge;
	uint64_t blocks;           /* usable, from stats at creation (grows with GROW) */
	uint64_t max;              /* GROW limit */
	void *held[MAXHELD];       /* blocks we hold (starts) */
	unsigned char tag[MAXHELD];
	unsigned nheld;
	void *freed[64];           /* blocks we gave back (for double puts) */
	unsigned nfreed;
	uint64_t bad, dbl;         /* rejected puts we made */
};

static struct mpool pools[NPOOL];
static struct udma_domain *dom[2];
static unsigned long bridge_maps, bridge_unmaps;
static uint8_t refuse_mask; /* the bridge refuses blocks whose number has these low bits set */

static void *br_alloc(void *usr, size_t size)
{
	return aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
}

static void br_free(void *usr, void *va)
{
	free(va);
}

/* A fake device address: the VA moved up 1 TiB; some blocks refused. */
static uint64_t br_map(void *usr, void *va, size_t len)
{
	uint64_t n = bridge_maps++;
	if (refuse_mask && (n & refuse_mask) == refuse_mask)
		return UDMA_BAD_IOVA;
	return (uintptr_t)va + (1ull << 40);
}

static void br_unmap(void *usr, void *va, uint64_t iova, size_t len)
{
	bridge_unmaps++;
}

static const struct udma_pool_bridge bridge = { .size = sizeof(bridge), .alloc = br_alloc, .free = br_free,
						.iova_map = br_map, .iova_unmap = br_unmap };

static int pow2(size_t x)
{
	return x && !(x & (x - 1));
}

static void op_create(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL];
	uint8_t how = take8(in), a = take8(in), b = take8(in);
	struct udma_pool_opts o = { .size = sizeof(o) };

	if (m->p)
		return;
	o.block_size = how & 0x80 ? 1 + (size_t)take(in, 2) : 1 + (size_t)(take8(in) % 200);
	o.block_count = 1 + take(in, 2) % 512;
	o.align = a & 0x80 ? (size_t)(a & 0x7f) : a & 0x40 ? 0 : (size_t)1 << (a % 13);
	o.boundary = !(b & 0xc0) ? 0 : (size_t)1 << (b % 24);
	o.flags = (how & 1 ? UDMA_POOL_NO_CACHE : 0) | (how & 2 ? UDMA_POOL_GROW : 0) |
		  ((how & 0x1c) == 0x1c ? 0x100u : 0);
	o.max_blocks = o.flags & UDMA_POOL_GROW ? o.block_count * (1 + how % 3) : 0;
	o.min_blocks = how & 0x20 ? 1 : 0;
	o.cache_size = how & 0x40 ? 1 + b % 64 : 0;
	o.name = "fuzz";
	int where = (how >> 2) % 3; /* 0 VA domain, 1 IOMMU domain, 2 bridge */
	/* no hugepages (other tests may run alongside): small pools, and in IOMMU mode
	 * no alignment above a page (that asks for 2 MiB pages) */
	if (where == 1 && (o.align > 4096 || o.boundary > 4096))
		where = 0;
	refuse_mask = where == 2 ? b & 3 : 0;
	if (where == 2)
		o.bridge = &bridge;
	size_t align = o.align ? o.align : UDMA_POOL_DEFAULT_ALIGN;
	size_t stride = pow2(align) ? (o.block_size + align - 1) & ~(align - 1) : 0;
	int bad = !pow2(align) || align > UDMA_POOL_MAX_ALIGN || (o.boundary && o.boundary < stride) ||
		  (o.flags & 0x100u) || stride > UDMA_POOL_MAX_BLOCK_SIZE;
	/* memory for count blocks with padding for the boundary; keep it small */
	if (!bad && ((uint64_t)stride * o.block_count + o.boundary > (1u << 20) || o.boundary >= (1u << 20)))
		return;
	struct udma_pool *p = udma_pool_create(where == 2 ? NULL : dom[where], &o);
	if (bad) {
		FUZZ_CHECK(!p && errno == EINVAL, "bad options accepted: block %zu align %zu boundary %zu flags %x",
			   o.block_size, o.align, o.boundary, o.flags);
		return;
	}
	/* a bridge that refuses blocks may leave fewer than asked: then -ENOMEM unless min_blocks allows */
	if (!p) {
		FUZZ_CHECK(where == 2 && refuse_mask && errno == ENOMEM, "create failed: %d (block %zu x %u, align %zu, boundary %zu)",
			   errno, o.block_size, o.block_count, o.align, o.boundary);
		return;
	}
	struct udma_pool_stats st = { .size = sizeof(st) };
	FUZZ_CHECK(udma_pool_stats(p, &st) == 0, "stats");
	FUZZ_CHECK(st.block_size == stride && udma_pool_block_size(p) == stride, "block size %zu, want %zu",
		   st.block_size, stride);
	FUZZ_CHECK(st.blocks <= o.block_count && st.blocks >= (o.min_blocks ? o.min_blocks : o.block_count) &&
			   st.free == st.blocks && !st.in_use,
		   "created with %llu blocks (%llu free) for %u", (unsigned long long)st.blocks,
		   (unsigned long long)st.free, o.block_count);
	memset(m, 0, sizeof(*m));
	*m = (struct mpool){ .p = p, .stride = stride, .align = align, .boundary = o.boundary, .flags = o.flags,
			     .bridge = where == 2, .blocks = st.blocks,
			     .max = o.flags & UDMA_POOL_GROW ? o.max_blocks : st.blocks };
}

static int held_index(const struct mpool *m, const void *b)
{
	for (unsigned i = 0; i < m->nheld; i++)
		if (m->held[i] == b)
			return (int)i;
	return -1;
}

/* A block just handed out: distinct, aligned, not across a boundary, iova consistent. */
static void took(struct mpool *m, void *b, uint8_t tag)
{
	uint64_t io = udma_pool_iova(m->p, b);
	FUZZ_CHECK(b && held_index(m, b) < 0, "block %p handed out twice", b);
	FUZZ_CHECK(!((uintptr_t)b & (m->align - 1)), "block %p not aligned to %zu", b, m->align);
	FUZZ_CHECK(io != UDMA_BAD_IOVA && !(io & (m->align - 1)), "device address %#llx of %p", (unsigned long long)io, b);
	if (m->boundary) {
		FUZZ_CHECK(!(((uintptr_t)b ^ ((uintptr_t)b + m->stride - 1)) & ~(m->boundary - 1)), "block %p crosses %zu", b,
			   m->boundary);
		FUZZ_CHECK(!((io ^ (io + m->stride - 1)) & ~(uint64_t)(m->boundary - 1)), "device range crosses %zu",
			   m->boundary);
	}
	if (m->bridge)
		FUZZ_CHECK(io == (uintptr_t)b + (1ull << 40), "bridge device address");
	else
		FUZZ_CHECK(udma_va_to_iova(udma_pool_domain(m->p), b, NULL) == io, "pool and domain disagree on %p", b);
	FUZZ_CHECK(udma_pool_block(m->p, (char *)b + m->stride - 1) == b, "block of its last byte");
	memset(b, tag, m->stride); /* every byte is the block's */
	for (unsigned i = 0; i < m->nfreed;) /* no longer free */
		if (m->freed[i] == b)
			m->freed[i] = m->freed[--m->nfreed];
		else
			i++;
	m->tag[m->nheld] = tag;
	m->held[m->nheld++] = b;
}

/* Give back held block i, checking nobody wrote into it. */
static void give(struct mpool *m, unsigned i, uint8_t how)
{
	unsigned char *b = m->held[i];
	for (size_t k = 0; k < m->stride; k++)
		FUZZ_CHECK(b[k] == m->tag[i], "block %p byte %zu overwritten", (void *)b, k);
	size_t off = how & 1 ? (size_t)how % m->stride : 0; /* any address inside it */
	FUZZ_CHECK(udma_pool_put(m->p, b + off) == 0, "put of %p+%zu", (void *)b, off);
	m->held[i] = m->held[--m->nheld];
	m->tag[i] = m->tag[m->nheld];
	if (m->nfreed < 64)
		m->freed[m->nfreed++] = b;
}

/* Usable blocks now (growth adds some); stats are exact with one thread. */
static void refresh(struct mpool *m)
{
	struct udma_pool_stats st = { .size = sizeof(st) };
	FUZZ_CHECK(udma_pool_stats(m->p, &st) == 0, "stats");
	FUZZ_CHECK(st.blocks >= m->nheld && st.blocks <= m->max, "stats: %llu blocks, %u held, limit %llu",
		   (unsigned long long)st.blocks, m->nheld, (unsigned long long)m->max);
	m->blocks = st.blocks;
}

static void op_get(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL];
	uint8_t how = take8(in);
	unsigned n = 1 + how % 16;

	if (!m->p)
		return;
	refresh(m);
	if (how & 0x80) { /* bulk: all or none */
		void *b[16];
		uint64_t room = m->max - m->nheld;
		int rc = udma_pool_get_bulk(m->p, b, n);
		if (n <= m->blocks - m->nheld)
			FUZZ_CHECK(rc == 0, "get_bulk of %u with %llu free: %d", n,
				   (unsigned long long)(m->blocks - m->nheld), rc);
		if (n > room)
			FUZZ_CHECK(rc == -ENOMEM, "get_bulk of %u beyond the limit: %d", n, rc);
		if (!rc)
			for (unsigned i = 0; i < n && m->nheld < MAXHELD; i++)
				took(m, b[i], (uint8_t)(how + i));
		else
			return;
	} else {
		for (unsigned i = 0; i < n && m->nheld < MAXHELD; i++) {
			void *b = how & 0x40 ? udma_pool_get_noinline(m->p) : udma_pool_get(m->p);
			if (m->nheld < m->blocks)
				FUZZ_CHECK(b, "get with %llu free failed", (unsigned long long)(m->blocks - m->nheld));
			if (m->nheld >= m->max)
				FUZZ_CHECK(!b && errno == ENOMEM, "get beyond the limit");
			if (!b)
				break;
			took(m, b, (uint8_t)(how + i));
			refresh(m); /* it may have grown */
		}
	}
	refresh(m);
}

static void op_put(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL], *o = &pools[take8(in) % NPOOL];
	uint8_t how = take8(in);
	int local;

	if (!m->p)
		return;
	switch (how % 6) {
	case 0:
	case 1: /* a held block, by its start or an interior address */
		if (m->nheld)
			give(m, take8(in) % m->nheld, how >> 3);
		return;
	case 2: /* a block already free */
		if (m->nfreed) {
			void *b = m->freed[take8(in) % m->nfreed];
			FUZZ_CHECK(udma_pool_put(m->p, (char *)b + (how >> 3) % m->stride) == -EALREADY, "double put");
			m->dbl++;
		}
		return;
	case 3: /* foreign: the stack, the heap */
		FUZZ_CHECK(udma_pool_put(m->p, how & 8 ? (void *)&local : (void *)m) == -EINVAL, "foreign put");
		m->bad++;
		return;
	case 4: /* another pool's block */
		if (o != m && o->p && o->nheld) {
			FUZZ_CHECK(udma_pool_put(m->p, o->held[0]) == -EINVAL, "put of another pool's block");
			m->bad++;
		}
		return;
	default: /* right before a held block (may be a neighbour: only then it can work) */
		if (m->nheld) {
			char *b = (char *)m->held[take8(in) % m->nheld] - 1 - (how >> 3);
			FUZZ_CHECK(udma_pool_block(m->p, b) == NULL || held_index(m, udma_pool_block(m->p, b)) >= 0,
				   "block lookup of a byte before a block");
		}
		return;
	}
}

static void op_bulk_put(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL];
	uint8_t how = take8(in);
	void *b[17];
	unsigned n = 0, want = 1 + how % 16;

	if (!m->p)
		return;
	while (n < want && m->nheld) { /* the last held ones, bytes checked */
		unsigned i = m->nheld - 1;
		for (size_t k = 0; k < m->stride; k++)
			FUZZ_CHECK(((unsigned char *)m->held[i])[k] == m->tag[i], "block %p overwritten", m->held[i]);
		b[n++] = m->held[i];
		if (m->nfreed < 64)
			m->freed[m->nfreed++] = m->held[i];
		m->nheld--;
	}
	int bad = (how & 0x80) != 0;
	if (bad) { /* a foreign pointer among them: the valid ones still go back */
		unsigned at = n ? how % (n + 1) : 0;
		memmove(&b[at + 1], &b[at], (n - at) * sizeof(b[0]));
		b[at] = (void *)&how;
		n++;
	}
	if (!n)
		return;
	int rc = udma_pool_put_bulk(m->p, b, n);
	FUZZ_CHECK(rc == (bad ? -EINVAL : 0), "put_bulk of %u%s: %d", n, bad ? " with a foreign pointer" : "", rc);
	m->bad += bad;
}

static void op_check(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL];
	struct udma_pool_stats st = { .size = sizeof(st) };

	if (!m->p)
		return;
	if (take8(in) & 1)
		FUZZ_CHECK(udma_pool_cache_flush(m->p) == 0, "cache flush");
	FUZZ_CHECK(udma_pool_stats(m->p, &st) == 0, "stats");
	FUZZ_CHECK(st.in_use == m->nheld && st.free == st.blocks - m->nheld,
		   "stats: %llu in use, %llu free of %llu; we hold %u", (unsigned long long)st.in_use,
		   (unsigned long long)st.free, (unsigned long long)st.blocks, m->nheld);
	FUZZ_CHECK(st.bad_frees == m->bad && st.double_frees == m->dbl, "stats: %llu bad and %llu double frees, want %llu and %llu",
		   (unsigned long long)st.bad_frees, (unsigned long long)st.double_frees, (unsigned long long)m->bad,
		   (unsigned long long)m->dbl);
	for (unsigned i = 0; i < m->nfreed; i++) /* free blocks have no device address */
		FUZZ_CHECK(udma_pool_iova(m->p, m->freed[i]) == UDMA_BAD_IOVA, "iova of a free block");
	m->blocks = st.blocks;
}

static void op_destroy(struct fin *in)
{
	struct mpool *m = &pools[take8(in) % NPOOL];
	uint8_t how = take8(in);

	if (!m->p)
		return;
	if (m->nheld && !(how & 1)) {
		FUZZ_CHECK(udma_pool_destroy(m->p, 0) == -EBUSY, "destroy with blocks in use");
		return;
	}
	if (how & 2)
		FUZZ_CHECK(udma_pool_destroy(m->p, 0x80) == -EINVAL, "unknown destroy flag");
	FUZZ_CHECK(udma_pool_destroy(m->p, m->nheld ? UDMA_POOL_FORCE : 0) == 0, "destroy");
	memset(m, 0, sizeof(*m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[])(struct fin *) = { op_create, op_get, op_put, op_put, op_bulk_put, op_check,
						     op_destroy, op_get };
	struct fin in = { data, size };

	if (!dom[0]) { /* fresh each input: destroyed at the end to prove the pools emptied them */
		fuzz_log_everything();
		struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_VA, .vfio_container_fd = -1 };
		dom[0] = udma_device_domain_create(&o);
		o.mode = UDMA_ADDR_IOMMU;
		dom[1] = udma_device_domain_create(&o);
		FUZZ_CHECK(dom[0] && dom[1], "domains");
	}
	for (int n = 0; n < 48 && in.n; n++)
		ops[take8(&in) % (sizeof(ops) / sizeof(ops[0]))](&in);
	for (int i = 0; i < NPOOL; i++) {
		struct mpool *m = &pools[i];
		if (!m->p)
			continue;
		while (m->nheld)
			give(m, m->nheld - 1, 0);
		FUZZ_CHECK(udma_pool_destroy(m->p, 0) == 0, "destroy at the end");
		memset(m, 0, sizeof(*m));
	}
	/* every pool gave its memory back: the domains are empty */
	for (int i = 0; i < 2; i++) {
		FUZZ_CHECK(udma_domain_destroy(dom[i]) == 0, "domain %d not empty after its pools", i);
		dom[i] = NULL;
	}
	return 0;
}
