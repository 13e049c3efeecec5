/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma's fabric path against a plain libfabric loop, in the same run, on
 * the same provider, against the same exported region.
 *
 * A server process (this program, exec'd with --server) exports 64 MiB
 * through udma and serves it with udma's progress thread. The client
 * measures, in alternating slices so drift hits all alike:
 *   plain    fi_write / fi_read with `depth` in flight, one thread posting
 *            and reading the CQ: the same hints udma uses (RDM, RMA,
 *            FI_DELIVERY_COMPLETE, FI_THREAD_SAFE), its own fabric;
 *   engine   the mover's fabric engine, POLL session, fabric with manual
 *            progress: the client thread submits and polls, as plain does;
 *   domain   udma_domain_push/pull with callbacks, progress thread: a
 *            client thread posts while its window has room;
 *   chained  the same, but each callback posts the next operation (the
 *            plain loop's shape: the thread that reads completions posts).
 * 1 MiB requests for throughput, 64 B and 4 KiB for requests per second.
 * A second table: one request at a time, plain against synchronous domain
 * operations (no callback: the caller waits, on the progress thread's fabric).
 * Each figure is the median of the repetitions.
 *
 * usage: bench_fabric [-d SEC] [-r REPS] [-q DEPTH] [-p PROVIDER] [-s]
 * (-s: the one-at-a-time table only)
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <udma/backend.h>
#include <udma/udma.h>

#define REGION (64u << 20)

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_fabric: %s: %s\n", what, err > 0 ? fi_strerror(err) : strerror(-err));
	exit(1);
}

/* ---- server ----------------------------------------------------------------------- */

static int server(const char *provider)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .provider = provider };
	struct udma_fabric *f = udma_fabric_open(&o);
	struct udma_fabric_desc d;
	char s[UDMA_FABRIC_DESC_STR_MAX];
	char *mem = calloc(1, REGION);

	alarm(900);
	if (!f || !mem || udma_fabric_export(f, mem, REGION, UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &d) ||
	    udma_fabric_desc_encode(&d, s, sizeof(s)) < 0)
		return 1;
	printf("%s\n", s);
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	udma_fabric_close(f);
	free(mem);
	return 0;
}

/* ---- plain libfabric ------------------------------------------------------------------ */

struct plain {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_cq *cq;
	struct fid_av *av;
	struct fid_ep *ep;
	struct fid_mr *mr;
	void *ldesc;
	fi_addr_t peer;
	char *buf;
};

#define CHECK(call) do { int rc_ = (int)(call); if (rc_) die(#call, -rc_); } while (0)

static void plain_open(struct plain *p, const char *provider, const struct udma_fabric_desc *d)
{
	struct fi_info *h = fi_allocinfo();
	h->ep_attr->type = FI_EP_RDM;
	h->caps = FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
	h->mode = FI_CONTEXT | FI_CONTEXT2;
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
	h->domain_attr->threading = FI_THREAD_SAFE;
	h->tx_attr->op_flags = FI_DELIVERY_COMPLETE; /* the completion level udma gives */
	h->fabric_attr->prov_name = strdup(provider);
	CHECK(fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), "127.0.0.1", NULL, FI_SOURCE, h, &p->info));
	fi_freeinfo(h);
	CHECK(fi_fabric(p->info->fabric_attr, &p->fabric, NULL));
	CHECK(fi_domain(p->fabric, p->info, &p->domain, NULL));
	struct fi_cq_attr ca = { .format = FI_CQ_FORMAT_CONTEXT, .size = 1024, .wait_obj = FI_WAIT_NONE };
	CHECK(fi_cq_open(p->domain, &ca, &p->cq, NULL));
	struct fi_av_attr aa = { .type = FI_AV_TABLE };
	CHECK(fi_av_open(p->domain, &aa, &p->av, NULL));
	CHECK(fi_endpoint(p->domain, p->info, &p->ep, NULL));
	CHECK(fi_ep_bind(p->ep, &p->cq->fid, FI_TRANSMIT | FI_RECV));
	CHECK(fi_ep_bind(p->ep, &p->av->fid, 0));
	CHECK(fi_enable(p->ep));
	if (fi_av_insert(p->av, d->addr, 1, &p->peer, 0, NULL) != 1)
		die("fi_av_insert", -EINVAL);
	p->buf = calloc(1, REGION);
	if (p->info->domain_attr->mr_mode & FI_MR_LOCAL) {
		CHECK(fi_mr_reg(p->domain, p->buf, REGION, FI_READ | FI_WRITE, 0, 0x4242, 0, &p->mr, NULL));
		p->ldesc = fi_mr_desc(p->mr);
	}
}

