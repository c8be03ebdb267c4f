/* A chute's --rootfs: a host directory the chute's root writes into. A
 * setuid-root program it plants there is a root shell for any host user
 * who can reach it, so a writable rootfs must sit behind a directory other
 * users cannot traverse (as ssh's StrictModes asks of ~/.ssh). */
#include "common/util.h"
#include "mgmt/chute.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Nobody but root can pass through it. */
static bool
closed (const struct stat *st)
{
  return st->st_uid == 0 && (st->st_mode & (S_IXGRP | S_IXOTH)) == 0;
}

/* Nobody but root can replace what lies below it (a sticky /tmp is fine:
 * others cannot rename root's entries there). */
static bool
steady (const struct stat *st)
{
  return st->st_uid == 0 && ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st->st_mode & S_ISVTX));
}

int
ch_rootfs_check (const char *path, bool read_only, ch_error_t *err)
{
  cleanup_free char *copy = xstrdup (path);
  cleanup_close int dfd = -1;
  struct stat st;
  bool barrier = false;
  char *save = NULL, *comp;

  if (path[0] != '/')
    return ch_error (err, 0, "rootfs `%s`: not an absolute path", path);
  dfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fstat (dfd, &st) < 0)
    return ch_error (err, errno, "rootfs `%s`: open `/`", path);
  barrier = closed (&st);
  if (!read_only && !barrier && !steady (&st))
    goto reachable;
  /* one component at a time, never following a symlink: what is checked
   * is what the runtime will bind */
  for (comp = strtok_r (copy, "/", &save); comp; comp = strtok_r (NULL, "/", &save))
    {
      int fd = openat (dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return ch_error (err, errno, "rootfs `%s`", path);
      close (dfd);
      dfd = fd;
      if (fstat (dfd, &st) < 0)
        return ch_error (err, errno, "rootfs `%s`: stat `%s`", path, comp);
      if (S_ISLNK (st.st_mode))
        return ch_error (err, 0, "rootfs `%s`: `%s` is a symbolic link (give the real path)", path, comp);
      if (!S_ISDIR (st.st_mode) && (save == NULL || *save == '\0'))
        return ch_error (err, ENOTDIR, "rootfs `%s`", path);
      if (!S_ISDIR (st.st_mode))
        return ch_error (err, 0, "rootfs `%s`: `%s` is not a directory", path, comp);
      if (barrier || read_only)
        continue;
      if (closed (&st))
        barrier = true;
      else if (!steady (&st))
        goto reachable;
    }
  if (barrier || read_only)
    return 0;
reachable:
  return ch_error (err, 0,
                   "rootfs `%s`: other host users can reach it, so a setuid program the chute writes there would "
                   "make them root: put it under a root-owned directory closed to group and others (chmod 0700), "
                   "or run with --read-only",
                   path);
}
