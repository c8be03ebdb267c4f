#include "mgmt/reap.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/lifecycle.h"
#include "netns/net.h"
#include "netns/wifi.h"
#include "runtime/monitor.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define MONITOR_DIED "the monitor died; the chute was killed"

/* Record in status.json (the dead monitor's file) how the chute ended. */
static void
record_monitor_death (struct ch_ctx *ctx, const char *name, json_t *st, const char *reason)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_STATUS);
  cleanup_error ch_error_t err = NULL;
  char now[CH_RFC3339_LEN];

  ch_rfc3339_fmt (now, sizeof (now), time (NULL), -1);
  json_object_set_new (st, "state", json_string ("exited"));
  json_object_set_new (st, "pid", json_integer (0));
  json_object_set_new (st, "finished_at", json_string (now));
  json_object_set_new (st, "exit_code", json_integer (128 + SIGKILL));
  json_object_set_new (st, "signal", json_integer (SIGKILL));
  json_object_set_new (st, "oom_killed", json_false ());
  json_object_set_new (st, "reason", json_string (reason));
  if (ch_json_save_file (path, st, 0600, &err) < 0)
    fprintf (stderr, "chuted: warning: chute `%s`: %s\n", name, err->msg);
}

/* The chute's monitor died (kill -9, OOM) while the chute ran: its init is
 * now init(1)'s child, its output pipes are gone with the monitor, and no
 * process can become its parent again to learn its exit. So the chute is
 * killed and released like a stopped one, status.json says so, and its
 * restart policy decides (a monitor's death counts as a failure). */
static void
monitor_died (struct ch_ctx *ctx, const char *name, json_t *st)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *flag = xasprintf ("%s/%s", run_dir, CH_MON_STOPPING);
  cleanup_error ch_error_t err = NULL;
  int restarts = (int) json_integer_value (json_object_get (st, "restarts"));
  bool stopping = access (flag, F_OK) == 0, restart = false;
  struct ch_chute c;

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, &err) == 0 && !stopping)
    restart = c.restart == CH_RESTART_ALWAYS || c.restart == CH_RESTART_UNLESS_STOPPED
              || (c.restart == CH_RESTART_ON_FAILURE && (c.restart_max == 0 || restarts < c.restart_max));
  ch_error_release (&err);
  if (ch_chute_stop (ctx, name, 0, &err) < 0)
    {
      fprintf (stderr, "chuted: warning: cleaning up chute `%s` after its monitor died: %s\n", name, err->msg);
      restart = false;
    }
  ch_error_release (&err);
  record_monitor_death (ctx, name, st, restart ? MONITOR_DIED " and restarted" : MONITOR_DIED);
  if (restart)
    {
      struct ch_up up = { .ready_fd = -1, .restarts = restarts + 1, .reason = MONITOR_DIED " and restarted" };
      pid_t pid;
      c.autoremove = false;
      if (ch_chute_up (ctx, &c, false, &up, &err) < 0 || ch_chute_wait_started (ctx, &up, &pid, &err) < 0)
        fprintf (stderr, "chuted: warning: restarting chute `%s` after its monitor died: %s\n", name, err->msg);
      if (up.ready_fd >= 0)
        close (up.ready_fd);
    }
  else if (c.autoremove && ch_chute_remove (ctx, name, true, &err) < 0)
    fprintf (stderr, "chuted: warning: removing chute `%s`: %s\n", name, err->msg);
  ch_chute_clear (&c);
}

/* A chute whose monitor is gone but whose state says it runs, or whose setup
 * never finished (a killed `chuted run`), holds resources nobody will free.
 * Releasing is idempotent, so a chute that holds nothing costs little. A
 * `chuted run` still at work holds the chute's lock; a live monitor holds
 * monitor.lock from before it exists as a process until it is gone. */
static void
reap_one (struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *lockpath = ch_chute_lock_path (ctx, name);
  cleanup_json json_t *st = NULL;
  cleanup_close int lock = -1;
  cleanup_error ch_error_t err = NULL;
  const char *state;

  lock = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  /* someone is working on it right now: not ours to judge */
  if (lock < 0 || flock (lock, LOCK_EX | LOCK_NB) < 0)
    return;
  if (ch_chute_monitor_alive (ctx, name))
    return;
  st = ch_chute_status (ctx, name);
  state = json_string_value (json_object_get (st, "state"));
  if (state && strcmp (state, "exited") == 0)
    {
      struct ch_chute c;
      bool rm;
      /* ended by itself: keeps its resources until stop/rm, by design,
       * unless it is a --rm chute whose `chuted run` died before removing it */
      ch_chute_init (&c);
      rm = ch_chute_load (ctx, name, &c, &err) == 0 && c.autoremove;
      ch_chute_clear (&c);
      ch_error_release (&err);
      if (rm && ch_chute_remove (ctx, name, true, &err) < 0)
        fprintf (stderr, "chuted: warning: removing chute `%s`: %s\n", name, err->msg);
      return;
    }
  if (state)
    {
      monitor_died (ctx, name, st);
      return;
    }
  /* never started, or its start was cut short: a `created` chute again */
  if (ch_chute_stop (ctx, name, 0, &err) < 0)
    fprintf (stderr, "chuted: warning: cleaning up chute `%s`: %s\n", name, err->msg);
}

void
ch_reap (struct ch_ctx *ctx)
{
  cleanup_strv char **names = NULL;
  cleanup_error ch_error_t err = NULL;

  if (ch_chute_list (ctx, &names, &err) == 0)
    for (size_t i = 0; names[i]; i++)
      reap_one (ctx, names[i]);
  ch_error_release (&err);
  if (ch_net_reap (ctx->root, ctx->run_root, ch_chute_alive, ctx, &err) < 0)
    fprintf (stderr, "chuted: warning: network cleanup: %s\n", err->msg);
  ch_error_release (&err);
  if (ch_wifi_reap (ctx->root, ctx->run_root, ch_chute_alive, ctx, &err) < 0)
    fprintf (stderr, "chuted: warning: Wi-Fi cleanup: %s\n", err->msg);
}

int
ch_reap_locked (struct ch_ctx *ctx, ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_free char *chutes = ch_chutes_dir (ctx);
  cleanup_free char *run_chutes = ch_chutes_run_dir (ctx);

  /* a root no chute was ever made in has nothing to reap: leave it untouched
   * (a dry run or `help` must not create state) */
  if (access (chutes, F_OK) < 0 && access (run_chutes, F_OK) < 0)
    return 0;
  if (ch_lock_global (ctx, &lock, err) < 0)
    return -1;
  ch_reap (ctx);
  /* not in ch_reap: `chuted run` need not look for what only a killed
   * update leaves (reconcile, the daemon's start and `reap` do) */
  ch_chute_reap_retired (ctx);
  return 0;
}
