#include "mgmt/chute.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void
ch_chute_init (struct ch_chute *c)
{
  memset (c, 0, sizeof (*c));
  c->memory = c->memory_swap = c->cpu_shares = c->cpu_quota = c->cpu_period = c->pids = c->blkio_weight = -1;
  c->disk = 1ULL << 30;
  c->log_max = 1ULL << 20;
  c->stop_timeout = -1;
  c->no_new_privs = true;
  c->pod_index = -1;
}

void
ch_chute_clear (struct ch_chute *c)
{
  free (c->name);
  free (c->rootfs);
  free (c->image);
  ch_strv_free (c->command);
  ch_strv_free (c->entrypoint);
  ch_strv_free (c->env);
  free (c->workdir);
  free (c->user);
  free (c->hostname);
  free (c->cpuset_cpus);
  free (c->net_mode);
  ch_strv_free (c->ports);
  free (c->wifi);
  free (c->created);
  ch_strv_free (c->volumes);
  ch_strv_free (c->cap_add);
  ch_strv_free (c->cap_drop);
  ch_strv_free (c->devices);
  if (c->seccomp_profile)
    json_decref (c->seccomp_profile);
  ch_chute_init (c);
}

static void
set_str (json_t *o, const char *k, const char *v)
{
  if (v)
    json_object_set_new (o, k, json_string (v));
}

static void
set_int (json_t *o, const char *k, int64_t v)
{
  if (v >= 0)
    json_object_set_new (o, k, json_integer (v));
}

json_t *
ch_chute_to_json (const struct ch_chute *c)
{
  json_t *o = json_object ();
  json_t *r = json_object ();
  json_t *n = json_object ();

  set_str (o, "name", c->name);
  set_str (o, "rootfs", c->rootfs);
  set_str (o, "image", c->image);
  if (c->command)
    json_object_set_new (o, "command", ch_json_from_strv (c->command));
  if (c->entrypoint)
    json_object_set_new (o, "entrypoint", ch_json_from_strv (c->entrypoint));
  json_object_set_new (o, "env", ch_json_from_strv (c->env));
  set_str (o, "workdir", c->workdir);
  set_str (o, "user", c->user);
  set_str (o, "hostname", c->hostname);
  json_object_set_new (o, "tty", json_boolean (c->tty));
  json_object_set_new (o, "interactive", json_boolean (c->interactive));
  json_object_set_new (o, "autoremove", json_boolean (c->autoremove));
  json_object_set_new (o, "read_only", json_boolean (c->read_only));
  json_object_set_new (o, "privileged", json_boolean (c->privileged));
  set_str (o, "restart", ch_restart_name (c->restart));
  set_int (o, "restart_max", c->restart_max);
  json_object_set_new (o, "user_stopped", json_boolean (c->user_stopped));
  set_int (r, "memory", c->memory);
  set_int (r, "memory_swap", c->memory_swap);
  set_int (r, "cpu_shares", c->cpu_shares);
  set_int (r, "cpu_quota", c->cpu_quota);
  set_int (r, "cpu_period", c->cpu_period);
  set_int (r, "pids", c->pids);
  set_int (r, "blkio_weight", c->blkio_weight);
  set_str (r, "cpuset_cpus", c->cpuset_cpus);
  json_object_set_new (r, "disk", json_integer ((json_int_t) c->disk));
  json_object_set_new (r, "disk_quota", json_boolean (c->disk_quota));
  json_object_set_new (r, "log_max", json_integer ((json_int_t) c->log_max));
  json_object_set_new (o, "resources", r);
  set_str (n, "mode", c->net_mode);
  json_object_set_new (n, "ports", ch_json_from_strv (c->ports));
  json_object_set_new (n, "wan_down", json_integer ((json_int_t) c->wan_down));
  json_object_set_new (n, "wan_up", json_integer ((json_int_t) c->wan_up));
  set_str (n, "wifi", c->wifi);
  json_object_set_new (o, "net", n);
  set_str (o, "created", c->created);
  json_object_set_new (o, "init", json_boolean (c->init));
  if (c->stop_signal > 0)
    json_object_set_new (o, "stop_signal", json_integer (c->stop_signal));
  set_int (o, "stop_timeout", c->stop_timeout);
  json_object_set_new (o, "volumes", ch_json_from_strv (c->volumes));
  json_object_set_new (o, "cap_add", ch_json_from_strv (c->cap_add));
  json_object_set_new (o, "cap_drop", ch_json_from_strv (c->cap_drop));
  json_object_set_new (o, "devices", ch_json_from_strv (c->devices));
  if (c->seccomp_unconfined)
    json_object_set_new (o, "seccomp", json_string ("unconfined"));
  else if (c->seccomp_profile)
    json_object_set (o, "seccomp", c->seccomp_profile);
  json_object_set_new (o, "no_new_privileges", json_boolean (c->no_new_privs));
  set_int (o, "pod_index", c->pod_index);
  return o;
}

