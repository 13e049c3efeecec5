/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the domain registry and domain memory. Each input is a
 * program of up to 64 operations on up to 8 domains - create (custom,
 * device in every mode, shm, process) with good and bad options, destroy,
 * get/put, filtered iteration, translate, pull/push/memzero/transfer, and
 * for device domains alloc/free (with interior, foreign and twice-freed
 * pointers), register/unregister (overlapping and partial ranges),
 * streaming map/unmap and query. A model kept here predicts every result
 * the contract fixes; data moved into shm and device memory is checked.
 * At the end everything is released and the registry must hold only the
 * system domain again.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <udma/udma.h>

#include "fuzz.h"

#define NSLOT 8
#define NMEM 8
#define ARENA (1u << 20)
#define PAGE 4096ul

struct mem {
	void *va;
	size_t len;     /* as asked (allocations) or registered */
	size_t rounded; /* allocations: the size udma gave (backing page multiple) */
	uint64_t iova;
	size_t run;     /* allocations: bytes from va whose device addresses follow iova */
	int live;
	int registered; /* else allocated */
};

struct stream {
	uint64_t iova;
	size_t len;
	int live;
};

struct slot {
	struct udma_domain *d;
	enum udma_domain_kind kind;
	enum udma_addr_mode mode;
	char id[300];
	int dead;      /* destroyed; d stays valid while refs > 0 */
	int refs;      /* extra references we hold */
	struct mem m[NMEM];
	struct stream s[NMEM];
	size_t shm_size;
};

static struct slot slots[NSLOT];
static unsigned char *arena;   /* registrations and streaming maps come from here */
static unsigned char remote[65536]; /* the custom domains' "memory" */
static unsigned char local[65536];
static int pa_ok;

static int c_pull(struct udma_domain *src, void *ctx, struct iovec *siov, uint32_t scnt, struct iovec *diov,
		  uint32_t dcnt, udma_done_fn cb, void *arg)
{
	size_t at = 0;
	for (uint32_t i = 0; i < scnt; i++) { /* dst is one local buffer here */
		uintptr_t a = (uintptr_t)siov[i].iov_base;
		if (a > sizeof(remote) || siov[i].iov_len > sizeof(remote) - a)
			return -ERANGE;
		memcpy((char *)diov[0].iov_base + at, remote + a, siov[i].iov_len);
		at += siov[i].iov_len;
	}
	cb(arg, 0);
	return 0;
}

static int c_push(struct udma_domain *dst, void *ctx, struct iovec *diov, uint32_t dcnt, struct iovec *siov,
		  uint32_t scnt, udma_done_fn cb, void *arg)
{
	size_t at = 0;
	for (uint32_t i = 0; i < dcnt; i++) {
		uintptr_t a = (uintptr_t)diov[i].iov_base;
		if (a > sizeof(remote) || diov[i].iov_len > sizeof(remote) - a)
			return -ERANGE;
		memcpy(remote + a, (char *)siov[0].iov_base + at, diov[i].iov_len);
		at += diov[i].iov_len;
	}
	cb(arg, 0);
	return 0;
}

static int all_zero_check(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i])
			return 0;
	return 1;
}

/* A free slot, or NULL. */
static struct slot *free_slot(void)
{
	for (int i = 0; i < NSLOT; i++)
		if (!slots[i].d)
			return &slots[i];
	return NULL;
}

/* A slot chosen by the input (may be empty). */
static struct slot *pick(struct fin *in)
{
	return &slots[take8(in) % NSLOT];
}

static int has_memory(const struct slot *s)
{
	for (int i = 0; i < NMEM; i++)
		if (s->m[i].live || s->s[i].live)
			return 1;
	return 0;
}

/* Mostly short ids from a small alphabet (so they repeat and filters match); sometimes too long. */
static void take_id(struct fin *in, char *id, size_t cap)
{
	uint8_t b = take8(in);
	size_t n = b >= 250 ? 256 + take8(in) % 40u : b >= 240 ? 60 + b % 10u : b % 8u;
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		id[i] = (char)('a' + (i < 8 ? take8(in) % 4 : i % 4)); /* long tails cost no input */
	id[n] = 0;
}