static void plain_close(struct plain *p)
{
	if (p->mr)
		fi_close(&p->mr->fid);
	fi_close(&p->ep->fid);
	fi_close(&p->av->fid);
	fi_close(&p->cq->fid);
	fi_close(&p->domain->fid);
	fi_close(&p->fabric->fid);
	fi_freeinfo(p->info);
	free(p->buf);
}

/* depth requests of n bytes in flight for secs: ops/s. */
static double plain_run(struct plain *p, const struct udma_fabric_desc *d, int write, size_t n, unsigned depth,
			double secs)
{
	static struct fi_context2 ctx[4096];
	struct fi_cq_entry e[64];
	size_t slots = REGION / n < depth ? REGION / n : depth;
	long sent = 0, done = 0;
	double t0 = now_s(), end = t0 + secs;
	int stopping = 0;

	while (!stopping || done < sent) {
		if (!stopping && now_s() >= end)
			stopping = 1;
		while (!stopping && sent - done < (long)depth) {
			size_t k = (size_t)(sent % (long)slots);
			ssize_t rc = write ? fi_write(p->ep, p->buf + k * n, n, p->ldesc, p->peer, d->base + k * n, d->key,
						      &ctx[sent % depth])
					   : fi_read(p->ep, p->buf + k * n, n, p->ldesc, p->peer, d->base + k * n, d->key,
						     &ctx[sent % depth]);
			if (rc == -FI_EAGAIN)
				break;
			if (rc)
				die("posting", (int)-rc);
			sent++;
		}
		ssize_t got = fi_cq_read(p->cq, e, 64);
		if (got > 0) {
			done += got;
		} else if (got == -FI_EAVAIL) {
			struct fi_cq_err_entry ee = { 0 };
			fi_cq_readerr(p->cq, &ee, 0);
			die("completion", ee.err);
		}
	}
	return (double)done / (now_s() - t0);
}

/* ---- udma: the engine, client-driven progress ---------------------------------------------- */

struct eng {
	struct udma_fabric *fab;
	struct udma_domain *r;
	struct udma_engine *e;
	struct udma_session *s;
	char *buf;
	struct iovec *rv;
	long done;
	int errors;
};

static void eng_cb(struct udma_req *q)
{
	struct eng *g = q->cookie;
	g->done++; /* POLL mode: runs in udma_session_poll, on the client thread */
	if (q->status)
		g->errors++;
}

static void eng_open(struct eng *g, const char *provider, const struct udma_fabric_desc *d, unsigned depth)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .provider = provider, .flags = UDMA_FABRIC_MANUAL_PROGRESS,
				      .depth = depth };
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = depth, .engine = "fabric" };
	g->fab = udma_fabric_open(&o);
	g->r = g->fab ? udma_fabric_import(g->fab, d, "bench-engine") : NULL;
	g->e = g->r ? udma_fabric_engine_create(g->fab, NULL) : NULL;
	g->s = g->e ? udma_session_create(UDMA_FUNC_COPY, &so) : NULL;
	if (!g->s)
		die("setting up the fabric engine", -errno);
	g->buf = calloc(1, REGION);
	g->rv = calloc(depth, sizeof(*g->rv));
}

