#include "mgmt/cli.h"

#include <stdlib.h>
#include <string.h>

static const char *
env_or (const char *name, const char *dflt)
{
  const char *v = getenv (name);
  return v && *v ? v : dflt;
}

int
ch_cli_globals (int argc, char **argv, struct ch_ctx *ctx, void (*usage) (FILE *), int *exit_code)
{
  int i;

  *ctx = (struct ch_ctx) {
    .root = env_or ("CHUTED_ROOT", "/var/lib/chuted"),
    .run_root = env_or ("CHUTED_RUN_ROOT", "/run/chuted"),
    .cgroup_parent = env_or ("CHUTED_CGROUP_PARENT", "chuted"),
    .fail_code = 1,
  };
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *o = argv[i];
      const char **dst = strcmp (o, "--root") == 0             ? &ctx->root
                         : strcmp (o, "--run-root") == 0      ? &ctx->run_root
                         : strcmp (o, "--cgroup-parent") == 0 ? &ctx->cgroup_parent
                                                              : NULL;
      if (strcmp (o, "-h") == 0 || strcmp (o, "--help") == 0)
        {
          usage (stdout);
          *exit_code = 0;
          return -1;
        }
      if (strcmp (o, "--version") == 0)
        {
          printf ("chuted version 0.1.0\n");
          *exit_code = 0;
          return -1;
        }
      if (dst == NULL || i + 1 >= argc)
        {
          fprintf (stderr, "chuted: unknown global option `%s`\n", o);
          usage (stderr);
          *exit_code = 2;
          return -1;
        }
      *dst = argv[++i];
    }
  if (i >= argc)
    {
      usage (stderr);
      *exit_code = 2;
      return -1;
    }
  if (ctx->root[0] != '/' || ctx->run_root[0] != '/')
    {
      fprintf (stderr, "chuted: --root and --run-root must be absolute paths\n");
      *exit_code = 2;
      return -1;
    }
  return i;
}
