/* A build step's filesystem: the stage's unpacked layers stacked by overlay
 * under a fresh upper dir (what RUN, COPY and WORKDIR change), and that
 * upper dir turned into a layer: a tar in OCI form (overlay's whiteouts and
 * opaque dirs become .wh. entries), streamed through the store's blob
 * writer, then unpacked into layers/<hex> like a pulled layer. The tar is
 * not compressed: it stays on this host, and gzip would cost more time than
 * the build steps themselves. */
#include "image/dockerfile_int.h"
#include "common/file.h"
#include "common/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int
ch_bmount (struct builder *b, const struct bstage *st, struct bmount *m, ch_error_t *err)
{
  struct ch_buf o = { 0 };
  cleanup_free char *work = NULL, *opts = NULL, *empty = NULL;
  size_t i;

  memset (m, 0, sizeof (*m));
  m->dir = xasprintf ("%s/%u", b->tmp, ++b->seq);
  m->upper = xasprintf ("%s/upper", m->dir);
  m->mnt = xasprintf ("%s/mnt", m->dir);
  work = xasprintf ("%s/work", m->dir);
  if (mkdir (m->dir, 0700) < 0 || mkdir (m->upper, 0755) < 0 || mkdir (work, 0700) < 0 || mkdir (m->mnt, 0755) < 0)
    return ch_error (err, errno, "mkdir in `%s`", m->dir);
  ch_buf_printf (&o, "lowerdir=");
  for (i = st->n_layers; i-- > 0;)
    {
      cleanup_free char *l = ch_store_layer_dir (b->s, st->layers[i].digest);
      ch_buf_printf (&o, "%s%s/fs", i + 1 < st->n_layers ? ":" : "", l);
    }
  if (st->n_layers == 0)
    {
      empty = xasprintf ("%s/empty", m->dir);
      if (mkdir (empty, 0755) < 0)
        return ch_error (err, errno, "mkdir `%s`", empty);
      ch_buf_printf (&o, "%s", empty);
    }
  ch_buf_printf (&o, ",upperdir=%s,workdir=%s", m->upper, work);
  opts = ch_buf_steal (&o);
  /* every change must land whole in the upper dir: no rename redirects nor
   * metadata-only copy-ups pointing into the lower layers; and "volatile"
   * (Linux >= 5.10): the upper dir is read once and removed, so its
   * unmount need not sync the host's disk (~20 ms a step here) */
  {
    cleanup_free char *strict = xasprintf ("%s,redirect_dir=off,metacopy=off,index=off", opts);
    cleanup_free char *vol = xasprintf ("%s,volatile", strict);
    if (mount ("overlay", m->mnt, "overlay", MS_NODEV, vol) == 0
        || mount ("overlay", m->mnt, "overlay", MS_NODEV, strict) == 0)
      {
        m->mounted = true;
        return 0;
      }
  }
  if (mount ("overlay", m->mnt, "overlay", MS_NODEV, opts) < 0)
    return ch_error (err, errno, "mount overlay on `%s` (%zu layers)", m->mnt, st->n_layers);
  m->mounted = true;
  return 0;
}

void
ch_bunmount (struct bmount *m, bool remove)
{
  if (m->mounted)
    umount2 (m->mnt, MNT_DETACH);
  m->mounted = false;
  if (remove && m->dir)
    {
      cleanup_error ch_error_t e = NULL;
      (void) ch_rm_rf (m->dir, &e);
    }
  if (remove)
    {
      free (m->dir);
      free (m->upper);
      free (m->mnt);
      memset (m, 0, sizeof (*m));
    }
}

struct tarw
{
  struct archive *a;
  struct ch_blob_writer *w;
  ch_error_t *err;
  bool failed;
  unsigned entries;
  int *lowers; /* the stage's layer dirs, top first, -1 ended */
  uint64_t limit;
};

static la_ssize_t
tar_write_cb (struct archive *a, void *ud, const void *buf, size_t n)
{
  struct tarw *t = ud;
  /* the layer will not unpack within the limit: stop writing it now */
  if (ch_blob_writer_size (t->w) + n > t->limit)
    {
      ch_image_error (t->err, EFBIG, "the step's changes take more than the disk limit of %llu bytes",
                      (unsigned long long) t->limit);
      t->failed = true;
      archive_set_error (a, EFBIG, "too big");
      return -1;
    }
  if (ch_blob_writer_write (t->w, buf, n, t->err) < 0)
    {
      t->failed = true;
      archive_set_error (a, EIO, "write failed");
      return -1;
    }
  return n;
}

