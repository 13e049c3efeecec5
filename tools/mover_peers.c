/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peers of the mover workload (perf_mover.h), on the same buffers and
 * with the same checks as udma's engines:
 *   glibc         memcpy / memset / memcmp in a loop
 *   ISA-L         xor_gen / crc32_iscsi called directly
 *   dma_skeleton  DPDK's software dmadev (mover_dmadev.c)
 * glibc and ISA-L run one call at a time (depth 1). A peer that cannot run
 * a function says why (mover_peer_missing).
 */
#include <limits.h>
#include <string.h>
#include <isa-l/crc.h>
#include <isa-l/erasure_code.h>
#include <isa-l/raid.h>

#include "perf_mover.h"

static int is_xor(enum udma_func f)
{
	return f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16;
}

static int is_fill(enum udma_func f)
{
	return f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 || f == UDMA_FUNC_FILL64;
}

const char *mover_peer_label(enum perf_peer p, enum udma_func f)
{
	switch (p) {
	case PEER_GLIBC:
		return f == UDMA_FUNC_COPY ? "memcpy" : f == UDMA_FUNC_COMPARE ? "memcmp"
			: f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 ? "memset" : "glibc";
	case PEER_ISAL:
		return is_xor(f) ? "isa-l xor_gen" : f == UDMA_FUNC_CRC32C ? "isa-l crc32_iscsi"
			: f == UDMA_FUNC_COPY_CRC32C ? "memcpy+crc32_iscsi" : f == UDMA_FUNC_PQ_GEN ? "isa-l pq_gen"
			: f == UDMA_FUNC_EC_ENCODE ? "isa-l ec_encode_data" : "isa-l";
	case PEER_DMADEV:
		return "dma_skeleton";
	case PEER_MEMPOOL:
		return "rte_mempool";
	default:
		return "?";
	}
}

const char *mover_peer_missing(enum perf_peer p, enum udma_func f, size_t size)
{
	static char why[160];

	switch (p) {
	case PEER_GLIBC:
		if (f == UDMA_FUNC_COPY || f == UDMA_FUNC_COMPARE || f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8)
			return NULL;
		snprintf(why, sizeof(why), "glibc has no %s", f == UDMA_FUNC_FILL64 ? "8-byte-pattern fill"
							 : is_xor(f) ? "XOR" : f >= UDMA_FUNC_COUNT ? udma_func_name(f) : "CRC-32C");
		return why;
	case PEER_ISAL:
		if (is_xor(f))
			return size && !(size % 32) && size <= INT_MAX ? NULL
				: "ISA-L's xor_gen takes lengths that are multiples of 32 bytes";
		if (f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C || f == UDMA_FUNC_EC_ENCODE)
			return size <= INT_MAX ? NULL : "ISA-L takes int lengths";
		if (f == UDMA_FUNC_PQ_GEN)
			return size && !(size % 32) && size <= INT_MAX ? NULL
				: "ISA-L's pq_gen takes lengths that are multiples of 32 bytes";
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

unsigned mover_peer_columns(enum udma_func f, enum perf_peer *cols)
{
	unsigned n = 0;

	if (f == UDMA_FUNC_ZERO || f == UDMA_FUNC_FILL8 || f == UDMA_FUNC_COPY || f == UDMA_FUNC_COMPARE)
		cols[n++] = PEER_GLIBC;
	if (is_xor(f) || f == UDMA_FUNC_CRC32C || f == UDMA_FUNC_COPY_CRC32C || f == UDMA_FUNC_PQ_GEN ||
	    f == UDMA_FUNC_EC_ENCODE)
		cols[n++] = PEER_ISAL;
	if (f == UDMA_FUNC_COPY || is_fill(f))
		cols[n++] = PEER_DMADEV;
	return n;
}

/* ---- glibc and ISA-L: one call per operation ----------------------------------------- */

static volatile uint64_t sink;

/* One operation into out; the CRC and the compare result where the function has them. */
static void sync_op(const struct point *pt, const struct sizebuf *b, void **xv, char *out, uint32_t *crc,
		    uint64_t *cmp)
{
	size_t n = pt->size;

	switch (pt->func) {
	case UDMA_FUNC_ZERO:
		memset(out, 0, n);
		break;
	case UDMA_FUNC_FILL8:
		memset(out, PAT8, n);
		break;
	case UDMA_FUNC_COPY:
		memcpy(out, b->in[0], n);
		break;
	case UDMA_FUNC_COMPARE:
		if (memcmp(b->in[0], b->in[1], n))
			for (*cmp = 0; b->in[0][*cmp] == b->in[1][*cmp]; (*cmp)++)
				;
		sink += *cmp;
		break;
	case UDMA_FUNC_CRC32C:
		*crc = ~crc32_iscsi((unsigned char *)b->in[0], (int)n, ~0u);
		break;
	case UDMA_FUNC_COPY_CRC32C:
		memcpy(out, b->in[0], n);
		*crc = ~crc32_iscsi((unsigned char *)b->in[0], (int)n, ~0u);
		break;
	default:
		xv[pt->nin] = out;
		xor_gen(pt->nin + 1, (int)n, xv);
	}
}

/* pq-gen and ec-encode straight on ISA-L: 8 sources, outputs as udma's client lays them out. */
static void *raid_client(struct client *c)
{
	const struct point *pt = c->pt;
	unsigned k = pt->params.k, m = pt->nouts, n = c->b->nout / m, i = 0;
	unsigned char a[(8 + 3) * 8], tbls[32 * 8 * 3];
	void *v[8 + 3];

	gf_gen_cauchy1_matrix(a, (int)(k + 3), (int)k); /* the matrix udma's ec-encode uses (UDMA_EC_CAUCHY) */
	ec_init_tables((int)k, 3, &a[k * k], tbls);
	for (unsigned j = 0; j < k; j++)
		v[j] = c->b->in[j];
	while (client_go(c)) {
		unsigned idx = i++ % n;
		for (unsigned o = 0; o < m; o++)
			v[k + o] = client_outs(c, idx, o);
		uint64_t t = client_sample(c) ? perf_ticks() : 0;
		if (pt->func == UDMA_FUNC_PQ_GEN)
			pq_gen((int)(k + 2), (int)pt->size, v);
		else
			ec_encode_data((int)pt->size, (int)k, (int)m, tbls, (unsigned char **)v, (unsigned char **)v + k);
		client_count(c, t, t ? perf_ticks() : 0);
	}
	client_go(c);
	return NULL;
}

void *mover_sync_client(void *arg)
{
	struct client *c = arg;
	const struct point *pt = c->pt;
	const char *label = mover_peer_label(pt->peer, pt->func);
	void *xv[UDMA_MAX_INPUTS + 1];
	unsigned k = 0;

	if (pt->nouts)
		return raid_client(c);
	for (int j = 0; j < pt->nin; j++)
		xv[j] = c->b->in[j];
	while (client_go(c)) {
		unsigned idx = k++ % c->b->nout;
		uint32_t crc = 0;
		uint64_t cmp = UDMA_CMP_EQUAL;

		client_poison(c, idx);
		uint64_t t = client_sample(c) ? perf_ticks() : 0;
		sync_op(pt, c->b, xv, client_out(c, idx), &crc, &cmp);
		uint64_t t1 = t ? perf_ticks() : 0;
		client_verify(c, idx, crc, cmp, label);
		client_count(c, t, t1);
	}
	client_go(c);
	return NULL;
}
