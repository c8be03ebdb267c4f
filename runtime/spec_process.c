/* process: user, args, env, cwd, capabilities, rlimits. */
#include "runtime/spec.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct
{
  const char *name;
  int resource;
} rlimits[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

/* An id field of process.user: absent is 0; (uid_t) -1 is not an id. */
static int
parse_id (json_t *user, const char *name, uint32_t *out, ch_error_t *err)
{
  cleanup_free char *key = xasprintf ("process.user.%s", name);
  json_t *v;
  uint64_t n = 0;

  if (ch_spec_get (user, "process.user", name, JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_u64 (v, key, &n, err) < 0)
    return -1;
  if (n >= UINT32_MAX)
    return ch_spec_err (err, key, "out of range");
  *out = (uint32_t) n;
  return 0;
}

static int
parse_user (struct ch_spec *s, json_t *user, ch_error_t *err)
{
  json_t *v;
  uint64_t n;

  if (parse_id (user, "uid", &s->uid, err) < 0 || parse_id (user, "gid", &s->gid, err) < 0)
    return -1;
  if (ch_spec_get (user, "process.user", "umask", JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v)
    {
      if (ch_spec_u64 (v, "process.user.umask", &n, err) < 0)
        return -1;
      if (n > 0777)
        return ch_spec_err (err, "process.user.umask", "out of range");
      s->umask = (mode_t) n;
      s->has_umask = true;
    }
  if (ch_spec_get (user, "process.user", "username", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v)
    s->username = xstrdup (json_string_value (v));
  if (ch_spec_get (user, "process.user", "additionalGids", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v)
    {
      size_t i;
      json_t *g;
      s->additional_gids = xzalloc (sizeof (gid_t) * (json_array_size (v) + 1));
      json_array_foreach (v, i, g)
        {
          cleanup_free char *k = xasprintf ("process.user.additionalGids[%zu]", i);
          if (ch_spec_u64 (g, k, &n, err) < 0)
            return -1;
          s->additional_gids[s->n_additional_gids++] = (gid_t) n;
        }
    }
  return 0;
}

/* A name no table knows is the spec's "cannot be mapped to a kernel
 * interface": kept aside for create's warning, not refused (runtime-spec
 * v1.1 config.md: runtimes SHOULD NOT fail on capabilities they cannot
 * grant). A typo on chuted's own command line is refused there, as input. */
static int
parse_capset (struct ch_spec *s, json_t *caps, const char *name, uint64_t *out, ch_error_t *err)
{
  json_t *arr, *e;
  size_t i;
  cleanup_free char *key = xasprintf ("process.capabilities.%s", name);

  *out = 0;
  if (ch_spec_get (caps, "process.capabilities", name, JSON_ARRAY, false, &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("%s[%zu]", key, i);
      int cap;
      if (!json_is_string (e))
        return ch_spec_err (err, k, "must be a string");
      cap = ch_cap_from_name (json_string_value (e));
      if (cap >= 0)
        *out |= 1ULL << cap;
      else if (!ch_strv_contains (s->caps_unknown, json_string_value (e)))
        ch_strv_append (&s->caps_unknown, json_string_value (e));
    }
  return 0;
}

static int
parse_caps (struct ch_spec *s, json_t *caps, ch_error_t *err)
{
  s->has_caps = true;
  if (parse_capset (s, caps, "bounding", &s->caps.bounding, err) < 0
      || parse_capset (s, caps, "effective", &s->caps.effective, err) < 0
      || parse_capset (s, caps, "inheritable", &s->caps.inheritable, err) < 0
      || parse_capset (s, caps, "permitted", &s->caps.permitted, err) < 0
      || parse_capset (s, caps, "ambient", &s->caps.ambient, err) < 0)
    return -1;
  return 0;
}

static int
parse_rlimits (struct ch_spec *s, json_t *arr, ch_error_t *err)
{
  size_t i, j;
  json_t *e, *v;

  s->rlimits = xzalloc (sizeof (*s->rlimits) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("process.rlimits[%zu]", i);
      cleanup_free char *kk = NULL;
      struct ch_rlimit *r = &s->rlimits[s->n_rlimits];
      const char *type;

      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "type", JSON_STRING, true, &v, err) < 0)
        return -1;
      type = json_string_value (v);
      for (j = 0; j < sizeof (rlimits) / sizeof (rlimits[0]); j++)
        if (strcmp (rlimits[j].name, type) == 0)
          break;
      if (j == sizeof (rlimits) / sizeof (rlimits[0]))
        {
          kk = xasprintf ("%s.type", k);
          return ch_spec_err (err, kk, "unknown rlimit `%s`", type);
        }
      r->resource = rlimits[j].resource;
      kk = xasprintf ("%s.soft", k);
      if (json_object_get (e, "soft") == NULL)
        return ch_spec_err (err, kk, "missing");
      if (ch_spec_u64 (json_object_get (e, "soft"), kk, &r->soft, err) < 0)
        return -1;
      free (kk);
      kk = xasprintf ("%s.hard", k);
      if (json_object_get (e, "hard") == NULL)
        return ch_spec_err (err, kk, "missing");
      if (ch_spec_u64 (json_object_get (e, "hard"), kk, &r->hard, err) < 0)
        return -1;
      if (r->soft > r->hard)
        return ch_spec_err (err, k, "soft limit above hard limit");
      s->n_rlimits++;
    }
  return 0;
}

int
ch_spec_parse_process (struct ch_spec *s, json_t *p, ch_error_t *err)
{
  json_t *v;

  if (ch_spec_get (p, "process", "terminal", JSON_TRUE, false, &v, err) < 0)
    return -1;
  s->terminal = v && json_is_true (v);
  if (ch_spec_get (p, "process", "user", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && parse_user (s, v, err) < 0)
    return -1;
  if (ch_spec_get (p, "process", "args", JSON_ARRAY, true, &v, err) < 0)
    return -1;
  if (json_array_size (v) == 0)
    return ch_spec_err (err, "process.args", "must not be empty");
  if (ch_spec_strv (v, "process.args", &s->args, err) < 0)
    return -1;
  if (ch_spec_get (p, "process", "env", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && ch_spec_strv (v, "process.env", &s->env, err) < 0)
    return -1;
  if (s->env == NULL)
    s->env = xzalloc (sizeof (char *));
  if (ch_spec_get (p, "process", "cwd", JSON_STRING, true, &v, err) < 0)
    return -1;
  if (json_string_value (v)[0] != '/')
    return ch_spec_err (err, "process.cwd", "must be an absolute path, not `%s`", json_string_value (v));
  s->cwd = xstrdup (json_string_value (v));
  if (ch_spec_get (p, "process", "capabilities", JSON_OBJECT, false, &v, err) < 0)
    return -1;
  if (v && parse_caps (s, v, err) < 0)
    return -1;
  if (ch_spec_get (p, "process", "rlimits", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && parse_rlimits (s, v, err) < 0)
    return -1;
  if (ch_spec_get (p, "process", "noNewPrivileges", JSON_TRUE, false, &v, err) < 0)
    return -1;
  s->no_new_privileges = v && json_is_true (v);
  if (ch_spec_get (p, "process", "oomScoreAdj", JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v)
    {
      json_int_t n = json_integer_value (v);
      if (n < -1000 || n > 1000)
        return ch_spec_err (err, "process.oomScoreAdj", "%lld is outside -1000..1000", (long long) n);
      s->has_oom_score_adj = true;
      s->oom_score_adj = (int) n;
    }
  if (ch_spec_get (p, "process", "apparmorProfile", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    s->apparmor_profile = xstrdup (json_string_value (v));
  if (ch_spec_get (p, "process", "selinuxLabel", JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    s->selinux_label = xstrdup (json_string_value (v));
  /* never silently dropped: what chuted does not apply is refused */
  {
    static const char *const unsupported[] = { "scheduler", "ioPriority", "execCPUAffinity" };
    if (ch_spec_refuse (p, "process", unsupported, sizeof (unsupported) / sizeof (unsupported[0]), err) < 0)
      return -1;
  }
  return 0;
}
