/* SPDX-License-Identifier: BSD-3-Clause */
/* Function names and shapes. */
#include <stdio.h>
#include <string.h>
#include <udma/mover.h>

#include "../core/log.h"

static const char *const names[UDMA_FUNC_COUNT] = {
	"zero", "fill8", "fill64", "copy",
	"xor2", "xor3", "xor4", "xor5", "xor6", "xor7", "xor8", "xor9",
	"xor10", "xor11", "xor12", "xor13", "xor14", "xor15", "xor16",
	"iscsi-crc32c", "copy-crc32c", "compare",
};

const char *udma_func_name(enum udma_func f)
{
	return (unsigned)f < UDMA_FUNC_COUNT ? names[f] : NULL;
}

int udma_func_by_name(const char *name, enum udma_func *f)
{
	for (int i = 0; name && f && i < UDMA_FUNC_COUNT; i++)
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
	default:
		return udma_fail(EINVAL, "unknown function %d", (int)f);
	}
}
