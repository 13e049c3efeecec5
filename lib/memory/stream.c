/* SPDX-License-Identifier: BSD-3-Clause */
/* Streaming mappings: a device address for one transfer (dma_map_single). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <udma/memory.h>

#include "os.h"
#include "span.h"

static int stream_add(struct udma_domain *d, const struct stream_map *s)
{
	if (d->dev.nstreams == d->dev.capstreams) {
		size_t cap = d->dev.capstreams ? d->dev.capstreams * 2 : 16;
		struct stream_map *n = realloc(d->dev.streams, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->dev.streams = n;
		d->dev.capstreams = cap;
	}
	d->dev.streams[d->dev.nstreams++] = *s;
	return 0;
}

static struct span_dev stream_span(const struct stream_map *s)
{
	return (struct span_dev){ .iova = s->iova_base, .iova_len = s->iova_base ? s->span_len : 0,
				  .contiguous = 1, .vfio_mapped = s->vfio_mapped };
}

uint64_t udma_map(struct udma_domain *d, void *va, size_t len, enum udma_dir dir)
{
	uint64_t v = (uintptr_t)va;
	struct stream_map s = { .va = v, .len = len };
	struct span_dev sd;
	size_t have = len;
	int err;

	if (!d || d->kind != UDMA_KIND_DEVICE || !va || !len || v + len < v || (unsigned)dir > UDMA_DIR_FROM_DEVICE) {
		udma_dbg("bad arguments (domain %p, va %p, len %zu, dir %d)", (void *)d, va, len, (int)dir);
		errno = EINVAL;
		return UDMA_BAD_IOVA;
	}
	pthread_mutex_lock(&d->lock);
	if (d->dead) {
		err = -ENODEV;
		goto fail;
	}
	/* Memory already in the domain, contiguous for len: its own address. */
	s.iova = xmap_get(&d->dev.fwd, v, &have);
	if (s.iova == UINT64_MAX || have < len) {
		s.span_start = v & ~(SPAN_PAGE - 1);
		s.span_len = ((v + len + SPAN_PAGE - 1) & ~(SPAN_PAGE - 1)) - s.span_start;
		err = s.span_start + s.span_len > (1ull << XMAP_KEY_BITS) ? -EINVAL
		      : !os_range_mapped((void *)s.span_start, s.span_len) ? -EFAULT : 0;
		if (!err && d->dev.mode == UDMA_ADDR_PA) {
			err = mlock((void *)s.span_start, s.span_len) ? -ENOMEM : 0;
			s.locked = !err;
			if (!err)
				os_populate((void *)s.span_start, s.span_len);
		}
		if (!err)
			err = span_map(d, s.span_start, s.span_len, 0, &sd);
		if (!err && !sd.contiguous) {
			span_unmap(d, s.span_start, s.span_len, 0, &sd);
			err = -ENOMEM; /* PA mode: the device needs one physical range */
		}
		if (err)
			goto fail;
		s.iova_base = sd.iova_len ? sd.iova : 0;
		s.vfio_mapped = sd.vfio_mapped;
		s.iova = sd.iova + (v - s.span_start);
	}
	err = stream_add(d, &s);
	if (err) {
		if (s.span_len) {
			struct span_dev sd2 = stream_span(&s);
			sd2.iova = s.iova - (v - s.span_start);
			span_unmap(d, s.span_start, s.span_len, 0, &sd2);
		}
		goto fail;
	}
	pthread_mutex_unlock(&d->lock);
	return s.iova;
fail:
	if (s.locked)
		munlock((void *)s.span_start, s.span_len);
	pthread_mutex_unlock(&d->lock);
	udma_dbg("cannot map [%p, +%zu) in %s: %s", va, len, d->id, strerror(-err));
	errno = -err;
	return UDMA_BAD_IOVA;
}

/* Pages of s still wanted locked by another streaming mapping or a region? */
static int still_locked(const struct udma_domain *d, const struct stream_map *s)
{
	uint64_t end = s->span_start + s->span_len;

	for (size_t i = 0; i < d->dev.nstreams; i++)
		if (d->dev.streams[i].locked && d->dev.streams[i].span_start < end &&
		    s->span_start < d->dev.streams[i].span_start + d->dev.streams[i].span_len)
			return 1;
	return region_overlaps(&d->dev.regions, s->span_start, end);
}

/* End streaming mapping i. Under d->lock. */
static void stream_end(struct udma_domain *d, size_t i)
{
	struct stream_map s = d->dev.streams[i];

	d->dev.streams[i] = d->dev.streams[--d->dev.nstreams];
	if (s.span_len) {
		struct span_dev sd = stream_span(&s);
		sd.iova = s.iova - (s.va - s.span_start);
		span_unmap(d, s.span_start, s.span_len, 0, &sd);
	}
	if (s.locked && !still_locked(d, &s))
		munlock((void *)s.span_start, s.span_len);
}

int udma_unmap(struct udma_domain *d, uint64_t iova, size_t len)
{
	if (!d || d->kind != UDMA_KIND_DEVICE)
		return udma_fail(EINVAL, "NULL or non-device domain");
	pthread_mutex_lock(&d->lock);
	for (size_t i = d->dev.nstreams; i-- > 0;)
		if (d->dev.streams[i].iova == iova && d->dev.streams[i].len == len) {
			stream_end(d, i);
			pthread_mutex_unlock(&d->lock);
			return 0;
		}
	pthread_mutex_unlock(&d->lock);
	return udma_fail(ENOENT, "no streaming mapping 0x%llx+%zu in %s", (unsigned long long)iova, len, d->id);
}

int udma_unmap_all(struct udma_domain *d)
{
	int n = 0;

	if (!d || d->kind != UDMA_KIND_DEVICE)
		return udma_fail(EINVAL, "NULL or non-device domain");
	pthread_mutex_lock(&d->lock);
	while (d->dev.nstreams) {
		stream_end(d, d->dev.nstreams - 1);
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}
