/* /dev on the container's tmpfs: the standard nodes (mknod, or bind from the
 * host's /dev in a user namespace where mknod is refused), config.json's
 * devices, and the usual symlinks. */
#include "runtime/init.h"

#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const struct ch_spec_device std_devices[] = {
  { (char *) "/dev/null", 'c', 1, 3, 0666, 0, 0 },    { (char *) "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
  { (char *) "/dev/full", 'c', 1, 7, 0666, 0, 0 },    { (char *) "/dev/random", 'c', 1, 8, 0666, 0, 0 },
  { (char *) "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { (char *) "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static int
make_device (int rootfd, const struct ch_spec_device *d, bool userns, ch_error_t *err)
{
  cleanup_close int parent = -1;
  cleanup_free char *name = NULL;
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;

  parent = ch_parent_in_root (rootfd, d->path, true, 0755, &name, err);
  if (parent < 0)
    return -1;
  if (userns)
    {
      cleanup_close int fd = -1, tgt = -1;
      cleanup_free char *t = NULL;
      fd = openat (parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 && errno != EEXIST)
        return ch_error (err, errno, "create `%s`", d->path);
      tgt = ch_open_in_root (rootfd, d->path, O_PATH, 0, err);
      if (tgt < 0)
        return -1;
      t = ch_fd_path (tgt);
      if (mount (d->path, t, NULL, MS_BIND, NULL) < 0)
        return ch_error (err, errno, "bind host `%s`", d->path);
      return 0;
    }
  if (mknodat (parent, name, type | (d->mode & 07777), makedev (d->major, d->minor)) < 0 && errno != EEXIST)
    return ch_error (err, errno, "mknod `%s`", d->path);
  if (fchmodat (parent, name, d->mode & 07777, 0) < 0)
    return ch_error (err, errno, "chmod `%s`", d->path);
  if (fchownat (parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return ch_error (err, errno, "chown `%s`", d->path);
  return 0;
}

static int
make_link (int rootfd, const char *target, const char *path, ch_error_t *err)
{
  cleanup_close int parent = -1;
  cleanup_free char *name = NULL;

  parent = ch_parent_in_root (rootfd, path, false, 0, &name, err);
  if (parent < 0)
    return -1;
  if (symlinkat (target, parent, name) < 0 && errno != EEXIST)
    return ch_error (err, errno, "symlink `%s`", path);
  return 0;
}

int
ch_rootfs_devices (const struct ch_spec *s, int rootfd, bool userns, ch_error_t *err)
{
  size_t i;
  mode_t old = umask (0);
  int ret = 0;

  for (i = 0; ret == 0 && i < sizeof (std_devices) / sizeof (std_devices[0]); i++)
    ret = make_device (rootfd, &std_devices[i], userns, err);
  for (i = 0; ret == 0 && i < s->n_devices; i++)
    ret = make_device (rootfd, &s->devices[i], userns, err);
  umask (old);
  if (ret < 0)
    return -1;
  if (make_link (rootfd, "/proc/self/fd", "/dev/fd", err) < 0 || make_link (rootfd, "/proc/self/fd/0", "/dev/stdin", err) < 0
      || make_link (rootfd, "/proc/self/fd/1", "/dev/stdout", err) < 0
      || make_link (rootfd, "/proc/self/fd/2", "/dev/stderr", err) < 0)
    return -1;
  for (i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, "/dev/pts") == 0)
      return make_link (rootfd, "pts/ptmx", "/dev/ptmx", err);
  return 0;
}
