/*
 * A RAID-6 stripe pipeline as udma sequences: for each stripe, K blocks
 * (each 512 T10-DIF blocks of 512 + 8 bytes) are pulled from an ingest shm
 * segment into temporaries of the sequence, their protection information
 * verified, P and Q computed, and data and parity pushed to a replica shm
 * segment, to a file (a storage domain) and to a remote domain (a region
 * exported over libfabric's tcp provider, here by a second fabric of this
 * same process on 127.0.0.1). One submission and one completion per stripe;
 * no buffer of the client's holds an intermediate result. The far ends
 * check: a child process imports the replica segment (read-only) and
 * verifies data, PI and parity there; the file is read back and the
 * exported region read where it lies, and checked the same way. Storage and
 * remote are skipped, with the reason, where they cannot run.
 *
 *   stripe_pipeline [FILE]     (default stripe_pipeline.dat in the current
 *                               directory; a disk file system, not tmpfs:
 *                               the storage part is skipped there)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <isa-l/raid.h>
#include <udma/udma.h>

#define K 4                       /* data blocks per stripe; P and Q follow */
#define DIFS 512                  /* DIF blocks per block */
#define CHUNK (DIFS * (512 + 8))  /* bytes per block: whole 4 KiB pages too */
#define STRIPES 8

static const struct udma_params dif = { .size = sizeof(dif), .dif_block = 512, .app_tag = 0x5e };
static const struct udma_params pq = { .size = sizeof(pq), .k = K };

static struct iovec at(unsigned stripe, unsigned i, unsigned per)
{
	return (struct iovec){ (void *)((uintptr_t)((size_t)stripe * per + i) * CHUNK), CHUNK };
}

static struct udma_buf in_domain(struct udma_domain *d, struct iovec *iov)
{
	return (struct udma_buf){ .type = UDMA_BUF_DOMAIN, .dom = { .domain = d, .iov = iov, .cnt = 1 } };
}

static int append(struct udma_seq *q, enum udma_func f, struct udma_buf out, const struct udma_buf *in, uint32_t nin,
		  const struct udma_params *p)
{
	struct udma_step s = { .size = sizeof(s), .func = f, .out = out, .in = in, .nin = nin, .params = p };
	return udma_seq_append(q, &s);
}

/* The steps of one stripe. Its iovecs live in iov[] until the completion. */
struct stripe {
	struct iovec src[K], rep[K + 2], file[K + 2], far[K + 2];
	struct udma_buf t[K + 2], srcb[K];
	struct udma_seq *q;
};

/* Where the stripes go besides the replica: a file and a remote region (NULL: skipped). */
struct sinks {
	struct udma_domain *file, *remote;
};

static int stripe_build(struct stripe *s, unsigned n, struct udma_domain *ingest, struct udma_domain *replica,
			const struct sinks *to)
{
	int err = 0;

	if (!(s->q = udma_seq_create(NULL)))
		return -1;
	for (unsigned i = 0; i < K + 2; i++) {
		s->t[i] = UDMA_SEQ_TMP(i, CHUNK);
		s->rep[i] = at(n, i, K + 2);
		s->file[i] = at(n, i, K + 2);
		s->far[i] = at(n, i, K + 2);
	}
	for (unsigned i = 0; i < K && !err; i++) { /* pull */
		s->src[i] = at(n, i, K);
		s->srcb[i] = in_domain(ingest, &s->src[i]);
		err = append(s->q, UDMA_FUNC_COPY, s->t[i], &s->srcb[i], 1, NULL);
	}
	for (unsigned i = 0; i < K && !err; i++) /* check the PI on the way in */
		err = append(s->q, UDMA_FUNC_DIF_VERIFY, (struct udma_buf){ 0 }, &s->t[i], 1, &dif);
	if (!err) {
		struct udma_step p = { .size = sizeof(p), .func = UDMA_FUNC_PQ_GEN, .in = s->t, .nin = K,
				       .outs = &s->t[K], .nouts = 2, .params = &pq };
		err = udma_seq_append(s->q, &p);
	}
	for (unsigned i = 0; i < K + 2 && !err; i++) { /* push: data and parity out */
		err = append(s->q, UDMA_FUNC_COPY, in_domain(replica, &s->rep[i]), &s->t[i], 1, NULL);
		if (!err && to->file)
			err = append(s->q, UDMA_FUNC_COPY, in_domain(to->file, &s->file[i]), &s->t[i], 1, NULL);
		if (!err && to->remote)
			err = append(s->q, UDMA_FUNC_COPY, in_domain(to->remote, &s->far[i]), &s->t[i], 1, NULL);
	}
	return err;
}

