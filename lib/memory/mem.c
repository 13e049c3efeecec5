/* SPDX-License-Identifier: BSD-3-Clause */
/* DMA memory: allocation, registration, translation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <udma/memory.h>

#include "os.h"
#include "span.h"
#include "watch.h"

#define PAGE SPAN_PAGE

/* Memory lives in device domains only. */
#define MAX_BYTES (1ull << 46) /* 64 TiB: more than any machine has; larger is a bug */

static uint64_t pdown(uint64_t x) { return x & ~(PAGE - 1); }
static uint64_t pup(uint64_t x) { return (x + PAGE - 1) & ~(PAGE - 1); }

static int phys_contiguous(uint64_t va, size_t len)
{
	size_t n = len / PAGE;
	uint64_t *pa = malloc(n * sizeof(*pa));
	int ok = pa && !_udma_os_virt_to_phys_pages(va, n, pa, 0);

	for (size_t i = 1; ok && i < n; i++)
		ok = pa[i] == pa[i - 1] + PAGE;
	free(pa);
	return ok;
}

static void mem_describe(struct udma_domain *d, const struct region *r, struct udma_mem *out)
{
	uint64_t left = 0;

	out->va = (void *)r->user_va;
	out->iova = r->iova + (r->user_va - r->start);
	if (dev_of(d)->mode == UDMA_ADDR_PA) /* per-page addresses: ask the table */
		out->iova = xmap_get1(&dev_of(d)->fwd, r->user_va, &left);
	out->len = r->kind == REGION_ALLOC ? r->end - r->start : r->user_len;
	out->page_size = r->kind == REGION_ALLOC ? r->map.page_size : PAGE;
	out->fd = r->kind == REGION_ALLOC ? r->map.fd : -1;
	out->flags = r->flags;
	out->numa_node = r->kind == REGION_ALLOC ? r->map.node : _udma_os_node_of((void *)r->start);
	out->contiguous = r->contiguous;
}

/* Page sizes to try, largest first; returns how many. */
static int page_sizes(const struct udma_domain *d, uint32_t flags, size_t size, size_t *ps)
{
	int n = 0, fallback = flags & UDMA_MEM_HUGE_FALLBACK;

	if (flags & UDMA_MEM_HUGE_1G) {
		ps[n++] = OS_PAGE_1G;
		if (!fallback)
			return n;
	}
	if (flags & (UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G)) {
		ps[n++] = OS_PAGE_2M;
		if (!fallback)
			return n;
	} else if (dev_of(d)->mode == UDMA_ADDR_PA) {
		/* PA mode wants pages that stay put and are contiguous: hugepages if
		 * any are free, else pinned 4 KiB pages. */
		ps[n++] = OS_PAGE_2M;
	}
	ps[n++] = OS_PAGE_4K;
	return n;
}

int udma_mem_alloc(struct udma_domain *d, size_t size, const struct udma_mem_opts *uo,
		   struct udma_mem *out)
{
	struct udma_mem_opts o = { .size = sizeof(o), .numa_node = -1 };
	struct region r = { .kind = REGION_ALLOC };
	struct span_dev sd;
	size_t ps[3];
	int err = -ENOMEM, node = -1, n;

