/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fabrics: opening libfabric (fabric, domain, endpoint, AV, CQ), the RMA
 * request machinery (a FIFO of pieces, a bounded number on the wire,
 * deadlines), progress (a thread, or the caller), and closing.
 *
 * Locking: one mutex guards the FIFO, the wire and zombie lists, the piece
 * pool, exports and peers. Posts happen under it (the provider is
 * FI_THREAD_SAFE, so this only keeps our FIFO order); completion callbacks
 * never run under it, so they may start new requests.
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <udma/backend.h>

#include "../core/ptrset.h"
#include "fabric_internal.h"

#define DEFAULT_PROVIDER "tcp;ofi_rxm"
#define PIECE_CHUNK 256
#define MAX_PIECE (8ul << 20)

/* ns from t to now; 0 if t is later (stamped by another thread after now was read) */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

/* ---- errors -------------------------------------------------------------------- */

/* A broken connection: the provider reconnects on the next post, so these are retried for a grace period. */
static int conn_error(int err)
{
	return err == FI_ENOTCONN || err == FI_ECONNRESET || err == FI_ECONNABORTED || err == FI_ECONNREFUSED ||
	       err == EPIPE || err == FI_EHOSTUNREACH || err == FI_EHOSTDOWN || err == FI_ENETUNREACH ||
	       err == FI_ESHUTDOWN;
}

/* tcp cancels the requests of a connection that broke, saying why in prov_errno. */
static int conn_lost(int err, int prov_errno)
{
	return conn_error(err) || (err == FI_ECANCELED && conn_error(prov_errno));
}

