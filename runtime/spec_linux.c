/* linux: namespaces, id maps, sysctl, cgroupsPath, masked/readonly paths,
 * devices, rootfsPropagation (resources and seccomp have their own files). */
#include "runtime/spec.h"

#include "common/util.h"

#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static const char *const ns_names[CH_NS_COUNT] = {
  [CH_NS_MOUNT] = "mount", [CH_NS_PID] = "pid",       [CH_NS_UTS] = "uts",   [CH_NS_IPC] = "ipc",
  [CH_NS_NET] = "network", [CH_NS_CGROUP] = "cgroup", [CH_NS_USER] = "user",
};

static int
parse_namespaces (struct ch_spec *s, json_t *arr, ch_error_t *err)
{
  size_t i;
  int t;
  json_t *e, *v;

  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("linux.namespaces[%zu]", i);
      cleanup_free char *kt = xasprintf ("%s.type", k);
      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "type", JSON_STRING, true, &v, err) < 0)
        return -1;
      for (t = 0; t < CH_NS_COUNT; t++)
        if (strcmp (ns_names[t], json_string_value (v)) == 0)
          break;
      if (t == CH_NS_COUNT)
        return ch_spec_err (err, kt, "unknown namespace \"%s\"", json_string_value (v));
      if (s->ns[t].enabled)
        return ch_spec_err (err, kt, "namespace \"%s\" listed twice", json_string_value (v));
      s->ns[t].enabled = true;
      if (ch_spec_get (e, k, "path", JSON_STRING, false, &v, err) < 0)
        return -1;
      if (v && json_string_value (v)[0] != '\0')
        {
          if (json_string_value (v)[0] != '/')
            {
              cleanup_free char *kp = xasprintf ("%s.path", k);
              return ch_spec_err (err, kp, "must be an absolute path");
            }
          s->ns[t].path = xstrdup (json_string_value (v));
        }
    }
  return 0;
}

static int
parse_idmaps (json_t *arr, const char *key, struct ch_idmap **out, size_t *n, ch_error_t *err)
{
  size_t i;
  json_t *e;

  *out = xzalloc (sizeof (**out) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      static const char *const f[3] = { "containerID", "hostID", "size" };
      static const uint64_t max[3] = { UINT32_MAX, UINT32_MAX, UINT32_MAX };
      cleanup_free char *k = xasprintf ("%s[%zu]", key, i);
      uint64_t val[3];
      if (ch_spec_u64_fields (e, k, f, max, 3, val, err) < 0)
        return -1;
      (*out)[i] = (struct ch_idmap) { (uint32_t) val[0], (uint32_t) val[1], (uint32_t) val[2] };
      (*n)++;
    }
  return 0;
}

static int
parse_sysctl (struct ch_spec *s, json_t *obj, ch_error_t *err)
{
  const char *k;
  json_t *v;

  s->sysctl = xzalloc (sizeof (char *));
  json_object_foreach (obj, k, v)
    {
      if (!json_is_string (v))
        {
          cleanup_free char *kk = xasprintf ("linux.sysctl.%s", k);
          return ch_spec_err (err, kk, "must be a string");
        }
      if (strstr (k, "..") || strchr (k, '/') == k)
        {
          cleanup_free char *kk = xasprintf ("linux.sysctl.%s", k);
          return ch_spec_err (err, kk, "invalid sysctl name");
        }
      ch_strv_append (&s->sysctl, k);
      ch_strv_append (&s->sysctl, json_string_value (v));
    }
  return 0;
}

