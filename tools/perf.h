/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `udma perf`: what its workloads (movers, pools, translation, domains)
 * share below them: options, results, the measured window and progress
 * line (perf_run.c), the machine (perf_machine.c), report pieces
 * (perf_report.c), the plot (perf_plot.c) and DPDK's EAL (perf_dpdk.c).
 * perf.c, the command line, is above every workload.
 */
#ifndef UDMA_TOOLS_PERF_H
#define UDMA_TOOLS_PERF_H

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <udma/backend.h>
#include <udma/udma.h>

#include "perf_hist.h"
#include "util.h"

#define PERF_MAX_SIZES 64
#define PERF_MAX_ENGINES 16
#define PERF_MAX_THREADS 256
#define PERF_MAX_SIZE (256ul << 20)

enum perf_workload { W_MOVER, W_POOL, W_TRANSLATE, W_DOMAIN, W_STORAGE, W_SEQ };
enum perf_mode { MODE_CALLBACK, MODE_POLL, MODE_WAIT };

/* Peers: the same workload through what people use instead. */
enum perf_peer { PEER_GLIBC, PEER_ISAL, PEER_DMADEV, PEER_MEMPOOL, PEER_COUNT };

enum perf_engine_kind { ENG_CPU, ENG_THREADS, ENG_ERROR, ENG_AUTO };

struct perf_engine {
	char name[48];            /* as registered (and shown); "auto" for the scheduler */
	enum perf_engine_kind kind;
	unsigned workers;         /* threads */
	struct udma_error_opts err; /* error */
	struct udma_engine *e;    /* registered by us; NULL for cpu and auto */
};

struct perf_opts {
	enum perf_workload workload;
	enum udma_func func;
	size_t sizes[PERF_MAX_SIZES];
	unsigned nsizes;
	unsigned depth;
	unsigned threads;
	struct perf_engine engines[PERF_MAX_ENGINES];
	unsigned nengines;
	double duration;          /* seconds measured per point */
	int verify;
	enum perf_mode mode;
	int peers;
	int json, markdown;
	const char *plot;
	unsigned lat_every;       /* time 1 request in N (0: none) */
	int progress;             /* -1: when stderr is a terminal */
	int cpu;                  /* translate: the CPU to pin to (-1: the last allowed) */
	int reps;                 /* repetitions per figure, the median reported */
	double rep_ms;            /* translate: target length of one repetition */
	int no_huge;              /* DPDK's EAL without hugepages */
	unsigned burst;           /* movers: submit and reap N at a time (0: one by one) */
	const char *storage;      /* storage: the file or block device */
	uint64_t storage_size;    /* storage: create the file this big if missing (0: do not) */
	int storage_rw;           /* storage: 0 read, 1 write, 2 randread, 3 randwrite */
};

/* One measured point: an engine or a peer at one size. */
struct perf_result {
	char name[48];            /* engine or peer, as shown */
	int peer;                 /* -1 for udma, else enum perf_peer */
	size_t size;
	unsigned threads, depth;
	uint64_t ops;
	double secs;              /* mean measured window per thread */
	double ops_s;             /* sum over threads of ops / window */
	struct perf_hist *lat;    /* ns, submit to completion seen by the client */
	char ran_on[96];          /* where the scheduler sent the requests */
	char note[96];
	double samples[101];      /* ops/s of each repetition; ops_s is their median */
	unsigned nsamples;
};

struct perf_missing {
	char peer[32];
	char reason[160];
};

/* What a run collects, and where it reports. */
struct perf_ctx {
	struct perf_opts *o;
	struct perf_result *res;
	unsigned nres, cap;
	struct perf_missing missing[16];
	unsigned nmissing;
	int failed;               /* an engine failed or a result was wrong: exit status 1 */
	char why[256];            /* the first failure */
	/* progress line */
	unsigned point, points;
};

/* Set by SIGINT, SIGTERM and SIGHUP (perf.c): every loop stops. */
extern volatile sig_atomic_t perf_interrupted;

/* ---- the workloads, each in its own file; each prints its own table or JSON ---- */
int perf_mover_run(struct perf_ctx *px);     /* perf_mover.c */
int perf_pool_run(struct perf_ctx *px);      /* perf_pool.c */
int perf_translate_run(struct perf_ctx *px); /* perf_translate.c */
int perf_domain_run(struct perf_ctx *px);    /* perf_domain.c */
int perf_storage_run(struct perf_ctx *px);   /* perf_storage.c */
int perf_seq_run(struct perf_ctx *px);       /* perf_seq.c */
/* perf_mover.c: register the engines of -e that udma does not have (threads:N, error), and take them out. */
int perf_engines_start(struct perf_ctx *px);
void perf_engines_stop(struct perf_opts *o);

/* ---- perf_run.c: results, failures, the measured window, the progress line ---- */

/* A client's view of a run's phases (0 warm-up, 1 measure, 2 stop): when
 * measuring starts it zeroes the client's count and histogram and notes the
 * time; when the run stops it notes the time again. */
