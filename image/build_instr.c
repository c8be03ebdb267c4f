/* The instructions that only change the image config: ENV, ARG, LABEL,
 * MAINTAINER, EXPOSE, USER, VOLUME, STOPSIGNAL, SHELL, CMD, ENTRYPOINT,
 * HEALTHCHECK. Each takes the stage, the instruction and the variables in
 * scope; the caller prefixes errors with the file and line. */
#include "image/dockerfile_int.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* KEY=VALUE words (quotes and $VAR as Docker reads them), or the old
 * single "KEY VALUE..." form when the first word has no '='. */
static int
pairs (const struct ch_df_instr *in, char esc, json_t *vars, bool old_ok, json_t **out, ch_error_t *err)
{
  cleanup_strv char **w = ch_df_split (in->args, esc);
  json_t *o = json_object ();

  *out = o;
  if (w[0] == NULL)
    return ch_error (err, 0, "%s needs at least one argument", in->cmd);
  if (strchr (w[0], '=') == NULL)
    {
      const char *rest = in->args + strlen (w[0]);
      cleanup_free char *k = NULL, *v = NULL;
      if (!old_ok || w[1] == NULL)
        return ch_error (err, 0, "%s %s: want KEY=VALUE", in->cmd, w[0]);
      while (*rest == ' ' || *rest == '\t')
        rest++;
      if (ch_df_expand (w[0], esc, vars, &k, err) < 0 || ch_df_expand (rest, esc, vars, &v, err) < 0)
        return -1;
      json_object_set_new (o, k, json_string (v));
      return 0;
    }
  for (size_t i = 0; w[i]; i++)
    {
      char *eq = strchr (w[i], '=');
      cleanup_free char *k = NULL, *v = NULL;
      if (eq == NULL)
        return ch_error (err, 0, "%s: `%s`: want KEY=VALUE", in->cmd, w[i]);
      *eq = '\0';
      if (ch_df_expand (w[i], esc, vars, &k, err) < 0 || ch_df_expand (eq + 1, esc, vars, &v, err) < 0)
        return -1;
      if (*k == '\0')
        return ch_error (err, 0, "%s: an empty name", in->cmd);
      json_object_set_new (o, k, json_string (v));
    }
  return 0;
}

int
ch_instr_env (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err)
{
  json_t *c = ch_bstage_config (st), *env = json_object_get (c, "Env"), *v;
  cleanup_json json_t *p = NULL;
  const char *k;

  if (pairs (in, esc, vars, true, &p, err) < 0)
    return -1;
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (c, "Env", env);
    }
  json_object_foreach (p, k, v)
    {
      cleanup_free char *kv = xasprintf ("%s=%s", k, json_string_value (v));
      size_t i, kl = strlen (k);
      json_t *e;
      bool done = false;
      if (strchr (k, '='))
        return ch_error (err, 0, "ENV: `%s`: a name cannot hold '='", k);
      json_array_foreach (env, i, e)
        if (json_is_string (e) && strncmp (json_string_value (e), k, kl) == 0 && json_string_value (e)[kl] == '=')
          {
            json_array_set_new (env, i, json_string (kv));
            done = true;
            break;
          }
      if (!done)
        json_array_append_new (env, json_string (kv));
    }
  return 0;
}

int
ch_instr_arg (json_t *scope, json_t *build_args, json_t *used, const struct ch_df_instr *in, char esc, json_t *vars,
              ch_error_t *err)
{
  cleanup_strv char **w = ch_df_split (in->args, esc);

  if (w[0] == NULL)
    return ch_error (err, 0, "ARG needs a name");
  for (size_t i = 0; w[i]; i++)
    {
      char *eq = strchr (w[i], '=');
      cleanup_free char *k = NULL, *def = NULL;
      json_t *given;
      if (eq)
        *eq = '\0';
      if (ch_df_expand (w[i], esc, vars, &k, err) < 0 || (eq && ch_df_expand (eq + 1, esc, vars, &def, err) < 0))
        return -1;
      if (*k == '\0')
        return ch_error (err, 0, "ARG: an empty name");
      given = json_object_get (build_args, k);
      if (given)
        json_object_set_new (used, k, json_true ());
      if (given)
        json_object_set (scope, k, given);
      else if (def)
        json_object_set_new (scope, k, json_string (def));
      else if (json_object_get (scope, k) == NULL)
        json_object_set_new (scope, k, json_null ());
    }
  return 0;
}

