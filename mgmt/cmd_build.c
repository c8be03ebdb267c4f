/* chuted build: an image from a Dockerfile. The builder links libarchive
 * and libcrypto, which chuted must not load, so this checks the command
 * line and execs `chuted-image build` with our global options (RUN steps
 * come back to this program as `chuted run --rm --rootfs ...`). */
#include "common/util.h"
#include "mgmt/commands.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_BUILD_ARG = 256,
  O_NO_CACHE,
  O_DISK,
};

const struct ch_opt ch_opts_build[] = {
  { "tag", 't', "NAME[:TAG]", "the name the image is stored as (required)" },
  { "file", 'f', "FILE", "the Dockerfile (default: DIR/Dockerfile)" },
  { "build-arg", O_BUILD_ARG, "K=V", "a value for an ARG (K alone: take it from here)" },
  { "no-cache", O_NO_CACHE, NULL, "build every step again, ignoring the build cache" },
  { "quiet", 'q', NULL, "print only the image id" },
  { "disk-limit", O_DISK, "SIZE", "cap on each layer and the whole image (default 1G)" },
  CH_OPT_END,
};

int
ch_cmd_build (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_free char *tool = NULL;
  char **nargv;
  bool tag = false;
  int o, n = 0;

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
  tool = xasprintf ("%s/chuted-image", ctx->bin_dir);
  nargv = xzalloc ((argc + 8) * sizeof (char *));
  nargv[n++] = tool;
  nargv[n++] = "--root";
  nargv[n++] = (char *) ctx->root;
  nargv[n++] = "--run-root";
  nargv[n++] = (char *) ctx->run_root;
  nargv[n++] = "--cgroup-parent";
  nargv[n++] = (char *) ctx->cgroup_parent;
  for (int i = 0; i < argc; i++)
    nargv[n++] = argv[i];
  fflush (stdout);
  execv (tool, nargv);
  free (nargv);
  return ch_error (err, errno, "exec `%s`", tool);
}