/* A completion error (positive FI_E* value) as what the caller sees. */
static int map_err(struct udma_fabric *fab, int err, int prov_errno)
{
	if (conn_lost(err, prov_errno))
		return -ECONNRESET;
	switch (err) {
	case FI_ECANCELED: /* tcp cancels an access the peer refused (key, range, rights) */
		return __atomic_load_n(&fab->closing, __ATOMIC_RELAXED) ? -ECANCELED : -EREMOTEIO;
	case FI_EACCES:
	case FI_EPERM:
	case FI_EKEYREJECTED:
		return -EACCES;
	case FI_ETIMEDOUT:
		return -ETIMEDOUT;
	case FI_EINVAL:
	case FI_EREMOTEIO:
		return -EREMOTEIO;
	case FI_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* ---- pieces --------------------------------------------------------------------- */

/* Under the lock. */
static struct fab_piece *piece_alloc(struct udma_fabric *fab)
{
	if (!fab->free_pieces) {
		void **chunks = realloc(fab->chunks, (fab->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return NULL;
		fab->chunks = chunks;
		struct fab_piece *c = calloc(PIECE_CHUNK, sizeof(*c));
		if (!c)
			return NULL;
		chunks[fab->nchunks++] = c;
		for (unsigned i = 0; i < PIECE_CHUNK; i++) {
			c[i].next = fab->free_pieces;
			fab->free_pieces = &c[i];
		}
	}
	struct fab_piece *p = fab->free_pieces;
	fab->free_pieces = p->next;
	return p;
}

/* Under the lock. */
static void piece_free(struct udma_fabric *fab, struct fab_piece *p)
{
	p->state = PIECE_FREE;
	p->req = NULL;
	p->next = fab->free_pieces;
	fab->free_pieces = p;
}

/* Doubly linked lists of pieces, under the lock. */
static void list_append(struct fab_piece **head, struct fab_piece **tail, struct fab_piece *p)
{
	p->next = NULL;
	p->prev = tail ? *tail : NULL;
	if (tail) {
		if (*tail)
			(*tail)->next = p;
		else
			*head = p;
		*tail = p;
	} else { /* the zombie list has no tail: push at the head */
		p->prev = NULL;
		p->next = *head;
		if (*head)
			(*head)->prev = p;
		*head = p;
	}
}

static void list_unlink(struct fab_piece **head, struct fab_piece **tail, struct fab_piece *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		*head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else if (tail)
		*tail = p->prev;
	p->next = p->prev = NULL;
}

/* ---- requests --------------------------------------------------------------------- */

void _udma_fab_req_init(struct fab_req *r, struct udma_fabric *fab, void (*done)(struct fab_req *r))
{
	memset(r, 0, sizeof(*r));
	r->fab = fab;
	r->done = done;
	r->left = 1; /* the builder's hold, dropped by _udma_fab_req_start */
}

int _udma_fab_req_add(struct fab_req *r, int write, void *local, size_t len, void *ldesc, struct fab_peer *peer,
		uint64_t raddr, uint64_t key)
{
	struct udma_fabric *fab = r->fab;

	while (len) {
		size_t n = len < fab->max_piece ? len : fab->max_piece;
		pthread_mutex_lock(&fab->lock);
		struct fab_piece *p = piece_alloc(fab);
		pthread_mutex_unlock(&fab->lock);
		if (!p)
			return udma_fail(ENOMEM, "out of memory for RMA pieces");
		p->req = r;
		p->write = write;
		p->local = local;
		p->len = n;
		p->ldesc = ldesc;
		p->pp = peer;
		p->peer = peer->fi;
		p->raddr = raddr;
		p->key = key;
		p->deadline = 0;
		p->status = 0;
		p->next = NULL;
		if (r->last)
			r->last->next = p;
		else
			r->first = p;
		r->last = p;
		r->left++;
		local = (char *)local + n;
		raddr += n;
		len -= n;
	}
	return 0;
}

void _udma_fab_req_abandon(struct fab_req *r)
{
	struct udma_fabric *fab = r->fab;

	pthread_mutex_lock(&fab->lock);
	while (r->first) {
		struct fab_piece *p = r->first;
		r->first = p->next;
		piece_free(fab, p);
	}
	pthread_mutex_unlock(&fab->lock);
	r->last = NULL;
	r->left = 1;
	_udma_fab_req_release_mrs(r);
}

static void req_finish(struct fab_req *r)
{
	struct udma_fabric *fab = r->fab;

	_udma_fab_req_release_mrs(r);
	/* before done(): it may let a synchronous caller return and close the
	 * fabric (an asynchronous one's domain reference still holds it) */
	__atomic_sub_fetch(&fab->users, 1, __ATOMIC_RELEASE);
	r->done(r); /* may free r */
}

static int on_progress_thread(const struct udma_fabric *fab)
{
	return fab->has_thread && pthread_equal(pthread_self(), fab->thread);
}

/* Wake the progress thread: standing down, or asleep in the CQ's wait. */
static void thread_wake(struct udma_fabric *fab)
{
	pthread_mutex_lock(&fab->wait_lock);
	pthread_cond_broadcast(&fab->idle_cond);
	pthread_mutex_unlock(&fab->wait_lock);
	if (fab->cq_wait && !__atomic_load_n(&fab->standing_down, __ATOMIC_ACQUIRE))
		fi_cq_signal(fab->cq);
}

/*
 * An asynchronous request's callback runs on the progress thread, as
 * documented, even when a synchronous waiter read its completion: the
 * waiter's thread may hold locks the callback takes.
 */
static void req_complete(struct fab_req *r)
{
	struct udma_fabric *fab = r->fab;

	if (!r->defer || on_progress_thread(fab)) {
		req_finish(r);
		return;
	}
	r->dnext = NULL;
	pthread_mutex_lock(&fab->lock);
	if (fab->deferred_tail)
		fab->deferred_tail->dnext = r;
	else
		__atomic_store_n(&fab->deferred, r, __ATOMIC_RELEASE);
	fab->deferred_tail = r;
	pthread_mutex_unlock(&fab->lock);
	thread_wake(fab);
}

/* On the progress thread: the callbacks other threads left to it, in order. */
static void run_deferred(struct udma_fabric *fab)
{
	if (!__atomic_load_n(&fab->deferred, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&fab->lock);
	struct fab_req *r = fab->deferred;
	__atomic_store_n(&fab->deferred, NULL, __ATOMIC_RELAXED);
	fab->deferred_tail = NULL;
	pthread_mutex_unlock(&fab->lock);
	while (r) {
		struct fab_req *next = r->dnext; /* done() may free r */
		req_finish(r);
		r = next;
	}
}

/* One piece (or the builder's hold) is over. */
static void req_put(struct fab_req *r, int status)
{
	if (status) {
		int zero = 0; /* first error wins */
		__atomic_compare_exchange_n(&r->status, &zero, status, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	/* acq_rel: the last one sees every piece's status and data */
	if (__atomic_sub_fetch(&r->left, 1, __ATOMIC_ACQ_REL) == 0)
		req_complete(r);
}

/* Post one piece. Under the lock. */
static ssize_t post(struct udma_fabric *fab, struct fab_piece *p)
{
	if (p->write)
		return fi_write(fab->ep, p->local, p->len, p->ldesc, p->peer, p->raddr, p->key, &p->ctx);
	return fi_read(fab->ep, p->local, p->len, p->ldesc, p->peer, p->raddr, p->key, &p->ctx);
}

/* Pieces that ended under the lock are completed after it is dropped. */
struct ended {
	struct fab_req *r[64];
	int st[64];
	unsigned n;
};

/* Under the lock: p has ended with status; free it, remember its request. */
static void end_locked(struct udma_fabric *fab, struct ended *e, struct fab_piece *p, int status)
{
	e->r[e->n] = p->req;
	e->st[e->n] = status;
	e->n++;
	piece_free(fab, p);
}

static void ended_flush(struct ended *e)
{
	for (unsigned i = 0; i < e->n; i++)
		req_put(e->r[i], e->st[i]);
	e->n = 0;
}

/*
 * The connection to pp broke (new_error) or a post to it cannot go out yet:
 * may a piece wait for the provider to reconnect? For a grace period from
 * the first error, yes; after that, pieces fail at once, so a dead peer
 * costs each request little. An outage older than four grace periods is
 * forgotten: the peer may be back. Under the lock.
 */
static int peer_hope(struct udma_fabric *fab, struct fab_peer *pp, uint64_t now, int new_error)
{
	if (!pp->broken_since) {
		if (new_error)
			pp->broken_since = now;
		return 1;
	}
	uint64_t age = since(now, pp->broken_since);
	if (age > 4 * fab->grace_ns) {
		pp->broken_since = now;
		return 1;
	}
	return age <= fab->grace_ns;
}

static int in(struct fab_peer *const *v, unsigned n, const struct fab_peer *pp)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == pp)
			return 1;
	return 0;
}

/*
 * Post what fits from the FIFO, in order per peer. A peer whose posts say
 * "not yet" (connecting, or its queue is full) is passed over for the rest
 * of this pass, so one slow or unreachable peer does not hold up others.
 */
static void kick(struct udma_fabric *fab)
{
	struct fab_peer *blocked[4];
	struct ended e;

	e.n = 0;
	do {
		ended_flush(&e);
		pthread_mutex_lock(&fab->lock);
		uint64_t now = 0;
		unsigned nb = 0, looked = 0;
		struct fab_piece *p = fab->q_head, *next;
		for (; p && fab->on_wire < fab->depth && e.n < 64 && looked < 1024; p = next) {
			next = p->next;
			if (in(blocked, nb, p->pp)) {
				looked++;
				continue;
			}
			ssize_t rc = post(fab, p);
			if (rc == -FI_EAGAIN) {
				now = now ? now : clock_now_ns();
				if (!p->pp->stalled_since)
					p->pp->stalled_since = now;
				/* a peer whose connection broke and has not come back: give up on it */
				if (!peer_hope(fab, p->pp, now, 0)) {
					list_unlink(&fab->q_head, &fab->q_tail, p);
					udma_dbg("peer %llu unreachable for %llu ms: failing an RMA",
						 (unsigned long long)p->peer,
						 (unsigned long long)(since(now, p->pp->broken_since) / 1000000));
					end_locked(fab, &e, p, -ECONNRESET);
					continue;
				}
				if (nb == sizeof(blocked) / sizeof(blocked[0]))
					break; /* the provider itself is full: progress first */
				blocked[nb++] = p->pp;
				continue;
			}
			p->pp->stalled_since = 0;
			list_unlink(&fab->q_head, &fab->q_tail, p);
			if (rc) {
				udma_dbg("fi_%s of %zu bytes: %s", p->write ? "write" : "read", p->len,
					 _udma_fab_strerror((int)-rc));
				end_locked(fab, &e, p, map_err(fab, (int)-rc, 0));
				continue;
			}
			if (!p->deadline) { /* a repost keeps the first deadline */
				now = now ? now : clock_now_ns();
				p->deadline = now + fab->timeout_ns;
			}
			p->state = PIECE_WIRE;
			list_append(&fab->w_head, &fab->w_tail, p);
			fab->on_wire++;
		}
		pthread_mutex_unlock(&fab->lock);
	} while (e.n);
}

void _udma_fab_req_start(struct fab_req *r)
{
	struct udma_fabric *fab = r->fab;

	__atomic_add_fetch(&fab->users, 1, __ATOMIC_ACQUIRE);
	if (r->first) {
		pthread_mutex_lock(&fab->lock);
		for (struct fab_piece *p = r->first, *n; p; p = n) {
			n = p->next;
			p->state = PIECE_QUEUED;
			list_append(&fab->q_head, &fab->q_tail, p);
		}
		pthread_mutex_unlock(&fab->lock);
		r->first = r->last = NULL;
		kick(fab);
	}
	/* nobody may be polling once the synchronous waiters are gone */
	if (r->defer && __atomic_load_n(&fab->standing_down, __ATOMIC_ACQUIRE))
		thread_wake(fab);
	req_put(r, 0); /* the builder's hold */
}

/* ---- progress ---------------------------------------------------------------------- */

/*
 * Fail what is past its deadline. Wire pieces become zombies: the provider
 * still owns them until it hands them back. Queued pieces of a peer that
 * has taken no post for the whole timeout (unreachable: the provider keeps
 * connecting and says nothing) fail together.
 */
static void scan(struct udma_fabric *fab)
{
	struct ended e;

	e.n = 0;
	do {
		ended_flush(&e);
		pthread_mutex_lock(&fab->lock);
		/* Read under the lock: the times scan compares with are stamped
		 * under it too. A time read before taking it could be older than a
		 * stall another thread stamped meanwhile, and the difference would
		 * wrap to "stalled forever" (a fresh connection failed at once). */
		uint64_t now = clock_now_ns();
		while (fab->w_head && fab->w_head->deadline <= now && e.n < 64) {
			struct fab_piece *p = fab->w_head;
			list_unlink(&fab->w_head, &fab->w_tail, p);
			udma_dbg("fi_%s of %zu bytes timed out", p->write ? "write" : "read", p->len);
			e.r[e.n] = p->req;
			e.st[e.n++] = -ETIMEDOUT;
			p->req = NULL;
			p->state = PIECE_ZOMBIE;
			list_append(&fab->z_head, NULL, p);
		}
		for (struct fab_peer *pp = fab->peers; pp && e.n < 64; pp = pp->next) {
			if (!pp->stalled_since || since(now, pp->stalled_since) < fab->timeout_ns)
				continue;
			struct fab_piece *p = fab->q_head, *next;
			for (; p && e.n < 64; p = next) {
				next = p->next;
				if (p->pp != pp)
					continue;
				list_unlink(&fab->q_head, &fab->q_tail, p);
				end_locked(fab, &e, p, -ETIMEDOUT);
			}
			if (!p) {
				/* the age measured, not the timeout: a wrong age once hid behind this line */
				udma_dbg("peer %llu took no request for %llu ms: its queue failed", (unsigned long long)pp->fi,
					 (unsigned long long)(since(now, pp->stalled_since) / 1000000));
				pp->stalled_since = 0;
				/* and count it as broken past its grace: what comes next fails at once, for a while */
				pp->broken_since = now - fab->grace_ns - 1;
			}
		}
		__atomic_store_n(&fab->next_scan, now + 1000000, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&fab->lock);
	} while (e.n);
}

/* A piece the CQ handed back, fine (err 0) or not. */
static void cq_piece(struct udma_fabric *fab, struct ended *e, struct fab_piece *p, int err, int prov_errno)
{
	if (p->state == PIECE_ZOMBIE) { /* its request already failed with -ETIMEDOUT */
		list_unlink(&fab->z_head, NULL, p);
		fab->on_wire--;
		piece_free(fab, p);
		return;
	}
	list_unlink(&fab->w_head, &fab->w_tail, p);
	fab->on_wire--;
	if (!err) {
		p->pp->broken_since = 0;
		end_locked(fab, e, p, 0);
		return;
	}
	if (conn_lost(err, prov_errno) && !__atomic_load_n(&fab->closing, __ATOMIC_RELAXED)) {
		uint64_t now = clock_now_ns();
		/* RMA is idempotent: repost while the provider reconnects */
		if (peer_hope(fab, p->pp, now, 1) && now < p->deadline) {
			p->state = PIECE_QUEUED;
			list_append(&fab->q_head, &fab->q_tail, p);
			return;
		}
	}
	udma_dbg("fi_%s of %zu bytes at 0x%llx failed: %s (provider errno %d)", p->write ? "write" : "read", p->len,
		 (unsigned long long)p->raddr, _udma_fab_strerror(err), prov_errno);
	end_locked(fab, e, p, map_err(fab, err, prov_errno));
}

int _udma_fab_progress(struct udma_fabric *fab, unsigned max, int wait_ms)
{
	struct fi_cq_entry ent[32];
	int total = 0;

	for (;;) {
		ssize_t n = wait_ms > 0 ? fi_cq_sread(fab->cq, ent, 32, NULL, wait_ms) : fi_cq_read(fab->cq, ent, 32);
		wait_ms = 0;
		struct ended e;
		e.n = 0;
		if (n > 0) {
			pthread_mutex_lock(&fab->lock);
			for (ssize_t i = 0; i < n; i++)
				cq_piece(fab, &e, ent[i].op_context, 0, 0);
			pthread_mutex_unlock(&fab->lock);
			total += (int)n;
		} else if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry ee;
			memset(&ee, 0, sizeof(ee));
			if (fi_cq_readerr(fab->cq, &ee, 0) == 1 && ee.op_context) {
				pthread_mutex_lock(&fab->lock);
				cq_piece(fab, &e, ee.op_context, ee.err ? ee.err : FI_EIO, ee.prov_errno);
				pthread_mutex_unlock(&fab->lock);
				total++;
				n = 1;
			}
		} else if (n < 0 && n != -FI_EAGAIN) {
			udma_dbg("fi_cq_read: %s", _udma_fab_strerror((int)-n));
		}
		ended_flush(&e);
		if (n < 32 || (unsigned)total >= max)
			break;
	}
	kick(fab);
	if (clock_now_ns() >= __atomic_load_n(&fab->next_scan, __ATOMIC_RELAXED))
		scan(fab);
	return total;
}

/* Without a progress thread the waiter is all there is: poll until done. */
static void poll_until(struct udma_fabric *fab, const int *flag)
{
	for (unsigned idle = 0; !__atomic_load_n(flag, __ATOMIC_ACQUIRE);) {
		if (_udma_fab_progress(fab, 64, 0) > 0) {
			idle = 0;
			continue;
		}
		if (++idle < 64)
			sched_yield();
		else /* the peer is slow or gone: deadlines end this, no need to burn a CPU */
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
}

/* A thread's waits on the conditions: bounded, so a lost wakeup costs time, not a hang. */
static void cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, unsigned ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += (long)ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	pthread_cond_timedwait(c, m, &t);
}

/*
 * Poll the CQ from the waiting thread, as a plain fi_write/fi_cq_read loop
 * does, while the progress thread stands down (two threads polling one CQ
 * take completions from each other, and on a small machine a third busy
 * thread takes CPU from the peer). Completions of other requests the
 * waiter reads are theirs (flags, or callbacks left to the progress
 * thread). 1 if done; 0 after SPIN_NS without any completion.
 */
#define SPIN_NS 1000000
static int spin(struct udma_fabric *fab, const int *flag)
{
	uint64_t last = clock_now_ns();
	int done;

	__atomic_add_fetch(&fab->pollers, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&fab->poll_gen, 1, __ATOMIC_RELAXED);
	/* out of fi_cq_sread, where every socket event of ours would wake it, into
	 * stand_down(); seq_cst against the thread's store of in_sread, then load of pollers */
	if (__atomic_load_n(&fab->in_sread, __ATOMIC_SEQ_CST))
		fi_cq_signal(fab->cq);
	while (!(done = __atomic_load_n(flag, __ATOMIC_ACQUIRE))) {
		if (_udma_fab_progress(fab, 64, 0) > 0) {
			last = clock_now_ns();
			continue;
		}
		if (since(clock_now_ns(), last) > SPIN_NS)
			break;
		sched_yield();
	}
	__atomic_sub_fetch(&fab->pollers, 1, __ATOMIC_SEQ_CST);
	return done;
}

void _udma_fab_req_wait(struct udma_fabric *fab, const int *flag)
{
	/* no other thread to finish it: a callback's own request included */
	if (!fab->has_thread || on_progress_thread(fab)) {
		poll_until(fab, flag);
		return;
	}
	if (spin(fab, flag))
		return;
	/* slow or gone peer: the progress thread (and the deadlines) take over */
	thread_wake(fab);
	pthread_mutex_lock(&fab->wait_lock);
	__atomic_add_fetch(&fab->sleepers, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(flag, __ATOMIC_SEQ_CST))
		cond_wait_ms(&fab->done_cond, &fab->wait_lock, 10);
	__atomic_sub_fetch(&fab->sleepers, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&fab->wait_lock);
}

void _udma_fab_req_signal(struct udma_fabric *fab, int *flag)
{
	/* seq_cst with the waiter's: it counts itself asleep then looks at the flag */
	__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&fab->sleepers, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&fab->wait_lock);
		pthread_cond_broadcast(&fab->done_cond);
		pthread_mutex_unlock(&fab->wait_lock);
	}
}

int udma_fabric_progress(struct udma_fabric *fab, unsigned max)
{
	if (!fab)
		return udma_fail(EINVAL, "NULL fabric");
	return _udma_fab_progress(fab, max ? max : UINT_MAX, 0);
}

static int queued(struct udma_fabric *fab)
{
	pthread_mutex_lock(&fab->lock);
	int q = fab->q_head != NULL;
	pthread_mutex_unlock(&fab->lock);
	return q;
}

/*
 * Sleeping in fi_cq_sread is not only cheaper than polling: tcp and rxm
 * handle connection requests in their wait, on the sockets' events, where
 * a server that only polls (fi_cq_read) falls behind idle connections
 * (docs/fabric.md). The progress thread waits the same way.
 */
int udma_fabric_progress_wait(struct udma_fabric *fab, unsigned max, int timeout_ms)
{
	if (!fab || timeout_ms < 0)
		return udma_fail(EINVAL, "NULL fabric or negative timeout %d", timeout_ms);
	max = max ? max : UINT_MAX;
	int n = _udma_fab_progress(fab, max, 0);
	if (n || !timeout_ms)
		return n;
	int ms = queued(fab) ? 1 : timeout_ms; /* requests waiting for room: back soon */
	if (fab->cq_wait)
		return _udma_fab_progress(fab, max, ms);
	nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	return _udma_fab_progress(fab, max, 0);
}

/*
 * While synchronous waiters poll, the progress thread sleeps: they progress
 * everything. No waiter wakes it on leaving, so a stream of synchronous
 * requests does not wake it between two of them; it looks again after 1 ms,
 * then after twice as long each time it finds a waiter polling or one that
 * started since its last look, up to STAND_DOWN_MAX_MS. A waking thread
 * costs a stream of small requests far more than its own few microseconds
 * (docs/fabric.md). New asynchronous work and deferred callbacks wake it
 * at once.
 */
#define STAND_DOWN_MAX_MS 16
static void stand_down(struct udma_fabric *fab)
{
	unsigned ms = 1, gen;

	pthread_mutex_lock(&fab->wait_lock);
	__atomic_store_n(&fab->standing_down, 1, __ATOMIC_SEQ_CST);
	do {
		gen = __atomic_load_n(&fab->poll_gen, __ATOMIC_RELAXED);
		cond_wait_ms(&fab->idle_cond, &fab->wait_lock, ms);
		ms = ms < STAND_DOWN_MAX_MS ? 2 * ms : ms;
	} while ((__atomic_load_n(&fab->pollers, __ATOMIC_SEQ_CST) || gen != __atomic_load_n(&fab->poll_gen, __ATOMIC_RELAXED)) &&
		 !__atomic_load_n(&fab->deferred, __ATOMIC_ACQUIRE) && !__atomic_load_n(&fab->stop, __ATOMIC_ACQUIRE));
	__atomic_store_n(&fab->standing_down, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&fab->wait_lock);
}

/*
 * The progress thread. With manual-progress providers (tcp) this is also
 * what serves peers' reads and writes of our exports: it sleeps in
 * fi_cq_sread, which waits on the provider's sockets, so an idle exporter
 * costs no CPU and still answers at once. After a completion it polls a
 * little before sleeping again, which keeps streams of requests fast.
 */
static void *progress_main(void *arg)
{
	struct udma_fabric *fab = arg;
	uint64_t busy = clock_now_ns();

	while (!__atomic_load_n(&fab->stop, __ATOMIC_ACQUIRE)) {
		run_deferred(fab);
		if (__atomic_load_n(&fab->pollers, __ATOMIC_ACQUIRE)) {
			stand_down(fab);
			busy = clock_now_ns();
			continue;
		}
		if (_udma_fab_progress(fab, 256, 0) > 0) {
			busy = clock_now_ns();
			continue;
		}
		if (clock_now_ns() - busy < 50000) { /* 50 us */
			sched_yield();
			continue;
		}
		int ms = queued(fab) ? 1 : 100;
		if (fab->cq_wait) {
			__atomic_store_n(&fab->in_sread, 1, __ATOMIC_SEQ_CST);
			/* a waiter that came meanwhile signals no more: not asleep yet, it stands down next */
			if (!__atomic_load_n(&fab->pollers, __ATOMIC_SEQ_CST))
				_udma_fab_progress(fab, 256, ms);
			__atomic_store_n(&fab->in_sread, 0, __ATOMIC_RELEASE);
		} else
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
	return NULL;
}

/* ---- peers ------------------------------------------------------------------------------ */

int _udma_fab_peer_get(struct udma_fabric *fab, const void *addr, uint32_t len, struct fab_peer **out)
{
	struct fab_peer *p;
	int err = 0;

	pthread_mutex_lock(&fab->lock);
	for (p = fab->peers; p; p = p->next)
		if (p->len == len && !memcmp(p->addr, addr, len))
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			err = udma_fail(ENOMEM, "out of memory");
		} else {
			int n = fi_av_insert(fab->av, addr, 1, &p->fi, 0, NULL);
			if (n != 1) {
				free(p);
				p = NULL;
				err = udma_fail(n < 0 ? -n : EINVAL, "fi_av_insert: %s", n < 0 ? _udma_fab_strerror(-n) : "address refused");
			} else {
				p->len = len;
				memcpy(p->addr, addr, len);
				p->next = fab->peers;
				fab->peers = p;
			}
		}
	}
	pthread_mutex_unlock(&fab->lock);
	*out = p;
	return err;
}

/* ---- open and close ----------------------------------------------------------------------- */

static void fab_teardown(struct udma_fabric *fab)
{
	if (fab->has_thread) {
		__atomic_store_n(&fab->stop, 1, __ATOMIC_RELEASE);
		thread_wake(fab);
		if (fab->cq_wait)
			fi_cq_signal(fab->cq);
		pthread_join(fab->thread, NULL);
		fab->has_thread = 0;
	}
	_udma_fab_exports_close(fab);
	if (fab->ep)
		fi_close(&fab->ep->fid);
	if (fab->av)
		fi_close(&fab->av->fid);
	if (fab->cq)
		fi_close(&fab->cq->fid);
	if (fab->domain)
		fi_close(&fab->domain->fid);
	if (fab->fabric)
		fi_close(&fab->fabric->fid);
	if (fab->info)
		_udma_fab_ofi.freeinfo(fab->info);
	while (fab->peers) {
		struct fab_peer *p = fab->peers;
		fab->peers = p->next;
		free(p);
	}
	for (size_t i = 0; i < fab->nchunks; i++)
		free(fab->chunks[i]);
	free(fab->chunks);
	pthread_mutex_destroy(&fab->lock);
	pthread_cond_destroy(&fab->idle_cond);
	pthread_cond_destroy(&fab->done_cond);
	pthread_mutex_destroy(&fab->wait_lock);
	free(fab);
}

/* Map a libfabric error (negative) to ours for open. */
static int open_err(int rc)
{
	if (rc == -FI_ENODATA || rc == -FI_ENOSYS)
		return ENODEV;
	if (rc == -FI_ENOMEM)
		return ENOMEM;
	return rc < 0 && -rc < 4096 ? -rc : EIO;
}

#define TRY(call, what)                                                                         \
	do {                                                                                    \
		int rc_ = (call);                                                               \
		if (rc_) {                                                                      \
			int e_ = open_err(rc_);                                                 \
			udma_dbg("%s (%s): %s", what, fab->prov, _udma_fab_strerror(-rc_));            \
			fab_teardown(fab);                                                      \
			errno = e_;                                                             \
			return NULL;                                                            \
		}                                                                               \
	} while (0)

/* The fabric's locks, and its conditions on the monotonic clock (their deadlines are). */
static void fab_locks_init(struct udma_fabric *fab)
{
	pthread_condattr_t ca_mono;

	pthread_mutex_init(&fab->lock, NULL);
	pthread_mutex_init(&fab->wait_lock, NULL);
	pthread_condattr_init(&ca_mono);
	pthread_condattr_setclock(&ca_mono, CLOCK_MONOTONIC);
	pthread_cond_init(&fab->idle_cond, &ca_mono);
	pthread_cond_init(&fab->done_cond, &ca_mono);
	pthread_condattr_destroy(&ca_mono);
}

/* Open with checked options, libfabric loaded. */
static struct udma_fabric *fab_open(const struct udma_fabric_opts *uo)
{
	struct udma_fabric_opts o = *uo;
	struct udma_fabric *fab;
	struct fi_info *hints;
	const char *prov, *node;
	int rc;

	/* FI_PROVIDER already filters what libfabric loads: then take its first choice */
	prov = o.provider ? o.provider : getenv("FI_PROVIDER") ? NULL : DEFAULT_PROVIDER;
	node = o.node ? o.node : prov && !strcmp(prov, DEFAULT_PROVIDER) ? "127.0.0.1" : NULL;

	fab = calloc(1, sizeof(*fab));
	hints = _udma_fab_ofi.dupinfo(NULL);
	if (!fab || !hints) {
		free(fab);
		_udma_fab_ofi.freeinfo(hints);
		return udma_fail_null(ENOMEM, "out of memory");
	}
	fab_locks_init(fab);
	snprintf(fab->prov, sizeof(fab->prov), "%s", prov ? prov : "(FI_PROVIDER)");
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	/* what udma can do; the provider keeps the bits it needs */
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
	hints->domain_attr->threading = FI_THREAD_SAFE;
	if (prov) {
		hints->fabric_attr->prov_name = strdup(prov);
		if (!hints->fabric_attr->prov_name) {
			_udma_fab_ofi.freeinfo(hints);
			fab_teardown(fab);
			return udma_fail_null(ENOMEM, "out of memory");
		}
	}
	/* a write completes when its data is in the peer's memory, not when it
	 * left ours: what RDMA's reliable connections give, and what a client
	 * that reads the data back (or tells the peer to) relies on */
	hints->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
	rc = _udma_fab_ofi.getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), node, o.service,
			node || o.service ? FI_SOURCE : 0, hints, &fab->info);
	if (rc == -FI_ENODATA) {
		hints->tx_attr->op_flags = 0;
		rc = _udma_fab_ofi.getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), node, o.service,
				node || o.service ? FI_SOURCE : 0, hints, &fab->info);
	}
	_udma_fab_ofi.freeinfo(hints);
	TRY(rc, "fi_getinfo");
	struct fi_info *info = fab->info;
	snprintf(fab->prov, sizeof(fab->prov), "%s", info->fabric_attr->prov_name);
	int mr = info->domain_attr->mr_mode;
	fab->virt_addr = !!(mr & FI_MR_VIRT_ADDR);
	fab->prov_key = !!(mr & FI_MR_PROV_KEY);
	fab->mr_local = !!(mr & FI_MR_LOCAL) || (o.flags & UDMA_FABRIC_REG_LOCAL);
	fab->mr_endpoint = !!(mr & FI_MR_ENDPOINT);
	size_t ks = info->domain_attr->mr_key_size;
	fab->key_mask = !ks || ks >= 8 ? ~0ull : (1ull << (8 * ks)) - 1;
	fab->flags = o.flags;
	fab->timeout_ns = (uint64_t)(o.timeout_ms ? o.timeout_ms : 10000) * 1000000ull;
	fab->grace_ns = fab->timeout_ns / 4 < 500000000ull ? fab->timeout_ns / 4 : 500000000ull;
	fab->depth = o.depth ? o.depth : 256;
	if (info->tx_attr->size && fab->depth > info->tx_attr->size)
		fab->depth = (uint32_t)info->tx_attr->size;
	fab->max_piece = info->ep_attr->max_msg_size && info->ep_attr->max_msg_size < MAX_PIECE
				 ? info->ep_attr->max_msg_size : MAX_PIECE;

	TRY(_udma_fab_ofi.fabric(info->fabric_attr, &fab->fabric, NULL), "fi_fabric");
	TRY(fi_domain(fab->fabric, info, &fab->domain, NULL), "fi_domain");
	struct fi_cq_attr ca = {
		.format = FI_CQ_FORMAT_CONTEXT,
		.size = fab->depth < 512 ? 1024 : 2 * (size_t)fab->depth,
		/* manual progress too: udma_fabric_progress_wait sleeps in it */
		.wait_obj = FI_WAIT_UNSPEC,
	};
	rc = fi_cq_open(fab->domain, &ca, &fab->cq, NULL);
	if (rc && ca.wait_obj != FI_WAIT_NONE) { /* no blocking reads: the thread polls with naps */
		ca.wait_obj = FI_WAIT_NONE;
		rc = fi_cq_open(fab->domain, &ca, &fab->cq, NULL);
	}
	TRY(rc, "fi_cq_open");
	fab->cq_wait = ca.wait_obj != FI_WAIT_NONE;
	struct fi_av_attr aa = { .type = info->domain_attr->av_type ? info->domain_attr->av_type : FI_AV_TABLE };
	TRY(fi_av_open(fab->domain, &aa, &fab->av, NULL), "fi_av_open");
	TRY(fi_endpoint(fab->domain, info, &fab->ep, NULL), "fi_endpoint");
	TRY(fi_ep_bind(fab->ep, &fab->cq->fid, FI_TRANSMIT | FI_RECV), "binding the CQ");
	TRY(fi_ep_bind(fab->ep, &fab->av->fid, 0), "binding the AV");
	TRY(fi_enable(fab->ep), "fi_enable");
	size_t alen = sizeof(fab->addr);
	TRY(fi_getname(&fab->ep->fid, fab->addr, &alen), "fi_getname");
	if (!alen || alen > UDMA_FABRIC_ADDR_MAX)
		TRY(-FI_ETOOSMALL, "endpoint address too long");
	fab->addr_len = (uint32_t)alen;
	fab->addr_format = info->addr_format;
	if (!(o.flags & UDMA_FABRIC_MANUAL_PROGRESS)) {
		rc = udma_engine_thread_create(&fab->thread, progress_main, fab);
		TRY(rc ? -rc : 0, "starting the progress thread");
		fab->has_thread = 1;
	}
	udma_dbg("fabric %s open: mr_mode 0x%x, key size %zu, depth %u, %s progress, %s completion", fab->prov, mr, ks,
		 fab->depth, fab->has_thread ? "thread" : "manual",
		 info->tx_attr->op_flags & FI_DELIVERY_COMPLETE ? "delivery" : "transmit");
	return fab;
}

