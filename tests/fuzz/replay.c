/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A main() for a fuzz target, for the test suite: replay every file of the
 * corpus directories given, then a number of inputs generated from a fixed
 * seed (so CI also explores a little beyond the corpus, reproducibly).
 *   fuzz_x_replay [-n GENERATED] [-s SEED] DIR_OR_FILE...
 * A failure (an oracle's abort, a crash, an ASan report) names the input;
 * UDMA_FUZZ_VERBOSE=1 lists every file as it is replayed.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* A target may say what its inputs reached; nonzero fails the replay. */
int fuzz_replay_report(void) __attribute__((weak));

static unsigned long files;
static size_t bytes;
static const char *current = "(generated)";
static int verbose;

/* Name the input that failed: oracle aborts and crashes come here, ASan reports too. */
static void name_it(void)
{
	static const char msg[] = "\nfailing input: ";
	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
		return;
}

static void on_signal(int sig)
{
	name_it();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Called by ASan and UBSan on each report, when they are linked in. */
void __asan_on_error(void);
void __ubsan_on_report(void);
void __asan_on_error(void)
{
	name_it();
}

void __ubsan_on_report(void)
{
	name_it();
}

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 20];
	size_t n;

	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	current = path;
	if (verbose)
		fprintf(stderr, "replaying %s\n", path);
	uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees reads past the end */
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	files++;
	bytes += n;
}

static void replay(const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", path, names[i]->d_name);
			replay(p);
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	unsigned long generated = 0;
	uint64_t x = 0x853c49e6748fea9bull;
	int i = 1;

	verbose = getenv("UDMA_FUZZ_VERBOSE") != NULL;
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2)
		if (!strcmp(argv[i], "-n"))
			generated = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "-s"))
			x = strtoull(argv[i + 1], NULL, 0);
	for (; i < argc; i++)
		replay(argv[i]);
	/* generated inputs: random bytes, random lengths up to 512 */
	static uint8_t buf[512];
	static char name[64];
	current = name;
	for (unsigned long k = 0; k < generated; k++) {
		size_t n = 0;
		xorshift64(&x);
		n = x % sizeof(buf);
		for (size_t j = 0; j < n; j++) {
			xorshift64(&x);
			buf[j] = (uint8_t)(x >> 24);
		}
		snprintf(name, sizeof(name), "generated input %lu (-s %#llx)", k, (unsigned long long)x);
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		LLVMFuzzerTestOneInput(copy, n);
		free(copy);
	}
	printf("%s: %lu corpus files (%zu bytes) and %lu generated inputs replayed, all checks held\n", argv[0], files,
	       bytes, generated);
	return fuzz_replay_report && fuzz_replay_report() ? 1 : 0;
}
