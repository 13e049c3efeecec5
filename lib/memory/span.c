/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include "os.h"
#include "span.h"

/* Remove reverse entries [dev, dev+len) that still point at va; another
 * mapping of the same physical page (PA mode aliases) keeps its own. */
static void rev_clear(struct udma_domain *d, uint64_t dev, uint64_t len, uint64_t va)
{
	if (dev_of(d)->mode != UDMA_ADDR_PA) {
		_udma_xmap_clear(&dev_of(d)->rev, dev, len);
		return;
	}
	for (uint64_t off = 0; off < len; off += SPAN_PAGE) {
		uint64_t left = 0;
		if (xmap_get1(&dev_of(d)->rev, dev + off, &left) == va + off)
			_udma_xmap_clear(&dev_of(d)->rev, dev + off, SPAN_PAGE);
	}
}

static int span_map_pa(struct udma_domain *d, uint64_t start, uint64_t len, int fwd, int mark_private,
		       struct span_dev *out)
{
	size_t n = len / SPAN_PAGE, i = 0, runs = 0;
	uint64_t *pa = malloc(n * sizeof(*pa));
	int err;

	if (!pa)
		return -ENOMEM;
	err = _udma_os_virt_to_phys_pages(start, n, pa, mark_private);
	if (err)
		udma_dbg("physical addresses of 0x%llx+0x%llx: %d", (unsigned long long)start,
			 (unsigned long long)len, err);
	while (!err && i < n) {
		size_t j = i + 1;
		while (j < n && pa[j] == pa[j - 1] + SPAN_PAGE)
			j++;
		for (size_t k = i; k < j && !dev_of(d)->pa_aliases; k++) {
			uint64_t left, was = xmap_get1(&dev_of(d)->rev, pa[k], &left);
			dev_of(d)->pa_aliases = was != UINT64_MAX && was != start + k * SPAN_PAGE;
		}
		err = _udma_xmap_set(&dev_of(d)->rev, pa[i], (j - i) * SPAN_PAGE, start + i * SPAN_PAGE);
		if (!err && fwd)
			err = _udma_xmap_set(&dev_of(d)->fwd, start + i * SPAN_PAGE, (j - i) * SPAN_PAGE, pa[i]);
		i = j;
		runs++;
	}
	if (err) {
		for (size_t k = 0; k < i; k++)
			rev_clear(d, pa[k], SPAN_PAGE, start + k * SPAN_PAGE);
		if (fwd)
			_udma_xmap_clear(&dev_of(d)->fwd, start, len);
	} else {
		out->iova = pa[0];
		out->contiguous = runs == 1; /* not first and last alone: pages between may be elsewhere */
	}
	free(pa);
	return err;
}

static int span_map_iommu(struct udma_domain *d, uint64_t start, uint64_t len, int fwd,
			  struct span_dev *out)
{
	/* 2 MiB-aligned IOVAs for large spans keep reverse lookups on the fast path. */
	uint64_t align = len >= XMAP_HUGE ? XMAP_HUGE : SPAN_PAGE, iova;
	int err = _udma_iova_alloc(&dev_of(d)->iova, len, align, &iova);

	if (err)
		return udma_fail(-err, "no room for 0x%llx bytes in the IOVA window of %s",
				 (unsigned long long)len, d->id);
	err = _udma_xmap_set(&dev_of(d)->rev, iova, len, start);
	if (!err && fwd)
		err = _udma_xmap_set(&dev_of(d)->fwd, start, len, iova);
	if (!err && dev_of(d)->vfio_fd >= 0) {
		err = _udma_vfio_map(dev_of(d)->vfio_fd, start, iova, len);
		out->vfio_mapped = !err;
	}
	if (err) {
		if (fwd)
			_udma_xmap_clear(&dev_of(d)->fwd, start, len);
		_udma_xmap_clear(&dev_of(d)->rev, iova, len);
		_udma_iova_free(&dev_of(d)->iova, iova, len);
		return err;
	}
	out->iova = iova;
	out->iova_len = len;
	out->contiguous = 1;
	return 0;
}

