/* SPDX-License-Identifier: BSD-3-Clause */
/* Function names and shapes. */
#include <stdio.h>
#include <string.h>
#include <udma/mover.h>

#include "../core/log.h"
#include "mover_internal.h"

static const char *const names[UDMA_FUNC_END] = {
	"zero", "fill8", "fill64", "copy",
	"xor2", "xor3", "xor4", "xor5", "xor6", "xor7", "xor8", "xor9",
	"xor10", "xor11", "xor12", "xor13", "xor14", "xor15", "xor16",
	"iscsi-crc32c", "copy-crc32c", "compare",
	"dualcast", "compare-pattern", "pq-gen", "pq-validate", "raid6-recover",
	"ec-encode", "ec-update", "ec-decode",
	"dif-generate", "dif-verify", "dif-strip", "dif-insert",
};

const char *udma_func_name(enum udma_func f)
{
	return (unsigned)f < UDMA_FUNC_END ? names[f] : NULL;
}

int udma_func_by_name(const char *name, enum udma_func *f)
{
	for (int i = 0; name && f && i < UDMA_FUNC_END; i++)
		if (!strcmp(name, names[i])) {
			*f = (enum udma_func)i;
			return 0;
		}
	return udma_fail(EINVAL, "unknown function \"%s\"", name ? name : "(null)");
}

int udma_func_ninputs(enum udma_func f)
{
	if (f >= UDMA_FUNC_XOR2 && f <= UDMA_FUNC_XOR16)
		return (int)f - UDMA_FUNC_XOR2 + 2;
	switch (f) {
	case UDMA_FUNC_ZERO:
	case UDMA_FUNC_FILL8:
	case UDMA_FUNC_FILL64:
		return 0;
	case UDMA_FUNC_COPY:
	case UDMA_FUNC_CRC32C:
	case UDMA_FUNC_COPY_CRC32C:
		return 1;
	case UDMA_FUNC_COMPARE:
		return 2;
	case UDMA_FUNC_DIF_GENERATE:
		return 0;
	case UDMA_FUNC_DUALCAST:
	case UDMA_FUNC_COMPARE_PATTERN:
	case UDMA_FUNC_DIF_VERIFY:
	case UDMA_FUNC_DIF_STRIP:
	case UDMA_FUNC_DIF_INSERT:
		return 1;
	case UDMA_FUNC_EC_UPDATE:
		return 2;
	case UDMA_FUNC_PQ_GEN:
	case UDMA_FUNC_PQ_VALIDATE:
	case UDMA_FUNC_RAID6_RECOVER:
	case UDMA_FUNC_EC_ENCODE:
	case UDMA_FUNC_EC_DECODE:
		return UDMA_MAX_SOURCES;
	default:
		return udma_fail(EINVAL, "unknown function %d", (int)f);
	}
}

/* ---- the later functions' parameters ------------------------------------------ */

#define MAX_K 32u
#define MAX_M 8u

/* Lost block numbers: count n, ascending, below limit; their input mask. */
static int lost_ok(const struct udma_params *p, unsigned n, unsigned limit, uint64_t *mask)
{
	*mask = 0;
	for (unsigned i = 0; i < n; i++) {
		if (p->lost[i] >= limit || (i && p->lost[i] <= p->lost[i - 1]))
			return udma_fail(EINVAL, "lost blocks must ascend below %u (lost[%u] = %u)", limit, i, p->lost[i]);
		*mask |= 1ull << p->lost[i];
	}
	return 0;
}

static int ec_ok(const struct udma_params *p)
{
	if (p->k < 1 || p->k > MAX_K || p->m < 1 || p->m > MAX_M)
		return udma_fail(EINVAL, "ec: k %u (1..%u) or m %u (1..%u) out of range", p->k, MAX_K, p->m, MAX_M);
	if (p->matrix > UDMA_EC_VANDERMONDE)
		return udma_fail(EINVAL, "ec: unknown matrix %u", p->matrix);
	return 0;
}