static void op_create_custom(struct fin *in)
{
	struct slot *s = free_slot();
	char id[300];
	uint8_t how = take8(in);
	static char user[64];
	struct udma_domain_ctx ctx = { .size = how & 1 ? 0 : sizeof(ctx), .user_ctx = user,
				       .user_ctx_size = take8(in) % 65 };
	struct udma_domain_ops ops = { .size = sizeof(ops), .pull = c_pull, .push = c_push };
	enum udma_dev_type types[] = { UDMA_DEV_RDMA, UDMA_DEV_DMA, UDMA_DEV_ACCEL, 1000, 1999, 3, 999, 2000 };
	enum udma_dev_type type = types[(how >> 1) % 8];
	struct udma_domain_opts o = { .size = sizeof(o), .dev_type = type, .id = id, .ctx = how & 16 ? &ctx : NULL,
				      .ops = how & 32 ? &ops : NULL };
	struct udma_domain *d = NULL;

	take_id(in, id, sizeof(id));
	if (!s)
		return;
	int want = (how & 16) && !ctx.size ? -EINVAL : !id[0] || strlen(id) > UDMA_DOMAIN_ID_MAX ? -EINVAL
		   : (type > UDMA_DEV_ACCEL && type < 1000) || type > 1999 ? -EINVAL : 0;
	int rc = udma_domain_create(&d, &o);
	FUZZ_CHECK(rc == want, "custom domain \"%.20s\" type %d: %d, want %d", id, (int)type, rc, want);
	if (rc)
		return;
	size_t n = 0;
	void *uc = udma_domain_user_ctx(d, &n);
	FUZZ_CHECK((how & 16) && ctx.user_ctx_size ? uc && uc != user && n == ctx.user_ctx_size : !uc,
		   "user context not copied as given");
	FUZZ_CHECK(!strcmp(udma_domain_id(d), id) && udma_domain_dev_type(d) == type, "id or type not kept");
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->kind = UDMA_KIND_CUSTOM;
	snprintf(s->id, sizeof(s->id), "%s", id);
}

static void op_create_device(struct fin *in)
{
	struct slot *s = free_slot();
	uint8_t how = take8(in);
	char name[80];
	struct udma_device_opts o = { .size = sizeof(o), .mode = (enum udma_addr_mode)(how % 4), .vfio_container_fd = -1 };

	take_id(in, name, sizeof(name));
	if (how & 4)
		o.name = name;
	if (how & 8) { /* an IOVA window: sometimes bad, sometimes outside IOMMU mode */
		o.iova_base = take(in, 2) << 20 | (how & 16 ? 1 : 0);
		o.iova_size = take(in, 2) << 20;
	}
	if (!s || (o.mode == UDMA_ADDR_PA && !pa_ok))
		return;
	int want = (unsigned)o.mode > 2 ? EINVAL : o.name && strlen(o.name) >= 64 ? EINVAL
		   : o.mode != UDMA_ADDR_IOMMU && (o.iova_base || o.iova_size) ? EINVAL
		   : o.mode == UDMA_ADDR_IOMMU && (o.iova_base || o.iova_size) &&
				     (!o.iova_size || ((o.iova_base | o.iova_size) & 4095) || !o.iova_base)
			   ? EINVAL
		   : o.name && !*o.name ? EINVAL : 0;
	struct udma_domain *d = udma_device_domain_create(&o);
	FUZZ_CHECK(want ? !d && errno == want : d != NULL, "device domain mode %d name \"%.20s\": %p (errno %d), want %d",
		   (int)o.mode, o.name ? o.name : "(null)", (void *)d, errno, want);
	if (!d)
		return;
	FUZZ_CHECK(udma_domain_kind(d) == UDMA_KIND_DEVICE && udma_domain_mode(d) == o.mode, "kind or mode");
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->kind = UDMA_KIND_DEVICE;
	s->mode = o.mode;
	snprintf(s->id, sizeof(s->id), "%s", udma_domain_id(d));
}

static void op_create_shm(struct fin *in)
{
	struct slot *s = free_slot();
	char id[300];
	uint8_t how = take8(in);
	size_t size = take(in, 2) * 4;
	uint32_t flags = how & 1 ? 0x10u << (how >> 5) : 0;

	take_id(in, id, sizeof(id));
	if (!s)
		return;
	int want = flags ? EINVAL : !size ? EINVAL : !id[0] || strlen(id) > UDMA_DOMAIN_ID_MAX ? EINVAL : 0;
	struct udma_domain *d = udma_shm_create(id, size, flags);
	FUZZ_CHECK(want ? !d && errno == want : d != NULL, "shm \"%.20s\" size %zu flags %x: errno %d, want %d", id, size,
		   flags, errno, want);
	if (!d)
		return;
	size_t got = 0;
	FUZZ_CHECK(udma_shm_base(d, &got) && got >= size && got - size < PAGE, "segment size %zu for %zu", got, size);
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->kind = UDMA_KIND_SHM;
	s->shm_size = got;
	snprintf(s->id, sizeof(s->id), "%s", id);
}

