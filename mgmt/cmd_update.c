/* chuted update: change limits of a chute, live when it runs. */
#include "cgroups/cgroup.h"
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "netns/net.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
ch_cmd_update (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "memory", required_argument, NULL, 'm' },
                                        { "cpu-shares", required_argument, NULL, 'c' },
                                        { "pids", required_argument, NULL, 'p' },
                                        { "wan-down", required_argument, NULL, 'D' },
                                        { "wan-up", required_argument, NULL, 'U' },
                                        { NULL, 0, NULL, 0 } };
  struct ch_cgroup_resources res;
  struct ch_chute c;
  cleanup_close int lock = -1;
  bool cg_change = false, net_change = false;
  uint64_t v;
  int64_t n;
  int o, ret = -1;

  const char *mem = NULL, *shares = NULL, *pids = NULL, *down = NULL, *up = NULL;

  ch_chute_init (&c);
  ch_cgroup_resources_init (&res);
  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "m:c:p:", opts, NULL)) != -1)
    switch (o)
      {
      case 'm': mem = optarg; break;
      case 'c': shares = optarg; break;
      case 'p': pids = optarg; break;
      case 'D': down = optarg; break;
      case 'U': up = optarg; break;
      default: return ch_error (err, 0, "update: unknown option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    return ch_error (err, 0, "update: give the chute's name");
  if (ch_chute_load (ctx, argv[optind], &c, err) < 0)
    return -1;
  if (mem)
    {
      if (ch_parse_size (mem, &v, err) < 0)
        goto out;
      c.memory = res.memory_limit = (int64_t) v;
      cg_change = true;
    }
  if (shares)
    {
      if (ch_parse_int (shares, 2, 262144, &n, err) < 0)
        goto out;
      c.cpu_shares = res.cpu_shares = n;
      cg_change = true;
    }
  if (pids)
    {
      if (ch_parse_int (pids, 1, INT32_MAX, &n, err) < 0)
        goto out;
      c.pids = res.pids_limit = n;
      cg_change = true;
    }
  if ((down && ch_net_parse_rate (down, &c.wan_down, err) < 0) || (up && ch_net_parse_rate (up, &c.wan_up, err) < 0))
    goto out;
  net_change = down || up;
  if (ch_lock_chute (ctx, c.name, &lock, err) < 0)
    goto out;
  if (ch_chute_running (ctx, c.name, NULL))
    {
      if (cg_change)
        {
          cleanup_free char *path = xasprintf ("%s/%s", ctx->cgroup_parent, c.name);
          struct ch_cgroup *cg = NULL;
          if (ch_cgroup_open (path, &cg, err) < 0)
            goto out;
          ret = ch_cgroup_update (cg, &res, err);
          ch_cgroup_free (cg);
          if (ret < 0)
            goto out;
          ret = -1;
        }
      if (net_change && ch_net_set_shaping (ctx->root, ctx->run_root, c.name, c.wan_down, c.wan_up, err) < 0)
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
