/* start, stop, restart, rm, kill: one chute at a time, under its lock. */
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/attach.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "mgmt/reap.h"
#include "runtime/runtime.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
parse_timeout (int argc, char **argv, int *timeout, bool *force, ch_error_t *err)
{
  static const struct option opts[] = { { "time", required_argument, NULL, 't' },
                                        { "force", no_argument, NULL, 'f' },
                                        { NULL, 0, NULL, 0 } };
  int o;
  int64_t t;

  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "+t:f", opts, NULL)) != -1)
    {
      if (o == 't')
        {
          if (ch_parse_int (optarg, 0, 3600, &t, err) < 0)
            return ch_error_prefix (err, "%s -t", argv[0]);
          *timeout = (int) t;
        }
      else if (o == 'f' && force)
        *force = true;
      else
        return ch_error (err, 0, "%s: unknown option `%s`", argv[0], argv[optind - 1]);
    }
  if (optind >= argc)
    return ch_error (err, 0, "%s: give the chute's name", argv[0]);
  return optind;
}

static int
start_one (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  struct ch_chute c;
  struct ch_up up = { .ready_fd = -1 };
  cleanup_close int lock = -1;
  pid_t pid;
  int r = -1;

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return -1;
  if (ch_lock_chute (ctx, name, &lock, err) < 0)
    goto out;
  if (ch_chute_running (ctx, name, NULL))
    {
      r = 0; /* already running: like docker, not an error */
      goto out;
    }
  /* whatever the last run left (it ended by itself) is released first */
  if (ch_chute_down (ctx, name, err) < 0)
    goto out;
  c.autoremove = false;
  if (ch_chute_up (ctx, &c, false, &up, err) < 0)
    goto out;
  r = ch_chute_wait_started (ctx, &up, &pid, err);
  if (r < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_chute_down (ctx, name, &e2);
    }
out:
  ch_chute_clear (&c);
  return r < 0 ? ch_error_prefix (err, "start `%s`", name) : 0;
}

int
ch_cmd_start (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  int i = parse_timeout (argc, argv, &(int){ 0 }, NULL, err);

  if (i < 0)
    return -1;
  {
    cleanup_close int g = -1;
    if (ch_lock_global (ctx, &g, err) < 0)
      return -1;
    ch_reap (ctx);
  }
  for (; i < argc; i++)
    {
      if (start_one (ctx, argv[i], err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

static int
stop_one (struct ch_ctx *ctx, const char *name, int timeout, ch_error_t *err)
{
  struct ch_chute c;
  cleanup_close int lock = -1;
  int r;

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return -1;
  ch_chute_clear (&c);
  if (ch_lock_chute (ctx, name, &lock, err) < 0)
    return -1;
  r = ch_chute_stop (ctx, name, timeout, err);
  return r < 0 ? ch_error_prefix (err, "stop `%s`", name) : 0;
}

int
ch_cmd_stop (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  int timeout = 10;
  int i = parse_timeout (argc, argv, &timeout, NULL, err);

  if (i < 0)
    return -1;
  for (; i < argc; i++)
    {
      if (stop_one (ctx, argv[i], timeout, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

int
ch_cmd_restart (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  int timeout = 10;
  int i = parse_timeout (argc, argv, &timeout, NULL, err);

  if (i < 0)
    return -1;
  for (; i < argc; i++)
    {
      if (stop_one (ctx, argv[i], timeout, err) < 0 || start_one (ctx, argv[i], err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

int
ch_cmd_rm (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  bool force = false;
  int i = parse_timeout (argc, argv, &(int){ 0 }, &force, err);

  if (i < 0)
    return -1;
  for (; i < argc; i++)
    {
      struct ch_chute c;
      cleanup_close int lock = -1;
      ch_chute_init (&c);
      if (ch_chute_load (ctx, argv[i], &c, err) < 0)
        return -1;
      ch_chute_clear (&c);
      if (ch_lock_chute (ctx, argv[i], &lock, err) < 0 || ch_chute_remove (ctx, argv[i], force, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

int
ch_cmd_kill (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "signal", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
  cleanup_free char *oci = NULL;
  const char *sig = "KILL";
  int o, signo = 0;

  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "+s:", opts, NULL)) != -1)
    {
      if (o != 's')
        return ch_error (err, 0, "kill: unknown option `%s`", argv[optind - 1]);
      sig = optarg;
    }
  if (optind >= argc)
    return ch_error (err, 0, "kill: give the chute's name");
  if (ch_chute_name_check (argv[optind], err) < 0)
    return -1;
  if (ch_has_prefix (sig, "SIG"))
    sig += 3;
  for (int s = 1; s < NSIG && !signo; s++)
    {
      const char *n = sigabbrev_np (s);
      if (n && strcasecmp (n, sig) == 0)
        signo = s;
    }
  if (!signo)
    {
      int64_t n;
      if (ch_parse_int (sig, 1, NSIG - 1, &n, err) < 0)
        return ch_error (err, 0, "kill: unknown signal `%s`", sig);
      signo = (int) n;
    }
  if (!ch_chute_running (ctx, argv[optind], NULL))
    return ch_error (err, 0, "chute `%s` is not running", argv[optind]);
  oci = ch_chute_oci_dir (ctx, argv[optind]);
  return ch_container_kill (oci, signo, false, err);
}
