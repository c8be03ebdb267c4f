/* CVE-2019-5736: a process that enters a container must not be running the
 * host's chuted binary, or the container could reopen /proc/PID/exe for
 * writing once we exit. We re-exec from a sealed memfd copy (what runc
 * does): the container can only ever reach an immutable anonymous file. */
#include "runtime/runtime.h"
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool
ch_self_is_sealed (void)
{
  cleanup_close int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int seals;

  if (fd < 0)
    return false;
  seals = fcntl (fd, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int
ch_runtime_exec_sealed (const char *path, char **argv, ch_error_t *err)
{
  cleanup_close int exe = -1, mfd = -1;
  extern char **environ;
  struct stat st;
  off_t off = 0;

  exe = open (path, O_RDONLY | O_CLOEXEC);
  if (exe < 0)
    return ch_error (err, errno, "open `%s`", path);
  if (fstat (exe, &st) < 0)
    return ch_error (err, errno, "stat `%s`", path);
  mfd = memfd_create ("chuted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return ch_error (err, errno, "memfd_create");
  while (off < st.st_size)
    {
      ssize_t n = sendfile (mfd, exe, &off, (size_t) (st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return ch_error (err, n < 0 ? errno : EIO, "copy `%s` to a memfd", path);
    }
  if (fcntl (mfd, F_ADD_SEALS, SEALS) < 0)
    return ch_error (err, errno, "seal the memfd");
  syscall (SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  return ch_error (err, errno, "exec `%s` from a sealed memfd", path);
}

int
ch_runtime_reexec_sealed (char **argv, ch_error_t *err)
{
  cleanup_strv char **cmdline = NULL;

  if (ch_self_is_sealed ())
    return 0;
  if (argv == NULL)
    {
      cleanup_free char *buf = NULL;
      size_t len, i;
      if (ch_read_file ("/proc/self/cmdline", &buf, &len, err) < 0)
        return -1;
      cmdline = xzalloc (sizeof (char *));
      for (i = 0; i < len; i += strlen (buf + i) + 1)
        ch_strv_append (&cmdline, buf + i);
      argv = cmdline;
    }
  return ch_runtime_exec_sealed ("/proc/self/exe", argv, err);
}
