#include "globals.h"
#include "util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *
env_or (const char *name, const char *dflt)
{
  const char *v = getenv (name);
  return v && *v ? v : dflt;
}

int
ch_globals_parse (int argc, char **argv, struct ch_globals *g, ch_error_t *err)
{
  static const char *const names[] = { "--root", "--run-root", "--cgroup-parent" };
  const char **dst[] = { &g->root, &g->run_root, &g->cgroup_parent };
  int i;

  *g = (struct ch_globals) {
    .root = env_or ("CHUTED_ROOT", "/var/lib/chuted"),
    .run_root = env_or ("CHUTED_RUN_ROOT", "/run/chuted"),
    .cgroup_parent = env_or ("CHUTED_CGROUP_PARENT", "chuted"),
  };
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *o = argv[i];
      size_t k, n = 0;

      if (strcmp (o, "-h") == 0 || strcmp (o, "--help") == 0 || strcmp (o, "--version") == 0)
        break;
      for (k = 0; k < sizeof (names) / sizeof (*names); k++)
        if (ch_has_prefix (o, names[k]) && (o[n = strlen (names[k])] == '\0' || o[n] == '='))
          break;
      if (k == sizeof (names) / sizeof (*names))
        return ch_error (err, 0, "unknown global option `%s`", o);
      if (o[n] == '=')
        *dst[k] = o + n + 1;
      else if (i + 1 < argc)
        *dst[k] = argv[++i];
      else
        return ch_error (err, 0, "option %s needs a value", o);
    }
  if (g->root[0] != '/')
    return ch_error (err, 0, "--root `%s`: not an absolute path", g->root);
  if (g->run_root[0] != '/')
    return ch_error (err, 0, "--run-root `%s`: not an absolute path", g->run_root);
  if (g->cgroup_parent[0] == '\0')
    return ch_error (err, 0, "--cgroup-parent: empty");
  return i;
}

int
ch_globals_main (int argc, char **argv, const char *prog, void (*usage) (FILE *), struct ch_globals *g,
                 int *exit_code)
{
  cleanup_error ch_error_t err = NULL;
  int i = ch_globals_parse (argc, argv, g, &err);

  *exit_code = 2;
  if (i < 0)
    {
      ch_error_print (&err, prog);
      usage (stderr);
      return -1;
    }
  if (i < argc && (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0))
    {
      usage (stdout);
      *exit_code = 0;
      return -1;
    }
  if (i < argc && strcmp (argv[i], "--version") == 0)
    {
      printf ("chuted version %s\n", CH_VERSION);
      *exit_code = 0;
      return -1;
    }
  if (i >= argc)
    {
      usage (stderr);
      return -1;
    }
  return i;
}

int
ch_getopt_missing_value (const struct option *opts, char **argv, ch_error_t *err)
{
  for (const struct option *o = opts; o->name; o++)
    if (o->val == optopt)
      return ch_error (err, 0, "%s: option --%s needs a value", argv[0], o->name);
  return ch_error (err, 0, "%s: option `%s` needs a value", argv[0], argv[optind - 1]);
}
