#include "file.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
ch_read_fd_max (int fd, size_t max, char **out, size_t *len, ch_error_t *err)
{
  struct ch_buf b = { 0 };
  char chunk[8192];

  for (;;)
    {
      ssize_t r = read (fd, chunk, sizeof (chunk));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          free (b.data);
          return ch_error (err, errno, "read");
        }
      if (r == 0)
        break;
      if ((size_t) r > max - b.len)
        {
          free (b.data);
          return ch_error (err, EFBIG, "more than %zu bytes", max);
        }
      ch_buf_append (&b, chunk, r);
    }
  if (len)
    *len = b.len;
  *out = ch_buf_steal (&b);
  return 0;
}

int
ch_read_fd (int fd, char **out, size_t *len, ch_error_t *err)
{
  return ch_read_fd_max (fd, SIZE_MAX, out, len, err);
}

int
ch_read_file_at_max (int dirfd, const char *path, size_t max, char **out, size_t *len, ch_error_t *err)
{
  /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
   * below); it changes nothing for a regular file */
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;

  if (fd < 0)
    return ch_error (err, errno, "open `%s`", path);
  if (fstat (fd, &st) < 0)
    return ch_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return ch_error (err, EINVAL, "`%s` is not a regular file", path);
  if ((uint64_t) st.st_size > max)
    return ch_error (err, EFBIG, "`%s` is larger than %zu bytes", path, max);
  if (ch_read_fd_max (fd, max, out, len, err) < 0)
    return ch_error_prefix (err, "`%s`", path);
  return 0;
}

int
ch_read_file_max (const char *path, size_t max, char **out, size_t *len, ch_error_t *err)
{
  return ch_read_file_at_max (AT_FDCWD, path, max, out, len, err);
}

int
ch_read_file_at (int dirfd, const char *path, char **out, size_t *len, ch_error_t *err)
{
  return ch_read_file_at_max (dirfd, path, CH_FILE_MAX_DEFAULT, out, len, err);
}

int
ch_read_file (const char *path, char **out, size_t *len, ch_error_t *err)
{
  return ch_read_file_at_max (AT_FDCWD, path, CH_FILE_MAX_DEFAULT, out, len, err);
}

int
ch_install_fds (const int *fds, int n)
{
  int tmp[16];

  if (n > 16)
    return errno = EINVAL, -1;
  /* first above every target, so that no dup2 overwrites a source still to
   * be moved, and so that none is its own target (dup2 would then keep
   * FD_CLOEXEC) */
  for (int i = 0; i < n; i++)
    if ((tmp[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, n)) < 0)
      return -1;
  for (int i = 0; i < n; i++)
    if (dup2 (tmp[i], i) < 0)
      return -1;
  for (int i = 0; i < n; i++)
    close (tmp[i]);
  return 0;
}

int
ch_write_all (int fd, const void *data, size_t len, ch_error_t *err)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return ch_error (err, errno, "write");
      p += w;
      len -= w;
    }
  return 0;
}

