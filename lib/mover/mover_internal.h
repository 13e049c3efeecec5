/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of sessions, requests and engines. */
#ifndef UDMA_LIB_MOVER_H
#define UDMA_LIB_MOVER_H

#include <pthread.h>
#include <udma/backend.h>

#include "../core/clock.h"
#include "../core/mpsc.h"
#include "../core/log.h"
#include "../core/iov.h"

#define SIZE_CLASSES 8

/* Thread-locals of the request path: initial-exec, or each access from the
 * shared library is a call to __tls_get_addr on the request path. */
#define MOVER_TLS __thread __attribute__((tls_model("initial-exec")))

struct engine_count {
	unsigned long n;          /* atomic */
	uint64_t bytes;           /* atomic */
} __attribute__((aligned(64)));

struct udma_engine {
	char name[64];
	struct udma_engine_desc desc;
	struct udma_engine_ops ops;
	uint32_t lanes;
	int leaving;              /* atomic: no new work; unregister in progress or done */
	/* Works (and bytes touched) handed over, and finished (or handed back
	 * at unregister): in flight = handed - finished. Two cache lines, so the
	 * submitting and the completing threads do not write the same line. */
	struct engine_count handed, finished;
	/* learned bytes/s per function and size class (relaxed atomics): functions
	 * differ too much to share one figure (compare may stop at byte 0) */
	uint64_t speed[UDMA_FUNC_END][SIZE_CLASSES];
	uint64_t funcs;           /* every function it performs: bit (1 << udma_func) */
	uint64_t overhead_ns;     /* hand-over latency (non-inline engines): a guess until measured */
	int overhead_measured;    /* atomic: overhead_ns has learned from a hand-over */
	struct udma_engine *next_all; /* every engine ever registered (never freed before exit) */
};

/* Requests whose buffers live in a domain without a local view go through a
 * bounce buffer, pulled before and pushed after. */
struct bounce {
	void *mem;
	size_t len;
	int out_foreign;
	struct udma_domain *out_dom;
	void *out_ctx;
	struct iovec *out_iov;
	uint32_t out_cnt;
	struct iovec in_iov[UDMA_MAX_INPUTS];
};

/* Storage for resolved domain buffers (allocated on first use). */
struct slot_ext {
	struct iovbuf out, in[UDMA_MAX_INPUTS];
};

/* The buffers of a later function's request (sessions of those only). */
struct slot_multi {
	struct udma_buf inbuf[UDMA_MAX_SOURCES];
	struct udma_buf outbuf[UDMA_MAX_OUTPUTS];
	struct iovec lin_in[UDMA_MAX_SOURCES], lin_out[UDMA_MAX_OUTPUTS];
	struct iovec *ins[UDMA_MAX_SOURCES], *outs[UDMA_MAX_OUTPUTS];
	uint32_t ins_cnt[UDMA_MAX_SOURCES], outs_cnt[UDMA_MAX_OUTPUTS];
	struct udma_params params; /* the request's, copied at submit: the engine reads this one */
};

enum slot_state { SLOT_FREE = 0, SLOT_OWNED = 1, SLOT_INFLIGHT = 2, SLOT_QUEUED = 3 };

struct slot {
	struct udma_req req; /* first: a request pointer is a slot pointer */
	/* What a burst's plain request touches besides req, next to it: the
	 * state and the first input, on req's last line (the queue link is
	 * for completions from other threads). */
	int state;             /* enum slot_state, atomic */
	int submitted;         /* submitted since it was allocated (for udma_req_wait's checks) */
	struct mpsc_node cq;
	struct udma_buf inbuf[UDMA_MAX_INPUTS];
	struct udma_work work;
	struct iovec lin_out, lin_in[UDMA_MAX_INPUTS];
	struct udma_engine *engine;
	struct slot_ext *ext;
	struct bounce *bounce;
	struct slot_multi *mx;  /* sessions of the later functions */
	uint64_t t_submit;     /* ns, when sampled */
	uint64_t touched;      /* bytes the work touches (len x regions), for speeds */
	int foreign;           /* some buffer is in a domain without a local view */
	uint32_t index;
	uint32_t free_next;    /* index + 1 of the next free slot, 0 = none */
};

struct udma_session {
	enum udma_func func;
	int ninputs;
	enum udma_compl_mode mode;
	uint32_t depth;
	int shared;                  /* UDMA_SESSION_SHARED: no driver, atomic paths only */
	struct udma_engine *pinned;  /* chosen by name, or NULL: the scheduler decides */
	int efd;                     /* udma_session_fd()'s eventfd, or -1 (set once, acquire/release) */
	struct slot *slots;
	struct slot_multi *multi;    /* depth of them, for the later functions */
	/* The driver's line: what its thread writes on every request. */
	uint64_t free_head __attribute__((aligned(64))); /* ABA tag << 32 | (index + 1) */
	/* In flight = submitted - delivered. The driver counts its own steps in
	 * nsub/ndone (its thread only: relaxed loads and stores); other threads
	 * count theirs in the atomic nsub_x/ndone_x. */
	unsigned nsub, ndone;
	struct mpsc_node *cq_head;     /* the consumer's end of the completion queue */
	/* completions the driver made itself, inside its submit or poll (POLL
	 * mode): a ring of depth slots from lq_head, lq_n of them */
	struct slot **lq;
	uint32_t lq_head, lq_n;
	/* The completers' lines: written by engine threads, so apart from the
	 * driver's (a worker's completion does not evict the driver's counters). */
	unsigned nsub_x __attribute__((aligned(64)));
	unsigned ndone_x;
	unsigned touching;           /* atomic: completers still touching the session (destroy waits) */
	uint32_t wake;               /* futex: bumped when a waiter may have something to see */
	unsigned waiters;            /* atomic: threads asleep on wake */
	/* completion queue (POLL mode): Vyukov's intrusive MPSC list */
	struct mpsc_node *cq_tail;
	struct mpsc_node cq_stub;
};

