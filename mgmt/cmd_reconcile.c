/* chuted reconcile: bring every deployed chute to its desired state after a
 * crash, a monitor's death or a reboot (mgmt/engine_reconcile.c), printing
 * what it does as deploy prints its progress. What the boot unit runs. */
#include "mgmt/commands.h"
#include "mgmt/engine.h"

#include <getopt.h>

const struct ch_opt ch_opts_reconcile[] = {
  CH_OPT_END,
};

int
ch_cmd_reconcile (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  struct ch_engine e;
  int o, r;

  ch_cli_parser_init (&p, ctx, ch_opts_reconcile);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    ;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (unknown argument `%s`)", argv[optind]);
  /* waits for a change under way: never races a live deploy */
  if (ch_engine_open (&e, ctx, ch_print_change_event, NULL, err) < 0)
    return -1;
  r = ch_engine_reconcile (&e, err);
  ch_engine_close (&e);
  return r;
}
