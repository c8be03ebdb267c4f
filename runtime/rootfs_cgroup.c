/* A "cgroup" mount: cgroup2 when the host is v2, else a tmpfs with one
 * mount per hierarchy the init is in (read from /proc/self/cgroup, so with
 * a cgroup namespace each shows the container's own subtree). */
#include "runtime/init.h"

#include "common/file.h"
#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

/* Without a cgroup namespace a hierarchy mounts at its host root: cover it
 * with a bind of the container's own cgroup CGPATH (the mount is read-only
 * when asked, and so is the bind), so the container sees its own limits
 * there, as runc shows them. */
static int
show_own_cgroup (int rootfd, const char *path, const char *cgpath, ch_error_t *err)
{
  cleanup_close int mnt = -1, sub = -1;
  cleanup_free char *src = NULL, *dst = NULL;

  if (strcmp (cgpath, "/") == 0)
    return 0;
  mnt = ch_open_in_root (rootfd, path, O_PATH | O_DIRECTORY, 0, err);
  if (mnt < 0)
    return -1;
  sub = openat (mnt, cgpath + 1, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return ch_error (err, errno, "open cgroup `%s` under `%s`", cgpath, path);
  src = ch_fd_path (sub);
  dst = ch_fd_path (mnt);
  if (mount (src, dst, NULL, MS_BIND, NULL) < 0)
    return ch_error (err, errno, "bind cgroup `%s` on `%s`", cgpath, path);
  return 0;
}

static int
mount_hierarchy (int rootfd, const char *dest, const char *dir, const char *controllers, const char *cgpath,
                 unsigned long flags, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", dest, dir);
  cleanup_free char *target = NULL;
  cleanup_free char *opts = NULL;
  cleanup_close int fd = ch_mkdir_in_root (rootfd, path, 0755, err);

  if (fd < 0)
    return -1;
  target = ch_fd_path (fd);
  if (controllers == NULL)
    {
      if (mount ("cgroup2", target, "cgroup2", flags, NULL) < 0)
        return ch_error (err, errno, "mount cgroup2 on `%s`", path);
      return show_own_cgroup (rootfd, path, cgpath, err);
    }
  opts = ch_has_prefix (controllers, "name=") ? xasprintf ("none,%s", controllers) : xstrdup (controllers);
  if (mount ("cgroup", target, "cgroup", flags, opts) < 0)
    return ch_error (err, errno, "mount cgroup `%s` on `%s`", controllers, path);
  return show_own_cgroup (rootfd, path, cgpath, err);
}

int
ch_rootfs_mount_cgroup (int rootfd, const struct ch_spec_mount *m, bool userns, const struct ch_cgroup_gate *gate,
                        ch_error_t *err)
{
  cleanup_close int fd = ch_mkdir_in_root (rootfd, m->destination, 0755, err);
  cleanup_close int top = -1;
  cleanup_free char *target = NULL, *self = NULL;
  unsigned long flags = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_RDONLY);
  struct statfs sf;
  char *line, *save = NULL;
  size_t len;

  if (fd < 0)
    return -1;
  target = ch_fd_path (fd);
  if (statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
    {
      if (mount ("cgroup2", target, "cgroup2", flags, NULL) == 0)
        return 0;
      /* a user namespace may not mount cgroup2 where the host's cgroup
       * namespace owns the tree (EPERM/EBUSY): bind our own subtree, as crun */
      if (userns && (errno == EPERM || errno == EBUSY) && gate && gate->v2_path)
        {
          cleanup_free char *src = xasprintf ("/sys/fs/cgroup%s", gate->v2_path);
          if (mount (src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
            return ch_error (err, errno, "bind `%s` on `%s`", src, m->destination);
          return 0;
        }
      return ch_error (err, errno, "mount cgroup2 on `%s`", m->destination);
    }
  if (mount ("tmpfs", target, "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
    return ch_error (err, errno, "mount tmpfs on `%s`", m->destination);
  if (ch_read_file ("/proc/self/cgroup", &self, &len, err) < 0)
    return -1;
  for (line = strtok_r (self, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c = strchr (line, ':'), *end;
      if (c == NULL || (end = strchr (c + 1, ':')) == NULL)
        continue;
      *end = '\0';
      c++;
      if (*c == '\0')
        {
          /* hybrid: the v2 tree holds no controllers, but systemd-style tools look for it */
          if (mount_hierarchy (rootfd, m->destination, "unified", NULL, end + 1, flags, err) < 0)
            goto fail;
          continue;
        }
      if (mount_hierarchy (rootfd, m->destination, ch_has_prefix (c, "name=") ? c + 5 : c, c, end + 1, flags, err)
          < 0)
        goto fail;
    }
  top = ch_open_in_root (rootfd, m->destination, O_PATH, 0, err);
  if (top < 0)
    return -1;
  if ((flags & MS_RDONLY) && ch_remount (top, flags, err) < 0)
    return ch_error_prefix (err, "`%s`", m->destination);
  return 0;
fail:
  /* v1 hierarchies cannot be mounted from a user namespace: leave the empty tmpfs */
  if (userns && (*err)->status == EPERM)
    {
      ch_error_release (err);
      return 0;
    }
  return -1;
}
