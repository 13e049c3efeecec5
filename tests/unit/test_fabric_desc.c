/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fabric descriptors without a network: the string and byte forms round
 * trip, and every malformed, truncated, forged-checksum, wrapping or
 * unknown-version input is refused with its own error and one log line.
 * Forged inputs with a valid checksum are built here from the documented
 * layout, with the test's own CRC-32C.
 */
#include <stdlib.h>
#include "common.h"

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static struct udma_fabric_desc sample(void)
{
	struct udma_fabric_desc d = {
		.version = UDMA_FABRIC_DESC_VERSION,
		.rights = UDMA_FABRIC_READ | UDMA_FABRIC_WRITE,
		.addr_format = 2,
		.addr_len = 16,
		.base = 0x7f0012345000ull,
		.len = 1 << 20,
		.key = 0x0123456789abcdefull,
	};
	for (int i = 0; i < 16; i++)
		d.addr[i] = (uint8_t)(i * 17 + 1);
	return d;
}

/* Little-endian bytes as the header documents, with a correct CRC. */
static size_t forge(uint8_t *b, uint8_t version, uint8_t rights, uint8_t alen, uint8_t rsv, uint64_t base,
		    uint64_t len, uint64_t key)
{
	memset(b, 0, 32);
	b[0] = version, b[1] = rights, b[2] = alen, b[3] = rsv;
	b[4] = 2;
	for (int i = 0; i < 8; i++) {
		b[8 + i] = (uint8_t)(base >> (8 * i));
		b[16 + i] = (uint8_t)(len >> (8 * i));
		b[24 + i] = (uint8_t)(key >> (8 * i));
	}
	for (int i = 0; i < alen; i++)
		b[32 + i] = (uint8_t)i;
	uint32_t c = crc32c(b, 32u + alen);
	for (int i = 0; i < 4; i++)
		b[32 + alen + i] = (uint8_t)(c >> (8 * i));
	return 36u + alen;
}

/* base64url of bytes, for forged strings */
static void b64(const uint8_t *b, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	out += sprintf(out, "udma1:");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
		*out++ = t[v >> 18];
		*out++ = t[(v >> 12) & 63];
		if (i + 1 < n)
			*out++ = t[(v >> 6) & 63];
		if (i + 2 < n)
			*out++ = t[v & 63];
	}
	*out = 0;
}

static void test_round_trip(void **state)
{
	struct udma_fabric_desc d = sample(), e;
	char s[UDMA_FABRIC_DESC_STR_MAX];
	uint8_t bin[UDMA_FABRIC_DESC_BYTES_MAX];

	int n = udma_fabric_desc_encode(&d, s, sizeof(s));
	assert_int_equal(n, (int)strlen(s));
	assert_int_equal(strncmp(s, "udma1:", 6), 0);
	assert_true(n < 80); /* short enough for a command line */
	for (int i = 6; i < n; i++) /* base64url only: safe in shells, URLs and file names */
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[i]));
	memset(&e, 0xaa, sizeof(e));
	assert_int_equal(udma_fabric_desc_decode(s, &e), 0);
	assert_memory_equal(&d, &e, offsetof(struct udma_fabric_desc, addr) + d.addr_len);

	/* white space around it is fine (a line read from a file) */
	char padded[UDMA_FABRIC_DESC_STR_MAX + 8];
	snprintf(padded, sizeof(padded), "  %s\n", s);
	assert_int_equal(udma_fabric_desc_decode(padded, &e), 0);

	/* bytes */
	int b = udma_fabric_desc_pack(&d, bin, sizeof(bin));
	assert_int_equal(b, 36 + 16);
	memset(&e, 0, sizeof(e));
	assert_int_equal(udma_fabric_desc_unpack(bin, (size_t)b, &e), 0);
	assert_memory_equal(&d, &e, offsetof(struct udma_fabric_desc, addr) + d.addr_len);

	/* the longest address still fits the documented maxima */
	d.addr_len = UDMA_FABRIC_ADDR_MAX;
	n = udma_fabric_desc_encode(&d, s, sizeof(s));
	assert_true(n > 0 && n < UDMA_FABRIC_DESC_STR_MAX);
	assert_int_equal(udma_fabric_desc_pack(&d, bin, sizeof(bin)), UDMA_FABRIC_DESC_BYTES_MAX);
	assert_int_equal(udma_fabric_desc_decode(s, &e), 0);
	assert_int_equal(e.addr_len, UDMA_FABRIC_ADDR_MAX);

	/* both rights alone, and a region ending at the top of the address space */
	d = sample();
	d.rights = UDMA_FABRIC_READ;
	d.base = ~0ull - d.len + 1 - 1;
	assert_true(udma_fabric_desc_encode(&d, s, sizeof(s)) > 0);
	assert_int_equal(udma_fabric_desc_decode(s, &e), 0);
	assert_int_equal(e.rights, UDMA_FABRIC_READ);
}

