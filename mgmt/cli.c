#include "mgmt/cli.h"
#include "common/globals.h"

int
ch_cli_globals (int argc, char **argv, struct ch_ctx *ctx, void (*usage) (FILE *), int *exit_code)
{
  struct ch_globals g;
  int i = ch_globals_main (argc, argv, "chuted", usage, &g, exit_code);

  *ctx = (struct ch_ctx) {
    .root = g.root,
    .run_root = g.run_root,
    .cgroup_parent = g.cgroup_parent,
    .fail_code = 125,
  };
  return i;
}
