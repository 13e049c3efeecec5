/* Storage domains: direct I/O through io_uring between DMA memory and a
 * file, a tmpfs file, loop devices (one on a FUSE file that fails reads), with
 * the data checked. */
#include <linux/capability.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <udma/backend.h>
#include <spdk/dma.h>
#include "common.h"

#define MiB (1u << 20)

static char file_path[64];

/* A file of size bytes in the current directory (the build tree: a disk). */
static const char *make_file(size_t size)
{
	struct statfs fs;
	if (!statfs(".", &fs) && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC))
		skip_because("the build directory is on tmpfs: storage domains need a disk file system");
	strcpy(file_path, "storage-test-XXXXXX");
	int fd = mkstemp(file_path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return file_path;
}

static struct udma_domain *open_storage(const char *path, uint32_t flags)
{
	struct udma_storage_opts o = { .size = sizeof(o), .flags = flags, .queue_depth = 8 };
	return udma_storage_domain_create(path, &o);
}

static void fill(void *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(i * 31 + seed + i / 4096);
}

static struct udma_storage_info info_of(struct udma_domain *s)
{
	struct udma_storage_info i = { .size = sizeof(i) };
	assert_int_equal(udma_storage_info(s, &i), 0);
	return i;
}

/* Write from DMA memory at an offset, read it back into other DMA memory. */
static int roundtrip(struct udma_domain *s, void *out, void *in, size_t len, uint64_t off)
{
	struct iovec f = { (void *)(uintptr_t)off, len }, m = { out, len }, r = { in, len };
	int err = udma_domain_push(s, NULL, &f, 1, &m, 1, NULL, NULL);
	if (!err)
		err = udma_domain_pull(s, NULL, &f, 1, &r, 1, NULL, NULL);
	return err;
}

static void test_file_fixed_buffers(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(8 * MiB), 0);
	struct udma_mem a, b;

	assert_non_null(s);
	assert_int_equal(udma_domain_kind(s), UDMA_KIND_STORAGE);
	assert_int_equal(udma_mem_alloc(dev, 2 * MiB, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(dev, 2 * MiB, NULL, &b), 0);
	fill(a.va, 2 * MiB, 1);
	/* whole buffers, then a sub-range of each */
	assert_int_equal(roundtrip(s, a.va, b.va, 2 * MiB, 4 * MiB), 0);
	assert_memory_equal(a.va, b.va, 2 * MiB);
	memset(b.va, 0, 2 * MiB);
	assert_int_equal(roundtrip(s, (char *)a.va + 8192, (char *)b.va + 4096, 64 * 1024, 65536), 0);
	assert_memory_equal((char *)a.va + 8192, (char *)b.va + 4096, 64 * 1024);
	struct udma_storage_info i = info_of(s);
	assert_true(i.fixed_ios >= 4);
	assert_int_equal(i.plain_ios, 0);
	assert_int_equal(i.block_device, 0);
	assert_true(i.offset_align >= 512 && i.mem_align >= 1);
	assert_int_equal(udma_domain_destroy(s), 0);
	udma_mem_free(dev, a.va, a.len);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(dev);
	unlink(file_path);
}

/* Memory udma does not know works through plain reads and writes, counted. */
static void test_unregistered_memory(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), 0);
	char *a = aligned_alloc(4096, 256 * 1024), *b = aligned_alloc(4096, 256 * 1024);

	fill(a, 256 * 1024, 2);
	assert_int_equal(roundtrip(s, a, b, 256 * 1024, 0), 0);
	assert_memory_equal(a, b, 256 * 1024);
	struct udma_storage_info i = info_of(s);
	assert_int_equal(i.fixed_ios, 0);
	assert_true(i.plain_ios >= 2);
	udma_domain_destroy(s);
	free(a), free(b);
	unlink(file_path);
}

/* File and memory pieces of different cuts are paired correctly. */
static void test_scattered(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), 0);
	char *a = aligned_alloc(4096, 128 * 1024), *b = aligned_alloc(4096, 64 * 1024);
	struct iovec f[3] = { { (void *)(uintptr_t)(512 * 1024), 8192 }, { (void *)4096, 40960 },
			      { (void *)(uintptr_t)(900 * 1024), 16384 } };
	struct iovec m[2] = { { a, 12288 }, { a + 16384, 53248 } };

	fill(a, 128 * 1024, 3);
	assert_int_equal(udma_domain_push(s, NULL, f, 3, m, 2, NULL, NULL), 0);
	struct iovec one = { b, 65536 };
	assert_int_equal(udma_domain_pull(s, NULL, f, 3, &one, 1, NULL, NULL), 0);
	assert_memory_equal(a, b, 12288);
	assert_memory_equal(a + 16384, b + 12288, 65536 - 12288);
	udma_domain_destroy(s);
	free(a), free(b);
	unlink(file_path);
}

static void test_alignment_rules(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), 0);
	char *a = aligned_alloc(4096, 16384);
	uint32_t oa = info_of(s).offset_align, ma = info_of(s).mem_align;
	struct iovec f = { (void *)(uintptr_t)(oa / 2), 4096 }, m = { a, 4096 };

	log_capture_start();
	assert_int_equal(udma_domain_push(s, NULL, &f, 1, &m, 1, NULL, NULL), -EINVAL);
	assert_logged("file offsets and lengths in multiples of");
	f.iov_base = 0;
	if (ma > 1) {
		m.iov_base = a + ma / 2;
		assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &m, 1, NULL, NULL), -EINVAL);
		assert_logged("memory addresses in multiples of");
	}
	m = (struct iovec){ a, 4096 - oa / 2 };
	f.iov_len = 4096 - oa / 2;
	assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &m, 1, NULL, NULL), -EINVAL);
	log_capture_stop();
	assert_int_equal(info_of(s).fixed_ios + info_of(s).plain_ios, 0); /* nothing was submitted */
	udma_domain_destroy(s);
	free(a);
	unlink(file_path);
}

