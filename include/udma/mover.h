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
	UDMA_FUNC_COUNT = 22,
};
#define UDMA_FUNC_XOR(n) ((enum udma_func)(UDMA_FUNC_XOR2 + (n) - 2))

/* "zero", "fill8", ..., "iscsi-crc32c"; NULL if unknown. */
UDMA_API const char *udma_func_name(enum udma_func f);
/* Function by name; -EINVAL if unknown. */
UDMA_API int udma_func_by_name(const char *name, enum udma_func *f);
/* Inputs the function takes (0 for zero/fill, 2..16 for xor, 2 for compare). */
UDMA_API int udma_func_ninputs(enum udma_func f);

#define UDMA_CMP_EQUAL (~(uint64_t)0)
#define UDMA_MAX_INPUTS 16

enum udma_buf_type {
	UDMA_BUF_NONE = 0,   /* no buffer (crc32c and compare outputs) */
	UDMA_BUF_LINEAR = 1, /* addr, len in this process */
	UDMA_BUF_IOV = 2,    /* scatter-gather in this process */
	UDMA_BUF_DOMAIN = 3, /* iovecs in a domain's address space */
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
 * Negative errno: rejected at once, no completion: EINVAL (bad buffers,
 * lengths that differ, overlap, WAIT with a callback, wrong buffer type for
 * the function), EBUSY (already in flight), ENODEV (no engine).
 * With UDMA_REQ_WAIT, returns after completion.
 */
UDMA_API int udma_submit(struct udma_req *req);

/* Has req been delivered? An acquire load: after 1, status, result, imm and
 * the output buffers are the engine's final word. */
static inline int udma_req_is_done(const struct udma_req *req)
{
	return __atomic_load_n(&req->done, __ATOMIC_ACQUIRE);
}

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
