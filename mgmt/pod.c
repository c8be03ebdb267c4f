/* A chute of several services: what they share (network, cgroup with the
 * chute's limits) and the pod as the deploy engine acts on it. See pod.h. */
#include "mgmt/pod.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/lifecycle.h"
#include "mgmt/limits.h"
#include "netns/wifi.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool
ch_pod_is (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *f = xasprintf ("%s/chute.json", dir);
  return strchr (name, CH_POD_SEP) == NULL && access (f, F_OK) < 0 && ch_pod_recorded (ctx, name);
}

static int
lock_pod (const struct ch_ctx *ctx, const char *pod, int *fd, ch_error_t *err)
{
  cleanup_free char *dir = ch_chutes_run_dir (ctx);
  cleanup_free char *path = xasprintf ("%s/%s%c.lock", dir, pod, CH_POD_SEP);

  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_lock_file (path, true, fd, err) < 0)
    return ch_error_prefix (err, "pod `%s`", pod);
  return 0;
}

static char *
pod_cgroup (const struct ch_ctx *ctx, const char *pod)
{
  return xasprintf ("%s/%s", ctx->cgroup_parent, pod);
}

/* The pod's cgroup goes when its last leaf has gone; a parent chuted did
 * not make (CGROUP_PARENT) stays, as it does for a chute of its own. */
static void
remove_cgroup (const struct ch_ctx *ctx, const char *pod)
{
  cleanup_free char *path = pod_cgroup (ctx, pod);
  cleanup_error ch_error_t e = NULL;
  struct ch_cgroup *cg = NULL;
  cleanup_strv char **paths = NULL;

  if (ch_cgroup_open (path, &cg, &e) < 0)
    return;
  /* "CONTROLLERS:DIR" per hierarchy; a directory still holding anything stays */
  paths = ch_cgroup_paths (cg);
  for (char **p = paths; *p; p++)
    rmdir (strchr (*p, ':') ? strchr (*p, ':') + 1 : *p);
  ch_cgroup_free (cg);
}

static int
make_cgroup (const struct ch_ctx *ctx, const struct ch_chute *c, const char *pod, ch_error_t *err)
{
  cleanup_free char *path = pod_cgroup (ctx, pod);
  struct ch_cgroup_resources res;
  struct ch_cgroup *cg = NULL;
  int r;

  if (ch_limits_resources (c, &res, err) < 0)
    return ch_error_prefix (err, "pod `%s`", pod);
  r = ch_cgroup_create (path, &res, &cg, err);
  ch_cgroup_resources_clear (&res);
  ch_cgroup_free (cg);
  return r < 0 ? ch_error_prefix (err, "pod `%s`", pod) : 0;
}

int
ch_pod_share_up (struct ch_ctx *ctx, const struct ch_chute *c, const char *pod, const struct ch_net_config *nc,
                 struct ch_net_result *net, int *lock, ch_error_t *err)
{
  cleanup_error ch_error_t e2 = NULL;
  int r;

  if (nc->mode != CH_NET_BRIDGE)
    return ch_error (err, 0, "pod `%s`: its services share the bridge network, not --net %s", pod, c->net_mode);
  if (lock_pod (ctx, pod, lock, err) < 0)
    return -1;
  r = ch_net_join (ctx->run_root, pod, net, err);
  if (r != 0)
    return r < 0 ? ch_error_prefix (err, "pod `%s`", pod) : 0;
  /* the first service up makes what they all share */
  if (make_cgroup (ctx, c, pod, err) < 0)
    return -1;
  if (ch_net_setup (ctx->root, ctx->run_root, pod, nc, net, err) < 0)
    {
      remove_cgroup (ctx, pod);
      return -1;
    }
  if (c->wifi)
    {
      struct ch_wifi_config wc = { 0 };
      r = ch_wifi_parse (c->wifi, &wc, err);
      if (r == 0)
        r = ch_wifi_setup (ctx->root, ctx->run_root, pod, &wc, net->netns_path, err);
      ch_wifi_config_clear (&wc);
      if (r < 0)
        {
          ch_wifi_teardown (ctx->root, ctx->run_root, pod, &e2);
          ch_error_release (&e2);
          ch_net_teardown (ctx->root, ctx->run_root, pod, &e2);
          ch_net_result_clear (net);
          remove_cgroup (ctx, pod);
          return -1;
        }
    }
  return 0;
}

