/* chuted inspect NAME...: config, state, cgroup paths, limits, usage,
 * network, exit code, as one JSON array. */
#include "cgroups/cgroup.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "netns/net.h"
#include "netns/wifi.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *
cgroup_json (struct ch_ctx *ctx, const char *name, bool running)
{
  cleanup_free char *oci = ch_chute_oci_dir (ctx, name);
  cleanup_free char *path = NULL;
  cleanup_error ch_error_t err = NULL;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  json_t *o, *paths = json_array ();
  char **p;

  /* a live chute's cgroup is the one its OCI state names */
  if (!running || ch_container_cgroup_path (oci, &path, &err) < 0)
    path = ch_chute_cgroup_path (ctx, name);
  o = json_pack ("{s:s}", "path", path);
  if (!running || ch_cgroup_open (path, &cg, &err) < 0)
    {
      json_decref (paths);
      return o;
    }
  p = ch_cgroup_paths (cg);
  for (size_t i = 0; p && p[i]; i++)
    json_array_append_new (paths, json_string (p[i]));
  ch_strv_free (p);
  json_object_set_new (o, "paths", paths);
  if (ch_cgroup_stats (cg, &st, &err) == 0)
    json_object_set_new (o, "stats",
                         json_pack ("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cpu_usage_ns", (json_int_t) st.cpu_usage_ns,
                                    "memory_current", (json_int_t) st.memory_current, "memory_peak",
                                    (json_int_t) st.memory_peak, "memory_limit", (json_int_t) st.memory_limit,
                                    "pids_current", (json_int_t) st.pids_current, "pids_limit",
                                    (json_int_t) st.pids_limit, "oom_kills", (json_int_t) st.oom_kills));
  ch_cgroup_free (cg);
  return o;
}

static json_t *
inspect_one (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  struct ch_chute c;
  cleanup_json json_t *st = NULL;
  bool running;
  cleanup_error ch_error_t nerr = NULL;
  json_t *o, *state, *net = NULL, *cfg;
  /* a pod's services show the network they share, the pod's */
  cleanup_free char *pod = ch_pod_of (name);
  const char *net_name = pod ? pod : name;

  ch_chute_init (&c);
  /* the load checks the name before anything is read */
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return NULL;
  st = ch_chute_status (ctx, name);
  running = ch_chute_running (ctx, name, NULL);
  cfg = ch_chute_to_json (&c);
  state = st ? json_deep_copy (st) : json_pack ("{s:s}", "state", "created");
  json_object_set_new (state, "running", json_boolean (running));
  if (!running && json_object_get (state, "state") && strcmp (json_string_value (json_object_get (state, "state")), "exited") != 0)
    json_object_set_new (state, "state", json_string (st ? "exited" : "created"));
  o = json_pack ("{s:s, s:o, s:o}", "name", name, "config", cfg, "state", state);
  json_object_set (o, "limits", json_object_get (cfg, "resources"));
  json_object_set_new (o, "cgroup", cgroup_json (ctx, name, running));
  if (ch_net_inspect (ctx->root, ctx->run_root, net_name, &net, &nerr) == 0)
    json_object_set_new (o, "network", net);
  else
    json_object_set_new (o, "network", json_pack ("{s:s}", "error", nerr->msg));
  if (c.wifi)
    {
      cleanup_json json_t *all = NULL;
      cleanup_error ch_error_t werr = NULL;
      json_t *n, *found = NULL;
      size_t i;
      if (ch_wifi_list (ctx->root, ctx->run_root, &all, &werr) == 0)
        json_array_foreach (json_object_get (all, "networks"), i, n)
          if (strcmp (json_string_value (json_object_get (n, "chute")) ?: "", net_name) == 0)
            found = n;
      json_object_set_new (o, "wifi", found ? json_incref (found) : json_pack ("{s:s}", "spec", c.wifi));
    }
  {
    cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
    json_object_set_new (o, "log_path", json_pack_ex (NULL, 0, "s+", run_dir, "/ctr.log"));
  }
  ch_chute_clear (&c);
  return o;
}

int
ch_cmd_inspect (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_json json_t *all = json_array ();
  cleanup_free char *s = NULL;

  ch_cli_parser_init (&p, ctx, NULL);
  if (ch_cli_next (&p, argc, argv, err) < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
  for (int i = optind; i < argc; i++)
    {
      json_t *o = inspect_one (ctx, argv[i], err);
      if (o == NULL)
        return -1;
      json_array_append_new (all, o);
    }
  s = json_dumps (all, JSON_INDENT (2));
  printf ("%s\n", s);
  return 0;
}
