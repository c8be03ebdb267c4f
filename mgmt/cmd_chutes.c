/* The deployed chutes and their changes: `chuted chutes [--json]`,
 * `chuted chute inspect NAME`,
 * `chuted chute stop|start|restart|rm|rollback [--change-id ID] NAME`,
 * `chuted changes [--json]`. Argument parsing is kept to a few lines per
 * command; the work is the engine's (mgmt/engine.h). */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/commands.h"
#include "mgmt/desired.h"
#include "mgmt/engine.h"
#include "mgmt/lifecycle.h"
#include "mgmt/pod.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_JSON = 256,
  O_CHANGE_ID,
};

const struct ch_opt ch_opts_chutes[] = {
  { "json", O_JSON, NULL, "print JSON" },
  CH_OPT_END,
};

const struct ch_opt ch_opts_chute[] = {
  { "change-id", O_CHANGE_ID, "ID", "the change's id: a change applied twice runs once" },
  CH_OPT_END,
};

/* chutes and changes: --json, no operand. Returns 1 to go on, 0 after
 * --help, -1 on a usage error. */
static int
json_flag (struct ch_ctx *ctx, int argc, char **argv, bool *as_json, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_chutes);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    *as_json = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (unknown argument `%s`)", argv[optind]);
  return 1;
}

/* One deployed chute, desired against actual (the REST API's too): a pod
 * is running when all its services are (each one's state in `services`). */
json_t *
ch_chute_row (struct ch_ctx *ctx, const struct ch_desired *d)
{
  bool recorded, running;
  json_t *svcs = ch_pod_actual (ctx, d->name, &running, &recorded);
  cleanup_json json_t *st = ch_chute_status (ctx, json_string_value (json_object_get (json_array_get (svcs, 0), "chute")));
  const char *actual, *health;

  actual = running ? "running" : recorded ? "stopped" : "absent";
  /* the default health: alive; a chute meant to be down is not unhealthy */
  health = running ? "healthy" : d->running ? "unhealthy" : "-";
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s?, s:s?, s:o}", "name", d->name, "version", d->version,
                    "desired", d->running ? "running" : "stopped", "actual", actual, "health", health, "generation",
                    (json_int_t) d->generation, "since", d->since ? d->since : "", "previous", d->previous,
                    "started_at", json_string_value (json_object_get (st, "started_at")), "services", svcs);
}

/* SERVICES: running/all, e.g. 2/2 */
static char *
services_cell (json_t *svcs)
{
  size_t i, up = 0;
  json_t *s;

  json_array_foreach (svcs, i, s)
    up += strcmp (json_string_value (json_object_get (s, "actual")) ?: "", "running") == 0;
  return xasprintf ("%zu/%zu", up, json_array_size (svcs));
}

int
ch_cmd_chutes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  cleanup_json json_t *rows = json_array ();
  bool as_json = false;
  size_t i;
  json_t *r;
  int r0;

  if ((r0 = json_flag (ctx, argc, argv, &as_json, err)) <= 0)
    return r0;
  if (ch_desired_list (ctx, &names, err) < 0)
    return -1;
  for (char **n = names; *n; n++)
    {
      struct ch_desired d;
      if (ch_desired_load (ctx, *n, &d, err) < 0)
        return -1;
      json_array_append_new (rows, ch_chute_row (ctx, &d));
      ch_desired_clear (&d);
    }
  if (as_json)
    {
      cleanup_free char *s = json_dumps (rows, JSON_INDENT (2));
      printf ("%s\n", s);
      return 0;
    }
  printf ("%-20s %-10s %-8s %-8s %-8s %-10s %s\n", "NAME", "VERSION", "DESIRED", "ACTUAL", "SERVICES", "HEALTH",
          "SINCE");
  json_array_foreach (rows, i, r)
  {
    cleanup_free char *svcs = services_cell (json_object_get (r, "services"));
    printf ("%-20s %-10s %-8s %-8s %-8s %-10s %s\n", json_string_value (json_object_get (r, "name")),
            json_string_value (json_object_get (r, "version")), json_string_value (json_object_get (r, "desired")),
            json_string_value (json_object_get (r, "actual")), svcs, json_string_value (json_object_get (r, "health")),
            json_string_value (json_object_get (r, "since")));
  }
  return 0;
}

/* `chute inspect NAME`: desired against actual, the running version's
 * plan, and the chute's changes, as one JSON document. */
