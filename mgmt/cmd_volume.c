/* chuted volume ls | create | inspect | rm | prune: the named volumes
 * under ROOT/volumes (mgmt/volume.c), which outlive the chutes using them. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/reap.h"
#include "mgmt/volume.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_JSON = 256
};

const struct ch_opt ch_opts_volume[] = {
  { "json", O_JSON, NULL, "ls: JSON" },
  { "quiet", 'q', NULL, "ls: names only" },
  { "force", 'f', NULL, "rm: a missing volume is no error; prune: accepted (chuted never asks)" },
  CH_OPT_END,
};

struct vol_opts
{
  bool json, quiet, force;
};

/* Options after the subcommand; returns the first operand's index, 0
 * after --help, < 0 on a usage error. */
static int
parse (struct ch_ctx *ctx, int argc, char **argv, struct vol_opts *vo, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_volume);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case O_JSON: vo->json = true; break;
      case 'q': vo->quiet = true; break;
      case 'f': vo->force = true; break;
      }
  if (o < 0)
    return p.help ? 0 : -1;
  return optind;
}

static int
volume_ls (struct ch_ctx *ctx, struct vol_opts *vo, int argc, char **argv, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  cleanup_json json_t *all = json_array ();

  (void) argv;
  if (argc > 0)
    return ch_cli_usage_error (ctx, err, "volume ls takes no operand");
  if (ch_volume_list (ctx, &names, err) < 0)
    return -1;
  if (!vo->json && !vo->quiet)
    printf ("%-24s %-22s %s\n", "NAME", "CREATED", "CHUTES");
  for (size_t i = 0; names[i]; i++)
    {
      json_t *v = NULL;
      cleanup_error ch_error_t e = NULL;
      if (vo->quiet)
        {
          printf ("%s\n", names[i]);
          continue;
        }
      /* removed meanwhile: not listed */
      if (ch_volume_inspect (ctx, names[i], &v, &e) < 0)
        continue;
      json_array_append_new (all, v);
      if (!vo->json)
        {
          struct ch_buf b = { 0 };
          cleanup_free char *users = NULL;
          json_t *u;
          size_t k;
          json_array_foreach (json_object_get (v, "chutes"), k, u)
            ch_buf_printf (&b, "%s%s", k ? "," : "", json_string_value (u));
          users = ch_buf_steal (&b);
          printf ("%-24s %-22s %s\n", names[i], json_string_value (json_object_get (v, "created")) ?: "-",
                  *users ? users : "-");
        }
    }
  if (vo->json)
    {
      cleanup_free char *s = json_dumps (all, JSON_INDENT (2));
      printf ("%s\n", s);
    }
  return 0;
}

static int
volume_create (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  if (argc == 0)
    return ch_cli_usage_error (ctx, err, "volume create needs a NAME");
  for (int i = 0; i < argc; i++)
    {
      if (ch_volume_create (ctx, argv[i], false, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

static int
volume_inspect (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_json json_t *all = json_array ();
  cleanup_free char *s = NULL;

  if (argc == 0)
    return ch_cli_usage_error (ctx, err, "volume inspect needs a NAME");
  for (int i = 0; i < argc; i++)
    {
      json_t *v;
      if (ch_volume_inspect (ctx, argv[i], &v, err) < 0)
        return -1;
      json_array_append_new (all, v);
    }
  s = json_dumps (all, JSON_INDENT (2));
  printf ("%s\n", s);
  return 0;
}

/* Every operand is tried; the first failure is returned, the others said. */
static int
volume_rm (struct ch_ctx *ctx, struct vol_opts *vo, int argc, char **argv, ch_error_t *err)
{
  cleanup_close int lock = -1;
  int ret = 0;

  if (argc == 0)
    return ch_cli_usage_error (ctx, err, "volume rm needs a NAME");
  if (ch_lock_global (ctx, &lock, err) < 0)
    return -1;
  ch_reap (ctx);
  for (int i = 0; i < argc; i++)
    {
      cleanup_error ch_error_t e = NULL;
      if (vo->force && ch_name_check ("volume", argv[i], &e) == 0 && !ch_volume_exists (ctx, argv[i]))
        continue;
      if (ch_volume_remove (ctx, argv[i], &e) == 0)
        {
          printf ("%s\n", argv[i]);
          continue;
        }
      if (ret == 0)
        {
          *err = ch_steal_pointer (&e);
          ret = -1;
        }
      else
        fprintf (stderr, "chuted: %s\n", e->msg);
    }
  return ret;
}

static int
volume_prune (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_strv char **names = NULL;

  (void) argv;
  if (argc > 0)
    return ch_cli_usage_error (ctx, err, "volume prune takes no operand");
  if (ch_lock_global (ctx, &lock, err) < 0)
    return -1;
  ch_reap (ctx);
  if (ch_volume_list (ctx, &names, err) < 0)
    return -1;
  for (size_t i = 0; names[i]; i++)
    {
      cleanup_strv char **users = NULL;
      if (ch_volume_users (ctx, names[i], &users, err) < 0)
        return -1;
      if (users[0])
        continue;
      if (ch_volume_remove (ctx, names[i], err) < 0)
        return -1;
      printf ("%s\n", names[i]);
    }
  return 0;
}

int
ch_cmd_volume (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  struct vol_opts vo = { 0 };
  const char *sub;
  int i;

  /* options come after the subcommand; here only --help */
  ch_cli_parser_init (&p, ctx, NULL);
  if (ch_cli_next (&p, argc, argv, err) < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give ls, create, inspect, rm or prune");
  sub = argv[optind];
  argc -= optind;
  argv += optind;
  i = parse (ctx, argc, argv, &vo, err);
  if (i <= 0)
    return i;
  argc -= i;
  argv += i;
  if (strcmp (sub, "ls") == 0 || strcmp (sub, "list") == 0)
    return volume_ls (ctx, &vo, argc, argv, err);
  if (strcmp (sub, "create") == 0)
    return volume_create (ctx, argc, argv, err);
  if (strcmp (sub, "inspect") == 0)
    return volume_inspect (ctx, argc, argv, err);
  if (strcmp (sub, "rm") == 0 || strcmp (sub, "remove") == 0)
    return volume_rm (ctx, &vo, argc, argv, err);
  if (strcmp (sub, "prune") == 0)
    return volume_prune (ctx, argc, argv, err);
  return ch_cli_usage_error (ctx, err, "unknown volume command `%s` (ls, create, inspect, rm, prune)", sub);
}