static void op_create_process(struct fin *in)
{
	struct slot *s = free_slot();
	uint8_t how = take8(in);
	pid_t pid = how % 4 == 0 ? 0 : how % 4 == 1 ? -5 : getpid();

	if (!s)
		return;
	struct udma_domain *d = udma_process_domain_create(pid, how & 4 ? "proc" : NULL);
	FUZZ_CHECK(pid > 0 ? d != NULL : !d && errno == EINVAL, "process domain for pid %d", (int)pid);
	if (!d)
		return;
	FUZZ_CHECK(udma_process_domain_pid(d) == pid, "pid");
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->kind = UDMA_KIND_PROCESS;
	snprintf(s->id, sizeof(s->id), "%s", udma_domain_id(d));
}

/* Forget a slot whose domain is gone (destroyed and no references left). */
static void settle(struct slot *s)
{
	if (s->d && s->dead && !s->refs)
		memset(s, 0, sizeof(*s));
}

static void op_destroy(struct fin *in)
{
	struct slot *s = pick(in);
	if (!s->d) {
		FUZZ_CHECK(udma_domain_destroy(udma_system_domain()) == -EPERM, "system domain destroyed");
		return;
	}
	int want = s->dead ? -EINVAL : (s->kind == UDMA_KIND_DEVICE || s->kind == UDMA_KIND_SHM) && has_memory(s) ? -EBUSY : 0;
	int rc = udma_domain_destroy(s->d);
	FUZZ_CHECK(rc == want, "destroy: %d, want %d", rc, want);
	if (!rc)
		s->dead = 1;
	settle(s);
}

static void op_ref(struct fin *in)
{
	struct slot *s = pick(in);
	if (!s->d)
		return;
	if (take8(in) % 2 || !s->refs) {
		FUZZ_CHECK(udma_domain_get(s->d) == s->d, "get");
		s->refs++;
	} else {
		udma_domain_put(s->d);
		s->refs--;
		settle(s);
	}
}

/* Iteration filtered by an id we use (or not): exactly the live ones, the system domain first. */
static void op_iterate(struct fin *in)
{
	uint8_t how = take8(in);
	struct slot *s = pick(in);
	const char *id = how % 3 == 0 ? NULL : how % 3 == 1 && s->d ? s->id : "system";
	int want = 0, seen = 0, stop = how & 8 ? 1 : -1;

	for (int i = 0; i < NSLOT; i++)
		want += slots[i].d && !slots[i].dead && (!id || !strcmp(slots[i].id, id));
	if (!id || !strcmp(id, "system"))
		want++;
	for (struct udma_domain *d = udma_domain_first(id); d; d = udma_domain_next(d, id)) {
		if (!seen && (!id || !strcmp(id, "system")))
			FUZZ_CHECK(d == udma_system_domain(), "system domain not first");
		FUZZ_CHECK(!id || !strcmp(udma_domain_id(d), id), "filter %s returned %s", id, udma_domain_id(d));
		if (++seen == stop) {
			udma_domain_put(d);
			return;
		}
	}
	FUZZ_CHECK(seen == want, "iteration with id %s: %d domains, want %d", id ? id : "(all)", seen, want);
}

/* A device domain's own memory, as (va, device address); -1 if it has none. */
static int some_mem(struct slot *s, struct fin *in)
{
	int k = take8(in) % NMEM;
	for (int i = 0; i < NMEM; i++, k = (k + 1) % NMEM)
		if (s->m[k].live)
			return k;
	return -1;
}

/* Has segment s a free run of len bytes for first fit (its live allocations' offsets)? */
static int shm_fits(const struct slot *s, size_t len)
{
	for (int i = -1; i < NMEM; i++) { /* a gap starts at 0 or right after an allocation */
		const struct mem *a = i < 0 ? NULL : &s->m[i];
		if (a && (!a->live || a->registered))
			continue;
		uint64_t at = a ? a->iova + a->rounded : 0;
		int clear = at <= s->shm_size && len <= s->shm_size - at;
		for (int j = 0; j < NMEM && clear; j++)
			if (s->m[j].live && !s->m[j].registered && s->m[j].iova < at + len && at < s->m[j].iova + s->m[j].rounded)
				clear = 0;
		if (clear)
			return 1;
	}
	return 0;
}

