/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine side of movers: what a back-end implements and registers. Kept
 * apart from the client API (mover.h), as SPDK keeps accel_module.h apart.
 *
 * An engine declares its name, speed, the functions it performs and the
 * domain whose addresses it works in. The mover resolves every request's
 * buffers into that domain before handing it over (a DSA engine would
 * declare its IOMMU device domain and receive IOVAs; CPU engines declare the
 * system domain and receive VAs), so nothing here assumes a CPU does the work.
 *
 * Contract: submit() takes ownership of the requests it accepts and must
 * finish each exactly once with udma_engine_done(), from any thread. It may
 * accept fewer than n (return the count); the rest are rescheduled.
 * reclaim(), if present, hands back requests not yet started (used by
 * unregister). poll(), if present, is called from udma_session_poll() so
 * engines without threads of their own make progress. run(), for inline
 * engines, performs one work in the caller's thread and returns its status:
 * the session calls it where it may run the work itself, without a round
 * trip through udma_engine_done() (the built-in cpu engine is one such);
 * run_burst(), if present, does the same for a burst's works in one call;
 * run_copies(), if present, for a burst's plain linear copies, as
 * {dst, src, len} descriptors rather than works; run_plain(), if present,
 * likewise for a burst's plain linear xorN and crc32c requests;
 * submit_chain(), if present, takes several steps of a sequence at once.
 *
 * This header and the public client headers are all an engine sees of udma:
 * the built-in engines are compiled against nothing else (docs/design.md,
 * "Writing an engine").
 */
#ifndef UDMA_BACKEND_H
#define UDMA_BACKEND_H

#include <pthread.h>
#include <udma/mover.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_engine;

/*
 * A request as an engine sees it: the client's request plus its buffers as
 * iovec arrays. Each array is in the address space of out_dom / in_dom[i]:
 * the engine's own domain, or — for domains the engine accepts() — the
 * buffer's own domain, untouched (a fabric engine takes remote addresses).
 */
struct udma_work {
	struct udma_req *req;
	enum udma_func func;
	size_t len;                         /* bytes per region */
	struct iovec *out;                  /* NULL if the function has no output */
	uint32_t out_cnt;
	struct udma_domain *out_dom;
	struct iovec *in[UDMA_MAX_INPUTS];
	uint32_t in_cnt[UDMA_MAX_INPUTS];
	struct udma_domain *in_dom[UDMA_MAX_INPUTS];
	uint32_t ninputs;
	uint64_t exec_ns;                   /* the engine may set: time spent doing the work */
	void *engine_priv;                  /* the engine's, while it owns the work */
	struct udma_work *next;             /* free for the engine's queues while it owns the work */
	/* Appended for the functions from UDMA_FUNC_COUNT on (whose buffers are
	 * always local: the engine's domain is the system's). in[] above
	 * repeats the first UDMA_MAX_INPUTS of ins; out the first of outs. */
	const struct udma_params *params;   /* checked: the counts below agree with it */
	struct iovec **ins;                 /* nins arrays; NULL entries for lost blocks */
	uint32_t *ins_cnt;
	uint32_t nins;
	struct iovec **outs;                /* nouts arrays */
	uint32_t *outs_cnt;
	uint32_t nouts;
	size_t out_len;                     /* bytes per output (DIF: differs from len) */
};

/* One plain copy of a burst, for run_copies(): len bytes from src to dst. */
struct udma_copy {
	void *dst;
	const void *src;
	size_t len;
};

/* One plain request of a burst, for run_plain(): the function over len
 * bytes of v[0..ninputs-1] into v[ninputs] (xorN: ISA-L xor_gen's layout;
 * crc32c has no output); imm is the request's (crc32c: seed in, result
 * out, as udma_req says). v is read only: it may point into the request
 * (a crc32c request's input descriptor holds v[0]). */
struct udma_plain {
	void **v;
	size_t len;
	uint8_t *imm;
};

