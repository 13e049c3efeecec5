/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Moving bytes between memory and a storage domain's file: the pieces
 * (a memory range against a file range), up to qd of them in flight on
 * one ring, short I/O continued where it stopped, and the first error
 * reported once every piece submitted has completed.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage_internal.h"

/* At most this much per SQE (its length is 32 bits); a multiple of every alignment. */
#define PIECE_MAX (1u << 30)

struct piece {
	uint64_t off;
	char *va;
	size_t len;
	int slot; /* fixed buffer, or -1 */
};

struct rw {
	struct storage_domain *sd;
	struct ring *r;
	struct piece *p;
	size_t n;
	int write;
	int rw_flags;
	int err;
	int to_eof; /* a read meeting the end of the file zero-fills the rest */
	int broken; /* the ring holds unsubmitted entries: close it */
	size_t moved;
};

/* Pair file and memory ranges into pieces (*out, *n; free(*out)). */
static int make_pieces(const struct iovec *mem, size_t mcnt, const struct iovec *file, size_t fcnt,
		       struct piece **out, size_t *n)
{
	size_t mi = 0, fi = 0, moff = 0, foff = 0, cap = mcnt + fcnt + 8, k = 0;
	struct piece *p = malloc(cap * sizeof(*p));

	while (p && mi < mcnt && fi < fcnt) {
		size_t ml = mem[mi].iov_len - moff, fl = file[fi].iov_len - foff;
		size_t len = ml < fl ? ml : fl;
		if (len > PIECE_MAX)
			len = PIECE_MAX;
		if (len) {
			if (k == cap) {
				struct piece *q = realloc(p, (cap *= 2) * sizeof(*p));
				if (!q)
					break;
				p = q;
			}
			p[k++] = (struct piece){ (uintptr_t)file[fi].iov_base + foff,
						 (char *)mem[mi].iov_base + moff, len, -1 };
		}
		moff += len, foff += len;
		if (moff == mem[mi].iov_len)
			mi++, moff = 0;
		if (foff == file[fi].iov_len)
			fi++, foff = 0;
	}
	if (!p || (mi < mcnt && fi < fcnt)) {
		free(p);
		return udma_fail(ENOMEM, "out of memory");
	}
	*out = p;
	*n = k;
	return 0;
}

static void prep(struct rw *w, size_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->r->uring);
	struct piece *p = &w->p[i];

	UDMA_ASSERT(sqe); /* never more in flight than the ring has entries */
	if (p->slot >= 0 && w->write)
		io_uring_prep_write_fixed(sqe, 0, p->va, (unsigned)p->len, p->off, p->slot);
	else if (p->slot >= 0)
		io_uring_prep_read_fixed(sqe, 0, p->va, (unsigned)p->len, p->off, p->slot);
	else if (w->write)
		io_uring_prep_write(sqe, 0, p->va, (unsigned)p->len, p->off);
	else
		io_uring_prep_read(sqe, 0, p->va, (unsigned)p->len, p->off);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->rw_flags = w->rw_flags;
	io_uring_sqe_set_data64(sqe, i);
	__atomic_fetch_add(p->slot >= 0 ? &w->sd->fixed_ios : &w->sd->plain_ios, 1, __ATOMIC_RELAXED);
}

static void fail(struct rw *w, int err)
{
	if (!w->err)
		w->err = err;
}

static int at_eof(struct rw *w, uint64_t off)
{
	struct stat st;
	return !w->sd->blockdev && !fstat(w->sd->fd, &st) && off >= (uint64_t)st.st_size;
}

