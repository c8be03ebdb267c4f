/* images/tmp: partial blobs and unpacks. Each entry's name carries the pid
 * that makes it (KIND-PID-XXXXXX), so the next command to open the store
 * removes what a killed load or pull left (its pid is gone) without touching
 * a concurrent one's work in progress. `image prune`, under the exclusive
 * lock, removes whatever is there. */
#include "internal.h"
#include "common/file.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *
ch_store_tmp_template (struct ch_store *s, const char *kind)
{
  return xasprintf ("%s/%s-%ld-XXXXXX", s->tmp, kind, (long) getpid ());
}

/* Bytes NAME (a file or a whole tree) takes on disk. */
static uint64_t
allocated_at (int dfd, const char *name)
{
  struct stat st;
  uint64_t total;
  DIR *d;
  int fd;
  struct dirent *de;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  total = (uint64_t) st.st_blocks * 512;
  if (!S_ISDIR (st.st_mode))
    return total;
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return total;
    }
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      total += allocated_at (dirfd (d), de->d_name);
  closedir (d);
  return total;
}

/* The pid in KIND-PID-XXXXXX, 0 when the name has none. */
static pid_t
owner_of (const char *name)
{
  const char *dash = strchr (name, '-');
  char *end;
  long pid;

  if (dash == NULL)
    return 0;
  pid = strtol (dash + 1, &end, 10);
  return end != dash + 1 && *end == '-' && pid > 0 && pid <= INT_MAX ? (pid_t) pid : 0;
}

int
ch_store_clean_tmp (struct ch_store *s, bool all, ch_error_t *err)
{
  cleanup_dir DIR *d = opendir (s->tmp);
  struct dirent *de;

  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "opendir `%s`", s->tmp);
  while ((de = readdir (d)))
    {
      pid_t pid;
      uint64_t bytes;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      pid = owner_of (de->d_name);
      /* a live owner (or, without the exclusive lock, a name we can't place) keeps it */
      if (!all && (pid == 0 || pid == getpid () || kill (pid, 0) == 0 || errno != ESRCH))
        continue;
      bytes = allocated_at (dirfd (d), de->d_name);
      if (ch_rm_rf_at (dirfd (d), de->d_name, err) < 0)
        {
          if (all)
            return ch_error_prefix (err, "remove stale `%s/%s`", s->tmp, de->d_name);
          /* another command cleaning the same entry: it is going anyway */
          ch_error_release (err);
          continue;
        }
      s->tmp_removed++;
      s->tmp_bytes += bytes;
    }
  return 0;
}