static int64_t
get_int (json_t *o, const char *k, int64_t dflt)
{
  json_t *v = json_object_get (o, k);
  return json_is_integer (v) ? json_integer_value (v) : dflt;
}

static char **
get_strv (json_t *o, const char *k)
{
  return ch_json_to_strv (json_object_get (o, k));
}

int
ch_chute_from_json (json_t *o, struct ch_chute *c, ch_error_t *err)
{
  json_t *r = json_object_get (o, "resources"), *n = json_object_get (o, "net");
  cleanup_free char *restart = NULL;

  ch_chute_init (c);
  if (!json_is_object (o) || !json_is_string (json_object_get (o, "name")))
    return ch_error (err, 0, "chute.json: `name` missing");
  c->name = ch_json_dup_str (o, "name");
  c->rootfs = ch_json_dup_str (o, "rootfs");
  c->image = ch_json_dup_str (o, "image");
  c->command = get_strv (o, "command");
  c->entrypoint = get_strv (o, "entrypoint");
  c->env = get_strv (o, "env");
  c->workdir = ch_json_dup_str (o, "workdir");
  c->user = ch_json_dup_str (o, "user");
  c->hostname = ch_json_dup_str (o, "hostname");
  c->tty = json_is_true (json_object_get (o, "tty"));
  c->interactive = json_is_true (json_object_get (o, "interactive"));
  c->autoremove = json_is_true (json_object_get (o, "autoremove"));
  c->read_only = json_is_true (json_object_get (o, "read_only"));
  c->privileged = json_is_true (json_object_get (o, "privileged"));
  restart = ch_json_dup_str (o, "restart");
  if (restart && ch_restart_parse (restart, &c->restart, &c->restart_max, err) < 0)
    return ch_error_prefix (err, "chute.json: restart");
  c->restart_max = get_int (o, "restart_max", c->restart_max);
  c->user_stopped = json_is_true (json_object_get (o, "user_stopped"));
  if (json_is_object (r))
    {
      c->memory = get_int (r, "memory", -1);
      c->memory_swap = get_int (r, "memory_swap", -1);
      c->cpu_shares = get_int (r, "cpu_shares", -1);
      c->cpu_quota = get_int (r, "cpu_quota", -1);
      c->cpu_period = get_int (r, "cpu_period", -1);
      c->pids = get_int (r, "pids", -1);
      c->blkio_weight = get_int (r, "blkio_weight", -1);
      c->cpuset_cpus = ch_json_dup_str (r, "cpuset_cpus");
      c->disk = get_int (r, "disk", (int64_t) c->disk);
      c->disk_quota = json_is_true (json_object_get (r, "disk_quota"));
      c->log_max = get_int (r, "log_max", (int64_t) c->log_max);
    }
  if (json_is_object (n))
    {
      c->net_mode = ch_json_dup_str (n, "mode");
      c->ports = get_strv (n, "ports");
      c->wan_down = get_int (n, "wan_down", 0);
      c->wan_up = get_int (n, "wan_up", 0);
      c->wifi = ch_json_dup_str (n, "wifi");
    }
  c->created = ch_json_dup_str (o, "created");
  c->init = json_is_true (json_object_get (o, "init"));
  c->stop_signal = (int) get_int (o, "stop_signal", 0);
  if (c->stop_signal < 0 || c->stop_signal >= NSIG)
    return ch_error (err, 0, "chute.json: stop_signal %d is no signal", c->stop_signal);
  c->stop_timeout = (int) get_int (o, "stop_timeout", -1);
  c->volumes = get_strv (o, "volumes");
  c->cap_add = get_strv (o, "cap_add");
  c->cap_drop = get_strv (o, "cap_drop");
  c->devices = get_strv (o, "devices");
  {
    json_t *sc = json_object_get (o, "seccomp");
    c->seccomp_unconfined = json_is_string (sc) && strcmp (json_string_value (sc), "unconfined") == 0;
    if (json_is_object (sc))
      c->seccomp_profile = json_incref (sc);
  }
  c->no_new_privs = !json_is_false (json_object_get (o, "no_new_privileges"));
  c->pod_index = (int) get_int (o, "pod_index", -1);
  return 0;
}

