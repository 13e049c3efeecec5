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
#include <udma/memory.h>

#include "domain_internal.h"
#include "shm_arena.h"

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

struct shm_domain {
	struct udma_domain d; /* first: the registry frees the whole */
	char *base;   /* this process's mapping */
	size_t size;
	int fd;
	int readonly; /* this mapping */
	int sealed;   /* F_SEAL_FUTURE_WRITE applied: only read-only exports */
	int imported; /* udma_shm_import(): the creator allocates, not us */
	size_t page;  /* backing page size: allocations are multiples of it */
	struct shm_arena arena; /* udma_mem_alloc() in the segment, under d->lock */
};

static const struct domain_kind shm_kind;

/* The segment of d, or NULL when d is not a shared-memory domain. */
static struct shm_domain *shm_of(struct udma_domain *d)
{
	return d && d->k == &shm_kind ? (struct shm_domain *)d : NULL;
}

static void shm_fini(struct udma_domain *d)
{
	struct shm_domain *m = shm_of(d);
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	_udma_arena_fini(&m->arena);
}

/* -EBUSY while allocations live in the segment, -EALREADY if dead. */
static int shm_retire(struct udma_domain *d)
{
	int busy;

	pthread_mutex_lock(&d->lock);
	busy = d->dead ? -EALREADY : shm_of(d)->arena.n ? -EBUSY : 0;
	if (!busy)
		__atomic_store_n(&d->dead, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return busy;
}

/* Offsets in the segment -> this process's mapping. */
static int shm_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write, struct iovbuf *out)
{
	struct shm_domain *m = shm_of(d);
	int err = 0;

	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint64_t a = (uintptr_t)iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (!len)
			continue;
		if (a > m->size || len > m->size - a)
			return udma_fail(ERANGE, "[%llu, +%zu) is outside segment %s of %zu bytes",
					 (unsigned long long)a, len, d->id, m->size);
		if (write && m->readonly)
			return udma_fail(EACCES, "segment %s is mapped read-only here", d->id);
		err = _udma_iovbuf_push(out, m->base + a, len);
	}
	return err;
}

static int shm_from_local(struct udma_domain *d, const struct iovbuf *va, struct iovbuf *out)
{
	struct shm_domain *m = shm_of(d);
	uint64_t base = (uintptr_t)m->base;
	int err = 0;

	for (size_t i = 0; i < va->n && !err; i++) {
		uint64_t a = (uintptr_t)va->v[i].iov_base;
		size_t len = va->v[i].iov_len;
		if (a < base || a - base > m->size || len > m->size - (a - base))
			return udma_fail(EFAULT, "%p is not inside segment %s", va->v[i].iov_base, d->id);
		err = _udma_iovbuf_push(out, (void *)(uintptr_t)(a - base), len);
	}
	return err;
}

static const struct domain_kind shm_kind = {
	.kind = UDMA_KIND_SHM,
	.ops = &_udma_builtin_ops,
	.local_view = shm_view,
	.from_local = shm_from_local,
	.retire = shm_retire,
	.fini = shm_fini,
};

static struct udma_domain *shm_new(const char *id, int fd, size_t size, int readonly, size_t page)
{
	struct shm_domain *m = calloc(1, sizeof(*m));
	struct udma_domain *d = &m->d;
	int err;

	if (!m)
		return udma_fail_null(ENOMEM, "out of memory");
	m->fd = -1;
	err = _udma_domain_init(d, &shm_kind, UDMA_DEV_DMA, id);
	if (err) {
		free(m);
		return udma_fail_null(-err, "bad id");
	}
	m->base = mmap(NULL, size, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED, fd, 0);
	if (m->base == MAP_FAILED) {
		err = errno;
		m->base = NULL;
		_udma_domain_free(d);
		return udma_fail_null(err == EACCES || err == EPERM ? EACCES : ENOMEM, "mmap of segment %s: %s", id,
				      strerror(err));
	}
	m->size = size;
	m->fd = fd;
	m->readonly = readonly;
	m->sealed = readonly; /* a read-only import came from a sealed segment */
	m->page = page;
	m->arena.size = size;
	if (_udma_domain_publish(d)) {
		m->fd = -1; /* the caller's to close */
		_udma_domain_free(d);
		errno = ENOMEM;
		return NULL;
	}
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
	struct udma_domain *d = shm_new(id, fd, size, 0, page);
	if (!d)
		close(fd);
	return d;
}

/* ---- memory in a segment (udma_mem_alloc and friends, from lib/memory) ---- */

int _udma_is_shm(const struct udma_domain *d)
{
	return d && d->k == &shm_kind;
}

/* The flags a segment can grant: it is one shared, contiguous mapping whose
 * page size was chosen at creation. */