static void op_alloc(struct fin *in)
{
	struct slot *s = pick(in);
	uint8_t how = take8(in);
	size_t size = how & 0x80 ? (size_t)1 << 50 : take(in, 2) + (how & 1 ? 0 : 1);
	uint32_t flags = (how & 2 ? UDMA_MEM_CONTIG : 0) | (how & 4 ? UDMA_MEM_SHARED : 0) |
			 (how & 8 ? UDMA_MEM_PINNED : 0) | (how & 16 ? 0x100u : 0) |
			 ((how & 0x60) == 0x60 ? UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G : 0);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = flags };
	struct udma_mem m;
	int k;

	if (!s->d)
		return;
	for (k = 0; k < NMEM && s->m[k].live; k++)
		;
	if (k == NMEM)
		return;
	/* shm: the segment is the arena (4 KiB pages here), PINNED does not apply, full is ENOMEM */
	int shm = s->kind == UDMA_KIND_SHM;
	int want = s->kind != UDMA_KIND_DEVICE && !shm ? -EINVAL : !size || size > (1ull << 46) ? -EINVAL
		   : flags & 0x100u ? -EINVAL : (flags & UDMA_MEM_HUGE_1G) ? -EINVAL
		   : shm && (flags & UDMA_MEM_PINNED) ? -EINVAL : s->dead ? -ENODEV
		   : shm && !shm_fits(s, (size + PAGE - 1) & ~(size_t)(PAGE - 1)) ? -ENOMEM : 0;
	int rc = udma_mem_alloc(s->d, size, &o, &m);
	/* PA mode may not find contiguity: -ENOMEM is allowed there */
	FUZZ_CHECK(rc == want || (want == 0 && rc == -ENOMEM && s->mode == UDMA_ADDR_PA && (flags & UDMA_MEM_CONTIG)),
		   "alloc %zu flags %x in %s: %d, want %d", size, flags, s->id, rc, want);
	if (rc)
		return;
	FUZZ_CHECK(m.va && m.len >= size && !((uintptr_t)m.va % PAGE) && all_zero_check(m.va, m.len), "allocation");
	FUZZ_CHECK(udma_va_to_iova(s->d, m.va, NULL) == m.iova, "allocation does not translate to its iova");
	memset(m.va, 0xa5, size);
	/* PA mode over 4 KiB pages: each page has its own physical address */
	s->m[k] = (struct mem){ m.va, size, m.len, m.iova, m.contiguous || m.page_size > size ? size : m.page_size, 1, 0 };
}

static void op_free(struct fin *in)
{
	struct slot *s = pick(in), *o = pick(in);
	uint8_t how = take8(in);
	int k = s->d ? some_mem(s, in) : -1;

	if (!s->d)
		return;
	if (k < 0 || s->m[k].registered) { /* a foreign pointer: the arena, or another domain's memory */
		int j = o->d ? some_mem(o, in) : -1;
		void *p = o != s && j >= 0 && !o->m[j].registered ? o->m[j].va : arena + PAGE;
		FUZZ_CHECK(udma_mem_free(s->d, p, PAGE) == -EINVAL, "free of a foreign pointer");
		return;
	}
	struct mem *m = &s->m[k];
	size_t rounded = m->rounded;
	switch (how % 4) {
	case 0: /* interior pointer */
		FUZZ_CHECK(udma_mem_free(s->d, (char *)m->va + 1 + how % (m->len ? m->len : 1), m->len) == -EINVAL,
			   "free of an interior pointer");
		return;
	case 1: /* wrong size: neither the size asked nor the rounded one */
		FUZZ_CHECK(udma_mem_free(s->d, m->va, rounded + 1) == -EINVAL, "free with a wrong size");
		return;
	default: { /* right, with the size asked or the rounded size; then once more */
		int rc = udma_mem_free(s->d, m->va, how & 4 ? rounded : m->len);
		FUZZ_CHECK(rc == 0, "free: %d", rc);
		/* (every byte of a segment translates: to its offset) */
		FUZZ_CHECK(s->kind == UDMA_KIND_SHM || udma_va_to_iova(s->d, m->va, NULL) == UDMA_BAD_IOVA,
			   "freed memory still translates");
		FUZZ_CHECK(udma_mem_free(s->d, m->va, m->len) == -EINVAL, "double free accepted");
		m->live = 0;
	}
	}
}

