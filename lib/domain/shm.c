/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory domains: a memfd segment that several processes map.
 * Export sends the fd and a short header over a Unix socket (SCM_RIGHTS).
 *
 * Read-only exports: an O_RDONLY fd alone is not enough, because the
 * importer can reopen it read-write through /proc/self/fd. So a read-only
 * export first seals the segment with F_SEAL_FUTURE_WRITE: no new writable
 * mapping can ever be made, while existing ones (the creator's) keep
 * working. Shrinking and growing are sealed at creation, so no importer can
 * truncate the segment under the others (which would SIGBUS them).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_internal.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4u
#endif

#define SHM_MAGIC 0x314d485341444d55ull /* "UDMASHM1" */
#define SHM_VERSION 1u

struct shm_wire {
	uint64_t magic;
	uint32_t version;
	uint32_t readonly;
	uint64_t size;
	char id[UDMA_DOMAIN_ID_MAX + 1];
};

void shm_fini(struct udma_domain *d)
{
	if (d->shm.base)
		munmap(d->shm.base, d->shm.size);
	if (d->shm.fd >= 0)
		close(d->shm.fd);
}

static struct udma_domain *shm_new(const char *id, int fd, size_t size, int readonly)
{
	struct udma_domain *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return udma_fail_null(ENOMEM, "out of memory");
	err = _udma_domain_init(d, UDMA_KIND_SHM, UDMA_DEV_DMA, id);
	if (err) {
		free(d);
		return udma_fail_null(-err, "bad id");
	}
	d->shm.base = mmap(NULL, size, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED, fd, 0);
	if (d->shm.base == MAP_FAILED) {
		err = errno;
		d->shm.base = NULL;
		_udma_domain_free(d);
		return udma_fail_null(err == EACCES || err == EPERM ? EACCES : ENOMEM, "mmap of segment %s: %s", id,
				      strerror(err));
	}
	d->shm.size = size;
	d->shm.fd = fd;
	d->shm.readonly = readonly;
	d->shm.sealed = readonly; /* a read-only import came from a sealed segment */
	d->ops = _udma_builtin_ops;
	d->builtin = 1;
	_udma_domain_publish(d);
	return d;
}

struct udma_domain *udma_shm_create(const char *id, size_t size, uint32_t flags)
{
	size_t page = flags & UDMA_SHM_HUGE_2M ? (2ul << 20) : 4096;
	int fd, err;

	if (flags & ~UDMA_SHM_HUGE_2M)
		return udma_fail_null(EINVAL, "unknown flags 0x%x", flags);
	if (!size || size > (1ull << 46))
		return udma_fail_null(EINVAL, "size %zu is zero or absurd", size);
	if (!id || !*id || strlen(id) > UDMA_DOMAIN_ID_MAX)
		return udma_fail_null(EINVAL, "bad id");
	size = (size + page - 1) & ~(page - 1);
	fd = memfd_create("udma-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING | (page > 4096 ? MFD_HUGETLB : 0));
	if (fd < 0)
		return udma_fail_null(errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		err = errno;
		close(fd);
		return udma_fail_null(err == EINVAL ? ENOMEM : err, "sizing segment %s: %s", id, strerror(err));
	}
	struct udma_domain *d = shm_new(id, fd, size, 0);
	if (!d)
		close(fd);
	return d;
}

void *udma_shm_base(struct udma_domain *d, size_t *size)
{
	if (!d || d->kind != UDMA_KIND_SHM)
		return udma_fail_null(EINVAL, "not a shared-memory domain");
	if (size)
		*size = d->shm.size;
	return d->shm.base;
}

int udma_shm_readonly(struct udma_domain *d)
{
	return d && d->kind == UDMA_KIND_SHM ? d->shm.readonly : udma_fail(EINVAL, "not a shared-memory domain");
}

int udma_shm_export(struct udma_domain *d, int sock, int readonly)
{
	struct shm_wire w = { .magic = SHM_MAGIC, .version = SHM_VERSION, .readonly = !!readonly };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	int fd, err = 0;

	if (!d || d->kind != UDMA_KIND_SHM)
		return udma_fail(EINVAL, "not a shared-memory domain");
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	pthread_mutex_lock(&d->lock);
	if (!readonly && (d->shm.readonly || d->shm.sealed)) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(EPERM, "segment %s can only be exported read-only now", d->id);
	}
	if (readonly && !d->shm.sealed) {
		if (fcntl(d->shm.fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
			err = udma_fail(errno == EINVAL ? ENOTSUP : errno,
					"cannot seal segment %s against writes (Linux >= 5.1 needed): %s", d->id,
					strerror(errno));
		else
			d->shm.sealed = 1;
	}
	pthread_mutex_unlock(&d->lock);
	if (err)
		return err;
	fd = d->shm.fd;
	if (readonly) { /* a read-only file description of the same segment */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", d->shm.fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return udma_fail(errno, "reopening segment %s read-only: %s", d->id, strerror(errno));
	}
	w.size = d->shm.size;
	memcpy(w.id, d->id, sizeof(w.id));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(w))
		err = udma_fail(errno ? errno : EPIPE, "sending segment %s: %s", d->id, strerror(errno));
	if (readonly)
		close(fd);
	return err;
}

struct udma_domain *udma_shm_import(int sock, int timeout_ms)
{
	struct shm_wire w;
	char ctl[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int fd = -1, r;
	struct stat st;

	r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return udma_fail_null(ETIMEDOUT, "no segment within %d ms", timeout_ms);
	if (r < 0)
		return udma_fail_null(errno, "poll: %s", strerror(errno));
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n == 0)
		return udma_fail_null(ECONNRESET, "peer closed the socket before sending a segment");
	if (n < 0)
		return udma_fail_null(errno, "recvmsg: %s", strerror(errno));
	/* Take every fd that came, so none leaks; use the first. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = f;
			else
				close(f);
		}
	}
	const char *bad = n != (ssize_t)sizeof(w) ? "short header" : (msg.msg_flags & MSG_CTRUNC) ? "truncated control data"
			  : fd < 0 ? "no file descriptor" : w.magic != SHM_MAGIC ? "bad magic"
			  : w.version != SHM_VERSION ? "unknown version" : w.readonly > 1 ? "bad flags"
			  : !memchr(w.id, 0, sizeof(w.id)) || !w.id[0] ? "bad id"
			  : fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != w.size || !w.size ? "size mismatch"
			  : NULL;
	/* The fd's own access mode wins over what the header claims. */
	if (!bad && !w.readonly && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
		bad = "read-write segment sent with a read-only fd";
	if (bad) {
		if (fd >= 0)
			close(fd);
		return udma_fail_null(EPROTO, "rejecting imported segment: %s", bad);
	}
	struct udma_domain *d = shm_new(w.id, fd, (size_t)w.size, (int)w.readonly);
	if (!d)
		close(fd);
	return d;
}
