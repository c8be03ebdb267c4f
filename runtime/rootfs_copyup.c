/* The `tmpcopyup` mount option (crun, runc): a tmpfs mounted over a
 * directory of the image starts with a copy of what it covers, so
 * `podman run --read-only` keeps the image's /tmp, /run, /var/tmp. */
#include "runtime/init.h"

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int copy_dir (int src, int dst, int depth, ch_error_t *err);

static int
copy_file (int src_dir, int dst_dir, const char *name, const struct stat *st, ch_error_t *err)
{
  cleanup_close int in = openat (src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int out = -1;
  off_t left = st->st_size;

  if (in < 0)
    return ch_error (err, errno, "open `%s`", name);
  out = openat (dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0)
    return ch_error (err, errno, "create `%s`", name);
  while (left > 0)
    {
      ssize_t n = sendfile (out, in, NULL, (size_t) left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? ch_error (err, errno, "copy `%s`", name) : 0; /* shrank meanwhile */
      left -= n;
    }
  if (fchown (out, st->st_uid, st->st_gid) < 0 || fchmod (out, st->st_mode & 07777) < 0)
    return ch_error (err, errno, "set the owner and mode of `%s`", name);
  return 0;
}

static int
copy_entry (int src, int dst, const char *name, int depth, ch_error_t *err)
{
  struct stat st;

  if (fstatat (src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return ch_error (err, errno, "stat `%s`", name);
  switch (st.st_mode & S_IFMT)
    {
    case S_IFDIR:
      {
        cleanup_close int s = -1, d = -1;
        if (mkdirat (dst, name, st.st_mode & 07777) < 0)
          return ch_error (err, errno, "mkdir `%s`", name);
        s = openat (src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = openat (dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
          return ch_error (err, errno, "open `%s`", name);
        if (copy_dir (s, d, depth + 1, err) < 0)
          return ch_error_prefix (err, "%s", name);
        if (fchown (d, st.st_uid, st.st_gid) < 0 || fchmod (d, st.st_mode & 07777) < 0)
          return ch_error (err, errno, "set the owner and mode of `%s`", name);
        return 0;
      }
    case S_IFREG:
      return copy_file (src, dst, name, &st, err);
    case S_IFLNK:
      {
        char target[4096];
        ssize_t n = readlinkat (src, name, target, sizeof (target) - 1);
        if (n < 0)
          return ch_error (err, errno, "readlink `%s`", name);
        target[n] = '\0';
        if (symlinkat (target, dst, name) < 0)
          return ch_error (err, errno, "symlink `%s`", name);
        break;
      }
    default: /* fifo, socket, device node */
      if (mknodat (dst, name, st.st_mode, st.st_rdev) < 0)
        return ch_error (err, errno, "mknod `%s`", name);
      break;
    }
  if (fchownat (dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return ch_error (err, errno, "chown `%s`", name);
  return 0;
}

static int
copy_dir (int src, int dst, int depth, ch_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *e;
  int fd;

  if (depth > 64)
    return ch_error (err, ELOOP, "directories nested too deep");
  fd = dup (src);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return ch_error (err, errno, "read directory");
    }
  while ((e = readdir (d)))
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (copy_entry (src, dst, e->d_name, depth, err) < 0)
        return -1;
    }
  return 0;
}

int
ch_rootfs_copyup (int lower, int upper, ch_error_t *err)
{
  struct stat st;

  if (fstat (lower, &st) < 0)
    return ch_error (err, errno, "stat the covered directory");
  if (copy_dir (lower, upper, 0, err) < 0)
    return ch_error_prefix (err, "tmpcopyup");
  /* the tmpfs root takes the covered directory's owner and mode too */
  if (fchown (upper, st.st_uid, st.st_gid) < 0 || fchmod (upper, st.st_mode & 07777) < 0)
    return ch_error (err, errno, "tmpcopyup: set the owner and mode");
  return 0;
}