int
ch_instr_label (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err)
{
  json_t *c = ch_bstage_config (st), *labels = json_object_get (c, "Labels");
  cleanup_json json_t *p = NULL;

  if (pairs (in, esc, vars, true, &p, err) < 0)
    return -1;
  if (!json_is_object (labels))
    {
      labels = json_object ();
      json_object_set_new (c, "Labels", labels);
    }
  json_object_update (labels, p);
  return 0;
}

/* Words of IN (JSON array or split), each substituted. */
static int
words (const struct ch_df_instr *in, char esc, json_t *vars, char ***out, ch_error_t *err)
{
  cleanup_strv char **w = in->json ? ch_strv_dup (in->json) : ch_df_split (in->args, esc);
  *out = xzalloc (sizeof (char *));
  for (size_t i = 0; w[i]; i++)
    {
      cleanup_free char *x = NULL;
      if (ch_df_expand (w[i], esc, vars, &x, err) < 0)
        return -1;
      ch_strv_append (out, x);
    }
  return 0;
}

static json_t *
object_member (json_t *o, const char *k)
{
  json_t *v = json_object_get (o, k);
  if (!json_is_object (v))
    {
      v = json_object ();
      json_object_set_new (o, k, v);
    }
  return v;
}

int
ch_instr_expose (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err)
{
  cleanup_strv char **w = NULL;
  json_t *ports = object_member (ch_bstage_config (st), "ExposedPorts");

  if (words (in, esc, vars, &w, err) < 0)
    return -1;
  if (w[0] == NULL)
    return ch_error (err, 0, "EXPOSE needs a port");
  for (size_t i = 0; w[i]; i++)
    {
      cleanup_free char *port = xstrdup (w[i]), *key = NULL;
      char *proto = strchr (port, '/'), *dash;
      int64_t a, b;
      if (proto)
        *proto++ = '\0';
      if (proto && strcasecmp (proto, "tcp") != 0 && strcasecmp (proto, "udp") != 0 && strcasecmp (proto, "sctp") != 0)
        return ch_error (err, 0, "EXPOSE %s: unknown protocol `%s`", w[i], proto);
      dash = strchr (port, '-');
      if (dash)
        *dash++ = '\0';
      if (ch_parse_int (port, 1, 65535, &a, err) < 0 || (dash && ch_parse_int (dash, a, 65535, &b, err) < 0))
        return ch_error_prefix (err, "EXPOSE %s", w[i]);
      for (char *c = proto; c && *c; c++)
        *c = (char) (*c | 0x20);
      if (dash)
        for (int64_t p = a; p <= b; p++)
          {
            cleanup_free char *k = xasprintf ("%lld/%s", (long long) p, proto ? proto : "tcp");
            json_object_set_new (ports, k, json_object ());
          }
      else
        {
          key = xasprintf ("%lld/%s", (long long) a, proto ? proto : "tcp");
          json_object_set_new (ports, key, json_object ());
        }
    }
  return 0;
}

int
ch_instr_volume (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err)
{
  cleanup_strv char **w = NULL;
  json_t *vols = object_member (ch_bstage_config (st), "Volumes");

  if (words (in, esc, vars, &w, err) < 0)
    return -1;
  if (w[0] == NULL)
    return ch_error (err, 0, "VOLUME needs a path");
  for (size_t i = 0; w[i]; i++)
    {
      if (*w[i] == '\0')
        return ch_error (err, 0, "VOLUME: an empty path");
      json_object_set_new (vols, w[i], json_object ());
    }
  return 0;
}

int
ch_instr_string (struct bstage *st, const char *key, const struct ch_df_instr *in, char esc, json_t *vars,
                 ch_error_t *err)
{
  cleanup_free char *v = NULL;
  if (ch_df_expand (in->args, esc, vars, &v, err) < 0)
    return -1;
  if (*v == '\0')
    return ch_error (err, 0, "%s needs an argument", in->cmd);
  json_object_set_new (ch_bstage_config (st), key, json_string (v));
  return 0;
}

char **
ch_instr_command (const struct bstage *st, const struct ch_df_instr *in)
{
  char **v;
  if (in->json)
    return ch_strv_dup (in->json);
  if (st->shell)
    v = ch_strv_dup (st->shell);
  else
    {
      v = xzalloc (sizeof (char *));
      ch_strv_append (&v, "/bin/sh");
      ch_strv_append (&v, "-c");
    }
  ch_strv_append (&v, in->args);
  return v;
}

