/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linking libudma leaves the program's signals alone. libfabric's psm
 * provider library installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGABRT,
 * SIGINT and SIGTERM as it is loaded: when libudma linked libfabric, every
 * client's crash became exit 1 without a core dump. Each check runs in a
 * fresh process (this program exec'd with a mode), since cmocka installs
 * handlers of its own and a disposition once changed stays changed.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "common.h"

static char *self_exe;

/* The first signal with a handler function (none can be inherited across exec), or 0. */
static int some_handler(void)
{
	for (int s = 1; s < NSIG; s++) {
		struct sigaction a;
		if (!sigaction(s, NULL, &a) && a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
			return s;
	}
	return 0;
}

static int libfabric_loaded(void)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "libfabric") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Domains, memory and a session: the work of a client that has no fabric. */
static int plain_client(void)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	struct udma_domain *shm = udma_shm_create("sig", 4096, 0);
	struct udma_session_opts so = { .size = sizeof(so), .mode = UDMA_COMPL_POLL, .depth = 4 };
	struct udma_session *s = udma_session_create(UDMA_FUNC_COPY, &so);
	struct udma_mem m;
	if (!d || !shm || !s || udma_mem_alloc(d, 4096, NULL, &m))
		return 10;
	udma_mem_free(d, m.va, m.len);
	udma_session_destroy(s);
	udma_domain_destroy(shm);
	udma_domain_destroy(d);
	return 0;
}

static int open_and_export(void)
{
	static char buf[4096];
	struct udma_fabric_desc desc;
	struct udma_fabric *f = udma_fabric_open(NULL);
	if (!f)
		return 20;
	if (udma_fabric_export(f, buf, sizeof(buf), UDMA_FABRIC_READ, &desc))
		return 21;
	return 0; /* left open: the progress thread runs on */
}

static void on_int(int sig)
{
	(void)sig;
}

static int child(const char *mode)
{
	int err;
	if (!strcmp(mode, "plain")) {
		if ((err = plain_client()))
			return err;
		if (some_handler())
			return 30 + some_handler() % 64;
		return libfabric_loaded() ? 11 : 0;
	}
	if (!strcmp(mode, "fabric")) { /* its own SIGINT handler stays; no other appears */
		signal(SIGINT, on_int);
		if ((err = plain_client()) || (err = open_and_export()))
			return err;
		if (!libfabric_loaded())
			return 12;
		struct sigaction a;
		if (sigaction(SIGINT, NULL, &a) || a.sa_handler != on_int)
			return 13;
		signal(SIGINT, SIG_DFL);
		return some_handler() ? 30 + some_handler() % 64 : 0;
	}
	if (!strcmp(mode, "segv")) { /* a crash after opening a fabric dies by the signal */
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		if ((err = open_and_export()))
			return err;
		volatile int *volatile nowhere = NULL;
		*nowhere = 1;
		return 14;
	}
	if (!strcmp(mode, "nolib")) { /* LD_LIBRARY_PATH finds a libfabric.so.1 that is no library */
		errno = 0;
		if (udma_fabric_open(NULL) || errno != ELIBACC)
			return 15;
		if (!strstr(udma_strerror_last(), "cannot load libfabric") || udma_fabric_libfabric_version())
			return 16;
		return 0;
	}
	return 99;
}

/* Run this program in mode; its wait status. */
static int run(const char *mode)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/* ASan handles SIGSEGV, SIGBUS and SIGFPE itself unless told not to */
		const char *old = getenv("ASAN_OPTIONS");
		char opts[1024];
		snprintf(opts, sizeof(opts), "%s%shandle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:handle_sigill=0",
			 old ? old : "", old ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		execl(self_exe, self_exe, mode, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* TSan's runtime installs signal handlers of its own (and reports a crash
 * itself), so the dispositions cannot be the defaults under it. */
#if defined(__SANITIZE_THREAD__)
#define TSAN_HANDLERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_HANDLERS 1
#endif
#endif
#ifdef TSAN_HANDLERS
#define skip_under_tsan() skip_because("ThreadSanitizer installs signal handlers of its own")
#else
#define skip_under_tsan() ((void)0)
#endif

/* "a client's dispositions are the defaults after creating domains, memory
 * and a session", and libfabric is not even loaded */
static void test_plain_client_keeps_defaults(void **state)
{
	skip_under_tsan();
	int st = run("plain");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* after opening a fabric too: the program's own handler stays, no other appears */
static void test_fabric_keeps_dispositions(void **state)
{
	skip_under_tsan();
	int st = run("fabric");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* "a deliberate SIGSEGV kills it by the signal" */
static void test_crash_dies_by_signal(void **state)
{
	skip_under_tsan();
	int st = run("segv");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
}

/* "a missing libfabric gives a clear error at fabric creation" */
static void test_without_libfabric(void **state)
{
	char dir[] = "/tmp/udma-nolibXXXXXX", lib[64];
	assert_non_null(mkdtemp(dir));
	snprintf(lib, sizeof(lib), "%s/libfabric.so.1", dir);
	FILE *f = fopen(lib, "w");
	assert_non_null(f);
	fclose(f);
	setenv("LD_LIBRARY_PATH", dir, 1);
	int st = run("nolib");
	unsetenv("LD_LIBRARY_PATH");
	unlink(lib);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
	self_exe = argv[0];
	if (argc > 1)
		return child(argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_client_keeps_defaults),
		cmocka_unit_test(test_fabric_keeps_dispositions),
		cmocka_unit_test(test_crash_dies_by_signal),
		cmocka_unit_test(test_without_libfabric),
	};
	return tests_run(tests, NULL, NULL);
}