static int shm_flags(const struct shm_domain *m, uint32_t want, uint32_t *granted)
{
	uint32_t huge = m->page > 4096 ? UDMA_MEM_HUGE_2M : 0;

	if (want & ~UDMA_MEM_ALL_FLAGS)
		return udma_fail(EINVAL, "unknown flag bits 0x%x", want & ~UDMA_MEM_ALL_FLAGS);
	if (want & (UDMA_MEM_PHYS_CONTIG | UDMA_MEM_PINNED | UDMA_MEM_NUMA))
		return udma_fail(EINVAL, "PHYS_CONTIG, PINNED and NUMA do not apply to segment %s", m->d.id);
	if ((want & (UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G)) && !(want & UDMA_MEM_HUGE_FALLBACK) &&
	    (want & (UDMA_MEM_HUGE_2M | UDMA_MEM_HUGE_1G)) != huge)
		return udma_fail(EINVAL, "segment %s has %zu-byte pages (chosen at udma_shm_create)", m->d.id, m->page);
	*granted = (want & UDMA_MEM_CONTIG) | UDMA_MEM_SHARED | huge;
	return 0;
}

static void shm_describe(const struct shm_domain *m, const struct shm_block *b, uint32_t flags, struct udma_mem *out)
{
	*out = (struct udma_mem){ .va = m->base + b->off, .iova = b->off, .len = b->len, .page_size = m->page,
				  .fd = m->fd, .flags = flags, .numa_node = -1, .contiguous = 1 };
}

int _udma_shm_mem_alloc(struct udma_domain *d, size_t size, uint32_t flags, struct udma_mem *out)
{
	struct shm_domain *m = shm_of(d);
	uint64_t off;
	uint32_t granted;
	int err = shm_flags(m, flags, &granted);

	if (err)
		return err;
	/* as device domains: a dead domain's answer does not depend on its space */
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	if (m->imported)
		return udma_fail(EPERM, "segment %s was imported: its creator allocates in it, peers use offsets",
				 d->id);
	if (size > m->size)
		return udma_fail(ENOMEM, "%zu bytes do not fit in segment %s of %zu bytes", size, d->id, m->size);
	uint64_t len = (size + m->page - 1) & ~(uint64_t)(m->page - 1);
	pthread_mutex_lock(&d->lock);
	err = d->dead ? -ENODEV : _udma_arena_alloc(&m->arena, len, size, &off);
	if (!err)
		shm_describe(m, &m->arena.b[_udma_arena_at(&m->arena, off)], granted, out);
	pthread_mutex_unlock(&d->lock);
	if (err)
		return udma_fail(-err, "no %llu free bytes in segment %s of %zu bytes", (unsigned long long)len, d->id,
				 m->size);
	memset(out->va, 0, out->len); /* as every allocation: zeroed, also where a freed one was */
	return 0;
}