static void eng_close(struct eng *g)
{
	udma_session_destroy(g->s);
	udma_engine_unregister(g->e);
	udma_domain_destroy(g->r);
	udma_fabric_close(g->fab);
	free(g->buf);
	free(g->rv);
}

/* The session's requests come back to the pool when the client frees them: in the callback. */
static void eng_cb_free(struct udma_req *q)
{
	eng_cb(q);
	udma_req_free(q);
}

static double eng_run(struct eng *g, int write, size_t n, unsigned depth, double secs)
{
	size_t slots = REGION / n < depth ? REGION / n : depth;
	long sent = 0;
	double t0 = now_s(), end = t0 + secs;

	g->done = 0;
	g->errors = 0;
	for (;;) {
		int stopping = now_s() >= end;
		while (!stopping && sent - g->done < (long)depth) {
			struct udma_req *q = udma_req_alloc(g->s);
			if (!q)
				break; /* delivered but not yet freed: poll first */
			size_t k = (size_t)(sent % (long)slots);
			unsigned i = (unsigned)(sent % depth);
			g->rv[i] = (struct iovec){ (void *)(uintptr_t)(k * n), n };
			struct udma_buf lb = { .type = UDMA_BUF_LINEAR, .linear = { g->buf + k * n, n } };
			struct udma_buf rb = { .type = UDMA_BUF_DOMAIN, .dom = { g->r, NULL, &g->rv[i], 1 } };
			q->out = write ? rb : lb;
			q->in[0] = write ? lb : rb;
			q->cb = eng_cb_free;
			q->cookie = g;
			int rc = udma_submit(q);
			if (rc)
				die("udma_submit", rc);
			sent++;
		}
		if (stopping && g->done == sent)
			break;
		udma_session_poll(g->s, 64);
	}
	if (g->errors)
		die("engine requests", -EIO);
	return (double)g->done / (now_s() - t0);
}

/* ---- udma: domain operations, progress thread ---------------------------------------------- */

struct dom {
	struct udma_fabric *fab;
	struct udma_domain *r;
	char *buf;
	struct iovec *rv, *lv;
	long done;   /* atomic */
	int errors;  /* atomic */
	/* chained: each of `depth` chains re-posts from its callback until stop */
	struct chain *chains;
	int write, stop;  /* stop: atomic */
	long counted;     /* atomic: completions while measuring */
	int measuring;    /* atomic */
};

struct chain {
	struct dom *m;
	unsigned i;
};

static void dom_cb(void *arg, int status)
{
	struct dom *m = arg;
	if (status)
		__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->done, 1, __ATOMIC_RELEASE);
}

static void dom_open(struct dom *m, const char *provider, const struct udma_fabric_desc *d, unsigned depth)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .provider = provider, .depth = depth };
	m->fab = udma_fabric_open(&o);
	m->r = m->fab ? udma_fabric_import(m->fab, d, "bench-domain") : NULL;
	if (!m->r)
		die("setting up the remote domain", -errno);
	m->buf = calloc(1, REGION);
	m->rv = calloc(depth, sizeof(*m->rv));
	m->lv = calloc(depth, sizeof(*m->lv));
	m->chains = calloc(depth, sizeof(*m->chains));
	if (!m->buf || !m->rv || !m->lv || !m->chains)
		die("memory for the domain client", -ENOMEM);
}

static void dom_close(struct dom *m)
{
	udma_domain_destroy(m->r);
	udma_fabric_close(m->fab);
	free(m->buf);
	free(m->rv);
	free(m->lv);
	free(m->chains);
}

