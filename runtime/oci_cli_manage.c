/* chuted-runtime state, list, kill, delete: commands on an existing
 * container's state dir. */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The OCI state, "paused" when the cgroup is frozen (as runc reports it). */
static int
state_of (const char *sd, json_t **st, ch_error_t *err)
{
  bool paused = false;

  if (ch_container_state (sd, st, err) < 0)
    return -1;
  if (strcmp (json_string_value (json_object_get (*st, "status")), "running") == 0
      && ch_container_paused (sd, &paused, err) < 0)
    {
      json_decref (*st);
      *st = NULL;
      return -1;
    }
  if (paused)
    json_object_set_new (*st, "status", json_string ("paused"));
  return 0;
}

int
ch_oci_cmd_state (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  cleanup_free char *out = NULL;
  cleanup_json json_t *st = NULL;
  const char *id;

  optind = 1;
  if (ch_oci_one_id (argc, argv, "state", &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  if (state_of (sd, &st, err) < 0)
    return -1;
  out = json_dumps (st, JSON_INDENT (2));
  printf ("%s\n", out);
  return 0;
}

int
ch_oci_cmd_list (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *dir = ch_oci_state_root (ctx);
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  printf ("%-24s %-8s %-8s %s\n", "ID", "PID", "STATUS", "BUNDLE");
  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", dir);
  while ((de = readdir (d)))
    {
      cleanup_free char *sd = NULL;
      cleanup_json json_t *st = NULL;
      cleanup_error ch_error_t e = NULL;
      if (de->d_name[0] == '.')
        continue;
      sd = xasprintf ("%s/%s", dir, de->d_name);
      if (state_of (sd, &st, &e) < 0)
        continue;
      printf ("%-24s %-8lld %-8s %s\n", de->d_name, (long long) json_integer_value (json_object_get (st, "pid")),
              json_string_value (json_object_get (st, "status")), json_string_value (json_object_get (st, "bundle")));
    }
  return 0;
}

static int
parse_signal (const char *s, int *sig, ch_error_t *err)
{
  static const struct
  {
    const char *n;
    int s;
  } names[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
                { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "ALRM", SIGALRM },
                { "PIPE", SIGPIPE }, { "WINCH", SIGWINCH } };
  const char *n = ch_has_prefix (s, "SIG") ? s + 3 : s;
  int64_t v;
  size_t i;

  for (i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strcasecmp (names[i].n, n) == 0)
      {
        *sig = names[i].s;
        return 0;
      }
  if (ch_parse_int (s, 1, 64, &v, err) < 0)
    return ch_error (err, 0, "unknown signal `%s`", s);
  *sig = (int) v;
  return 0;
}

int
ch_oci_cmd_kill (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "all", no_argument, 0, 'a' }, { 0 } };
  cleanup_free char *sd = NULL;
  const char *id;
  bool all = false;
  int c, sig = SIGTERM;

  while ((c = getopt_long (argc, argv, "+a", opts, NULL)) != -1)
    if (c == 'a')
      all = true;
    else
      return ch_error (err, 0, "usage: chuted oci kill [--all] ID [SIGNAL]");
  if (ch_oci_one_id (argc, argv, "kill", &id, err) < 0)
    return -1;
  if (optind < argc && parse_signal (argv[optind++], &sig, err) < 0)
    return -1;
  while (optind < argc && strcmp (argv[optind], "--all") == 0 && ++optind)
    all = true;
  sd = ch_oci_state_dir (ctx, id);
  return ch_container_kill (sd, sig, all, err) < 0 ? -1 : 0;
}

int
ch_oci_cmd_delete (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0 } };
  cleanup_free char *sd = NULL;
  const char *id;
  bool force = false;
  int c;

  while ((c = getopt_long (argc, argv, "+f", opts, NULL)) != -1)
    if (c == 'f')
      force = true;
    else
      return ch_error (err, 0, "usage: chuted oci delete [--force] ID");
  if (ch_oci_one_id (argc, argv, "delete", &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  return ch_container_delete (sd, force, err) < 0 ? -1 : 0;
}


int
ch_oci_cmd_features (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_json json_t *f = ch_runtime_features ();
  cleanup_free char *s = json_dumps (f, JSON_INDENT (4));

  printf ("%s\n", s);
  return 0;
}
