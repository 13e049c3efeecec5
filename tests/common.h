/* Shared by udma's tests: cmocka, skips with a reason, log capture. */
#ifndef UDMA_TEST_COMMON_H
#define UDMA_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>
#include <udma/udma.h>
#include "ref.h"

/* Cases skipped so far in this program (skip_because). */
static unsigned tests_skipped;

/* ASan's and TSan's runtimes make mlock() a no-op */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_MLOCK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_MLOCK 1
#endif
#endif

/* Skip the current test, saying why on stdout (scripts/run-tests.sh lists the reason). */
#define skip_because(...)                                                                          \
	do {                                                                                       \
		tests_skipped++;                                                                   \
		printf("SKIP: " __VA_ARGS__);                                                      \
		printf("\n");                                                                      \
		skip();                                                                            \
	} while (0)

/* The program's exit status in meson's terms: 1 if a case failed, 77 (SKIP) if
 * every case skipped, else 0. cmocka's own status counts failures only, so a
 * program whose every case skipped would pass, and 77 failures would read as SKIP. */
static inline int tests_status(int failed, size_t ncases)
{
	if (failed)
		return 1;
	return ncases && tests_skipped == ncases ? 77 : 0;
}

/* cmocka_run_group_tests with that exit status: main's `return tests_run(tests, NULL, NULL);` */
#define tests_run(t, setup, teardown) \
	tests_status(cmocka_run_group_tests(t, setup, teardown), sizeof(t) / sizeof((t)[0]))

/* Capture udma's log lines so a test can check a rejection was logged. */
static char test_log_buf[8192];
static void test_log_sink(enum udma_log_level lvl, const char *line, void *arg)
{
	(void)lvl; (void)arg;
	size_t n = strlen(test_log_buf);
	snprintf(test_log_buf + n, sizeof(test_log_buf) - n, "%s\n", line);
}
static inline void log_capture_start(void)
{
	test_log_buf[0] = 0;
	udma_log_set_sink(test_log_sink, NULL);
	udma_log_set_level(UDMA_LOG_DEBUG);
}
static inline const char *log_capture_stop(void)
{
	udma_log_set_level(UDMA_LOG_NONE);
	udma_log_set_sink(NULL, NULL);
	return test_log_buf;
}
/* Assert the call logged a line containing needle. */
#define assert_logged(needle) assert_non_null(strstr(test_log_buf, (needle)))

static inline struct udma_domain *test_domain(enum udma_addr_mode mode)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = mode, .vfio_container_fd = -1 };
	return udma_device_domain_create(&o);
}

/* The tests' own physical-address lookup, independent of udma's reader. */
static inline uint64_t phys_of(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	(void)*(volatile const char *)va;
	if (fd < 0 || pread(fd, &e, 8, (off_t)((uintptr_t)va / 4096 * 8)) != 8)
		e = 0;
	if (fd >= 0)
		close(fd);
	return (e & ((1ull << 55) - 1)) * 4096 + ((uintptr_t)va & 4095);
}

static inline int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static inline int pa_available(void)
{
	return udma_mode_probe(UDMA_ADDR_PA, NULL, 0) == 0;
}

#endif
