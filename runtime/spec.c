#include "runtime/runtime.h"
#include "runtime/spec.h"

#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

int
ch_spec_err (ch_error_t *err, const char *key, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  return ch_error (err, 0, "config.json: %s: %s", key, msg);
}

static const char *
type_name (json_type t)
{
  switch (t)
    {
    case JSON_OBJECT:
      return "an object";
    case JSON_ARRAY:
      return "an array";
    case JSON_STRING:
      return "a string";
    case JSON_INTEGER:
      return "an integer";
    case JSON_REAL:
      return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "a boolean";
    default:
      return "null";
    }
}

int
ch_spec_get (json_t *obj, const char *key, const char *name, json_type type, bool required, json_t **out,
             ch_error_t *err)
{
  json_t *v = json_object_get (obj, name);
  cleanup_free char *full = *key ? xasprintf ("%s.%s", key, name) : xstrdup (name);

  *out = NULL;
  if (v == NULL || json_is_null (v))
    {
      if (required)
        return ch_spec_err (err, full, "missing");
      return 0;
    }
  if (type == JSON_TRUE ? !json_is_boolean (v) : json_typeof (v) != type)
    return ch_spec_err (err, full, "must be %s, not %s", type_name (type), type_name (json_typeof (v)));
  *out = v;
  return 1;
}

int
ch_spec_strv (json_t *arr, const char *key, char ***out, ch_error_t *err)
{
  cleanup_strv char **v = xzalloc (sizeof (char *) * (json_array_size (arr) + 1));
  size_t i;
  json_t *e;

  json_array_foreach (arr, i, e)
    {
      if (!json_is_string (e))
        {
          cleanup_free char *k = xasprintf ("%s[%zu]", key, i);
          return ch_spec_err (err, k, "must be a string, not %s", type_name (json_typeof (e)));
        }
      v[i] = xstrdup (json_string_value (e));
    }
  ch_strv_free (*out);
  *out = steal_pointer (&v);
  return 0;
}

int
ch_spec_u64 (json_t *v, const char *key, uint64_t *out, ch_error_t *err)
{
  if (json_is_integer (v))
    {
      json_int_t i = json_integer_value (v);
      if (i < 0)
        return ch_spec_err (err, key, "must not be negative");
      *out = (uint64_t) i;
      return 0;
    }
  /* jansson stores integers as long long: values above INT64_MAX (e.g.
   * 18446744073709551615 for RLIM_INFINITY) come back as reals. */
  if (json_is_real (v) && json_real_value (v) >= 0 && json_real_value (v) <= 18446744073709551615.0)
    {
      double d = json_real_value (v);
      *out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t) d;
      return 0;
    }
  return ch_spec_err (err, key, "must be a non-negative integer, not %s", type_name (json_typeof (v)));
}

int
ch_spec_refuse (json_t *obj, const char *key, const char *const names[], size_t n, ch_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      json_t *v = json_object_get (obj, names[i]);
      if (v && !json_is_null (v))
        {
          cleanup_free char *k = xasprintf ("%s.%s", key, names[i]);
          return ch_spec_err (err, k, "not supported by chuted");
        }
    }
  return 0;
}

int
ch_spec_u64_fields (json_t *obj, const char *key, const char *const fields[], const uint64_t max[], size_t n,
                    uint64_t *val, ch_error_t *err)
{
  if (!json_is_object (obj))
    return ch_spec_err (err, key, "must be an object");
  for (size_t j = 0; j < n; j++)
    {
      cleanup_free char *kk = xasprintf ("%s.%s", key, fields[j]);
      json_t *v = json_object_get (obj, fields[j]);
      if (v == NULL)
        return ch_spec_err (err, kk, "missing");
      if (ch_spec_u64 (v, kk, &val[j], err) < 0)
        return -1;
      if (val[j] > max[j])
        return ch_spec_err (err, kk, "out of range");
    }
  return 0;
}

static int
parse_root (struct ch_spec *s, json_t *config, ch_error_t *err)
{
  json_t *root, *path, *ro;

  if (ch_spec_get (config, "", "root", JSON_OBJECT, true, &root, err) < 0)
    return -1;
  if (ch_spec_get (root, "root", "path", JSON_STRING, true, &path, err) < 0)
    return -1;
  if (ch_spec_get (root, "root", "readonly", JSON_TRUE, false, &ro, err) < 0)
    return -1;
  if (json_string_value (path)[0] == '/')
    s->root_path = xstrdup (json_string_value (path));
  else
    s->root_path = xasprintf ("%s/%s", s->bundle, json_string_value (path));
  s->root_readonly = ro && json_is_true (ro);
  return 0;
}

