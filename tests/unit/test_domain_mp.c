/*
 * Domains across real processes: shared-memory export/import over a Unix
 * socket (fork, and fork+exec of this program as the peer), read-only
 * exports that cannot be written, peers that die, and a process domain
 * whose target dies mid-transfer.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static char self[4096];

static int wait_status(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The exec'd peer: import a read-only segment and try every way to write it. */
static int peer_readonly(int sock)
{
	struct udma_domain *d = udma_shm_import(sock, 5000);
	if (!d)
		return 20;
	size_t size;
	char *base = udma_shm_base(d, &size);
	if (!udma_shm_readonly(d) || strcmp(base + 8, "read me"))
		return 21;
	struct iovec at = { (void *)8, 4 }, src = { "evil", 4 };
	if (udma_domain_push(d, NULL, &at, 1, &src, 1, NULL, NULL) != -EACCES)
		return 22;
	if (udma_domain_memzero(d, NULL, &at, 1, NULL, NULL) != -EACCES)
		return 23;
	if (mprotect(base, size, PROT_READ | PROT_WRITE) == 0)
		return 24;
	/* reopening the fd read-write does not give a writable mapping: the segment is sealed */
	for (int fd = 3; fd < 64; fd++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		int rw = open(path, O_RDWR);
		if (rw < 0)
			continue;
		void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
		close(rw);
		if (m == MAP_FAILED)
			continue;
		/* the segment is the fd whose bytes hold the creator's text: mapped writable, it fails */
		int writable_segment = !strcmp((char *)m + 8, "read me");
		munmap(m, size);
		if (writable_segment)
			return 25;
	}
	/* and it cannot be re-exported read-write */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (udma_shm_export(d, sv[0], 0) != -EPERM)
		return 26;
	return udma_domain_destroy(d) ? 27 : 0;
}

/* RW export to a forked child, which writes; the parent sees every byte. */
static void test_export_import_rw(void **state)
{
	struct udma_domain *d = udma_shm_create("mp-rw", 1 << 20, 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		close(sv[0]);
		struct udma_domain *m = udma_shm_import(sv[1], 5000);
		if (!m || strcmp(udma_domain_id(m), "mp-rw") || udma_shm_readonly(m))
			_exit(1);
		char chunk[4096];
		for (size_t off = 0; off < (1 << 20); off += sizeof(chunk)) {
			for (size_t i = 0; i < sizeof(chunk); i++)
				chunk[i] = (char)((off + i) * 31);
			struct iovec at = { (void *)off, sizeof(chunk) }, s = { chunk, sizeof(chunk) };
			if (udma_domain_push(m, NULL, &at, 1, &s, 1, NULL, NULL))
				_exit(2);
		}
		_exit(udma_domain_destroy(m) ? 3 : 0);
	}
	close(sv[1]);
	assert_int_equal(udma_shm_export(d, sv[0], 0), 0);
	assert_int_equal(wait_status(pid), 0);
	size_t size;
	char *base = udma_shm_base(d, &size);
	for (size_t i = 0; i < size; i++)
		if (base[i] != (char)(i * 31))
			fail_msg("byte %zu", i);
	close(sv[0]);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* "read-only exports enforced by the mapping's protection" — in an exec'd peer */
static void test_export_readonly_exec(void **state)
{
	struct udma_domain *d = udma_shm_create("mp-ro", 8192, 0);
	size_t size;
	char *base = udma_shm_base(d, &size);
	int sv[2];
	strcpy(base + 8, "read me");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		char fd[16];
		close(sv[0]);
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		execl(self, self, "--peer-readonly", fd, (char *)NULL);
		_exit(99);
	}
	close(sv[1]);
	assert_int_equal(udma_shm_export(d, sv[0], 1), 0);
	assert_int_equal(wait_status(pid), 0);
	/* the creator still writes through its own mapping */
	strcpy(base + 8, "still mine");
	/* after a read-only export, read-write exports are refused */
	int sv2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	assert_int_equal(udma_shm_export(d, sv2[0], 0), -EPERM);
	close(sv[0]);
	close(sv2[0]);
	close(sv2[1]);
	assert_int_equal(udma_domain_destroy(d), 0);
}

/* a peer that dies, or never speaks, or speaks garbage: an error, never a hang */
static void test_import_failures(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid)
		_exit(0); /* dies without sending */
	close(sv[1]);
	assert_int_equal(wait_status(pid), 0);
	assert_null(udma_shm_import(sv[0], 2000));
	assert_int_equal(errno, ECONNRESET);
	close(sv[0]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_null(udma_shm_import(sv[0], 50));
	assert_int_equal(errno, ETIMEDOUT);
	char junk[300] = "not a segment";
	assert_int_equal(write(sv[1], junk, sizeof(junk)), sizeof(junk));
	assert_null(udma_shm_import(sv[0], 1000));
	assert_int_equal(errno, EPROTO);
	close(sv[0]);
	close(sv[1]);
}

/* process domain: the target is killed while transfers run; the caller gets -ESRCH promptly */
static void test_process_peer_dies_mid_transfer(void **state)
{
	static char area[1 << 20];
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (!pid) {
		memset(area, 'z', sizeof(area));
		char go = 1;
		if (write(pfd[1], &go, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char go;
	assert_int_equal(read(pfd[0], &go, 1), 1);
	struct udma_domain *p = udma_process_domain_create(pid, "victim");
	static char out[1 << 20];
	struct iovec r = { area, sizeof(area) }, l = { out, sizeof(out) };
	int rc = 0, n = 0;
	time_t t0 = time(NULL);
	while (rc == 0 && time(NULL) - t0 < 10) {
		rc = udma_domain_pull(p, NULL, &r, 1, &l, 1, NULL, NULL);
		if (++n == 20)
			kill(pid, SIGKILL); /* mid-stream */
	}
	assert_int_equal(out[12345], 'z');
	/* a zombie still has its memory until reaped; after waitpid it is gone */
	waitpid(pid, NULL, 0);
	if (rc == 0)
		rc = udma_domain_pull(p, NULL, &r, 1, &l, 1, NULL, NULL);
	assert_true(rc == -ESRCH || rc == -EFAULT);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(udma_domain_destroy(p), 0);
	close(pfd[0]);
	close(pfd[1]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--peer-readonly"))
		return peer_readonly(atoi(argv[2]));
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_import_rw),
		cmocka_unit_test(test_export_readonly_exec),
		cmocka_unit_test(test_import_failures),
		cmocka_unit_test(test_process_peer_dies_mid_transfer),
	};
	return tests_run(tests, NULL, NULL);
}