/* Page-rounded range of a registration. */
static void pages(const struct mem *m, uintptr_t *a, uintptr_t *b)
{
	*a = (uintptr_t)m->va & ~(PAGE - 1);
	*b = ((uintptr_t)m->va + m->len + PAGE - 1) & ~(PAGE - 1);
}

static void op_register(struct fin *in)
{
	struct slot *s = pick(in);
	size_t off = take(in, 3) % ARENA, len = take(in, 3) % (ARENA / 4);
	int k;

	if (off + len > ARENA)
		len = ARENA - off;
	if (!s->d)
		return;
	for (k = 0; k < NMEM && s->m[k].live; k++)
		;
	if (k == NMEM)
		return;
	struct mem nm = { arena + off, len, len, 0, 0, 1, 1 };
	uintptr_t a, b;
	pages(&nm, &a, &b);
	int want = s->kind != UDMA_KIND_DEVICE || !len ? -EINVAL : s->dead ? -ENODEV : 0;
	for (int i = 0; i < NMEM && !want; i++) {
		uintptr_t c, e;
		if (!s->m[i].live || !s->m[i].registered)
			continue;
		pages(&s->m[i], &c, &e);
		if (a < e && c < b)
			want = -EBUSY;
	}
	int rc = udma_mem_register(s->d, nm.va, len, NULL);
	FUZZ_CHECK(rc == want || (want == 0 && rc == -ENOMEM && s->mode == UDMA_ADDR_PA),
		   "register [+%zu, %zu) in %s: %d, want %d", off, len, s->id, rc, want);
	if (rc)
		return;
	nm.iova = udma_va_to_iova(s->d, nm.va, NULL);
	FUZZ_CHECK(nm.iova != UDMA_BAD_IOVA, "registration does not translate");
	struct udma_mem q;
	FUZZ_CHECK(udma_mem_query(s->d, (char *)nm.va + len - 1, &q) == 0 && q.va == nm.va && q.len == len,
		   "query of a registration");
	s->m[k] = nm;
}

static void op_unregister(struct fin *in)
{
	struct slot *s = pick(in);
	uint8_t how = take8(in);
	int k = -1;

	if (!s->d || s->kind != UDMA_KIND_DEVICE)
		return;
	for (int i = 0; i < NMEM; i++)
		if (s->m[i].live && s->m[i].registered)
			k = i;
	if (k < 0) {
		FUZZ_CHECK(udma_mem_unregister(s->d, arena + 3 * PAGE + 5, 100) == -ENOENT, "unregister of nothing");
		return;
	}
	struct mem *m = &s->m[k];
	if (how % 3 == 0 && m->len > 1) {
		FUZZ_CHECK(udma_mem_unregister(s->d, m->va, m->len - 1) == -ERANGE, "partial unregister");
		return;
	}
	FUZZ_CHECK(udma_mem_unregister(s->d, m->va, m->len) == 0, "unregister");
	FUZZ_CHECK(udma_mem_unregister(s->d, m->va, m->len) == -ENOENT, "second unregister");
	m->live = 0;
}