int
ch_spec_from_json (json_t *config, const char *bundle, struct ch_spec **out, ch_error_t *err)
{
  struct ch_spec *s = xzalloc (sizeof (*s));
  json_t *v;

  s->bundle = xstrdup (bundle ? bundle : ".");
  s->rootfs_propagation = MS_SLAVE | MS_REC;
  s->umask = 022;
  ch_cgroup_resources_init (&s->resources);

  if (!json_is_object (config))
    {
      ch_error (err, 0, "config.json: must be a JSON object");
      goto fail;
    }
  if (ch_spec_get (config, "", "ociVersion", JSON_STRING, true, &v, err) < 0)
    goto fail;
  if (strncmp (json_string_value (v), "1.", 2) != 0)
    {
      ch_spec_err (err, "ociVersion", "unsupported version `%s` (want 1.x)", json_string_value (v));
      goto fail;
    }
  if (parse_root (s, config, err) < 0)
    goto fail;
  if (ch_spec_get (config, "", "hostname", JSON_STRING, false, &v, err) < 0)
    goto fail;
  if (v)
    s->hostname = xstrdup (json_string_value (v));
  if (ch_spec_get (config, "", "domainname", JSON_STRING, false, &v, err) < 0)
    goto fail;
  if (v && json_string_value (v)[0])
    s->domainname = xstrdup (json_string_value (v));
  /* OPTIONAL at create, REQUIRED at start (the runtime spec): without it,
   * args stays NULL and start refuses (ch_container_start) */
  if (ch_spec_get (config, "", "process", JSON_OBJECT, false, &v, err) < 0)
    goto fail;
  if (v && ch_spec_parse_process (s, v, err) < 0)
    goto fail;
  if (ch_spec_get (config, "", "mounts", JSON_ARRAY, false, &v, err) < 0)
    goto fail;
  if (v && ch_spec_parse_mounts (s, v, err) < 0)
    goto fail;
  if (ch_spec_get (config, "", "linux", JSON_OBJECT, false, &v, err) < 0)
    goto fail;
  if (v && ch_spec_parse_linux (s, v, err) < 0)
    goto fail;
  if (ch_spec_get (config, "", "hooks", JSON_OBJECT, false, &v, err) < 0)
    goto fail;
  if (v && ch_hooks_parse (v, &s->hooks, err) < 0)
    goto fail;
  if (v)
    s->hooks_json = json_incref (v);
  if (ch_spec_get (config, "", "annotations", JSON_OBJECT, false, &v, err) < 0)
    goto fail;
  if (v)
    {
      const char *k;
      json_t *a;
      json_object_foreach (v, k, a)
        if (!json_is_string (a))
          {
            cleanup_free char *key = xasprintf ("annotations.%s", k);
            ch_spec_err (err, key, "must be a string");
            goto fail;
          }
    }
  s->annotations = v ? json_deep_copy (v) : json_object ();
  *out = s;
  return 0;

fail:
  ch_spec_free (s);
  return -1;
}

int
ch_spec_load_bundle (const char *bundle, struct ch_spec **out, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/config.json", bundle);
  cleanup_json json_t *j = NULL;

  if (ch_json_load_file (path, &j, err) < 0)
    return -1;
  return ch_spec_from_json (j, bundle, out, err);
}

void
ch_spec_free (struct ch_spec *s)
{
  size_t i;

  if (s == NULL)
    return;
  free (s->bundle);
  free (s->root_path);
  free (s->hostname);
  free (s->domainname);
  free (s->apparmor_profile);
  free (s->selinux_label);
  free (s->mount_label);
  free (s->additional_gids);
  free (s->username);
  ch_strv_free (s->args);
  ch_strv_free (s->env);
  free (s->cwd);
  free (s->rlimits);
  ch_strv_free (s->caps_unknown);
  for (i = 0; i < s->n_mounts; i++)
    {
      free (s->mounts[i].destination);
      free (s->mounts[i].source);
      free (s->mounts[i].type);
      free (s->mounts[i].data);
    }
  free (s->mounts);
  for (i = 0; i < CH_NS_COUNT; i++)
    free (s->ns[i].path);
  free (s->uid_maps);
  free (s->gid_maps);
  ch_strv_free (s->sysctl);
  ch_cgroup_resources_clear (&s->resources);
  free (s->cgroups_path);
  ch_seccomp_free (s->seccomp);
  if (s->seccomp_json)
    json_decref (s->seccomp_json);
  free (s->seccomp_bpf.prog);
  ch_strv_free (s->masked_paths);
  ch_strv_free (s->readonly_paths);
  for (i = 0; i < s->n_devices; i++)
    free (s->devices[i].path);
  free (s->devices);
  ch_hooks_clear (&s->hooks);
  if (s->hooks_json)
    json_decref (s->hooks_json);
  if (s->annotations)
    json_decref (s->annotations);
  free (s);
}