int
ch_instr_cmd (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err)
{
  cleanup_strv char **v = ch_instr_command (st, in);
  json_t *c = ch_bstage_config (st);
  bool ep = strcmp (in->cmd, "ENTRYPOINT") == 0;

  if (!in->json && *in->args == '\0')
    return ch_error (err, 0, "%s needs a command", in->cmd);
  json_object_set_new (c, ep ? "Entrypoint" : "Cmd", ch_json_from_strv (v));
  /* a new ENTRYPOINT drops the base's CMD, not one this stage gave */
  if (ep && !st->cmd_set)
    json_object_del (c, "Cmd");
  if (!ep)
    st->cmd_set = true;
  return 0;
}

int
ch_instr_shell (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err)
{
  if (in->json == NULL || in->json[0] == NULL)
    return ch_error (err, 0, "SHELL wants a JSON array, e.g. [\"/bin/sh\", \"-c\"]");
  ch_strv_free (st->shell);
  st->shell = ch_strv_dup (in->json);
  return 0;
}

static int
duration_ns (const char *flag, const char *v, json_t *hc, const char *key, ch_error_t *err)
{
  uint64_t s;
  if (v == NULL)
    return 0;
  if (ch_parse_duration (v, &s, err) < 0)
    return ch_error_prefix (err, "HEALTHCHECK --%s", flag);
  json_object_set_new (hc, key, json_integer ((json_int_t) (s * 1000000000ULL)));
  return 0;
}

int
ch_instr_healthcheck (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err)
{
  cleanup_json json_t *hc = json_object ();
  const char *retries = ch_df_flag (in->flags, "retries");
  cleanup_strv char **test = xzalloc (sizeof (char *));

  if (strcasecmp (in->args, "NONE") == 0)
    {
      json_object_set_new (ch_bstage_config (st), "Healthcheck", json_pack ("{s:[s]}", "Test", "NONE"));
      return 0;
    }
  if (strncasecmp (in->args, "CMD", 3) != 0 || (in->args[3] != ' ' && in->args[3] != '\t' && in->args[3] != '['))
    return ch_error (err, 0, "HEALTHCHECK wants CMD COMMAND or NONE");
  {
    const char *rest = in->args + 3;
    char **j = NULL;
    while (*rest == ' ' || *rest == '\t')
      rest++;
    if (*rest == '[')
      {
        json_error_t je;
        json_t *a = json_loads (rest, 0, &je);
        size_t i;
        json_t *e;
        if (json_is_array (a))
          {
            j = xzalloc (sizeof (char *));
            json_array_foreach (a, i, e) ch_strv_append (&j, json_string_value (e) ? json_string_value (e) : "");
          }
        json_decref (a);
      }
    if (j)
      {
        ch_strv_append (&test, "CMD");
        for (size_t i = 0; j[i]; i++)
          ch_strv_append (&test, j[i]);
        ch_strv_free (j);
      }
    else
      {
        if (*rest == '\0')
          return ch_error (err, 0, "HEALTHCHECK CMD needs a command");
        ch_strv_append (&test, "CMD-SHELL");
        ch_strv_append (&test, rest);
      }
  }
  for (size_t i = 0; in->flags[i]; i++)
    if (!ch_has_prefix (in->flags[i], "--interval=") && !ch_has_prefix (in->flags[i], "--timeout=")
        && !ch_has_prefix (in->flags[i], "--start-period=") && !ch_has_prefix (in->flags[i], "--retries=")
        && !ch_has_prefix (in->flags[i], "--start-interval="))
      return ch_error (err, 0, "HEALTHCHECK: unknown flag `%s`", in->flags[i]);
  json_object_set_new (hc, "Test", ch_json_from_strv (test));
  if (duration_ns ("interval", ch_df_flag (in->flags, "interval"), hc, "Interval", err) < 0
      || duration_ns ("timeout", ch_df_flag (in->flags, "timeout"), hc, "Timeout", err) < 0
      || duration_ns ("start-period", ch_df_flag (in->flags, "start-period"), hc, "StartPeriod", err) < 0
      || duration_ns ("start-interval", ch_df_flag (in->flags, "start-interval"), hc, "StartInterval", err) < 0)
    return -1;
  if (retries)
    {
      int64_t n;
      if (ch_parse_int (retries, 0, 1000, &n, err) < 0)
        return ch_error_prefix (err, "HEALTHCHECK --retries");
      json_object_set_new (hc, "Retries", json_integer (n));
    }
  json_object_set (ch_bstage_config (st), "Healthcheck", hc);
  return 0;
}