	udma_env_clear();
	if (!(is_device(d) || _udma_is_shm(d)) || !out)
		return udma_fail(EINVAL, "NULL domain (or not a device or shm one), or NULL result");
	if (uo) {
		if (uo->size < offsetof(struct udma_mem_opts, flags) + sizeof(uint32_t))
			return udma_fail(EINVAL, "opts->size %zu too small", uo->size);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	if (!size || size > MAX_BYTES)
		return udma_fail(EINVAL, "size %zu is zero or absurd (limit %llu)", size, MAX_BYTES);
	if (o.flags & ~UDMA_MEM_ALL_FLAGS)
		return udma_fail(EINVAL, "unknown flag bits 0x%x", o.flags & ~UDMA_MEM_ALL_FLAGS);
	if ((o.flags & UDMA_MEM_HUGE_2M) && (o.flags & UDMA_MEM_HUGE_1G))
		return udma_fail(EINVAL, "HUGE_2M and HUGE_1G together");
	if (_udma_is_shm(d)) /* the segment is the arena */
		return _udma_shm_mem_alloc(d, size, o.flags, out);
	if (o.flags & UDMA_MEM_NUMA) {
		if (o.numa_node < 0 || o.numa_node > _udma_os_numa_max_node())
			return udma_fail(EINVAL, "NUMA node %d does not exist (max %d)", o.numa_node,
					 _udma_os_numa_max_node());
		node = o.numa_node;
	}
	/* before any memory is mapped or pinned: a dead domain's answer must not
	 * depend on what the machine has free (checked again under the lock below) */
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	int want_phys = (o.flags & UDMA_MEM_PHYS_CONTIG) ||
			((o.flags & UDMA_MEM_CONTIG) && dev_of(d)->mode == UDMA_ADDR_PA);
	if (want_phys && (err = _udma_os_pa_probe(NULL, 0))) {
		udma_env(UDMA_ENV_PAGEMAP, "physically contiguous memory needs physical addresses, which need "
			 "CAP_SYS_ADMIN (/proc/self/pagemap): run with it, or drop UDMA_MEM_PHYS_CONTIG");
		return udma_fail(-err, "physical contiguity cannot be checked: no access to physical addresses");
	}
	int pin = (o.flags & UDMA_MEM_PINNED) || dev_of(d)->mode == UDMA_ADDR_PA;

	n = page_sizes(d, o.flags, size, ps);
	size_t huge_missing = 0, memlock = 0; /* what the machine refused, for the user */
	for (int i = 0; i < n; i++) {
		size_t len = (size + ps[i] - 1) & ~(ps[i] - 1);
		err = _udma_os_map_pages(len, ps[i], o.flags & UDMA_MEM_SHARED, node, pin, &r.map);
		if (err && r.map.why == OS_WHY_HUGEPAGES && !huge_missing)
			huge_missing = ps[i];
		if (err && r.map.why == OS_WHY_MEMLOCK)
			memlock = len;
		if (!err && want_phys && !phys_contiguous((uintptr_t)r.map.va, len)) {
			udma_dbg("%zu bytes of %zu-byte pages are not physically contiguous", len, ps[i]);
			_udma_os_unmap_pages(&r.map);
			err = -ENOMEM;
		}
		if (!err)
			break;
		if (i + 1 < n)
			udma_dbg("no %zu-byte pages for %zu bytes (%d); trying %zu-byte pages", ps[i], size,
				 err, ps[i + 1]);
	}
	if (err && (memlock || huge_missing))
		os_explain(memlock ? OS_WHY_MEMLOCK : OS_WHY_HUGEPAGES, memlock ? memlock : size, huge_missing,
			   want_phys);
	if (err)
		return udma_fail(-err, "cannot allocate %zu bytes%s%s", size,
				 want_phys ? " physically contiguous" : "",
				 (o.flags & (UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G)) &&
						 !(o.flags & UDMA_MEM_HUGE_FALLBACK)
					 ? " in hugepages (none free? see nr_hugepages, or add HUGE_FALLBACK)"
					 : "");

	r.start = (uintptr_t)r.map.va;
	r.end = r.start + r.map.len;
	r.user_va = r.start;
	r.user_len = size;
	r.flags = (o.flags & ~(UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G | UDMA_MEM_HUGE_FALLBACK)) |
		  (pin ? UDMA_MEM_PINNED : 0) |
		  (r.map.page_size == OS_PAGE_2M ? UDMA_MEM_HUGE_2M : 0) |
		  (r.map.page_size == OS_PAGE_1G ? UDMA_MEM_HUGE_1G : 0);
	r.locked = pin;

	pthread_mutex_lock(&d->lock);
	err = d->dead ? -ENODEV : _udma_span_map(d, r.start, r.map.len, 1, 0, &sd);
	if (!err && (o.flags & UDMA_MEM_CONTIG) && !sd.contiguous) {
		_udma_span_unmap(d, r.start, r.map.len, 1, &sd);
		err = -ENOMEM;
	}
	if (!err) {
		r.iova = sd.iova, r.iova_len = sd.iova_len;
		r.contiguous = sd.contiguous, r.vfio_mapped = sd.vfio_mapped;
		err = _udma_region_insert(&dev_of(d)->regions, &r);
		if (err)
			_udma_span_unmap(d, r.start, r.map.len, 1, &sd);
	}
	if (!err)
		mem_describe(d, &r, out);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		_udma_os_unmap_pages(&r.map);
		return udma_fail(-err, "cannot give %zu bytes device addresses in %s", size, d->id);
	}
	return 0;
}

static struct span_dev region_span(const struct region *r)
{
	return (struct span_dev){ .iova = r->iova, .iova_len = r->iova_len,
				  .contiguous = r->contiguous, .vfio_mapped = r->vfio_mapped };
}

