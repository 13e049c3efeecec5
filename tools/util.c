/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing, the clock, and the standard descriptors for every subcommand (util.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int tool_parse_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int tool_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;

	if (!s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

int tool_parse_size_at(const char *s, size_t max, const char **end, size_t *out)
{
	unsigned shift = 0;
	char *e;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	switch (toupper((unsigned char)*e)) {
	case 'K': shift = 10; e++; break;
	case 'M': shift = 20; e++; break;
	case 'G': shift = 30; e++; break;
	}
	if (shift && e[0] == 'i' && e[1] == 'B')
		e += 2;
	else if (*e == 'B')
		e++;
	if (errno || v > (unsigned long long)(max >> shift))
		return -1;
	*out = (size_t)(v << shift);
	*end = e;
	return 0;
}

int tool_parse_size(const char *s, size_t max, size_t *out)
{
	const char *end;
	size_t v;

	if (tool_parse_size_at(s, max, &end, &v) || *end)
		return -1;
	*out = v;
	return 0;
}

const char *tool_size_str(size_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	unsigned u = 0;

	while (u < 3 && n >= 1024 && !(n & 1023)) {
		n >>= 10;
		u++;
	}
	snprintf(buf, len, "%zu %s", n, unit[u]);
	return buf;
}

uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double tool_now(void)
{
	return (double)tool_now_ns() * 1e-9;
}

int tool_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free descriptor: fd itself, those below are open */
		int n = open("/dev/null", fd ? O_RDONLY : O_WRONLY);
		if (n < 0)
			return -errno;
		if (n != fd) {
			int err = dup2(n, fd) < 0 ? -errno : 0;
			close(n);
			if (err)
				return err;
		}
	}
	return 0;
}

int tool_out_flush(FILE *f)
{
	errno = 0;
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	/* an earlier write failed (the buffer was lost then) or this one did */
	return errno ? -errno : -EIO;
}
