/* SPDX-License-Identifier: BSD-3-Clause */
/* Streaming mappings: a device address for one transfer (dma_map_single). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <udma/memory.h>

#include "os.h"
#include "span.h"

static struct span_dev stream_span(const struct stream_map *s)
{
	return (struct span_dev){ .iova = s->iova_base, .iova_len = s->iova_base ? s->span_len : 0,
				  .contiguous = 1, .vfio_mapped = s->vfio_mapped };
}

uint64_t udma_map(struct udma_domain *d, void *va, size_t len, enum udma_dir dir)
{
	uint64_t v = (uintptr_t)va;
	struct stream_map *s;
	struct span_dev sd;
	size_t have = len;
	uint64_t iova;
	int err, locked = 0;

	if (!d || !is_device(d) || !va || !len || v + len < v || (unsigned)dir > UDMA_DIR_FROM_DEVICE) {
		udma_dbg("bad arguments (domain %p, va %p, len %zu, dir %d)", (void *)d, va, len, (int)dir);
		errno = EINVAL;
		return UDMA_BAD_IOVA;
	}
	pthread_mutex_lock(&d->lock);
	s = d->dead ? NULL : stream_set_reserve(&dev_of(d)->streams);
	if (!s) {
		err = d->dead ? -ENODEV : -ENOMEM;
		goto fail;
	}
	*s = (struct stream_map){ .va = v, .len = len };
	/* Memory already in the domain, contiguous for len: its own address. */
	s->iova = xmap_get(&dev_of(d)->fwd, v, &have);
	if (s->iova == UINT64_MAX || have < len) {
		s->span_start = v & ~(SPAN_PAGE - 1);
		s->span_len = ((v + len + SPAN_PAGE - 1) & ~(SPAN_PAGE - 1)) - s->span_start;
		err = s->span_start + s->span_len > (1ull << XMAP_KEY_BITS) ? -EINVAL
		      : !_udma_os_range_mapped((void *)s->span_start, s->span_len) ? -EFAULT : 0;
		if (!err && dev_of(d)->mode == UDMA_ADDR_PA) {
			udma_env_clear();
			err = _udma_os_pin((void *)s->span_start, s->span_len, 0); /* _udma_span_map marks the private pages */
			if (err == -ENOMEM)
				os_explain(OS_WHY_MEMLOCK, s->span_len, 0, 0);
			locked = !err;
			if (!err)
				_udma_os_populate((void *)s->span_start, s->span_len);
		}
		if (!err)
			err = _udma_span_map(d, s->span_start, s->span_len, 0, locked, &sd);
		if (!err && !sd.contiguous) {
			_udma_span_unmap(d, s->span_start, s->span_len, 0, &sd);
			err = -ENOMEM; /* PA mode: the device needs one physical range */
		}
		if (!err && locked &&
		    (err = _udma_page_refs_add(&dev_of(d)->stream_pages, s->span_start, sd.iova, s->span_len / SPAN_PAGE)))
			_udma_span_unmap(d, s->span_start, s->span_len, 0, &sd);
		if (err) {
			if (locked) /* s is not in the set yet */
				_udma_span_unpin(d, s->span_start, s->span_len);
			goto fail;
		}
		s->locked = locked;
		s->iova_base = sd.iova_len ? sd.iova : 0;
		s->vfio_mapped = sd.vfio_mapped;
		s->iova = sd.iova + (v - s->span_start);
	}
	iova = s->iova; /* s moves once the lock is let go */
	stream_set_commit(&dev_of(d)->streams);
	pthread_mutex_unlock(&d->lock);
	return iova;
fail:
	pthread_mutex_unlock(&d->lock);
	udma_dbg("cannot map [%p, +%zu) in %s: %s", va, len, d->id, strerror(-err));
	errno = -err;
	return UDMA_BAD_IOVA;
}

/* End streaming mapping i. */
static void stream_end(struct udma_domain *d, size_t i)
{
	UDMA_ASSERT_LOCKED(&d->lock);
	struct stream_map s = dev_of(d)->streams.v[i];

	_udma_stream_set_remove(&dev_of(d)->streams, i);
	if (s.locked) /* first: what follows asks which of its pages others still cover */
		_udma_page_refs_drop(&dev_of(d)->stream_pages, s.span_start, s.span_len / SPAN_PAGE);
	if (s.span_len) {
		struct span_dev sd = stream_span(&s);
		sd.iova = s.iova - (s.va - s.span_start);
		_udma_span_unmap(d, s.span_start, s.span_len, 0, &sd);
	}
	if (s.locked)
		_udma_span_unpin(d, s.span_start, s.span_len);
}

int udma_unmap(struct udma_domain *d, uint64_t iova, size_t len)
{
	if (!d || !is_device(d))
		return udma_fail(EINVAL, "NULL or non-device domain");
	pthread_mutex_lock(&d->lock);
	long i = len ? _udma_stream_set_find(&dev_of(d)->streams, iova, len) : -1;
	if (i >= 0)
		stream_end(d, (size_t)i);
	pthread_mutex_unlock(&d->lock);
	if (i >= 0)
		return 0;
	return udma_fail(ENOENT, "no streaming mapping 0x%llx+%zu in %s", (unsigned long long)iova, len, d->id);
}

int udma_unmap_all(struct udma_domain *d)
{
	int n = 0;

	if (!d || !is_device(d))
		return udma_fail(EINVAL, "NULL or non-device domain");
	pthread_mutex_lock(&d->lock);
	while (dev_of(d)->streams.n) {
		stream_end(d, dev_of(d)->streams.n - 1);
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}
