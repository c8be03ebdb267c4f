/* Reading and writing cgroup files: one value per write(2), as the kernel
 * parses each write on its own. */
#include "cgroups/internal.h"
#include "common/file.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
cg_write (bool create, const char *dir, const char *file, const char *value, ch_error_t *err)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  cleanup_close int fd = -1;
  size_t len = strlen (value);
  ssize_t w;

  /* never O_CREAT on a real cgroup fs: a missing file means a missing
   * controller, and must read as ENOENT */
  fd = open (p, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
  if (fd < 0)
    return ch_error (err, errno, "open %s", file);
  do
    w = write (fd, value, len);
  while (w < 0 && errno == EINTR);
  if (w < 0)
    return ch_error (err, errno, "write %s=%s", file, value);
  if ((size_t) w != len)
    return ch_error (err, EIO, "write %s=%s (short write)", file, value);
  return 0;
}

int
cg_read_opt (const char *dir, const char *file, char **out, ch_error_t *err)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  cleanup_close int fd = open (p, O_RDONLY | O_CLOEXEC);

  *out = NULL;
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return ch_error (err, errno, "open %s", file);
  if (ch_read_fd (fd, out, NULL, err) < 0)
    return ch_error_prefix (err, "%s", file);
  return 0;
}

bool
ch_cgroup_parse_u64 (const char *text, uint64_t *out)
{
  char *end;

  while (*text == ' ' || *text == '\t')
    text++;
  if (strncmp (text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n'))
    {
      *out = UINT64_MAX;
      return true;
    }
  if (*text < '0' || *text > '9')
    return false;
  errno = 0;
  *out = strtoull (text, &end, 10);
  return errno == 0 && (*end == '\0' || *end == '\n');
}

bool
ch_cgroup_keyed_u64 (const char *text, const char *key, uint64_t *out)
{
  size_t kl = strlen (key);

  for (const char *l = text; l && *l; l = strchr (l, '\n'), l = l ? l + 1 : NULL)
    {
      if (strncmp (l, key, kl) == 0 && l[kl] == ' ')
        {
          char *end;
          errno = 0;
          *out = strtoull (l + kl + 1, &end, 10);
          return errno == 0 && end != l + kl + 1;
        }
    }
  return false;
}

int
cg_read_u64_opt (const char *dir, const char *file, uint64_t *out, ch_error_t *err)
{
  cleanup_free char *s = NULL;

  if (cg_read_opt (dir, file, &s, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (!ch_cgroup_parse_u64 (s, out))
    return ch_error (err, 0, "%s: cannot parse `%.40s`", file, s);
  return 0;
}

int
cg_read_keyed_opt (const char *dir, const char *file, const char *key, uint64_t *out, ch_error_t *err)
{
  cleanup_free char *s = NULL;

  if (cg_read_opt (dir, file, &s, err) < 0)
    return -1;
  if (s && !ch_cgroup_keyed_u64 (s, key, out))
    return ch_error (err, 0, "%s: no `%s` line", file, key);
  return 0;
}

static int
procs_rec (const char *dir, pid_t **pids, size_t *n, ch_error_t *err)
{
  cleanup_free char *s = NULL;
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (cg_read_opt (dir, "cgroup.procs", &s, err) < 0)
    return -1;
  for (char *l = s; l && *l;)
    {
      char *end;
      long v = strtol (l, &end, 10);
      if (end == l)
        break;
      if (v > 0)
        {
          *pids = xrealloc (*pids, (*n + 1) * sizeof (pid_t));
          (*pids)[(*n)++] = (pid_t) v;
        }
      l = *end ? end + 1 : end;
    }
  /* a chute with a writable cgroupns may have made child cgroups */
  d = opendir (dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "opendir");
  while ((de = readdir (d)))
    {
      cleanup_free char *sub = NULL;
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      sub = xasprintf ("%s/%s", dir, de->d_name);
      if (procs_rec (sub, pids, n, err) < 0)
        return -1;
    }
  return 0;
}

int
cg_procs (const char *dir, pid_t **pids, size_t *n, ch_error_t *err)
{
  *pids = NULL;
  *n = 0;
  if (procs_rec (dir, pids, n, err) < 0)
    {
      free (*pids);
      *pids = NULL;
      return -1;
    }
  return 0;
}

int
cg_signal_procs (const char *dir, int sig, size_t *n_signalled, ch_error_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;

  *n_signalled = 0;
  if (cg_procs (dir, &pids, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (kill (pids[i], sig) < 0)
        {
          if (errno == ESRCH)
            continue;
          return ch_error (err, errno, "kill %d", (int) pids[i]);
        }
      (*n_signalled)++;
    }
  return 0;
}

void
cg_sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
rmdir_children (const char *dir, ch_error_t *err)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "opendir");
  while ((de = readdir (d)))
    {
      cleanup_free char *sub = NULL;
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      sub = xasprintf ("%s/%s", dir, de->d_name);
      if (rmdir_children (sub, err) < 0)
        return -1;
      if (rmdir (sub) < 0 && errno != ENOENT)
        return ch_error (err, errno, "rmdir %s", de->d_name);
    }
  return 0;
}

int
cg_rmdir_tree (const char *dir, int timeout_ms, ch_error_t *err)
{
  long long deadline = ch_now_ms () + timeout_ms;
  int delay = 1;

  /* the usual case, a leaf whose tasks are gone: one syscall */
  if (rmdir (dir) == 0 || errno == ENOENT)
    return 0;
  for (;;)
    {
      int e;
      if (rmdir_children (dir, err) < 0)
        {
          if ((*err)->status != EBUSY || ch_now_ms () >= deadline)
            return -1;
          ch_error_release (err);
        }
      else if (rmdir (dir) == 0 || errno == ENOENT)
        return 0;
      else
        {
          e = errno;
          /* EBUSY: tasks that just died are still being released */
          if (e != EBUSY || ch_now_ms () >= deadline)
            return ch_error (err, e, "rmdir");
        }
      cg_sleep_ms (delay);
      if (delay < 50)
        delay *= 2;
    }
}