static void test_tmpfs_refused(void **state)
{
	struct statfs fs;
	if (statfs("/dev/shm", &fs) || fs.f_type != TMPFS_MAGIC)
		skip_because("/dev/shm is not tmpfs here");
	char path[] = "/dev/shm/udma-storage-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MiB), 0);
	close(fd);
	log_capture_start();
	errno = 0;
	assert_null(open_storage(path, 0));
	assert_int_equal(errno, EINVAL);
	assert_logged("tmpfs");
	log_capture_stop();
	unlink(path);
}

static void test_memzero_and_eof(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), 0);
	char *a = aligned_alloc(4096, 65536), *b = aligned_alloc(4096, 65536);
	struct iovec f = { 0, 65536 }, m = { a, 65536 }, r = { b, 65536 }, z = { (void *)8192, 16384 };

	fill(a, 65536, 4);
	assert_int_equal(udma_domain_push(s, NULL, &f, 1, &m, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_memzero(s, NULL, &z, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &r, 1, NULL, NULL), 0);
	memset(a + 8192, 0, 16384);
	assert_memory_equal(a, b, 65536);
	/* half of it past the end of the file */
	struct iovec past = { (void *)(uintptr_t)(MiB - 32768), 65536 };
	log_capture_start();
	assert_int_equal(udma_domain_pull(s, NULL, &past, 1, &r, 1, NULL, NULL), -ENODATA);
	assert_logged("end of file");
	assert_logged("with 32768 of 65536 bytes moved");
	log_capture_stop();
	udma_domain_destroy(s);
	free(a), free(b);
	unlink(file_path);
}

/* Durable writes, per domain and per request, land like others; bad options are refused. */
static void test_durable(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), UDMA_STORAGE_DSYNC);
	char *a = aligned_alloc(4096, 65536), *b = aligned_alloc(4096, 65536);
	struct udma_storage_req req = { .size = sizeof(req), .flags = UDMA_STORAGE_DSYNC };
	struct iovec f = { 0, 65536 }, m = { a, 65536 }, r = { b, 65536 };

	fill(a, 65536, 5);
	assert_int_equal(roundtrip(s, a, b, 65536, 0), 0);
	assert_memory_equal(a, b, 65536);
	udma_domain_destroy(s);
	s = open_storage(file_path, 0);
	fill(a, 65536, 6);
	assert_int_equal(udma_domain_push(s, &req, &f, 1, &m, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &r, 1, NULL, NULL), 0);
	assert_memory_equal(a, b, 65536);
	udma_domain_destroy(s);
	struct udma_storage_opts bad = { .size = sizeof(bad), .flags = 1u << 31 };
	assert_null(udma_storage_domain_create(file_path, &bad));
	assert_int_equal(errno, EINVAL);
	free(a), free(b);
	unlink(file_path);
}

/* "A bounce path for unaligned requests only when the caller asks for it"
 * (issue 17): reads and writes at any offset, length and address, asked per
 * operation, land exactly as a buffered file would have them; the bytes
 * around them and the file's size are the caller's alone. A model of the
 * file is the oracle, over random requests that cross the bounce's chunks. */
static void test_bounce_on_request(void **state)
{
	enum { SIZE = 3 * MiB };
	struct udma_domain *s = open_storage(make_file(SIZE), 0);
	struct udma_storage_req req = { .size = sizeof(req), .flags = UDMA_STORAGE_BOUNCE };
	unsigned char *model = calloc(1, 4 * MiB), *buf = malloc(2 * MiB + 64), *back = aligned_alloc(4096, 4 * MiB);
	size_t file_size = SIZE;
	struct stat st;

	assert_non_null(s);
	fill(model, SIZE, 9);
	struct iovec all = { 0, SIZE }, whole = { model, SIZE };
	assert_int_equal(udma_domain_push(s, &req, &all, 1, &whole, 1, NULL, NULL), 0);
	srand(17);
	for (int i = 0; i < 120; i++) {
		size_t len = 1 + (size_t)rand() % (i % 10 ? 9000 : 2 * MiB);
		size_t off = (size_t)rand() % (file_size - len);
		if (i % 6 == 1) /* across the end of the file, or past it */
			off = file_size - len / 2 + (size_t)rand() % 3000;
		unsigned char *mem = buf + 1 + rand() % 63; /* never aligned */
		/* two memory pieces: the first of odd length */
		struct iovec f = { (void *)(uintptr_t)off, len }, m[2] = { { mem, len / 3 }, { mem + len / 3, len - len / 3 } };
		if (i % 2) {
			fill(mem, len, (unsigned)i);
			assert_int_equal(udma_domain_push(s, &req, &f, 1, m, 2, NULL, NULL), 0);
			memcpy(model + off, mem, len);
			if (off + len > file_size) {
				memset(model + file_size, 0, off > file_size ? off - file_size : 0);
				file_size = off + len;
			}
		} else if (off + len <= file_size) {
			assert_int_equal(udma_domain_pull(s, &req, &f, 1, m, 2, NULL, NULL), 0);
			assert_memory_equal(mem, model + off, len);
		}
		assert_int_equal(stat(file_path, &st), 0);
		assert_int_equal((size_t)st.st_size, file_size);
	}
	/* the whole file, read without udma */
	int fd = open(file_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, 4 * MiB, 0), (ssize_t)file_size);
	close(fd);
	assert_memory_equal(back, model, file_size);
	/* reading past the end stays an error */
	struct iovec past = { (void *)(uintptr_t)(file_size - 10), 20 }, m1 = { buf + 1, 20 };
	log_capture_start();
	assert_int_equal(udma_domain_pull(s, &req, &past, 1, &m1, 1, NULL, NULL), -ENODATA);
	assert_logged("past the end of the file");
	log_capture_stop();
	udma_domain_destroy(s);
	free(model), free(buf), free(back);
	unlink(file_path);
}