/* One completion: 1 if the piece goes again (short or -EAGAIN), else 0. */
static int complete(struct rw *w, struct io_uring_cqe *cqe)
{
	struct piece *p = &w->p[io_uring_cqe_get_data64(cqe)];
	int res = cqe->res;

	if (res == -EAGAIN || res == -EINTR)
		return !w->err;
	if (res < 0) {
		fail(w, udma_fail(-res, "%s: %s of %zu bytes at offset %llu: %s", w->sd->d.id,
				  w->write ? "write" : "read", p->len, (unsigned long long)p->off, strerror(-res)));
		return 0;
	}
	w->moved += (size_t)res;
	if (w->to_eof && (size_t)res < p->len && at_eof(w, p->off + (size_t)res)) {
		memset(p->va + res, 0, p->len - (size_t)res);
		return 0;
	}
	if (res == 0) {
		fail(w, udma_fail(w->write ? EIO : ENODATA, "%s: %s stopped at offset %llu with %zu bytes to go%s",
				  w->sd->d.id, w->write ? "write" : "read", (unsigned long long)p->off, p->len,
				  w->write ? "" : " (end of file)"));
		return 0;
	}
	if ((size_t)res == p->len)
		return 0;
	p->off += (size_t)res, p->va += res, p->len -= (size_t)res;
	__atomic_fetch_add(&w->sd->short_ios, 1, __ATOMIC_RELAXED);
	udma_dbg("%s: short %s (%d bytes), continuing at %llu", w->sd->d.id, w->write ? "write" : "read", res,
		 (unsigned long long)p->off);
	return !w->err;
}

/* Reap one completion (waiting for it); a piece that goes again is prepared.
 * One at a time, so that each freed slot is refilled and submitted at once,
 * as fio does: on virtio-blk that keeps more reads moving than refilling
 * a batch after every batch of completions (docs/storage.md, "Speed"). */
static void reap(struct rw *w, size_t *inflight, size_t *queued)
{
	struct io_uring_cqe *cqe;
	int ret;

	while ((ret = io_uring_wait_cqe(&w->r->uring, &cqe)) == -EINTR)
		;
	UDMA_ASSERT(!ret);
	size_t i = io_uring_cqe_get_data64(cqe);
	(*inflight)--;
	if (complete(w, cqe)) {
		prep(w, i); /* its completion made the room */
		(*queued)++;
	}
	io_uring_cqe_seen(&w->r->uring, cqe);
}

/* Every piece, qd at a time. Returns with nothing of w in flight. */
static void run(struct rw *w)
{
	size_t next = 0, inflight = 0, queued = 0;

	while ((next < w->n && !w->err) || inflight || (queued && !w->broken)) {
		while (next < w->n && inflight + queued < w->sd->qd && !w->err) {
			prep(w, next++);
			queued++;
		}
		if (queued && !w->broken) {
			int ret = io_uring_submit(&w->r->uring);
			if (ret >= 0) {
				inflight += (size_t)ret, queued -= (size_t)ret;
			} else if (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
				/* what is queued stays in the ring: it is not used again */
				fail(w, udma_fail(-ret, "%s: io_uring_submit: %s", w->sd->d.id, strerror(-ret)));
				w->broken = 1;
			}
		}
		if (inflight)
			reap(w, &inflight, &queued);
	}
}

int _udma_storage_rw(struct storage_domain *sd, const struct iovec *mem, size_t mcnt, const struct iovec *file,
		     size_t fcnt, int write, uint32_t flags)
{
	struct rw w = { .sd = sd, .write = write, .to_eof = !!(flags & STORAGE_TO_EOF) };
	int err;

	if (write && (sd->flags & UDMA_STORAGE_READONLY))
		return udma_fail(EBADF, "%s is read-only", sd->d.id);
	if (((flags | sd->flags) & UDMA_STORAGE_BOUNCE) && !_udma_storage_aligned(sd, file, fcnt, mem, mcnt))
		return _udma_storage_bounce(sd, mem, mcnt, file, fcnt, write, flags);
	if ((err = _udma_storage_check(sd, file, fcnt, mem, mcnt)))
		return err;
	if ((err = make_pieces(mem, mcnt, file, fcnt, &w.p, &w.n)))
		return err;
	if (!(w.r = _udma_storage_ring_get(sd))) {
		free(w.p);
		return -errno;
	}
	for (size_t i = 0; i < w.n; i++)
		w.p[i].slot = _udma_storage_slot(sd, w.r, w.p[i].va, w.p[i].len);
	w.rw_flags = write && ((flags | sd->flags) & UDMA_STORAGE_DSYNC) ? RWF_DSYNC : 0;
	size_t total = 0;
	for (size_t i = 0; i < w.n; i++)
		total += w.p[i].len;
	run(&w);
	if (w.err) /* exactly how far it got; which bytes, the pieces' lines say */
		udma_dbg("%s: %s failed (%d) with %zu of %zu bytes moved", sd->d.id, write ? "write" : "read", w.err,
			 w.moved, total);
	_udma_storage_ring_put(sd, w.r, w.broken);
	free(w.p);
	return w.err;
}