int udma_mem_free(struct udma_domain *d, void *va, size_t len)
{
	if (_udma_is_shm(d) && va)
		return _udma_shm_mem_free(d, va, len);
	if (!is_device(d) || !va)
		return udma_fail(EINVAL, "NULL or non-device domain, or NULL pointer");
	pthread_mutex_lock(&d->lock);
	long i = _udma_region_find(&dev_of(d)->regions, (uintptr_t)va);
	struct region r;

	if (i < 0 || dev_of(d)->regions.r[i].kind != REGION_ALLOC || dev_of(d)->regions.r[i].user_va != (uintptr_t)va) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(EINVAL, "%p is not an allocation of %s (foreign pointer or double free)", va, d->id);
	}
	r = dev_of(d)->regions.r[i];
	if (len != r.user_len && len != r.end - r.start) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(EINVAL, "size %zu does not match the allocation at %p (%zu bytes)", len, va,
				 r.user_len);
	}
	_udma_region_remove(&dev_of(d)->regions, (size_t)i);
	struct span_dev sd = region_span(&r);
	_udma_span_unmap(d, r.start, r.end - r.start, 1, &sd);
	pthread_mutex_unlock(&d->lock);
	_udma_mem_gone(r.start, r.end - r.start);
	_udma_os_unmap_pages(&r.map);
	return 0;
}

int udma_mem_register(struct udma_domain *d, void *va, size_t len, struct udma_mem *out)
{
	uint64_t v = (uintptr_t)va;
	struct region r = { .kind = REGION_REGISTERED, .map = { .fd = -1 } };
	struct span_dev sd;
	int err;

	udma_env_clear();
	if (!is_device(d) || !va || !len || len > MAX_BYTES || v + len < v)
		return udma_fail(EINVAL, "bad arguments (domain %p, va %p, len %zu)", (void *)d, va, len);
	r.start = pdown(v);
	r.end = pup(v + len);
	r.user_va = v;
	r.user_len = len;
	if (r.end > (1ull << XMAP_KEY_BITS))
		return udma_fail(EINVAL, "address %p is beyond 48 bits", va);
	if (!_udma_os_range_mapped((void *)r.start, r.end - r.start))
		return udma_fail(EFAULT, "[%p, +%zu) is not mapped", va, len);

	pthread_mutex_lock(&d->lock);
	if (d->dead) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	}
	if (_udma_region_overlaps(&dev_of(d)->regions, r.start, r.end)) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(EBUSY, "[%p, +%zu) overlaps memory already in %s", va, len, d->id);
	}
	if (dev_of(d)->mode == UDMA_ADDR_PA) { /* physical addresses must not move under the device */
		/* the caller's, maybe shared: _udma_span_map marks its private pages */
		if ((err = _udma_os_pin((void *)r.start, r.end - r.start, 0))) {
			pthread_mutex_unlock(&d->lock);
			if (err == -ENOMEM)
				os_explain(OS_WHY_MEMLOCK, r.end - r.start, 0, 0);
			return udma_fail(-err, "cannot pin [%p, +%zu)", va, len);
		}
		r.locked = 1;
		r.flags |= UDMA_MEM_PINNED;
		_udma_os_populate((void *)r.start, r.end - r.start); /* present for pagemap even where mlock is a no-op */
	}
	err = _udma_span_map(d, r.start, r.end - r.start, 1, r.locked, &sd);
	if (!err) {
		r.iova = sd.iova, r.iova_len = sd.iova_len;
		r.contiguous = sd.contiguous, r.vfio_mapped = sd.vfio_mapped;
		err = _udma_region_insert(&dev_of(d)->regions, &r);
		if (err)
			_udma_span_unmap(d, r.start, r.end - r.start, 1, &sd);
	}
	if (err && r.locked)
		_udma_span_unpin(d, r.start, r.end - r.start);
	if (!err && out)
		mem_describe(d, &r, out);
	pthread_mutex_unlock(&d->lock);
	return err ? udma_fail(-err, "cannot register [%p, +%zu) in %s", va, len, d->id) : 0;
}

int udma_mem_unregister(struct udma_domain *d, void *va, size_t len)
{
	if (!is_device(d) || !va || !len)
		return udma_fail(EINVAL, "bad arguments");
	pthread_mutex_lock(&d->lock);
	long i = _udma_region_find(&dev_of(d)->regions, (uintptr_t)va);
	uintptr_t gone = 0;
	size_t gone_len = 0;
	int err = 0;

	if (i < 0) {
		err = udma_fail(ENOENT, "nothing registered at %p in %s", va, d->id);
	} else if (dev_of(d)->regions.r[i].kind != REGION_REGISTERED) {
		err = udma_fail(EINVAL, "%p is an allocation; free it instead", va);
	} else if (dev_of(d)->regions.r[i].user_va != (uintptr_t)va || dev_of(d)->regions.r[i].user_len != len) {
		err = udma_fail(ERANGE, "[%p, +%zu) is not exactly the registration [%p, +%zu)", va, len,
				(void *)dev_of(d)->regions.r[i].user_va, dev_of(d)->regions.r[i].user_len);
	} else {
		struct region r = dev_of(d)->regions.r[i];
		struct span_dev sd = region_span(&r);
		_udma_region_remove(&dev_of(d)->regions, (size_t)i);
		_udma_span_unmap(d, r.start, r.end - r.start, 1, &sd);
		if (r.locked) /* what overlapping streaming mappings need stays pinned */
			_udma_span_unpin(d, r.start, r.end - r.start);
		gone_len = r.end - r.start, gone = r.start;
	}
	pthread_mutex_unlock(&d->lock);
	if (gone_len)
		_udma_mem_gone(gone, gone_len);
	return err;
}