/* Without the flag nothing is bounced (test_alignment_rules); with it on
 * the domain, memzero takes any range too. Bad per-operation options are
 * refused with the reason logged, before anything is moved. */
static void test_bounce_domain_flag(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), UDMA_STORAGE_BOUNCE);
	char *a = aligned_alloc(4096, 65536), *b = aligned_alloc(4096, 65536);
	struct iovec f = { 0, 65536 }, m = { a, 65536 }, r = { b, 65536 }, z = { (void *)1000, 3000 };

	assert_non_null(s);
	fill(a, 65536, 3);
	assert_int_equal(udma_domain_push(s, NULL, &f, 1, &m, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_memzero(s, NULL, &z, 1, NULL, NULL), 0);
	memset(a + 1000, 0, 3000);
	assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &r, 1, NULL, NULL), 0);
	assert_memory_equal(a, b, 65536);
	struct udma_storage_req small = { .size = 4, .flags = 0 }, odd = { .size = sizeof(odd), .flags = UDMA_STORAGE_SQPOLL };
	log_capture_start();
	assert_int_equal(udma_domain_push(s, &small, &f, 1, &m, 1, NULL, NULL), -EINVAL);
	assert_logged("set it to sizeof(struct udma_storage_req)");
	assert_int_equal(udma_domain_pull(s, &odd, &f, 1, &r, 1, NULL, NULL), -EINVAL);
	assert_logged("only DSYNC and BOUNCE apply per operation");
	log_capture_stop();
	udma_domain_destroy(s);
	free(a), free(b);
	unlink(file_path);
}

/* "Pools get an option for page/sector-aligned blocks": a pool whose align
 * and block size follow the domain's rules gives blocks that always qualify,
 * moved as fixed buffers; the default alignment does not promise that. */
static void test_pool_blocks_qualify(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(MiB), 0);
	struct udma_storage_info i = info_of(s);
	struct udma_pool_opts o = { .size = sizeof(o), .block_size = 3 * i.offset_align, .block_count = 16,
				    .align = i.mem_align > i.offset_align ? i.mem_align : i.offset_align };
	struct udma_pool *p = udma_pool_create(dev, &o);
	void *blk[16];

	assert_non_null(p);
	for (int k = 0; k < 16; k++) {
		assert_non_null(blk[k] = udma_pool_get(p));
		fill(blk[k], o.block_size, (unsigned)k);
		struct iovec f = { (void *)(uintptr_t)(k * 4 * (size_t)i.offset_align), o.block_size }, m = { blk[k], o.block_size };
		assert_int_equal(udma_domain_push(s, NULL, &f, 1, &m, 1, NULL, NULL), 0);
	}
	for (int k = 0; k < 16; k++) {
		char *back = aligned_alloc(4096, (o.block_size + 4095) / 4096 * 4096);
		struct iovec f = { (void *)(uintptr_t)(k * 4 * (size_t)i.offset_align), o.block_size }, m = { back, o.block_size };
		assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &m, 1, NULL, NULL), 0);
		assert_memory_equal(back, blk[k], o.block_size);
		free(back);
		assert_int_equal(udma_pool_put(p, blk[k]), 0);
	}
	assert_true(info_of(s).fixed_ios >= 16);
	assert_int_equal(udma_pool_destroy(p, 0), 0);
	udma_domain_destroy(s);
	unlink(file_path);
}

/* SQPOLL rings move the data like others; IOPOLL works or is refused at
 * creation with -EOPNOTSUPP (virtio-blk and loop have no poll queues). */
static void test_sqpoll_iopoll(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(MiB), UDMA_STORAGE_SQPOLL);
	struct udma_mem a, b;

	assert_non_null(s);
	assert_int_equal(udma_mem_alloc(dev, 65536, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(dev, 65536, NULL, &b), 0);
	fill(a.va, 65536, 14);
	assert_int_equal(roundtrip(s, a.va, b.va, 65536, 0), 0);
	assert_memory_equal(a.va, b.va, 65536);
	assert_true(info_of(s).fixed_ios >= 2);
	udma_domain_destroy(s);
	log_capture_start();
	s = open_storage(file_path, UDMA_STORAGE_IOPOLL);
	log_capture_stop();
	if (s) {
		memset(b.va, 0, 65536);
		assert_int_equal(roundtrip(s, a.va, b.va, 65536, 65536), 0);
		assert_memory_equal(a.va, b.va, 65536);
		udma_domain_destroy(s);
	} else {
		assert_int_equal(errno, EOPNOTSUPP);
		assert_logged("poll queues");
	}
	udma_mem_free(dev, a.va, a.len);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(dev);
}

static void spdk_done(void *arg, int status)
{
	*(int *)arg = status + 1;
}

/* SPDK's memory-domain API reaches a storage domain: it is one of its domains. */
static void test_spdk_wraps_storage(void **state)
{
	struct udma_storage_opts o = { .size = sizeof(o), .id = "spdk-file" };
	struct udma_domain *s = udma_storage_domain_create(make_file(MiB), &o);
	char *a = aligned_alloc(4096, 65536), *b = aligned_alloc(4096, 65536);
	struct iovec f = { (void *)(uintptr_t)(128 * 1024), 65536 }, m = { a, 65536 }, r = { b, 65536 };
	int done = 0;

	assert_non_null(s);
	struct spdk_memory_domain *sd = spdk_memory_domain_get_first("spdk-file");
	assert_ptr_equal(sd, (void *)s);
	fill(a, 65536, 15);
	assert_int_equal(spdk_memory_domain_push_data(sd, NULL, &f, 1, &m, 1, spdk_done, &done), 0);
	assert_int_equal(done, 1);
	done = 0;
	assert_int_equal(spdk_memory_domain_pull_data(sd, NULL, &f, 1, &r, 1, spdk_done, &done), 0);
	assert_int_equal(done, 1);
	assert_memory_equal(a, b, 65536);
	assert_null(spdk_memory_domain_get_next(sd, "spdk-file"));
	udma_domain_destroy(s);
	free(a), free(b);
}

