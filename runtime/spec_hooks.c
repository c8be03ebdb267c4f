/* hooks: prestart, createRuntime, createContainer, startContainer,
 * poststart, poststop (each an array of {path, args, env, timeout}). */
#include "runtime/spec.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>

const char *const ch_hook_names[CH_HOOK_KINDS] = {
  [CH_HOOK_PRESTART] = "prestart",         [CH_HOOK_CREATE_RUNTIME] = "createRuntime",
  [CH_HOOK_CREATE_CONTAINER] = "createContainer", [CH_HOOK_START_CONTAINER] = "startContainer",
  [CH_HOOK_POSTSTART] = "poststart",       [CH_HOOK_POSTSTOP] = "poststop",
};

static int
parse_hook (json_t *e, const char *k, struct ch_hook *h, ch_error_t *err)
{
  json_t *v;

  if (!json_is_object (e))
    return ch_spec_err (err, k, "must be an object");
  if (ch_spec_get (e, k, "path", JSON_STRING, true, &v, err) < 0)
    return -1;
  h->path = xstrdup (json_string_value (v));
  if (h->path[0] != '/')
    {
      cleanup_free char *kk = xasprintf ("%s.path", k);
      return ch_spec_err (err, kk, "must be an absolute path, not `%s`", h->path);
    }
  if (ch_spec_get (e, k, "args", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v && json_array_size (v))
    {
      cleanup_free char *kk = xasprintf ("%s.args", k);
      if (ch_spec_strv (v, kk, &h->args, err) < 0)
        return -1;
    }
  if (ch_spec_get (e, k, "env", JSON_ARRAY, false, &v, err) < 0)
    return -1;
  if (v)
    {
      cleanup_free char *kk = xasprintf ("%s.env", k);
      if (ch_spec_strv (v, kk, &h->env, err) < 0)
        return -1;
    }
  if (ch_spec_get (e, k, "timeout", JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v)
    {
      if (json_integer_value (v) <= 0 || json_integer_value (v) > 86400 * 365)
        {
          cleanup_free char *kk = xasprintf ("%s.timeout", k);
          return ch_spec_err (err, kk, "must be a positive number of seconds");
        }
      h->timeout = (int) json_integer_value (v);
    }
  return 0;
}

int
ch_hooks_parse (json_t *hooks, struct ch_hooks *out, ch_error_t *err)
{
  const char *name;
  json_t *arr;
  int kind;

  json_object_foreach (hooks, name, arr)
    {
      cleanup_free char *k = xasprintf ("hooks.%s", name);
      size_t i;
      json_t *e;

      for (kind = 0; kind < CH_HOOK_KINDS; kind++)
        if (strcmp (ch_hook_names[kind], name) == 0)
          break;
      if (kind == CH_HOOK_KINDS)
        return ch_spec_err (err, k, "unknown hook kind");
      if (json_is_null (arr))
        continue;
      if (!json_is_array (arr))
        return ch_spec_err (err, k, "must be an array");
      out->list[kind] = xzalloc (sizeof (struct ch_hook) * (json_array_size (arr) + 1));
      json_array_foreach (arr, i, e)
        {
          cleanup_free char *ki = xasprintf ("%s[%zu]", k, i);
          out->n[kind]++; /* owned from here */
          if (parse_hook (e, ki, &out->list[kind][i], err) < 0)
            return -1;
        }
    }
  return 0;
}

void
ch_hooks_clear (struct ch_hooks *h)
{
  int kind;
  size_t i;

  for (kind = 0; kind < CH_HOOK_KINDS; kind++)
    {
      for (i = 0; i < h->n[kind]; i++)
        {
          free (h->list[kind][i].path);
          ch_strv_free (h->list[kind][i].args);
          ch_strv_free (h->list[kind][i].env);
        }
      free (h->list[kind]);
      h->list[kind] = NULL;
      h->n[kind] = 0;
    }
}