static int
parse_devices (struct ch_spec *s, json_t *arr, ch_error_t *err)
{
  size_t i;
  json_t *e, *v;

  s->devices = xzalloc (sizeof (*s->devices) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("linux.devices[%zu]", i);
      struct ch_spec_device *d = &s->devices[s->n_devices];
      const char *t;
      uint64_t n;

      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "path", JSON_STRING, true, &v, err) < 0)
        return -1;
      if (json_string_value (v)[0] != '/')
        {
          cleanup_free char *kk = xasprintf ("%s.path", k);
          return ch_spec_err (err, kk, "must be an absolute path");
        }
      d->path = xstrdup (json_string_value (v));
      s->n_devices++;
      if (ch_spec_get (e, k, "type", JSON_STRING, true, &v, err) < 0)
        return -1;
      t = json_string_value (v);
      if (strlen (t) != 1 || !strchr ("cbup", t[0]))
        {
          cleanup_free char *kk = xasprintf ("%s.type", k);
          return ch_spec_err (err, kk, "unknown device type `%s`", t);
        }
      d->type = t[0];
      d->mode = 0666;
      {
        const char *f[] = { "major", "minor", "fileMode", "uid", "gid" };
        int j;
        for (j = 0; j < 5; j++)
          {
            cleanup_free char *kk = xasprintf ("%s.%s", k, f[j]);
            v = json_object_get (e, f[j]);
            if (v == NULL)
              {
                if (j < 2 && d->type != 'p')
                  return ch_spec_err (err, kk, "missing");
                continue;
              }
            if (ch_spec_u64 (v, kk, &n, err) < 0)
              return -1;
            switch (j)
              {
              case 0: d->major = (uint32_t) n; break;
              case 1: d->minor = (uint32_t) n; break;
              case 2: d->mode = (mode_t) n & 07777; break;
              case 3: d->uid = (uid_t) n; break;
              default: d->gid = (gid_t) n; break;
              }
          }
      }
    }
  return 0;
}

static int
parse_personality (struct ch_spec *s, json_t *p, ch_error_t *err)
{
  json_t *v;

  if (ch_spec_get (p, "linux.personality", "domain", JSON_STRING, true, &v, err) < 0)
    return -1;
  if (strcmp (json_string_value (v), "LINUX32") == 0)
    s->personality32 = true;
  else if (strcmp (json_string_value (v), "LINUX") != 0)
    return ch_spec_err (err, "linux.personality.domain", "unknown domain `%s` (LINUX or LINUX32)",
                        json_string_value (v));
  v = json_object_get (p, "flags");
  if (v && !json_is_null (v) && (!json_is_array (v) || json_array_size (v)))
    return ch_spec_err (err, "linux.personality.flags", "not supported by chuted");
  return 0;
}

int
ch_spec_parse_linux (struct ch_spec *s, json_t *l, ch_error_t *err)
{
  json_t *v;

  if (ch_spec_get (l, "linux", "namespaces", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && parse_namespaces (s, v, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "uidMappings", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && parse_idmaps (v, "linux.uidMappings", &s->uid_maps, &s->n_uid_maps, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "gidMappings", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && parse_idmaps (v, "linux.gidMappings", &s->gid_maps, &s->n_gid_maps, err) < 0)
    return -1;
  if ((s->n_uid_maps || s->n_gid_maps) && !s->ns[CH_NS_USER].enabled)
    return ch_spec_err (err, "linux.uidMappings", "set without a user namespace");
  if (s->ns[CH_NS_USER].enabled && !s->ns[CH_NS_USER].path && (!s->n_uid_maps || !s->n_gid_maps))
    return ch_spec_err (err, "linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
  if (ch_spec_get (l, "linux", "sysctl", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && parse_sysctl (s, v, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "resources", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_parse_resources (&s->resources, v, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "cgroupsPath", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    {
      if (strstr (json_string_value (v), ".."))
        return ch_spec_err (err, "linux.cgroupsPath", "must not contain `..`");
      s->cgroups_path = xstrdup (json_string_value (v));
    }
  if (ch_spec_get (l, "linux", "seccomp", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_parse_seccomp (v, "linux.seccomp", &s->seccomp, err) < 0)
    return -1;
  if (v)
    s->seccomp_json = json_incref (v);
  if (ch_spec_get (l, "linux", "maskedPaths", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_strv (v, "linux.maskedPaths", &s->masked_paths, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "readonlyPaths", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_strv (v, "linux.readonlyPaths", &s->readonly_paths, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "devices", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && parse_devices (s, v, err) < 0)
    return -1;
  if (ch_spec_get (l, "linux", "mountLabel", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    s->mount_label = xstrdup (json_string_value (v));
  if (ch_spec_get (l, "linux", "personality", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && parse_personality (s, v, err) < 0)
    return -1;
  {
    static const char *const unsupported[] = { "intelRdt", "timeOffsets", "netDevices", "memoryPolicy" };
    if (ch_spec_refuse (l, "linux", unsupported, sizeof (unsupported) / sizeof (unsupported[0]), err) < 0)
      return -1;
  }
  if (ch_spec_get (l, "linux", "rootfsPropagation", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    {
      s->rootfs_propagation = ch_propagation_from_name (json_string_value (v));
      if (s->rootfs_propagation == 0)
        return ch_spec_err (err, "linux.rootfsPropagation", "unknown propagation `%s`", json_string_value (v));
    }
  return 0;
}