static inline void engine_count(struct engine_count *c, uint64_t bytes)
{
	__atomic_add_fetch(&c->bytes, bytes, __ATOMIC_RELAXED);
	/* release, and last: unregister may finish as soon as a finish lands */
	__atomic_add_fetch(&c->n, 1, __ATOMIC_RELEASE);
}

/* func.c: inputs and outputs of a later function (>= UDMA_FUNC_COUNT) under
 * its parameters, which it checks (-EINVAL, logged). */
struct func_shape {
	uint32_t nins, nouts;
	uint64_t lost;   /* inputs that must be NONE (lost blocks) */
	int single_out;  /* its one output is req->out, not outs[0] */
};
UDMA_HIDDEN int _udma_func_shape(enum udma_func f, const struct udma_params *p, struct func_shape *sh);

/* engine.c */
UDMA_HIDDEN struct udma_engine *_udma_engine_choose(enum udma_func f, uint64_t touched, const struct slot *sl,
					      const struct udma_engine *exclude);
/* Create the default asynchronous engine if it is not there yet (once). */
UDMA_HIDDEN void _udma_engines_default(void);
/* A registered engine by name, or NULL. */
UDMA_HIDDEN struct udma_engine *_udma_engine_by_name(const char *name);
UDMA_HIDDEN int _udma_engine_accepts(struct udma_engine *e, struct udma_domain *d);
UDMA_HIDDEN void _udma_engine_learn(struct udma_engine *e, enum udma_func f, uint64_t touched, uint64_t exec_ns,
			      uint64_t latency_ns);
UDMA_HIDDEN void _udma_engines_poll(void);
/* Registered engines with submit_chain (relaxed atomic): a sequence's
 * step looks no further while it is 0. */
UDMA_HIDDEN extern unsigned _udma_chain_engines;

/* backends/cpu */
UDMA_HIDDEN void _udma_builtin_cpu_register(void);

/* engine.c, for split.c */
UDMA_HIDDEN unsigned _udma_size_class(uint64_t bytes);
/* Bytes touched handed to e and not finished. */
UDMA_HIDDEN uint64_t _udma_engine_queued(const struct udma_engine *e);
/* The fastest permanent inline engine with run() for f at this size, or NULL. */
UDMA_HIDDEN struct udma_engine *_udma_engine_inline_runner(enum udma_func f, uint64_t touched);
/* The UDMA_ENGINE_SPLIT engine to cut f's requests for, or NULL. */
UDMA_HIDDEN struct udma_engine *_udma_engine_splitter(enum udma_func f);

/* split.c: large requests of auto sessions cut across engine lanes. */
#define SPLIT_FLOOR (64u << 10) /* bytes touched below which no request is cut: docs/movers.md */
#define REQ_CHUNK 0x80000000u   /* flags of a chunk's stand-in request (refused from clients) */
UDMA_HIDDEN extern uint64_t _udma_split_floor;
UDMA_HIDDEN extern unsigned _udma_split_cpus; /* CPUs chunks spread over (0: the machine's) */
/* Cut sl across lanes (or run it whole, timed): 1 if taken (it completes
 * once, perhaps already), 0 if the caller goes on as usual. chosen: the
 * scheduler's engine for it, or NULL (chosen here). */
UDMA_HIDDEN int _udma_split_submit(struct slot *sl, struct udma_engine *chosen);
UDMA_HIDDEN int _udma_split_choose(uint64_t whole, uint64_t split, unsigned *tick, int *learn);
/* udma_engine_done() of a chunk; a chunk handed back at unregister. */
UDMA_HIDDEN void _udma_split_chunk_done(struct udma_work *w, int status);
UDMA_HIDDEN void _udma_split_chunk_rescue(struct udma_work *w);

static inline int split_candidate(const struct slot *sl)
{
	return sl->touched >= __atomic_load_n(&_udma_split_floor, __ATOMIC_RELAXED) && !sl->req.session->pinned;
}

/* session.c */
/* Hand the work to an engine: first (if given and not leaving), the
 * session's own, or the scheduler's choice other than exclude. */
UDMA_HIDDEN int _udma_slot_dispatch(struct slot *sl, struct udma_engine *first, const struct udma_engine *exclude);
UDMA_HIDDEN void _udma_slot_complete(struct slot *sl, int status);
/* Chains (sequences): at most this many works in one submit_chain(). */
#define UDMA_CHAIN_MAX 16
/* Whether req's session could hand it to an engine with submit_chain: it
 * is not pinned to another. */
UDMA_HIDDEN int _udma_req_may_chain(const struct udma_req *req);
/* Hand reqs[0..n-1] (n <= UDMA_CHAIN_MAX; each of another session, the
 * caller's and filled in) to one engine's submit_chain, in order, as far as
 * each goes to the same such engine with no bounce. Returns how many it
 * took from the start (those complete as submitted requests do); the rest
 * are the caller's, unsubmitted. 0 for fewer than two. */
UDMA_HIDDEN int _udma_submit_chain(struct udma_req *const *reqs, unsigned n);

/* prepare_multi.c: check and resolve a later function's buffers into sl->work. */
UDMA_HIDDEN int _udma_prepare_multi(struct slot *sl);

#endif
