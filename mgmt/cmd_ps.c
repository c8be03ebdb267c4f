/* chuted ps: name, status, pid, uptime, command. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
  row = json_pack ("{s:s, s:s, s:s?, s:s?}", "name", name, "status",
                   running ? (strcmp (state, "restarting") == 0 ? "restarting" : "running")
                   : state  ? "exited"
                            : "created",
                   "image", c.image, "rootfs", c.rootfs);
  json_object_set_new (row, "command", cmd);
  json_object_set_new (row, "pid", json_integer (running ? json_integer_value (json_object_get (st, "pid")) : 0));
  json_object_set_new (row, "uptime", json_integer (running && started ? (json_int_t) (time (NULL) - started) : 0));
  if (!running && state)
    json_object_set (row, "exit_code", json_object_get (st, "exit_code"));
  json_object_set_new (row, "created", json_string (c.created ? c.created : ""));
  ch_chute_clear (&c);
  return row;
}

int
ch_cmd_ps (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { "json", no_argument, NULL, 'j' },
                                        { NULL, 0, NULL, 0 } };
  bool all = false, quiet = false, as_json = false;
  cleanup_strv char **names = NULL;
  cleanup_json json_t *rows = json_array ();
  int o;

  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "+aqj", opts, NULL)) != -1)
    switch (o)
      {
      case 'a': all = true; break;
      case 'q': quiet = true; break;
      case 'j': as_json = true; break;
      default: return ch_error (err, 0, "ps: unknown option `%s`", argv[optind - 1]);
      }
  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (size_t i = 0; names[i]; i++)
    {
      json_t *row = ch_ps_row (ctx, names[i]);
      const char *status = json_string_value (json_object_get (row, "status"));
      if (row && (all || as_json || strcmp (status, "running") == 0 || strcmp (status, "restarting") == 0))
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
  if (!quiet)
    printf ("%-20s %-12s %-8s %-9s %s\n", "NAME", "STATUS", "PID", "UPTIME", "COMMAND");
  for (size_t i = 0; i < json_array_size (rows); i++)
    {
      json_t *r = json_array_get (rows, i), *v;
      struct ch_buf cmd = { 0 };
      cleanup_free char *up = NULL;
      cleanup_free char *status = NULL;
      size_t k;

      if (quiet)
        {
          printf ("%s\n", json_string_value (json_object_get (r, "name")));
          continue;
        }
      json_array_foreach (json_object_get (r, "command"), k, v)
        ch_buf_printf (&cmd, "%s%s", k ? " " : "", json_string_value (v));
      up = json_integer_value (json_object_get (r, "pid"))
               ? human_duration ((time_t) json_integer_value (json_object_get (r, "uptime")))
               : xstrdup ("-");
      status = json_object_get (r, "exit_code")
                   ? xasprintf ("exited(%d)", (int) json_integer_value (json_object_get (r, "exit_code")))
                   : xstrdup (json_string_value (json_object_get (r, "status")));
      printf ("%-20s %-12s %-8d %-9s %s\n", json_string_value (json_object_get (r, "name")), status,
              (int) json_integer_value (json_object_get (r, "pid")), up, cmd.data ? cmd.data : "");
      free (cmd.data);
    }
  return 0;
}
