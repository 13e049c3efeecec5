/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening a file or block device for direct I/O, and O_DIRECT's rules: the
 * alignment of file offsets, lengths and memory addresses, from statx
 * (STATX_DIOALIGN) where the kernel reports it, else from BLKSSZGET (block
 * devices) or the file system's block size.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "storage_internal.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

/* File systems whose "direct" I/O is a copy through their page cache. */
static int memory_fs(int fd)
{
	struct statfs fs;

	return fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

static int learn_rules(struct storage_domain *sd, const char *path)
{
	struct statx st;

	if (statx(sd->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_DIOALIGN, &st))
		return udma_fail(errno, "statx(%s): %s", path, strerror(errno));
	sd->blockdev = S_ISBLK(st.stx_mode);
	if (!sd->blockdev && !S_ISREG(st.stx_mode))
		return udma_fail(EINVAL, "%s is neither a regular file nor a block device", path);
	if ((st.stx_mask & STATX_DIOALIGN) && st.stx_dio_offset_align) {
		sd->offset_align = st.stx_dio_offset_align;
		sd->mem_align = st.stx_dio_mem_align;
	} else if (sd->blockdev) {
		int ss = 0;
		if (ioctl(sd->fd, BLKSSZGET, &ss) || ss <= 0)
			return udma_fail(EINVAL, "BLKSSZGET on %s: %s", path, strerror(errno));
		sd->offset_align = sd->mem_align = (uint32_t)ss;
	} else {
		/* no word from the kernel: the file system's block size is safe */
		sd->offset_align = sd->mem_align = st.stx_blksize;
	}
	if (sd->blockdev && ioctl(sd->fd, BLKGETSIZE64, &sd->bdev_size))
		return udma_fail(errno, "BLKGETSIZE64 on %s: %s", path, strerror(errno));
	if (!sd->offset_align || !sd->mem_align || (sd->offset_align & (sd->offset_align - 1)) ||
	    (sd->mem_align & (sd->mem_align - 1)))
		return udma_fail(EINVAL, "%s reports odd direct-I/O alignments (offset %u, memory %u)", path,
				 sd->offset_align, sd->mem_align);
	return 0;
}

int _udma_storage_open(struct storage_domain *sd, const char *path)
{
	int rdonly = !!(sd->flags & UDMA_STORAGE_READONLY);

	sd->fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
	if (sd->fd < 0) {
		int e = errno;
		if (e == EINVAL)
			return udma_fail(EINVAL, "%s: the file system refuses O_DIRECT (tmpfs?); storage domains need direct I/O",
					 path);
		return udma_fail(e, "open(%s): %s", path, strerror(e));
	}
	int err = learn_rules(sd, path);
	/* a block device's node lives on devtmpfs: only files are asked */
	if (!err && !sd->blockdev && memory_fs(sd->fd))
		return udma_fail(EINVAL, "%s is on tmpfs/ramfs: its direct I/O is a copy through memory, no device DMA; "
				 "storage domains need a disk or block device", path);
	return err;
}

static int check_file(const struct storage_domain *sd, const struct iovec *file, size_t fcnt)
{
	uint64_t oa = sd->offset_align;

	for (size_t i = 0; i < fcnt; i++) {
		uint64_t off = (uintptr_t)file[i].iov_base, len = file[i].iov_len;
		if (off % oa || len % oa)
			return udma_fail(EINVAL, "%s: O_DIRECT needs file offsets and lengths in multiples of %u bytes; "
					 "piece %zu is [%llu, +%llu)", sd->d.id, sd->offset_align, i,
					 (unsigned long long)off, (unsigned long long)len);
		if (off + len < off || (sd->blockdev && off + len > sd->bdev_size))
			return udma_fail(ERANGE, "%s: [%llu, +%llu) is past the device's end (%llu bytes)", sd->d.id,
					 (unsigned long long)off, (unsigned long long)len,
					 (unsigned long long)sd->bdev_size);
	}
	return 0;
}

int _udma_storage_check(const struct storage_domain *sd, const struct iovec *file, size_t fcnt,
			const struct iovec *mem, size_t mcnt)
{
	int err = check_file(sd, file, fcnt);

	for (size_t i = 0; i < mcnt && !err; i++) {
		if ((uintptr_t)mem[i].iov_base % sd->mem_align)
			return udma_fail(EINVAL, "%s: O_DIRECT needs memory addresses in multiples of %u bytes; "
					 "piece %zu is at %p", sd->d.id, sd->mem_align, i, mem[i].iov_base);
		if (mem[i].iov_len % sd->offset_align)
			return udma_fail(EINVAL, "%s: O_DIRECT needs lengths in multiples of %u bytes; memory piece %zu "
					 "is %zu bytes", sd->d.id, sd->offset_align, i, mem[i].iov_len);
	}
	return err;
}

int _udma_storage_aligned(const struct storage_domain *sd, const struct iovec *file, size_t fcnt,
			  const struct iovec *mem, size_t mcnt)
{
	for (size_t i = 0; i < fcnt; i++)
		if ((uintptr_t)file[i].iov_base % sd->offset_align || file[i].iov_len % sd->offset_align)
			return 0;
	for (size_t i = 0; i < mcnt; i++)
		if ((uintptr_t)mem[i].iov_base % sd->mem_align || mem[i].iov_len % sd->offset_align)
			return 0;
	return 1;
}