/* The DIF verdicts of a completed stripe: 0 if every block's PI held. */
static int stripe_pi_ok(struct udma_seq *q)
{
	for (unsigned i = 0; i < K; i++) {
		struct udma_seq_result r = { .size = sizeof(r) };
		if (udma_seq_step_result(q, K + i, &r) || r.result != UDMA_CMP_EQUAL)
			return -1;
	}
	return 0;
}

/* ---- the far end ----------------------------------------------------------------------------- */

/* A stripe laid out as K + 2 blocks from base: data as ingested, PI good, P and Q right. */
static int stripe_check(struct udma_session *verify, const unsigned char *base, const unsigned char *data)
{
	void *v[K + 2];

	if (memcmp(base, data, (size_t)K * CHUNK))
		return -1;
	for (unsigned i = 0; i < K + 2; i++)
		v[i] = (void *)(base + (size_t)i * CHUNK);
	if (pq_check(K + 2, CHUNK, v))
		return -1;
	for (unsigned i = 0; i < K; i++) {
		struct udma_req *r = udma_req_alloc(verify);
		r->flags = UDMA_REQ_WAIT;
		r->in[0] = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { v[i], CHUNK } };
		r->params = &dif;
		int bad = udma_submit(r) || r->status || r->result != UDMA_CMP_EQUAL;
		udma_req_free(r);
		if (bad)
			return -1;
	}
	return 0;
}

/* In a child: import the replica read-only and check every stripe there. */
static int far_end(int sock, const unsigned char *ingest)
{
	struct udma_domain *rep = udma_shm_import(sock, 5000);
	struct udma_session *verify = udma_session_create(UDMA_FUNC_DIF_VERIFY, NULL);
	int bad = 0;

	if (!rep || !verify || !udma_shm_readonly(rep))
		return 2;
	const unsigned char *base = udma_shm_base(rep, NULL);
	for (unsigned n = 0; n < STRIPES; n++)
		bad += stripe_check(verify, base + (size_t)n * (K + 2) * CHUNK, ingest + (size_t)n * K * CHUNK) != 0;
	udma_session_destroy(verify);
	udma_domain_destroy(rep);
	return bad ? 1 : 0;
}

