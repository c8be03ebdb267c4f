#include "runtime/monitor.h"
#include "common/json.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static char *
str (json_t *o, const char *k)
{
  json_t *v = json_object_get (o, k);
  return json_is_string (v) ? xstrdup (json_string_value (v)) : NULL;
}

int
ch_monitor_config_load (const char *path, struct ch_monitor_config *c, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  json_t *a;
  const char *restart;

  memset (c, 0, sizeof (*c));
  if (ch_json_load_file (path, &j, err) < 0)
    return -1;
  c->id = str (j, "id");
  c->chuted = str (j, "chuted");
  c->run_root = str (j, "run_root");
  c->cgroup_parent = str (j, "cgroup_parent");
  c->seccomp_cache = str (j, "seccomp_cache");
  c->bundle = str (j, "bundle");
  c->oci_dir = str (j, "oci_dir");
  c->cgroup_path = str (j, "cgroup_path");
  if (!c->id || !c->chuted || !c->run_root || !c->bundle || !c->oci_dir)
    return ch_error (err, 0, "%s: id, chuted, run_root, bundle and oci_dir are required", path);
  restart = json_string_value (json_object_get (j, "restart"));
  c->restart = restart == NULL                       ? CH_MON_RESTART_NO
               : strcmp (restart, "always") == 0     ? CH_MON_RESTART_ALWAYS
               : strcmp (restart, "on-failure") == 0 ? CH_MON_RESTART_ON_FAILURE
                                                     : CH_MON_RESTART_NO;
  c->restart_max = json_integer_value (json_object_get (j, "restart_max"));
  c->tty = json_is_true (json_object_get (j, "tty"));
  c->interactive = json_is_true (json_object_get (j, "interactive"));
  c->attach_wait = json_is_true (json_object_get (j, "attach_wait"));
  c->log_max = json_integer_value (json_object_get (j, "log_max"));
  c->restarts = (int) json_integer_value (json_object_get (j, "restarts"));
  c->reason = str (j, "reason");
  a = json_object_get (j, "on_exit");
  if (json_array_size (a) > 0)
    c->on_exit = ch_json_to_strv (a);
  return 0;
}

json_t *
ch_monitor_config_to_json (const struct ch_monitor_config *c)
{
  json_t *o = json_object ();
  static const char *const restart[] = { "no", "on-failure", "always" };

  json_object_set_new (o, "id", json_string (c->id));
  json_object_set_new (o, "chuted", json_string (c->chuted));
  json_object_set_new (o, "run_root", json_string (c->run_root));
  if (c->cgroup_parent)
    json_object_set_new (o, "cgroup_parent", json_string (c->cgroup_parent));
  if (c->seccomp_cache)
    json_object_set_new (o, "seccomp_cache", json_string (c->seccomp_cache));
  json_object_set_new (o, "bundle", json_string (c->bundle));
  json_object_set_new (o, "oci_dir", json_string (c->oci_dir));
  if (c->cgroup_path)
    json_object_set_new (o, "cgroup_path", json_string (c->cgroup_path));
  json_object_set_new (o, "restart", json_string (restart[c->restart]));
  json_object_set_new (o, "restart_max", json_integer (c->restart_max));
  json_object_set_new (o, "tty", json_boolean (c->tty));
  json_object_set_new (o, "interactive", json_boolean (c->interactive));
  json_object_set_new (o, "attach_wait", json_boolean (c->attach_wait));
  json_object_set_new (o, "log_max", json_integer ((json_int_t) c->log_max));
  json_object_set_new (o, "on_exit", ch_json_from_strv (c->on_exit));
  json_object_set_new (o, "restarts", json_integer (c->restarts));
  if (c->reason)
    json_object_set_new (o, "reason", json_string (c->reason));
  return o;
}

void
ch_monitor_config_clear (struct ch_monitor_config *c)
{
  free (c->id);
  free (c->chuted);
  free (c->run_root);
  free (c->cgroup_parent);
  free (c->seccomp_cache);
  free (c->bundle);
  free (c->oci_dir);
  free (c->cgroup_path);
  free (c->reason);
  ch_strv_free (c->on_exit);
  memset (c, 0, sizeof (*c));
}
