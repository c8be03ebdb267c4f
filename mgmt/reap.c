#include "mgmt/reap.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/lifecycle.h"
#include "netns/net.h"
#include "netns/wifi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* A chute whose monitor is gone but whose state says it runs, or whose setup
 * never finished (a killed `chuted run`), holds resources nobody will free.
 * Releasing is idempotent, so a chute that holds nothing costs little. */
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
  if (ch_chute_running (ctx, name, NULL))
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
