/*
 * Failures the machine's set-up causes say what is wrong and what to do,
 * without a debug switch: udma_strerror_last() in the failing thread, and
 * one warning line per reason per process, printed even at the default
 * level (core.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <udma/pool.h>
#include "common.h"

#define K4 4096ul
#define M2 (2ul << 20)
#define G1 (1ul << 30)


static char *self_exe;

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* An allocation in 1 GiB pages, which machines rarely have free. */
static int alloc_1g(struct udma_domain *d)
{
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_HUGE_1G };
	struct udma_mem m;
	int err = udma_mem_alloc(d, K4, &o, &m);
	if (!err)
		udma_mem_free(d, m.va, m.len);
	return err;
}

static void need_no_free_1g(void)
{
	if (udma_hugepages_free(G1, -1) > 0)
		skip_because("1 GiB hugepages are free here: allocations in them do not fail");
}

/* "no free hugepages": the reason names the page size and the sysctl; the
 * warning comes once however often it happens; success clears the reason */
static void test_no_hugepages(void **state)
{
	need_no_free_1g();
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	log_capture_start();
	assert_int_equal(alloc_1g(d), -ENOMEM);
	assert_non_null(strstr(udma_strerror_last(), "1048576 kB hugepages"));
	assert_non_null(strstr(udma_strerror_last(), "vm.nr_hugepages"));
	assert_int_equal(alloc_1g(d), -ENOMEM);
	const char *log = log_capture_stop();
	assert_int_equal(count(log, "udma warn: udma_mem_alloc: 4096 bytes need 1048576 kB hugepages"), 1);
	assert_int_equal(count(log, "udma debug: udma_mem_alloc: 4096 bytes need 1048576 kB hugepages"), 1);

	struct udma_mem m;
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &m), 0);
	assert_string_equal(udma_strerror_last(), "");
	udma_mem_free(d, m.va, m.len);
	udma_domain_destroy(d);
}

/* PA mode without free hugepages: contiguous memory past one page, a pool
 * of 64 KiB blocks and dma_alloc_coherent of two pages say why */
static void test_pa_contiguous_without_hugepages(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	if (udma_hugepages_free(M2, -1) > 0)
		skip_because("2 MiB hugepages are free: contiguous memory does not fail here");
	struct udma_domain *d = test_domain(UDMA_ADDR_PA);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_CONTIG };
	struct udma_mem m;
	int err = udma_mem_alloc(d, 64 * K4, &o, &m);
	if (!err) { /* 64 adjacent frames by chance */
		udma_mem_free(d, m.va, m.len);
		udma_domain_destroy(d);
		skip_because("64 adjacent 4 KiB frames were free");
	}
	assert_int_equal(err, -ENOMEM);
	assert_non_null(strstr(udma_strerror_last(), "262144 bytes physically contiguous need 2048 kB hugepages"));

	struct udma_pool_opts po = { .size = sizeof(po), .block_size = 65536, .block_count = 16, .name = "p64k" };
	struct udma_pool *p = udma_pool_create(d, &po);
	if (p) {
		udma_pool_destroy(p, 0);
	} else {
		assert_int_equal(errno, ENOMEM);
		assert_non_null(strstr(udma_strerror_last(), "pool p64k: blocks of 65536 bytes"));
		assert_non_null(strstr(udma_strerror_last(), "vm.nr_hugepages"));
	}
	udma_domain_destroy(d);
}

static void *alloc_1g_thread(void *d)
{
	alloc_1g(d);
	return NULL;
}

static void test_reason_is_per_thread(void **state)
{
	need_no_free_1g();
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_mem m;
	assert_int_equal(udma_mem_alloc(d, K4, NULL, &m), 0); /* this thread's reason: none */
	udma_mem_free(d, m.va, m.len);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, alloc_1g_thread, d), 0);
	pthread_join(t, NULL);
	assert_string_equal(udma_strerror_last(), "");
	udma_domain_destroy(d);
}

/* Without CAP_IPC_LOCK, under a 64 KiB RLIMIT_MEMLOCK. */
static int limit_memlock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];
	if (syscall(SYS_capget, &h, c))
		return -1;
	c[0].effective &= ~(1u << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &h, c))
		return -1;
	struct rlimit rl = { 64 << 10, 64 << 10 };
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* "the memlock limit": pinned memory says which limit and how to raise it */
static void test_memlock_limit(void **state)
{
#ifdef NO_MLOCK
	skip_because("mlock() is a no-op under this sanitizer");
#endif
	pid_t pid = fork();
	if (!pid) {
		struct udma_domain *d = test_domain(UDMA_ADDR_VA);
		struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_PINNED };
		struct udma_mem m;
		char *buf = malloc(1 << 20);
		if (limit_memlock())
			_exit(77);
		if (udma_mem_alloc(d, 1 << 20, &o, &m) != -ENOMEM)
			_exit(10);
		if (!strstr(udma_strerror_last(), "RLIMIT_MEMLOCK) is 64 KiB") || !strstr(udma_strerror_last(), "ulimit -l"))
			_exit(11);
		if (!pa_available())
			_exit(0);
		struct udma_domain *pa = test_domain(UDMA_ADDR_PA); /* pins what it registers */
		if (udma_mem_register(pa, buf, 1 << 20, NULL) != -ENOMEM || !strstr(udma_strerror_last(), "ulimit -l"))
			_exit(12);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip_because("cannot drop CAP_IPC_LOCK or lower RLIMIT_MEMLOCK");
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Run this program again as a child that fails twice for want of 1 GiB
 * pages without setting a log level; its stderr. */
static void child_stderr(const char *udma_log, char *out, size_t cap)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	if (!pid) {
		dup2(fd[1], 2);
		if (udma_log)
			setenv("UDMA_LOG", udma_log, 1);
		else
			unsetenv("UDMA_LOG");
		execl(self_exe, self_exe, "--child", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* "without a debug switch": one line by default, none when asked for none */
static void test_default_level_warns_once(void **state)
{
	char out[4096];
	need_no_free_1g();
	child_stderr(NULL, out, sizeof(out));
	assert_int_equal(count(out, "udma warn: udma_mem_alloc: 4096 bytes need 1048576 kB hugepages"), 1);
	assert_int_equal(count(out, "\n"), 1); /* and nothing else */
	child_stderr("none", out, sizeof(out));
	assert_string_equal(out, "");
}

static int child_main(void)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	int a = alloc_1g(d), b = alloc_1g(d);
	udma_domain_destroy(d);
	return a == -ENOMEM && b == -ENOMEM ? 0 : 1;
}

int main(int argc, char **argv)
{
	self_exe = argv[0];
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child_main();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_hugepages),
		cmocka_unit_test(test_pa_contiguous_without_hugepages),
		cmocka_unit_test(test_reason_is_per_thread),
		cmocka_unit_test(test_memlock_limit),
		cmocka_unit_test(test_default_level_warns_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
