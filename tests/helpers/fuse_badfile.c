/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A FUSE file system of one file, "disk", held in memory, whose reads of
 * one byte range fail with EIO: put a loop device on it and the block
 * device returns real I/O errors there (this kernel has no device-mapper
 * for dm-error). Runs in the foreground until unmounted or signalled.
 *
 *   fuse_badfile MOUNTPOINT SIZE BAD_OFFSET BAD_LENGTH
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *disk;
static off_t disk_size, bad_off, bad_len;

static int is_disk(const char *path)
{
	return !strcmp(path, "/disk");
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (!is_disk(path))
		return -ENOENT;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_size = disk_size;
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk", NULL, 0, 0);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if (!is_disk(path))
		return -ENOENT;
	fi->direct_io = 1; /* no page cache: every read reaches us */
	return 0;
}

/* The part of [off, off + len) inside the disk; -EIO if it meets the bad range. */
static int span(off_t off, size_t *len)
{
	if (off >= disk_size) {
		*len = 0;
		return 0;
	}
	if ((off_t)*len > disk_size - off)
		*len = (size_t)(disk_size - off);
	return off < bad_off + bad_len && off + (off_t)*len > bad_off ? -EIO : 0;
}

static int fs_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	int err = span(off, &len);
	if (err)
		return err;
	memcpy(buf, disk + off, len);
	return (int)len;
}

static int fs_write(const char *path, const char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	size_t n = len;
	if (span(off, &n) || n < len)
		return -EIO;
	memcpy(disk + off, buf, len);
	return (int)len;
}

static const struct fuse_operations ops = {
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
};

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s MOUNTPOINT SIZE BAD_OFFSET BAD_LENGTH\n", argv[0]);
		return 2;
	}
	disk_size = strtoll(argv[2], NULL, 0);
	bad_off = strtoll(argv[3], NULL, 0);
	bad_len = strtoll(argv[4], NULL, 0);
	if (disk_size <= 0 || !(disk = calloc(1, (size_t)disk_size)))
		return 1;
	char *fargs[] = { argv[0], "-f", "-s", "-o", "allow_other", argv[1], NULL };
	return fuse_main(6, fargs, &ops, NULL);
}
