/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mover workload's insides. perf_mover.c runs the points; below it,
 * mover_report.c prints them; the client loops of udma (mover_udma.c),
 * glibc and ISA-L (mover_peers.c) and DPDK's dmadev (mover_dmadev.c) run
 * on the same buffers and time and check results the same way, with what
 * mover_client.c gives them all.
 */
#ifndef UDMA_TOOLS_PERF_MOVER_H
#define UDMA_TOOLS_PERF_MOVER_H

#include <pthread.h>
#include <string.h>

#include "perf.h"

#define PAT8 0x5a
extern const uint8_t mover_pat64[8];

/* One client thread's buffers at one size: inputs shared by its requests
 * (read only), one output per request in flight. */
struct sizebuf {
	char *mem;
	size_t memlen, stride;
	char *in[UDMA_MAX_INPUTS];
	char *out;
	unsigned nout;
};

/* What every result must be, at one size. */
struct ref {
	unsigned char *out; /* expected output; NULL if the function has none */
	uint32_t crc;       /* expected CRC-32C (crc functions) */
	unsigned char *outs; /* the later functions: nouts expected outputs of out_len bytes */
	uint64_t result;     /* the later functions: expected req->result */
};

/* A request in flight (udma) or an operation (peers); its index is its output's. */
struct rec {
	struct udma_req *req;
	struct client *c;
	unsigned idx;
	uint64_t t_sub, t_done; /* ticks; t_sub 0: not timed */
	struct rec *next;       /* callback mode: the completion stack */
};

struct point;

struct client {
	struct point *pt;
	unsigned id;
	struct sizebuf *b;
	struct rec *recs;
	unsigned *freeidx, nfree; /* free output buffers */
	unsigned *fifo, fifo_head, fifo_tail; /* in flight, oldest first (wait mode, dmadev) */
	unsigned inflight;
	unsigned dry;             /* reaps in a row that found nothing */
	struct rec *cbstack;      /* atomic: completions from callbacks */
	struct perf_window win;   /* measuring or not, and when */
	uint64_t ops;             /* measured */
	uint64_t live;            /* relaxed copy of ops, for the progress line */
	unsigned lat_tick;
	const char *ran_name[8];
	uint64_t ran_cnt[8];
	int verify;               /* -y */
	unsigned lat_every;
	int failed;
	char err[240];
	struct perf_hist hist;
	pthread_t th;
};

struct point {
	struct perf_ctx *px;
	const struct perf_engine *eng; /* udma, or NULL for a peer */
	enum perf_peer peer;
	size_t size;
	unsigned depth;
	enum udma_func func;
	int nin, has_out, is_crc;
	/* the later functions (mover_later.c); has_out is 0 for them */
	unsigned nouts;           /* outputs per request */
	int out_single;           /* the one output is req->out (dif-*), not outs[0] */
	uint64_t lost;            /* inputs left NONE (lost blocks) */
	size_t in_len, out_len;   /* bytes per input and output region (dif: not size) */
	size_t region;            /* bytes per buffer region, if not size */
	struct udma_params params;
	const struct ref *ref;
	int phase;                /* atomic: 0 warm-up, 1 measure, 2 stop */
	int stop;                 /* atomic: a client failed */
	struct client *clients;
	unsigned n;
};

/* ---- mover_client.c ---- */

/* Buffers for one client at one size: inputs and nout outputs. */
int sizebuf_alloc(struct sizebuf *b, const struct point *pt, unsigned nout);
void sizebuf_free(struct sizebuf *b);
/* The expected results, computed apart from the code under test. */
int ref_make(struct ref *r, const struct point *pt, const struct sizebuf *b);
void ref_free(struct ref *r);
void client_fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int client_verify_slow(struct client *c, unsigned idx, uint32_t crc, uint64_t cmp, const char *who);
/* Count a completion (latency when timed) if inside the measured window. */
void client_count(struct client *c, uint64_t t_sub, uint64_t t_done);
/* n operations done, none timed (a burst's, counted once). */
void client_count_n(struct client *c, unsigned n);