/* Freed DMA memory is let go: new memory at the same address is what is written. */
static void test_freed_memory_released(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(MiB), 0);
	struct udma_mem a, b;
	char *check = aligned_alloc(4096, 65536);

	assert_int_equal(udma_mem_alloc(dev, 65536, NULL, &a), 0);
	fill(a.va, 65536, 7);
	assert_int_equal(roundtrip(s, a.va, check, 65536, 0), 0);
	assert_int_equal(udma_mem_free(dev, a.va, a.len), 0);
	assert_int_equal(udma_mem_alloc(dev, 65536, NULL, &b), 0);
	fill(b.va, 65536, 8);
	assert_int_equal(roundtrip(s, b.va, check, 65536, 0), 0);
	assert_memory_equal(b.va, check, 65536);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(s);
	udma_domain_destroy(dev);
	free(check);
	unlink(file_path);
}

/* A mover request whose output or input is a storage buffer: a write or a
 * read. Its status; *engine: where it ran; *crc: imm's CRC (copy-crc32c). */
static int mover_run(struct udma_session *ss, struct udma_buf out, struct udma_buf in, const char **engine,
		     uint32_t *crc)
{
	struct udma_req *r = udma_req_alloc(ss);
	assert_non_null(r);
	r->flags = UDMA_REQ_WAIT;
	r->out = out;
	if (in.type != UDMA_BUF_NONE)
		r->in[0] = in;
	memset(r->imm, 0, sizeof(r->imm));
	int err = udma_submit(r);
	if (!err)
		err = r->status;
	*engine = r->engine;
	if (crc)
		memcpy(crc, r->imm, sizeof(*crc));
	udma_req_free(r);
	return err;
}

/* The bounce reaches the mover through a buffer's domain_ctx: a copy-crc32c
 * from malloc'd memory into a file at an odd offset, and back. */
static void test_bounce_through_mover(void **state)
{
	struct udma_domain *s = open_storage(make_file(MiB), 0);
	struct udma_session *cs = udma_session_create(UDMA_FUNC_COPY_CRC32C, NULL);
	struct udma_storage_req req = { .size = sizeof(req), .flags = UDMA_STORAGE_BOUNCE };
	char *a = malloc(10001), *b = calloc(1, 10001);
	uint32_t wcrc, rcrc;
	const char *eng;

	assert_non_null(s), assert_non_null(cs);
	fill(a, 10001, 21);
	struct iovec f = { (void *)(uintptr_t)777, 10001 };
	struct udma_buf file = { .type = UDMA_BUF_DOMAIN, .dom = { s, &req, &f, 1 } };
	struct udma_buf la = { .type = UDMA_BUF_LINEAR, .linear = { a + 1, 10000 } };
	struct udma_buf lb = { .type = UDMA_BUF_LINEAR, .linear = { b + 1, 10000 } };
	f.iov_len = 10000;
	assert_int_equal(mover_run(cs, file, la, &eng, &wcrc), 0);
	assert_int_equal(mover_run(cs, lb, file, &eng, &rcrc), 0);
	assert_memory_equal(a + 1, b + 1, 10000);
	assert_int_equal(wcrc, rcrc);
	file.dom.domain_ctx = NULL; /* without it, the rule holds */
	assert_int_not_equal(mover_run(cs, lb, file, &eng, &rcrc), 0);
	udma_session_destroy(cs);
	udma_domain_destroy(s);
	free(a), free(b);
	unlink(file_path);
}

static int learned_uring(const struct udma_engine_info *i, void *arg)
{
	if (strcmp(i->name, "uring"))
		return 0;
	for (int c = 0; c < 8; c++)
		*(uint64_t *)arg += i->learned_speed[UDMA_FUNC_COPY][c];
	return 1;
}

/* Mover requests with a storage buffer go to the uring engine: reads and
 * writes on fixed buffers, no bounce; the scheduler learns its speed. */