static double dom_run(struct dom *m, int write, size_t n, unsigned depth, double secs)
{
	size_t slots = REGION / n < depth ? REGION / n : depth;
	long sent = 0;
	double t0 = now_s(), end = t0 + secs;

	m->done = 0;
	m->errors = 0;
	while (now_s() < end) {
		if (sent - __atomic_load_n(&m->done, __ATOMIC_ACQUIRE) >= (long)depth) {
			sched_yield();
			continue;
		}
		size_t k = (size_t)(sent % (long)slots);
		unsigned i = (unsigned)(sent % depth);
		m->rv[i] = (struct iovec){ (void *)(uintptr_t)(k * n), n };
		m->lv[i] = (struct iovec){ m->buf + k * n, n };
		int rc = write ? udma_domain_push(m->r, NULL, &m->rv[i], 1, &m->lv[i], 1, dom_cb, m)
			       : udma_domain_pull(m->r, NULL, &m->rv[i], 1, &m->lv[i], 1, dom_cb, m);
		if (rc)
			die("domain operation", rc);
		sent++;
	}
	while (__atomic_load_n(&m->done, __ATOMIC_ACQUIRE) < sent)
		sched_yield();
	if (m->errors)
		die("domain operations", -EIO);
	return (double)sent / (now_s() - t0);
}

static int chain_post(struct chain *ch);

/* On the progress thread: one of chain ch's operations is done; the next goes out from here. */
static void chain_cb(void *arg, int status)
{
	struct chain *ch = arg;
	struct dom *m = ch->m;

	if (status)
		__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&m->measuring, __ATOMIC_RELAXED))
		__atomic_add_fetch(&m->counted, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE) && !status && !chain_post(ch))
		return;
	__atomic_add_fetch(&m->done, 1, __ATOMIC_RELEASE); /* this chain has ended */
}

static int chain_post(struct chain *ch)
{
	struct dom *m = ch->m;
	unsigned i = ch->i;
	int rc = m->write ? udma_domain_push(m->r, NULL, &m->rv[i], 1, &m->lv[i], 1, chain_cb, ch)
			  : udma_domain_pull(m->r, NULL, &m->rv[i], 1, &m->lv[i], 1, chain_cb, ch);
	if (rc)
		__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	return rc;
}

static void sleep_s(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&t, NULL);
}

/* depth chains of operations, each posted by the callback of the one
 * before; the client thread only starts them and sleeps. Counted over
 * secs after a tenth of it, so the start and the stop stay out. */
static double dom_chain_run(struct dom *m, int write, size_t n, unsigned depth, double secs)
{
	size_t slots = REGION / n < depth ? REGION / n : depth;

	m->done = 0;
	m->errors = 0;
	m->counted = 0;
	m->write = write;
	__atomic_store_n(&m->stop, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < depth; i++) {
		size_t k = i % slots;
		m->chains[i] = (struct chain){ m, i };
		m->rv[i] = (struct iovec){ (void *)(uintptr_t)(k * n), n };
		m->lv[i] = (struct iovec){ m->buf + k * n, n };
	}
	for (unsigned i = 0; i < depth; i++)
		if (chain_post(&m->chains[i]))
			die("domain operation", -EIO);
	sleep_s(secs / 10);
	__atomic_store_n(&m->measuring, 1, __ATOMIC_RELAXED);
	double t0 = now_s();
	sleep_s(secs);
	__atomic_store_n(&m->measuring, 0, __ATOMIC_RELAXED);
	double t1 = now_s();
	__atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&m->done, __ATOMIC_ACQUIRE) < (long)depth)
		sleep_s(0.001);
	if (m->errors)
		die("chained domain operations", -EIO);
	return (double)__atomic_load_n(&m->counted, __ATOMIC_RELAXED) / (t1 - t0);
}

/* One synchronous operation at a time (no callback: the caller waits for each). */
static double dom_sync_run(struct dom *m, int write, size_t n, double secs)
{
	size_t slots = 1; /* as plain_run() has for 1 in flight: the same buffer, cache-hot */
	long sent = 0;
	double t0 = now_s(), end = t0 + secs;

	while (now_s() < end) {
		size_t k = (size_t)(sent % (long)slots);
		struct iovec rv = { (void *)(uintptr_t)(k * n), n }, lv = { m->buf + k * n, n };
		int rc = write ? udma_domain_push(m->r, NULL, &rv, 1, &lv, 1, NULL, NULL)
			       : udma_domain_pull(m->r, NULL, &rv, 1, &lv, 1, NULL, NULL);
		if (rc)
			die("synchronous domain operation", rc);
		sent++;
	}
	return (double)sent / (now_s() - t0);
}