static int shape_raid(enum udma_func f, const struct udma_params *p, struct func_shape *sh)
{
	if (p->k < 2 || p->k > MAX_K)
		return udma_fail(EINVAL, "%s: k %u out of 2..%u", names[f], p->k, MAX_K);
	sh->nins = f == UDMA_FUNC_PQ_GEN ? p->k : p->k + 2;
	sh->nouts = f == UDMA_FUNC_PQ_VALIDATE ? 0 : 2;
	if (f != UDMA_FUNC_RAID6_RECOVER)
		return 0;
	if (p->nlost != 2)
		return udma_fail(EINVAL, "raid6-recover: %u lost blocks, not 2", p->nlost);
	/* two data blocks, or a data block and P (= k) */
	return lost_ok(p, 2, p->k + 1, &sh->lost);
}

static int shape_ec(enum udma_func f, const struct udma_params *p, struct func_shape *sh)
{
	int err = ec_ok(p);
	if (err)
		return err;
	sh->nouts = p->m;
	if (f == UDMA_FUNC_EC_ENCODE) {
		sh->nins = p->k;
		return 0;
	}
	if (f == UDMA_FUNC_EC_UPDATE) {
		if (p->update_index >= p->k)
			return udma_fail(EINVAL, "ec-update: source %u of %u", p->update_index, p->k);
		sh->nins = 2;
		return 0;
	}
	if (p->nlost < 1 || p->nlost > p->m)
		return udma_fail(EINVAL, "ec-decode: %u lost blocks, %u parity blocks", p->nlost, p->m);
	sh->nins = p->k + p->m;
	sh->nouts = p->nlost;
	return lost_ok(p, p->nlost, p->k + p->m, &sh->lost);
}

static int shape_dif(enum udma_func f, const struct udma_params *p, struct func_shape *sh)
{
	if (p->dif_block != 512 && p->dif_block != 4096)
		return udma_fail(EINVAL, "%s: block of %u data bytes (512 or 4096)", names[f], p->dif_block);
	if (p->dif_check & ~(UDMA_DIF_GUARD | UDMA_DIF_APP | UDMA_DIF_REF))
		return udma_fail(EINVAL, "%s: unknown checks 0x%x", names[f], p->dif_check);
	sh->nins = f == UDMA_FUNC_DIF_GENERATE ? 0 : 1;
	sh->nouts = f == UDMA_FUNC_DIF_VERIFY ? 0 : 1;
	sh->single_out = 1;
	return 0;
}

int _udma_func_shape(enum udma_func f, const struct udma_params *up, struct func_shape *sh)
{
	struct udma_params p = { 0 };

	*sh = (struct func_shape){ 0 };
	if (up) {
		if (up->size < sizeof(p))
			return udma_fail(EINVAL, "params->size %zu, %zu expected", up->size, sizeof(p));
		p = *up;
	}
	switch (f) {
	case UDMA_FUNC_DUALCAST:
		sh->nins = 1;
		sh->nouts = 2;
		return 0;
	case UDMA_FUNC_COMPARE_PATTERN:
		sh->nins = 1;
		return 0;
	case UDMA_FUNC_PQ_GEN:
	case UDMA_FUNC_PQ_VALIDATE:
	case UDMA_FUNC_RAID6_RECOVER:
		return up ? shape_raid(f, &p, sh) : udma_fail(EINVAL, "%s needs params", names[f]);
	case UDMA_FUNC_EC_ENCODE:
	case UDMA_FUNC_EC_UPDATE:
	case UDMA_FUNC_EC_DECODE:
		return up ? shape_ec(f, &p, sh) : udma_fail(EINVAL, "%s needs params", names[f]);
	case UDMA_FUNC_DIF_GENERATE:
	case UDMA_FUNC_DIF_VERIFY:
	case UDMA_FUNC_DIF_STRIP:
	case UDMA_FUNC_DIF_INSERT:
		return up ? shape_dif(f, &p, sh) : udma_fail(EINVAL, "%s needs params", names[f]);
	default:
		return udma_fail(EINVAL, "function %d is not one of the later ones", (int)f);
	}
}
