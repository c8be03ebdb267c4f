/* chuted update: change limits of a chute, live when it runs. The new
 * limits go through the same route as `run`'s (mgmt/limits.c), and a
 * running chute's cgroup is the one its OCI state names. */
#include "cgroups/cgroup.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "mgmt/limits.h"
#include "netns/net.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_WAN_DOWN = 256,
  O_WAN_UP,
};

const struct ch_opt ch_opts_update[] = {
  CH_LIMIT_OPTS,
  { "wan-down", O_WAN_DOWN, "RATE", "WAN download rate cap (e.g. 10mbit)" },
  { "wan-up", O_WAN_UP, "RATE", "WAN upload rate cap" },
  CH_OPT_END,
};

static int
apply_live (struct ch_ctx *ctx, const struct ch_chute *c, const struct ch_cgroup_resources *res, ch_error_t *err)
{
  cleanup_free char *oci = ch_chute_oci_dir (ctx, c->name);
  cleanup_free char *path = NULL;
  struct ch_cgroup *cg = NULL;
  int r;

  if (ch_container_cgroup_path (oci, &path, err) < 0 || ch_cgroup_open (path, &cg, err) < 0)
    return -1;
  r = ch_cgroup_update (cg, res, err);
  ch_cgroup_free (cg);
  return r;
}

int
ch_cmd_update (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  struct ch_cgroup_resources res;
  struct ch_chute c;
  cleanup_close int lock = -1;
  cleanup_strv char **flags = xzalloc (sizeof (char *));
  bool cg_change = false;
  const char *down = NULL, *up = NULL;
  cleanup_cli_parser struct ch_cli_parser p;
  int o, ret = -1;

  ch_chute_init (&c);
  ch_cgroup_resources_init (&res);
  ch_cli_parser_init (&p, ctx, ch_opts_update);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    {
      if (o == O_WAN_DOWN)
        down = p.optarg;
      else if (o == O_WAN_UP)
        up = p.optarg;
      else
        {
          /* applied once the chute is loaded, in the order given */
          ch_strv_append (&flags, p.name);
          ch_strv_append (&flags, p.optarg);
        }
    }
  if (o < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
  if (ch_chute_load (ctx, argv[optind], &c, err) < 0)
    return -1;
  for (size_t i = 0; flags[i]; i += 2)
    if (ch_limits_flag (&c, flags[i], flags[i + 1], err) < 0)
      goto out;
  cg_change = flags[0] != NULL;
  if (ch_limits_resources (&c, &res, err) < 0)
    goto out;
  if ((down && ch_net_parse_rate (down, &c.wan_down, err) < 0) || (up && ch_net_parse_rate (up, &c.wan_up, err) < 0))
    goto out;
  if (ch_lock_chute (ctx, c.name, &lock, err) < 0)
    goto out;
  if (ch_chute_running (ctx, c.name, NULL))
    {
      if (cg_change && apply_live (ctx, &c, &res, err) < 0)
        goto out;
      if ((down || up) && ch_net_set_shaping (ctx->root, ctx->run_root, c.name, c.wan_down, c.wan_up, err) < 0)
        goto out;
    }
  if (ch_chute_save (ctx, &c, err) < 0)
    goto out;
  printf ("%s\n", c.name);
  ret = 0;
out:
  ch_cgroup_resources_clear (&res);
  ch_chute_clear (&c);
  return ret;
}
