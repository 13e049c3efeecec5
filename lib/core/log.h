/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal logging. udma_err() etc. print one line with the function name. */
#ifndef UDMA_LIB_LOG_H
#define UDMA_LIB_LOG_H

#include <errno.h>
#include <udma/core.h>

#define UDMA_HIDDEN __attribute__((visibility("hidden")))

UDMA_HIDDEN extern int _udma_log_level_cur;
UDMA_HIDDEN void _udma_log_line(enum udma_log_level lvl, const char *fn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define udma_log_at(lvl, ...)                                             \
	((void)(__builtin_expect(_udma_log_level_cur >= (lvl), 0)          \
			? _udma_log_line((lvl), __func__, __VA_ARGS__)     \
			: (void)0))
#define udma_err(...) udma_log_at(UDMA_LOG_ERROR, __VA_ARGS__)
#define udma_warn(...) udma_log_at(UDMA_LOG_WARN, __VA_ARGS__)
#define udma_info(...) udma_log_at(UDMA_LOG_INFO, __VA_ARGS__)
#define udma_dbg(...) udma_log_at(UDMA_LOG_DEBUG, __VA_ARGS__)

/* Log why at debug level and yield -err: "return udma_fail(EINVAL, "...")".
 * err is read before logging, which may change errno. */
#define udma_fail(err, ...) ({ int udma_e_ = (err); udma_dbg(__VA_ARGS__); -udma_e_; })
/* Same for pointer returns: sets errno, yields NULL. */
#define udma_fail_null(err, ...) \
	({ int udma_e_ = (err); udma_dbg(__VA_ARGS__); errno = udma_e_; (void *)0; })

/*
 * Failures the machine's set-up causes, which the user can fix but a
 * debug line would hide: each sets this thread's udma_strerror_last(), and
 * the first of each reason in the process prints one warning line, even at
 * the default level (udma_log_set_level(UDMA_LOG_NONE) or UDMA_LOG=none
 * silences it). fmt says what is wrong and what to do.
 */
enum udma_env {
	UDMA_ENV_HUGEPAGES,
	UDMA_ENV_MEMLOCK,
	UDMA_ENV_PAGEMAP,
	UDMA_ENV_LIBFABRIC,
	UDMA_ENV_COUNT,
};
UDMA_HIDDEN void udma_env_note(enum udma_env why, const char *fn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define udma_env(why, ...) udma_env_note((why), __func__, __VA_ARGS__)
/* Forget this thread's last reason: a call that may set one starts with this. */
UDMA_HIDDEN void udma_env_clear(void);

#endif