int _udma_shm_mem_free(struct udma_domain *d, void *va, size_t len)
{
	struct shm_domain *m = shm_of(d);
	uint64_t off = (uintptr_t)va - (uintptr_t)m->base;
	int err = 0;

	pthread_mutex_lock(&d->lock);
	long i = (uintptr_t)va < (uintptr_t)m->base ? -1 : _udma_arena_at(&m->arena, off);
	if (i < 0)
		err = udma_fail(EINVAL, "%p is not an allocation of %s (foreign pointer or double free)", va, d->id);
	else if (len != m->arena.b[i].user_len && len != m->arena.b[i].len)
		err = udma_fail(EINVAL, "size %zu does not match the allocation at %p (%llu bytes)", len, va,
				(unsigned long long)m->arena.b[i].user_len);
	else
		_udma_arena_remove(&m->arena, (size_t)i);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int _udma_shm_mem_query(struct udma_domain *d, const void *va, struct udma_mem *out)
{
	struct shm_domain *m = shm_of(d);
	uint64_t off = (uintptr_t)va - (uintptr_t)m->base;
	uint32_t flags = UDMA_MEM_CONTIG | UDMA_MEM_SHARED | (m->page > 4096 ? UDMA_MEM_HUGE_2M : 0);

	pthread_mutex_lock(&d->lock);
	long i = (uintptr_t)va < (uintptr_t)m->base ? -1 : _udma_arena_find(&m->arena, off);
	if (i >= 0)
		shm_describe(m, &m->arena.b[i], flags, out);
	pthread_mutex_unlock(&d->lock);
	return i < 0 ? udma_fail(ENOENT, "%p is not in an allocation of %s", va, d->id) : 0;
}

uint64_t _udma_shm_va_to_off(struct udma_domain *d, const void *va, size_t *len)
{
	struct shm_domain *m = shm_of(d);
	uint64_t off = (uintptr_t)va - (uintptr_t)m->base;

	if ((uintptr_t)va < (uintptr_t)m->base || off >= m->size) {
		udma_dbg("%p is not inside segment %s", va, d->id);
		if (len)
			*len = 0;
		errno = EFAULT;
		return UDMA_BAD_IOVA;
	}
	if (len && *len > m->size - off)
		*len = m->size - off;
	return off;
}

void *_udma_shm_off_to_va(struct udma_domain *d, uint64_t off, size_t *len)
{
	struct shm_domain *m = shm_of(d);

	if (off >= m->size) {
		udma_dbg("offset %llu is outside segment %s of %zu bytes", (unsigned long long)off, d->id, m->size);
		if (len)
			*len = 0;
		errno = EFAULT;
		return NULL;
	}
	if (len && *len > m->size - off)
		*len = m->size - off;
	return m->base + off;
}

void *udma_shm_base(struct udma_domain *d, size_t *size)
{
	struct shm_domain *m = shm_of(d);
	if (!m)
		return udma_fail_null(EINVAL, "not a shared-memory domain");
	if (size)
		*size = m->size;
	return m->base;
}

int udma_shm_readonly(struct udma_domain *d)
{
	struct shm_domain *m = shm_of(d);
	return m ? m->readonly : udma_fail(EINVAL, "not a shared-memory domain");
}

int udma_shm_export(struct udma_domain *d, int sock, int readonly)
{
	struct shm_wire w = { .magic = SHM_MAGIC, .version = SHM_VERSION, .readonly = !!readonly };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct shm_domain *m = shm_of(d);
	int fd, err = 0;

	if (!m)
		return udma_fail(EINVAL, "not a shared-memory domain");
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(ENODEV, "domain %s is destroyed", d->id);
	pthread_mutex_lock(&d->lock);
	if (!readonly && (m->readonly || m->sealed)) {
		pthread_mutex_unlock(&d->lock);
		return udma_fail(EPERM, "segment %s can only be exported read-only now", d->id);
	}
	if (readonly && !m->sealed) {
		if (fcntl(m->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
			err = udma_fail(errno == EINVAL ? ENOTSUP : errno,
					"cannot seal segment %s against writes (Linux >= 5.1 needed): %s", d->id,
					strerror(errno));
		else
			m->sealed = 1;
	}
	pthread_mutex_unlock(&d->lock);
	if (err)
		return err;
	fd = m->fd;
	if (readonly) { /* a read-only file description of the same segment */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return udma_fail(errno, "reopening segment %s read-only: %s", d->id, strerror(errno));
	}
	w.size = m->size;
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
	int fd = -1, r, seals;
	struct stat st;

	if (sock < 0)
		return udma_fail_null(EBADF, "socket %d is not a file descriptor", sock);
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
			  /* unsealed, the exporter could shrink it under us: SIGBUS */
			  : (seals = fcntl(fd, F_GET_SEALS)) < 0 ? "not a sealable memfd"
			  : !(seals & F_SEAL_SHRINK) ? "segment not sealed against shrinking"
			  : w.readonly && !(seals & F_SEAL_FUTURE_WRITE) ? "read-only segment not sealed against writes"
			  : NULL;
	/* The fd's own access mode wins over what the header claims. */
	if (!bad && !w.readonly && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
		bad = "read-write segment sent with a read-only fd";
	if (bad) {
		if (fd >= 0)
			close(fd);
		return udma_fail_null(EPROTO, "rejecting imported segment: %s", bad);
	}
	struct udma_domain *d = shm_new(w.id, fd, (size_t)w.size, (int)w.readonly, 0);
	if (!d)
		close(fd);
	else
		shm_of(d)->imported = 1;
	return d;
}

struct udma_domain *udma_shm_import_fd(int fd, const char *id)
{
	struct stat st;
	int seals, ro;

	if (fd < 0)
		return udma_fail_null(EBADF, "fd %d is not a file descriptor", fd);
	if (!id || !*id || strlen(id) > UDMA_DOMAIN_ID_MAX)
		return udma_fail_null(EINVAL, "bad id");
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return udma_fail_null(EBADF, "fd %d: %s", fd, strerror(errno));
	ro = (fl & O_ACCMODE) == O_RDONLY;
	/* as udma_shm_import: unsealed, its owner could shrink it under us (SIGBUS) */
	const char *bad = fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ? "not a memfd with a size"
			  : (seals = fcntl(fd, F_GET_SEALS)) < 0 ? "not a sealable memfd"
			  : !(seals & F_SEAL_SHRINK) ? "memfd not sealed against shrinking"
			  : NULL;
	if (bad)
		return udma_fail_null(EPROTO, "rejecting fd %d: %s", fd, bad);
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the caller keeps its fd */
	if (own < 0)
		return udma_fail_null(errno, "dup of fd %d: %s", fd, strerror(errno));
	struct udma_domain *d = shm_new(id, own, (size_t)st.st_size, ro, 0);
	if (!d)
		close(own);
	else
		shm_of(d)->imported = 1;
	return d;
}