static void test_validate(void **state)
{
	struct udma_fabric_desc d;

	log_capture_start();
	assert_int_equal(udma_fabric_desc_validate(NULL), -EINVAL);
	d = sample(), d.version = 2;
	assert_int_equal(udma_fabric_desc_validate(&d), -EPROTONOSUPPORT);
	assert_logged("version");
	d = sample(), d.rights = 0;
	assert_int_equal(udma_fabric_desc_validate(&d), -EINVAL);
	d = sample(), d.rights = 4;
	assert_int_equal(udma_fabric_desc_validate(&d), -EINVAL);
	assert_logged("rights");
	d = sample(), d.addr_len = 0;
	assert_int_equal(udma_fabric_desc_validate(&d), -EINVAL);
	d = sample(), d.addr_len = UDMA_FABRIC_ADDR_MAX + 1;
	assert_int_equal(udma_fabric_desc_validate(&d), -EINVAL);
	assert_logged("address length");
	d = sample(), d.len = 0;
	assert_int_equal(udma_fabric_desc_validate(&d), -EINVAL);
	d = sample(), d.base = ~0ull - 10, d.len = 11;
	assert_int_equal(udma_fabric_desc_validate(&d), -EOVERFLOW);
	assert_logged("wraps");
	d = sample(), d.base = 0, d.len = ~0ull;
	assert_int_equal(udma_fabric_desc_validate(&d), 0);
	/* an invalid descriptor is neither encoded nor packed */
	char s[UDMA_FABRIC_DESC_STR_MAX];
	d = sample(), d.len = 0;
	assert_int_equal(udma_fabric_desc_encode(&d, s, sizeof(s)), -EINVAL);
	assert_int_equal(udma_fabric_desc_pack(&d, s, sizeof(s)), -EINVAL);
	log_capture_stop();
}

static void test_bad_strings(void **state)
{
	struct udma_fabric_desc d = sample(), e;
	char s[UDMA_FABRIC_DESC_STR_MAX], t[UDMA_FABRIC_DESC_STR_MAX + 16];

	int n = udma_fabric_desc_encode(&d, s, sizeof(s));
	assert_true(n > 0);
	log_capture_start();
	assert_int_equal(udma_fabric_desc_decode(NULL, &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode(s, NULL), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode("", &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode("hello", &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode("udma:", &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode("udma1", &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_decode("udma1:", &e), -EINVAL);
	assert_logged("not a udma descriptor");
	/* another version, in the prefix */
	snprintf(t, sizeof(t), "udma2:%s", s + 6);
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EPROTONOSUPPORT);
	snprintf(t, sizeof(t), "udma99999999999:%s", s + 6);
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EPROTONOSUPPORT);
	/* a character outside base64url, padding, garbage after it */
	snprintf(t, sizeof(t), "%s", s);
	t[10] = '+';
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EINVAL);
	snprintf(t, sizeof(t), "%s==", s);
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EINVAL);
	snprintf(t, sizeof(t), "%s x", s);
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EINVAL);
	/* truncated: every shorter prefix fails, none crashes */
	for (int k = 6; k < n; k++) {
		snprintf(t, sizeof(t), "%.*s", k, s);
		int rc = udma_fabric_desc_decode(t, &e);
		assert_true(rc == -EINVAL || rc == -EBADMSG);
	}
	/* one more character: the length no longer matches the header */
	snprintf(t, sizeof(t), "%sA", s);
	assert_true(udma_fabric_desc_decode(t, &e) < 0);
	/* a flipped character: the checksum catches it */
	int bad = 0;
	for (int k = 6; k < n; k++) {
		snprintf(t, sizeof(t), "%s", s);
		t[k] = t[k] == 'A' ? 'B' : 'A';
		int rc = udma_fabric_desc_decode(t, &e);
		assert_true(rc < 0);
		bad += rc == -EBADMSG;
	}
	assert_true(bad > n / 2);
	assert_logged("checksum");
	/* far too long */
	memset(t, 'A', sizeof(t) - 1);
	memcpy(t, "udma1:", 6);
	t[sizeof(t) - 1] = 0;
	assert_int_equal(udma_fabric_desc_decode(t, &e), -EINVAL);
	/* buffer too small to encode */
	assert_int_equal(udma_fabric_desc_encode(&d, s, 20), -ENOSPC);
	assert_int_equal(udma_fabric_desc_encode(&d, NULL, 200), -EINVAL);
	log_capture_stop();
}