/* Fabrics open: a second close is refused, not a use after free. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ptrset live;

struct udma_fabric *udma_fabric_open(const struct udma_fabric_opts *uo)
{
	struct udma_fabric_opts o = { .size = sizeof(o) };
	struct fab_signals keep;

	udma_env_clear();
	if (uo) {
		if (uo->size < offsetof(struct udma_fabric_opts, flags) + sizeof(o.flags))
			return udma_fail_null(EINVAL, "opts->size %zu too small", uo->size);
		memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	}
	if (o.flags & ~(UDMA_FABRIC_MANUAL_PROGRESS | UDMA_FABRIC_REG_LOCAL))
		return udma_fail_null(EINVAL, "unknown fabric flags 0x%x", o.flags);
	if (o.provider && (!*o.provider || strlen(o.provider) >= 64))
		return udma_fail_null(EINVAL, "provider name empty or longer than 63 bytes");
	if (o.depth > 65536)
		return udma_fail_null(EINVAL, "depth %u above 65536", o.depth);
	/* libfabric and the providers it loads initialise as they are loaded and
	 * opened, and some install signal handlers: the program keeps its own */
	_udma_fab_signals_save(&keep);
	int err = _udma_fab_ofi_load();
	struct udma_fabric *fab = err ? NULL : fab_open(&o);
	if (err)
		errno = -err;
	err = errno;
	_udma_fab_signals_keep(&keep);
	if (fab) {
		pthread_mutex_lock(&live_lock);
		err = _udma_ptrset_add(&live, fab) ? ENOMEM : err;
		pthread_mutex_unlock(&live_lock);
		if (err == ENOMEM) {
			fab_teardown(fab);
			fab = NULL;
		}
	}
	errno = err;
	return fab;
}

