/* chuted: the command line. Global options, then one command from the table;
 * image commands are handed to the chuted-image program (see ARCHITECTURE.md
 * for why it is a separate binary). */
#include "common/error.h"
#include "common/file.h"
#include "common/util.h"
#include "mgmt/cli.h"
#include "mgmt/commands.h"
#include "mgmt/reap.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ch_cmd commands[] = {
  { "run", ch_cmd_run, "run [OPTIONS] (IMAGE | --rootfs DIR) [--] [COMMAND [ARG...]]" },
  { "create", ch_cmd_create, "create [OPTIONS] (IMAGE | --rootfs DIR) [--] [COMMAND...]" },
  { "start", ch_cmd_start, "start [-a] NAME... | start --all   (every always/unless-stopped chute)" },
  { "stop", ch_cmd_stop, "stop [-t SECONDS] NAME..." },
  { "restart", ch_cmd_restart, "restart [-t SECONDS] NAME..." },
  { "rm", ch_cmd_rm, "rm [-f] NAME..." },
  { "ps", ch_cmd_ps, "ps [-a] [-q] [--json]" },
  { "logs", ch_cmd_logs, "logs [-f] [-t] [--tail N] NAME" },
  { "exec", ch_cmd_exec, "exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] NAME [--] COMMAND [ARG...]" },
  { "inspect", ch_cmd_inspect, "inspect NAME..." },
  { "kill", ch_cmd_kill, "kill [-s SIGNAL] NAME" },
  { "update", ch_cmd_update, "update [--memory M] [--cpu-shares N] [--pids N] [--wan-down K] [--wan-up K] NAME" },
  { "network", ch_cmd_network, "network ls | network inspect [NAME] | network prune" },
  { "deploy", ch_cmd_deploy, "deploy [--change-id ID] [--generation N] PATH | deploy --dry-run [--json] PATH" },
  { "chutes", ch_cmd_chutes, "chutes [--json]   (deployed chutes: version, desired, actual, health)" },
  { "chute", ch_cmd_chute, "chute inspect NAME | chute stop|start|restart|rm|rollback [--change-id ID] NAME" },
  { "changes", ch_cmd_changes, "changes [--json]   (the deploy journal)" },
  { "wifi", ch_cmd_wifi, "wifi ls [--json]   (radios, the SSIDs chutes hold, stations, leases)" },
  { NULL, NULL, NULL },
};

/* Handled by chuted-image (see exec_sibling). */
static const char *const image_commands[] = { "pull", "load", "images", "rmi", "image", "login", "logout", NULL };

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted [--root DIR] [--run-root DIR] [--cgroup-parent PATH] COMMAND ...\n\ncommands:\n");
  for (const struct ch_cmd *c = commands; c->name; c++)
    fprintf (f, "  chuted %s\n", c->usage);
  fprintf (f, "  chuted pull|load|images|rmi|image prune|login ...  (images)\n");
  fprintf (f, "  chuted oci spec|create|start|state|kill|delete|run|exec ...  (OCI runtime, runc-style)\n");
}

/* Hand the command to a sibling program: chuted-runtime (the OCI runtime,
 * static: the measured start path loads no shared library) or chuted-image
 * (libcurl/libarchive, which the runtime path must not load). */
static int
exec_sibling (struct ch_ctx *ctx, const char *prog, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *tool = xasprintf ("%s/%s", ctx->bin_dir, prog);
  char **nargv = xzalloc ((argc + 8) * sizeof (char *));
  int n = 0;

  nargv[n++] = tool;
  /* chuted-runtime's --root is runc's (the state dir): it gets only --run-root */
  if (strcmp (prog, "chuted-runtime") != 0)
    {
      nargv[n++] = "--root";
      nargv[n++] = (char *) ctx->root;
    }
  nargv[n++] = "--run-root";
  nargv[n++] = (char *) ctx->run_root;
  if (strcmp (prog, "chuted-runtime") == 0)
    {
      nargv[n++] = "--cgroup-parent";
      nargv[n++] = (char *) ctx->cgroup_parent;
    }
  for (int i = 0; i < argc; i++)
    nargv[n++] = argv[i];
  /* commands that enter a container run from a sealed copy anyway
   * (CVE-2019-5736): start it that way, not exec it to have it re-exec */
  if (argc > 1 && strcmp (prog, "chuted-runtime") == 0
      && (strcmp (argv[1], "run") == 0 || strcmp (argv[1], "create") == 0 || strcmp (argv[1], "exec") == 0))
    ch_runtime_exec_sealed (tool, nargv, err);
  else
    execv (tool, nargv);
  free (nargv);
  return *err ? -1 : ch_error (err, errno, "exec `%s`", tool);
}

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_ctx ctx;
  int i, ret, code;

  i = ch_cli_globals (argc, argv, &ctx, usage, &code);
  if (i < 0)
    return code;
  if (ch_self_dir (&ctx.bin_dir, &err) < 0)
    {
      ch_error_print (&err, "chuted");
      return 1;
    }
  for (const char *const *ic = image_commands; *ic; ic++)
    if (strcmp (argv[i], *ic) == 0 || strcmp (argv[i], "oci") == 0)
      {
        exec_sibling (&ctx, strcmp (argv[i], "oci") == 0 ? "chuted-runtime" : "chuted-image", argc - i, argv + i,
                      &err);
        ch_error_print (&err, "chuted");
        free (ctx.bin_dir);
        return 1;
      }

  for (const struct ch_cmd *c = commands; c->name; c++)
    if (strcmp (argv[i], c->name) == 0)
      {
        ret = 0;
        /* run, create, start and network reap under the lock they take anyway */
        if (strcmp (c->name, "run") != 0 && strcmp (c->name, "create") != 0 && strcmp (c->name, "start") != 0
            && strcmp (c->name, "network") != 0)
          ret = ch_reap_locked (&ctx, &err);
        if (ret == 0)
          ret = c->fn (&ctx, argc - i, argv + i, &err);
        free (ctx.bin_dir);
        if (ret < 0)
          {
            ch_error_print (&err, "chuted");
            return ctx.fail_code;
          }
        return ret;
      }
  free (ctx.bin_dir);
  fprintf (stderr, "chuted: unknown command `%s` (see chuted --help)\n", argv[i]);
  return 2;
}