/* One string per descriptor: the last group's unused low bits set decode to
 * the same bytes, and are refused (a canonical string can be compared). */
static void test_not_canonical(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct udma_fabric_desc d = sample(), e;
	char s[UDMA_FABRIC_DESC_STR_MAX];
	int n = udma_fabric_desc_encode(&d, s, sizeof(s));

	assert_true(n > 6);
	assert_int_not_equal((n - 6) % 4, 0); /* a short last group: it has unused bits */
	assert_int_equal(udma_fabric_desc_decode(s, &e), 0);
	s[n - 1] = alphabet[(strchr(alphabet, s[n - 1]) - alphabet) | 1];
	log_capture_start();
	assert_int_equal(udma_fabric_desc_decode(s, &e), -EINVAL);
	assert_logged("not canonical");
	log_capture_stop();
}

static void test_forged_bytes(void **state)
{
	uint8_t b[UDMA_FABRIC_DESC_BYTES_MAX + 8];
	char s[UDMA_FABRIC_DESC_STR_MAX + 16];
	struct udma_fabric_desc e;
	size_t n;

	log_capture_start();
	/* correct checksums, bad contents: each is still refused */
	n = forge(b, 1, 3, 16, 0, ~0ull - 100, 200, 1); /* wraps */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EOVERFLOW);
	b64(b, n, s);
	assert_int_equal(udma_fabric_desc_decode(s, &e), -EOVERFLOW);
	n = forge(b, 1, 0, 16, 0, 0, 100, 1); /* no rights */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 1, 7, 16, 0, 0, 100, 1); /* unknown right */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 1, 1, 0, 0, 0, 100, 1); /* no address */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 1, 1, UDMA_FABRIC_ADDR_MAX + 1, 0, 0, 100, 1); /* address too long */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 1, 1, 16, 0, 0, 0, 1); /* empty region */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 1, 1, 16, 9, 0, 100, 1); /* reserved byte set */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EINVAL);
	n = forge(b, 2, 1, 16, 0, 0, 100, 1); /* a future version */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EPROTONOSUPPORT);
	n = forge(b, 1, 1, 16, 0, 0, 100, 1); /* fine ... */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), 0);
	assert_int_equal(udma_fabric_desc_unpack(b, n - 1, &e), -EINVAL); /* ... but short */
	assert_int_equal(udma_fabric_desc_unpack(b, n + 1, &e), -EINVAL); /* ... or long */
	assert_int_equal(udma_fabric_desc_unpack(b, 0, &e), -EINVAL);
	assert_int_equal(udma_fabric_desc_unpack(NULL, n, &e), -EINVAL);
	b[20] ^= 1; /* the length changed in transit */
	assert_int_equal(udma_fabric_desc_unpack(b, n, &e), -EBADMSG);
	/* pack into too small a buffer */
	struct udma_fabric_desc d = sample();
	assert_int_equal(udma_fabric_desc_pack(&d, b, 40), -ENOSPC);
	assert_logged("needs");
	log_capture_stop();
}

/* Random bytes never crash the decoder, and what it accepts is valid. */
static void test_fuzz(void **state)
{
	uint8_t b[128];
	char s[UDMA_FABRIC_DESC_STR_MAX + 16];
	struct udma_fabric_desc e;
	unsigned seed = 12345;

	for (int it = 0; it < 20000; it++) {
		size_t n = (size_t)(rand_r(&seed) % (UDMA_FABRIC_DESC_BYTES_MAX + 2));
		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)rand_r(&seed);
		if (it & 1) /* half with a plausible header */
			n = forge(b, 1, (uint8_t)(rand_r(&seed) & 3), (uint8_t)(rand_r(&seed) % 60), 0,
				  (uint64_t)rand_r(&seed) << 40, (uint64_t)rand_r(&seed), 7) - (size_t)(it & 2);
		if (udma_fabric_desc_unpack(b, n, &e) == 0)
			assert_int_equal(udma_fabric_desc_validate(&e), 0);
		b64(b, n, s);
		if (udma_fabric_desc_decode(s, &e) == 0)
			assert_int_equal(udma_fabric_desc_validate(&e), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_not_canonical),
		cmocka_unit_test(test_forged_bytes),
		cmocka_unit_test(test_fuzz),
	};
	return tests_run(tests, NULL, NULL);
}
