/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma movers: asynchronous data movement. A client opens a session for one
 * function, takes requests from the session's pool, fills in buffers and
 * submits them; completion arrives by callback, by waiting, or by polling.
 * A scheduler picks the engine per request (include/udma/backend.h is the
 * engine side).
 *
 * Functions (all regions of a request have the same length; no input may
 * overlap the output: -EINVAL):
 *   zero            out = 0                          no input
 *   fill8           out = imm[0] repeated            no input
 *   fill64          out = 8-byte pattern imm[0..7]   no input
 *   copy            out = in[0]
 *   xor2 .. xor16   out = in[0] ^ ... ^ in[n-1]      (out's old bytes not used)
 *   iscsi-crc32c    CRC-32C of in[0]; no output; seed in imm[0..3] (little
 *                   endian), result written back there; seed 0 gives the
 *                   standard CRC-32C, and passing a result on chains
 *   copy-crc32c     out = in[0], and the CRC as above, in one pass
 *   compare         in[0] against in[1]; no output; result: UDMA_CMP_EQUAL
 *                   or the offset of the first difference
 *
 * Functions added after the first ABI (numbered from UDMA_FUNC_COUNT on; they
 * take struct udma_params through req->params where they need parameters,
 * and write several outputs to req->outs[]; docs/movers.md, "Functions for
 * RAID and storage"). k data blocks, m parity blocks; block i of a stripe is
 * data for i < k, parity i - k after (pq: P = k, Q = k + 1):
 *   dualcast        outs[0] = outs[1] = in[0]
 *   compare-pattern in[0] against the 8-byte pattern imm[0..7] repeated; no
 *                   output; result as compare
 *   pq-gen          outs[0] = P, outs[1] = Q of in[0..k-1] (k 2..32;
 *                   GF(2^8), polynomial 0x11d, Q = sum 2^i D_i as ISA-L
 *                   and Linux raid6)
 *   pq-validate     in[0..k-1] data, in[k] P, in[k+1] Q; no output; result:
 *                   0, or UDMA_PQ_P_BAD | UDMA_PQ_Q_BAD for those that mismatch
 *   raid6-recover   in[0..k+1] the stripe with the two lost blocks NONE;
 *                   params lost[0] < lost[1]: two data blocks, or a data
 *                   block and P (= k); outs[0], outs[1] get them, in that order
 *   ec-encode       outs[0..m-1] = Reed-Solomon parity of in[0..k-1]
 *                   (k 1..32, m 1..8, params.matrix)
 *   ec-update       source update_index changed from in[0] (old) to in[1]
 *                   (new): outs[0..m-1] (the parity) are read and updated
 *   ec-decode       in[0..k+m-1] the stripe with the nlost (1..m) lost blocks
 *                   NONE; outs[i] gets block lost[i]
 *   dif-generate    out holds blocks of dif_block data bytes + 8 bytes of T10
 *                   protection information; the PI is written (guard
 *                   CRC-16 T10-DIF, app_tag, ref_tag + block index)
 *   dif-verify      in[0] as dif-generate's out; no output; result:
 *                   UDMA_CMP_EQUAL or UDMA_DIF_FAIL(block, tags) (first bad block)
 *   dif-strip       out = the data of in[0]'s blocks, PI checked as dif-verify
 *                   (out's length: in's less 8 per block)
 *   dif-insert      out = in[0]'s data with PI added (8 more bytes per block)
 * Their buffers are local: linear, iovecs, or a domain whose local addresses
 * are VAs (others: -EINVAL). Bad parameters: -EINVAL at submit.
 *
 * Threads: a session is driven by one thread at a time (submit, poll,
 * alloc/free, destroy), and callbacks may also alloc, submit and free from
 * whatever thread they run on. The driving thread works with plain loads
 * and stores (no atomic read-modify-writes on the inline path); callbacks
 * that run elsewhere take atomic paths. A session opened with
 * UDMA_SESSION_SHARED may be used by several threads at once (one polls at
 * a time), at the cost of the atomic paths everywhere. Engines, sessions of
 * other threads and the scheduler are shared safely.
 */
#ifndef UDMA_MOVER_H
#define UDMA_MOVER_H

#include <sys/uio.h>
#include <udma/core.h>
#include <udma/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

enum udma_func {
	UDMA_FUNC_ZERO = 0,
	UDMA_FUNC_FILL8 = 1,
	UDMA_FUNC_FILL64 = 2,
	UDMA_FUNC_COPY = 3,
	UDMA_FUNC_XOR2 = 4, /* xorN = UDMA_FUNC_XOR2 + N - 2, up to xor16 */
	UDMA_FUNC_XOR16 = 18,
	UDMA_FUNC_CRC32C = 19,
	UDMA_FUNC_COPY_CRC32C = 20,
	UDMA_FUNC_COMPARE = 21,
	/* The functions of the first ABI: it sizes arrays in public structs
	 * (udma_engine_info.learned_speed) and bounds 32-bit masks, so it stays 22. */
	UDMA_FUNC_COUNT = 22,
	UDMA_FUNC_DUALCAST = 22,
	UDMA_FUNC_COMPARE_PATTERN = 23,
	UDMA_FUNC_PQ_GEN = 24,
	UDMA_FUNC_PQ_VALIDATE = 25,
	UDMA_FUNC_RAID6_RECOVER = 26,
	UDMA_FUNC_EC_ENCODE = 27,
	UDMA_FUNC_EC_UPDATE = 28,
	UDMA_FUNC_EC_DECODE = 29,
	UDMA_FUNC_DIF_GENERATE = 30,
	UDMA_FUNC_DIF_VERIFY = 31,
	UDMA_FUNC_DIF_STRIP = 32,
	UDMA_FUNC_DIF_INSERT = 33,
	/* One past the last function today; grows (at most 64: 64-bit masks). */
	UDMA_FUNC_END = 34,
};
#define UDMA_FUNC_XOR(n) ((enum udma_func)(UDMA_FUNC_XOR2 + (n) - 2))

/* "zero", "fill8", ..., "iscsi-crc32c"; NULL if unknown. */
UDMA_API const char *udma_func_name(enum udma_func f);
/* Function by name; -EINVAL if unknown. */
UDMA_API int udma_func_by_name(const char *name, enum udma_func *f);
/* Inputs the function takes (0 for zero/fill, 2..16 for xor, 2 for compare).
 * Functions whose count depends on parameters (pq-*, raid6-recover, ec-*)
 * return UDMA_MAX_SOURCES, the size of the session's in[] array. */
UDMA_API int udma_func_ninputs(enum udma_func f);

#define UDMA_CMP_EQUAL (~(uint64_t)0)
#define UDMA_MAX_INPUTS 16  /* the first ABI's functions; struct udma_work's in[] */
#define UDMA_MAX_SOURCES 40 /* inputs of the later functions (ec-decode: 32 + 8) */
#define UDMA_MAX_OUTPUTS 8  /* entries of req->outs[] */

/* pq-validate's result bits. */
#define UDMA_PQ_P_BAD 0x1u
#define UDMA_PQ_Q_BAD 0x2u

/* dif-verify and dif-strip: which tags of the first bad block mismatch. */
#define UDMA_DIF_GUARD 0x1u
#define UDMA_DIF_APP 0x2u
#define UDMA_DIF_REF 0x4u
#define UDMA_DIF_FAIL(block, tags) ((uint64_t)(block) << 3 | (tags))
#define UDMA_DIF_BLOCK(result) ((result) >> 3)
#define UDMA_DIF_TAGS(result) ((unsigned)(result) & 7u)

/* ec-* matrices (ISA-L's generators). */
#define UDMA_EC_CAUCHY 0u      /* gf_gen_cauchy1_matrix: every k x k submatrix inverts */
#define UDMA_EC_VANDERMONDE 1u /* gf_gen_rs_matrix: invertible for limited k, m only */

/*
 * Parameters of the later functions, the caller's, copied at submit (the
 * request keeps the pointer, nothing more). Zeroed fields are defaults.
 */
struct udma_params {
	size_t size;           /* sizeof(struct udma_params) */
	uint32_t k;            /* data blocks: pq-*, raid6-recover, ec-* */
	uint32_t m;            /* parity blocks: ec-* */
	uint32_t matrix;       /* ec-*: UDMA_EC_* */
	uint32_t update_index; /* ec-update: the source that changed */
	uint32_t nlost;        /* ec-decode (1..m); raid6-recover: 2 */
	uint8_t lost[UDMA_MAX_OUTPUTS]; /* block numbers, ascending */
	uint32_t dif_block;    /* dif-*: data bytes per block, 512 or 4096 */
	uint32_t dif_check;    /* dif-verify/strip: UDMA_DIF_* to check; 0 = all three */
	uint16_t app_tag;      /* dif-*: written, and checked under app_mask */
	uint16_t app_mask;     /* 0 = 0xffff */
	uint32_t ref_tag;      /* dif-*: the first block's; + 1 per block */
};

enum udma_buf_type {
	UDMA_BUF_NONE = 0,   /* no buffer (crc32c and compare outputs) */
	UDMA_BUF_LINEAR = 1, /* addr, len in this process */
	UDMA_BUF_IOV = 2,    /* scatter-gather in this process */
	UDMA_BUF_DOMAIN = 3, /* iovecs in a domain's address space */
	UDMA_BUF_SEQ_TMP = 4, /* a sequence's temporary (<udma/sequence.h>); requests refuse it */
};

struct udma_buf {
	enum udma_buf_type type;
	union {
		struct {
			void *addr;
			size_t len;
		} linear;
		struct {
			struct iovec *iov; /* caller's; never freed by udma */
			uint32_t cnt;
		} iov;
		struct {
			struct udma_domain *domain;
			void *domain_ctx;
			struct iovec *iov; /* in the domain's address space */
			uint32_t cnt;
		} dom;
		struct {
			uint32_t slot; /* 0..UDMA_SEQ_MAX_TMP - 1 */
			size_t len;
		} tmp;
	};
};

struct udma_req;
struct udma_session;
typedef void (*udma_req_cb)(struct udma_req *req);

/* Request flags. */
#define UDMA_REQ_WAIT 0x1u  /* udma_submit() returns when the request is done; no callback */

/*
 * A request. The client sets flags, cb, cookie, imm, out and in[], then
 * submits; udma sets status (0 or -errno), result and done. The request
 * belongs to its session's pool: get it with udma_req_alloc().
 */
struct udma_req {
	struct udma_session *session;
	uint32_t flags;
	udma_req_cb cb;       /* called once, when done (not with UDMA_REQ_WAIT) */
	void *cookie;         /* the client's */
	uint8_t imm[8];       /* fill8/fill64 pattern; crc seed in, result out */
	struct udma_buf out;
	struct udma_buf *in;  /* ninputs buffers: the session's array, or the caller's */
	/* results */
	int status;           /* 0 or a negative errno */
	uint64_t result;      /* compare: UDMA_CMP_EQUAL or first differing offset */
	volatile int done;    /* 1 once delivered; read it with udma_req_is_done() */
	/* where it ran: the engine's name, for the curious */
	const char *engine;
	/* Appended for the later functions (udma allocates requests, so older
	 * clients see the fields above where they always were). */
	struct udma_buf *outs;            /* several outputs: the session's array of UDMA_MAX_OUTPUTS, or the caller's */
	const struct udma_params *params; /* NULL where the function needs none */
};

/* How completions reach the client. */
enum udma_compl_mode {
	UDMA_COMPL_CALLBACK = 0, /* cb runs where the request completes (maybe an engine thread) */
	UDMA_COMPL_POLL = 1,     /* completions queue up; cb runs inside udma_session_poll() */
};

/* Session flags. */
#define UDMA_SESSION_SHARED 0x1u /* several threads submit, alloc and free at once */

struct udma_session_opts {
	size_t size;               /* sizeof(struct udma_session_opts) */
	enum udma_compl_mode mode;
	uint32_t depth;            /* requests in the pool; 0 = 256 */
	const char *engine;        /* NULL or "auto": the scheduler chooses per request */
	uint32_t flags;            /* UDMA_SESSION_* */
};

/*
 * Open a session for func (NULL opts: callback mode, depth 256, auto).
 * NULL + errno: EINVAL (bad function or opts), ENODEV (no engine can do
 * func, or the named engine is not registered or cannot), ENOMEM.
 *
 * Engines: "cpu" (inline, always there) and, from the first session on,
 * "threads" — a worker per CPU, so work large enough to profit runs
 * asynchronously without the client creating anything (unless an engine of
 * that name was registered first, or UDMA_NO_DEFAULT_ENGINES is set in the
 * environment; in a child of fork() it is unused). More engines:
 * udma_threads_engine_create() and others in <udma/backend.h>.
 */
UDMA_API struct udma_session *udma_session_create(enum udma_func func, const struct udma_session_opts *opts);
/* -EBUSY (and nothing changes) while requests are in flight; -EINVAL for
 * NULL or a session already destroyed (checked against the live sessions).
 * Every other call on a destroyed session is undefined: the request path
 * does not check. */
UDMA_API int udma_session_destroy(struct udma_session *s);
UDMA_API enum udma_func udma_session_func(const struct udma_session *s);
UDMA_API int udma_session_ninputs(const struct udma_session *s);

/* A request from the pool, zeroed, with in[] pointing at the session's own
 * input array. NULL + errno ENOBUFS when all are in use. */
UDMA_API struct udma_req *udma_req_alloc(struct udma_session *s);
/* Back to the pool. -EBUSY if still in flight; -EINVAL if not this pool's. */
UDMA_API int udma_req_free(struct udma_req *req);

/*
 * Submit. 0: accepted, completion will follow (status is in the request).
 * Negative errno: rejected at once, no completion: EINVAL (bad buffers: a
 * local piece at NULL or reaching past user space, on x86-64 bit 63;
 * lengths that differ, overlap, WAIT with a callback, wrong buffer type for
 * the function), EBUSY (already in flight), ENODEV (no engine); the status
 * says it too, unless req is no request, or a free or in-flight one.
 * With UDMA_REQ_WAIT, returns after completion.
 */
UDMA_API int udma_submit(struct udma_req *req);

/* Has req been delivered? An acquire load: after 1, status, result, imm and
 * the output buffers are the engine's final word. */
static inline int udma_req_is_done(const struct udma_req *req)
{
	return __atomic_load_n(&req->done, __ATOMIC_ACQUIRE);
}

/*
 * Bursts (as DPDK dmadev's enqueue/submit/completed). Submit n requests of
 * one session in one call: returns how many were accepted, in order (the
 * first refused stops the burst, its reason in its status unless it was not
 * the caller's to write: not the session's, free, or in flight; those after
 * it are untouched), or the first request's negative errno if none was.
 * Requests with UDMA_REQ_WAIT are refused. From the session's driving
 * thread a burst is checked and run as a whole: one engine decision for
 * requests of the same size in a row, works for the inline engine run
 * together (backend.h: run_burst; run_copies and run_plain for linear
 * copies, xorN and crc32c), completions queued together
 * (docs/movers.md, "Bursts").
 */
UDMA_API int udma_submit_burst(struct udma_req *const *reqs, unsigned n);
/* POLL-mode sessions: take up to max completed requests, in completion
 * order, without running their callbacks; reqs[i] is done and (if status is
 * not NULL) status[i] is its status. Returns the count, or -EINVAL. It
 * drives engines that need polling, as udma_session_poll() does; both take
 * from one queue, so a completion polled is not reaped (and the reverse). */
UDMA_API int udma_session_reap(struct udma_session *s, struct udma_req **reqs, int *status, unsigned max);
/* Requests that may be submitted now: depth less those in flight (reaped
 * or delivered ones are no longer in flight). */
UDMA_API unsigned udma_session_capacity(const struct udma_session *s);

/*
 * A file descriptor that becomes readable when completions of a POLL-mode
 * session wait to be polled, for a client that sleeps in epoll, poll or its
 * own io_uring instead of spinning: an eventfd, made on the first call and
 * closed by udma_session_destroy() (do not close it yourself). Read its 8
 * bytes to re-arm it, then call udma_session_poll() until it returns 0.
 * Completions made inside the caller's own submit count too. Costs one
 * eventfd write per completion (per batch of a burst run inline) from the
 * first call on. -EINVAL for a
 * session in another mode, or a negative errno from eventfd().
 */
UDMA_API int udma_session_fd(struct udma_session *s);

/* Run up to max queued completions (callbacks) of a POLL-mode session and
 * drive engines that need polling. Returns how many completed. */
UDMA_API int udma_session_poll(struct udma_session *s, unsigned max);
/* Block until req is done (any mode; in POLL mode it polls). 0 or -EINVAL. */
UDMA_API int udma_req_wait(struct udma_req *req);
/* Requests submitted and not yet delivered: not polled yet (POLL mode), or
 * whose callback has not returned yet. Zero means every buffer is free.
 * Exact in the driving thread (or any thread of a SHARED session); from a
 * callback on another thread, the driver's latest steps may not show yet. */
UDMA_API unsigned udma_session_inflight(const struct udma_session *s);

#ifdef __cplusplus
}
#endif
#endif
