/* One option table per command drives getopt_long and the help text, so
 * the two cannot drift; typo suggestions for command names. */
#include "common/util.h"
#include "mgmt/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --help's code: above any command's own long-only codes */
#define CH_OPT_HELP 0x10000

static bool
is_short (int val)
{
  return val > ' ' && val < 127;
}

void
ch_cli_parser_init (struct ch_cli_parser *p, struct ch_ctx *ctx, const struct ch_opt *opts)
{
  static const struct ch_opt none[] = { CH_OPT_END };
  struct ch_buf s = { 0 };
  struct option *lo;
  size_t n = 0;
  bool h_taken = false;

  if (opts == NULL)
    opts = none;
  for (const struct ch_opt *o = opts; o->name; o++)
    n++;
  lo = xzalloc ((n + 2) * sizeof *lo);
  /* '+': options end at the first operand; ':': a missing value is told apart */
  ch_buf_append (&s, "+:", 2);
  for (size_t i = 0; i < n; i++)
    {
      lo[i] = (struct option) { opts[i].name, opts[i].arg ? required_argument : no_argument, NULL, opts[i].val };
      if (is_short (opts[i].val))
        {
          char c[2] = { (char) opts[i].val, ':' };
          ch_buf_append (&s, c, opts[i].arg ? 2 : 1);
          h_taken |= opts[i].val == 'h';
        }
    }
  lo[n] = (struct option) { "help", no_argument, NULL, CH_OPT_HELP };
  if (!h_taken)
    ch_buf_append (&s, "h", 1);
  ch_buf_append (&s, "", 1);
  *p = (struct ch_cli_parser) { .ctx = ctx, .opts = opts, .longopts = lo, .shortopts = ch_buf_steal (&s) };
  optind = 1;
  opterr = 0;
}

void
ch_cli_parser_clear (struct ch_cli_parser *p)
{
  free (p->longopts);
  free (p->shortopts);
  p->longopts = NULL;
  p->shortopts = NULL;
}

static const struct ch_opt *
find_val (const struct ch_opt *opts, int val)
{
  for (const struct ch_opt *o = opts; o->name; o++)
    if (o->val == val)
      return o;
  return NULL;
}

int
ch_cli_usage_error (struct ch_ctx *ctx, ch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  ctx->fail_code = 2;
  if (ctx->cmd)
    return ch_error (err, 0, "%s: %s (see chuted %s --help)", ctx->cmd->name, msg, ctx->cmd->name);
  return ch_error (err, 0, "%s", msg);
}

int
ch_cli_next (struct ch_cli_parser *p, int argc, char **argv, ch_error_t *err)
{
  int li = -1;
  int o = getopt_long (argc, argv, p->shortopts, p->longopts, &li);
  const struct ch_opt *d;

  p->optarg = optarg;
  p->name = NULL;
  if (li >= 0 && p->opts[li].name)
    p->name = p->opts[li].name;
  else if ((d = find_val (p->opts, o)) != NULL)
    p->name = d->name;
  if (o == -1)
    return 0;
  if (o == CH_OPT_HELP || (o == 'h' && find_val (p->opts, 'h') == NULL))
    {
      if (p->ctx->cmd)
        ch_cli_help (stdout, p->ctx->cmd);
      p->help = true;
      return -1;
    }
  if (o == ':')
    {
      d = find_val (p->opts, optopt);
      if (d)
        return ch_cli_usage_error (p->ctx, err, "option --%s needs a value", d->name);
      return ch_cli_usage_error (p->ctx, err, "option `%s` needs a value", argv[optind - 1]);
    }
  if (o == '?')
    {
      if (optopt && is_short (optopt))
        return ch_cli_usage_error (p->ctx, err, "unknown option `-%c`", optopt);
      return ch_cli_usage_error (p->ctx, err, "unknown option `%s`", argv[optind - 1]);
    }
  return o;
}

static void
print_opt (FILE *f, const struct ch_opt *o, bool with_short)
{
  cleanup_free char *left = NULL;

  if (with_short && is_short (o->val))
    left = xasprintf ("-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  else
    left = xasprintf ("    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  fprintf (f, "  %-26s %s\n", left, o->help);
}

void
ch_cli_help (FILE *f, const struct ch_cmd *cmd)
{
  static const struct ch_opt help = { "help", 'h', NULL, "show this help" };
  bool h_taken = false;

  fprintf (f, "usage: chuted %s%s%s%s\n\n%s\n\noptions:\n", cmd->name, cmd->opts ? " [OPTIONS]" : "",
           *cmd->usage ? " " : "", cmd->usage, cmd->summary);
  for (const struct ch_opt *o = cmd->opts; o && o->name; o++)
    {
      print_opt (f, o, true);
      h_taken |= o->val == 'h';
    }
  print_opt (f, &help, !h_taken);
}

int
ch_cli_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  cleanup_free int *row = xmalloc ((lb + 1) * sizeof (int));

  for (size_t j = 0; j <= lb; j++)
    row[j] = (int) j;
  for (size_t i = 1; i <= la; i++)
    {
      int diag = row[0];
      row[0] = (int) i;
      for (size_t j = 1; j <= lb; j++)
        {
          int up = row[j];
          int best = diag + (a[i - 1] != b[j - 1]);
          if (up + 1 < best)
            best = up + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          diag = up;
        }
    }
  return row[lb];
}

const char *
ch_cli_suggest (const char *word, const char *const *table)
{
  const char *best = NULL;
  int bd = 3;

  for (const char *const *t = table; *t; t++)
    {
      int d = ch_cli_distance (word, *t);
      if (d < bd)
        {
          bd = d;
          best = *t;
        }
    }
  return best;
}