static void test_mover_copies(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(4 * MiB), 0);
	struct udma_session *ss = udma_session_create(UDMA_FUNC_COPY, NULL);
	struct udma_session *cs = udma_session_create(UDMA_FUNC_COPY_CRC32C, NULL);
	struct udma_session *zs = udma_session_create(UDMA_FUNC_ZERO, NULL);
	struct udma_mem a, b;
	const char *eng;
	uint32_t wcrc, rcrc, mcrc;

	assert_non_null(ss), assert_non_null(cs), assert_non_null(zs);
	assert_int_equal(udma_mem_alloc(dev, MiB, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(dev, MiB, NULL, &b), 0);
	fill(a.va, MiB, 13);
	struct iovec f = { (void *)(uintptr_t)(2 * MiB), MiB }, g = { 0, MiB };
	struct udma_buf file = { .type = UDMA_BUF_DOMAIN, .dom = { s, NULL, &f, 1 } };
	struct udma_buf file0 = { .type = UDMA_BUF_DOMAIN, .dom = { s, NULL, &g, 1 } };
	struct udma_buf la = { .type = UDMA_BUF_LINEAR, .linear = { a.va, MiB } };
	struct udma_buf lb = { .type = UDMA_BUF_LINEAR, .linear = { b.va, MiB } };
	struct udma_buf none = { .type = UDMA_BUF_NONE };
	for (int i = 0; i < 8; i++) { /* a few, so some are timed */
		assert_int_equal(mover_run(ss, file, la, &eng, NULL), 0); /* memory -> file */
		assert_string_equal(eng, "uring");
		assert_int_equal(mover_run(ss, lb, file, &eng, NULL), 0); /* file -> memory */
		assert_string_equal(eng, "uring");
	}
	assert_memory_equal(a.va, b.va, MiB);
	struct udma_storage_info i = info_of(s);
	assert_int_equal(i.plain_ios, 0); /* no bounce: DMA memory straight to the disk */
	assert_true(i.fixed_ios >= 16);
	uint64_t learned = 0;
	udma_engine_foreach(learned_uring, &learned);
	assert_true(learned > 0);
	/* copy-crc32c both ways, checked against the CRC of memory alone */
	assert_int_equal(mover_run(cs, file0, la, &eng, &wcrc), 0);
	memset(b.va, 0, MiB);
	assert_int_equal(mover_run(cs, lb, file0, &eng, &rcrc), 0);
	assert_string_equal(eng, "uring");
	assert_int_equal(mover_run(cs, lb, la, &eng, &mcrc), 0); /* memory to memory: not uring's */
	assert_string_not_equal(eng, "uring");
	assert_int_equal(wcrc, mcrc);
	assert_int_equal(rcrc, mcrc);
	/* file to file, then zero a file range */
	assert_int_equal(mover_run(ss, file, file0, &eng, NULL), 0);
	assert_int_equal(mover_run(zs, file0, none, &eng, NULL), 0);
	assert_string_equal(eng, "uring");
	struct udma_buf lz = { .type = UDMA_BUF_LINEAR, .linear = { b.va, MiB } };
	assert_int_equal(mover_run(ss, lz, file0, &eng, NULL), 0);
	for (size_t k = 0; k < MiB; k++)
		assert_int_equal(((unsigned char *)b.va)[k], 0);
	assert_int_equal(mover_run(ss, lb, file, &eng, NULL), 0);
	assert_memory_equal(a.va, b.va, MiB);
	udma_session_destroy(ss), udma_session_destroy(cs), udma_session_destroy(zs);
	udma_domain_destroy(s);
	udma_mem_free(dev, a.va, a.len);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(dev);
}

/* Threads allocate, write, read back and free DMA memory on one domain
 * while another makes and destroys storage domains: the data stays right
 * (no stale fixed buffer) and nothing deadlocks. */
struct churn {
	struct udma_domain *dev, *s;
	int id, bad;
};

static void *churn_io(void *p)
{
	struct churn *c = p;
	char *check = aligned_alloc(4096, 65536);

	for (int i = 0; i < 100 && !c->bad; i++) {
		struct udma_mem m;
		if (udma_mem_alloc(c->dev, 65536, NULL, &m)) {
			c->bad = 1;
			break;
		}
		fill(m.va, 65536, (unsigned)(c->id * 1000 + i));
		struct iovec f = { (void *)(uintptr_t)(c->id * 65536), 65536 }, mv = { m.va, 65536 }, cv = { check, 65536 };
		if (udma_domain_push(c->s, NULL, &f, 1, &mv, 1, NULL, NULL) ||
		    udma_domain_pull(c->s, NULL, &f, 1, &cv, 1, NULL, NULL) || memcmp(m.va, check, 65536))
			c->bad = 1;
		udma_mem_free(c->dev, m.va, m.len);
	}
	free(check);
	return NULL;
}

static void *churn_domains(void *p)
{
	struct churn *c = p;
	char *buf = aligned_alloc(4096, 4096);
	struct iovec f = { 0, 4096 }, m = { buf, 4096 };

	for (int i = 0; i < 30 && !c->bad; i++) {
		struct udma_domain *s = open_storage(file_path, 0);
		if (!s || udma_domain_pull(s, NULL, &f, 1, &m, 1, NULL, NULL))
			c->bad = 1;
		if (s)
			udma_domain_destroy(s);
	}
	free(buf);
	return NULL;
}

static void test_concurrent_alloc_free(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(MiB), 0);
	struct churn c[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){ dev, s, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, i < 3 ? churn_io : churn_domains, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(c[i].bad, 0);
	}
	struct udma_storage_info in = info_of(s);
	assert_int_equal(in.fixed_ios, 300); /* every write from DMA memory on a fixed buffer */
	assert_int_equal(in.plain_ios, 300); /* every read into malloc'd memory plain */
	udma_domain_destroy(s);
	udma_domain_destroy(dev);
}

/* Many mover requests in flight at once on the uring engine, completions
 * polled: every write lands where it should and reads back. */
static void test_mover_many_in_flight(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(make_file(4 * MiB), 0);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = 64 };
	struct udma_session *ss = udma_session_create(UDMA_FUNC_COPY, &so);
	struct udma_mem a, b;
	struct iovec f[32];
	struct udma_req *r[32];

	assert_non_null(ss);
	assert_int_equal(udma_mem_alloc(dev, 2 * MiB, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(dev, 2 * MiB, NULL, &b), 0);
	fill(a.va, 2 * MiB, 16);
	for (int pass = 0; pass < 2; pass++) { /* 32 writes, then 32 reads */
		for (int i = 0; i < 32; i++) {
			f[i] = (struct iovec){ (void *)(uintptr_t)((31 - i) * 65536), 65536 };
			struct udma_buf file = { .type = UDMA_BUF_DOMAIN, .dom = { s, NULL, &f[i], 1 } };
			struct udma_buf mem = { .type = UDMA_BUF_LINEAR,
						.linear = { (char *)(pass ? b.va : a.va) + i * 65536, 65536 } };
			assert_non_null(r[i] = udma_req_alloc(ss));
			r[i]->out = pass ? mem : file;
			r[i]->in[0] = pass ? file : mem;
			assert_int_equal(udma_submit(r[i]), 0);
		}
		while (udma_session_inflight(ss))
			udma_session_poll(ss, 64);
		for (int i = 0; i < 32; i++) {
			assert_int_equal(r[i]->status, 0);
			assert_string_equal(r[i]->engine, "uring");
			udma_req_free(r[i]);
		}
	}
	assert_memory_equal(a.va, b.va, 2 * MiB);
	udma_session_destroy(ss);
	udma_domain_destroy(s);
	udma_mem_free(dev, a.va, a.len);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(dev);
}