int _udma_span_map(struct udma_domain *d, uint64_t start, uint64_t len, int fwd, int mark_private,
	     struct span_dev *out)
{
	UDMA_ASSERT_LOCKED(&d->lock);
	*out = (struct span_dev){ .contiguous = 1 };
	switch (dev_of(d)->mode) {
	case UDMA_ADDR_VA: {
		int err = fwd ? _udma_xmap_set(&dev_of(d)->fwd, start, len, start) : 0;
		if (err) /* a table allocation failed half-way: take back what was set */
			_udma_xmap_clear(&dev_of(d)->fwd, start, len);
		out->iova = start;
		return err;
	}
	case UDMA_ADDR_IOMMU:
		return span_map_iommu(d, start, len, fwd, out);
	case UDMA_ADDR_PA:
		return span_map_pa(d, start, len, fwd, mark_private, out);
	}
	return -EINVAL;
}

/* Enter pa -> va for len bytes; with if_missing only the pages that have no entry. */
static void rev_enter(struct udma_domain *d, uint64_t pa, uint64_t len, uint64_t va, int if_missing)
{
	if (!if_missing) {
		_udma_xmap_set(&dev_of(d)->rev, pa, len, va);
		return;
	}
	for (uint64_t off = 0; off < len; off += SPAN_PAGE) {
		uint64_t left;
		if (xmap_get1(&dev_of(d)->rev, pa + off, &left) == UINT64_MAX)
			_udma_xmap_set(&dev_of(d)->rev, pa + off, SPAN_PAGE, va + off);
	}
}

static void rev_put(const struct page_ref *r, void *d)
{
	rev_enter(d, r->pa, SPAN_PAGE, r->va, 0);
}

static void rev_put_missing(const struct page_ref *r, void *d)
{
	rev_enter(d, r->pa, SPAN_PAGE, r->va, 1);
}

/* The reverse entries of the regions' pages within [start, end). */
static void regions_rev(struct udma_domain *d, uint64_t start, uint64_t end, int if_missing)
{
	/* only regions overlapping the span: a binary search, then a short walk */
	for (size_t i = _udma_region_first_ending_after(&dev_of(d)->regions, start);
	     i < dev_of(d)->regions.n && dev_of(d)->regions.r[i].start < end; i++) {
		const struct region *r = &dev_of(d)->regions.r[i];
		uint64_t a = r->start > start ? r->start : start, b = r->end < end ? r->end : end;
		for (uint64_t va = a; va < b;) {
			size_t run = b - va;
			uint64_t pa = xmap_get(&dev_of(d)->fwd, va, &run);
			if (pa == UINT64_MAX)
				run = SPAN_PAGE;
			else
				rev_enter(d, pa, run, va, if_missing);
			va += run;
		}
	}
}

/*
 * PA mode: several live mappings (a region and streams, or two streams) may
 * cover the same pages and so share reverse entries. After one goes, put
 * back the entries of those still covering [start, start+len). Where one
 * physical page has been entered at two virtual addresses (a memfd mapped
 * twice), the one that remains may live anywhere: then every page without
 * an entry is looked for among all mappings, a walk of everything mapped
 * that only such domains pay.
 */
static void pa_rev_repair(struct udma_domain *d, uint64_t start, uint64_t len)
{
	regions_rev(d, start, start + len, 0);
	_udma_page_refs_each(&dev_of(d)->stream_pages, start, start + len, rev_put, d);
	if (dev_of(d)->pa_aliases) {
		regions_rev(d, 0, UINT64_MAX, 1);
		_udma_page_refs_each(&dev_of(d)->stream_pages, 0, UINT64_MAX, rev_put_missing, d);
	}
}

struct cover {
	uint64_t a, b;
};

