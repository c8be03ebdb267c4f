/* The chute operations deploy changes are made of: create+start, start,
 * stop (+remove), and the default health gate (process alive). The same
 * locks and steps as `chuted run|start|stop|rm`. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/lifecycle.h"
#include "mgmt/pod.h"
#include "mgmt/reap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
up_and_wait (struct ch_ctx *ctx, const struct ch_chute *c, ch_error_t *err)
{
  struct ch_up up = { .ready_fd = -1 };
  pid_t pid;
  int r;

  r = ch_chute_up (ctx, c, false, &up, err);
  if (r == 0)
    r = ch_chute_wait_started (ctx, &up, &pid, err);
  if (up.ready_fd >= 0)
    close (up.ready_fd);
  if (r < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_chute_down (ctx, c->name, &e2);
    }
  return r;
}

int
ch_engine_run_chute (struct ch_ctx *ctx, struct ch_chute *c, ch_error_t *err)
{
  cleanup_close int lock = -1;
  int r;

  {
    cleanup_close int g = -1;
    cleanup_free char *f = NULL, *dir = ch_chute_dir (ctx, c->name);
    if (ch_lock_global (ctx, &g, err) < 0)
      return -1;
    ch_reap (ctx);
    f = xasprintf ("%s/chute.json", dir);
    if (access (f, F_OK) == 0)
      return ch_error (err, 0, "a chute named `%s` already exists", c->name);
    free (c->created);
    c->created = ch_rfc3339 (time (NULL), -1);
    if (ch_chute_save (ctx, c, err) < 0)
      {
        cleanup_error ch_error_t e2 = NULL;
        ch_rm_rf (dir, &e2);
        return -1;
      }
  }
  if (ch_lock_chute (ctx, c->name, &lock, err) < 0)
    r = -1;
  else
    r = up_and_wait (ctx, c, err);
  if (r < 0)
    {
      /* a chute that could not start is not kept: nothing half-made */
      cleanup_error ch_error_t e2 = NULL;
      ch_chute_remove (ctx, c->name, true, &e2);
    }
  return r < 0 ? ch_error_prefix (err, "start `%s`", c->name) : 0;
}

static int why_down (struct ch_ctx *ctx, const char *name, const char *what, ch_error_t *err);

/* A chute whose monitor lives but has not said "running": a start that a
 * killed command left to its monitor (it goes on after the go-ahead), or a
 * restart's backoff. Its outcome, not a second start. */
static int
wait_started (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  for (int i = 0; i < 300; i++)
    {
      cleanup_json json_t *st = NULL;
      if (!ch_chute_running (ctx, name, NULL))
        return why_down (ctx, name, "not alive", err);
      st = ch_chute_status (ctx, name);
      if (strcmp (json_string_value (json_object_get (st, "state")) ?: "", "running") == 0)
        return 0;
      usleep (100 * 1000);
    }
  return ch_error (err, 0, "chute `%s`: its monitor reported no start in 30 s", name);
}

int
ch_engine_start_chute (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  struct ch_chute c;
  cleanup_close int lock = -1;
  int r = -1;

  if (ch_pod_is (ctx, name))
    return ch_pod_start (ctx, name, err);
  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0 || ch_lock_chute (ctx, name, &lock, err) < 0)
    goto out;
  if (ch_chute_running (ctx, name, NULL))
    {
      r = wait_started (ctx, name, err);
      goto out;
    }
  c.user_stopped = false;
  c.autoremove = false;
  r = ch_chute_save (ctx, &c, err);
  if (r == 0)
    r = ch_chute_down (ctx, name, err);
  if (r == 0)
    r = up_and_wait (ctx, &c, err);
out:
  ch_chute_clear (&c);
  return r < 0 ? ch_error_prefix (err, "start `%s`", name) : 0;
}

