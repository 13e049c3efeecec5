/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Descriptors of exported regions: a fixed little-endian layout with a
 * CRC-32C, and a string form "udma1:" + base64url (no padding) for
 * out-of-band exchange (a command line, a file, a job scheduler's
 * environment). Everything that decodes also validates: a descriptor comes
 * from another process, possibly another host, and is not trusted.
 */
#include <stdio.h>
#include <string.h>
#include <isa-l/crc.h>

#include "fabric_internal.h"

#define HDR 32 /* bytes before the address */
#define PREFIX "udma"

uint32_t _udma_fab_crc32c(const void *p, size_t n)
{
	/* the standard CRC-32C through ISA-L, as the mover's kernels use it */
	return ~crc32_iscsi((unsigned char *)p, (int)n, ~0u);
}

int udma_fabric_desc_validate(const struct udma_fabric_desc *d)
{
	if (!d)
		return udma_fail(EINVAL, "NULL descriptor");
	if (d->version != UDMA_FABRIC_DESC_VERSION)
		return udma_fail(EPROTONOSUPPORT, "descriptor version %u, this udma knows %d", d->version,
				 UDMA_FABRIC_DESC_VERSION);
	if (!d->rights || (d->rights & ~(UDMA_FABRIC_READ | UDMA_FABRIC_WRITE)))
		return udma_fail(EINVAL, "descriptor rights 0x%x", d->rights);
	if (!d->addr_len || d->addr_len > UDMA_FABRIC_ADDR_MAX)
		return udma_fail(EINVAL, "descriptor address length %u (1..%d)", d->addr_len, UDMA_FABRIC_ADDR_MAX);
	if (!d->len)
		return udma_fail(EINVAL, "descriptor of an empty region");
	if (d->base + d->len < d->base)
		return udma_fail(EOVERFLOW, "descriptor region 0x%llx + %llu wraps", (unsigned long long)d->base,
				 (unsigned long long)d->len);
	if (d->len > SIZE_MAX)
		return udma_fail(EOVERFLOW, "descriptor length %llu does not fit here", (unsigned long long)d->len);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int udma_fabric_desc_pack(const struct udma_fabric_desc *d, void *buf, size_t buflen)
{
	int err = udma_fabric_desc_validate(d);
	if (err)
		return err;
	if (!buf)
		return udma_fail(EINVAL, "NULL buffer");
	size_t n = HDR + d->addr_len + 4;
	if (buflen < n)
		return udma_fail(ENOSPC, "descriptor needs %zu bytes, buffer has %zu", n, buflen);
	uint8_t *p = buf;
	p[0] = (uint8_t)d->version;
	p[1] = (uint8_t)d->rights;
	p[2] = (uint8_t)d->addr_len;
	p[3] = 0;
	put32(p + 4, d->addr_format);
	put64(p + 8, d->base);
	put64(p + 16, d->len);
	put64(p + 24, d->key);
	memcpy(p + HDR, d->addr, d->addr_len);
	put32(p + HDR + d->addr_len, _udma_fab_crc32c(p, HDR + d->addr_len));
	return (int)n;
}

int udma_fabric_desc_unpack(const void *buf, size_t len, struct udma_fabric_desc *d)
{
	const uint8_t *p = buf;

	if (!buf || !d)
		return udma_fail(EINVAL, "NULL buffer or descriptor");
	if (len < 1)
		return udma_fail(EINVAL, "empty descriptor");
	if (p[0] != UDMA_FABRIC_DESC_VERSION)
		return udma_fail(EPROTONOSUPPORT, "descriptor version %u, this udma knows %d", p[0],
				 UDMA_FABRIC_DESC_VERSION);
	if (len < HDR + 4 || len != (size_t)HDR + p[2] + 4)
		/* p[2] is past the end of a buffer shorter than 3 bytes */
		return udma_fail(EINVAL, "descriptor of %zu bytes, its header says %u", len, len > 2 ? HDR + p[2] + 4u : 0);
	if (get32(p + HDR + p[2]) != _udma_fab_crc32c(p, HDR + p[2]))
		return udma_fail(EBADMSG, "descriptor checksum mismatch");
	if (p[3])
		return udma_fail(EINVAL, "descriptor reserved byte is %u", p[3]);
	struct udma_fabric_desc t = {
		.version = p[0],
		.rights = p[1],
		.addr_len = p[2],
		.addr_format = get32(p + 4),
		.base = get64(p + 8),
		.len = get64(p + 16),
		.key = get64(p + 24),
	};
	if (t.addr_len > UDMA_FABRIC_ADDR_MAX)
		return udma_fail(EINVAL, "descriptor address length %u (1..%d)", t.addr_len, UDMA_FABRIC_ADDR_MAX);
	memcpy(t.addr, p + HDR, t.addr_len);
	int err = udma_fabric_desc_validate(&t);
	if (!err)
		*d = t;
	return err;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int udma_fabric_desc_encode(const struct udma_fabric_desc *d, char *buf, size_t buflen)
{
	uint8_t bin[UDMA_FABRIC_DESC_BYTES_MAX];
	int n = udma_fabric_desc_pack(d, bin, sizeof(bin));

	if (n < 0)
		return n;
	if (!buf)
		return udma_fail(EINVAL, "NULL buffer");
	size_t need = sizeof(PREFIX) + 2 + ((size_t)n * 4 + 2) / 3; /* "udma1:" + chars + NUL */
	if (buflen < need)
		return udma_fail(ENOSPC, "descriptor string needs %zu bytes, buffer has %zu", need, buflen);
	char *o = buf + sprintf(buf, PREFIX "%d:", UDMA_FABRIC_DESC_VERSION);
	for (int i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)bin[i] << 16 | (i + 1 < n ? (uint32_t)bin[i + 1] << 8 : 0) |
			     (i + 2 < n ? bin[i + 2] : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		if (i + 1 < n)
			*o++ = b64[(v >> 6) & 63];
		if (i + 2 < n)
			*o++ = b64[v & 63];
	}
	*o = 0;
	return (int)(o - buf);
}

int udma_fabric_desc_decode(const char *s, struct udma_fabric_desc *d)
{
	uint8_t bin[UDMA_FABRIC_DESC_BYTES_MAX + 3];
	size_t n = 0, len;
	unsigned version = 0;

	if (!s || !d)
		return udma_fail(EINVAL, "NULL string or descriptor");
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (strncmp(s, PREFIX, 4))
		return udma_fail(EINVAL, "not a udma descriptor (no \"udma<version>:\" prefix)");
	s += 4;
	if (*s < '0' || *s > '9')
		return udma_fail(EINVAL, "not a udma descriptor (no version)");
	for (int i = 0; *s >= '0' && *s <= '9'; s++, i++)
		version = i < 6 ? version * 10 + (unsigned)(*s - '0') : 1000000;
	if (*s++ != ':')
		return udma_fail(EINVAL, "not a udma descriptor (no ':' after the version)");
	if (version != UDMA_FABRIC_DESC_VERSION)
		return udma_fail(EPROTONOSUPPORT, "descriptor string version %u, this udma knows %d", version,
				 UDMA_FABRIC_DESC_VERSION);
	for (len = 0; b64val(s[len]) >= 0; len++)
		if (len > (UDMA_FABRIC_DESC_BYTES_MAX * 4 + 2) / 3)
			return udma_fail(EINVAL, "descriptor string too long");
	for (const char *t = s + len; *t; t++)
		if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
			return udma_fail(EINVAL, "descriptor string has a bad character '%c'", *t);
	if (len % 4 == 1)
		return udma_fail(EINVAL, "descriptor string has a bad length");
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		size_t k = len - i < 4 ? len - i : 4;
		for (size_t j = 0; j < 4; j++)
			v = v << 6 | (j < k ? (uint32_t)b64val(s[i + j]) : 0);
		bin[n++] = (uint8_t)(v >> 16);
		if (k > 2)
			bin[n++] = (uint8_t)(v >> 8);
		if (k > 3)
			bin[n++] = (uint8_t)v;
		/* unused low bits of a short group must be zero: one string per descriptor */
		if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
			return udma_fail(EINVAL, "descriptor string is not canonical base64url");
	}
	return udma_fabric_desc_unpack(bin, n, d);
}
