/* The main of chuted-daemon, the management process `chuted daemon` execs
 * (a program of its own, so the CLI's start path carries no HTTP server),
 * and of chuted-daemon-cloud, the same with the cloud link: global options,
 * then `daemon` and its options; see mgmt/daemon.h. */
#include "common/file.h"
#include "common/globals.h"
#include "mgmt/cli.h"
#include "mgmt/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ch_cmd daemon_cmd = { "daemon", NULL, CH_DAEMON_USAGE, CH_DAEMON_SUMMARY, ch_opts_daemon };

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted-daemon [--root DIR] [--run-root DIR] [--cgroup-parent PATH] daemon [OPTIONS]\n"
             "(run by `chuted daemon`; its options: chuted daemon --help)\n");
}

/* --cloud in chuted-daemon: the same command line in chuted-daemon-cloud,
 * same process (a supervisor's pid stays the daemon's). Returns only on
 * failure. */
static int
exec_cloud (struct ch_ctx *ctx, char **argv, ch_error_t *err)
{
  cleanup_free char *prog = xasprintf ("%s/chuted-daemon-cloud", ctx->bin_dir);

  fflush (NULL);
  execv (prog, argv);
  return ch_error (err, errno, "--cloud: %s", prog);
}

int
ch_daemon_main (int argc, char **argv, const struct dm_cloud_link *link)
{
  cleanup_error ch_error_t err = NULL;
  struct dm_options opt = { 0 };
  struct ch_ctx ctx;
  int i, r, code;

  i = ch_cli_globals (argc, argv, &ctx, usage, &code);
  if (i < 0)
    return code;
  if (strcmp (argv[i], "daemon") != 0)
    {
      usage (stderr);
      return 2;
    }
  ctx.cmd = &daemon_cmd;
  if (ch_self_dir (&ctx.bin_dir, &err) < 0)
    {
      ch_error_print (&err, "chuted-daemon");
      return 125;
    }
  r = ch_daemon_options (&ctx, argc - i, argv + i, &opt, &err);
  if (r > 0 && opt.cloud.url && link == NULL)
    r = exec_cloud (&ctx, argv, &err);
  else if (r > 0)
    r = ch_daemon_run (&ctx, &opt, link, &err);
  ch_daemon_options_clear (&opt);
  free (ctx.bin_dir);
  if (r < 0)
    {
      ch_error_print (&err, "chuted daemon");
      return ctx.fail_code;
    }
  return 0;
}