int
ch_signal_parse (const char *s, int *signo, ch_error_t *err)
{
  const char *name = ch_has_prefix (s, "SIG") || ch_has_prefix (s, "sig") ? s + 3 : s;
  int64_t n;

  for (int i = 1; i < NSIG; i++)
    {
      const char *abbrev = sigabbrev_np (i);
      if (abbrev && strcasecmp (abbrev, name) == 0)
        {
          *signo = i;
          return 0;
        }
    }
  if (ch_parse_int (s, 1, NSIG - 1, &n, err) < 0)
    {
      ch_error_release (err);
      return ch_error (err, 0, "unknown signal `%s`", s);
    }
  *signo = (int) n;
  return 0;
}

int
ch_restart_parse (const char *s, enum ch_restart *r, int *max, ch_error_t *err)
{
  *max = 0;
  if (strcmp (s, "no") == 0)
    *r = CH_RESTART_NO;
  else if (strcmp (s, "always") == 0)
    *r = CH_RESTART_ALWAYS;
  else if (strcmp (s, "unless-stopped") == 0)
    *r = CH_RESTART_UNLESS_STOPPED;
  else if (strcmp (s, "on-failure") == 0)
    *r = CH_RESTART_ON_FAILURE;
  else if (ch_has_prefix (s, "on-failure:"))
    {
      char *end;
      long n = strtol (s + 11, &end, 10);
      if (*end || end == s + 11 || n < 0 || n > 1000000)
        return ch_error (err, 0, "restart policy `%s`: the retry count must be a number >= 0", s);
      *r = CH_RESTART_ON_FAILURE;
      *max = (int) n;
    }
  else
    return ch_error (err, 0, "restart policy `%s` unknown (no, on-failure[:N], always, unless-stopped)", s);
  return 0;
}

const char *
ch_restart_name (enum ch_restart r)
{
  return r == CH_RESTART_ALWAYS           ? "always"
         : r == CH_RESTART_UNLESS_STOPPED ? "unless-stopped"
         : r == CH_RESTART_ON_FAILURE     ? "on-failure"
                                          : "no";
}

bool
ch_chute_starts_at_boot (const struct ch_chute *c)
{
  /* a --rm chute is gone once it stops: nothing to bring back */
  if (c->autoremove)
    return false;
  return c->restart == CH_RESTART_ALWAYS || (c->restart == CH_RESTART_UNLESS_STOPPED && !c->user_stopped);
}

/* One part of a name: the user's rule. N is its length. */
static int
name_part_check (const char *what, const char *name, size_t n, const char *q, ch_error_t *err)
{
  if (n == 0 || n > 63 || !isalnum ((unsigned char) name[0]))
    return ch_error (err, 0, "%s name `%s`: must start with a letter or digit and be 1-63 characters", what, q);
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) name[i]) && !strchr ("_.-", name[i]))
      return ch_error (err, 0, "%s name `%s`: only letters, digits, _ . - are allowed", what, q);
  /* the name is also a path component and a cgroup path component */
  if (memmem (name, n, "..", 2))
    return ch_error (err, 0, "%s name `%s`: `..` is not allowed", what, q);
  return 0;
}

int
ch_name_check (const char *what, const char *name, ch_error_t *err)
{
  cleanup_free char *q = NULL;
  size_t n = name ? strlen (name) : 0;

  if (n == 0)
    return ch_error (err, 0, "%s name missing (letters, digits, _ . -)", what);
  q = ch_quote (name, 80);
  return name_part_check (what, name, n, q, err);
}

int
ch_chute_name_check_new (const char *name, ch_error_t *err)
{
  if (name && strchr (name, CH_POD_SEP))
    {
      cleanup_free char *q = ch_quote (name, 80);
      return ch_error (err, 0, "chute name `%s`: `%c` is kept for the services of a pod (CHUTE%cSERVICE)", q,
                       CH_POD_SEP, CH_POD_SEP);
    }
  return ch_name_check ("chute", name, err);
}

int
ch_chute_name_check (const char *name, ch_error_t *err)
{
  const char *sep = name ? strchr (name, CH_POD_SEP) : NULL;
  cleanup_free char *q = NULL;

  if (sep == NULL)
    return ch_chute_name_check_new (name, err);
  q = ch_quote (name, 80);
  if (strlen (name) > 63)
    return ch_error (err, 0, "chute name `%s`: must be 1-63 characters", q);
  if (name_part_check ("chute", name, (size_t) (sep - name), q, err) < 0
      || name_part_check ("chute", sep + 1, strlen (sep + 1), q, err) < 0)
    return -1;
  return 0;
}