static int
inspect (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_json json_t *doc = NULL, *all = NULL;
  cleanup_free char *file = NULL, *text = NULL, *s = NULL;
  struct ch_chutefile m;
  struct ch_desired d;
  json_t *changes, *c;
  size_t i, len;
  int r;

  if (ch_chute_name_check (name, err) < 0 || (r = ch_desired_load (ctx, name, &d, err)) < 0)
    return -1;
  if (r == 0)
    return ch_error (err, 0, "chute inspect: chute `%s` was not deployed (see `chuted chutes`)", name);
  doc = json_pack ("{s:o}", "chute", ch_chute_row (ctx, &d));
  file = ch_desired_version_file (ctx, name, d.version);
  ch_desired_clear (&d);
  if (ch_read_file (file, &text, &len, err) < 0)
    return ch_error_prefix (err, "chute inspect `%s`", name);
  r = ch_chutefile_parse (file, text, len, &m, err);
  if (r == 0)
    r = ch_chutefile_check (&m, err);
  if (r == 0)
    json_object_set_new (doc, "plan", ch_chutefile_plan (&m));
  ch_chutefile_clear (&m);
  if (r < 0 || ch_journal_list (ctx, &all, err) < 0)
    return -1;
  changes = json_array ();
  json_array_foreach (all, i, c)
  if (strcmp (json_string_value (json_object_get (c, "chute")), name) == 0)
    json_array_append (changes, c);
  json_object_set_new (doc, "changes", changes);
  json_object_set_new (doc, "manifest", json_stringn (text, len));
  s = json_dumps (doc, JSON_INDENT (2));
  printf ("%s\n", s);
  return 0;
}

int
ch_cmd_chute (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const char *const kinds[][2] = { { "stop", "stop" },       { "start", "start" }, { "restart", "restart" },
                                          { "rm", "remove" },         { "rollback", "rollback" } };
  cleanup_cli_parser struct ch_cli_parser p = { 0 }; /* the inspect path returns before init */
  const char *kind = NULL, *change_id = NULL;
  struct ch_engine e;
  int o, r, off;

  if (argc == 3 && strcmp (argv[1], "inspect") == 0)
    return inspect (ctx, argv[2], err);
  for (size_t k = 0; argc > 1 && k < sizeof (kinds) / sizeof (kinds[0]); k++)
    if (strcmp (argv[1], kinds[k][0]) == 0)
      kind = kinds[k][1];
  /* the options follow the verb (chute stop --change-id ID NAME); without a
   * verb only --help makes sense */
  off = kind ? 1 : 0;
  ch_cli_parser_init (&p, ctx, ch_opts_chute);
  while ((o = ch_cli_next (&p, argc - off, argv + off, err)) > 0)
    change_id = p.optarg;
  if (o < 0)
    return ch_cli_done (&p);
  if (kind == NULL)
    return ch_cli_usage_error (ctx, err, "want inspect NAME, or stop|start|restart|rm|rollback [--change-id ID] NAME");
  if (optind != argc - off - 1)
    return ch_cli_usage_error (ctx, err, "chute %s: give one chute name", argv[1]);
  if (ch_engine_open (&e, ctx, ch_print_change_event, NULL, err) < 0)
    return -1;
  r = ch_engine_op (&e, kind, argv[optind + off], change_id, err);
  ch_engine_close (&e);
  return r < 0 ? -1 : 0;
}

int
ch_cmd_changes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_json json_t *list = NULL;
  bool as_json = false;
  size_t i;
  json_t *c;

  int r0 = json_flag (ctx, argc, argv, &as_json, err);

  if (r0 <= 0)
    return r0;
  if (ch_journal_list (ctx, &list, err) < 0)
    return -1;
  if (as_json)
    {
      cleanup_free char *s = json_dumps (list, JSON_INDENT (2));
      printf ("%s\n", s);
      return 0;
    }
  printf ("%-12s %-20s %-9s %-10s %-12s %-20s %s\n", "ID", "CHUTE", "KIND", "VERSION", "RESULT", "TIME", "REASON");
  json_array_foreach (list, i, c)
  {
    const char *res = json_string_value (json_object_get (c, "result"));
    printf ("%-12s %-20s %-9s %-10s %-12s %-20s %s\n", json_string_value (json_object_get (c, "id")),
            json_string_value (json_object_get (c, "chute")), json_string_value (json_object_get (c, "kind")),
            json_string_value (json_object_get (c, "version")) ?: "-",
            res ? res : json_string_value (json_object_get (c, "phase")),
            json_string_value (json_object_get (c, "time")) ?: "-",
            json_string_value (json_object_get (c, "reason")) ?: "");
  }
  return 0;
}
