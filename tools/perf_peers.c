/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peers of the mover workload, on the same buffers and with the same
 * checks as udma's engines:
 *   glibc         memcpy / memset / memcmp in a loop
 *   ISA-L         xor_gen / crc32_iscsi called directly
 *   dma_skeleton  DPDK's software dmadev: rte_dma_copy (or fill) at the
 *                 same queue depth, rte_dma_submit, rte_dma_completed
 * A peer that cannot run a function says why (perf_peer_missing).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/crc.h>
#include <isa-l/raid.h>

#include "perf_mover.h"

#ifdef UDMA_HAVE_DPDK
/* dmadev is still experimental in DPDK 22.11 */
#define ALLOW_EXPERIMENTAL_API
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#endif

static int is_xor(enum udma_func f)
{
	return f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16;
}

static int is_fill(enum udma_func f)
{
	return f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 || f == UDMA_FUNC_FILL64;
}

const char *perf_peer_label(enum perf_peer p, enum udma_func f)
{
	switch (p) {
	case PEER_GLIBC:
		return f == UDMA_FUNC_COPY ? "memcpy" : f == UDMA_FUNC_COMPARE ? "memcmp"
			: f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 ? "memset" : "glibc";
	case PEER_ISAL:
		return is_xor(f) ? "isa-l xor_gen" : f == UDMA_FUNC_CRC32C ? "isa-l crc32_iscsi"
			: f == UDMA_FUNC_COPY_CRC32C ? "memcpy+crc32_iscsi" : "isa-l";
	case PEER_DMADEV:
		return "dma_skeleton";
	case PEER_MEMPOOL:
		return "rte_mempool";
	default:
		return "?";
	}
}

const char *perf_peer_missing(enum perf_peer p, enum udma_func f, size_t size)
{
	static char why[160];

	switch (p) {
	case PEER_GLIBC:
		if (f == UDMA_FUNC_COPY || f == UDMA_FUNC_COMPARE || f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8)
			return NULL;
		snprintf(why, sizeof(why), "glibc has no %s", f == UDMA_FUNC_FILL64 ? "8-byte-pattern fill"
							 : is_xor(f) ? "XOR" : "CRC-32C");
		return why;
	case PEER_ISAL:
		if (is_xor(f))
			return size && !(size % 32) && size <= INT_MAX ? NULL
				: "ISA-L's xor_gen takes lengths that are multiples of 32 bytes";
		if (f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C)
			return size <= INT_MAX ? NULL : "ISA-L takes int lengths";
		snprintf(why, sizeof(why), "ISA-L has no %s function", udma_func_name(f));
		return why;
	case PEER_DMADEV:
		if (f != UDMA_FUNC_COPY && !is_fill(f)) {
			snprintf(why, sizeof(why), "dmadev has no %s operation", udma_func_name(f));
			return why;
		}
		if (size > UINT32_MAX)
			return "dmadev lengths are 32-bit";
		return perf_dpdk_up() ? NULL : perf_dpdk_why();
	default:
		return "not a peer of movers";
	}
}