char *
ch_chutes_dir (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/chutes", ctx->root);
}

char *
ch_chute_dir (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/chutes/%s", ctx->root, name);
}

char *
ch_chutes_run_dir (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/chutes", ctx->run_root);
}

char *
ch_chute_run_dir (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/chutes/%s", ctx->run_root, name);
}

char *
ch_chute_oci_dir (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/oci/%s", ctx->run_root, name);
}

char *
ch_seccomp_cache_path (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/cache/seccomp", ctx->root);
}

char *
ch_chute_cgroup_path (const struct ch_ctx *ctx, const char *name)
{
  char *p = xasprintf ("%s/%s", ctx->cgroup_parent, name);
  char *sep = strchr (p + strlen (ctx->cgroup_parent) + 1, CH_POD_SEP);

  /* a pod's service is a leaf under the pod's cgroup, which holds the limits */
  if (sep)
    *sep = '/';
  return p;
}

char *
ch_chute_lock_path (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/chutes/%s.lock", ctx->run_root, name);
}

char *
ch_pod_of (const char *name)
{
  const char *sep = strchr (name, CH_POD_SEP);
  return sep ? xstrndup (name, (size_t) (sep - name)) : NULL;
}

/* Does DIR hold a directory POD+SERVICE with FILE in it? */
static bool
has_service (const char *dir, const char *pod, const char *file)
{
  cleanup_dir DIR *d = opendir (dir);
  size_t n = strlen (pod);
  struct dirent *de;

  while (d && (de = readdir (d)))
    if (strncmp (de->d_name, pod, n) == 0 && de->d_name[n] == CH_POD_SEP && de->d_name[n + 1])
      {
        cleanup_free char *f = xasprintf ("%s/%s/%s", dir, de->d_name, file);
        if (access (f, F_OK) == 0)
          return true;
      }
  return false;
}

bool
ch_pod_recorded (const struct ch_ctx *ctx, const char *pod)
{
  cleanup_free char *dir = ch_chutes_dir (ctx);
  return has_service (dir, pod, "chute.json");
}

bool
ch_pod_alive (const struct ch_ctx *ctx, const char *pod)
{
  cleanup_free char *dir = ch_chutes_run_dir (ctx);
  return has_service (dir, pod, ".");
}

bool
ch_chute_alive (const char *name, void *ctx)
{
  cleanup_free char *dir = NULL;
  cleanup_error ch_error_t e = NULL;

  if (ch_chute_name_check (name, &e) < 0)
    return false;
  dir = ch_chute_run_dir (ctx, name);
  /* a pod's network is named after the pod and lives as long as a service */
  return access (dir, F_OK) == 0 || ch_pod_alive (ctx, name);
}

int
ch_chute_load (const struct ch_ctx *ctx, const char *name, struct ch_chute *c, ch_error_t *err)
{
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *path = xasprintf ("%s/chute.json", dir);
  cleanup_json json_t *j = NULL;

  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if (access (path, F_OK) < 0)
    return ch_error (err, 0, "no such chute `%s`", name);
  if (ch_json_load_file (path, &j, err) < 0)
    return -1;
  return ch_chute_from_json (j, c, err);
}

int
ch_chute_save (const struct ch_ctx *ctx, const struct ch_chute *c, ch_error_t *err)
{
  cleanup_free char *dir = ch_chute_dir (ctx, c->name);
  cleanup_free char *path = xasprintf ("%s/chute.json", dir);
  cleanup_json json_t *j = ch_chute_to_json (c);

  if (ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  return ch_json_save_file (path, j, 0600, err);
}

int
ch_chute_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err)
{
  cleanup_free char *dir = ch_chutes_dir (ctx);
  return ch_list_marked (dir, "chute.json", ch_chute_name_check, names, err);
}

int
ch_lock_global (const struct ch_ctx *ctx, int *fd, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/lock", ctx->run_root);

  /* chuted's own state is nobody else's business */
  if (ch_mkdir_p (ctx->root, 0700, err) < 0 || ch_mkdir_p (ctx->run_root, 0700, err) < 0)
    return -1;
  return ch_lock_file (path, true, fd, err);
}

int
ch_lock_chute (const struct ch_ctx *ctx, const char *name, int *fd, ch_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/chutes", ctx->run_root);
  cleanup_free char *path = ch_chute_lock_path (ctx, name);

  if (ch_chute_name_check (name, err) < 0 || ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  return ch_lock_file (path, true, fd, err);
}
