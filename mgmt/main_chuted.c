/* chuted: the command line. Global options, then one command from the table;
 * image commands are handed to the chuted-image program (see ARCHITECTURE.md
 * for why it is a separate binary). */
#include "common/error.h"
#include "common/file.h"
#include "common/globals.h"
#include "common/util.h"
#include "mgmt/cli.h"
#include "mgmt/commands.h"
#include "mgmt/daemon_opts.h"
#include "mgmt/reap.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_help (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
static int exec_sibling (struct ch_ctx *ctx, const char *prog, int argc, char **argv, ch_error_t *err);
static int cmd_version (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
static int cmd_daemon (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);

/* Every command: its name, function, operands, summary and options (each
 * command's ch_opt table sits beside its parser in mgmt/cmd_*.c). A new
 * command adds one line here and its table to commands.h. */
static const struct ch_cmd commands[] = {
  { "run", ch_cmd_run, "(IMAGE | --rootfs DIR) [--] [COMMAND [ARG...]]", "Run a command in a new chute",
    ch_opts_run },
  { "create", ch_cmd_create, "(IMAGE | --rootfs DIR) [--] [COMMAND...]", "Create a chute without starting it",
    ch_opts_run },
  { "start", ch_cmd_start, "NAME... | --all", "Start chutes (--all: every always/unless-stopped chute)",
    ch_opts_start },
  { "stop", ch_cmd_stop, "NAME...", "Stop running chutes", ch_opts_stop },
  { "restart", ch_cmd_restart, "NAME...", "Stop then start chutes", ch_opts_stop },
  { "rm", ch_cmd_rm, "NAME...", "Remove chutes", ch_opts_rm },
  { "ps", ch_cmd_ps, "", "List chutes", ch_opts_ps },
  { "logs", ch_cmd_logs, "NAME", "Show a chute's output", ch_opts_logs },
  { "exec", ch_cmd_exec, "NAME [--] COMMAND [ARG...]", "Run a command in a running chute", ch_opts_exec },
  { "inspect", ch_cmd_inspect, "NAME...", "Show chutes' configuration and state as JSON", NULL },
  { "attach", ch_cmd_attach, "NAME", "Attach to a running chute's input and output", ch_opts_attach },
  { "kill", ch_cmd_kill, "NAME", "Send a signal to a chute", ch_opts_kill },
  { "update", ch_cmd_update, "NAME", "Change a chute's limits", ch_opts_update },
  { "network", ch_cmd_network, "ls [--json] | inspect [NAME] | prune", "Manage chute networks",
    ch_opts_network },
  { "build", ch_cmd_build, "-t NAME[:TAG] DIR", "Build an image from a Dockerfile", ch_opts_build },
  { "deploy", ch_cmd_deploy, "PATH", "Deploy a chute file (a dir holding chute.yaml, or the file); --dry-run: the plan",
    ch_opts_deploy },
  { "chutes", ch_cmd_chutes, "", "List deployed chutes: version, desired, actual, health", ch_opts_chutes },
  { "chute", ch_cmd_chute, "inspect NAME | stop|start|restart|rm|rollback NAME",
    "Inspect or change one deployed chute", ch_opts_chute },
  { "changes", ch_cmd_changes, "", "List the deploy journal's changes", ch_opts_chutes },
  { "volume", ch_cmd_volume, "ls | create NAME... | inspect NAME... | rm NAME... | prune",
    "Manage named volumes (kept across chute rm and updates)", ch_opts_volume },
  { "reconcile", ch_cmd_reconcile, "", "Bring deployed chutes to their desired state (after a crash or a reboot)",
    ch_opts_reconcile },
  { "wifi", ch_cmd_wifi, "ls [--json]", "List radios, the SSIDs chutes hold, stations, leases",
    ch_opts_wifi },
  { "daemon", cmd_daemon, CH_DAEMON_USAGE, CH_DAEMON_SUMMARY, ch_opts_daemon },
  { "info", ch_cmd_info, "", "Show the host: kernel, cgroups, overlay, nftables, radios, storage, runtime",
    ch_opts_info },
  { "version", cmd_version, "", "Show the version", NULL },
  { "help", cmd_help, "[COMMAND]", "Show help for chuted or a command", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

/* Handled by chuted-image (see exec_sibling). */
static const char *const image_commands[] = { "pull", "load", "images", "rmi", "image", "login", "logout", NULL };

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted [--root DIR] [--run-root DIR] [--cgroup-parent PATH] COMMAND ...\n\ncommands:\n");
  for (const struct ch_cmd *c = commands; c->name; c++)
    fprintf (f, "  %-10s %s\n", c->name, c->summary);
  fprintf (f, "\nimage commands (chuted-image):\n");
  for (const char *const *ic = image_commands; *ic; ic++)
    fprintf (f, "  %s\n", *ic);
  fprintf (f, "\nOCI runtime (runc-style):\n  oci spec|create|start|state|kill|delete|run|exec ...\n");
  fprintf (f, "\nchuted COMMAND --help shows a command's options.\n");
}

static const struct ch_cmd *
find_command (const char *name)
{
  for (const struct ch_cmd *c = commands; c->name; c++)
    if (strcmp (name, c->name) == 0)
      return c;
  return NULL;
}

static int
cmd_help (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  const struct ch_cmd *c;
  int o;

  ch_cli_parser_init (&p, ctx, NULL);
  if ((o = ch_cli_next (&p, argc, argv, err)) < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    {
      usage (stdout);
      return 0;
    }
  c = find_command (argv[optind]);
  for (const char *const *ic = image_commands; c == NULL && *ic; ic++)
    if (strcmp (argv[optind], *ic) == 0)
      {
        char *args[] = { argv[optind], "--help", NULL };
        fflush (stdout);
        return exec_sibling (ctx, "chuted-image", 2, args, err);
      }
  if (c == NULL)
    return ch_cli_usage_error (ctx, err, "unknown command `%s`", argv[optind]);
  ch_cli_help (stdout, c);
  return 0;
}

static int
cmd_version (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;

  ch_cli_parser_init (&p, ctx, NULL);
  if (ch_cli_next (&p, argc, argv, err) < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand");
  printf ("chuted version %s\n", CH_VERSION);
  return 0;
}

/* Options checked (and --help answered) here, then chuted-daemon: the
 * HTTP server and its library stay out of this program. */
static int
cmd_daemon (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  struct dm_options o;
  int r = ch_daemon_options (ctx, argc, argv, &o, err);

  ch_daemon_options_clear (&o);
  if (r <= 0)
    return r;
  fflush (stdout);
  return exec_sibling (ctx, "chuted-daemon", argc, argv, err);
}

static void
unknown_command (const char *word)
{
  const char *names[sizeof commands / sizeof commands[0] + sizeof image_commands / sizeof image_commands[0] + 1];
  const char *best;
  size_t n = 0;

  for (const struct ch_cmd *c = commands; c->name; c++)
    names[n++] = c->name;
  for (const char *const *ic = image_commands; *ic; ic++)
    names[n++] = *ic;
  names[n++] = "oci";
  names[n] = NULL;
  best = ch_cli_suggest (word, names);
  if (best)
    fprintf (stderr, "chuted: unknown command \"%s\"; did you mean \"%s\"?\n", word, best);
  else
    fprintf (stderr, "chuted: unknown command \"%s\" (see chuted help)\n", word);
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
  if (strcmp (prog, "chuted-runtime") == 0 || strcmp (prog, "chuted-daemon") == 0)
    {
      nargv[n++] = "--cgroup-parent";
      nargv[n++] = (char *) ctx->cgroup_parent;
    }
  for (int i = 0; i < argc; i++)
    nargv[n++] = argv[i];
  /* commands that enter a container run sealed anyway
   * (CVE-2019-5736): start it that way, not exec it to have it re-exec */
  if (argc > 1 && strcmp (prog, "chuted-runtime") == 0
      && (strcmp (argv[1], "run") == 0 || strcmp (argv[1], "create") == 0 || strcmp (argv[1], "exec") == 0))
    ch_runtime_exec_sealed (tool, nargv, ctx->run_root, err);
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
      return 125;
    }
  for (const char *const *ic = image_commands; *ic; ic++)
    if (strcmp (argv[i], *ic) == 0 || strcmp (argv[i], "oci") == 0)
      {
        exec_sibling (&ctx, strcmp (argv[i], "oci") == 0 ? "chuted-runtime" : "chuted-image", argc - i, argv + i,
                      &err);
        ch_error_print (&err, "chuted");
        free (ctx.bin_dir);
        return 125;
      }

  /* hidden: for tools/completion/chuted.bash and docs/man/chuted.1 */
  if (strcmp (argv[i], "__complete") == 0 || strcmp (argv[i], "__man") == 0)
    {
      free (ctx.bin_dir);
      if (argv[i][2] == 'm' && i + 1 < argc && strcmp (argv[i + 1], "--list") == 0)
        {
          for (const struct ch_cmd *c = commands; c->name; c++)
            printf ("%s\n", c->name);
          return 0;
        }
      if (argv[i][2] == 'm' && i + 1 < argc)
        return ch_cli_man_cmd (stdout, commands, argv[i + 1]) < 0 ? 2 : 0;
      if (argv[i][2] == 'm')
        {
          ch_cli_man (stdout, commands, image_commands);
          return 0;
        }
      return ch_cli_complete (stdout, commands, image_commands, argc - i, argv + i);
    }
  for (const struct ch_cmd *c = commands; c->name; c++)
    if (strcmp (argv[i], c->name) == 0)
      {
        ret = 0;
        ctx.cmd = c;
        /* run, create, start and network reap under the lock they take
         * anyway; the daemon's boot restore reaps first thing */
        if (strcmp (c->name, "run") != 0 && strcmp (c->name, "create") != 0 && strcmp (c->name, "start") != 0
            && strcmp (c->name, "daemon") != 0
            && strcmp (c->name, "network") != 0 && strcmp (c->name, "build") != 0 && strcmp (c->name, "help") != 0 && strcmp (c->name, "version") != 0
            && strcmp (c->name, "info") != 0)
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
  unknown_command (argv[i]);
  return 2;
}
