/* SPDX-License-Identifier: BSD-3-Clause */
/* The subcommands of `udma`, one file each; main() in udma.c dispatches. */
#ifndef UDMA_TOOLS_CMD_H
#define UDMA_TOOLS_CMD_H

/* Each takes argv[0] = its own name; returns the exit status (2: bad usage). */
int cmd_info(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_perf(int argc, char **argv);
int cmd_fabric(int argc, char **argv); /* fabric_cmd.c */

#endif
