/* An update's stop: the old chute ends and gives up what the next chute of
 * its name needs (container and cgroup, network, Wi-Fi) as a removal does,
 * but its files are moved out of the name's way, one rename per directory,
 * and removed once the new chute runs. Its rootfs unmount waits for an RCU
 * grace period and the removal of its writable layer, bundle and run state
 * is ~20 unlinks, each waiting for the disk's journal behind other writers:
 * 20-60 ms on this host, which an update's outage need not include.
 *
 * The moved directories are the chute's own, renamed within their parents
 * to `.NAME.old`: a name no chute can have (names start with a letter or a
 * digit), so listings, the reaper and the image GC's users pass over them. */
#include "common/file.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/lifecycle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static char *
old_dir (const char *parent, const char *name)
{
  return xasprintf ("%s/.%s.old", parent, name);
}

static int
move_aside (const char *from, const char *to, ch_error_t *err)
{
  if (rename (from, to) < 0 && errno != ENOENT)
    return ch_error (err, errno, "rename `%s` to `%s`", from, to);
  return 0;
}

bool
ch_chute_has_retired (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *chutes = ch_chutes_dir (ctx), *run_chutes = ch_chutes_run_dir (ctx);
  cleanup_free char *state = old_dir (chutes, name), *run = old_dir (run_chutes, name);

  return access (state, F_OK) == 0 || access (run, F_OK) == 0;
}

int
ch_chute_purge_retired (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *chutes = ch_chutes_dir (ctx), *run_chutes = ch_chutes_run_dir (ctx);
  cleanup_free char *state = old_dir (chutes, name), *run = old_dir (run_chutes, name);
  struct ch_snapshot_dirs dirs = { .chute = name, .state_dir = state, .run_dir = run };

  if (!ch_chute_has_retired (ctx, name))
    return 0;
  /* the rootfs was moved still mounted: unmounted before the tree goes */
  if (ch_snapshot_unmount (&dirs, err) < 0 || ch_rm_rf (run, err) < 0 || ch_rm_rf (state, err) < 0)
    return ch_error_prefix (err, "remove the old files of chute `%s`", name);
  return 0;
}

int
ch_chute_retire (struct ch_ctx *ctx, const char *name, int timeout_s, ch_error_t *err)
{
  cleanup_free char *chutes = ch_chutes_dir (ctx), *run_chutes = ch_chutes_run_dir (ctx);
  cleanup_free char *dir = ch_chute_dir (ctx, name), *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *state_old = old_dir (chutes, name), *run_old = old_dir (run_chutes, name);
  struct ch_chute c;
  bool on_disk;

  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, err) < 0)
    return -1;
  on_disk = c.disk_quota;
  ch_chute_clear (&c);
  /* a writable layer on its own disk image (--storage-opt size) cannot be
   * renamed off that filesystem: removed in place, as before */
  if (on_disk)
    return ch_chute_stop (ctx, name, timeout_s, err) < 0 ? -1 : ch_chute_remove (ctx, name, true, err);
  /* what a crash left of an earlier retirement is in the way of this one */
  if (ch_chute_purge_retired (ctx, name, err) < 0)
    return -1;
  if (ch_chute_halt (ctx, name, SIGTERM, timeout_s, NULL, err) < 0 || ch_chute_release (ctx, name, err) < 0)
    return -1;
  /* it unlinks its attach socket by path after saying "exited": gone before
   * its directory moves and the name's next chute makes its own there
   * (bounded: a monitor running an on-exit command waits for our lock) */
  ch_chute_wait_monitor_gone (ctx, name, 2000);
  /* the run state first: the chute is gone once its chute.json is, as in
   * ch_chute_remove; a crash in between leaves files the next start of the
   * name overwrites and a mount it replaces */
  if (move_aside (run_dir, run_old, err) < 0 || move_aside (dir, state_old, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  return 0;
}

/* The chute names with something retired left in DIR (`.NAME.old`), added to *NAMES. */
static void
retired_in (const char *dir, char ***names)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  while (d && (de = readdir (d)))
    {
      size_t n = strlen (de->d_name);
      cleanup_free char *name = NULL;
      cleanup_error ch_error_t e = NULL;
      if (de->d_name[0] != '.' || n < 6 || strcmp (de->d_name + n - 4, ".old") != 0)
        continue;
      name = xstrndup (de->d_name + 1, n - 5);
      if (ch_chute_name_check (name, &e) == 0 && !ch_strv_contains (*names, name))
        ch_strv_append (names, name);
    }
}

void
ch_chute_reap_retired (struct ch_ctx *ctx)
{
  cleanup_free char *chutes = ch_chutes_dir (ctx), *run_chutes = ch_chutes_run_dir (ctx);
  cleanup_strv char **names = xzalloc (sizeof (char *));
  cleanup_error ch_error_t e = NULL;

  retired_in (chutes, &names);
  retired_in (run_chutes, &names);
  /* after a reboot only the state directory is left: the locks' directory anew */
  if (names[0] && ch_mkdir_p (run_chutes, 0700, &e) < 0)
    {
      fprintf (stderr, "chuted: warning: %s\n", e->msg);
      return;
    }
  for (char **n = names; *n; n++)
    {
      cleanup_free char *path = ch_chute_lock_path (ctx, *n), *dir = ch_chute_dir (ctx, *n);
      cleanup_close int lock = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      /* held: a change of the chute is at work and removes them itself */
      if (lock < 0 || flock (lock, LOCK_EX | LOCK_NB) < 0)
        continue;
      if (ch_chute_purge_retired (ctx, *n, &e) < 0)
        fprintf (stderr, "chuted: warning: %s\n", e->msg);
      else if (access (dir, F_OK) < 0)
        unlink (path); /* as ch_chute_remove: no lock file for a chute not there */
      ch_error_release (&e);
    }
}
