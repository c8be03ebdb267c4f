/* chuted ps: name, status, pid, uptime, image, ports, command; --json, --format. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum
{
  O_JSON = 256,
  O_FORMAT
};

static time_t
parse_time (const char *s)
{
  struct tm tm = { 0 };

  if (s == NULL || strptime (s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
    return 0;
  return timegm (&tm);
}

static char *
human_duration (time_t secs)
{
  if (secs < 60)
    return xasprintf ("%lds", (long) secs);
  if (secs < 3600)
    return xasprintf ("%ldm", (long) secs / 60);
  if (secs < 86400)
    return xasprintf ("%ldh%02ldm", (long) secs / 3600, (long) (secs % 3600) / 60);
  return xasprintf ("%ldd%02ldh", (long) secs / 86400, (long) (secs % 86400) / 3600);
}

/* One row as JSON: what both the table and --json show. */
json_t *ch_ps_row (struct ch_ctx *ctx, const char *name);

json_t *
ch_ps_row (struct ch_ctx *ctx, const char *name)
{
  struct ch_chute c;
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *st = ch_chute_status (ctx, name);
  const char *state = json_string_value (json_object_get (st, "state"));
  bool running = ch_chute_running (ctx, name, NULL);
  json_t *row, *cmd = json_array ();
  time_t started = parse_time (json_string_value (json_object_get (st, "started_at")));

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, &err) < 0)
    {
      json_decref (cmd);
      return NULL;
    }
  {
    /* what actually runs (the image's Entrypoint/Cmd resolved) is in the bundle */
    cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
    cleanup_free char *cfg = xasprintf ("%s/bundle/config.json", run_dir);
    cleanup_json json_t *spec = NULL;
    cleanup_error ch_error_t jerr = NULL;
    json_t *args = NULL;
    if (access (cfg, F_OK) == 0 && ch_json_load_file (cfg, &spec, &jerr) == 0)
      args = json_object_get (json_object_get (spec, "process"), "args");
    if (json_is_array (args))
      json_array_extend (cmd, args);
    else
      {
        for (size_t i = 0; c.entrypoint && c.entrypoint[i]; i++)
          json_array_append_new (cmd, json_string (c.entrypoint[i]));
        for (size_t i = 0; c.command && c.command[i]; i++)
          json_array_append_new (cmd, json_string (c.command[i]));
      }
  }
  row = json_pack ("{s:s, s:s, s:o, s:o}", "name", name, "status",
                   running ? (strcmp (state, "restarting") == 0 ? "restarting" : "running")
                   : state  ? "exited"
                            : "created",
                   "image", c.image ? json_string (c.image) : json_null (), "rootfs",
                   c.rootfs ? json_string (c.rootfs) : json_null ());
  json_object_set_new (row, "command", cmd);
  /* every key in every state (docs/JSON.md): null where it does not apply */
  json_object_set_new (row, "pid", running ? json_integer (json_integer_value (json_object_get (st, "pid"))) : json_null ());
  json_object_set_new (row, "uptime",
                       running && started ? json_integer ((json_int_t) (time (NULL) - started)) : json_null ());
  if (!running && state && json_object_get (st, "exit_code"))
    json_object_set (row, "exit_code", json_object_get (st, "exit_code"));
  else
    json_object_set_new (row, "exit_code", json_null ());
  {
    json_t *ports = json_array ();
    for (size_t i = 0; c.ports && c.ports[i]; i++)
      json_array_append_new (ports, json_string (c.ports[i]));
    json_object_set_new (row, "ports", ports);
  }
  json_object_set_new (row, "created", c.created ? json_string (c.created) : json_null ());
  ch_chute_clear (&c);
  return row;
}

const struct ch_opt ch_opts_ps[] = {
  { "all", 'a', NULL, "show every chute, not only running ones" },
  { "quiet", 'q', NULL, "names only" },
  { "json", O_JSON, NULL, "JSON (keys: docs/JSON.md)" },
  { "format", O_FORMAT, "TEMPLATE", "one line per chute: {{.Field}} replaced by the JSON key's value" },
  CH_OPT_END,
};

/* A JSON value as one word of text: null empty, arrays joined. */
static void
value_text (struct ch_buf *b, json_t *v, const char *sep)
{
  size_t k;
  json_t *e;

  if (json_is_string (v))
    ch_buf_printf (b, "%s", json_string_value (v));
  else if (json_is_integer (v))
    ch_buf_printf (b, "%lld", (long long) json_integer_value (v));
  else if (json_is_array (v))
    json_array_foreach (v, k, e)
      {
        if (k)
          ch_buf_printf (b, "%s", sep);
        value_text (b, e, sep);
      }
}

/* Does KEY ("exit_code") read as FIELD[0..LEN) ("ExitCode", "exitcode")?
 * Case and underscores aside, as podman's Go field names are. */
static bool
key_is (const char *key, const char *field, size_t len)
{
  size_t i = 0;

  for (;; key++, i++)
    {
      while (*key == '_')
        key++;
      while (i < len && field[i] == '_')
        i++;
      if (*key == '\0' || i == len)
        return *key == '\0' && i == len;
      if ((*key | 0x20) != (field[i] | 0x20))
        return false;
    }
}