/* ---- under load: truncation, detach ------------------------------------ */

struct loader {
	struct udma_domain *s;
	size_t len;
	int *stop;
	int ok, failed, bad; /* bad: an error other than the expected ones */
};

static void *load(void *p)
{
	struct loader *l = p;
	char *buf = aligned_alloc(4096, l->len);
	struct iovec f = { 0, l->len }, m = { buf, l->len };

	while (!__atomic_load_n(l->stop, __ATOMIC_ACQUIRE)) {
		int err = udma_domain_pull(l->s, NULL, &f, 1, &m, 1, NULL, NULL);
		if (!err)
			l->ok++;
		else if (err == -ENODATA || err == -EIO || err == -ENXIO || err == -ENODEV)
			l->failed++;
		else
			l->bad++;
		if (l->failed > 20)
			break;
	}
	free(buf);
	return NULL;
}

static void run_load(struct udma_domain *s, size_t len, void (*cut)(void *), void *arg, struct loader *out)
{
	pthread_t t[4];
	int stop = 0;

	for (int i = 0; i < 4; i++) {
		out[i] = (struct loader){ .s = s, .len = len, .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL, load, &out[i]), 0);
	}
	usleep(20000);
	cut(arg);
	usleep(50000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void truncate_file(void *path)
{
	assert_int_equal(truncate(path, 0), 0);
}

static void test_truncated_under_load(void **state)
{
	struct udma_domain *s = open_storage(make_file(4 * MiB), 0);
	struct loader l[4];
	int failed = 0;
	char *buf = aligned_alloc(4096, 4096);
	struct iovec f = { 0, 4096 }, m = { buf, 4096 };

	run_load(s, 4 * MiB, truncate_file, file_path, l);
	for (int i = 0; i < 4; i++)
		failed += l[i].failed, assert_int_equal(l[i].bad, 0);
	assert_true(failed > 0); /* every read after the cut fails, none hangs */
	assert_int_equal(udma_domain_pull(s, NULL, &f, 1, &m, 1, NULL, NULL), -ENODATA);
	free(buf);
	udma_domain_destroy(s);
	unlink(file_path);
}

/* ---- devices: loop, on a file or on a failing FUSE file (root) ---------- */

static int sh(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && !fgets(out, (int)len, p))
		out[0] = 0;
	if (out)
		out[strcspn(out, "\n")] = 0;
	return pclose(p);
}

static char loopdev[64];

static void loop_attach(size_t size)
{
	char cmd[128];

	if (geteuid() != 0)
		skip_because("loop devices need root (losetup)");
	make_file(size);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", file_path);
	if (sh(cmd, loopdev, sizeof(loopdev)) || strncmp(loopdev, "/dev/loop", 9)) {
		loopdev[0] = 0;
		unlink(file_path);
		skip_because("losetup -f --show failed (no loop devices in this container?)");
	}
}

static void loop_detach(void)
{
	char cmd[128];
	if (loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loopdev);
		sh(cmd, NULL, 0);
	}
	loopdev[0] = 0;
	unlink(file_path);
}

static char mnt_dir[64];
static char fuse_dir[64];
static pid_t fuse_pid;

/* The FUSE file system the loop device sits on: unmounted, its server reaped. */
static void fuse_stop(void)
{
	char cmd[160];
	if (!fuse_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null", fuse_dir);
	for (int i = 0; i < 250 && sh(cmd, NULL, 0); i++)
		usleep(20000);
	if (fuse_pid > 0) {
		kill(fuse_pid, SIGTERM);
		waitpid(fuse_pid, NULL, 0);
	}
	rmdir(fuse_dir);
	fuse_dir[0] = 0, fuse_pid = 0;
}

/* After every case, passed or failed: no device or file left behind. */
static int cleanup(void **state)
{
	char cmd[160];
	if (mnt_dir[0]) {
		/* after a failure the domain may be open still */
		snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null", mnt_dir);
		for (int i = 0; i < 250 && sh(cmd, NULL, 0); i++)
			usleep(20000);
		rmdir(mnt_dir);
		mnt_dir[0] = 0;
	}
	loop_detach();
	fuse_stop();
	return 0;
}

static void test_loop_device(void **state)
{
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA);
	struct udma_mem a, b;

	loop_attach(8 * MiB);
	struct udma_domain *s = open_storage(loopdev, 0);
	assert_non_null(s);
	struct udma_storage_info i = info_of(s);
	assert_int_equal(i.block_device, 1);
	assert_int_equal(i.capacity, 8 * MiB);
	assert_int_equal(udma_mem_alloc(dev, MiB, NULL, &a), 0);
	assert_int_equal(udma_mem_alloc(dev, MiB, NULL, &b), 0);
	fill(a.va, MiB, 9);
	assert_int_equal(roundtrip(s, a.va, b.va, MiB, 7 * MiB), 0);
	assert_memory_equal(a.va, b.va, MiB);
	struct iovec past = { (void *)(uintptr_t)(8 * MiB - 4096), 8192 }, m = { b.va, 8192 };
	assert_int_equal(udma_domain_pull(s, NULL, &past, 1, &m, 1, NULL, NULL), -ERANGE);
	assert_true(info_of(s).fixed_ios >= 2);
	udma_domain_destroy(s);
	udma_mem_free(dev, a.va, a.len);
	udma_mem_free(dev, b.va, b.len);
	udma_domain_destroy(dev);
	loop_detach();
}