struct perf_window {
	int seen;      /* phase last seen */
	int measuring;
	double t0, t1;
};

/* Follow *phase; 1 while the client should go on (the caller adds its own failure check). */
static inline int perf_window_follow(struct perf_window *w, const int *phase, uint64_t *count, struct perf_hist *h)
{
	int ph = __atomic_load_n(phase, __ATOMIC_ACQUIRE);

	if (ph != w->seen) {
		if (ph >= 1 && w->seen == 0) {
			*count = 0;
			perf_hist_reset(h);
			w->t0 = tool_now();
			w->measuring = 1;
		}
		if (ph == 2) {
			w->t1 = tool_now();
			w->measuring = 0;
		}
		w->seen = ph;
	}
	return ph < 2;
}
/* The median of v[0..n-1] (n >= 1, at most 101; v is not reordered): the
 * mean of the middle two for even n; the least and most where asked. */
double perf_median(const double *v, unsigned n, double *lo, double *hi);
/* A new row; its index stays valid (the array may move). NULL: out of memory. */
struct perf_result *perf_result_add(struct perf_ctx *px);
/* Rows from `from` on: ops/s becomes the median of the repetitions; rows
 * never measured (interrupted, failed) go. */
void perf_result_finish(struct perf_ctx *px, unsigned from);
void perf_results_free(struct perf_ctx *px);
void perf_missing(struct perf_ctx *px, const char *peer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void perf_fail(struct perf_ctx *px, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int perf_progress_on(const struct perf_ctx *px);
/* Wait until the measured window ends (or stop is set), drawing the progress line. */
void perf_wait(struct perf_ctx *px, double secs, const char *what, const volatile int *stop,
	       uint64_t (*live_ops)(void *arg), void *arg);
/* A point's phases for clients that follow *phase (perf_window_follow): a
 * warm-up of a tenth of the duration (20..200 ms: caches, page tables, the
 * scheduler's learned speeds), the measured window (phase 1), then stop
 * (phase 2). run 0: the clients started; else only stop them. */
void perf_measure(struct perf_ctx *px, int run, int *phase, const volatile int *stop, const char *what,
		  uint64_t (*live_ops)(void *arg), void *arg);
void perf_progress_clear(const struct perf_ctx *px);

/* ---- perf_machine.c: the machine the figures come from ---- */

/* Start counting the CPU time of other processes (at the start of a run). */
void perf_busy_start(void);
/* CPUs other processes kept busy since then, on average; -1 unknown. */
double perf_other_load(void);
/* ns for a cache line to go to another CPU of ours and back (-1: one CPU). */
double perf_cross_cpu_ns(void);
void perf_cpu_model(char *buf, size_t len);

/* ---- perf_report.c: pieces of the tables and the JSON ---- */

const char *perf_mode_name(enum perf_mode m);
void perf_fmt_ops(double v, char *b, size_t n);   /* "12.34 M" */
void perf_fmt_ns(double ns, char *b, size_t n);   /* "123 ns", "4.5 us", "6.7 ms"; "-" for none */
void perf_fmt_ratio(double r, char *b, size_t n); /* "1.23x"; "-" for none */
double perf_gbps(const struct perf_result *r);
/* Print the peers that could not run, with the reasons (text output). */
void perf_print_missing(const struct perf_ctx *px);
/* The "schema", "udma", "workload", "machine" and "peers" every workload writes. */
void perf_json_header(struct jw *w, struct perf_ctx *px, const char *workload);
void perf_json_lat(struct jw *w, const struct perf_hist *h);
/* A result's fields up to "vs" (movers and pools). */
void perf_json_result(struct jw *w, const struct perf_result *r);
void perf_json_missing(struct jw *w, const struct perf_ctx *px);
/* "failed", "error", and the end of the object. */
void perf_json_end(struct jw *w, const struct perf_ctx *px);

/* ---- perf_plot.c ---- */

/* Can a plot be written to file (the name, the directory)? 0, or -1 and why. */
int perf_plot_check(const char *file, char *why, size_t len);
/* Draw GB/s against size per engine and peer into o->plot; 0, or -1 (said why). */
int perf_plot(struct perf_ctx *px);
/* Where gnuplot is ($UDMA_GNUPLOT, else PATH), or NULL. */
const char *perf_gnuplot_path(char *buf, size_t len);

/* ---- perf_dpdk.c: one EAL per process, for every peer that needs it ---- */

/* mem_mb: the EAL's -m; why_not_wanted: leave DPDK out, for this reason. */
int perf_dpdk_init(int cpu, int no_huge, unsigned mem_mb, const char *why_not_wanted);
int perf_dpdk_up(void);
/* The main lcore's CPUs (0), or -1 without DPDK. DPDK's control threads,
 * dma_skeleton's copy thread among them, run outside them. */
int perf_dpdk_client_cpus(cpu_set_t *set);
const char *perf_dpdk_why(void);     /* why the EAL is not up */
const char *perf_dpdk_how(void);     /* the EAL arguments */
const char *perf_dpdk_version(void); /* NULL without DPDK */
void perf_dpdk_fini(void);

#endif