int
ch_pod_join_chute (struct ch_ctx *ctx, const char *target, struct ch_net_result *net, ch_error_t *err)
{
  cleanup_free char *pod = NULL;
  int r;

  if (ch_chute_name_check (target, err) < 0)
    return ch_error_prefix (err, "--network container:");
  pod = ch_pod_of (target);
  r = ch_net_join (ctx->run_root, pod ? pod : target, net, err);
  if (r == 0)
    return ch_error (err, 0, "--network container:%s: that chute has no network up (not running, or not on the bridge)",
                     target);
  return r < 0 ? -1 : 0;
}

/* Does a service of POD other than NAME hold the pod (its bundle exists)? */
static bool
held_by_other (const struct ch_ctx *ctx, const char *name, const char *pod)
{
  cleanup_free char *dir = ch_chutes_run_dir (ctx);
  cleanup_dir DIR *d = opendir (dir);
  size_t n = strlen (pod);
  struct dirent *de;

  while (d && (de = readdir (d)))
    if (strncmp (de->d_name, pod, n) == 0 && de->d_name[n] == CH_POD_SEP && de->d_name[n + 1]
        && strcmp (de->d_name, name) != 0)
      {
        cleanup_free char *f = xasprintf ("%s/%s/bundle", dir, de->d_name);
        if (access (f, F_OK) == 0)
          return true;
      }
  return false;
}

int
ch_pod_share_down (struct ch_ctx *ctx, const char *name, const char *pod, ch_error_t *err)
{
  cleanup_close int lock = -1;

  if (lock_pod (ctx, pod, &lock, err) < 0)
    return -1;
  if (held_by_other (ctx, name, pod))
    return 0;
  if (ch_wifi_teardown (ctx->root, ctx->run_root, pod, err) < 0
      || ch_net_teardown (ctx->root, ctx->run_root, pod, err) < 0)
    return ch_error_prefix (err, "pod `%s`", pod);
  remove_cgroup (ctx, pod);
  return 0;
}

void
ch_pod_leaf_resources (const char *name, struct ch_cgroup_resources *res)
{
  if (strchr (name, CH_POD_SEP) == NULL)
    return;
  res->memory_limit = res->memory_swap = CH_CGROUP_UNSET;
  res->cpu_shares = res->cpu_quota = res->cpu_period = CH_CGROUP_UNSET;
  res->pids_limit = CH_CGROUP_UNSET;
}

struct member
{
  char *name;
  int index;
};

static int
cmp_member (const void *a, const void *b)
{
  const struct member *x = a, *y = b;
  return x->index != y->index ? (x->index > y->index) - (x->index < y->index) : strcmp (x->name, y->name);
}

int
ch_pod_services (const struct ch_ctx *ctx, const char *pod, char ***names, ch_error_t *err)
{
  cleanup_strv char **all = NULL;
  struct member *v = NULL;
  size_t n = 0, plen = strlen (pod);

  if (ch_chute_list (ctx, &all, err) < 0)
    return -1;
  for (char **a = all; *a; a++)
    if (strncmp (*a, pod, plen) == 0 && (*a)[plen] == CH_POD_SEP)
      {
        struct ch_chute c;
        cleanup_error ch_error_t e = NULL;
        ch_chute_init (&c);
        v = xrealloc (v, (n + 1) * sizeof *v);
        v[n].name = *a;
        /* a record that does not load still is a service: last, to be removed */
        v[n++].index = ch_chute_load (ctx, *a, &c, &e) == 0 && c.pod_index >= 0 ? c.pod_index : 1 << 30;
        ch_chute_clear (&c);
      }
  qsort (v, n, sizeof *v, cmp_member);
  *names = xzalloc (sizeof (char *));
  for (size_t i = 0; i < n; i++)
    ch_strv_append (names, v[i].name);
  free (v);
  return 0;
}

int
ch_pod_run (struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err)
{
  size_t i;
  int r = 0;

  for (i = 0; i < m->n_svc && r == 0; i++)
    {
      struct ch_chute c;
      r = ch_chute_from_service (m, i, &c, err);
      if (r == 0)
        r = ch_engine_run_chute (ctx, &c, err);
      ch_chute_clear (&c);
    }
  if (r < 0)
    {
      /* the services already up go: a pod starts whole or not at all */
      cleanup_error ch_error_t e2 = NULL;
      ch_pod_stop (ctx, m->chute.name, true, &e2);
    }
  return r;
}

