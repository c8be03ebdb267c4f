/* CVE-2019-5736: a process that enters a container must not be running the
 * host's chuted binary as a file it could reopen for writing (through
 * /proc/PID/exe) once we exit. It runs the binary through a private
 * read-only overlayfs of its directory (what runc 1.2 does): the mount is
 * never attached anywhere, so nothing can remount it writable, and the
 * binary's pages are the page cache's, shared with every other run, not a
 * 1.3 MB copy per start (which a slow CPU, or an emulator translating the
 * code again, pays for). Where overlayfs cannot be had, a sealed memfd copy:
 * the container can only ever reach an immutable anonymous file. */
#include "runtime/runtime.h"
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h> /* ST_RDONLY */
#include <sys/syscall.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool
ch_self_is_sealed (void)
{
  cleanup_close int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct statfs fs;
  int seals;

  if (fd < 0)
    return false;
  seals = fcntl (fd, F_GET_SEALS);
  if (seals >= 0)
    return (seals & SEALS) == SEALS;
  /* an overlayfs without an upper layer, mounted read-only: no path to
   * its file can be opened for writing */
  return fstatfs (fd, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC && (fs.f_flags & ST_RDONLY);
}

/* overlayfs' lowerdir syntax: ':' separates layers, '\\' escapes */
static char *
lower_escape (const char *dir)
{
  char *out = xmalloc (2 * strlen (dir) + 1), *o = out;

  for (; *dir; dir++)
    {
      if (*dir == ':' || *dir == '\\')
        *o++ = '\\';
      *o++ = *dir;
    }
  *o = '\0';
  return out;
}

/* An O_PATH fd of PATH's file through a detached read-only overlayfs of its
 * directory over SPARE_DIR; -1 where the kernel or the layout will not have
 * it (the caller copies instead). The directory is on top, so a file of the
 * same name in SPARE_DIR cannot stand in for the binary. */
static int
open_through_overlay (const char *path, const char *spare_dir)
{
  cleanup_free char *real = realpath (path, NULL), *dir = NULL, *lower = NULL, *spare = NULL;
  cleanup_close int fsfd = -1, mnt = -1;
  const char *base;

  /* kernels before 6.5 join the parameters into one "k=v,k=v" string for
   * overlayfs: a comma in a path would end it (and begin another option) */
  if (real == NULL || spare_dir == NULL || strchr (real, ',') || strchr (spare_dir, ','))
    return -1;
  base = strrchr (real, '/') + 1;
  dir = xstrndup (real, (size_t) (base - real));
  spare = lower_escape (spare_dir);
  {
    cleanup_free char *d = lower_escape (dir);
    lower = xasprintf ("%s:%s", d, spare);
  }
  fsfd = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0 || fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
    return -1;
  /* the layers may sit on different filesystems: no inode number mapping,
   * and no kernel log line about it per start */
  fsconfig (fsfd, FSCONFIG_SET_STRING, "xino", "off", 0);
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  mnt = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  if (mnt < 0)
    return -1;
  return openat (mnt, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int
ch_runtime_exec_sealed (const char *path, char **argv, const char *spare_dir, ch_error_t *err)
{
  cleanup_close int exe = -1, mfd = -1, ovl = -1;
  extern char **environ;
  struct stat st;
  off_t off = 0;

  ovl = open_through_overlay (path, spare_dir);
  if (ovl >= 0)
    {
      syscall (SYS_execveat, ovl, "", argv, environ, AT_EMPTY_PATH);
      return ch_error (err, errno, "exec `%s` through a read-only overlayfs", path);
    }
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
ch_runtime_reexec_sealed (char **argv, const char *spare_dir, ch_error_t *err)
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
  return ch_runtime_exec_sealed ("/proc/self/exe", argv, spare_dir, err);
}