/* Mount points the runtime makes in a rootfs that lacks them: not the step's
 * doing, so not in its layer when it left them empty. */
static const char *const mountpoints[] = { "proc", "sys", "dev", "etc", "etc/hosts", "etc/resolv.conf",
                                           "etc/hostname", NULL };

static bool
in_lower (struct tarw *t, const char *path)
{
  struct stat st;
  for (int i = 0; t->lowers[i] >= 0; i++)
    if (fstatat (t->lowers[i], path, &st, AT_SYMLINK_NOFOLLOW) == 0)
      return !(S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  return false;
}

static bool
is_mountpoint_name (const char *path)
{
  for (size_t i = 0; mountpoints[i]; i++)
    if (strcmp (path, mountpoints[i]) == 0)
      return true;
  return false;
}

/* An untouched runtime mount point: empty, absent below, and (etc) holding nothing else. */
static bool
skip_entry (struct tarw *t, int dfd, const char *name, const char *path, const struct stat *st)
{
  if (!is_mountpoint_name (path) || in_lower (t, path))
    return false;
  if (S_ISREG (st->st_mode))
    return st->st_size == 0;
  if (S_ISDIR (st->st_mode))
    {
      int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
      struct dirent *de;
      bool skip = true;
      if (d == NULL)
        {
          if (fd >= 0)
            close (fd);
          return false;
        }
      while (skip && (de = readdir (d)))
        {
          struct stat cs;
          cleanup_free char *cp = NULL;
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          cp = xasprintf ("%s/%s", path, de->d_name);
          skip = fstatat (dirfd (d), de->d_name, &cs, AT_SYMLINK_NOFOLLOW) == 0
                 && skip_entry (t, dirfd (d), de->d_name, cp, &cs);
        }
      closedir (d);
      return skip;
    }
  return false;
}

static int
put_header (struct tarw *t, struct archive_entry *e, const char *path)
{
  if (archive_write_header (t->a, e) != ARCHIVE_OK)
    return t->failed ? -1 : ch_error (t->err, 0, "tar `%s`: %s", path, archive_error_string (t->a));
  t->entries++;
  return 0;
}

static int
put_whiteout (struct tarw *t, const char *dir, const char *name)
{
  cleanup_free char *p = *dir ? xasprintf ("%s/.wh.%s", dir, name) : xasprintf (".wh.%s", name);
  struct archive_entry *e = archive_entry_new ();
  int r;

  archive_entry_set_pathname (e, p);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0);
  archive_entry_set_size (e, 0);
  r = put_header (t, e, p);
  archive_entry_free (e);
  return r;
}

static int
put_file_data (struct tarw *t, int dfd, const char *name, const char *path)
{
  cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  char buf[65536];
  ssize_t r;

  if (fd < 0)
    return ch_error (t->err, errno, "open `%s`", path);
  while ((r = read (fd, buf, sizeof (buf))) > 0)
    if (archive_write_data (t->a, buf, r) != r)
      return t->failed ? -1 : ch_error (t->err, 0, "tar `%s`: %s", path, archive_error_string (t->a));
  if (r < 0)
    return ch_error (t->err, errno, "read `%s`", path);
  return 0;
}

