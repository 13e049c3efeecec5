/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma core: version, errors, logging.
 *
 * Error convention: functions return 0 or a negative errno; functions that
 * return a pointer return NULL and set errno; functions that return a device
 * address return UDMA_BAD_IOVA and set errno. Nothing aborts on bad input.
 *
 * Logging is quiet by default. UDMA_LOG=error|warn|info|debug in the
 * environment, or udma_log_set_level(), shows more. Every rejected call logs
 * one line at debug level saying why.
 *
 * One exception: a failure the machine's set-up causes (no free hugepages,
 * the locked-memory limit, no access to physical addresses, libfabric
 * missing) prints one warning line per reason per process, saying what is
 * wrong and what to change, unless UDMA_LOG or udma_log_set_level() chose
 * a level below warn. udma_strerror_last() gives the same text to the
 * program.
 */
#ifndef UDMA_CORE_H
#define UDMA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDMA_VERSION_MAJOR 0
#define UDMA_VERSION_MINOR 1
#define UDMA_VERSION_PATCH 0

#if defined(__GNUC__)
#define UDMA_API __attribute__((visibility("default")))
#else
#define UDMA_API
#endif

/* A device address that is never valid (as DMA_MAPPING_ERROR, SPDK_VTOPHYS_ERROR). */
#define UDMA_BAD_IOVA (~(uint64_t)0)

/* "major.minor.patch" of the library actually loaded. */
UDMA_API const char *udma_version(void);

enum udma_log_level {
	UDMA_LOG_NONE = 0,
	UDMA_LOG_ERROR = 1,
	UDMA_LOG_WARN = 2,
	UDMA_LOG_INFO = 3,
	UDMA_LOG_DEBUG = 4,
};

/* Receives every line at or below the current level. Must be thread-safe. */
typedef void (*udma_log_fn)(enum udma_log_level level, const char *line, void *arg);

UDMA_API void udma_log_set_level(enum udma_log_level level);
UDMA_API enum udma_log_level udma_log_get_level(void);
/* NULL restores the default sink (stderr). */
UDMA_API void udma_log_set_sink(udma_log_fn fn, void *arg);

/*
 * Why this thread's last call failed because of the machine's set-up, and
 * what to do: "" if it did not. Set by the calls that can fail so (memory
 * allocation and registration, streaming maps that pin, PA-mode domains,
 * opening a fabric), each of which clears it first; other calls leave it
 * alone. Read it right after the failure. Valid until the thread's next
 * such call; never NULL.
 */
UDMA_API const char *udma_strerror_last(void);

#ifdef __cplusplus
}
#endif
#endif