/* The phase as this client sees it; 1 while it should go on. */
static inline int client_go(struct client *c)
{
	return perf_window_follow(&c->win, &c->pt->phase, &c->ops, &c->hist) && !c->failed;
}

/* Time this one? 1 in lat_every. */
static inline int client_sample(struct client *c)
{
	unsigned every = c->lat_every;

	if (!every || ++c->lat_tick < every)
		return 0;
	c->lat_tick = 0;
	return 1;
}

/* Output o of request idx, for functions with several (outs[]). */
static inline char *client_outs(struct client *c, unsigned idx, unsigned o)
{
	return c->b->out + ((size_t)idx * c->pt->nouts + o) * c->b->stride;
}

static inline char *client_out(struct client *c, unsigned idx)
{
	return c->b->out + (size_t)idx * c->b->stride;
}

static inline void client_fifo_push(struct client *c, unsigned idx)
{
	c->fifo[c->fifo_tail++ % c->pt->depth] = idx;
}

static inline unsigned client_fifo_pop(struct client *c)
{
	return c->fifo[c->fifo_head++ % c->pt->depth];
}

/* ---- mover_later_ref.c: -y for the later functions ---- */

/* Their expected outputs and result, from one client's buffers. */
int mover_later_ref(struct ref *r, const struct point *pt, const struct sizebuf *b);
/* Outputs of request idx before a submit: poisoned, or a known start. */
void mover_later_poison(struct client *c, unsigned idx);
/* Check request idx's outputs and result; 0, or -1 after client_fail(). */
int mover_later_verify(struct client *c, unsigned idx, uint64_t result, const char *who);

/* Poison the output (with -y) so an engine that writes nothing is caught. */
static inline void client_poison(struct client *c, unsigned idx)
{
	const struct point *pt = c->pt;

	if (c->verify && pt->has_out && pt->size)
		memset(client_out(c, idx), pt->ref->out[0] ^ 0xff, pt->size);
	else if (c->verify && pt->nouts)
		mover_later_poison(c, idx);
}

/* Check one result (with -y); 0, or -1 after client_fail(). */
static inline int client_verify(struct client *c, unsigned idx, uint32_t crc, uint64_t cmp, const char *who)
{
	return c->verify ? client_verify_slow(c, idx, crc, cmp, who) : 0;
}

/* ---- the client loops: a pthread start routine each, on a struct client ---- */

void *mover_udma_client(void *arg);  /* mover_udma.c */
void *mover_sync_client(void *arg);  /* mover_peers.c: one call at a time */
void *mover_dmadev_client(void *arg); /* mover_dmadev.c */

/* ---- mover_later.c: the later functions (issue 18) ---- */

/* nin, nouts, lengths and parameters of pt->func (pt->size set). */
void mover_later_shape(struct point *pt);
/* Inputs that let the function run its whole length (matching pattern, P/Q, PI). */
void mover_later_fill(const struct point *pt, struct sizebuf *b);
/* Buffers and parameters of request idx. */
void mover_later_prepare(struct client *c, struct udma_req *req, unsigned idx);

/* ---- mover_peers.c ---- */

const char *mover_peer_label(enum perf_peer p, enum udma_func f);
/* NULL if the peer can run f at size (before the dmadev is set up); else why not. */
const char *mover_peer_missing(enum perf_peer p, enum udma_func f, size_t size);
/* The peers that do f, in table order; how many. */
unsigned mover_peer_columns(enum udma_func f, enum perf_peer *cols);

/* ---- mover_dmadev.c ---- */

/* Set up n dmadevs for the dmadev peer (once); NULL or why not. */
const char *mover_dmadev_setup(unsigned n, unsigned depth, enum udma_func f);
void mover_dmadev_fini(void);

/* ---- mover_report.c ---- */

/* The table of every size, as text or Markdown, and the peers missing. */
void mover_print(struct perf_ctx *px);
/* The JSON of the run, with what the engines learned (they are still registered). */
void mover_json(struct perf_ctx *px);

#endif
