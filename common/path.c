#include "path.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
ch_open_in_root (int rootfd, const char *path, int flags, mode_t mode, ch_error_t *err)
{
  struct open_how how = {
    .flags = (unsigned) flags | O_CLOEXEC,
    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;

  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  do
    fd = syscall (SYS_openat2, rootfd, path, &how, sizeof (how));
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return ch_error (err, errno, "open `/%s` in root", path);
  return fd;
}

int
ch_mkdir_in_root (int rootfd, const char *path, mode_t mode, ch_error_t *err)
{
  cleanup_free char *p = xstrdup (path);
  cleanup_close int cur = -1;
  char *save = NULL, *comp;

  cur = ch_open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0, err);
  if (cur < 0)
    return -1;
  for (comp = strtok_r (p, "/", &save); comp; comp = strtok_r (NULL, "/", &save))
    {
      int next;
      if (strcmp (comp, ".") == 0)
        continue;
      /* Resolve each step from the root again so ".." or a symlink planted
       * between our mkdir and open still cannot leave the root. */
      if (mkdirat (cur, comp, mode) < 0 && errno != EEXIST)
        return ch_error (err, errno, "mkdir `%s` in root", path);
      {
        cleanup_free char *sofar = xstrndup (path, (comp - p) + strlen (comp));
        next = ch_open_in_root (rootfd, sofar, O_PATH | O_DIRECTORY, 0, err);
      }
      if (next < 0)
        return ch_error_prefix (err, "mkdir `%s`", path);
      close (cur);
      cur = next;
    }
  return steal_fd (&cur);
}

int
ch_parent_in_root (int rootfd, const char *path, bool create, mode_t mode, char **name, ch_error_t *err)
{
  cleanup_free char *p = xstrdup (path);
  char *slash;
  size_t n = strlen (p);

  while (n > 1 && p[n - 1] == '/')
    p[--n] = '\0';
  slash = strrchr (p, '/');
  if (*p == '\0' || strcmp (p, "/") == 0)
    return ch_error (err, EINVAL, "path `%s` has no last component", path);
  if (slash == NULL)
    {
      *name = xstrdup (p);
      return ch_open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0, err);
    }
  *slash = '\0';
  if (strcmp (slash + 1, "..") == 0 || strcmp (slash + 1, ".") == 0)
    return ch_error (err, EINVAL, "path `%s` ends in `%s`", path, slash + 1);
  *name = xstrdup (slash + 1);
  if (create)
    return ch_mkdir_in_root (rootfd, *p ? p : "/", mode, err);
  return ch_open_in_root (rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0, err);
}

char *
ch_fd_path (int fd)
{
  return xasprintf ("/proc/self/fd/%d", fd);
}
