/* Logging: quiet by default, levels, a sink, and one debug line per rejection. */
#include "common.h"

static int calls;
static enum udma_log_level last;
static void count_sink(enum udma_log_level lvl, const char *line, void *arg)
{
	calls++;
	last = lvl;
	assert_non_null(strstr(line, "udma"));
	assert_ptr_equal(arg, &calls);
}

static void test_quiet_by_default_and_levels(void **state)
{
	struct udma_mem m;
	assert_int_equal(udma_log_get_level(), UDMA_LOG_NONE); /* UDMA_LOG unset in tests */
	udma_log_set_sink(count_sink, &calls);
	assert_int_equal(udma_mem_alloc(NULL, 1, NULL, &m), -EINVAL);
	assert_int_equal(calls, 0);
	udma_log_set_level(UDMA_LOG_WARN);
	assert_int_equal(udma_mem_alloc(NULL, 1, NULL, &m), -EINVAL); /* a debug line: not shown */
	assert_int_equal(calls, 0);
	udma_log_set_level(UDMA_LOG_DEBUG);
	assert_int_equal(udma_mem_alloc(NULL, 1, NULL, &m), -EINVAL);
	assert_int_equal(calls, 1);
	assert_int_equal(last, UDMA_LOG_DEBUG);
	udma_log_set_level(99); /* clamped */
	assert_int_equal(udma_log_get_level(), UDMA_LOG_DEBUG);
	udma_log_set_level(UDMA_LOG_NONE);
	udma_log_set_sink(NULL, NULL);
}

static void test_line_names_function(void **state)
{
	struct udma_domain *d = test_domain(UDMA_ADDR_VA);
	log_capture_start();
	assert_int_equal(udma_mem_unregister(d, (void *)0x1000, 4096), -ENOENT);
	log_capture_stop();
	assert_logged("udma debug: udma_mem_unregister: nothing registered");
	udma_domain_destroy(d);
}

static void test_version(void **state)
{
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", UDMA_VERSION_MAJOR, UDMA_VERSION_MINOR, UDMA_VERSION_PATCH);
	assert_string_equal(udma_version(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_by_default_and_levels),
		cmocka_unit_test(test_line_names_function),
		cmocka_unit_test(test_version),
	};
	return tests_run(tests, NULL, NULL);
}