/* ---- main -------------------------------------------------------------------------------- */

/* Other work on the machine skews every figure: say how much there was. */
static void loadavg(const char *when)
{
	char l[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(l, sizeof(l), f))
			l[0] = 0;
		fclose(f);
	}
	l[strcspn(l, "\n")] = 0;
	printf("load average %s: %s\n", when, l);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *size_name(size_t n, char *sz, size_t cap)
{
	snprintf(sz, cap, n >= 1 << 20 ? "%zu MiB" : n >= 1024 ? "%zu KiB" : "%zu B",
		 n >= 1 << 20 ? n >> 20 : n >= 1024 ? n >> 10 : n);
	return sz;
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* This process's CPU time (all its threads: udma's progress thread too) per operation, µs. */
static double cpu_per_op(double cpu0, double wall0, double rate)
{
	return 1e6 * (cpu_s() - cpu0) / (rate * (now_s() - wall0));
}

/*
 * One at a time: plain (1 in flight) against synchronous domain operations.
 * The client's CPU time per operation says what a third thread costs
 * whatever the machine's load; the rates depend on it.
 */
static void sync_table(struct plain *p, struct dom *m, const struct udma_fabric_desc *d, int reps, double secs)
{
	static const size_t sizes[] = { 64, 4096, 1 << 20 };

	printf("\n| request | direction | plain fi_write/read, 1 in flight | udma domain op, synchronous | vs plain | ratio per slice, min-max | client CPU per op, plain / udma |\n");
	printf("|---:|---|---:|---:|---:|---:|---:|\n");
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		for (int w = 1; w >= 0; w--) {
			double a[99], b[99], q[99], ca[99], cb[99];
			plain_run(p, d, w, n, 1, 0.1);
			dom_sync_run(m, w, n, 0.1);
			for (int r = 0; r < reps; r++) {
				double c0 = cpu_s(), w0 = now_s();
				a[r] = plain_run(p, d, w, n, 1, secs);
				ca[r] = cpu_per_op(c0, w0, a[r]);
				c0 = cpu_s(), w0 = now_s();
				b[r] = dom_sync_run(m, w, n, secs);
				cb[r] = cpu_per_op(c0, w0, b[r]);
				q[r] = b[r] / a[r];
			}
			double pa = median(a, reps), pb = median(b, reps), pca = median(ca, reps), pcb = median(cb, reps);
			qsort(q, (size_t)reps, sizeof(*q), cmp_d);
			char sz[32];
			size_name(n, sz, sizeof(sz));
			if (n >= 65536)
				printf("| %s | %s | %.2f GB/s | %.2f GB/s | %.0f%% | %.0f-%.0f%% | %.0f / %.0f µs |\n", sz,
				       w ? "push (fi_write)" : "pull (fi_read)", pa * (double)n / 1e9, pb * (double)n / 1e9,
				       100 * pb / pa, 100 * q[0], 100 * q[reps - 1], pca, pcb);
			else
				printf("| %s | %s | %.0f ops/s | %.0f ops/s | %.0f%% | %.0f-%.0f%% | %.1f / %.1f µs |\n", sz,
				       w ? "push (fi_write)" : "pull (fi_read)", pa, pb, 100 * pb / pa, 100 * q[0],
				       100 * q[reps - 1], pca, pcb);
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	const char *provider = "tcp;ofi_rxm";
	double secs = 0.5;
	int reps = 5, c, only_sync = 0;
	unsigned depth = 16;

	if (argc == 3 && !strcmp(argv[1], "--server"))
		return server(argv[2]);
	while ((c = getopt(argc, argv, "d:r:q:p:sh")) != -1) {
		switch (c) {
		case 's': only_sync = 1; break;
		case 'd': secs = atof(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'q': depth = (unsigned)atoi(optarg); break;
		case 'p': provider = optarg; break;
		default:
			fprintf(stderr, "usage: bench_fabric [-d SEC] [-r REPS] [-q DEPTH] [-p PROVIDER] [-s]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (secs <= 0 || reps < 1 || reps > 99 || depth < 1 || depth > 4096) {
		fprintf(stderr, "bench_fabric: bad option value\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	/* the server */
	int in[2], out[2];
	if (pipe(in) || pipe(out))
		die("pipe", -errno);
	pid_t pid = fork();
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/proc/self/exe", argv[0], "--server", provider, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	char line[512];
	FILE *f = fdopen(out[0], "r");
	struct udma_fabric_desc d;
	if (!f || !fgets(line, sizeof(line), f) || udma_fabric_desc_decode(line, &d))
		die("reading the server's descriptor", -EPROTO);

	struct plain p = { 0 };
	struct eng g = { 0 };
	struct dom m = { 0 };
	plain_open(&p, provider, &d);
	eng_open(&g, provider, &d, depth);
	dom_open(&m, provider, &d, depth);
	printf("bench_fabric: provider %s, %u in flight, %d x %.2f s slices per figure (median), loopback\n",
	       p.info->fabric_attr->prov_name, depth, reps, secs);
	loadavg("before");
	if (only_sync)
		goto sync;
	printf("\n| request | direction | plain fi_%s loop | udma engine (client polls) | vs plain | udma domain op (progress thread) | vs plain | chained in callbacks | vs plain |\n",
	       "write/read");
	printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
	static const size_t sizes[] = { 1 << 20, 64, 4096 };
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		for (int w = 1; w >= 0; w--) {
			double a[99], b[99], cc[99], ch[99];
			/* warm up each: connections, caches */
			plain_run(&p, &d, w, n, depth, 0.1);
			eng_run(&g, w, n, depth, 0.1);
			dom_run(&m, w, n, depth, 0.1);
			dom_chain_run(&m, w, n, depth, 0.1);
			for (int r = 0; r < reps; r++) { /* alternate, so drift hits all alike */
				a[r] = plain_run(&p, &d, w, n, depth, secs);
				b[r] = eng_run(&g, w, n, depth, secs);
				cc[r] = dom_run(&m, w, n, depth, secs);
				ch[r] = dom_chain_run(&m, w, n, depth, secs);
			}
			double pa = median(a, reps), pb = median(b, reps), pc = median(cc, reps), ph = median(ch, reps);
			char sz[32];
			size_name(n, sz, sizeof(sz));
			if (n >= 65536)
				printf("| %s | %s | %.2f GB/s | %.2f GB/s | %.0f%% | %.2f GB/s | %.0f%% | %.2f GB/s | %.0f%% |\n", sz,
				       w ? "push (fi_write)" : "pull (fi_read)", pa * (double)n / 1e9, pb * (double)n / 1e9,
				       100 * pb / pa, pc * (double)n / 1e9, 100 * pc / pa, ph * (double)n / 1e9, 100 * ph / pa);
			else
				printf("| %s | %s | %.0f ops/s | %.0f ops/s | %.0f%% | %.0f ops/s | %.0f%% | %.0f ops/s | %.0f%% |\n",
				       sz, w ? "push (fi_write)" : "pull (fi_read)", pa, pb, 100 * pb / pa, pc, 100 * pc / pa, ph,
				       100 * ph / pa);
			fflush(stdout);
		}
	}
sync:
	sync_table(&p, &m, &d, reps, secs);
	printf("\n");
	loadavg("after");
	dom_close(&m);
	eng_close(&g);
	plain_close(&p);
	close(in[1]); /* the server sees EOF and exits */
	int st;
	waitpid(pid, &st, 0);
	return 0;
}