static void op_map(struct fin *in)
{
	struct slot *s = pick(in);
	uint8_t how = take8(in);
	size_t off = take(in, 3) % ARENA, len = 1 + take(in, 2) % 8192;
	int k;

	if (!s->d || s->kind != UDMA_KIND_DEVICE)
		return;
	if (off + len > ARENA)
		off = ARENA - len;
	for (k = 0; k < NMEM && s->s[k].live; k++)
		;
	if (how & 1) { /* unmap one, or a wrong one */
		for (int i = 0; i < NMEM; i++)
			if (s->s[i].live) {
				/* a wrong length, unless another mapping of the same address has it */
				int other = 0;
				for (int j = 0; j < NMEM; j++)
					other |= s->s[j].live && s->s[j].iova == s->s[i].iova && s->s[j].len == s->s[i].len + 1;
				if (!other)
					FUZZ_CHECK(udma_unmap(s->d, s->s[i].iova, s->s[i].len + 1) == -ENOENT,
						   "unmap of a wrong length");
				FUZZ_CHECK(udma_unmap(s->d, s->s[i].iova, s->s[i].len) == 0, "unmap");
				s->s[i].live = 0;
				return;
			}
		return;
	}
	if (k == NMEM)
		return;
	uint64_t io = udma_map(s->d, arena + off, len, (enum udma_dir)(how >> 1 & 3));
	int bad_dir = (how >> 1 & 3) == 3;
	if (bad_dir || s->dead) {
		FUZZ_CHECK(io == UDMA_BAD_IOVA && errno == (bad_dir ? EINVAL : ENODEV), "map with a bad direction or dead domain");
		return;
	}
	if (io == UDMA_BAD_IOVA) { /* PA mode: pages that are not physically adjacent */
		FUZZ_CHECK(s->mode == UDMA_ADDR_PA && errno == ENOMEM, "map failed: %d", errno);
		return;
	}
	if (s->mode == UDMA_ADDR_IOMMU)
		FUZZ_CHECK(udma_iova_to_va(s->d, io, NULL) == arena + off, "streaming map does not translate back");
	s->s[k] = (struct stream){ io, len, 1 };
}

/* Local address of [a, a+len) in slot s's space, or NULL if the model says it is not there. */
static unsigned char *model_local(struct slot *s, uintptr_t a, size_t len)
{
	if (s->kind == UDMA_KIND_SHM)
		return a <= s->shm_size && len <= s->shm_size - a ? (unsigned char *)udma_shm_base(s->d, NULL) + a : NULL;
	for (int i = 0; i < NMEM; i++)
		if (s->m[i].live && !s->m[i].registered && s->m[i].iova <= a && a - s->m[i].iova < s->m[i].run &&
		    len <= s->m[i].run - (a - s->m[i].iova))
			return (unsigned char *)s->m[i].va + (a - s->m[i].iova);
	return NULL;
}

/* pull/push/memzero between local memory and a domain, checked against the model. */
static void op_move(struct fin *in)
{
	struct slot *s = pick(in);
	uint8_t how = take8(in);
	size_t len = take(in, 2) % 4096, off = take(in, 2);
	uintptr_t a = off;
	struct iovec r, l = { local, len };

	if (!s->d)
		return;
	if (s->kind == UDMA_KIND_DEVICE) { /* inside an allocation mostly */
		int k = some_mem(s, in);
		if (k >= 0 && !s->m[k].registered && how & 8)
			a = s->m[k].iova + off % (s->m[k].len + 1);
		else if (k >= 0 && !s->m[k].registered)
			a = s->m[k].iova + off % (s->m[k].len + 1) % 64;
	} else if (s->kind == UDMA_KIND_PROCESS || s->kind == UDMA_KIND_SYSTEM) {
		a = (uintptr_t)(arena + off % (ARENA - 4096));
	}
	r = (struct iovec){ (void *)a, len };
	for (size_t i = 0; i < len; i++)
		local[i] = (unsigned char)(i + how);
	unsigned char *lv = s->kind == UDMA_KIND_SHM || s->kind == UDMA_KIND_DEVICE ? model_local(s, a, len) : NULL;
	int known = s->kind == UDMA_KIND_SHM || s->kind == UDMA_KIND_DEVICE;
	int rc;
	switch (how % 3) {
	case 0:
		rc = udma_domain_push(s->d, NULL, &r, 1, &l, 1, NULL, NULL);
		break;
	case 1:
		rc = udma_domain_pull(s->d, NULL, &r, 1, &l, 1, NULL, NULL);
		break;
	default:
		rc = udma_domain_memzero(s->d, NULL, &r, 1, NULL, NULL);
	}
	if (!len) {
		FUZZ_CHECK(rc == -EINVAL || rc == 0 || rc == -ENODEV || rc == -ENOTSUP, "zero-length move: %d", rc);
		return;
	}
	if (s->dead) {
		FUZZ_CHECK(rc == -ENODEV, "move on a destroyed domain: %d", rc);
		return;
	}
	if (s->kind == UDMA_KIND_CUSTOM) { /* our callbacks, if given */
		FUZZ_CHECK(rc == 0 || rc == -ENOTSUP || rc == -ERANGE || rc == -EPERM, "custom move: %d", rc);
		return;
	}
	if (!known) {
		FUZZ_CHECK(rc == 0, "move on %s: %d", s->id, rc);
		return;
	}
	/* inside one piece of memory: must work; else it fails, or spans adjacent pieces (device) */
	FUZZ_CHECK(lv ? rc == 0 : rc == -ERANGE || rc == -EFAULT || (rc == 0 && s->kind == UDMA_KIND_DEVICE),
		   "move of [%#lx, +%zu) in %s: %d (model: %s)", (unsigned long)a, len, s->id, rc,
		   lv ? "inside" : "outside");
	if (rc || !lv)
		return;
	if (how % 3 == 0)
		FUZZ_CHECK(!memcmp(lv, local, len), "push did not land");
	else if (how % 3 == 1)
		FUZZ_CHECK(!memcmp(lv, local, len), "pull did not bring the bytes");
	else
		for (size_t i = 0; i < len; i++)
			FUZZ_CHECK(!lv[i], "memzero left byte %zu", i);
}