struct udma_engine_ops {
	size_t size; /* sizeof(struct udma_engine_ops) */
	/* Take up to n; return how many were accepted (0..n) or a negative errno. */
	int (*submit)(struct udma_engine *e, struct udma_work **w, unsigned n);
	/* Optional: make progress, complete up to max; return completions. */
	int (*poll)(struct udma_engine *e, unsigned max);
	/* Optional: hand back up to max not-yet-started works; return count. */
	int (*reclaim)(struct udma_engine *e, struct udma_work **w, unsigned max);
	/* Optional: called after unregister, when nothing is in flight. */
	void (*fini)(struct udma_engine *e);
	/* Optional: take buffers of domain d in d's own addresses? (else they
	 * are resolved into the engine's domain: local views, or bounced
	 * through pull/push) */
	int (*accepts)(struct udma_engine *e, struct udma_domain *d);
	/* Optional, inline engines only: perform w here and return its status
	 * (0 or a negative errno) instead of calling udma_engine_done(). The
	 * engine may set w->exec_ns (time one work in a few: the scheduler
	 * learns its speed from them). */
	int (*run)(struct udma_engine *e, struct udma_work *w);
	/* Optional, with run() only (appended: read when size covers it):
	 * perform w[0..n-1] here, in order, status[i] getting what run(w[i])
	 * would return, and exec_ns set as run() sets it. A burst of a
	 * session's requests (udma_submit_burst) comes here in one call where
	 * the engine has it, else through run() one work at a time. */
	void (*run_burst)(struct udma_engine *e, struct udma_work *const *w, unsigned n, int *status);
	/* Optional, with run() only (appended: read when size covers it):
	 * perform the plain copies c[0..n-1] here, in order; return 0 when
	 * all succeeded (status[] untouched), else nonzero with status[i] 0
	 * or a negative errno for each. A burst's UDMA_FUNC_COPY requests with
	 * one linear output and one linear input come here instead of
	 * run_burst(), with no work structure: addresses in the system domain,
	 * checked (not NULL, no wrap, no overlap; len may be 0, addresses then
	 * maybe NULL). The session times one call in a few itself. */
	int (*run_copies)(struct udma_engine *e, const struct udma_copy *c, unsigned n, int *status);
	/* Optional, with run() only (appended: read when size covers it):
	 * perform the plain requests p[0..n-1] of function f (UDMA_FUNC_XOR2
	 * .. UDMA_FUNC_XOR16 or UDMA_FUNC_CRC32C) here, in order; return as
	 * run_copies() does. A burst's requests of those functions with linear
	 * buffers only come here instead of run_burst(), with no work
	 * structure: addresses in the system domain, checked as for
	 * run_copies() (no input overlaps the output). The session times one
	 * call in a few itself. */
	int (*run_plain)(struct udma_engine *e, enum udma_func f, const struct udma_plain *p, unsigned n, int *status);
	/* Optional (appended: read when size covers it): take up to n
	 * consecutive works of one chain (a sequence's steps, each reading
	 * what the ones before it wrote), to run in order: a DSA batch with
	 * fences, io_uring linked SQEs. Each taken work is finished with
	 * udma_engine_done() in order, from any thread; a failing one finishes
	 * the rest of the taken works with -ECANCELED. Return how many it took
	 * from the start (0..n): the rest, and all of them on 0 or a negative
	 * errno, are submitted one by one later. reclaim() does not hand back
	 * works taken here (others would run them out of order): they are
	 * run, or finished with -ECANCELED. */
	int (*submit_chain)(struct udma_engine *e, struct udma_work **w, unsigned n);
};

#define UDMA_ENGINE_INLINE 0x1u    /* completes inside submit(), in the caller's thread */
#define UDMA_ENGINE_PERMANENT 0x2u /* never unregistered (EPERM): its run() works are not counted in flight */
/* Takes chunks of a large request split across its lanes (not with
 * UDMA_ENGINE_INLINE; used for engines of the system domain, whose works
 * carry VAs): the scheduler may cut a copy, fill, zero, xorN or
 * dualcast into pieces, one per lane, and run one in the submitting thread
 * (docs/movers.md, "Splitting large requests"). Such a work is whole to
 * the engine, but its w->req is a stand-in: the client's imm, flags and
 * session, with results (imm, result) not read back. */
#define UDMA_ENGINE_SPLIT 0x4u

struct udma_engine_desc {
	size_t size;                   /* sizeof(struct udma_engine_desc) */
	const char *name;              /* copied; unique among registered engines */
	uint64_t speed;                /* declared bytes per second (learned speeds refine it) */
	uint32_t funcs;                /* bit (1 << udma_func) per function below UDMA_FUNC_COUNT */
	uint32_t flags;                /* UDMA_ENGINE_* */
	uint32_t lanes;                /* works it runs at once (workers); 0 = 1 */
	struct udma_domain *domain;    /* whose addresses it takes; NULL = system (VAs) */
	const struct udma_engine_ops *ops;
	void *priv;                    /* the engine's own */
	/* Appended: every function, bit (1 << udma_func) up to UDMA_FUNC_END;
	 * read when size covers it; 0 = funcs alone. Bits below
	 * UDMA_FUNC_COUNT must agree with funcs. */
	uint64_t funcs64;
};

/* NULL + errno: EINVAL (bad desc), EEXIST (name taken), ENOMEM. */
UDMA_API struct udma_engine *udma_engine_register(const struct udma_engine_desc *desc);
/*
 * Take an engine out of service. New requests stop going to it at once;
 * works it can hand back (reclaim) move to another capable engine or, if
 * none, complete with -ENODEV; works already running finish. Returns when
 * nothing of it is in flight; then fini() runs. Nothing is lost.
 */