static void detach_loop(void *arg)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loopdev);
	sh(cmd, NULL, 0);
}

/* A loop device detached under load: the kernel detaches it once the last
 * opener closes it, so I/O goes on or fails cleanly; none hangs or is lost. */
static void test_loop_detached_under_load(void **state)
{
	struct loader l[4];

	loop_attach(4 * MiB);
	struct udma_domain *s = open_storage(loopdev, 0);
	assert_non_null(s);
	run_load(s, MiB, detach_loop, NULL, l);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l[i].bad, 0), assert_true(l[i].ok + l[i].failed > 0);
	udma_domain_destroy(s);
	loop_detach();
}

/* A loop device on tests/helpers/fuse_badfile's file: size bytes, reads of
 * [bad, bad + bad_len) fail with EIO, in the block device too. */
static void fuse_loop_attach(size_t size, size_t bad, size_t bad_len)
{
	char helper[PATH_MAX], cmd[256], disk[96];
	ssize_t n = readlink("/proc/self/exe", helper, sizeof(helper) - 32);
	struct stat st;

	if (geteuid() != 0)
		skip_because("loop devices need root (losetup)");
	assert_true(n > 0);
	helper[n] = 0;
	strcpy(strrchr(helper, '/'), "/fuse_badfile");
	if (access(helper, X_OK) || access("/dev/fuse", R_OK | W_OK))
		skip_because("no tests/fuse_badfile (libfuse3-dev missing at build time) or no /dev/fuse");
	strcpy(fuse_dir, "/tmp/udma-fuse-XXXXXX");
	assert_non_null(mkdtemp(fuse_dir));
	char sz[24], off[24], len[24];
	snprintf(sz, sizeof(sz), "%zu", size), snprintf(off, sizeof(off), "%zu", bad), snprintf(len, sizeof(len), "%zu", bad_len);
	if (!(fuse_pid = fork())) {
		execl(helper, helper, fuse_dir, sz, off, len, (char *)NULL);
		_exit(127);
	}
	snprintf(disk, sizeof(disk), "%s/disk", fuse_dir);
	for (int i = 0; i < 250 && (stat(disk, &st) || (size_t)st.st_size != size); i++)
		usleep(20000);
	if (stat(disk, &st))
		skip_because("the FUSE server did not come up (mount refused?)");
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", disk);
	if (sh(cmd, loopdev, sizeof(loopdev)) || strncmp(loopdev, "/dev/loop", 9)) {
		loopdev[0] = 0;
		skip_because("losetup -f --show failed (no loop devices in this container?)");
	}
}

/* "EIO and ENOSPC fail just the requests they hit, each completed once": a
 * block device whose second half fails reads. */
static void test_eio_fails_only_its_request(void **state)
{
	fuse_loop_attach(4 * MiB, 2 * MiB, 2 * MiB);
	struct udma_domain *s = open_storage(loopdev, 0);
	char *a = aligned_alloc(4096, MiB), *b = aligned_alloc(4096, MiB);
	assert_non_null(s);
	fill(a, MiB, 10);
	assert_int_equal(roundtrip(s, a, b, MiB, MiB), 0);
	assert_memory_equal(a, b, MiB);
	struct iovec bad = { (void *)(uintptr_t)(2 * MiB), MiB }, both = { (void *)(uintptr_t)(MiB + MiB / 2), MiB };
	struct iovec m = { b, MiB };
	assert_int_equal(udma_domain_pull(s, NULL, &bad, 1, &m, 1, NULL, NULL), -EIO);
	assert_int_equal(udma_domain_pull(s, NULL, &both, 1, &m, 1, NULL, NULL), -EIO);
	memset(b, 0, MiB);
	assert_int_equal(roundtrip(s, a, b, MiB, MiB), 0); /* the good half still works */
	assert_memory_equal(a, b, MiB);
	udma_domain_destroy(s);
	free(a), free(b);
	cleanup(NULL);
}

/* A write error (EFBIG past RLIMIT_FSIZE, the errno ENOSPC would give on a
 * full disk here) fails the request it hits, after the short part of it was
 * written, and only that one. */
static int fsize_child(struct udma_domain *s)
{
	struct rlimit rl = { 2 * MiB, 2 * MiB };
	char *a = aligned_alloc(4096, MiB), *b = aligned_alloc(4096, MiB);
	struct iovec past = { (void *)(uintptr_t)(2 * MiB), MiB }, across = { (void *)(uintptr_t)(3 * MiB / 2), MiB };
	struct iovec m = { a, MiB };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 2;
	fill(a, MiB, 12);
	if (udma_domain_push(s, NULL, &past, 1, &m, 1, NULL, NULL) != -EFBIG)
		return 3;
	if (udma_domain_push(s, NULL, &across, 1, &m, 1, NULL, NULL) != -EFBIG)
		return 4;
	/* the part below the limit was written: short write continued, then the error */
	struct iovec lo = { (void *)(uintptr_t)(3 * MiB / 2), MiB / 2 }, r = { b, MiB / 2 };
	if (udma_domain_pull(s, NULL, &lo, 1, &r, 1, NULL, NULL) || memcmp(a, b, MiB / 2))
		return 5;
	return roundtrip(s, a, b, MiB, 0) || memcmp(a, b, MiB) ? 6 : 0;
}

