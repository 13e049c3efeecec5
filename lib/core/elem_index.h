/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which element of an array an offset into it is, in a multiply and a
 * rotate: elem_index(off, size) is off / size when size divides off, and
 * above UINT64_MAX / size otherwise, so one compare against the element
 * count says whether off is the start of one of them (Granlund and
 * Montgomery's divisibility test: off times the inverse of size's odd part
 * modulo 2^64, rotated right by the power of two in size). Inline: with a
 * constant size the inverse folds to a constant. Tested alone by
 * tests/unit/test_elem_index.c.
 */
#ifndef UDMA_LIB_ELEM_INDEX_H
#define UDMA_LIB_ELEM_INDEX_H

#include <stdint.h>

/* The inverse of an odd x modulo 2^64 (Newton's iteration: x is its own
 * inverse to 3 bits, each step doubles them), as one expression. */
#define ELEM_INV_STEP(x, y) ((y) * (2 - (x) * (y)))
#define ELEM_INVERSE(x) ELEM_INV_STEP(x, ELEM_INV_STEP(x, ELEM_INV_STEP(x, ELEM_INV_STEP(x, ELEM_INV_STEP(x, (x))))))

static inline __attribute__((always_inline)) uint64_t elem_index(uint64_t off, uint64_t size)
{
	unsigned tz = (unsigned)__builtin_ctzll(size);
	uint64_t odd = size >> tz, x = off * ELEM_INVERSE(odd);
	return x >> tz | x << (-tz & 63);
}

#endif
