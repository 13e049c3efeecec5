/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dma_skeleton peer of the mover workload (perf_mover.h): DPDK's
 * software dmadev, one device per client thread, driven at the same depth
 * as udma's sessions: rte_dma_copy (or fill), rte_dma_submit,
 * rte_dma_completed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perf_mover.h"

#ifdef UDMA_HAVE_DPDK
/* rte_dmadev's calls are marked experimental (DPDK 22.11) */
#define ALLOW_EXPERIMENTAL_API
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>

static int16_t devs[PERF_MAX_THREADS];
static unsigned ndevs;
static uint16_t dev_desc;
static uint64_t dev_capa;

/* Probe, configure and leave stopped one more device; NULL or why not. */
static const char *dev_add(unsigned depth, char *why, size_t len)
{
	struct rte_dma_info info;
	char name[32];

	snprintf(name, sizeof(name), "dma_skeleton%u", ndevs);
	/* rte_vdev_init() by way of the EAL's hotplug: no link to a bus driver */
	int err = rte_eal_hotplug_add("vdev", name, "");
	if (err) {
		snprintf(why, len, "vdev %s: %s (no librte_dma_skeleton in the EAL's driver path?)", name, strerror(-err));
		return why;
	}
	int id = rte_dma_get_dev_id_by_name(name);
	if (id < 0 || rte_dma_info_get((int16_t)id, &info)) {
		snprintf(why, len, "%s: no dmadev after probing it", name);
		rte_eal_hotplug_remove("vdev", name);
		return why;
	}
	uint32_t nb = info.min_desc > 32 ? info.min_desc : 32;
	while (nb < depth)
		nb *= 2;
	if (nb > info.max_desc) {
		snprintf(why, len, "depth %u above the %u descriptors of %s", depth, info.max_desc, name);
		rte_eal_hotplug_remove("vdev", name);
		return why;
	}
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = { .direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = (uint16_t)nb };
	err = rte_dma_configure((int16_t)id, &conf);
	if (!err)
		err = rte_dma_vchan_setup((int16_t)id, 0, &vc);
	if (!err)
		err = rte_dma_start((int16_t)id);
	/* started only while its client runs (mover_dmadev_client): its copy
	 * thread polls, then naps every 10 us, and would slow everything
	 * measured after it on that CPU */
	if (!err)
		err = rte_dma_stop((int16_t)id);
	if (err) {
		snprintf(why, len, "%s: configure/vchan_setup/start: %s", name, strerror(-err));
		rte_dma_close((int16_t)id);
		rte_eal_hotplug_remove("vdev", name);
		return why;
	}
	devs[ndevs++] = (int16_t)id;
	dev_desc = (uint16_t)nb;
	dev_capa = info.dev_capa;
	return NULL;
}

const char *mover_dmadev_setup(unsigned n, unsigned depth, enum udma_func f)
{
	static char why[200];

	if (!perf_dpdk_up())
		return perf_dpdk_why();
	/* one device per client thread: a vchan is driven by one thread */
	while (ndevs < n)
		if (dev_add(depth, why, sizeof(why)))
			return why;
	if (depth > dev_desc) {
		snprintf(why, sizeof(why), "depth %u above the %u descriptors set up", depth, dev_desc);
		return why;
	}
	if (f == UDMA_FUNC_COPY ? !(dev_capa & RTE_DMA_CAPA_OPS_COPY) : !(dev_capa & RTE_DMA_CAPA_OPS_FILL)) {
		snprintf(why, sizeof(why), "dma_skeleton cannot %s (no RTE_DMA_CAPA_OPS_%s)",
			 f == UDMA_FUNC_COPY ? "copy" : "fill", f == UDMA_FUNC_COPY ? "COPY" : "FILL");
		return why;
	}
	return NULL;
}

