#include "mgmt/disk.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int
run_mkfs (const char *img, const char *chute, ch_error_t *err)
{
  static const char *const progs[] = { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "mkfs.ext4" };
  int status;
  pid_t pid = fork ();

  if (pid < 0)
    return ch_error (err, errno, "fork");
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
          dup2 (null, 2);
        }
      /* -m 0: the chute gets every block of its SIZE */
      for (size_t i = 0; i < sizeof (progs) / sizeof (progs[0]); i++)
        execvp (progs[i], (char *[]){ (char *) progs[i], "-q", "-F", "-m", "0", "-E",
                                      "lazy_itable_init=1,lazy_journal_init=1", (char *) img, NULL });
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid mkfs.ext4");
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return ch_error (err, 0, "chute `%s`: --storage-opt size needs mkfs.ext4 (e2fsprogs)", chute);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return ch_error (err, 0, "chute `%s`: mkfs.ext4 `%s` failed", chute, img);
  return 0;
}

/* ROOT/chutes/NAME/disk.img of SIZE bytes, made aside and renamed in. */
static int
make_image (const char *img, const struct ch_chute *c, ch_error_t *err)
{
  cleanup_free char *tmp = xasprintf ("%s.new", img);
  cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0)
    return ch_error (err, errno, "create `%s`", tmp);
  if (ftruncate (fd, (off_t) c->disk) < 0)
    {
      ch_error (err, errno, "size `%s`", tmp);
      goto fail;
    }
  if (run_mkfs (tmp, c->name, err) < 0)
    goto fail;
  if (fsync (fd) < 0 || rename (tmp, img) < 0)
    {
      ch_error (err, errno, "rename into `%s`", img);
      goto fail;
    }
  return 0;

fail:
  unlink (tmp);
  return -1;
}

static int
loop_attach (int imgfd, char **dev, int *loopfd, ch_error_t *err)
{
  cleanup_close int ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);

  if (ctl < 0)
    return ch_error (err, errno, "open /dev/loop-control");
  /* another program may take the free device between the two calls */
  for (int tries = 0; tries < 8; tries++)
    {
      struct loop_config cfg = { .fd = (unsigned) imgfd, .info.lo_flags = LO_FLAGS_AUTOCLEAR };
      int n = ioctl (ctl, LOOP_CTL_GET_FREE), fd, e;
      cleanup_free char *p = NULL;

      if (n < 0)
        return ch_error (err, errno, "no free loop device");
      p = xasprintf ("/dev/loop%d", n);
      fd = open (p, O_RDWR | O_CLOEXEC);
      if (fd < 0)
        return ch_error (err, errno, "open `%s`", p);
      if (ioctl (fd, LOOP_CONFIGURE, &cfg) == 0)
        {
          *dev = ch_steal_pointer (&p);
          *loopfd = fd;
          return 0;
        }
      e = errno;
      close (fd);
      if (e != EBUSY)
        return ch_error (err, e, "configure `%s`", p);
    }
  return ch_error (err, EBUSY, "no free loop device");
}

static bool
is_mounted (const char *dir, const char *mnt)
{
  struct stat a, b;
  return stat (dir, &a) == 0 && stat (mnt, &b) == 0 && a.st_dev != b.st_dev;
}

char *
ch_disk_state_dir (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *img = xasprintf ("%s/disk.img", dir);

  if (access (img, F_OK) == 0)
    return xasprintf ("%s/disk", dir);
  return ch_steal_pointer (&dir);
}

int
ch_disk_mount (const struct ch_ctx *ctx, const struct ch_chute *c, ch_error_t *err)
{
  cleanup_free char *dir = ch_chute_dir (ctx, c->name);
  cleanup_free char *img = xasprintf ("%s/disk.img", dir);
  cleanup_free char *mnt = xasprintf ("%s/disk", dir);
  cleanup_free char *dev = NULL;
  cleanup_close int imgfd = -1;
  cleanup_close int loopfd = -1;

  if (access (img, F_OK) < 0 && make_image (img, c, err) < 0)
    return -1;
  if (mkdir (mnt, 0700) < 0 && errno != EEXIST)
    return ch_error (err, errno, "mkdir `%s`", mnt);
  if (!is_mounted (dir, mnt))
    {
      imgfd = open (img, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
      if (imgfd < 0)
        return ch_error (err, errno, "open `%s`", img);
      if (loop_attach (imgfd, &dev, &loopfd, err) < 0)
        return ch_error_prefix (err, "chute `%s`: disk", c->name);
      /* discard: what the chute deletes is given back to the host */
      if (mount (dev, mnt, "ext4", MS_NOSUID | MS_NODEV, "discard") < 0)
        return ch_error (err, errno, "chute `%s`: mount its disk `%s` on `%s`", c->name, img, mnt);
    }
  return 0;
}

int
ch_disk_unmount (const struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *mnt = xasprintf ("%s/disk", dir);

  if (is_mounted (dir, mnt) && umount2 (mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
    return ch_error (err, errno, "chute `%s`: umount its disk `%s`", name, mnt);
  if (rmdir (mnt) < 0 && errno != ENOENT)
    return ch_error (err, errno, "chute `%s`: rmdir `%s`", name, mnt);
  return 0;
}