/* device/shm -> system and back gives the same address. */
static void op_translate(struct fin *in)
{
	struct slot *s = pick(in), *t = pick(in);
	size_t off = take(in, 2), len = 1 + take(in, 2) % 8192;
	struct udma_xlate_result r = { .size = sizeof(r) }, back = { .size = sizeof(back) };

	if (!s->d || !t->d)
		return;
	int rc = udma_domain_translate(s->d, NULL, t->d, NULL, (void *)(uintptr_t)off, len, &r);
	if (s->dead || t->dead) {
		FUZZ_CHECK(rc == -ENODEV, "translate with a destroyed domain: %d", rc);
		return;
	}
	FUZZ_CHECK(rc <= 0, "translate");
	if (s->kind != UDMA_KIND_SHM)
		return;
	/* shm offsets into the system domain: inside -> this mapping, outside -> -ERANGE */
	rc = udma_domain_translate(s->d, NULL, udma_system_domain(), NULL, (void *)(uintptr_t)off, len, &r);
	unsigned char *lv = model_local(s, off, len);
	FUZZ_CHECK(lv ? rc == 0 && r.iov_count == 1 && r.iov.iov_base == lv && r.iov.iov_len == len : rc == -ERANGE,
		   "shm translate of [%zu, +%zu): %d", off, len, rc);
	if (rc)
		return;
	rc = udma_domain_translate(udma_system_domain(), NULL, s->d, NULL, lv, len, &back);
	FUZZ_CHECK(rc == 0 && back.iov.iov_base == (void *)(uintptr_t)off, "shm round trip");
}

static void cleanup(void)
{
	for (int i = 0; i < NSLOT; i++) {
		struct slot *s = &slots[i];
		if (!s->d)
			continue;
		for (int k = 0; k < NMEM; k++) {
			if (s->m[k].live)
				FUZZ_CHECK((s->m[k].registered ? udma_mem_unregister(s->d, s->m[k].va, s->m[k].len)
							       : udma_mem_free(s->d, s->m[k].va, s->m[k].len)) == 0,
					   "cleanup of memory");
			if (s->s[k].live)
				FUZZ_CHECK(udma_unmap(s->d, s->s[k].iova, s->s[k].len) == 0, "cleanup of a mapping");
		}
		if (!s->dead)
			FUZZ_CHECK(udma_domain_destroy(s->d) == 0, "cleanup destroy");
		while (s->refs--)
			udma_domain_put(s->d);
		memset(s, 0, sizeof(*s));
	}
	struct udma_domain *d = udma_domain_first(NULL);
	FUZZ_CHECK(d == udma_system_domain(), "system domain not first");
	d = udma_domain_next(d, NULL);
	FUZZ_CHECK(!d, "domain %s still registered after cleanup", d ? udma_domain_id(d) : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[])(struct fin *) = {
		op_create_custom, op_create_device, op_create_shm, op_create_process, op_destroy, op_ref,
		op_iterate, op_alloc, op_free, op_register, op_unregister, op_map, op_move, op_translate,
		op_create_device, op_alloc, op_move,
	};
	struct fin in = { data, size };

	if (!arena) {
		fuzz_log_everything();
		arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		FUZZ_CHECK(arena != MAP_FAILED, "arena");
		pa_ok = udma_mode_probe(UDMA_ADDR_PA, NULL, 0) == 0;
	}
	for (int n = 0; n < 64 && in.n; n++)
		ops[take8(&in) % (sizeof(ops) / sizeof(ops[0]))](&in);
	cleanup();
	return 0;
}
