/* chuted-runtime's command line, runc-style: global options, the command
 * table, and what the commands share (state dir, id check, console socket,
 * pid file). State lives in RUN_ROOT/oci/ID. The commands are in
 * runtime/oci_cli_<group>.c. */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/file.h"
#include "common/parse.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

char *
ch_oci_state_dir (struct ch_oci_ctx *ctx, const char *id)
{
  return xasprintf ("%s/oci/%s", ctx->run_root, id);
}

static int
check_id (const char *id, ch_error_t *err)
{
  const char *p;
  if (*id == '\0' || strlen (id) > 128 || id[0] == '.')
    return ch_error (err, 0, "invalid container id `%s`", id);
  for (p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr ("_.-+", *p)))
      return ch_error (err, 0, "invalid container id `%s`", id);
  return 0;
}

/* The positional ID; errors name the subcommand. */
int
ch_oci_one_id (int argc, char **argv, const char *cmd, const char **id, ch_error_t *err)
{
  if (optind >= argc)
    return ch_error (err, 0, "oci %s: missing container id", cmd);
  *id = argv[optind++];
  return check_id (*id, err);
}

char *
ch_oci_abs_path (const char *p)
{
  char *r = realpath (p, NULL);
  return r ? r : xstrdup (p);
}

int
ch_oci_parse_fd (const char *s, int *fd, ch_error_t *err)
{
  int64_t v;
  if (ch_parse_int (s, 0, 1 << 20, &v, err) < 0)
    return -1;
  *fd = (int) v;
  return 0;
}

int
ch_oci_connect_console (const char *path, int *fd, ch_error_t *err)
{
  if (ch_unix_connect (path, SOCK_STREAM, fd, err) < 0)
    return ch_error_prefix (err, "console socket");
  return 0;
}

int
ch_oci_write_pid_file (const char *path, pid_t pid, ch_error_t *err)
{
  cleanup_free char *v = xasprintf ("%d", pid);
  return ch_write_file_atomic (path, v, strlen (v), 0644, err);
}

int
ch_oci_cli (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct
  {
    const char *name;
    int (*fn) (struct ch_oci_ctx *, int, char **, ch_error_t *);
    bool enters; /* runs a process into a container: needs the sealed copy */
  } sub[] = {
    { "spec", ch_oci_cmd_spec, false },     { "create", ch_oci_cmd_create, true }, { "start", ch_oci_cmd_start, false },
    { "state", ch_oci_cmd_state, false },   { "kill", ch_oci_cmd_kill, false },    { "delete", ch_oci_cmd_delete, false },
    { "run", ch_oci_cmd_run, true },        { "exec", ch_oci_cmd_exec, true },     { "list", ch_oci_cmd_list, false },
    { "ps", ch_oci_cmd_list, false },
  };
  size_t i;

  if (argc < 2)
    return ch_error (err, 0, "usage: chuted oci spec|create|start|state|kill|delete|run|exec|list ...");
  for (i = 0; i < sizeof (sub) / sizeof (sub[0]); i++)
    if (strcmp (argv[1], sub[i].name) == 0)
      {
        /* CVE-2019-5736: re-exec from a sealed memfd before anything else
         * (fds we open, sockets we connect, would not survive it) */
        if (sub[i].enters && ch_runtime_reexec_sealed (NULL, err) < 0)
          return -1;
        optind = 1;
        opterr = 0;
        return sub[i].fn (ctx, argc - 1, argv + 1, err);
      }
  return ch_error (err, 0, "oci: unknown command `%s`", argv[1]);
}
