/* A chute's root filesystem: the image's unpacked layers (shared, read-only)
 * stacked by overlayfs under a per-chute upper dir, or, where overlay is not
 * available, a private copy with the whiteouts applied. Layout, below the
 * chute's directories mgmt/ hands down (struct ch_snapshot_dirs):
 *   STATE_DIR/overlay/{upper,work}   overlay's writable part
 *   STATE_DIR/overlay/copy           the copy fallback
 *   STATE_DIR/overlay/mount.json     what is mounted (gc keeps its layers)
 *   RUN_DIR/rootfs                   the mount point handed to the runtime */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int
copy_meta (int sfd, int dfd, const struct stat *st)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  char cap[256];
  ssize_t n;

  if (fchown (dfd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
    return -1;
  if (fchmod (dfd, st->st_mode & 07777) < 0)
    return -1;
  n = fgetxattr (sfd, "security.capability", cap, sizeof (cap));
  if (n > 0)
    (void) fsetxattr (dfd, "security.capability", cap, n, 0);
  (void) futimens (dfd, ts);
  return 0;
}

static int
copy_file (int sdir, int ddir, const char *name, const struct stat *st, ch_error_t *err)
{
  cleanup_close int s = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int d = -1;
  off_t left = st->st_size;

  if (s < 0)
    return ch_error (err, errno, "open `%s`", name);
  d = openat (ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (d < 0)
    return ch_error (err, errno, "create `%s`", name);
  while (left > 0)
    {
      ssize_t n = copy_file_range (s, NULL, d, NULL, left, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL))
        {
          char buf[65536];
          n = read (s, buf, sizeof (buf));
          if (n > 0 && ch_write_all (d, buf, n, err) < 0)
            return -1;
        }
      if (n < 0)
        return ch_error (err, errno, "copy `%s`", name);
      if (n == 0)
        break;
      left -= n;
    }
  if (copy_meta (s, d, st) < 0)
    return ch_error (err, errno, "chown/chmod `%s`", name);
  return 0;
}

/* Apply one unpacked layer onto DSTFD: overlay whiteouts delete, opaque dirs
 * replace, everything else is copied over. Only fds, never paths, so a
 * symlink in the destination is replaced, never followed. */
int
ch_snapshot_copy_layer (int srcfd, int dstfd, ch_error_t *err)
{
  int dfd = dup (srcfd);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (dfd < 0 || (d = fdopendir (dfd)) == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return ch_error (err, errno, "opendir");
    }
  rewinddir (d);
  while ((de = readdir (d)))
    {
      const char *n = de->d_name;
      struct stat st, dst;
      bool have;

      if (strcmp (n, ".") == 0 || strcmp (n, "..") == 0)
        continue;
      if (fstatat (srcfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ch_error (err, errno, "stat `%s`", n);
      have = fstatat (dstfd, n, &dst, AT_SYMLINK_NOFOLLOW) == 0;
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
        {
          if (have && ch_rm_rf_at (dstfd, n, err) < 0)
            return -1;
          continue;
        }
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int s = openat (srcfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          cleanup_close int t = -1;
          char v[2];
          if (s < 0)
            return ch_error (err, errno, "open `%s`", n);
          if (have && (!S_ISDIR (dst.st_mode) || (fgetxattr (s, "trusted.overlay.opaque", v, 2) == 1 && v[0] == 'y')))
            {
              if (ch_rm_rf_at (dstfd, n, err) < 0)
                return -1;
              have = false;
            }
          if (!have && mkdirat (dstfd, n, 0700) < 0)
            return ch_error (err, errno, "mkdir `%s`", n);
          t = openat (dstfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (t < 0)
            return ch_error (err, errno, "open `%s`", n);
          if (ch_snapshot_copy_layer (s, t, err) < 0)
            return ch_error_prefix (err, "%s", n);
          if (copy_meta (s, t, &st) < 0)
            return ch_error (err, errno, "chown/chmod `%s`", n);
          continue;
        }
      if (have && ch_rm_rf_at (dstfd, n, err) < 0)
        return -1;
      if (S_ISREG (st.st_mode))
        {
          if (copy_file (srcfd, dstfd, n, &st, err) < 0)
            return -1;
        }
      else if (S_ISLNK (st.st_mode))
        {
          cleanup_free char *target = xzalloc (st.st_size + 2);
          ssize_t l = readlinkat (srcfd, n, target, st.st_size + 1);
          if (l < 0 || symlinkat (target, dstfd, n) < 0)
            return ch_error (err, errno, "symlink `%s`", n);
          (void) fchownat (dstfd, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        }
      else if (mknodat (dstfd, n, st.st_mode, st.st_rdev) < 0)
        return ch_error (err, errno, "mknod `%s`", n);
    }
  return 0;
}

static int
mount_overlay (struct ch_store *s, struct ch_image *img, const char *cdir, const char *mnt, unsigned long flags,
               bool volatile_upper, ch_error_t *err)
{
  struct ch_buf o = { 0 };
  cleanup_free char *opts = NULL, *upper = xasprintf ("%s/upper", cdir), *work = xasprintf ("%s/work", cdir);
  cleanup_free char *empty = NULL;
  size_t i;

  if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0)
    return ch_error (err, errno, "mkdir `%s/{upper,work}`", cdir);
  ch_buf_printf (&o, "lowerdir=");
  for (i = img->manifest->n_layers; i-- > 0;)
    {
      cleanup_free char *l = ch_store_layer_dir (s, img->manifest->layers[i].digest);
      ch_buf_printf (&o, "%s%s/fs", i + 1 < img->manifest->n_layers ? ":" : "", l);
    }
  if (img->manifest->n_layers == 0)
    {
      /* overlay wants a lower layer even for an empty image */
      empty = xasprintf ("%s/empty", cdir);
      if (mkdir (empty, 0755) < 0)
        return ch_error (err, errno, "mkdir `%s`", empty);
      ch_buf_printf (&o, "%s", empty);
    }
  ch_buf_printf (&o, ",upperdir=%s,workdir=%s", upper, work);
  opts = ch_buf_steal (&o);
  if (strlen (opts) > 4000)
    return ch_image_error (err, E2BIG, "overlay options too long (%zu layers)", img->manifest->n_layers);
  /* volatile: no sync of the upper dir's filesystem when the chute writes
   * or when the overlay goes (a full syncfs of the host's disk, ~20 ms
   * here); a crash loses the upper dir, which a removed-on-exit chute
   * (podman's --rm does the same) does not keep anyway. Kernels before 5.10
   * do not know the option. */
  if (volatile_upper)
    {
      cleanup_free char *vopts = xasprintf ("%s,volatile", opts);
      if (mount ("overlay", mnt, "overlay", flags, vopts) == 0)
        return 0;
      if (errno != EINVAL)
        return ch_error (err, errno, "mount overlay on `%s`", mnt);
    }
  if (mount ("overlay", mnt, "overlay", flags, opts) < 0)
    return ch_error (err, errno, "mount overlay on `%s`", mnt);
  return 0;
}

static int
mount_copy (struct ch_store *s, struct ch_image *img, const char *cdir, const char *mnt, unsigned long flags,
            ch_error_t *err)
{
  cleanup_free char *copy = xasprintf ("%s/copy", cdir);
  cleanup_close int dfd = -1;
  size_t i;

  if (mkdir (copy, 0755) < 0 || (dfd = open (copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return ch_error (err, errno, "mkdir `%s`", copy);
  for (i = 0; i < img->manifest->n_layers; i++)
    {
      cleanup_free char *l = ch_store_layer_dir (s, img->manifest->layers[i].digest);
      cleanup_free char *fs = xasprintf ("%s/fs", l);
      cleanup_close int sfd = open (fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sfd < 0)
        return ch_error (err, errno, "open `%s`", fs);
      if (ch_snapshot_copy_layer (sfd, dfd, err) < 0)
        return ch_error_prefix (err, "copy layer %s", img->manifest->layers[i].digest);
    }
  if (mount (copy, mnt, NULL, MS_BIND, NULL) < 0)
    return ch_error (err, errno, "bind `%s` on `%s`", copy, mnt);
  if (mount (NULL, mnt, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
    {
      int e = errno;
      umount2 (mnt, MNT_DETACH);
      return ch_error (err, e, "remount `%s`", mnt);
    }
  return 0;
}

/* mgmt/ checked the name; this only refuses what would land elsewhere */
static int
paths (const struct ch_snapshot_dirs *d, char **cdir, char **mnt, ch_error_t *err)
{
  if (d->state_dir == NULL || d->run_dir == NULL || d->state_dir[0] != '/' || d->run_dir[0] != '/'
      || strstr (d->state_dir, "/../") || strstr (d->run_dir, "/../"))
    return ch_error (err, 0, "chute `%s`: invalid state directories", d->chute);
  *cdir = xasprintf ("%s/overlay", d->state_dir);
  *mnt = xasprintf ("%s/rootfs", d->run_dir);
  return 0;
}

int
ch_snapshot_mount (struct ch_store *s, const struct ch_snapshot_dirs *d, struct ch_image *img,
                   const struct ch_mount_opts *opts, char **rootfs_out, ch_error_t *err)
{
  const char *name = d->chute;
  cleanup_free char *cdir = NULL, *mnt = NULL, *mj = NULL;
  cleanup_json json_t *info = NULL;
  unsigned long flags = opts->allow_suid ? MS_NODEV : MS_NOSUID | MS_NODEV;
  const char *mode = "overlay";
  json_t *layers;
  size_t i;
  bool mounted = false;

  if (paths (d, &cdir, &mnt, err) < 0)
    return -1;
  mj = xasprintf ("%s/mount.json", cdir);
  if (access (mj, F_OK) == 0)
    return ch_image_error (err, EEXIST, "chute `%s` already has a root filesystem (unmount it first)", name);
  if (ch_store_image_size (s, img, opts->disk_limit ? opts->disk_limit : CH_DEFAULT_DISK_LIMIT, NULL, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  /* a crash between mkdir and mount.json leaves a dir without mount.json: start over */
  {
    cleanup_error ch_error_t e = NULL;
    umount2 (mnt, MNT_DETACH);
    if (ch_rm_rf (cdir, &e) < 0)
      return ch_error (err, e->status, "chute `%s`: stale `%s`: %s", name, cdir, e->msg);
  }
  if (ch_mkdir_p (cdir, 0700, err) < 0 || ch_mkdir_p (mnt, 0755, err) < 0)
    goto fail;
  if (!opts->force_copy)
    {
      cleanup_error ch_error_t e = NULL;
      if (mount_overlay (s, img, cdir, mnt, flags, opts->volatile_upper, &e) == 0)
        mounted = true;
      else if (e->status != ENODEV && e->status != EINVAL && e->status != EPERM && e->status != E2BIG
               && e->status != EOPNOTSUPP)
        {
          *err = steal_pointer (&e);
          goto fail;
        }
    }
  if (!mounted)
    {
      mode = "copy";
      if (mount_copy (s, img, cdir, mnt, flags, err) < 0)
        goto fail;
      mounted = true;
    }
  layers = json_array ();
  for (i = 0; i < img->manifest->n_layers; i++)
    json_array_append_new (layers, json_string (img->manifest->layers[i].digest));
  info = json_pack ("{s:s, s:s, s:s, s:o}", "manifest", img->manifest_digest, "rootfs", mnt, "mode", mode, "layers",
                    layers);
  if (ch_json_save_file (mj, info, 0644, err) < 0)
    goto fail;
  *rootfs_out = steal_pointer (&mnt);
  return 0;
fail:
  {
    cleanup_error ch_error_t e = NULL;
    if (mounted)
      umount2 (mnt, MNT_DETACH);
    rmdir (mnt);
    ch_rm_rf (cdir, &e);
  }
  return ch_error_prefix (err, "chute `%s`", name);
}

int
ch_snapshot_unmount (const struct ch_snapshot_dirs *d, ch_error_t *err)
{
  cleanup_free char *cdir = NULL, *mnt = NULL;
  const char *name = d->chute;

  if (paths (d, &cdir, &mnt, err) < 0)
    return -1;
  /* lazy: a plain umount of an overlay waits ~12 ms here for an RCU grace
   * period, a quarter of a `chuted run --rm`; the chute is stopped by now */
  if (umount2 (mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
    return ch_error (err, errno, "chute `%s`: umount `%s`", name, mnt);
  if (rmdir (mnt) < 0 && errno != ENOENT)
    return ch_error (err, errno, "chute `%s`: rmdir `%s`", name, mnt);
  if (ch_rm_rf (cdir, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  /* the chute's dirs are mgmt's; only remove them if we made them empty */
  (void) rmdir (d->state_dir);
  (void) rmdir (d->run_dir);
  return 0;
}
