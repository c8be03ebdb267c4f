/* chuted-runtime's command line (runc's CLI): its context, the command
 * table, and the helpers the command files (runtime/oci_cli_*.c) share.
 * Used only by runtime/main_runtime.c: the library API is runtime.h. */
#ifndef CH_OCI_CLI_H
#define CH_OCI_CLI_H

#include "common/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct ch_oci_ctx
{
  const char *root;          /* --root: state in ROOT/ID (runc's meaning); NULL: RUN_ROOT/oci/ID */
  const char *run_root;      /* --run-root, $CHUTED_RUN_ROOT, /run/chuted */
  const char *cgroup_parent; /* --cgroup-parent, $CHUTED_CGROUP_PARENT, "chuted" */
  const char *log_path;      /* --log: errors are appended there too */
  bool log_json;             /* --log-format json (else text) */
  bool systemd_cgroup;       /* --systemd-cgroup: create/run refuse it (cgroupfs only) */
  int fail_code;             /* exit code main uses when a command returns < 0 (default 1) */
};

/* Global options (runc's --root, --log, --log-format, --systemd-cgroup,
 * --debug, --rootless; chuted's --run-root, --cgroup-parent and their env
 * twins; --help, --version) into CTX; returns the index of the command word, or
 * -1 with *EXIT_CODE set when main should just exit. */
int ch_oci_globals (int argc, char **argv, struct ch_oci_ctx *ctx, void (*usage) (FILE *), int *exit_code);
/* Append MSG to --log, if any, at LEVEL ("error", "warning") as runc does
 * (json or logrus text). */
void ch_oci_log (const struct ch_oci_ctx *ctx, const char *level, const char *msg);
/* A ch_warn_fn for CTX (a struct ch_oci_ctx): --log if given, else stderr. */
void ch_oci_warn (void *ctx, const char *msg);
/* ARGV from "oci" on (argv[1] = the command); returns the exit code (>= 0),
 * or < 0 with *err set (main prints it and exits with ctx->fail_code). */
int ch_oci_cli (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);

/* What the commands share. */
/* --root, else RUN_ROOT/oci; a container's state dir is STATE_ROOT/ID. */
char *ch_oci_state_root (struct ch_oci_ctx *ctx);
char *ch_oci_state_dir (struct ch_oci_ctx *ctx, const char *id);
/* The positional ID at argv[optind] (checked); errors name the command. */
int ch_oci_one_id (int argc, char **argv, const char *cmd, const char **id, ch_error_t *err);
char *ch_oci_abs_path (const char *p);
int ch_oci_parse_fd (const char *s, int *fd, ch_error_t *err);
/* Connect to a --console-socket (runc's protocol: the pty master goes there). */
int ch_oci_connect_console (const char *path, int *fd, ch_error_t *err);
int ch_oci_write_pid_file (const char *path, pid_t pid, ch_error_t *err);

/* The commands: ARGV from the command's name on. */
int ch_oci_cmd_spec (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_create (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_start (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_run (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_state (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_list (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_kill (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_delete (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_exec (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_pause (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_resume (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_update (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_ps (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_oci_cmd_features (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err);

#endif