/* The row's key a {{.Field}} names, or without a plural s (podman's
 * {{.Names}} is our "name"). */
static json_t *
field_of (json_t *row, const char *field, size_t len)
{
  const char *key;
  json_t *v;

  json_object_foreach (row, key, v)
    if (key_is (key, field, len))
      return v;
  if (len > 1 && (field[len - 1] | 0x20) == 's')
    json_object_foreach (row, key, v)
      if (key_is (key, field, len - 1))
        return v;
  return NULL;
}

/* `{{.Field}}` substitution over ROW's keys, not a template language (no
 * pipelines, no conditionals); \t and \n as in podman. */
int
ch_ps_format (json_t *row, const char *tpl, char **out, ch_error_t *err)
{
  struct ch_buf b = { 0 };
  const char *p = tpl;

  while (*p)
    {
      if (p[0] == '{' && p[1] == '{')
        {
          const char *end = strstr (p + 2, "}}");
          const char *f = p + 2;
          size_t len;
          json_t *v;

          if (end == NULL)
            goto bad;
          while (*f == ' ')
            f++;
          if (*f != '.')
            goto bad;
          f++;
          len = (size_t) (end - f);
          while (len && f[len - 1] == ' ')
            len--;
          v = field_of (row, f, len);
          if (v == NULL)
            {
              free (b.data);
              return ch_error (err, 0, "--format: no field `%.*s` (the keys of ps --json)", (int) len, f);
            }
          value_text (&b, v, json_is_array (v) && strncasecmp (f, "command", len) == 0 ? " " : ",");
          p = end + 2;
        }
      else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n'))
        {
          ch_buf_append (&b, p[1] == 't' ? "\t" : "\n", 1);
          p += 2;
        }
      else
        ch_buf_append (&b, p++, 1);
    }
  ch_buf_append (&b, "", 1);
  *out = ch_buf_steal (&b);
  return 0;
bad:
  free (b.data);
  return ch_error (err, 0, "--format: `%s`: expected {{.Field}}", tpl);
}

int
ch_cmd_ps (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  bool all = false, quiet = false, as_json = false;
  const char *format = NULL;
  cleanup_strv char **names = NULL;
  cleanup_json json_t *rows = json_array ();
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_ps);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case 'a': all = true; break;
      case 'q': quiet = true; break;
      case O_JSON: as_json = true; break;
      case O_FORMAT: format = p.optarg; break;
      }
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (`%s`)", argv[optind]);
  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (size_t i = 0; names[i]; i++)
    {
      json_t *row = ch_ps_row (ctx, names[i]);
      const char *status = json_string_value (json_object_get (row, "status"));
      if (row && (all || strcmp (status, "running") == 0 || strcmp (status, "restarting") == 0))
        json_array_append_new (rows, row);
      else if (row)
        json_decref (row);
    }
  if (as_json)
    {
      cleanup_free char *s = json_dumps (rows, JSON_INDENT (2));
      printf ("%s\n", s);
      return 0;
    }
  if (format)
    {
      for (size_t i = 0; i < json_array_size (rows); i++)
        {
          cleanup_free char *line = NULL;
          if (ch_ps_format (json_array_get (rows, i), format, &line, err) < 0)
            {
              ctx->fail_code = 2;
              return -1;
            }
          printf ("%s\n", line);
        }
      return 0;
    }
  if (!quiet)
    printf ("%-20s %-12s %-8s %-9s %-24s %-20s %s\n", "NAME", "STATUS", "PID", "UPTIME", "IMAGE", "PORTS", "COMMAND");
  for (size_t i = 0; i < json_array_size (rows); i++)
    {
      json_t *r = json_array_get (rows, i);
      struct ch_buf cmd = { 0 }, ports = { 0 };
      cleanup_free char *up = NULL;
      cleanup_free char *status = NULL;
      cleanup_free char *pid = NULL;
      json_t *img;

      if (quiet)
        {
          printf ("%s\n", json_string_value (json_object_get (r, "name")));
          continue;
        }
      value_text (&cmd, json_object_get (r, "command"), " ");
      value_text (&ports, json_object_get (r, "ports"), ",");
      up = json_is_integer (json_object_get (r, "uptime"))
               ? human_duration ((time_t) json_integer_value (json_object_get (r, "uptime")))
               : xstrdup ("-");
      pid = json_is_integer (json_object_get (r, "pid"))
                ? xasprintf ("%d", (int) json_integer_value (json_object_get (r, "pid")))
                : xstrdup ("-");
      status = json_is_integer (json_object_get (r, "exit_code"))
                   ? xasprintf ("exited(%d)", (int) json_integer_value (json_object_get (r, "exit_code")))
                   : xstrdup (json_string_value (json_object_get (r, "status")));
      img = json_object_get (r, "image");
      printf ("%-20s %-12s %-8s %-9s %-24s %-20s %s\n", json_string_value (json_object_get (r, "name")), status, pid,
              up, json_is_string (img) ? json_string_value (img) : "(rootfs)", ports.data ? ports.data : "-",
              cmd.data ? cmd.data : "");
      free (cmd.data);
      free (ports.data);
    }
  return 0;
}
