/* chuted build: an image from a Dockerfile. The builder links libarchive
 * and libcrypto, which chuted must not load, so this checks the command
 * line and execs `chuted-image build` with our global options (RUN steps
 * come back to this program as `chuted run --rm --rootfs ...`). */
#include "common/util.h"
#include "mgmt/build.h"
#include "mgmt/commands.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const struct ch_opt ch_opts_build[] = {
  { "tag", 't', "NAME[:TAG]", "the name the image is stored as (required)" },
  { "file", 'f', "FILE", "the Dockerfile (default: DIR/Dockerfile)" },
  { "build-arg", CH_BUILD_O_ARG, "K=V", "a value for an ARG (K alone: take it from here)" },
  { "no-cache", CH_BUILD_O_NO_CACHE, NULL, "build every step again, ignoring the build cache" },
  { "quiet", 'q', NULL, "print only the image id" },
  { "disk-limit", CH_BUILD_O_DISK, "SIZE", "cap on each layer and the whole image (default 1G)" },
  { "memory", CH_BUILD_O_MEMORY, "SIZE", "memory limit of each RUN step's chute" },
  { "cpus", CH_BUILD_O_CPUS, "N", "CPUs each RUN step's chute may use" },
  { "pids", CH_BUILD_O_PIDS, "N", "process limit of each RUN step's chute" },
  { "network", CH_BUILD_O_NET, "MODE", "RUN steps' network: bridge (default), host, none" },
  { "result-fd", CH_BUILD_O_RESULT_FD, "FD",
    "for programs: a JSON line on FD as each step begins and, on failure, its record (file, line, instruction, "
    "exit code, last output lines)" },
  CH_OPT_END,
};

char **
ch_build_argv (const struct ch_ctx *ctx, char *const *args)
{
  char **argv = xzalloc (sizeof (char *));
  cleanup_free char *tool = xasprintf ("%s/chuted-image", ctx->bin_dir);

  ch_strv_append (&argv, tool);
  ch_strv_append (&argv, "--root");
  ch_strv_append (&argv, ctx->root);
  ch_strv_append (&argv, "--run-root");
  ch_strv_append (&argv, ctx->run_root);
  ch_strv_append (&argv, "--cgroup-parent");
  ch_strv_append (&argv, ctx->cgroup_parent);
  for (size_t i = 0; args[i]; i++)
    ch_strv_append (&argv, args[i]);
  return argv;
}

int
ch_cmd_build (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_strv char **nargv = NULL;
  bool tag = false;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_build);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    if (o == 't')
      tag = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind != argc - 1)
    return ch_cli_usage_error (ctx, err, "give one context directory");
  if (!tag)
    return ch_cli_usage_error (ctx, err, "give the image's name with -t NAME[:TAG]");
  nargv = ch_build_argv (ctx, argv);
  fflush (stdout);
  execv (nargv[0], nargv);
  return ch_error (err, errno, "exec `%s`", nargv[0]);
}
