/* SPDX-License-Identifier: BSD-3-Clause */
/* udma: the command that ships with the library. main() only dispatches;
 * each subcommand lives in its own file (cmd.h). */
#include <stdio.h>
#include <string.h>
#include <udma/udma.h>

#include "cmd.h"
#include "util.h"

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: udma <command> [options]     (udma <command> --help for each)\n"
		"\n"
		"commands:\n"
		"  info            address modes here (and why not), hugepages free, domains,\n"
		"                  engines with their functions and speeds, library versions\n"
		"  setup           hugepages per size and node (--hugepages SIZE:COUNT[@NODE]\n"
		"                  reserves, as root), memlock, pagemap, VFIO; what each\n"
		"                  address mode needs here\n"
		"  perf            measure movers (copy, fill, xor, crc32c, ...), pools,\n"
		"                  translation or domains; --peers runs glibc, ISA-L and DPDK\n"
		"                  on the same workload; table, --json, --plot FILE\n"
		"  demo [-m MODE]  allocate DMA memory in each mode, translate it both ways\n"
		"  fabric          movers across machines over libfabric\n"
		"  help [COMMAND]  this text, or a command's\n"
		"  version         the library's version\n"
		"\n"
		"environment: UDMA_LOG=error|warn|info|debug; UDMA_GNUPLOT=path of gnuplot\n"
		"exit status: 0; 1 when something failed (the reason on stderr); 2 for bad usage\n");
	return status;
}

static int dispatch(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "setup"))
		return cmd_setup(argc, argv);
	if (!strcmp(cmd, "perf"))
		return cmd_perf(argc, argv);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc, argv);
	if (!strcmp(cmd, "fabric"))
		return cmd_fabric(argc, argv);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("udma %s\n", udma_version());
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc > 1 && strcmp(argv[1], "help") && strncmp(argv[1], "-", 1)) {
			char *sub[] = { argv[1], "--help", NULL };
			return dispatch(2, sub);
		}
		return usage(stdout, 0);
	}
	fprintf(stderr, "udma: unknown command '%s'\n", cmd);
	return usage(stderr, 2);
}

int main(int argc, char **argv)
{
	/* before anything opens a descriptor that could land on 0, 1 or 2 */
	int err = tool_std_fds();

	if (err) {
		fprintf(stderr, "udma: stdin, stdout or stderr is closed, and /dev/null: %s\n", strerror(-err));
		return 1;
	}
	int rc = argc < 2 ? usage(stderr, 2) : dispatch(argc - 1, argv + 1);
	/* output that did not arrive is a failure, said once: a command that
	 * failed has said why already */
	err = tool_out_flush(stdout);
	if (err && !rc) {
		fprintf(stderr, "udma: cannot write to stdout: %s\n", strerror(-err));
		rc = 1;
	}
	return rc;
}
