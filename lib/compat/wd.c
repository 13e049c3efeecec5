/* SPDX-License-Identifier: BSD-3-Clause */
/* Seed 001: WarpDrive queues and general memory interfaces, mapped onto udma. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <udma/memory.h>
#include <wd.h>

#include "../core/log.h"
#include "compat_internal.h"

struct wd_qinfo {
	struct udma_domain *domain;
	pthread_mutex_t lock;
	struct udma_mem *mem; /* WD memory handed out, freed at release */
	size_t nmem, capmem;
};

int _udma_compat_mode_by_name(const char *name, enum udma_addr_mode *mode)
{
	static const struct { const char *name; enum udma_addr_mode mode; } names[] = {
		{ "", UDMA_ADDR_VA }, { "va", UDMA_ADDR_VA }, { "sva", UDMA_ADDR_VA },
		{ "pa", UDMA_ADDR_PA }, { "noiommu", UDMA_ADDR_PA }, { "iommu", UDMA_ADDR_IOMMU },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name ? name : "", names[i].name)) {
			*mode = names[i].mode;
			return 0;
		}
	return -ENODEV;
}

struct udma_domain *_udma_compat_open_domain(const char *name)
{
	struct udma_device_opts o = { .size = sizeof(o), .vfio_container_fd = -1, .name = name && *name ? name : NULL };

	if (_udma_compat_mode_by_name(name, &o.mode))
		return udma_fail_null(ENODEV, "unknown device \"%s\" (use \"\", \"va\", \"pa\" or \"iommu\")", name);
	return udma_device_domain_create(&o);
}

static struct wd_qinfo *qinfo(struct wd_queue *q)
{
	return q ? q->qinfo : NULL;
}

int wd_request_queue(struct wd_queue *q)
{
	struct wd_qinfo *qi;

	if (!q)
		return udma_fail(WD_EINVAL, "NULL queue");
	if (memchr(q->dev_path, 0, sizeof(q->dev_path)) == NULL)
		return udma_fail(WD_EINVAL, "dev_path is not NUL-terminated");
	qi = calloc(1, sizeof(*qi));
	if (!qi)
		return -WD_ENOMEM;
	qi->domain = _udma_compat_open_domain(q->dev_path);
	if (!qi->domain) {
		int err = errno;
		free(qi);
		return udma_fail(err, "cannot open device \"%s\" for alg \"%s\"", q->dev_path,
				 q->capa.alg ? q->capa.alg : "");
	}
	pthread_mutex_init(&qi->lock, NULL);
	q->qinfo = qi;
	return WD_SUCCESS;
}

void wd_release_queue(struct wd_queue *q)
{
	struct wd_qinfo *qi = qinfo(q);

	if (!qi) {
		udma_dbg("queue %p was not requested", (void *)q);
		return;
	}
	int left = udma_unmap_all(qi->domain);
	if (left > 0)
		udma_dbg("undoing %d wd_iova_map mappings never unmapped", left);
	for (size_t i = 0; i < qi->nmem; i++)
		udma_mem_free(qi->domain, qi->mem[i].va, qi->mem[i].len);
	if (udma_domain_destroy(qi->domain))
		udma_err("queue released with memory still in use (pools not destroyed?); its device is leaked");
	free(qi->mem);
	pthread_mutex_destroy(&qi->lock);
	free(qi);
	q->qinfo = NULL;
}

void *wd_reserve_memory(struct wd_queue *q, size_t size)
{
	struct wd_qinfo *qi = qinfo(q);
	struct udma_mem_opts o = { .size = sizeof(o) };
	struct udma_mem m;
	int err;

	if (!qi || !size)
		return udma_fail_null(EINVAL, "queue not requested or size 0");
	/* Large reservations prefer 2 MiB pages (fewer discontinuities in PA mode). */
	if (size >= (2u << 20))
		o.flags = UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_FALLBACK;
	pthread_mutex_lock(&qi->lock);
	if (qi->nmem == qi->capmem) {
		size_t cap = qi->capmem ? 2 * qi->capmem : 4;
		struct udma_mem *n = realloc(qi->mem, cap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&qi->lock);
			return udma_fail_null(ENOMEM, "out of memory");
		}
		qi->mem = n;
		qi->capmem = cap;
	}
	err = udma_mem_alloc(qi->domain, size, &o, &m);
	if (!err)
		qi->mem[qi->nmem++] = m;
	pthread_mutex_unlock(&qi->lock);
	if (err)
		return udma_fail_null(-err, "cannot reserve %zu bytes", size);
	return m.va;
}

void *wd_iova_map(struct wd_queue *q, void *va, size_t sz)
{
	struct wd_qinfo *qi = qinfo(q);
	uint64_t iova;
	size_t have = sz ? sz : 1;

	if (!qi || !va)
		return udma_fail_null(EINVAL, "queue not requested or NULL va");
	switch (udma_domain_mode(qi->domain)) {
	case UDMA_ADDR_VA: /* SVA: the device uses the VA itself */
		return va;
	case UDMA_ADDR_IOMMU:
		if (sz) { /* release undoes what the caller leaves mapped */
			iova = udma_map(qi->domain, va, sz, UDMA_DIR_BIDI);
			return iova == UDMA_BAD_IOVA ? NULL : (void *)(uintptr_t)iova;
		}
		__attribute__((fallthrough)); /* sz 0 translates only */
	case UDMA_ADDR_PA:
		iova = udma_va_to_iova(qi->domain, va, &have);
		if (iova == UDMA_BAD_IOVA)
			return NULL;
		if (have < (sz ? sz : 1))
			return udma_fail_null(EINVAL, "[%p, +%zu) is contiguous for only %zu bytes", va, sz, have);
		return (void *)(uintptr_t)iova;
	}
	return NULL;
}

void wd_iova_unmap(struct wd_queue *q, void *va, void *iova, size_t sz)
{
	struct wd_qinfo *qi = qinfo(q);

	if (!qi) {
		udma_dbg("queue not requested");
		return;
	}
	if (udma_domain_mode(qi->domain) != UDMA_ADDR_IOMMU || !sz)
		return;
	udma_unmap(qi->domain, (uintptr_t)iova, sz);
}

struct udma_domain *wd_queue_domain(struct wd_queue *q)
{
	struct wd_qinfo *qi = qinfo(q);
	return qi ? qi->domain : NULL;
}