int
ch_write_file_at (int dirfd, const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err)
{
  cleanup_close int fd = openat (dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

  if (fd < 0)
    return ch_error (err, errno, "open `%s` for writing", path);
  if (ch_write_all (fd, data, len, err) < 0)
    return ch_error_prefix (err, "`%s`", path);
  return 0;
}

int
ch_write_file (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err)
{
  return ch_write_file_at (AT_FDCWD, path, data, len, mode, err);
}

int
ch_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err)
{
  cleanup_free char *tmp = xasprintf ("%s.tmp.%d", path, (int) getpid ());

  if (ch_write_file (tmp, data, len, mode, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return ch_error (err, e, "rename `%s`", path);
    }
  return 0;
}

int
ch_write_file_durable (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err)
{
  cleanup_free char *tmp = xasprintf ("%s.tmp.%d", path, (int) getpid ());
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  int fd, dfd, e;

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return ch_error (err, errno, "open `%s` for writing", tmp);
  if (ch_write_all (fd, data, len, err) < 0 || (fsync (fd) < 0 && ch_error (err, errno, "fsync") < 0))
    {
      close (fd);
      unlink (tmp);
      return ch_error_prefix (err, "`%s`", tmp);
    }
  close (fd);
  if (rename (tmp, path) < 0)
    {
      e = errno;
      unlink (tmp);
      return ch_error (err, e, "rename `%s`", path);
    }
  /* the rename itself is only on disk once the directory is */
  if (slash == dir)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  dfd = open (slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return ch_error (err, errno, "open directory of `%s`", path);
  e = fsync (dfd) < 0 ? errno : 0;
  close (dfd);
  return e ? ch_error (err, e, "fsync directory of `%s`", path) : 0;
}

/* Most directories asked for exist already: try the whole path first and
 * walk up only on ENOENT (a mkdir that fails with EEXIST still costs a
 * lookup on the disk's filesystem; a chute start asks for ~60). */
static int
mkdir_up (char *p, mode_t mode)
{
  char *s;
  int r;

  if (mkdir (p, mode) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT || (s = strrchr (p, '/')) == NULL || s == p)
    return -1;
  *s = '\0';
  r = mkdir_up (p, mode);
  *s = '/';
  if (r < 0)
    return -1;
  return mkdir (p, mode) == 0 || errno == EEXIST ? 0 : -1;
}

int
ch_mkdir_p (const char *path, mode_t mode, ch_error_t *err)
{
  cleanup_free char *p = xstrdup (path);

  if (mkdir_up (p, mode) < 0)
    return ch_error (err, errno, "mkdir `%s`", path);
  return 0;
}

static int
rm_rf_children (int dfd, dev_t dev, const char *what, ch_error_t *err)
{
  cleanup_dir DIR *d = fdopendir (dfd);
  struct dirent *de;

  if (d == NULL)
    {
      int e = errno;
      close (dfd);
      return ch_error (err, e, "opendir `%s`", what);
    }
  while ((de = readdir (d)))
    {
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return ch_error (err, errno, "stat `%s/%s`", what, de->d_name);
        }
      if (S_ISDIR (st.st_mode))
        {
          int cfd;
          if (st.st_dev != dev)
            return ch_error (err, EBUSY, "remove `%s/%s`: a mount is still there", what, de->d_name);
          cfd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd < 0)
            return ch_error (err, errno, "open `%s/%s`", what, de->d_name);
          if (rm_rf_children (cfd, dev, what, err) < 0)
            return -1;
          if (unlinkat (dirfd (d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return ch_error (err, errno, "rmdir `%s/%s`", what, de->d_name);
        }
      else if (unlinkat (dirfd (d), de->d_name, 0) < 0 && errno != ENOENT)
        return ch_error (err, errno, "unlink `%s/%s`", what, de->d_name);
    }
  return 0;
}

int
ch_rm_rf_at (int dirfd, const char *name, ch_error_t *err)
{
  struct stat st;
  int fd;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : ch_error (err, errno, "stat `%s`", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
        return ch_error (err, errno, "unlink `%s`", name);
      return 0;
    }
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "open `%s`", name);
  if (rm_rf_children (fd, st.st_dev, name, err) < 0)
    return -1;
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return ch_error (err, errno, "rmdir `%s`", name);
  return 0;
}

int
ch_rm_rf (const char *path, ch_error_t *err)
{
  return ch_rm_rf_at (AT_FDCWD, path, err);
}

int
ch_lock_file (const char *path, bool exclusive, int *fd, ch_error_t *err)
{
  int f = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (f < 0)
    return ch_error (err, errno, "open lock `%s`", path);
  while (flock (f, exclusive ? LOCK_EX : LOCK_SH) < 0)
    {
      if (errno == EINTR)
        continue;
      int e = errno;
      close (f);
      return ch_error (err, e, "lock `%s`", path);
    }
  *fd = f;
  return 0;
}

int
ch_self_dir (char **out, ch_error_t *err)
{
  char buf[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", buf, sizeof (buf) - 1);

  if (n < 0)
    return ch_error (err, errno, "readlink /proc/self/exe");
  buf[n] = '\0';
  *out = xstrdup (dirname (buf));
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
ch_list_marked (const char *dir, const char *marker, int (*name_ok) (const char *name, ch_error_t *err),
                char ***names, ch_error_t *err)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;
  char **v;

  if (d == NULL && errno != ENOENT)
    return ch_error (err, errno, "open `%s`", dir);
  v = xzalloc (sizeof (char *));
  while (d && (de = readdir (d)))
    {
      cleanup_free char *f = xasprintf ("%s/%s/%s", dir, de->d_name, marker);
      cleanup_error ch_error_t e = NULL;
      if (name_ok (de->d_name, &e) == 0 && access (f, F_OK) == 0)
        ch_strv_append (&v, de->d_name);
    }
  qsort (v, ch_strv_len (v), sizeof (char *), cmp_str);
  *names = v;
  return 0;
}
