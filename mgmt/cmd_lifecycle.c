/* start, stop, restart, rm, kill: one chute at a time, under its lock. */
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/attach.h"
#include "mgmt/bundle.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/desired.h"
#include "mgmt/engine.h"
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
  { "attach", 'a', NULL, "attach to the chute's output and input (one chute)" },
  CH_OPT_END,
};

const struct ch_opt ch_opts_stop[] = {
  { "time", 't', "SECONDS", "wait this long after the stop signal before SIGKILL (default: --stop-timeout, else 10)" },
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
             bool *attach, ch_error_t *err)
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
      else if (o == 'a')
        *attach = true;
      else /* -f, --all */
        *flag = true;
    }
  if (o < 0)
    return p.help ? 0 : -1;
  if (optind >= argc && !*flag)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
  return optind;
}

/* With AFD, the monitor waits for our attach client before starting the
 * chute (start -a: no output is missed), connected into *AFD. */
static int
start_one (struct ch_ctx *ctx, const char *name, int *afd, ch_error_t *err)
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
  if (ch_chute_up (ctx, &c, afd != NULL, &up, err) < 0)
    goto out;
  r = ch_chute_wait_started (ctx, &up, &pid, err);
  if (r == 1 && afd)
    {
      r = ch_attach_connect (ctx, name, afd, err);
      if (r == 0)
        r = ch_chute_wait_started (ctx, &up, &pid, err);
    }
  if (up.ready_fd >= 0)
    close (up.ready_fd);
  if (r < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_chute_down (ctx, name, &e2);
    }
out:
  ch_chute_clear (&c);
  return r < 0 ? ch_error_prefix (err, "start `%s`", name) : 0;
}

/* `start --all`, what the boot unit runs: the deployed chutes brought to
 * their desired state (`chuted reconcile`), then every other chute whose
 * policy brings it back (ch_chute_starts_at_boot) and that is not running.
 * One that fails is reported and the others still start. */
static int
start_all (struct ch_ctx *ctx, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  cleanup_free char *deploy = ch_deploy_dir (ctx);
  int failed = 0;

  if (access (deploy, F_OK) == 0)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_engine eng;
      if (ch_engine_open (&eng, ctx, ch_print_change_event, NULL, &e) == 0)
        {
          ch_engine_reconcile (&eng, &e);
          ch_engine_close (&eng);
        }
      if (e)
        {
          ch_error_print (&e, "chuted");
          failed++;
        }
    }
  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (char **n = names; *n; n++)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_desired d;
      struct ch_chute c;
      bool boot;

      /* a deployed chute is the engine's: its desired state says if it
       * runs; so are a pod's services (CHUTE+SERVICE) */
      if (strchr (*n, CH_POD_SEP))
        continue;
      if (ch_desired_load (ctx, *n, &d, &e) != 0)
        {
          ch_desired_clear (&d);
          continue;
        }
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
      if (start_one (ctx, *n, NULL, &e) < 0)
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

/* start -a NAME: started with our client attached from its first byte,
 * then as `chuted attach` (signals proxied, detach keys, the chute's code). */
static int
start_attached (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_close int fd = -1;
  bool detached = false;
  struct ch_chute c;
  int code = -1, r;

  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if (ch_chute_running (ctx, name, NULL))
    return ch_error (err, 0, "start -a: chute `%s` is running already: use chuted attach %s", name, name);
  if (start_one (ctx, name, &fd, err) < 0)
    return -1;
  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return -1;
  {
    struct ch_attach_opts ao = { .stdin_too = c.interactive || c.tty, .tty = c.tty,
                                 .detach_keys = CH_DETACH_KEYS_DEFAULT };
    r = ch_attach_relay (fd, &ao, &code, &detached, err);
  }
  ch_chute_clear (&c);
  if (r < 0)
    return -1;
  return detached || code < 0 ? 0 : code;
}

