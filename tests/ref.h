/* Reference implementations the tests check udma against, and the random
 * numbers they draw. */
#ifndef UDMA_TEST_REF_H
#define UDMA_TEST_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Reference CRC-32C: bitwise, reflected polynomial 0x82F63B78, with dmover's
 * seed convention (seed 0 = the standard CRC; a result passed back chains). */
static inline uint32_t ref_crc(uint32_t seed, const unsigned char *p, size_t n)
{
	uint32_t c = ~seed;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0x82F63B78u & -(c & 1));
	}
	return ~c;
}

/* Reference compare: the offset of the first differing byte, or ~0 (what
 * udma calls UDMA_CMP_EQUAL) when the n bytes are equal. */
static inline uint64_t ref_compare(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t k = 0; k < n; k++)
		if (x[k] != y[k])
			return k;
	return ~(uint64_t)0;
}

/* Marsaglia's xorshift64: the next number of the sequence in *s (never 0). */
static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* n bytes of the sequence in *s: data where a byte copied from the wrong
 * offset shows, as one repeated byte would not. */
static inline void random_bytes(void *p, size_t n, uint64_t *s)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = xorshift64(s);
		memcpy(c + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* GF(2^8) with polynomial 0x11d (ISA-L's and Linux raid6's), by shift and add. */
static inline uint8_t ref_gf_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0, x = a;
	for (; b; b >>= 1) {
		if (b & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	return (uint8_t)r;
}

static inline uint8_t ref_gf_inv(uint8_t a)
{
	for (unsigned b = 1; b < 256; b++)
		if (ref_gf_mul(a, (uint8_t)b) == 1)
			return (uint8_t)b;
	return 0;
}

/* CRC-16 T10-DIF, bit by bit: polynomial 0x8bb7, initial 0, not reflected. */
static inline uint16_t ref_crc16_t10dif(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x8bb7) : (uint16_t)(crc << 1);
	}
	return crc;
}

#endif
