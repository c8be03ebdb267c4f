/* The `chuted` command line: global context and the command table. */
#ifndef CH_CLI_H
#define CH_CLI_H

#include "common/error.h"

#include <stdio.h>

struct ch_ctx
{
  const char *root;          /* --root, $CHUTED_ROOT, /var/lib/chuted */
  const char *run_root;      /* --run-root, $CHUTED_RUN_ROOT, /run/chuted */
  const char *cgroup_parent; /* --cgroup-parent, $CHUTED_CGROUP_PARENT, "chuted" */
  char *bin_dir;             /* where chuted, chuted-monitor, chuted-image live */
  int fail_code;             /* exit code main uses when a command returns < 0 (default 1) */
};

/* A command gets argv from its own name on (argv[0] = "run"); returns the
 * process exit code (>= 0), or < 0 with *err set (main prints it, exits fail_code). */
typedef int (*ch_cmd_fn) (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);

struct ch_cmd
{
  const char *name;
  ch_cmd_fn fn;
  const char *usage; /* one line */
};

/* Global options (common/globals.h: --root, --run-root, --cgroup-parent,
 * their env twins, --help, --version) into CTX; returns the index of the
 * command word, or -1 with *EXIT_CODE set when main should just exit. */
int ch_cli_globals (int argc, char **argv, struct ch_ctx *ctx, void (*usage) (FILE *), int *exit_code);

/* Each command lives in mgmt/cmd_<name>.c; the table is in mgmt/main_chuted.c. */
int ch_cmd_oci (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);

#endif
