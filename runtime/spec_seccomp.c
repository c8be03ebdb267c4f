/* linux.seccomp: parsed into libseccomp tokens; unknown syscall names are
 * kept (resolved, and skipped when unknown, at load time as runc does),
 * unknown actions/ops/arches are errors. */
#include "runtime/spec.h"

#include "common/util.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

static int
parse_action (json_t *obj, const char *key, const char *name, json_t *errno_ret, uint32_t dflt_errno, uint32_t *out,
              ch_error_t *err)
{
  cleanup_free char *k = xasprintf ("%s.%s", key, name);
  json_t *v = json_object_get (obj, name);
  const char *a;
  uint32_t eno = dflt_errno;

  if (!json_is_string (v))
    return ch_spec_err (err, k, v ? "must be a string" : "missing");
  a = json_string_value (v);
  if (errno_ret)
    {
      if (!json_is_integer (errno_ret) || json_integer_value (errno_ret) < 0)
        return ch_spec_err (err, key, "errnoRet must be a non-negative integer");
      eno = (uint32_t) json_integer_value (errno_ret);
    }
  if (strcmp (a, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (a, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO (eno);
  else if (strcmp (a, "SCMP_ACT_KILL") == 0 || strcmp (a, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (a, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (a, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (a, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE (eno);
  else if (strcmp (a, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else
    return ch_spec_err (err, k, "unknown action `%s`", a);
  return 0;
}

static int
parse_arch (const char *name, uint32_t *out)
{
  cleanup_free char *lower = NULL;
  char *p;

  if (!ch_has_prefix (name, "SCMP_ARCH_"))
    return -1;
  lower = xstrdup (name + strlen ("SCMP_ARCH_"));
  for (p = lower; *p; p++)
    *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  *out = seccomp_arch_resolve_name (lower);
  return *out ? 0 : -1;
}

static int
parse_op (const char *op, int *out)
{
  static const struct
  {
    const char *n;
    int op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  size_t i;
  for (i = 0; i < sizeof (ops) / sizeof (ops[0]); i++)
    if (strcmp (ops[i].n, op) == 0)
      {
        *out = ops[i].op;
        return 0;
      }
  return -1;
}

static int
parse_args (json_t *arr, const char *key, struct ch_seccomp_rule *r, ch_error_t *err)
{
  size_t i;
  json_t *e, *v;

  r->args = xzalloc (sizeof (*r->args) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("%s.args[%zu]", key, i);
      struct ch_seccomp_arg *a = &r->args[i];
      uint64_t n;
      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "index", JSON_INTEGER, true, &v, err) < 0)
        return -1;
      if (json_integer_value (v) < 0 || json_integer_value (v) > 5)
        return ch_spec_err (err, k, "index %lld is outside 0..5", (long long) json_integer_value (v));
      a->index = (unsigned) json_integer_value (v);
      {
        cleanup_free char *kk = xasprintf ("%s.value", k);
        if ((v = json_object_get (e, "value")) == NULL)
          return ch_spec_err (err, kk, "missing");
        if (ch_spec_u64 (v, kk, &n, err) < 0)
          return -1;
        a->value = n;
      }
      if ((v = json_object_get (e, "valueTwo")))
        {
          cleanup_free char *kk = xasprintf ("%s.valueTwo", k);
          if (ch_spec_u64 (v, kk, &n, err) < 0)
            return -1;
          a->value_two = n;
        }
      if (ch_spec_get (e, k, "op", JSON_STRING, true, &v, err) < 0)
        return -1;
      if (parse_op (json_string_value (v), &a->op) < 0)
        {
          cleanup_free char *kk = xasprintf ("%s.op", k);
          return ch_spec_err (err, kk, "unknown operator `%s`", json_string_value (v));
        }
      r->n_args++;
    }
  return 0;
}

int
ch_spec_parse_seccomp (json_t *sc, const char *key, struct ch_seccomp **out, ch_error_t *err)
{
  struct ch_seccomp *s = xzalloc (sizeof (*s));
  json_t *v, *e, *dflt_errno;
  size_t i;

  dflt_errno = json_object_get (sc, "defaultErrnoRet");
  if (dflt_errno)
    {
      if (!json_is_integer (dflt_errno) || json_integer_value (dflt_errno) < 0)
        {
          cleanup_free char *k = xasprintf ("%s.defaultErrnoRet", key);
          ch_spec_err (err, k, "must be a non-negative integer");
          goto fail;
        }
    }
  if (parse_action (sc, key, "defaultAction", dflt_errno, EPERM, &s->default_action, err) < 0)
    goto fail;
  if (ch_spec_get (sc, key, "architectures", JSON_ARRAY, false, &v, err) < 0)
    goto fail;
  s->arches = xzalloc (sizeof (uint32_t) * (json_array_size (v) + 1));
  json_array_foreach (v, i, e)
    {
      if (!json_is_string (e) || parse_arch (json_string_value (e), &s->arches[s->n_arches]) < 0)
        {
          cleanup_free char *k = xasprintf ("%s.architectures[%zu]", key, i);
          ch_spec_err (err, k, "unknown architecture `%s`", json_is_string (e) ? json_string_value (e) : "?");
          goto fail;
        }
      s->n_arches++;
    }
  if (ch_spec_get (sc, key, "syscalls", JSON_ARRAY, false, &v, err) < 0)
    goto fail;
  s->rules = xzalloc (sizeof (*s->rules) * (json_array_size (v) + 1));
  json_array_foreach (v, i, e)
    {
      cleanup_free char *k = xasprintf ("%s.syscalls[%zu]", key, i);
      struct ch_seccomp_rule *r = &s->rules[s->n_rules];
      json_t *names, *args;

      if (!json_is_object (e))
        {
          ch_spec_err (err, k, "must be an object");
          goto fail;
        }
      s->n_rules++;
      if (ch_spec_get (e, k, "names", JSON_ARRAY, true, &names, err) < 0 || ch_spec_strv (names, k, &r->names, err) < 0)
        goto fail;
      if (parse_action (e, k, "action", json_object_get (e, "errnoRet"), EPERM, &r->action, err) < 0)
        goto fail;
      if (ch_spec_get (e, k, "args", JSON_ARRAY, false, &args, err) < 0)
        goto fail;
      if (args && parse_args (args, k, r, err) < 0)
        goto fail;
    }
  *out = s;
  return 0;
fail:
  ch_seccomp_free (s);
  return -1;
}

void
ch_seccomp_free (struct ch_seccomp *s)
{
  size_t i;
  if (s == NULL)
    return;
  for (i = 0; i < s->n_rules; i++)
    {
      ch_strv_free (s->rules[i].names);
      free (s->rules[i].args);
    }
  free (s->rules);
  free (s->arches);
  free (s);
}
