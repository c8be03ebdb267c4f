/* chuted network ls | network inspect [NAME]: the chute bridge, its subnet
 * and the leases in use (netns/ch_net_network_info); network prune: remove
 * the bridge and nftables table the last chute left (netns/ch_net_prune). */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/reap.h"
#include "netns/net.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_JSON = 256
};

const struct ch_opt ch_opts_network[] = {
  { "json", O_JSON, NULL, "ls: JSON" },
  CH_OPT_END,
};

static int
network_ls (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_json json_t *info = NULL;
  bool json = false;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_network);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    json = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "ls takes no operand");
  if (ch_net_network_info (ctx->root, ctx->run_root, &info, err) < 0)
    return -1;
  if (json)
    {
      cleanup_free char *s = json_dumps (info, JSON_INDENT (2));
      printf ("%s\n", s);
      return 0;
    }
  printf ("%-15s %-18s %-15s %-5s %-6s %s\n", "NAME", "SUBNET", "GATEWAY", "MTU", "CHUTES", "STATE");
  printf ("%-15s %-18s %-15s %-5lld %-6zu %s\n", json_string_value (json_object_get (info, "bridge")),
          json_string_value (json_object_get (info, "subnet")), json_string_value (json_object_get (info, "gateway")),
          (long long) json_integer_value (json_object_get (info, "mtu")),
          json_array_size (json_object_get (info, "leases")),
          json_is_true (json_object_get (info, "present")) ? "up" : "not created (made on first use)");
  return 0;
}

static int
network_inspect (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_json json_t *info = NULL;
  cleanup_free char *s = NULL;
  const char *bridge;

  if (argc > 2)
    return ch_cli_usage_error (ctx, err, "inspect takes at most one NAME");
  if (ch_net_network_info (ctx->root, ctx->run_root, &info, err) < 0)
    return -1;
  bridge = json_string_value (json_object_get (info, "bridge"));
  if (argc == 2 && strcmp (argv[1], bridge) != 0)
    return ch_error (err, 0, "no network `%s` (the chute network is `%s`)", argv[1], bridge);
  s = json_dumps (info, JSON_INDENT (2));
  printf ("%s\n", s);
  return 0;
}

static int
network_prune (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_free char *removed = NULL;

  (void) argv;
  if (argc > 1)
    return ch_cli_usage_error (ctx, err, "prune takes no operand");
  /* chutes that died without cleaning up must not hold the network */
  if (ch_lock_global (ctx, &lock, err) < 0)
    return -1;
  ch_reap (ctx);
  if (ch_net_prune (ctx->root, ctx->run_root, &removed, err) < 0)
    return -1;
  if (removed)
    printf ("%s\n", removed);
  return 0;
}

int
ch_cmd_network (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  int i;

  /* options come after the subcommand; here only --help */
  ch_cli_parser_init (&p, ctx, NULL);
  if (ch_cli_next (&p, argc, argv, err) < 0)
    return ch_cli_done (&p);
  i = optind;
  if (i >= argc)
    return ch_cli_usage_error (ctx, err, "give ls, inspect or prune");
  if (strcmp (argv[i], "ls") == 0 || strcmp (argv[i], "list") == 0)
    return network_ls (ctx, argc - i, argv + i, err);
  if (strcmp (argv[i], "inspect") == 0)
    return network_inspect (ctx, argc - i, argv + i, err);
  if (strcmp (argv[i], "prune") == 0)
    return network_prune (ctx, argc - i, argv + i, err);
  return ch_cli_usage_error (ctx, err, "unknown network command `%s` (ls, inspect, prune)", argv[i]);
}