static int
walk (struct tarw *t, int dfd, const char *prefix)
{
  struct dirent **list = NULL;
  int n, i, ret = 0;

  n = scandirat (dfd, ".", &list, NULL, alphasort);
  if (n < 0)
    return ch_error (t->err, errno, "scandir `%s`", *prefix ? prefix : ".");
  for (i = 0; i < n && ret == 0; i++)
    {
      const char *name = list[i]->d_name;
      cleanup_free char *path = NULL;
      struct archive_entry *e;
      struct stat st;
      char v[2], cap[256];
      ssize_t caplen;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      path = *prefix ? xasprintf ("%s/%s", prefix, name) : xstrdup (name);
      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = ch_error (t->err, errno, "stat `%s`", path);
          break;
        }
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
        {
          ret = put_whiteout (t, prefix, name);
          continue;
        }
      if (skip_entry (t, dfd, name, path, &st))
        continue;
      if ((e = ch_tar_entry (dfd, name, path, &st, t->err)) == NULL)
        {
          ret = -1;
          break;
        }
      if (S_ISREG (st.st_mode))
        {
          cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          caplen = fd >= 0 ? fgetxattr (fd, "security.capability", cap, sizeof (cap)) : -1;
          if (caplen > 0)
            archive_entry_xattr_add_entry (e, "security.capability", cap, caplen);
        }
      if (ret == 0)
        ret = put_header (t, e, path);
      archive_entry_free (e);
      if (ret == 0 && S_ISREG (st.st_mode))
        ret = put_file_data (t, dfd, name, path);
      if (ret == 0 && S_ISDIR (st.st_mode))
        {
          cleanup_close int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            ret = ch_error (t->err, errno, "open `%s`", path);
          else if (fgetxattr (sub, "trusted.overlay.opaque", v, sizeof (v)) == 1 && v[0] == 'y')
            ret = put_whiteout (t, path, ".wh..opq");
          if (ret == 0)
            ret = walk (t, sub, path);
        }
    }
  for (i = 0; i < n; i++)
    free (list[i]);
  free (list);
  return ret;
}

int
ch_build_layer (struct builder *b, const struct bstage *st, struct bmount *m, struct ch_layer *out, bool *empty,
                ch_error_t *err)
{
  struct tarw t = { .err = err, .limit = b->req->disk_limit ? b->req->disk_limit : CH_DEFAULT_DISK_LIMIT };
  cleanup_close int ufd = open (m->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *digest = NULL;
  struct ch_unpack_opts uo = { .limit = b->req->disk_limit };
  uint64_t size;
  size_t i;
  int r = 0;

  memset (out, 0, sizeof (*out));
  *empty = false;
  if (ufd < 0)
    return ch_error (err, errno, "open `%s`", m->upper);
  t.lowers = xzalloc (sizeof (int) * (st->n_layers + 1));
  for (i = 0; i < st->n_layers; i++)
    {
      cleanup_free char *l = ch_store_layer_dir (b->s, st->layers[st->n_layers - 1 - i].digest);
      cleanup_free char *fs = xasprintf ("%s/fs", l);
      t.lowers[i] = open (fs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  t.lowers[i] = -1;
  if (ch_blob_writer_new (b->s, NULL, -1, &t.w, err) < 0)
    {
      r = -1;
      goto out;
    }
  t.a = archive_write_new ();
  archive_write_set_format_pax_restricted (t.a);
  archive_write_set_bytes_in_last_block (t.a, 1);
  if (archive_write_open2 (t.a, &t, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK)
    r = ch_error (err, 0, "tar: %s", archive_error_string (t.a));
  if (r == 0)
    r = walk (&t, ufd, "");
  if (r == 0 && archive_write_close (t.a) != ARCHIVE_OK)
    r = t.failed ? -1 : ch_error (err, 0, "tar: %s", archive_error_string (t.a));
  archive_write_free (t.a);
  if (r == 0 && t.entries == 0)
    *empty = true;
  else if (r == 0 && (size = ch_blob_writer_size (t.w)) > 0 && ch_blob_writer_commit (t.w, &digest, err) == 0)
    {
      out->digest = steal_pointer (&digest);
      out->media_type = xstrdup (CH_MT_OCI_LAYER);
      out->size = (int64_t) size;
      /* the same unpacker, with the same bounds, as a pulled layer */
      if (ch_store_unpack_layer (b->s, out, &uo, &size, err) < 0)
        r = -1;
    }
  else
    r = -1;
out:
  ch_blob_writer_free (t.w);
  for (i = 0; i < st->n_layers; i++)
    if (t.lowers[i] >= 0)
      close (t.lowers[i]);
  free (t.lowers);
  if (r < 0)
    {
      free (out->digest);
      free (out->media_type);
      memset (out, 0, sizeof (*out));
      return ch_error_prefix (err, "layer of step %u", b->step);
    }
  return 0;
}
