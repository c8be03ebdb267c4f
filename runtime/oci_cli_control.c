/* chuted-runtime pause, resume, update, ps: a container's cgroup, as runc
 * spells them (podman pause/unpause/update call these). */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
pause_resume (struct ch_oci_ctx *ctx, int argc, char **argv, bool pause, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  const char *id;

  optind = 1;
  if (ch_oci_one_id (argc, argv, argv[0], &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  return ch_container_pause (sd, pause, err);
}

int
ch_oci_cmd_pause (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  return pause_resume (ctx, argc, argv, true, err);
}

int
ch_oci_cmd_resume (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  return pause_resume (ctx, argc, argv, false, err);
}

/* runc update's flags, each into the linux.resources object --resources
 * would give: one parser (ch_container_update's) for both forms. */
static const struct
{
  const char *flag, *group, *key;
  bool size; /* memory flags take 64m, 1g ... as runc does */
} update_flags[] = {
  { "memory", "memory", "limit", true },
  { "memory-swap", "memory", "swap", true },
  { "memory-reservation", "memory", "reservation", true },
  { "cpu-share", "cpu", "shares", false },
  { "cpu-quota", "cpu", "quota", false },
  { "cpu-period", "cpu", "period", false },
  { "cpuset-cpus", "cpu", "cpus", false },
  { "cpuset-mems", "cpu", "mems", false },
  { "pids-limit", "pids", "limit", false },
  { "blkio-weight", "blockIO", "weight", false },
};
#define N_UPDATE_FLAGS (sizeof (update_flags) / sizeof (update_flags[0]))

static int
flag_value (size_t i, const char *v, json_t *res, ch_error_t *err)
{
  json_t *group = json_object_get (res, update_flags[i].group);
  json_t *val;
  int64_t n;

  if (group == NULL)
    {
      group = json_object ();
      json_object_set_new (res, update_flags[i].group, group);
    }
  if (strcmp (update_flags[i].key, "cpus") == 0 || strcmp (update_flags[i].key, "mems") == 0)
    val = json_string (v);
  else if (update_flags[i].size && strcmp (v, "-1") != 0)
    {
      uint64_t b;
      if (ch_parse_size (v, &b, err) < 0 || b > INT64_MAX)
        return ch_error (err, 0, "--%s `%s`: not a size", update_flags[i].flag, v);
      val = json_integer ((json_int_t) b);
    }
  else
    {
      if (ch_parse_int (v, -1, INT64_MAX, &n, err) < 0)
        return ch_error_prefix (err, "--%s", update_flags[i].flag);
      val = json_integer (n);
    }
  json_object_set_new (group, update_flags[i].key, val);
  return 0;
}

int
ch_oci_cmd_update (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  struct option opts[N_UPDATE_FLAGS + 2];
  cleanup_json json_t *flags = json_object ();
  cleanup_json json_t *res = NULL;
  cleanup_free char *sd = NULL;
  const char *file = NULL, *id;
  int c, idx;
  size_t i;

  for (i = 0; i < N_UPDATE_FLAGS; i++)
    opts[i] = (struct option) { update_flags[i].flag, required_argument, 0, 0x100 + (int) i };
  opts[i++] = (struct option) { "resources", required_argument, 0, 'r' };
  opts[i] = (struct option) { 0 };
  while ((c = getopt_long (argc, argv, "+r:", opts, &idx)) != -1)
    if (c == 'r')
      file = optarg;
    else if (c >= 0x100 && c < 0x100 + (int) N_UPDATE_FLAGS)
      {
        if (flag_value ((size_t) (c - 0x100), optarg, flags, err) < 0)
          return -1;
      }
    else
      return ch_error (err, 0, "usage: chuted oci update [--resources FILE|-] [--memory M] [--memory-swap M] "
                               "[--memory-reservation M] [--cpu-share N] [--cpu-quota N] [--cpu-period N] "
                               "[--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] [--blkio-weight N] ID");
  if (ch_oci_one_id (argc, argv, "update", &id, err) < 0)
    return -1;
  if (file && json_object_size (flags) > 0)
    return ch_error (err, 0, "oci update: --resources and limit flags: give one");
  if (file && strcmp (file, "-") == 0)
    {
      json_error_t je;
      res = json_loadf (stdin, 0, &je);
      if (res == NULL)
        return ch_error (err, 0, "--resources -: line %d: %s", je.line, je.text);
    }
  else if (file && ch_json_load_file (file, &res, err) < 0)
    return ch_error_prefix (err, "--resources");
  if (file == NULL)
    res = json_incref (flags);
  if (!json_is_object (res))
    return ch_error (err, 0, "--resources: not a JSON object");
  sd = ch_oci_state_dir (ctx, id);
  if (ch_container_update (sd, res, err) < 0)
    return ch_error_prefix (err, "update `%s`", id);
  return 0;
}

/* runc ps: the table is ps(1)'s own output (PS_ARGS, default -ef) cut to
 * the container's pids; --format json is the bare pid list. */
/* Run ps ARGS (default -ef) and keep its header and the lines whose PID
 * column holds one of PIDS. */
static int
ps_table (const pid_t *pids, size_t n, int argc, char **argv, ch_error_t *err)
{
  cleanup_strv char **args = xzalloc (sizeof (char *));
  cleanup_free char *out = NULL;
  size_t len = 0, cap = 0, i;
  int p[2], ws, col = -1;
  char *line, *save = NULL;
  ssize_t r;
  pid_t ps;

  ch_strv_append (&args, "ps");
  for (i = 0; i < (size_t) argc; i++)
    ch_strv_append (&args, argv[i]);
  if (argc == 0)
    ch_strv_append (&args, "-ef");
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  ps = fork ();
  if (ps < 0)
    {
      close (p[0]);
      close (p[1]);
      return ch_error (err, errno, "fork");
    }
  if (ps == 0)
    {
      dup2 (p[1], 1);
      execvp ("ps", args);
      _exit (127);
    }
  close (p[1]);
  for (;;)
    {
      if (len + 4096 + 1 > cap)
        out = xrealloc (out, cap = cap * 2 + 8192);
      r = read (p[0], out + len, cap - len - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      len += (size_t) r;
    }
  close (p[0]);
  while (waitpid (ps, &ws, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (ws) || WEXITSTATUS (ws) != 0 || out == NULL)
    return ch_error (err, 0, "ps %s failed (status %d)", argc ? argv[0] : "-ef", WIFEXITED (ws) ? WEXITSTATUS (ws) : -1);
  out[len] = '\0';
  for (line = strtok_r (out, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      cleanup_free char *copy = xstrdup (line);
      char *f, *s2 = NULL;
      int k = 0;
      bool keep = false;

      for (f = strtok_r (copy, " \t", &s2); f; f = strtok_r (NULL, " \t", &s2), k++)
        {
          if (col < 0 && strcmp (f, "PID") == 0)
            {
              col = k;
              keep = true;
              break;
            }
          if (k == col)
            {
              for (i = 0; i < n && !keep; i++)
                keep = atoi (f) == pids[i];
              break;
            }
        }
      if (col < 0)
        return ch_error (err, 0, "ps: no PID column in its output");
      if (keep)
        printf ("%s\n", line);
    }
  return 0;
}

int
ch_oci_cmd_ps (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "format", required_argument, 0, 'f' }, { 0 } };
  cleanup_free char *sd = NULL;
  cleanup_free pid_t *pids = NULL;
  const char *id, *format = "table";
  size_t n, i;
  int c;

  while ((c = getopt_long (argc, argv, "+f:", opts, NULL)) != -1)
    if (c == 'f' && (strcmp (optarg, "json") == 0 || strcmp (optarg, "table") == 0))
      format = optarg;
    else
      return ch_error (err, 0, "usage: chuted oci ps [--format table|json] ID [PS_ARGS...]");
  if (ch_oci_one_id (argc, argv, "ps", &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  if (ch_container_pids (sd, &pids, &n, err) < 0)
    return -1;
  if (strcmp (format, "json") == 0)
    {
      cleanup_json json_t *a = json_array ();
      cleanup_free char *s = NULL;
      for (i = 0; i < n; i++)
        json_array_append_new (a, json_integer (pids[i]));
      s = json_dumps (a, JSON_COMPACT);
      printf ("%s\n", s);
      return 0;
    }
  return ps_table (pids, n, argc - optind, argv + optind, err);
}
