/* chuted-runtime: the OCI runtime alone (`chuted oci ...` execs it), a
 * static program of runtime/, cgroups/ and common/ only: what a podman
 * --runtime or the chute monitor runs on the container-start path. */
#include "common/error.h"
#include "common/globals.h"
#include "mgmt/cli.h"

#include <stdio.h>
#include <string.h>

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted-runtime [--root DIR] [--run-root DIR] [--cgroup-parent PATH] oci "
              "spec|create|start|state|kill|delete|run|exec|list ...\n");
}

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_ctx ctx;
  struct ch_globals g;
  int i, ret, code;

  i = ch_globals_main (argc, argv, "chuted", usage, &g, &code);
  if (i < 0)
    return code;
  ctx = (struct ch_ctx) { .root = g.root, .run_root = g.run_root, .cgroup_parent = g.cgroup_parent, .fail_code = 1 };
  /* "chuted-runtime run ..." and "chuted-runtime oci run ..." alike */
  if (strcmp (argv[i], "oci") != 0)
    i--;
  ret = ch_cmd_oci (&ctx, argc - i, argv + i, &err);
  if (ret < 0)
    {
      ch_error_print (&err, "chuted");
      return ctx.fail_code;
    }
  return ret;
}
