/* SPDX-License-Identifier: BSD-3-Clause */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

int _udma_log_level_cur = UDMA_LOG_NONE;
static int log_level_chosen; /* UDMA_LOG or udma_log_set_level() said something */
static unsigned env_warned;  /* bit per enum udma_env already printed (atomic) */
static __thread char env_last[320];
static udma_log_fn log_sink;
static void *log_sink_arg;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "none", "error", "warn", "info", "debug" };

/* Read UDMA_LOG once at load, before any caller can log. */
__attribute__((constructor)) static void log_init_from_env(void)
{
	const char *s = getenv("UDMA_LOG");

	if (!s)
		return;
	for (int i = 0; i <= UDMA_LOG_DEBUG; i++)
		if (!strcasecmp(s, level_names[i])) {
			_udma_log_level_cur = i;
			log_level_chosen = 1;
		}
}

void udma_log_set_level(enum udma_log_level level)
{
	if ((int)level < UDMA_LOG_NONE)
		level = UDMA_LOG_NONE;
	if (level > UDMA_LOG_DEBUG)
		level = UDMA_LOG_DEBUG;
	__atomic_store_n(&_udma_log_level_cur, (int)level, __ATOMIC_RELAXED);
	__atomic_store_n(&log_level_chosen, 1, __ATOMIC_RELAXED);
}

enum udma_log_level udma_log_get_level(void)
{
	return (enum udma_log_level)__atomic_load_n(&_udma_log_level_cur, __ATOMIC_RELAXED);
}

void udma_log_set_sink(udma_log_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

void _udma_log_line(enum udma_log_level lvl, const char *fn, const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "udma %s: %s: ", level_names[lvl], fn);
	va_list ap;

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(lvl, line, log_sink_arg);
	else
		fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

void udma_env_note(enum udma_env why, const char *fn, const char *fmt, ...)
{
	va_list ap;

	assert(why < UDMA_ENV_COUNT);
	va_start(ap, fmt);
	vsnprintf(env_last, sizeof(env_last), fmt, ap);
	va_end(ap);
	int level = __atomic_load_n(&_udma_log_level_cur, __ATOMIC_RELAXED);
	int shown = level >= UDMA_LOG_WARN || !__atomic_load_n(&log_level_chosen, __ATOMIC_RELAXED);
	/* the first time for this reason in the process: the rest are the same advice */
	if (shown && !(__atomic_fetch_or(&env_warned, 1u << why, __ATOMIC_RELAXED) & (1u << why)))
		_udma_log_line(UDMA_LOG_WARN, fn, "%s", env_last);
	else if (level >= UDMA_LOG_DEBUG)
		_udma_log_line(UDMA_LOG_DEBUG, fn, "%s", env_last);
}

void udma_env_clear(void)
{
	env_last[0] = 0;
}

const char *udma_strerror_last(void)
{
	return env_last;
}

const char *udma_version(void)
{
#define UDMA_STR2(x) #x
#define UDMA_STR(x) UDMA_STR2(x)
	return UDMA_STR(UDMA_VERSION_MAJOR) "." UDMA_STR(UDMA_VERSION_MINOR) "." UDMA_STR(UDMA_VERSION_PATCH);
}