int udma_fabric_close(struct udma_fabric *fab)
{
	if (!fab)
		return udma_fail(EINVAL, "NULL fabric");
	int err = 0;
	pthread_mutex_lock(&live_lock);
	if (!_udma_ptrset_has(&live, fab)) {
		err = udma_fail(EINVAL, "%p is not an open fabric (never opened, or closed)", (void *)fab);
	} else {
		unsigned imports = __atomic_load_n(&fab->imports, __ATOMIC_ACQUIRE);
		unsigned users = __atomic_load_n(&fab->users, __ATOMIC_ACQUIRE);
		if (imports || users || __atomic_load_n(&fab->engine, __ATOMIC_ACQUIRE))
			err = udma_fail(EBUSY, "fabric %s: %u imported domains, %u requests in flight%s", fab->prov,
					imports, users, fab->engine ? ", an engine registered" : "");
		else if (fab->has_thread && pthread_equal(pthread_self(), fab->thread))
			err = udma_fail(EDEADLK, "fabric %s closed from its own progress thread", fab->prov);
		else
			_udma_ptrset_del(&live, fab);
	}
	pthread_mutex_unlock(&live_lock);
	if (err)
		return err;
	__atomic_store_n(&fab->closing, 1, __ATOMIC_RELEASE);
	fab_teardown(fab);
	return 0;
}

const char *udma_fabric_provider(const struct udma_fabric *fab)
{
	return fab ? fab->prov : NULL;
}