int
ch_engine_stop_chute (struct ch_ctx *ctx, const char *name, bool remove, ch_error_t *err)
{
  struct ch_chute c;
  cleanup_close int lock = -1;
  int r;

  if (ch_pod_is (ctx, name))
    return ch_pod_stop (ctx, name, remove, err);
  ch_chute_init (&c);
  r = ch_chute_load (ctx, name, &c, err);
  if (r == 0)
    r = ch_lock_chute (ctx, name, &lock, err);
  /* recorded first: a reboot during the stop leaves the chute down */
  if (r == 0 && !remove && !c.user_stopped)
    {
      c.user_stopped = true;
      r = ch_chute_save (ctx, &c, err);
    }
  ch_chute_clear (&c);
  if (r == 0)
    r = ch_chute_stop (ctx, name, 10, err);
  if (r == 0 && remove)
    r = ch_chute_remove (ctx, name, true, err);
  return r < 0 ? ch_error_prefix (err, "%s `%s`", remove ? "remove" : "stop", name) : 0;
}

int
ch_engine_retire_chute (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_close int lock = -1;

  if (ch_pod_is (ctx, name))
    return ch_pod_stop (ctx, name, true, err);
  if (ch_lock_chute (ctx, name, &lock, err) < 0 || ch_chute_retire (ctx, name, 10, err) < 0)
    return ch_error_prefix (err, "remove `%s`", name);
  return 0;
}

/* Nothing of the change depends on it: a failure is said and left for the
 * next retirement or removal of the name. Nothing there (a first deploy, a
 * failed start's removal took it): not even the chute's lock file made. */
void
ch_engine_purge_retired (struct ch_ctx *ctx, const char *name)
{
  cleanup_close int lock = -1;
  cleanup_error ch_error_t err = NULL;

  if (!ch_chute_has_retired (ctx, name))
    return;
  if (ch_lock_chute (ctx, name, &lock, &err) < 0 || ch_chute_purge_retired (ctx, name, &err) < 0)
    fprintf (stderr, "chuted: warning: %s\n", err->msg);
}

/* What became of a chute that is no longer running, from its status.json. */
static int
why_down (struct ch_ctx *ctx, const char *name, const char *what, ch_error_t *err)
{
  cleanup_json json_t *st = ch_chute_status (ctx, name);
  json_t *sig = json_object_get (st, "signal"), *code = json_object_get (st, "exit_code");
  const char *msg = json_string_value (json_object_get (st, "error"));

  if (msg)
    return ch_error (err, 0, "%s: %s", what, msg);
  if (json_integer_value (sig) > 0)
    return ch_error (err, 0, "%s: killed by signal %lld", what, (long long) json_integer_value (sig));
  if (code)
    return ch_error (err, 0, "%s: exited with code %lld", what, (long long) json_integer_value (code));
  return ch_error (err, 0, "%s", what);
}

int
ch_engine_check_alive (struct ch_ctx *ctx, const char *name, int64_t restarts, ch_error_t *err)
{
  cleanup_json json_t *st = NULL;

  if (!ch_chute_running (ctx, name, NULL))
    return why_down (ctx, name, "not alive", err);
  st = ch_chute_status (ctx, name);
  if (json_integer_value (json_object_get (st, "restarts")) != restarts
      || strcmp (json_string_value (json_object_get (st, "state")) ?: "", "running") != 0)
    return why_down (ctx, name, "restarted", err);
  return 0;
}

int
ch_engine_wait_alive (struct ch_ctx *ctx, const char *name, uint64_t grace_s, ch_error_t *err)
{
  json_int_t restarts;
  int64_t t0;

  if (ch_pod_is (ctx, name))
    return ch_pod_wait_alive (ctx, name, grace_s, err);
  {
    cleanup_json json_t *st = ch_chute_status (ctx, name);
    restarts = json_integer_value (json_object_get (st, "restarts"));
  }
  t0 = ch_now_ms ();
  for (;;)
    {
      if (ch_engine_check_alive (ctx, name, restarts, err) < 0)
        return -1;
      if ((uint64_t) (ch_now_ms () - t0) >= grace_s * 1000)
        return 0;
      usleep (100 * 1000);
    }
}