static int check_replica(struct udma_domain *replica, const unsigned char *ingest)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	fflush(stdout); /* or the child may print what the parent had buffered */
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(far_end(sv[1], ingest));
	}
	close(sv[1]);
	int status = -1, err = pid < 0 || udma_shm_export(replica, sv[0], 1);
	close(sv[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return err || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static int check_file(const char *path, const unsigned char *ingest)
{
	size_t len = (size_t)(K + 2) * CHUNK;
	unsigned char *buf = aligned_alloc(64, len);
	struct udma_session *verify = udma_session_create(UDMA_FUNC_DIF_VERIFY, NULL);
	int fd = open(path, O_RDONLY), bad = 0;

	for (unsigned n = 0; buf && verify && fd >= 0 && n < STRIPES; n++)
		bad += pread(fd, buf, len, (off_t)(n * len)) != (ssize_t)len ||
		       stripe_check(verify, buf, ingest + (size_t)n * K * CHUNK);
	if (!buf || !verify || fd < 0)
		bad = -1;
	if (fd >= 0)
		close(fd);
	udma_session_destroy(verify);
	free(buf);
	return bad;
}

/* The remote end: fabric a exports a region, fabric b imports it as a
 * domain. Both here, over tcp on 127.0.0.1; elsewhere a runs on another host
 * and the descriptor travels as a string (udma fabric serve does this). */
struct remote {
	struct udma_fabric *a, *b;
	unsigned char *mem;
	struct udma_domain *d;
};

static struct udma_domain *open_remote(struct remote *r, size_t len, const char **why)
{
	struct udma_fabric_desc desc;

	*why = "libfabric's tcp provider";
	if (!(r->a = udma_fabric_open(NULL)) || !(r->b = udma_fabric_open(NULL)))
		return NULL;
	*why = "exporting the region";
	if (!(r->mem = aligned_alloc(4096, len)) ||
	    udma_fabric_export(r->a, r->mem, len, UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &desc))
		return NULL;
	*why = "importing the region";
	return r->d = udma_fabric_import(r->b, &desc, "stripe-remote");
}

static void close_remote(struct remote *r)
{
	if (r->d)
		udma_domain_destroy(r->d);
	if (r->b)
		udma_fabric_close(r->b);
	if (r->a)
		udma_fabric_close(r->a);
	free(r->mem);
}

static int check_remote(const unsigned char *mem, const unsigned char *ingest)
{
	struct udma_session *verify = udma_session_create(UDMA_FUNC_DIF_VERIFY, NULL);
	int bad = !verify;

	for (unsigned n = 0; verify && n < STRIPES; n++)
		bad += stripe_check(verify, mem + (size_t)n * (K + 2) * CHUNK, ingest + (size_t)n * K * CHUNK) != 0;
	udma_session_destroy(verify);
	return bad;
}

/* ---- the producer ---------------------------------------------------------------------------- */

/* Random data with good PI in every ingest block (dif-generate, as a device would). */
static int produce(unsigned char *base)
{
	struct udma_session *gen = udma_session_create(UDMA_FUNC_DIF_GENERATE, NULL);
	unsigned x = 12345;

	for (size_t i = 0; i < (size_t)STRIPES * K * CHUNK; i++)
		base[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	for (unsigned b = 0; gen && b < STRIPES * K; b++) {
		struct udma_req *r = udma_req_alloc(gen);
		r->flags = UDMA_REQ_WAIT;
		r->out = (struct udma_buf){ .type = UDMA_BUF_LINEAR, .linear = { base + (size_t)b * CHUNK, CHUNK } };
		r->params = &dif;
		int err = udma_submit(r) || r->status;
		udma_req_free(r);
		if (err)
			return -1;
	}
	return gen ? udma_session_destroy(gen) : -1;
}

static struct udma_domain *open_file(const char *path, int *created)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	*created = fd >= 0;
	if (fd < 0)
		fd = open(path, O_WRONLY);
	if (fd < 0 || ftruncate(fd, (off_t)STRIPES * (K + 2) * CHUNK)) {
		perror(path);
		return NULL;
	}
	close(fd);
	return udma_storage_domain_create(path, NULL);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "stripe_pipeline.dat";
	struct udma_domain *ingest = udma_shm_create("stripe-ingest", (size_t)STRIPES * K * CHUNK, 0);
	struct udma_domain *replica = udma_shm_create("stripe-replica", (size_t)STRIPES * (K + 2) * CHUNK, 0);
	struct stripe *s = calloc(STRIPES, sizeof(*s));
	int created = 0, bad = 0;

	if (!ingest || !replica || !s)
		return perror("setup"), 1;
	unsigned char *data = udma_shm_base(ingest, NULL);
	if (produce(data))
		return fprintf(stderr, "producing the ingest blocks failed\n"), 1;
	struct sinks to = { .file = open_file(path, &created) };
	struct udma_domain *file = to.file;
	if (!file)
		printf("storage: skipped (%s: %s; a disk file system is needed)\n", path, strerror(errno));
	struct remote far = { 0 };
	const char *why;
	if (!(to.remote = open_remote(&far, (size_t)STRIPES * (K + 2) * CHUNK, &why)))
		printf("remote: skipped (%s: %s)\n", why, strerror(errno));

	for (unsigned n = 0; n < STRIPES; n++)
		if (stripe_build(&s[n], n, ingest, replica, &to))
			return fprintf(stderr, "building stripe %u failed\n", n), 1;
	double t0 = now();
	for (unsigned n = 0; n < STRIPES; n++) /* all stripes at once, each one submission */
		if (udma_seq_submit(s[n].q, NULL, NULL))
			return fprintf(stderr, "submitting stripe %u failed\n", n), 1;
	for (unsigned n = 0; n < STRIPES; n++) {
		udma_seq_wait(s[n].q);
		if (udma_seq_status(s[n].q) || stripe_pi_ok(s[n].q)) {
			fprintf(stderr, "stripe %u: status %d at step %d, or bad PI\n", n, udma_seq_status(s[n].q),
				udma_seq_failed_step(s[n].q));
			bad++;
		}
	}
	double secs = now() - t0;
	printf("%u stripes of %u+2 blocks of %u bytes: pulled, PI verified, P+Q, pushed to shm%s%s in %.1f ms "
	       "(%u steps each)\n", STRIPES, K, CHUNK, file ? ", a file" : "", to.remote ? ", a remote region" : "",
	       secs * 1e3, udma_seq_nsteps(s[0].q));
	int rep = check_replica(replica, data);
	printf("replica, checked by another process: %s\n", rep ? "BAD" : "data, PI, P and Q good");
	int fil = file ? check_file(path, data) : 0;
	if (file)
		printf("file, read back: %s\n", fil ? "BAD" : "data, PI, P and Q good");
	int rem = to.remote ? check_remote(far.mem, data) : 0;
	if (to.remote)
		printf("remote region (%s), where it was exported: %s\n", udma_fabric_provider(far.a),
		       rem ? "BAD" : "data, PI, P and Q good");
	for (unsigned n = 0; n < STRIPES; n++)
		udma_seq_destroy(s[n].q);
	free(s);
	close_remote(&far);
	if (file)
		udma_domain_destroy(file);
	if (created)
		unlink(path);
	udma_domain_destroy(replica);
	udma_domain_destroy(ingest);
	return bad || rep || fil || rem ? 1 : 0;
}