/* CRC-32C a byte at a time: the reference owes nothing to ISA-L. */
uint32_t perf_crc32c_ref(const void *buf, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = buf;
	uint32_t crc = ~0u;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- glibc and ISA-L: one call per operation ----------------------------------------- */

static volatile uint64_t sink;

void *peer_sync_client(void *arg)
{
	struct client *c = arg;
	const struct point *pt = c->pt;
	const char *label = perf_peer_label(pt->peer, pt->func);
	void *xv[UDMA_MAX_INPUTS + 1];
	unsigned k = 0;
	size_t n = pt->size;

	for (int j = 0; j < pt->nin; j++)
		xv[j] = c->b->in[j];
	while (client_go(c)) {
		unsigned idx = k++ % c->b->nout;
		char *out = client_out(c, idx);
		uint32_t crc = 0;
		uint64_t cmp = UDMA_CMP_EQUAL;

		client_poison(c, idx);
		uint64_t t = client_sample(c) ? perf_ticks() : 0;
		switch (pt->func) {
		case UDMA_FUNC_ZERO:
			memset(out, 0, n);
			break;
		case UDMA_FUNC_FILL8:
			memset(out, PAT8, n);
			break;
		case UDMA_FUNC_COPY:
			memcpy(out, c->b->in[0], n);
			break;
		case UDMA_FUNC_COMPARE:
			if (memcmp(c->b->in[0], c->b->in[1], n))
				for (cmp = 0; c->b->in[0][cmp] == c->b->in[1][cmp]; cmp++)
					;
			sink += cmp;
			break;
		case UDMA_FUNC_CRC32C:
			crc = ~crc32_iscsi((unsigned char *)c->b->in[0], (int)n, ~0u);
			break;
		case UDMA_FUNC_COPY_CRC32C:
			memcpy(out, c->b->in[0], n);
			crc = ~crc32_iscsi((unsigned char *)c->b->in[0], (int)n, ~0u);
			break;
		default:
			xv[pt->nin] = out;
			xor_gen(pt->nin + 1, (int)n, xv);
		}
		uint64_t t1 = t ? perf_ticks() : 0;
		client_verify(c, idx, crc, cmp, label);
		client_count(c, t, t1);
	}
	client_go(c);
	return NULL;
}

/* ---- DPDK dma_skeleton ------------------------------------------------------------------- */

#ifdef UDMA_HAVE_DPDK
static int16_t devs[PERF_MAX_THREADS];
static unsigned ndevs;
static uint16_t dev_desc;
static uint64_t dev_capa;

const char *peer_dmadev_setup(unsigned n, unsigned depth, enum udma_func f)
{
	static char why[200];
	char name[32];

	if (!perf_dpdk_up())
		return perf_dpdk_why();
	/* one device per client thread: a vchan is driven by one thread */
	while (ndevs < n) {
		struct rte_dma_info info;
		snprintf(name, sizeof(name), "dma_skeleton%u", ndevs);
		/* rte_vdev_init() by way of the EAL's hotplug: no link to a bus driver */
		int err = rte_eal_hotplug_add("vdev", name, "");
		if (err) {
			snprintf(why, sizeof(why), "vdev %s: %s (no librte_dma_skeleton in the EAL's driver path?)", name,
				 strerror(-err));
			return why;
		}
		int id = rte_dma_get_dev_id_by_name(name);
		if (id < 0 || rte_dma_info_get((int16_t)id, &info)) {
			snprintf(why, sizeof(why), "%s: no dmadev after probing it", name);
			rte_eal_hotplug_remove("vdev", name);
			return why;
		}
		uint32_t nb = info.min_desc > 32 ? info.min_desc : 32;
		while (nb < depth)
			nb *= 2;
		if (nb > info.max_desc) {
			snprintf(why, sizeof(why), "depth %u above the %u descriptors of %s", depth, info.max_desc, name);
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
		/* started only while its client runs (peer_dmadev_client): its copy
		 * thread polls, then naps every 10 us, and would slow everything
		 * measured after it on that CPU */
		if (!err)
			err = rte_dma_stop((int16_t)id);
		if (err) {
			snprintf(why, sizeof(why), "%s: configure/vchan_setup/start: %s", name, strerror(-err));
			rte_dma_close((int16_t)id);
			rte_eal_hotplug_remove("vdev", name);
			return why;
		}
		devs[ndevs++] = (int16_t)id;
		dev_desc = (uint16_t)nb;
		dev_capa = info.dev_capa;
	}
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

void peer_dmadev_fini(void)
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

void *peer_dmadev_client(void *arg)
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
		memcpy(&pattern, perf_pat64, 8);
	int err = rte_dma_start(dev);
	if (err) {
		client_fail(c, "rte_dma_start: %s", strerror(-err));
		free(t_sub);
		return NULL;
	}
	for (int go = 1; go || c->inflight;) {
		go = go && client_go(c);
		unsigned queued = 0;
		while (go && c->nfree) {
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
				go = 0;
				break;
			}
			c->nfree--;
			client_fifo_push(c, idx);
			c->inflight++;
			queued++;
		}
		if (queued)
			rte_dma_submit(dev, 0);
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
		if (error) {
			client_fail(c, "rte_dma_completed reported an error");
			/* what failed will not complete: give up on it */
			break;
		}
	}
	client_go(c);
	rte_dma_stop(dev);
	free(t_sub);
	return NULL;
}

#else

const char *peer_dmadev_setup(unsigned n, unsigned depth, enum udma_func f)
{
	return perf_dpdk_why();
}

void peer_dmadev_fini(void)
{
}

void *peer_dmadev_client(void *arg)
{
	return NULL;
}

#endif
