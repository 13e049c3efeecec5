/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: fabric descriptors, the one thing udma parses that
 * comes from another host. Inputs are decoded as strings and unpacked as
 * bytes; whatever is accepted must be valid, round-trip exactly through
 * encode/decode and pack/unpack, and re-pack to the very bytes given.
 * Descriptors built from the input are validated against a model of the
 * rules, encoded into buffers of every size (too small: -ENOSPC, no byte
 * written past the end), and altered in one character or byte: the
 * checksum must catch it (or the bytes must be unchanged).
 */
#include <errno.h>
#include <string.h>
#include <udma/fabric.h>
#include <udma/udma.h>

#include "fuzz.h"

static int same(const struct udma_fabric_desc *a, const struct udma_fabric_desc *b)
{
	return a->version == b->version && a->rights == b->rights && a->addr_format == b->addr_format &&
	       a->addr_len == b->addr_len && a->base == b->base && a->len == b->len && a->key == b->key &&
	       a->addr_len <= UDMA_FABRIC_ADDR_MAX && !memcmp(a->addr, b->addr, a->addr_len);
}

/* A valid descriptor must survive both forms unchanged. */
static void round_trip(const struct udma_fabric_desc *d)
{
	uint8_t bin[UDMA_FABRIC_DESC_BYTES_MAX];
	char str[UDMA_FABRIC_DESC_STR_MAX + 8];
	struct udma_fabric_desc e;

	FUZZ_CHECK(udma_fabric_desc_validate(d) == 0, "accepted descriptor does not validate");
	int n = udma_fabric_desc_pack(d, bin, sizeof(bin));
	FUZZ_CHECK(n == 36 + (int)d->addr_len, "pack: %d", n);
	FUZZ_CHECK(udma_fabric_desc_unpack(bin, (size_t)n, &e) == 0 && same(d, &e), "pack/unpack round trip");
	int k = udma_fabric_desc_encode(d, str + 2, UDMA_FABRIC_DESC_STR_MAX);
	FUZZ_CHECK(k > 0 && (size_t)k == strlen(str + 2) && k < UDMA_FABRIC_DESC_STR_MAX, "encode: %d", k);
	FUZZ_CHECK(udma_fabric_desc_decode(str + 2, &e) == 0 && same(d, &e), "encode/decode round trip");
	str[0] = ' ', str[1] = '\t'; /* surrounding white space is allowed */
	strcat(str, "\n");
	FUZZ_CHECK(udma_fabric_desc_decode(str, &e) == 0 && same(d, &e), "decode with white space");
}

/* Arbitrary text: refused, or a valid descriptor that round-trips. */
static void fuzz_decode(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	struct udma_fabric_desc d;

	memcpy(s, p, n);
	s[n] = 0;
	int rc = udma_fabric_desc_decode(s, &d);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT || rc == -EBADMSG || rc == -EOVERFLOW,
		   "decode: %d", rc);
	if (!rc)
		round_trip(&d);
	free(s);
}

/* Arbitrary bytes: refused, or the canonical packing of a valid descriptor. */
static void fuzz_unpack(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1), out[UDMA_FABRIC_DESC_BYTES_MAX];
	struct udma_fabric_desc d;

	memcpy(b, p, n); /* exactly n bytes: a read past the end is caught */
	int rc = udma_fabric_desc_unpack(b, n, &d);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT || rc == -EBADMSG || rc == -EOVERFLOW,
		   "unpack: %d", rc);
	if (!rc) {
		round_trip(&d);
		FUZZ_CHECK(udma_fabric_desc_pack(&d, out, sizeof(out)) == (int)n && !memcmp(out, b, n),
			   "accepted bytes are not the canonical packing");
	}
	free(b);
}

/* The rules, as the header states them: which errors apply (a bit per error). */
static unsigned expected(const struct udma_fabric_desc *d)
{
	unsigned e = 0;
	if (d->version != UDMA_FABRIC_DESC_VERSION)
		e |= 1;
	if (!d->rights || (d->rights & ~(UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)) || !d->addr_len ||
	    d->addr_len > UDMA_FABRIC_ADDR_MAX || !d->len)
		e |= 2;
	if (d->base + d->len < d->base)
		e |= 4;
	return e;
}

