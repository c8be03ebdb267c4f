/* The container's mount namespace: bind the rootfs, mount config.json's
 * mounts with every target resolved inside the rootfs and mounted through
 * /proc/self/fd/N (CVE-2021-30465), pivot_root, then masked/readonly paths. */
#include "runtime/init.h"

#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int
ch_remount (int fd, unsigned long flags, ch_error_t *err)
{
  cleanup_free char *p = ch_fd_path (fd);
  struct statvfs sv;

  /* In a user namespace the flags of a mount we did not make are locked:
   * a remount that drops them fails, so carry them over. */
  if (fstatvfs (fd, &sv) == 0)
    {
      if (sv.f_flag & ST_NOSUID)
        flags |= MS_NOSUID;
      if (sv.f_flag & ST_NODEV)
        flags |= MS_NODEV;
      if (sv.f_flag & ST_NOEXEC)
        flags |= MS_NOEXEC;
      if (sv.f_flag & ST_RDONLY)
        flags |= MS_RDONLY;
      if (sv.f_flag & ST_NOATIME)
        flags |= MS_NOATIME;
      if (sv.f_flag & ST_NODIRATIME)
        flags |= MS_NODIRATIME;
      if (sv.f_flag & ST_RELATIME)
        flags |= MS_RELATIME;
    }
  if (mount (NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return ch_error (err, errno, "remount");
  return 0;
}

/* Create the mount point DEST in the rootfs as a directory or (for a file
 * bind source) an empty file; returns an O_PATH fd of it. */
static int
make_target (int rootfd, const char *dest, bool is_dir, ch_error_t *err)
{
  cleanup_close int parent = -1;
  cleanup_free char *name = NULL;
  int fd;

  if (is_dir)
    return ch_mkdir_in_root_follow (rootfd, dest, 0755, err);
  {
    cleanup_free char *dir = xstrdup (dest);
    char *slash = strrchr (dir, '/');
    name = xstrdup (slash + 1);
    *slash = '\0';
    if (*name == '\0' || strcmp (name, "..") == 0 || strcmp (name, ".") == 0)
      return ch_error (err, EINVAL, "mount destination `%s`", dest);
    parent = ch_mkdir_in_root_follow (rootfd, *dir ? dir : "/", 0755, err);
  }
  if (parent < 0)
    return -1;
  fd = openat (parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd >= 0)
    close (fd);
  else if (errno != EEXIST && errno != ELOOP && errno != EISDIR && errno != ETXTBSY)
    return ch_error (err, errno, "create mount point `%s`", dest);
  fd = openat (parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "open mount point `%s`", dest);
  {
    struct stat st;
    if (fstat (fd, &st) < 0 || S_ISLNK (st.st_mode))
      {
        close (fd);
        return ch_error (err, ELOOP, "mount point `%s` is a symlink", dest);
      }
  }
  return fd;
}

static int
mount_one (int rootfd, const struct ch_spec_mount *m, bool userns, struct ch_cgroup_gate *gate, ch_error_t *err)
{
  cleanup_close int fd = -1, top = -1, lower = -1;
  cleanup_free char *target = NULL;
  const char *source = m->source, *type = m->type;
  unsigned long flags = m->flags & ~(MS_BIND | MS_REC);
  bool bind = m->bind, is_dir = true;
  unsigned long bind_flags = m->flags & (MS_BIND | MS_REC);

  if (strcmp (type, "cgroup") == 0 || strcmp (type, "cgroup2") == 0)
    {
      if (ch_cgroup_gate_pass (gate, err) < 0)
        return -1;
      return ch_rootfs_mount_cgroup (rootfd, m, userns, gate, err);
    }
  if (strcmp (type, "sysfs") == 0 && userns)
    {
      /* sysfs needs the netns's owner; a joined netns is not ours */
      bind = true;
      source = "/sys";
      bind_flags = MS_BIND | MS_REC;
    }
  if (bind)
    {
      struct stat st;
      if (stat (source, &st) < 0)
        return ch_error (err, errno, "bind source `%s`", source);
      is_dir = S_ISDIR (st.st_mode);
    }
  fd = make_target (rootfd, m->destination, is_dir, err);
  if (fd < 0)
    return -1;
  target = ch_fd_path (fd);
  if (bind)
    {
      if (mount (source, target, NULL, bind_flags, NULL) < 0)
        return ch_error (err, errno, "bind `%s` on `%s`", source, m->destination);
    }
  else
    {
      if (m->tmpcopyup && strcmp (type, "tmpfs") == 0)
        {
          lower = open (target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (lower < 0)
            return ch_error (err, errno, "open `%s` for tmpcopyup", m->destination);
        }
      /* a read-only copyup tmpfs is filled first, then made read-only */
      if (mount (source, target, type, lower >= 0 ? flags & ~MS_RDONLY : flags, m->data) < 0)
        return ch_error (err, errno, "mount %s on `%s`", type, m->destination);
    }
  /* the fd is the covered directory: reopen to reach the new mount */
  top = ch_open_in_root (rootfd, m->destination, lower >= 0 ? O_RDONLY | O_DIRECTORY : O_PATH, 0, err);
  if (top < 0)
    return -1;
  if (lower >= 0 && ch_rootfs_copyup (lower, top, err) < 0)
    return ch_error_prefix (err, "`%s`", m->destination);
  if (lower >= 0 && (flags & MS_RDONLY) && ch_remount (top, flags & ~MS_REMOUNT, err) < 0)
    return ch_error_prefix (err, "`%s`", m->destination);
  if (bind && (flags & ~MS_REMOUNT) && ch_remount (top, flags & ~MS_REMOUNT, err) < 0)
    return ch_error_prefix (err, "`%s`", m->destination);
  if (m->propagation)
    {
      cleanup_free char *p = ch_fd_path (top);
      if (mount (NULL, p, NULL, m->propagation, NULL) < 0)
        return ch_error (err, errno, "set propagation of `%s`", m->destination);
    }
  return 0;
}

static bool
has_mount (const struct ch_spec *s, const char *dest)
{
  size_t i;
  for (i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, dest) == 0)
      return true;
  return false;
}

/* pivot_root refuses a shared new root, a shared parent of it and a
 * shared "/": with a propagation that leaves them shared (shared, or a
 * non-recursive one that keeps the host's sharing below "/"), make the
 * mount holding the rootfs and "/" private first, so nothing we mount
 * propagates back to the host either. */
static int
private_parents (const struct ch_spec *s, ch_error_t *err)
{
  cleanup_free char *dir = xstrdup (s->root_path);
  char *sl;

  if (s->rootfs_propagation == (MS_SLAVE | MS_REC) || s->rootfs_propagation == (MS_PRIVATE | MS_REC))
    return 0;
  for (;;)
    {
      /* EINVAL: not a mount point; the first one up is the parent mount */
      if (mount (NULL, *dir ? dir : "/", NULL, MS_PRIVATE, NULL) == 0)
        break;
      if (errno != EINVAL || *dir == '\0')
        return ch_error (err, errno, "make the mount of `%s` private", *dir ? dir : "/");
      sl = strrchr (dir, '/');
      *sl = '\0';
    }
  if (mount (NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
    return ch_error (err, errno, "make / private");
  return 0;
}

int
ch_rootfs_prepare (const struct ch_spec *s, bool userns, struct ch_cgroup_gate *gate, ch_error_t *err)
{
  cleanup_close int rootfd = -1;
  size_t i;

  bool host = ch_spec_host_mounts (s);

  /* the host's "/" keeps its propagation */
  if (!host && mount (NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
    return ch_error (err, errno, "set the propagation of /");
  if (!host && private_parents (s, err) < 0)
    return -1;
  if (mount (s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return ch_error (err, errno, "bind rootfs `%s`", s->root_path);
  /* in the host's namespace, our mounts must not propagate to its peers */
  if ((host || (s->rootfs_propagation & (MS_SHARED | MS_UNBINDABLE)))
      && mount (NULL, s->root_path, NULL, MS_PRIVATE, NULL) < 0)
    return ch_error (err, errno, "make rootfs `%s` private", s->root_path);
  rootfd = open (s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ch_error (err, errno, "open rootfs `%s`", s->root_path);
  for (i = 0; i < s->n_mounts; i++)
    if (mount_one (rootfd, &s->mounts[i], userns, gate, err) < 0)
      return ch_error_prefix (err, "mounts[%zu]", i);
  if (has_mount (s, "/dev") && ch_rootfs_devices (s, rootfd, userns, err) < 0)
    return -1;
  if (fchdir (rootfd) < 0)
    return ch_error (err, errno, "chdir to rootfs");
  return 0;
}

/* From the rootfs (our cwd after ch_rootfs_prepare) to "/". */
int
ch_rootfs_pivot (const struct ch_spec *s, ch_error_t *err)
{
  if (ch_spec_host_mounts (s))
    {
      if (chroot (".") < 0 || chdir ("/") < 0)
        return ch_error (err, errno, "chroot to `%s`", s->root_path);
      return 0;
    }
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it
   * leaves only the rootfs without needing a directory for the old root. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return ch_error (err, errno, "pivot_root");
  /* the old root's unmount must not reach the host's peers */
  if ((s->rootfs_propagation & MS_SHARED) && mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return ch_error (err, errno, "make the old root a slave");
  if (umount2 (".", MNT_DETACH) < 0)
    return ch_error (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return ch_error (err, errno, "chdir /");
  return 0;
}

static int
mask_path (int rootfd, const char *path, ch_error_t *err)
{
  cleanup_close int fd = ch_open_in_root (rootfd, path, O_PATH, 0, err);
  cleanup_free char *p = NULL;
  struct stat st;

  if (fd < 0)
    {
      if ((*err)->status == ENOENT)
        {
          ch_error_release (err);
          return 0;
        }
      return -1;
    }
  if (fstat (fd, &st) < 0)
    return ch_error (err, errno, "stat `%s`", path);
  p = ch_fd_path (fd);
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
        return ch_error (err, errno, "mask `%s`", path);
    }
  else if (mount ("/dev/null", p, NULL, MS_BIND, NULL) < 0)
    return ch_error (err, errno, "mask `%s`", path);
  return 0;
}

static int
readonly_path (int rootfd, const char *path, ch_error_t *err)
{
  cleanup_close int fd = ch_open_in_root (rootfd, path, O_PATH, 0, err);
  cleanup_close int top = -1;
  cleanup_free char *p = NULL;

  if (fd < 0)
    {
      if ((*err)->status == ENOENT)
        {
          ch_error_release (err);
          return 0;
        }
      return -1;
    }
  p = ch_fd_path (fd);
  if (mount (p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
    return ch_error (err, errno, "bind `%s`", path);
  top = ch_open_in_root (rootfd, path, O_PATH, 0, err);
  if (top < 0)
    return -1;
  if (ch_remount (top, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
    return ch_error_prefix (err, "readonly `%s`", path);
  return 0;
}

/* After pivot_root: "/" is the rootfs. */
int
ch_rootfs_finish (const struct ch_spec *s, bool userns, ch_error_t *err)
{
  cleanup_close int rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  size_t i;

  if (rootfd < 0)
    return ch_error (err, errno, "open /");
  for (i = 0; s->masked_paths && s->masked_paths[i]; i++)
    if (mask_path (rootfd, s->masked_paths[i], err) < 0)
      return -1;
  for (i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
    if (readonly_path (rootfd, s->readonly_paths[i], err) < 0)
      return -1;
  if (s->root_readonly)
    {
      if (ch_remount (rootfd, MS_RDONLY, err) < 0)
        return ch_error_prefix (err, "readonly root");
    }
  /* last: the rootfs gets the asked propagation (private for pivot_root,
   * and an unbindable one would refuse the masks' binds) */
  if (s->rootfs_propagation != (MS_SLAVE | MS_REC) && mount (NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
    return ch_error (err, errno, "set the propagation of the rootfs");
  return 0;
}
