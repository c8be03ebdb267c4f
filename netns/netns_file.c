/* Network namespaces kept alive by a bind mount (as `ip netns add`), so
 * they outlive the process that made them and the runtime can join them
 * by path. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int
ch_netns_create (const char *path, ch_error_t *err)
{
  cleanup_free char *dir = xstrdup (path);
  cleanup_close int self = -1;
  cleanup_close int f = -1;
  int r = 0;

  if (ch_mkdir_p (dirname (dir), 0700, err) < 0)
    return -1;
  f = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (f < 0)
    return ch_error (err, errno, "create netns file `%s`", path);
  self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    {
      unlink (path);
      return ch_error (err, errno, "open `/proc/self/ns/net`");
    }
  if (unshare (CLONE_NEWNET) < 0)
    {
      unlink (path);
      return ch_error (err, errno, "unshare network namespace");
    }
  if (mount ("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
    r = ch_error (err, errno, "bind mount netns on `%s`", path);
  if (setns (self, CLONE_NEWNET) < 0)
    return ch_error (err, errno, "setns back to the host netns");
  if (r < 0)
    unlink (path);
  return r;
}

int
ch_netns_remove (const char *path, ch_error_t *err)
{
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return ch_error (err, errno, "unmount netns `%s`", path);
  if (unlink (path) < 0 && errno != ENOENT)
    return ch_error (err, errno, "unlink netns `%s`", path);
  return 0;
}