static int cover_cmp(const void *x, const void *y)
{
	const struct cover *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* Add the part of [a, b) within [start, end), if any; only counted past cap. */
static size_t cover_add(struct cover *v, size_t n, size_t cap, uint64_t a, uint64_t b, uint64_t start, uint64_t end)
{
	a = a > start ? a : start;
	b = b < end ? b : end;
	if (a >= b)
		return n;
	if (n < cap)
		v[n] = (struct cover){ a, b };
	return n + 1;
}

struct covers {
	struct cover *v;
	size_t n, cap;
	uint64_t start, end;
};

static void cover_page(const struct page_ref *r, void *c)
{
	struct covers *cv = c;
	cv->n = cover_add(cv->v, cv->n, cv->cap, r->va, r->va + SPAN_PAGE, cv->start, cv->end);
}

/* The locked live mappings' parts within [start, end): how many, the first cap in v. */
static size_t covers(struct udma_domain *d, uint64_t start, uint64_t end, struct cover *v, size_t cap)
{
	struct covers cv = { v, 0, cap, start, end };

	for (size_t i = _udma_region_first_ending_after(&dev_of(d)->regions, start);
	     i < dev_of(d)->regions.n && dev_of(d)->regions.r[i].start < end; i++)
		if (dev_of(d)->regions.r[i].locked)
			cv.n = cover_add(v, cv.n, cap, dev_of(d)->regions.r[i].start, dev_of(d)->regions.r[i].end, start, end);
	_udma_page_refs_each(&dev_of(d)->stream_pages, start, end, cover_page, &cv); /* pinned streaming mappings */
	return cv.n;
}

void _udma_span_unpin(struct udma_domain *d, uint64_t start, uint64_t len)
{
	UDMA_ASSERT_LOCKED(&d->lock);
	uint64_t end = start + len;
	struct cover stack[16], *v = stack;
	size_t n = covers(d, start, end, v, 16);

	if (n > 16) {
		if (!(v = malloc(n * sizeof(*v)))) {
			/* pages left pinned cost locked memory, never a device's data */
			udma_err("no memory to unpin [0x%llx, +0x%llx): left pinned", (unsigned long long)start,
				 (unsigned long long)len);
			return;
		}
		covers(d, start, end, v, n);
	}
	qsort(v, n, sizeof(*v), cover_cmp);
	/* Only the gaps: pins do not nest, and a page another mapping still
	 * covers keeps its pin and its fork marking as they are. */
	uint64_t at = start;
	for (size_t i = 0; i < n; i++) {
		if (v[i].a > at)
			_udma_os_unpin((void *)at, v[i].a - at);
		at = v[i].b > at ? v[i].b : at;
	}
	if (at < end)
		_udma_os_unpin((void *)at, end - at);
	if (v != stack)
		free(v);
}

void _udma_span_unmap(struct udma_domain *d, uint64_t start, uint64_t len, int fwd, const struct span_dev *sd)
{
	UDMA_ASSERT_LOCKED(&d->lock);
	switch (dev_of(d)->mode) {
	case UDMA_ADDR_VA:
		break;
	case UDMA_ADDR_IOMMU:
		if (sd->vfio_mapped)
			_udma_vfio_unmap(dev_of(d)->vfio_fd, sd->iova, sd->iova_len);
		_udma_xmap_clear(&dev_of(d)->rev, sd->iova, sd->iova_len);
		_udma_iova_free(&dev_of(d)->iova, sd->iova, sd->iova_len);
		break;
	case UDMA_ADDR_PA:
		if (!fwd) { /* streaming spans are physically contiguous */
			rev_clear(d, sd->iova, len, start);
			pa_rev_repair(d, start, len);
			break;
		}
		for (uint64_t off = 0; off < len;) {
			size_t run = len - off;
			uint64_t pa = xmap_get(&dev_of(d)->fwd, start + off, &run);
			if (pa == UINT64_MAX) {
				run = SPAN_PAGE;
			} else {
				rev_clear(d, pa, run, start + off);
			}
			off += run;
		}
		_udma_xmap_clear(&dev_of(d)->fwd, start, len);
		pa_rev_repair(d, start, len);
		return;
	}
	if (fwd)
		_udma_xmap_clear(&dev_of(d)->fwd, start, len);
}