void mover_dmadev_fini(void)
{
	char name[32];

	for (unsigned i = 0; i < ndevs; i++) {
		snprintf(name, sizeof(name), "dma_skeleton%u", i);
		rte_dma_stop(devs[i]);
		/* the driver's remove closes the dmadev: closing first would make it fail */
		if (rte_eal_hotplug_remove("vdev", name))
			rte_dma_close(devs[i]);
	}
	ndevs = 0;
}

/* Enqueue an operation for every free output (while go); how many. 0 also after a failure. */
static unsigned enqueue(struct client *c, int16_t dev, uint64_t pattern, uint64_t *t_sub, int *go)
{
	const struct point *pt = c->pt;
	unsigned queued = 0;

	while (*go && c->nfree) {
		unsigned idx = c->freeidx[c->nfree - 1];
		rte_iova_t dst = (rte_iova_t)(uintptr_t)client_out(c, idx);
		client_poison(c, idx);
		t_sub[idx] = client_sample(c) ? perf_ticks() : 0;
		int rc = pt->func == UDMA_FUNC_COPY
			? rte_dma_copy(dev, 0, (rte_iova_t)(uintptr_t)c->b->in[0], dst, (uint32_t)pt->size, 0)
			: rte_dma_fill(dev, 0, pattern, dst, (uint32_t)pt->size, 0);
		if (rc == -ENOSPC)
			break;
		if (rc < 0) {
			client_fail(c, "rte_dma_%s: %s", pt->func == UDMA_FUNC_COPY ? "copy" : "fill", strerror(-rc));
			*go = 0;
			break;
		}
		c->nfree--;
		client_fifo_push(c, idx);
		c->inflight++;
		queued++;
	}
	return queued;
}

/* Take what completed; -1 if the device reported an error. */
static int dequeue(struct client *c, int16_t dev, const uint64_t *t_sub)
{
	const struct point *pt = c->pt;
	bool error = false;
	uint16_t last;
	uint16_t n = rte_dma_completed(dev, 0, (uint16_t)(pt->depth < 65535 ? pt->depth : 65535), &last, &error);
	uint64_t now = n ? perf_ticks() : 0;

	for (uint16_t i = 0; i < n; i++) {
		unsigned idx = client_fifo_pop(c);
		c->inflight--;
		client_verify(c, idx, 0, UDMA_CMP_EQUAL, "dma_skeleton");
		c->freeidx[c->nfree++] = idx;
		client_count(c, t_sub[idx], now);
	}
	if (error)
		client_fail(c, "rte_dma_completed reported an error");
	return error ? -1 : 0;
}

void *mover_dmadev_client(void *arg)
{
	struct client *c = arg;
	const struct point *pt = c->pt;
	int16_t dev = devs[c->id];
	uint64_t *t_sub = calloc(pt->depth, sizeof(*t_sub));
	uint64_t pattern = 0;

	if (!t_sub) {
		client_fail(c, "out of memory");
		return NULL;
	}
	if (pt->func == UDMA_FUNC_FILL8)
		memset(&pattern, PAT8, 8);
	else if (pt->func == UDMA_FUNC_FILL64)
		memcpy(&pattern, mover_pat64, 8);
	int err = rte_dma_start(dev);
	if (err) {
		client_fail(c, "rte_dma_start: %s", strerror(-err));
		free(t_sub);
		return NULL;
	}
	for (int go = 1; go || c->inflight;) {
		go = go && client_go(c);
		if (enqueue(c, dev, pattern, t_sub, &go))
			rte_dma_submit(dev, 0);
		/* what failed will not complete: give up on it */
		if (dequeue(c, dev, t_sub))
			break;
	}
	client_go(c);
	rte_dma_stop(dev);
	free(t_sub);
	return NULL;
}

#else

const char *mover_dmadev_setup(unsigned n, unsigned depth, enum udma_func f)
{
	return perf_dpdk_why();
}

void mover_dmadev_fini(void)
{
}

void *mover_dmadev_client(void *arg)
{
	return NULL;
}

#endif