static unsigned bit_of(int rc)
{
	return rc == -EPROTONOSUPPORT ? 1 : rc == -EINVAL ? 2 : rc == -EOVERFLOW ? 4 : 0x100;
}

static void fuzz_built(struct fin *in)
{
	struct udma_fabric_desc d = { 0 };
	uint8_t how = take8(in);

	d.version = how & 0x80 ? take8(in) : UDMA_FABRIC_DESC_VERSION;
	d.rights = how & 0x40 ? take8(in) : 1 + take8(in) % 3;
	d.addr_format = (uint32_t)take(in, 4);
	d.addr_len = how & 0x20 ? take8(in) : 1 + take8(in) % UDMA_FABRIC_ADDR_MAX;
	d.base = take(in, 8);
	d.len = how & 0x10 ? take(in, 8) : 1 + take(in, 3);
	d.key = take(in, 8);
	for (unsigned i = 0; i < UDMA_FABRIC_ADDR_MAX; i++)
		d.addr[i] = take8(in);
	unsigned want = expected(&d);
	int rc = udma_fabric_desc_validate(&d);
	FUZZ_CHECK(want ? (bit_of(rc) & want) != 0 : rc == 0, "validate: %d, the rules say %#x", rc, want);
	if (rc) {
		uint8_t b[UDMA_FABRIC_DESC_BYTES_MAX];
		char s[UDMA_FABRIC_DESC_STR_MAX];
		FUZZ_CHECK(udma_fabric_desc_pack(&d, b, sizeof(b)) == rc && udma_fabric_desc_encode(&d, s, sizeof(s)) == rc,
			   "an invalid descriptor was serialised");
		return;
	}
	round_trip(&d);

	/* encode into a buffer of every size up to what it needs: -ENOSPC, nothing past the end */
	char full[UDMA_FABRIC_DESC_STR_MAX];
	int need = udma_fabric_desc_encode(&d, full, sizeof(full)) + 1;
	size_t sz = take8(in) % (size_t)(need + 1);
	char *small = malloc(sz ? sz : 1);
	int rc2 = udma_fabric_desc_encode(&d, small, sz);
	FUZZ_CHECK((int)sz >= need ? rc2 == need - 1 && !strcmp(small, full) : rc2 == -ENOSPC,
		   "encode into %zu bytes (needs %d): %d", sz, need, rc2);
	free(small);
	uint8_t bin[UDMA_FABRIC_DESC_BYTES_MAX];
	int n = udma_fabric_desc_pack(&d, bin, sizeof(bin));
	sz = take8(in) % (size_t)(n + 1);
	uint8_t *sb = malloc(sz ? sz : 1);
	rc2 = udma_fabric_desc_pack(&d, sb, sz);
	FUZZ_CHECK((int)sz >= n ? rc2 == n : rc2 == -ENOSPC, "pack into %zu bytes (needs %d): %d", sz, n, rc2);
	free(sb);

	/* one byte changed: the checksum (or the layout checks) catch it */
	size_t at = take8(in) % (size_t)n;
	uint8_t flip = (uint8_t)(1 + take8(in) % 255);
	bin[at] ^= flip;
	struct udma_fabric_desc e;
	FUZZ_CHECK(udma_fabric_desc_unpack(bin, (size_t)n, &e) < 0, "byte %zu changed by %#x and accepted", at, flip);
	/* one character changed: refused, or the same bytes (unused bits of the last character) */
	size_t len = strlen(full), pos = take8(in) % len;
	char c = (char)take8(in);
	if (c && c != full[pos]) {
		full[pos] = c;
		int r = udma_fabric_desc_decode(full, &e);
		FUZZ_CHECK(r < 0 || same(&d, &e), "character %zu changed to %#x and a different descriptor accepted",
			   pos, (unsigned)(unsigned char)c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = { data, size };
	static int ready;

	if (!ready) {
		fuzz_log_everything();
		ready = 1;
	}
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_decode(data + 1, size - 1);
		break;
	case 1:
		fuzz_unpack(data + 1, size - 1);
		break;
	default:
		take8(&in);
		fuzz_built(&in);
	}
	return 0;
}
