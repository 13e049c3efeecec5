/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma sequences: mover functions chained into one submission
 * (docs/sequences.md). A client appends steps, each a mover function with
 * its buffers, submits the sequence once and is completed once: status 0,
 * or the first error and the index of the step it belongs to.
 *
 *   struct udma_seq *q = udma_seq_create(NULL);
 *   udma_seq_append(q, &(struct udma_step){ .size = sizeof(struct udma_step),
 *           .func = UDMA_FUNC_COPY, .out = UDMA_SEQ_TMP(0, len), .in = &src, .nin = 1 });
 *   udma_seq_append(q, &(struct udma_step){ ..., .func = UDMA_FUNC_CRC32C,
 *           .in = &UDMA_SEQ_TMP(0, len), .nin = 1 });
 *   udma_seq_submit(q, done_cb, cookie);
 *
 * Contracts:
 * - Steps run one after another, in the order appended; a step starts only
 *   when the one before it completed with status 0 (its outputs are then
 *   the next step's to read).
 * - Each step is an ordinary request on a session of its function that the
 *   sequence keeps: the scheduler picks the engine per step, so steps may
 *   run on different engines.
 * - Buffers: linear, iovecs, or a domain buffer in any domain (system,
 *   device, shm, process, remote, custom — SPDK's memory domains — or
 *   storage). Operands an engine cannot take in place are bounced: pulled
 *   into a buffer of the sequence before the step, pushed out after it.
 *   UDMA_SEQ_TMP(n, len) names a temporary of the sequence: memory udma
 *   owns, for results only later steps read. A temporary is written before
 *   it is read, and every use of one slot has the same length.
 * - The iovec arrays a buffer points to, and the memory itself, are the
 *   caller's until the completion (as for requests). The step struct, its
 *   in[]/outs[] arrays of buffers and its params are copied at append.
 * - Copy elision: a copy into a temporary may be skipped, its readers
 *   reading the copy's source instead, only when no later step writes the
 *   source or the temporary and every later output is memory whose
 *   overlap udma can judge (docs/sequences.md). An elided step reports the
 *   engine "elided".
 * - A copy with one side in a domain without a local view (process,
 *   remote, custom, storage) is that domain's own pull or push, straight
 *   into or out of the other side; it reports the engine "domain".
 * - Completion: exactly once per submission, by callback (CALLBACK mode:
 *   on whatever thread completes the last step, possibly inside submit) or
 *   inside udma_seq_poll()/udma_seq_wait() (POLL mode).
 * - Failure: the first step whose request, pull or push fails ends the
 *   sequence with that error and its index (udma_seq_failed_step); no later
 *   step starts. Steps count as run (udma_seq_steps_done, result.ran) when
 *   their function ran, failed or not: a step whose bounce pull failed, or
 *   that its session refused, did not run.
 * - Steps an engine took together (submit_chain in backend.h) have all
 *   started: an abort lets them finish; after one of them fails, the rest
 *   come back -ECANCELED, not run, before the sequence completes.
 * - Threads: a sequence is driven by one thread at a time, as a session
 *   (create, append, submit, poll, wait, reset, destroy); udma_seq_abort()
 *   may come from any thread. In CALLBACK mode the steps move on from
 *   whatever thread completes the one before (an engine's worker, or the
 *   submitter); in POLL mode only inside udma_seq_poll()/udma_seq_wait(),
 *   which the driver must call until the completion has come.
 */
#ifndef UDMA_SEQUENCE_H
#define UDMA_SEQUENCE_H

#include <udma/mover.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_seq;

#define UDMA_SEQ_MAX_STEPS 256 /* steps per sequence */
#define UDMA_SEQ_MAX_TMP 16    /* temporaries per sequence: slots 0..15 */
#define UDMA_SEQ_MAX_DEPS 8    /* udma_seq_after() per sequence */

/* A temporary of the sequence as a buffer of a step (only there: a request
 * refuses it as a bad buffer type). */
#define UDMA_SEQ_TMP(n, length) \
	((struct udma_buf){ .type = UDMA_BUF_SEQ_TMP, .tmp = { .slot = (n), .len = (length) } })

struct udma_seq_opts {
	size_t size;               /* sizeof(struct udma_seq_opts) */
	enum udma_compl_mode mode; /* CALLBACK, or POLL: completion inside udma_seq_poll/wait */
	const char *engine;        /* NULL or "auto": the scheduler chooses per step */
};

/* One step: a mover function and its buffers (mover.h says what each
 * function reads and writes). */
struct udma_step {
	size_t size;                 /* sizeof(struct udma_step) */
	enum udma_func func;
	uint32_t flags;              /* UDMA_STEP_* */
	uint8_t imm[8];              /* fill pattern; crc seed (the result comes back in the step's result) */
	struct udma_buf out;         /* the output of functions with one (NONE for others) */
	const struct udma_buf *in;   /* nin inputs (lost blocks: NONE) */
	uint32_t nin;
	const struct udma_buf *outs; /* nouts outputs of dualcast, pq-gen, raid6-recover, ec-* */
	uint32_t nouts;
	const struct udma_params *params; /* the later functions' parameters, or NULL */
	const char *engine;          /* NULL: the sequence's (opts->engine); else this engine runs the step */
};

/* Step flags. */
#define UDMA_STEP_IMM_PREV 0x1u /* imm is the previous step's result imm (a CRC chained on) */

/* A step's outcome, readable once the sequence completed. */
struct udma_seq_result {
	size_t size;        /* sizeof(struct udma_seq_result), set by the caller */
	int status;         /* 0, the step's error, or -ECANCELED: it did not run */
	int ran;            /* 1 if it ran (elided copies count as run) */
	uint64_t result;    /* compare, pq-validate, dif-verify: as the request's */
	uint8_t imm[8];     /* crc32c: the CRC (little endian) */
	const char *engine; /* where it ran: an engine's name, "elided", or NULL */
};

typedef void (*udma_seq_cb)(struct udma_seq *seq, int status, void *cookie);

/* An empty sequence (NULL opts: CALLBACK mode, engine "auto"). NULL +
 * errno: EINVAL (bad opts), ENODEV (no engine of that name), ENOMEM. */
UDMA_API struct udma_seq *udma_seq_create(const struct udma_seq_opts *opts);

/*
 * Append a step. 0, or (and the sequence unchanged): -EINVAL for NULL, an
 * unknown function or flag, a bad buffer, a buffer count the function does
 * not take, regions whose lengths differ, a temporary read before any step
 * wrote it or used with two lengths, bad params; -EBUSY while the sequence
 * is submitted; -E2BIG past UDMA_SEQ_MAX_STEPS; -ENODEV when no engine (or
 * not the named one) performs the function; -ENOMEM.
 */
UDMA_API int udma_seq_append(struct udma_seq *seq, const struct udma_step *step);

/*
 * Run after `other` (async_tx's depend_tx): when seq is submitted it waits
 * for other's submission in flight, or takes other's latest completion if
 * other is complete, or waits for other's first if it never ran. It starts
 * once every sequence it comes after completed with status 0; if one
 * failed or was aborted, seq completes with -ECANCELED (step 0) and runs
 * no step. Aborting seq while it waits takes it out of their lists at
 * once. -EINVAL for NULL or seq itself, -EBUSY while seq is submitted,
 * -E2BIG past UDMA_SEQ_MAX_DEPS. udma_seq_reset() drops the list. other
 * must outlive seq's submissions; while sequences wait for it, other's
 * destroy is -EBUSY. Cycles are the caller's to avoid: they never start.
 * A sequence released this way runs on the thread that completed the last
 * of its dependencies (CALLBACK mode), or in its own poll (POLL mode).
 */
UDMA_API int udma_seq_after(struct udma_seq *seq, struct udma_seq *other);

/*
 * Submit: the sequence runs (or waits for the sequences it comes after)
 * and cb(seq, status, cookie) follows exactly once (cb may be NULL: use
 * udma_seq_wait() or udma_seq_done()). 0, or without a completion: -EINVAL
 * (NULL, no steps), -EBUSY (submitted and not completed), -ENOMEM. What a
 * step's session refuses when the step starts (a buffer the function does
 * not take, say) completes the sequence with that error and step. A
 * completed sequence may be submitted again, as it is.
 */
UDMA_API int udma_seq_submit(struct udma_seq *seq, udma_seq_cb cb, void *cookie);

/*
 * Abort a submitted sequence from any thread: no step that has not started
 * will start; a step in flight finishes. The completion follows with
 * -ECANCELED (or the in-flight step's error), naming the first step that
 * did not run. 0, -EINVAL (NULL or not submitted), -EALREADY (completed).
 * In POLL mode the completion comes in the driver's next udma_seq_poll().
 */
UDMA_API int udma_seq_abort(struct udma_seq *seq);

/* POLL mode: drive the sequence's steps and deliver its completion here.
 * Returns 1 if the completion was delivered in this call, 0 if not, -EINVAL. */
UDMA_API int udma_seq_poll(struct udma_seq *seq);
/* Block until the submitted sequence completed and its callback returned
 * (polling in POLL mode). 0, or -EINVAL (NULL, never submitted, or called
 * from the sequence's own callback). */
UDMA_API int udma_seq_wait(struct udma_seq *seq);
/* 1 once the latest submission completed (acquire: results are final). */
UDMA_API int udma_seq_done(const struct udma_seq *seq);

/* After completion: the status, the index of the step that failed or the
 * first that did not run (-1 when all ran), steps that ran, steps appended. */
UDMA_API int udma_seq_status(const struct udma_seq *seq);
UDMA_API int udma_seq_failed_step(const struct udma_seq *seq);
UDMA_API unsigned udma_seq_steps_done(const struct udma_seq *seq);
UDMA_API unsigned udma_seq_nsteps(const struct udma_seq *seq);
/* Step i's outcome (after completion). 0, -EINVAL (NULL, bad index or size),
 * -EBUSY (still running). */
UDMA_API int udma_seq_step_result(const struct udma_seq *seq, unsigned i, struct udma_seq_result *res);

/* Drop every step and dependency, keeping the sessions and buffers for the
 * next steps. -EBUSY while submitted and not completed. */
UDMA_API int udma_seq_reset(struct udma_seq *seq);
/* Free it. -EBUSY while submitted and not completed (or from inside its own
 * callback: destroy after the callback returned); -EINVAL for NULL. */
UDMA_API int udma_seq_destroy(struct udma_seq *seq);

#ifdef __cplusplus
}
#endif
#endif
