/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bounce, for requests that break O_DIRECT's rules when the caller
 * asked for it: each file range moves a chunk at a time through an aligned
 * buffer that covers the whole blocks around the chunk. A read reads those
 * blocks and copies out the part asked for; a write reads the partial
 * blocks at either end, copies the caller's bytes over them and writes
 * whole blocks, then gives a file back the size the write alone gives it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_internal.h"

/* Request bytes per chunk (a multiple of every alignment). */
#define BOUNCE_MAX (1u << 20)

struct bounce {
	struct storage_domain *sd;
	char *buf;
	int write;
	uint32_t flags;
	uint64_t size; /* a file's size as the bounce last left it; unused for block devices */
	/* the caller's memory, and where in it the next chunk starts */
	const struct iovec *mem;
	size_t mcnt, mi, moff;
};

/* n bytes between the caller's memory (from the cursor on) and buf. */
static void copy_mem(struct bounce *b, char *buf, size_t n)
{
	while (n) {
		const struct iovec *v = &b->mem[b->mi];
		size_t k = v->iov_len - b->moff < n ? v->iov_len - b->moff : n;
		char *p = (char *)v->iov_base + b->moff;
		if (b->write)
			memcpy(buf, p, k);
		else
			memcpy(p, buf, k);
		buf += k, n -= k, b->moff += k;
		if (b->moff == v->iov_len)
			b->mi++, b->moff = 0;
	}
}

static int rw_blocks(struct bounce *b, char *buf, uint64_t off, size_t len, int write)
{
	struct iovec m = { buf, len }, f = { (void *)(uintptr_t)off, len };
	return _udma_storage_rw(b->sd, &m, 1, &f, 1, write, write ? b->flags : STORAGE_TO_EOF);
}

/* The request's bytes [off, off + n), all in one file range. */
static int chunk(struct bounce *b, uint64_t off, size_t n)
{
	struct storage_domain *sd = b->sd;
	uint64_t a = sd->offset_align, lo = off / a * a, hi = (off + n + a - 1) / a * a;
	size_t span = (size_t)(hi - lo);
	int head = off != lo, tail = (off + n) % a && !(head && hi - a == lo), err;

	if (!b->write) {
		if (!sd->blockdev && off + n > b->size)
			return udma_fail(ENODATA, "%s: read of [%llu, +%zu) goes past the end of the file (%llu bytes)",
					 sd->d.id, (unsigned long long)off, n, (unsigned long long)b->size);
		if (!(err = rw_blocks(b, b->buf, lo, span, 0)))
			copy_mem(b, b->buf + (off - lo), n);
		return err;
	}
	if (head && (err = rw_blocks(b, b->buf, lo, (size_t)a, 0)))
		return err;
	if (tail && (err = rw_blocks(b, b->buf + span - a, hi - a, (size_t)a, 0)))
		return err;
	copy_mem(b, b->buf + (off - lo), n);
	if ((err = rw_blocks(b, b->buf, lo, span, 1)) || sd->blockdev)
		return err;
	uint64_t grown = hi > b->size ? hi : b->size, want = off + n > b->size ? off + n : b->size;
	if (grown > want && ftruncate(sd->fd, (off_t)want)) /* the padding is not the caller's */
		return udma_fail(errno, "%s: ftruncate(%llu) after a bounced write: %s", sd->d.id,
				 (unsigned long long)want, strerror(errno));
	b->size = grown > want ? want : grown;
	return 0;
}

static size_t total(const struct iovec *v, size_t cnt)
{
	size_t t = 0;
	for (size_t i = 0; i < cnt; i++)
		t += v[i].iov_len;
	return t;
}

int _udma_storage_bounce(struct storage_domain *sd, const struct iovec *mem, size_t mcnt, const struct iovec *file,
			 size_t fcnt, int write, uint32_t flags)
{
	struct bounce b = { .sd = sd, .write = write, .flags = flags & ~UDMA_STORAGE_BOUNCE, .mem = mem, .mcnt = mcnt };
	size_t left = total(mem, mcnt), ft = total(file, fcnt);
	size_t align = sd->mem_align < 4096 ? 4096 : sd->mem_align;
	struct stat st;
	int err = 0;

	if (ft < left)
		left = ft;
	if (!sd->blockdev) {
		if (fstat(sd->fd, &st))
			return udma_fail(errno, "%s: fstat: %s", sd->d.id, strerror(errno));
		b.size = (uint64_t)st.st_size;
	}
	if (posix_memalign((void **)&b.buf, align, BOUNCE_MAX + 2 * (size_t)sd->offset_align))
		return udma_fail(ENOMEM, "%s: no bounce buffer", sd->d.id);
	udma_dbg("%s: %s of %zu bytes breaks O_DIRECT's rules: bounced", sd->d.id, write ? "write" : "read", left);
	for (size_t i = 0; i < fcnt && left && !err; i++) {
		uint64_t off = (uintptr_t)file[i].iov_base, end = off + (file[i].iov_len < left ? file[i].iov_len : left);
		while (off < end && !err) {
			uint64_t stop = off / sd->offset_align * sd->offset_align + BOUNCE_MAX;
			size_t n = (size_t)((end < stop ? end : stop) - off);
			err = chunk(&b, off, n);
			off += n, left -= n;
		}
	}
	free(b.buf);
	return err;
}
