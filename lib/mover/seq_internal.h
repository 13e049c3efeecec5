/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal view of sequences (include/udma/sequence.h, docs/sequences.md). */
#ifndef UDMA_LIB_SEQ_H
#define UDMA_LIB_SEQ_H

#include <pthread.h>
#include <udma/sequence.h>

#include "../core/iov.h"
#include "../core/log.h"

/* What an operand is, for resolving it when its step runs. */
enum opnd_kind {
	OPND_NONE = 0,
	OPND_LOCAL,   /* linear, iovecs, or a domain whose addresses are VAs: passed on as is */
	OPND_TMP,     /* a temporary: a piece of the sequence's arena (or, elided, the copy's source) */
	OPND_VIEW,    /* a domain with local views (shm, device): passed on as those views */
	OPND_FOREIGN, /* a domain without (process, remote, custom, storage): bounced */
};

struct seq_opnd {
	struct udma_buf buf;  /* as appended */
	enum opnd_kind kind;
	size_t len;
	struct iovbuf *view;  /* OPND_VIEW: this process's views, made when the step runs */
	struct iovec bounce;  /* OPND_FOREIGN: its piece of the bounce area while the step runs */
};

struct seq_step {
	enum udma_func func;
	struct seq_sess *ss;    /* the sequence's session for its function and engine */
	uint32_t flags;
	uint8_t imm[8];
	int has_params;
	struct udma_params params;
	int single_out;         /* the one output goes to req->out (first ABI, DIF) */
	uint32_t nin, nout;
	struct seq_opnd *opnd;  /* nin inputs, then nout outputs */
	struct udma_buf *rin, *rout; /* what its request gets: in[] and outs[] (or out) point here */
	int dynamic;            /* some operand is a view or foreign: resolved when the step runs */
	int foreign_in, foreign_out; /* operands to pull before, push after */
	size_t bounce_need;     /* bytes of bounce buffer its foreign operands take */
	int elided;             /* a copy into a temporary whose readers read the source */
	int by_domain;          /* a copy with one side foreign: that domain's own pull or push, no engine */
	int arrived;            /* atomic: its request's completion is in res (this run) */
	/* outcome of the latest run */
	struct udma_seq_result res;
};

/* A session of the sequence (a function, on the sequence's engine or a
 * step's own), with the one request its steps take turns at: a sequence
 * runs one step at a time. */
struct seq_sess {
	enum udma_func func;
	char *engine;           /* NULL: the sequence's */
	struct udma_session *s;
	struct udma_req *req;   /* its cookie: this */
	struct udma_seq *seq;
	unsigned step;          /* the step its request runs, set before each submission */
	struct seq_sess *next;
};

enum seq_state { SEQ_IDLE = 0, SEQ_WAITING, SEQ_RUNNING, SEQ_DONE };

/* Where the running sequence is within its current step. */
enum seq_phase {
	PH_DEPS = 0,  /* waiting for the sequences it comes after */
	PH_START,     /* step cur next: abort check, operands, pulls */
	PH_PULLING,   /* bounce pulls in flight */
	PH_SUBMIT,    /* pulls done: hand the step to its session */
	PH_RUNNING,   /* the step's request in flight, until the step's arrived */
	PH_STEPPED,   /* its completion arrived (step_status) */
	PH_PUSHING,   /* bounce pushes in flight */
	PH_PUSHED,    /* pushes done */
};

/* A sequence waiting for another: one node per udma_seq_after(). */
struct seq_wait {
	struct udma_seq *seq;
	struct seq_wait *next;
	int linked;             /* in the other's list (under its lock) */
};