int udma_mem_query(struct udma_domain *d, const void *va, struct udma_mem *out)
{
	if (_udma_is_shm(d) && out)
		return _udma_shm_mem_query(d, va, out);
	if (!is_device(d) || !out)
		return udma_fail(EINVAL, "NULL or non-device domain, or NULL result");
	pthread_mutex_lock(&d->lock);
	long i = _udma_region_find(&dev_of(d)->regions, (uintptr_t)va);
	if (i >= 0)
		mem_describe(d, &dev_of(d)->regions.r[i], out);
	pthread_mutex_unlock(&d->lock);
	return i < 0 ? udma_fail(ENOENT, "%p is not in %s", va, d->id) : 0;
}

uint64_t udma_va_to_iova(struct udma_domain *d, const void *va, size_t *len)
{
	if (__builtin_expect(!is_device(d), 0)) {
		if (_udma_is_shm(d)) /* offsets in the segment */
			return _udma_shm_va_to_off(d, va, len);
		errno = EINVAL;
		return UDMA_BAD_IOVA;
	}
	uint64_t r = xmap_get(&dev_of(d)->fwd, (uintptr_t)va, len);
	if (__builtin_expect(r == UINT64_MAX, 0)) {
		udma_dbg("%p is not registered in %s", va, d->id);
		if (len)
			*len = 0;
		errno = EFAULT;
		return UDMA_BAD_IOVA;
	}
	return r;
}

/* Slow path: streaming mappings in VA mode live in no table. A handle as
 * given (dma_sync_single) is found by the index; an address inside one is
 * looked for in them all. */
static void *stream_lookup(struct udma_domain *d, uint64_t iova, size_t *len)
{
	const struct stream_set *ss = &dev_of(d)->streams;
	void *va = NULL;

	pthread_mutex_lock(&d->lock);
	long i = _udma_stream_set_find(ss, iova, 0);
	for (size_t k = 0; i < 0 && k < ss->n; k++)
		if (iova >= ss->v[k].iova && iova - ss->v[k].iova < ss->v[k].len)
			i = (long)k;
	if (i >= 0) {
		const struct stream_map *s = &ss->v[i];
		va = (void *)(s->va + (iova - s->iova));
		if (len && *len > s->len - (iova - s->iova))
			*len = s->len - (iova - s->iova);
	}
	pthread_mutex_unlock(&d->lock);
	return va;
}

void *udma_iova_to_va(struct udma_domain *d, uint64_t iova, size_t *len)
{
	if (__builtin_expect(!is_device(d), 0)) {
		if (_udma_is_shm(d))
			return _udma_shm_off_to_va(d, iova, len);
		errno = EINVAL;
		return NULL;
	}
	const struct xmap *m = dev_of(d)->mode == UDMA_ADDR_VA ? &dev_of(d)->fwd : &dev_of(d)->rev;
	uint64_t r = xmap_get(m, iova, len);
	if (__builtin_expect(r != UINT64_MAX, 1))
		return (void *)(uintptr_t)r;
	void *va = dev_of(d)->mode == UDMA_ADDR_VA ? stream_lookup(d, iova, len) : NULL;
	if (va)
		return va;
	udma_warn("device address 0x%llx is not mapped in %s (%s mode)%s", (unsigned long long)iova, d->id,
		  udma_mode_name(dev_of(d)->mode), dev_of(d)->mode == UDMA_ADDR_IOMMU ? ": a VA passed where an IOVA is due?" : "");
	if (len)
		*len = 0;
	errno = EFAULT;
	return NULL;
}

long udma_hugepages_free(size_t page_size, int node)
{
	char path[160];
	long n = -1;
	FILE *f;

	if (page_size < (64u << 10) || (page_size & (page_size - 1)))
		return udma_fail(EINVAL, "page size %zu is not a hugepage size", page_size);
	if (node < 0)
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
			 page_size >> 10);
	else
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/hugepages/hugepages-%zukB/free_hugepages",
			 node, page_size >> 10);
	f = fopen(path, "r");
	if (!f)
		return udma_fail(ENOENT, "%s: %s", path, strerror(errno));
	if (fscanf(f, "%ld", &n) != 1)
		n = -EIO;
	fclose(f);
	return n;
}