static void test_write_error_fails_its_request(void **state)
{
	int st;
	struct udma_domain *s = open_storage(make_file(2 * MiB), 0);

	assert_non_null(s);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fsize_child(s));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	udma_domain_destroy(s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A full file system (ext4 of 16 MiB on a loop device): the write that
 * meets ENOSPC fails, what was written before reads back, and so does a
 * write that fits in a block already allocated. */
static void test_enospc_fails_its_request(void **state)
{
	char cmd[256], path[128];

	loop_attach(16 * MiB);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -O ^has_journal %s >/dev/null 2>&1", loopdev);
	strcpy(mnt_dir, "/var/tmp/udma-mnt-XXXXXX");
	if (sh(cmd, NULL, 0) || !mkdtemp(mnt_dir)) {
		mnt_dir[0] = 0;
		skip_because("mkfs.ext4 failed or no mkfs.ext4");
	}
	snprintf(cmd, sizeof(cmd), "mount %s %s 2>/dev/null", loopdev, mnt_dir);
	if (sh(cmd, NULL, 0)) {
		rmdir(mnt_dir);
		mnt_dir[0] = 0;
		skip_because("mount failed (no ext4 mounts in this container?)");
	}
	snprintf(path, sizeof(path), "%s/f", mnt_dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	struct udma_domain *s = open_storage(path, 0);
	char *a = aligned_alloc(4096, 32 * MiB), *b = aligned_alloc(4096, MiB);
	assert_non_null(s);
	fill(a, 32 * MiB, 17);
	assert_int_equal(roundtrip(s, a, b, MiB, 0), 0); /* fits */
	assert_memory_equal(a, b, MiB);
	struct iovec big = { (void *)(uintptr_t)MiB, 32 * MiB }, m = { a, 32 * MiB };
	assert_int_equal(udma_domain_push(s, NULL, &big, 1, &m, 1, NULL, NULL), -ENOSPC);
	memset(b, 0, MiB);
	struct iovec f0 = { 0, MiB }, r = { b, MiB };
	assert_int_equal(udma_domain_pull(s, NULL, &f0, 1, &r, 1, NULL, NULL), 0);
	assert_memory_equal(a, b, MiB);
	fill(a, MiB, 18); /* blocks already there: no space needed */
	assert_int_equal(roundtrip(s, a, b, MiB, 0), 0);
	assert_memory_equal(a, b, MiB);
	udma_domain_destroy(s);
	free(a), free(b);
	/* destroyed: the file is closed, the file system can go at once */
	snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null", mnt_dir);
	assert_int_equal(sh(cmd, NULL, 0), 0);
	rmdir(mnt_dir);
	mnt_dir[0] = 0;
	cleanup(NULL);
}

/* ---- RLIMIT_MEMLOCK too small ------------------------------------------- */

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	return (int)syscall(SYS_capset, &h, d);
}

static int memlock_child(void)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	/* io_uring charges a ring's registrations to its creator unless it had CAP_IPC_LOCK */
	if (drop_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 2;
	struct udma_domain *dev = test_domain(UDMA_ADDR_VA), *s = open_storage(file_path, 0);
	struct udma_mem a;
	char *b = aligned_alloc(4096, MiB);

	if (!s || udma_mem_alloc(dev, MiB, NULL, &a))
		return 2;
	log_capture_start();
	fill(a.va, MiB, 11);
	for (int i = 0; i < 3; i++)
		if (roundtrip(s, a.va, b, MiB, 0) || memcmp(a.va, b, MiB))
			return 3;
	const char *log = log_capture_stop();
	const char *w = strstr(log, "RLIMIT_MEMLOCK");
	if (!w || strstr(w + 1, "RLIMIT_MEMLOCK"))
		return 4; /* one warning, not one per I/O */
	struct udma_storage_info i = info_of(s);
	return i.fixed_disabled == 1 && i.plain_ios >= 6 && i.fixed_ios == 0 ? 0 : 5;
}

static void test_memlock_fallback(void **state)
{
	int st;

	make_file(MiB);
	pid_t pid = fork();
	if (pid == 0)
		_exit(memlock_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(file_path);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_file_fixed_buffers, cleanup),
		cmocka_unit_test_teardown(test_unregistered_memory, cleanup),
		cmocka_unit_test_teardown(test_scattered, cleanup),
		cmocka_unit_test_teardown(test_alignment_rules, cleanup),
		cmocka_unit_test_teardown(test_tmpfs_refused, cleanup),
		cmocka_unit_test_teardown(test_memzero_and_eof, cleanup),
		cmocka_unit_test_teardown(test_durable, cleanup),
		cmocka_unit_test_teardown(test_bounce_on_request, cleanup),
		cmocka_unit_test_teardown(test_bounce_domain_flag, cleanup),
		cmocka_unit_test_teardown(test_bounce_through_mover, cleanup),
		cmocka_unit_test_teardown(test_pool_blocks_qualify, cleanup),
		cmocka_unit_test_teardown(test_sqpoll_iopoll, cleanup),
		cmocka_unit_test_teardown(test_spdk_wraps_storage, cleanup),
		cmocka_unit_test_teardown(test_freed_memory_released, cleanup),
		cmocka_unit_test_teardown(test_mover_copies, cleanup),
		cmocka_unit_test_teardown(test_mover_many_in_flight, cleanup),
		cmocka_unit_test_teardown(test_concurrent_alloc_free, cleanup),
		cmocka_unit_test_teardown(test_truncated_under_load, cleanup),
		cmocka_unit_test_teardown(test_loop_device, cleanup),
		cmocka_unit_test_teardown(test_loop_detached_under_load, cleanup),
		cmocka_unit_test_teardown(test_eio_fails_only_its_request, cleanup),
		cmocka_unit_test_teardown(test_write_error_fails_its_request, cleanup),
		cmocka_unit_test_teardown(test_enospc_fails_its_request, cleanup),
		cmocka_unit_test_teardown(test_memlock_fallback, cleanup),
	};
	return tests_run(tests, NULL, NULL);
}