struct udma_seq {
	enum udma_compl_mode mode;
	char *engine;           /* NULL: auto */
	struct seq_sess *sess[UDMA_FUNC_END]; /* on the sequence's engine, made on the first step of each function */
	struct seq_sess *sessions; /* all of them, those of steps that name an engine too */
	struct seq_step *steps;
	unsigned nsteps, cap;
	/* temporaries: length and place in the arena; written by some step */
	size_t tmp_len[UDMA_SEQ_MAX_TMP], tmp_off[UDMA_SEQ_MAX_TMP];
	uint32_t tmp_written;
	const struct seq_opnd *tmp_alias[UDMA_SEQ_MAX_TMP]; /* elided: read this instead */
	int planned;            /* elision and arena sizes match the steps */
	int resolved;           /* steps' fixed operands (local, temporaries) are in their rin/rout */
	void *arena;            /* temporaries, then the bounce area */
	size_t arena_len, bounce_off;
	/* dependencies */
	struct udma_seq *deps[UDMA_SEQ_MAX_DEPS];
	struct seq_wait wait[UDMA_SEQ_MAX_DEPS];
	unsigned ndeps;
	unsigned dep_pending;   /* atomic: deps not yet complete, + 1 while registering */
	int dep_failed;         /* atomic */
	pthread_mutex_t lock;   /* completion against dependents registering */
	struct seq_wait *waiters;  /* under lock */
	int last_status;        /* under lock: the latest completion's, for those registering after it
				 * (status itself is reset by a resubmission, which takes no lock) */
	struct udma_seq *ready_next; /* in a completing sequence's list of those to start */
	/* the run */
	int state;              /* enum seq_state, atomic */
	int aborted;            /* atomic */
	unsigned kicks;         /* atomic: events to process; the thread that takes it from 0 runs them */
	int posted;             /* atomic, POLL mode: an event from another thread, for the poller */
	enum seq_phase phase;   /* atomic: a step's completion sets it from the engine's thread */
	unsigned cur, ndone;
	unsigned chain_end;     /* steps before it were handed over with cur's (submit_chain) */
	int status, failed;
	int step_status;        /* the current step's request's, or the first bounce error */
	unsigned ops_pending;   /* atomic: bounce pulls or pushes in flight, + 1 while issuing */
	int ops_err;            /* atomic: the first of their errors */
	udma_seq_cb cb;
	void *cookie;
	unsigned generation;    /* atomic: completions delivered */
};

/* sequence.c */
/* An event for q: run it here (the thread that takes it from idle runs
 * until nothing is left), or leave it for the poller (POLL mode, elsewhere). */
UDMA_HIDDEN void _udma_seq_kick(struct udma_seq *q);
/* Sequences (a ready_next list) whose dependencies are met, from inside a
 * runner: kicked when this thread's outermost runner is done. */
UDMA_HIDDEN void _udma_seq_release(struct udma_seq *list);

/* seq_run.c: the state machine, one event at a time (only ever one thread in it). */
UDMA_HIDDEN void _udma_seq_advance(struct udma_seq *q);
/* Start a submission: state and results reset, dependencies registered. */
UDMA_HIDDEN int _udma_seq_start(struct udma_seq *q);
/* Its sessions' request callback. */
UDMA_HIDDEN void _udma_seq_step_done(struct udma_req *req);
/* Take seq out of the waiting lists of its dependencies (abort while waiting). */
UDMA_HIDDEN void _udma_seq_unwait(struct udma_seq *q);

/* seq_operands.c: operand kinds and lengths at append; buffers when a step runs. */
UDMA_HIDDEN int _udma_seq_opnd_classify(struct seq_opnd *o, const struct udma_buf *b);
/* The buffer the step's request gets for operand o; foreign operands get
 * their piece of the bounce area at *bounce (advanced). */
UDMA_HIDDEN int _udma_seq_opnd_buf(struct udma_seq *q, struct seq_opnd *o, int write, char **bounce,
				   struct udma_buf *out);
UDMA_HIDDEN void _udma_seq_opnd_fini(struct seq_opnd *o);
/* Every step's local and temporary operands into its rin/rout (after the plan). */
UDMA_HIDDEN void _udma_seq_resolve_fixed(struct udma_seq *q);

/* seq_bounce.c: pulls before a step, pushes after; 1 when all are done at once. */
UDMA_HIDDEN int _udma_seq_pull(struct udma_seq *q, struct seq_step *st);
UDMA_HIDDEN int _udma_seq_push(struct udma_seq *q, struct seq_step *st);
/* Plan a step's foreign operands: whether a copy goes straight through the
 * domain (by_domain), what to pull and push, the bounce bytes it needs. */
UDMA_HIDDEN void _udma_seq_plan_bounce(const struct udma_seq *q, struct seq_step *st);
/* A by_domain copy: the foreign side pulled into, or pushed from, the
 * other side's memory directly; 1 when done at once, <0 if it cannot start. */
UDMA_HIDDEN int _udma_seq_copy_by_domain(struct udma_seq *q, struct seq_step *st);

/* seq_elide.c: which copies may be skipped, and the arena's layout. */
UDMA_HIDDEN void _udma_seq_plan(struct udma_seq *q);

#endif