int
ch_pod_start (struct ch_ctx *ctx, const char *pod, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  size_t i;

  if (ch_pod_services (ctx, pod, &names, err) < 0)
    return -1;
  for (i = 0; names[i]; i++)
    if (ch_engine_start_chute (ctx, names[i], err) < 0)
      break;
  if (names[i] == NULL)
    return 0;
  while (i-- > 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_engine_stop_chute (ctx, names[i], false, &e2);
    }
  return -1;
}

int
ch_pod_stop (struct ch_ctx *ctx, const char *pod, bool remove, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  cleanup_error ch_error_t first = NULL;
  size_t n;

  if (ch_pod_services (ctx, pod, &names, err) < 0)
    return -1;
  /* every service, whatever fails: the first failure is the one said */
  for (n = ch_strv_len (names); n-- > 0;)
    {
      cleanup_error ch_error_t e = NULL;
      if (ch_engine_stop_chute (ctx, names[n], remove, &e) < 0 && first == NULL)
        first = steal_pointer (&e);
    }
  if (first)
    {
      *err = steal_pointer (&first);
      return -1;
    }
  if (remove)
    {
      cleanup_free char *dir = ch_chutes_run_dir (ctx);
      cleanup_free char *lock = xasprintf ("%s/%s%c.lock", dir, pod, CH_POD_SEP);
      unlink (lock);
    }
  return 0;
}

int
ch_pod_wait_alive (struct ch_ctx *ctx, const char *pod, uint64_t grace_s, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  json_int_t *restarts;
  int64_t t0;
  size_t n;
  int r = 0;

  if (ch_pod_services (ctx, pod, &names, err) < 0)
    return -1;
  n = ch_strv_len (names);
  if (n == 0)
    return ch_error (err, 0, "not alive: pod `%s` has no service", pod);
  restarts = xzalloc (n * sizeof *restarts);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_json json_t *st = ch_chute_status (ctx, names[i]);
      restarts[i] = json_integer_value (json_object_get (st, "restarts"));
    }
  t0 = ch_now_ms ();
  for (;;)
    {
      for (size_t i = 0; i < n && r == 0; i++)
        {
          cleanup_json json_t *st = ch_chute_status (ctx, names[i]);
          /* with no grace: whether it runs now, and if not, why */
          r = ch_engine_wait_alive (ctx, names[i], 0, err);
          if (r == 0 && json_integer_value (json_object_get (st, "restarts")) != restarts[i])
            r = ch_error (err, 0, "restarted");
          if (r < 0)
            ch_error_prefix (err, "service `%s`", strchr (names[i], CH_POD_SEP) + 1);
        }
      if (r < 0 || (uint64_t) (ch_now_ms () - t0) >= grace_s * 1000)
        break;
      usleep (100 * 1000);
    }
  free (restarts);
  return r;
}

json_t *
ch_pod_actual (const struct ch_ctx *ctx, const char *name, bool *running, bool *recorded)
{
  cleanup_strv char **names = NULL;
  cleanup_error ch_error_t e = NULL;
  json_t *a = json_array ();

  *running = true;
  *recorded = false;
  if (!ch_pod_is (ctx, name) || ch_pod_services (ctx, name, &names, &e) < 0)
    {
      ch_strv_free (names);
      names = xzalloc (sizeof (char *));
      ch_strv_append (&names, name);
    }
  for (char **s = names; *s; s++)
    {
      cleanup_free char *dir = ch_chute_dir (ctx, *s);
      cleanup_free char *f = xasprintf ("%s/chute.json", dir);
      bool rec = access (f, F_OK) == 0, run = ch_chute_running (ctx, *s, NULL);
      const char *svc = strchr (*s, CH_POD_SEP);
      *running = *running && run;
      *recorded = *recorded || rec;
      json_array_append_new (a, json_pack ("{s:s, s:s, s:s}", "name", svc ? svc + 1 : *s, "chute", *s, "actual",
                                           run ? "running" : rec ? "stopped" : "absent"));
    }
  return a;
}
