/* chuted deploy [--dry-run [--json]] [--change-id ID] [--generation N] PATH:
 * read a chute file (a directory holding it, the file, or a chute package:
 * mgmt/deploy_source.h), check it (values and conflicts with the chutes on this
 * host); with --dry-run print the plan, else hand it to the deploy engine
 * (mgmt/engine.h), printing its progress as it goes. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "common/parse.h"
#include "mgmt/commands.h"
#include "mgmt/engine.h"
#include "mgmt/manifest.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
print_list (const char *label, json_t *a)
{
  size_t i;
  json_t *v;

  if (json_array_size (a) == 0)
    return;
  printf ("    %-12s", label);
  json_array_foreach (a, i, v) printf ("%s%s", i ? " " : "", json_string_value (v));
  printf ("\n");
}

static void
print_object (const char *label, json_t *o)
{
  const char *k;
  json_t *v;

  if (o == NULL || json_object_size (o) == 0)
    return;
  printf ("  %-14s", label);
  json_object_foreach (o, k, v)
  {
    cleanup_free char *t = json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
    printf (" %s=%s", k, t);
  }
  printf ("\n");
}

static void
print_plan (json_t *plan)
{
  json_t *svc, *net = json_object_get (plan, "network");
  size_t i;

  printf ("chute %s (%s format%s%s)\n", json_string_value (json_object_get (plan, "chute")),
          json_string_value (json_object_get (plan, "format")), json_object_get (plan, "version") ? ", version " : "",
          json_object_get (plan, "version") ? json_string_value (json_object_get (plan, "version")) : "");
  json_array_foreach (json_object_get (plan, "services"), i, svc)
  {
    json_t *b = json_object_get (svc, "build");
    if (b)
      printf ("  service %s\n    %-12sbuilt by the deploy: %s, from %s%s%s\n", json_string_value (json_object_get (svc, "name")),
              "image", json_string_value (json_object_get (b, "type")), json_string_value (json_object_get (b, "source")),
              json_object_get (b, "base") ? " on " : "", json_string_value (json_object_get (b, "base")) ?: "");
    else
      printf ("  service %s\n    %-12s%s\n", json_string_value (json_object_get (svc, "name")), "image",
              json_string_value (json_object_get (svc, "image")));
    if (json_object_get (svc, "command"))
      print_list ("command", json_object_get (svc, "command"));
    else
      printf ("    %-12s(the image's)\n", "command");
    print_list ("environment", json_object_get (svc, "environment"));
    print_list ("dns", json_object_get (svc, "dns"));
  }
  printf ("  %-14s bridge (one netns shared by the services)\n", "network");
  if (json_array_size (json_object_get (net, "ports")))
    {
      printf ("  %-14s", "ports");
      json_array_foreach (json_object_get (net, "ports"), i, svc) printf (" %s", json_string_value (svc));
      printf ("\n");
    }
  print_object ("wifi", json_object_get (net, "wifi"));
  print_object ("resources", json_object_get (plan, "resources"));
  printf ("  %-14s %s\n", "restart", json_string_value (json_object_get (plan, "restart")));
  print_object ("health", json_object_get (plan, "health"));
  print_object ("volumes", json_object_get (plan, "volumes"));
  print_object ("web", json_object_get (plan, "web"));
  printf ("dry run: nothing was created\n");
}

/* The engine's progress events, one line each as they come; on a terminal
 * a fetch's bytes rewrite one line, and the next event takes its place. */
void
ch_print_change_event (void *data, const struct ch_change *c, const char *detail)
{
  bool tty = isatty (1);
  bool redraw = tty && strcmp (c->phase, "fetching") == 0 && c->fetched < c->fetch_total;

  printf ("%s %s: %s%s%s%s", c->id, c->chute, c->phase, detail ? ": " : "", detail ? detail : "",
          redraw ? "\033[K\r" : tty ? "\033[K\n" : "\n");
  if (c->result && c->failure)
    ch_engine_failure_print (stdout, c->failure);
  fflush (stdout);
}

static int
deploy (struct ch_ctx *ctx, const struct ch_deploy_source *src, const char *change_id, int64_t generation,
        ch_error_t *err)
{
  struct ch_engine e;
  int r;

  if (ch_engine_open (&e, ctx, ch_print_change_event, NULL, err) < 0)
    return -1;
  r = ch_engine_deploy (&e, src, change_id, generation, err);
  ch_engine_close (&e);
  return r < 0 ? -1 : 0;
}

enum
{
  O_DRY_RUN = 256,
  O_JSON,
  O_CHANGE_ID,
  O_GENERATION,
};

const struct ch_opt ch_opts_deploy[] = {
  { "dry-run", O_DRY_RUN, NULL, "check the file and print the plan; change nothing" },
  { "json", O_JSON, NULL, "print the plan as JSON (with --dry-run)" },
  { "change-id", O_CHANGE_ID, "ID", "the change's id: a change applied twice runs once" },
  { "generation", O_GENERATION, "N", "refused unless newer than the chute's current generation" },
  CH_OPT_END,
};

int
ch_cmd_deploy (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  bool dry_run = false, as_json = false;
  const char *change_id = NULL;
  int64_t generation = 0;
  cleanup_json json_t *plan = NULL;
  struct ch_deploy_source src;
  struct ch_chutefile m;
  int o, r;

  ch_cli_parser_init (&p, ctx, ch_opts_deploy);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case O_DRY_RUN: dry_run = true; break;
      case O_JSON: as_json = true; break;
      case O_CHANGE_ID: change_id = p.optarg; break;
      case O_GENERATION:
        if (ch_parse_int (p.optarg, 1, INT64_MAX, &generation, err) < 0)
          return ch_error_prefix (err, "deploy --generation");
        break;
      }
  if (o < 0)
    return ch_cli_done (&p);
  if (optind != argc - 1)
    return ch_cli_usage_error (ctx, err, "want one PATH (a directory holding chute.yaml, the file, or a chute package .tar/.tar.gz)");
  if (as_json && !dry_run)
    return ch_cli_usage_error (ctx, err, "--json goes with --dry-run (progress is printed as it goes)");
  if (ch_deploy_source_open (ctx, argv[optind], &src, err) < 0)
    return ch_error_prefix (err, "deploy");
  if (!dry_run)
    {
      r = deploy (ctx, &src, change_id, generation, err);
      ch_deploy_source_close (&src);
      return r;
    }
  r = ch_chutefile_parse (src.file, src.text, src.len, &m, err);
  if (r == 0)
    r = ch_chutefile_check (&m, err);
  if (r == 0)
    r = ch_deploy_source_check_images (&src, &m, err);
  if (r == 0)
    r = ch_chutefile_conflicts (ctx, &m, err);
  if (r == 0)
    plan = ch_chutefile_plan (&m);
  ch_chutefile_clear (&m);
  ch_deploy_source_close (&src);
  if (r < 0)
    return -1;
  if (as_json)
    {
      cleanup_free char *s = json_dumps (plan, JSON_INDENT (2));
      printf ("%s\n", s);
    }
  else
    print_plan (plan);
  return 0;
}
