/* start, stop, restart, rm, kill: one chute at a time, under its lock. */
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/attach.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "mgmt/reap.h"
#include "runtime/runtime.h"

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_ALL = 256
};

const struct ch_opt ch_opts_start[] = {
  { "all", O_ALL, NULL, "start every chute whose restart policy is always or unless-stopped" },
  CH_OPT_END,
};

const struct ch_opt ch_opts_stop[] = {
  { "time", 't', "SECONDS", "wait this long after SIGTERM before SIGKILL (default 10)" },
  CH_OPT_END,
};

const struct ch_opt ch_opts_rm[] = {
  { "force", 'f', NULL, "stop a running chute first" },
  CH_OPT_END,
};

const struct ch_opt ch_opts_kill[] = {
  { "signal", 's', "SIGNAL", "the signal, by name or number (default KILL)" },
  CH_OPT_END,
};

/* start, stop, restart and rm: their options, then at least one chute name.
 * Returns the index of the first name, 0 after --help, or -1. */
static int
parse_names (struct ch_ctx *ctx, int argc, char **argv, const struct ch_opt *opts, int *timeout, bool *flag,
             ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  int o;
  int64_t t;

  ch_cli_parser_init (&p, ctx, opts);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    {
      if (o == 't')
        {
          if (ch_parse_int (p.optarg, 0, 3600, &t, err) < 0)
            return ch_error_prefix (err, "%s -t", argv[0]);
          *timeout = (int) t;
        }
      else /* -f, --all */
        *flag = true;
    }
  if (o < 0)
    return p.help ? 0 : -1;
  if (optind >= argc && !*flag)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
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
  if (c.user_stopped)
    {
      c.user_stopped = false;
      if (ch_chute_save (ctx, &c, err) < 0)
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

/* `start --all`, what the boot unit runs: every chute whose policy brings it
 * back (ch_chute_starts_at_boot) and that is not running. One that fails is
 * reported and the others still start. */
static int
start_all (struct ch_ctx *ctx, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  int failed = 0;

  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (char **n = names; *n; n++)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_chute c;
      bool boot;

      ch_chute_init (&c);
      if (ch_chute_load (ctx, *n, &c, &e) < 0)
        {
          ch_error_print (&e, "chuted: start --all");
          failed++;
          continue;
        }
      boot = ch_chute_starts_at_boot (&c);
      ch_chute_clear (&c);
      if (!boot || ch_chute_running (ctx, *n, NULL))
        continue;
      if (start_one (ctx, *n, &e) < 0)
        {
          ch_error_print (&e, "chuted");
          failed++;
          continue;
        }
      printf ("%s\n", *n);
    }
  if (failed == 0)
    return 0;
  ctx->fail_code = 125; /* not the last chute's own exit code */
  return ch_error (err, 0, "start --all: %d chute%s did not start", failed, failed > 1 ? "s" : "");
}

int
ch_cmd_start (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  bool all = false;
  int i = parse_names (ctx, argc, argv, ch_opts_start, &(int){ 0 }, &all, err);

  if (i <= 0)
    return i;
  if (all && i < argc)
    return ch_cli_usage_error (ctx, err, "--all takes no chute name");
  {
    cleanup_close int g = -1;
    if (ch_lock_global (ctx, &g, err) < 0)
      return -1;
    ch_reap (ctx);
  }
  if (all)
    return start_all (ctx, err);
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
  if (ch_lock_chute (ctx, name, &lock, err) < 0)
    {
      ch_chute_clear (&c);
      return -1;
    }
  /* recorded first: a reboot during the stop leaves an unless-stopped chute down */
  r = 0;
  if (!c.user_stopped)
    {
      c.user_stopped = true;
      r = ch_chute_save (ctx, &c, err);
    }
  ch_chute_clear (&c);
  if (r == 0)
    r = ch_chute_stop (ctx, name, timeout, err);
  return r < 0 ? ch_error_prefix (err, "stop `%s`", name) : 0;
}

int
ch_cmd_stop (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  int timeout = 10;
  int i = parse_names (ctx, argc, argv, ch_opts_stop, &timeout, &(bool){ false }, err);

  if (i <= 0)
    return i;
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
  int i = parse_names (ctx, argc, argv, ch_opts_stop, &timeout, &(bool){ false }, err);

  if (i <= 0)
    return i;
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
  int i = parse_names (ctx, argc, argv, ch_opts_rm, &(int){ 0 }, &force, err);

  if (i <= 0)
    return i;
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
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_free char *oci = NULL;
  const char *sig = "KILL";
  int o, signo = 0;

  ch_cli_parser_init (&p, ctx, ch_opts_kill);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    sig = p.optarg;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
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
