/*
 * Domains facing hostile or vanished peers:
 * - "An importer must never die from what a peer does to its own fd": a
 *   peer that sends an unsealed memfd or a regular file (and would truncate
 *   it after the import, making every access SIGBUS) is refused at import,
 *   read-write and read-only; a properly sealed memfd is taken, and its
 *   exporter can no longer shrink it. A read-only segment must also be
 *   sealed against writes.
 * - "udma_shm_import(-1, -1) blocks forever": a negative fd is EBADF at once.
 * - "Process domains follow a pid, not a process": after the target exits
 *   and its pid goes to a new process, pull and push are -ESRCH and the new
 *   process is untouched.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The segment header as udma writes it (lib/domain/shm.c). */
struct wire {
	uint64_t magic;
	uint32_t version;
	uint32_t readonly;
	uint64_t size;
	char id[UDMA_DOMAIN_ID_MAX + 1];
};

/* NOT_WRITE_SEALED: sealed against resizing but not writes, sent as read-only */
enum source { UNSEALED_MEMFD, REGULAR_FILE, GROW_SEALED_ONLY, NOT_WRITE_SEALED, SEALED };

#define SEG 65536

static int make_fd(enum source src, int readonly)
{
	int fd;
	if (src == REGULAR_FILE) {
		char path[] = "/tmp/udma-hostile-XXXXXX";
		fd = mkstemp(path);
		unlink(path);
	} else {
		fd = memfd_create("hostile", MFD_ALLOW_SEALING);
	}
	if (fd < 0 || ftruncate(fd, SEG))
		return -1;
	int seals = src == GROW_SEALED_ONLY ? F_SEAL_GROW
		    : src == SEALED || src == NOT_WRITE_SEALED ? F_SEAL_GROW | F_SEAL_SHRINK : 0;
	if (src == SEALED && readonly)
		seals |= F_SEAL_FUTURE_WRITE;
	if (seals && fcntl(fd, F_ADD_SEALS, seals))
		return -1;
	return fd;
}

static void send_segment(int sock, int fd, int readonly)
{
	struct wire w = { .magic = 0x314d485341444d55ull, .version = 1, .readonly = (uint32_t)readonly, .size = SEG };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	strcpy(w.id, "hostile");
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != (ssize_t)sizeof(w))
		_exit(2);
}

/* A child exports src; once the parent has imported (or refused), the child
 * truncates the segment to nothing if it can, then says whether it could. */
static void one_exporter(enum source src, int readonly)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		close(sv[0]);
		int fd = make_fd(src, readonly);
		if (fd < 0)
			_exit(3);
		send_segment(sv[1], fd, readonly);
		char go;
		if (read(sv[1], &go, 1) != 1)
			_exit(4);
		char shrunk = ftruncate(fd, 0) == 0;
		_exit(write(sv[1], &shrunk, 1) == 1 ? 0 : 5);
	}
	close(sv[1]);
	struct udma_domain *d = udma_shm_import(sv[0], 5000);
	int err = errno;
	char go = 1, shrunk = 0;
	assert_int_equal(write(sv[0], &go, 1), 1);
	assert_int_equal(read(sv[0], &shrunk, 1), 1);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (src != SEALED) {
		assert_null(d);
		assert_int_equal(err, EPROTO);
		close(sv[0]);
		return;
	}
	/* taken: the exporter cannot shrink it, and every byte reads */
	assert_non_null(d);
	assert_int_equal(shrunk, 0);
	static char buf[SEG];
	struct iovec at = { (void *)0, SEG }, to = { buf, SEG };
	assert_int_equal(udma_domain_pull(d, NULL, &at, 1, &to, 1, NULL, NULL), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
	close(sv[0]);
}

static void test_hostile_exporters(void **state)
{
	for (int ro = 0; ro <= 1; ro++) {
		one_exporter(UNSEALED_MEMFD, ro);
		one_exporter(REGULAR_FILE, ro);
		one_exporter(GROW_SEALED_ONLY, ro);
		one_exporter(SEALED, ro);
	}
	one_exporter(NOT_WRITE_SEALED, 1); /* "read-only" that its exporter may still write */
}

static void test_import_bad_fd(void **state)
{
	assert_null(udma_shm_import(-1, -1));
	assert_int_equal(errno, EBADF);
}

/* Put the next process on pid `want` (root: /proc/sys/kernel/ns_last_pid). */
static pid_t fork_on_pid(pid_t want, int *pipe_w)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	for (int tries = 0; tries < 20; tries++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		if (!f)
			return -1;
		fprintf(f, "%d", (int)want - 1);
		fclose(f);
		pid_t pid = fork();
		if (!pid) {
			static char mem[64] = "new process";
			char c;
			close(pfd[1]);
			if (read(pfd[0], &c, 1) < 0) /* until the parent is done */
				_exit(1);
			_exit(strcmp(mem, "new process") ? 7 : 0); /* untouched? */
		}
		if (pid == want) {
			close(pfd[0]);
			*pipe_w = pfd[1];
			return pid;
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void test_process_pid_reuse(void **state)
{
	static char mem[64] = "new process"; /* same address in every fork of this test */
	if (getuid() != 0)
		skip_because("forcing pid reuse needs root (/proc/sys/kernel/ns_last_pid)");
	pid_t old = fork();
	if (!old) {
		pause();
		_exit(0);
	}
	struct udma_domain *p = udma_process_domain_create(old, "first");
	assert_non_null(p);
	kill(old, SIGKILL);
	waitpid(old, NULL, 0);
	int pipe_w = -1;
	pid_t again = fork_on_pid(old, &pipe_w);
	if (again < 0)
		skip_because("could not get pid %d again", (int)old);
	char out[16] = { 0 };
	struct iovec r = { mem, 11 }, l = { out, 11 }, w = { "overwritten", 11 };
	assert_int_equal(udma_domain_pull(p, NULL, &r, 1, &l, 1, NULL, NULL), -ESRCH);
	assert_int_equal(udma_domain_push(p, NULL, &r, 1, &w, 1, NULL, NULL), -ESRCH);
	assert_int_equal(udma_domain_memzero(p, NULL, &r, 1, NULL, NULL), -ESRCH);
	assert_int_equal(out[0], 0);
	close(pipe_w);
	int st;
	waitpid(again, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* its memory was never written */
	assert_int_equal(udma_domain_destroy(p), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_hostile_exporters),
		cmocka_unit_test(test_import_bad_fd),
		cmocka_unit_test(test_process_pid_reuse),
	};
	return tests_run(t, NULL, NULL);
}
