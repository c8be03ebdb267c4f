/* chuted-runtime: the OCI runtime alone (`chuted oci ...` execs it), a
 * static program of runtime/, cgroups/ and common/ only: what a podman
 * --runtime or the chute monitor runs on the container-start path. */
#include "common/error.h"
#include "runtime/oci_cli.h"

#include <stdio.h>
#include <string.h>

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted-runtime [--root DIR] [--run-root DIR] [--cgroup-parent PATH] [--log FILE] "
              "[--log-format json|text] [oci] "
              "spec|create|start|state|kill|delete|run|exec|list|ps|pause|resume|update|features ...\n");
}

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_oci_ctx ctx;
  int i, ret, code;

  i = ch_oci_globals (argc, argv, &ctx, usage, &code);
  if (i < 0)
    return code;
  /* "chuted-runtime run ..." and "chuted-runtime oci run ..." alike */
  if (strcmp (argv[i], "oci") != 0)
    i--;
  ret = ch_oci_cli (&ctx, argc - i, argv + i, &err);
  if (ret < 0)
    {
      ch_oci_log (&ctx, "error", err->msg);
      ch_error_print (&err, "chuted");
      return ctx.fail_code;
    }
  return ret;
}