int
ch_cmd_start (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  bool all = false, attach = false;
  int i = parse_names (ctx, argc, argv, ch_opts_start, &(int){ 0 }, &all, &attach, err);

  if (i <= 0)
    return i;
  if (all && i < argc)
    return ch_cli_usage_error (ctx, err, "--all takes no chute name");
  if (attach && (all || i + 1 != argc))
    return ch_cli_usage_error (ctx, err, "start -a: give one chute's name");
  {
    cleanup_close int g = -1;
    if (ch_lock_global (ctx, &g, err) < 0)
      return -1;
    ch_reap (ctx);
  }
  if (all)
    return start_all (ctx, err);
  if (attach)
    return start_attached (ctx, argv[i], err);
  for (; i < argc; i++)
    {
      if (start_one (ctx, argv[i], NULL, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

/* TIMEOUT < 0: the chute's --stop-timeout, else 10 s. The signal is the
 * one its bundle records (--stop-signal, the image's StopSignal), else SIGTERM. */
static int
stop_one (struct ch_ctx *ctx, const char *name, int timeout, ch_error_t *err)
{
  struct ch_chute c;
  cleanup_close int lock = -1;
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  bool killed = false;
  int r, signo;

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return -1;
  if (ch_lock_chute (ctx, name, &lock, err) < 0)
    {
      ch_chute_clear (&c);
      return -1;
    }
  if (timeout < 0)
    timeout = c.stop_timeout >= 0 ? c.stop_timeout : 10;
  /* recorded first: a reboot during the stop leaves an unless-stopped chute down */
  r = 0;
  if (!c.user_stopped)
    {
      c.user_stopped = true;
      r = ch_chute_save (ctx, &c, err);
    }
  ch_chute_clear (&c);
  signo = ch_bundle_stop_signal (bundle);
  if (r == 0)
    r = ch_chute_stop_with (ctx, name, signo, timeout, &killed, err);
  if (r == 0 && killed && timeout > 0)
    fprintf (stderr, "chute %s did not stop within %d s of SIG%s: killed\n", name, timeout,
             sigabbrev_np (signo) ?: "?");
  return r < 0 ? ch_error_prefix (err, "stop `%s`", name) : 0;
}

int
ch_cmd_stop (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  int timeout = -1;
  int i = parse_names (ctx, argc, argv, ch_opts_stop, &timeout, &(bool){ false }, &(bool){ false }, err);

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
  int timeout = -1;
  int i = parse_names (ctx, argc, argv, ch_opts_stop, &timeout, &(bool){ false }, &(bool){ false }, err);

  if (i <= 0)
    return i;
  for (; i < argc; i++)
    {
      if (stop_one (ctx, argv[i], timeout, err) < 0 || start_one (ctx, argv[i], NULL, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

static bool
missing (struct ch_ctx *ctx, const char *name)
{
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *f = NULL;

  if (ch_chute_name_check (name, &e) < 0)
    return false;
  dir = ch_chute_dir (ctx, name);
  f = xasprintf ("%s/chute.json", dir);
  return access (f, F_OK) < 0;
}

/* As podman (5): every name is tried; a missing one is an error, except
 * under -f, where it is only said; the first real failure is the exit's. */
int
ch_cmd_rm (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  bool force = false;
  int i = parse_names (ctx, argc, argv, ch_opts_rm, &(int){ 0 }, &force, &(bool){ false }, err);
  int ret = 0;

  if (i <= 0)
    return i;
  for (; i < argc; i++)
    {
      struct ch_chute c;
      cleanup_close int lock = -1;
      cleanup_error ch_error_t e = NULL;
      int r;
      ch_chute_init (&c);
      r = ch_chute_load (ctx, argv[i], &c, &e);
      ch_chute_clear (&c);
      if (r < 0 && force && missing (ctx, argv[i]))
        {
          fprintf (stderr, "chuted: no such chute `%s` (ignored: -f)\n", argv[i]);
          continue;
        }
      if (r == 0 && ch_lock_chute (ctx, argv[i], &lock, &e) == 0 && ch_chute_remove (ctx, argv[i], force, &e) == 0)
        {
          printf ("%s\n", argv[i]);
          continue;
        }
      if (ret == 0)
        *err = ch_steal_pointer (&e);
      else
        fprintf (stderr, "chuted: %s\n", e->msg);
      ret = -1;
    }
  return ret;
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
  if (ch_signal_parse (sig, &signo, err) < 0)
    return ch_error_prefix (err, "kill");
  if (!ch_chute_running (ctx, argv[optind], NULL))
    return ch_error (err, 0, "chute `%s` is not running", argv[optind]);
  oci = ch_chute_oci_dir (ctx, argv[optind]);
  return ch_container_kill (oci, signo, false, err);
}

/* attach [--detach-keys K] [--no-stdin] NAME: the foreground client of `run`,
 * on a chute that runs already (one client at a time: the monitor refuses a
 * second, and this one then says the stream ended). */
enum
{
  O_DETACH_KEYS = 257,
  O_NO_STDIN,
};

const struct ch_opt ch_opts_attach[] = {
  { "detach-keys", O_DETACH_KEYS, "KEYS", "keys that detach (default ctrl-p,ctrl-q; \"\": none)" },
  { "no-stdin", O_NO_STDIN, NULL, "do not pass this terminal's input to the chute" },
  CH_OPT_END,
};

int
ch_cmd_attach (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_free char *keys = NULL;
  cleanup_close int fd = -1;
  bool no_stdin = false, detached = false;
  struct ch_chute c;
  int o, code = -1, r;

  ch_cli_parser_init (&p, ctx, ch_opts_attach);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    {
      if (o == O_DETACH_KEYS)
        {
          free (keys);
          keys = NULL;
          if (ch_detach_keys_parse (p.optarg, &keys, err) < 0)
            return -1;
        }
      else if (o == O_NO_STDIN)
        no_stdin = true;
    }
  if (o < 0)
    return ch_cli_done (&p);
  if (optind + 1 != argc)
    return ch_cli_usage_error (ctx, err, "give one chute's name");
  if (ch_chute_name_check (argv[optind], err) < 0)
    return -1;
  ch_chute_init (&c);
  if (ch_chute_load (ctx, argv[optind], &c, err) < 0)
    return -1;
  if (!ch_chute_running (ctx, c.name, NULL))
    {
      ch_chute_clear (&c);
      return ch_error (err, 0, "chute `%s` is not running", argv[optind]);
    }
  r = ch_attach_connect (ctx, c.name, &fd, err);
  if (r == 0)
    {
      struct ch_attach_opts ao = { .stdin_too = (c.interactive || c.tty) && !no_stdin, .tty = c.tty,
                                   .detach_keys = keys ? keys : CH_DETACH_KEYS_DEFAULT };
      r = ch_attach_relay (fd, &ao, &code, &detached, err);
    }
  ch_chute_clear (&c);
  if (r < 0)
    return -1;
  return detached || code < 0 ? 0 : code;
}