UDMA_API int udma_engine_unregister(struct udma_engine *e);
/* Finish a work: status 0 or a negative errno. Any thread. */
UDMA_API void udma_engine_done(struct udma_work *w, int status);
UDMA_API void *udma_engine_priv(struct udma_engine *e);
UDMA_API const char *udma_engine_name(const struct udma_engine *e);

/* Monotonic nanoseconds: the clock the scheduler learns with (exec_ns). */
UDMA_API uint64_t udma_engine_clock_ns(void);
/* pthread_create() for an engine's own thread, which may run on every CPU
 * the process may (the main thread's affinity), not only on those of the
 * calling thread: a client pinned to one CPU would otherwise get workers
 * that share its CPU. 0 or a positive errno, as pthread_create(). */
UDMA_API int udma_engine_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);
/* 1 when the client will call udma_session_poll() for w's completion (a
 * POLL-mode session, and a request that does not wait): an engine without
 * progress of its own must otherwise finish w before its submit() returns. */
UDMA_API int udma_work_polled(const struct udma_work *w);
/* Log why at debug level and return -err, as udma's own checks do:
 * "return udma_engine_fail(EINVAL, "ring %u not a power of two", n);". */
UDMA_API int udma_engine_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for pointer returns: sets errno to err, returns NULL. */
UDMA_API void *udma_engine_fail_null(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Introspection for tools and tests. */
struct udma_engine_info {
	size_t size;
	const char *name;
	uint64_t declared_speed;
	/* learned bytes/s per function and size class of bytes touched (< 256 B,
	 * < 1 KiB, < 4 KiB, < 16 KiB, < 64 KiB, < 256 KiB, < 1 MiB, larger); 0 = not learned */
	uint64_t learned_speed[UDMA_FUNC_COUNT][8];
	uint32_t funcs;
	uint32_t flags;
	uint64_t overhead_ns;       /* hand-over latency beyond the work itself: learned, or a guess (below) */
	uint32_t lanes;
	uint64_t queued_bytes;      /* bytes handed over and not yet done */
	uint64_t completed;         /* works done (the cpu engine adds each thread's 64 at a time) */
	/* Appended: every function (learned_speed covers the first UDMA_FUNC_COUNT). */
	uint64_t funcs64;
	uint32_t nfuncs;                    /* rows of learned_all */
	const uint64_t (*learned_all)[8];   /* [nfuncs][8], as learned_speed; valid during the visit */
	/* Appended: 1 once overhead_ns was measured on a hand-over; 0 while it is
	 * the starting guess (1000 ns for engines that are not inline). */
	uint32_t overhead_learned;
};
/* Visit registered engines in registration order; stop when fn returns nonzero. */
UDMA_API int udma_engine_foreach(int (*fn)(const struct udma_engine_info *info, void *arg), void *arg);

/* Built-in engines ("cpu" is always present). */
struct udma_threads_opts {
	size_t size;
	unsigned workers;   /* 0 = 1 */
	uint32_t ring;      /* works in the queue; power of two; 0 = 1024 */
	const char *name;   /* NULL = "threads" */
};
UDMA_API struct udma_engine *udma_threads_engine_create(const struct udma_threads_opts *opts);

/* The error engine: performs functions like cpu, but breaks them by rule. */
struct udma_error_opts {
	size_t size;
	const char *name;    /* NULL = "error" */
	uint64_t speed;      /* declared; 0 = 1 GB/s */
	uint32_t funcs;      /* 0 = all of the first UDMA_FUNC_COUNT */
	uint32_t fail_every; /* every Nth work completes with fail_status (0 = never) */
	int fail_status;     /* default -EIO */
	uint32_t corrupt_every; /* every Nth work gets one output byte flipped (0 = never) */
	uint32_t delay_us;   /* complete this long after submit, from the engine's thread */
	int hold;            /* keep works until udma_error_engine_release() */
};
UDMA_API struct udma_engine *udma_error_engine_create(const struct udma_error_opts *opts);
/* Let held works run (n = 0: all). Returns how many were released. */
UDMA_API int udma_error_engine_release(struct udma_engine *e, unsigned n);

/* The function kernels, for engines that run on the CPU. 0 or -errno. */
UDMA_API int udma_cpu_execute(struct udma_work *w);
/* The same for plain requests (run_plain()'s, function f): 0 or -errno. */
UDMA_API int udma_cpu_execute_plain(enum udma_func f, const struct udma_plain *p);
/* run_plain()'s whole call on the CPU: p[0..n-1] of function f in order,
 * returned as run_plain() returns (one call per burst: the function is
 * decided once, and each request is a direct call of its kernel). */
UDMA_API int udma_cpu_run_plain(enum udma_func f, const struct udma_plain *p, unsigned n, int *status);

#ifdef __cplusplus
}
#endif
#endif
