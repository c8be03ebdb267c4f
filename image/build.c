/* tools/mkimage: an OCI image archive (a tar of an OCI layout) from
 * directories, reproducibly: entries sorted, every timestamp the same, owner
 * and mode as on disk, gzip without a timestamp. Each directory is one layer,
 * tarred and gzipped in a single pass that hashes both the tar (diff_id) and
 * the gzip stream (blob digest). */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct layer_out
{
  int fd;
  struct ch_hash *diff, *blob;
  uint64_t size;
  z_stream z;
  ch_error_t *err;
  int failed;
};

static int
emit (struct layer_out *o, int flush)
{
  unsigned char buf[65536];
  do
    {
      size_t n;
      o->z.next_out = buf;
      o->z.avail_out = sizeof (buf);
      if (deflate (&o->z, flush) == Z_STREAM_ERROR)
        return ch_error (o->err, 0, "gzip failed");
      n = sizeof (buf) - o->z.avail_out;
      if (n && ch_write_all (o->fd, buf, n, o->err) < 0)
        return -1;
      ch_hash_update (o->blob, buf, n);
      o->size += n;
    }
  while (o->z.avail_out == 0);
  return 0;
}

static la_ssize_t
layer_write_cb (struct archive *a, void *ud, const void *buf, size_t n)
{
  struct layer_out *o = ud;

  ch_hash_update (o->diff, buf, n);
  o->z.next_in = (unsigned char *) buf;
  o->z.avail_in = n;
  if (emit (o, Z_NO_FLUSH) < 0)
    {
      o->failed = 1;
      archive_set_error (a, EIO, "write failed");
      return -1;
    }
  return n;
}

struct archive_entry *
ch_tar_entry (int dfd, const char *name, const char *path, const struct stat *st, ch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_copy_stat (e, st);
  archive_entry_set_pathname (e, path);
  archive_entry_unset_atime (e);
  archive_entry_unset_ctime (e);
  archive_entry_unset_birthtime (e);
  archive_entry_set_nlink (e, 1);
  archive_entry_set_ino (e, 0);
  archive_entry_set_dev (e, 0);
  if (!S_ISREG (st->st_mode))
    archive_entry_set_size (e, 0);
  if (S_ISLNK (st->st_mode))
    {
      cleanup_free char *t = xzalloc (st->st_size + 2);
      if (readlinkat (dfd, name, t, st->st_size + 1) < 0)
        {
          archive_entry_free (e);
          ch_error (err, errno, "readlink `%s`", path);
          return NULL;
        }
      archive_entry_set_symlink (e, t);
    }
  return e;
}

static int
add_tree (struct archive *a, int dfd, const char *prefix, int64_t mtime, ch_error_t *err)
{
  struct dirent **list = NULL;
  int n, i, ret = 0;

  n = scandirat (dfd, ".", &list, NULL, alphasort);
  if (n < 0)
    return ch_error (err, errno, "scandir `%s`", *prefix ? prefix : ".");
  for (i = 0; i < n; i++)
    {
      const char *name = list[i]->d_name;
      cleanup_free char *path = NULL;
      struct archive_entry *e;
      struct stat st;

      if (ret < 0 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      path = *prefix ? xasprintf ("%s/%s", prefix, name) : xstrdup (name);
      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = ch_error (err, errno, "stat `%s`", path);
          continue;
        }
      if ((e = ch_tar_entry (dfd, name, path, &st, err)) == NULL)
        {
          ret = -1;
          continue;
        }
      archive_entry_set_mtime (e, mtime, 0);
      if (archive_write_header (a, e) != ARCHIVE_OK)
        ret = ch_error (err, 0, "tar `%s`: %s", path, archive_error_string (a));
      if (ret == 0 && S_ISREG (st.st_mode))
        {
          cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          char buf[65536];
          ssize_t r;
          if (fd < 0)
            ret = ch_error (err, errno, "open `%s`", path);
          while (ret == 0 && (r = read (fd, buf, sizeof (buf))) > 0)
            if (archive_write_data (a, buf, r) != r)
              ret = ch_error (err, 0, "tar `%s`: %s", path, archive_error_string (a));
        }
      archive_entry_free (e);
      if (ret == 0 && S_ISDIR (st.st_mode))
        {
          cleanup_close int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            ret = ch_error (err, errno, "open `%s`", path);
          else
            ret = add_tree (a, sub, path, mtime, err);
        }
    }
  for (i = 0; i < n; i++)
    free (list[i]);
  free (list);
  return ret;
}

/* Write BLOB (the temp file PATH) under DIR/<hex> once its digest is known. */
static int
place_blob (const char *dir, const char *tmp, const char *digest, ch_error_t *err)
{
  cleanup_free char *final = xasprintf ("%s/%s", dir, digest + 7);
  if (rename (tmp, final) < 0)
    return ch_error (err, errno, "rename `%s`", tmp);
  return 0;
}

int
ch_build_dir_layer (const char *bdir, const char *src, int64_t mtime, json_t *layers, json_t *diff_ids, ch_error_t *err)
{
  cleanup_free char *tmp = xasprintf ("%s/layer.tmp", bdir), *diff = NULL, *dg = NULL;
  cleanup_close int sfd = open (src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct layer_out o = { .err = err };
  struct archive *a;
  int r = 0;

  if (sfd < 0)
    return ch_error (err, errno, "layer directory `%s`", src);
  o.fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (o.fd < 0)
    return ch_error (err, errno, "create `%s`", tmp);
  o.diff = ch_hash_new ();
  o.blob = ch_hash_new ();
  /* 31 = 15 window bits + 16: a gzip wrapper whose header carries mtime 0 */
  if (deflateInit2 (&o.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    abort ();
  a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  archive_write_set_bytes_in_last_block (a, 1);
  if (archive_write_open2 (a, &o, NULL, layer_write_cb, NULL, NULL) != ARCHIVE_OK)
    r = ch_error (err, 0, "tar: %s", archive_error_string (a));
  if (r == 0)
    r = add_tree (a, sfd, "", mtime, err);
  if (r == 0 && archive_write_close (a) != ARCHIVE_OK)
    r = o.failed ? -1 : ch_error (err, 0, "tar: %s", archive_error_string (a));
  archive_write_free (a);
  if (r == 0)
    {
      o.z.avail_in = 0;
      r = emit (&o, Z_FINISH);
    }
  deflateEnd (&o.z);
  close (o.fd);
  diff = ch_hash_final (o.diff);
  dg = ch_hash_final (o.blob);
  ch_hash_free (o.diff);
  ch_hash_free (o.blob);
  if (r < 0 || place_blob (bdir, tmp, dg, err) < 0)
    return ch_error_prefix (err, "layer `%s`", src);
  json_array_append_new (diff_ids, json_string (diff));
  json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", CH_MT_OCI_LAYER_GZ, "digest", dg,
                                            "size", (json_int_t) o.size));
  return 0;
}

/* A tar given as is (uncompressed layer): its bytes are the blob. */
static int
raw_layer (const char *bdir, const char *src, json_t *layers, json_t *diff_ids, ch_error_t *err)
{
  cleanup_free char *buf = NULL, *dg = NULL, *p = NULL;
  size_t len;

  /* the developer's own layer, whatever its size (the default bound is for outside input) */
  if (ch_read_file_max (src, SIZE_MAX, &buf, &len, err) < 0)
    return -1;
  dg = ch_digest_buf (buf, len);
  p = xasprintf ("%s/%s", bdir, dg + 7);
  if (ch_write_file (p, buf, len, 0644, err) < 0)
    return -1;
  json_array_append_new (diff_ids, json_string (dg));
  json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", CH_MT_OCI_LAYER, "digest", dg, "size",
                                            (json_int_t) len));
  return 0;
}

static int
json_blob (const char *bdir, json_t *j, char **digest, size_t *size, ch_error_t *err)
{
  cleanup_free char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS), *p = NULL;
  *size = strlen (s);
  *digest = ch_digest_buf (s, *size);
  p = xasprintf ("%s/%s", bdir, *digest + 7);
  return ch_write_file (p, s, *size, 0644, err);
}

static int
tar_add (struct archive *a, const char *name, int type, const void *data, size_t len, int64_t mtime, int fd,
         ch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  int r = 0;

  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size (e, type == AE_IFDIR ? 0 : (la_int64_t) len);
  archive_entry_set_mtime (e, mtime, 0);
  if (archive_write_header (a, e) != ARCHIVE_OK)
    r = ch_error (err, 0, "tar `%s`: %s", name, archive_error_string (a));
  archive_entry_free (e);
  if (r == 0 && data && archive_write_data (a, data, len) != (la_ssize_t) len)
    r = ch_error (err, 0, "tar `%s`: %s", name, archive_error_string (a));
  if (r == 0 && fd >= 0)
    {
      char buf[65536];
      ssize_t n;
      while (r == 0 && (n = read (fd, buf, sizeof (buf))) > 0)
        if (archive_write_data (a, buf, n) != n)
          r = ch_error (err, 0, "tar `%s`: %s", name, archive_error_string (a));
    }
  return r;
}

static int
write_archive (const char *bdir, const char *out, const char *index, int64_t mtime, ch_error_t *err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  cleanup_free char *tmp = xasprintf ("%s.tmp.%d", out, (int) getpid ());
  struct dirent **list = NULL;
  struct archive *a = archive_write_new ();
  int n, i, r = 0;

  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_filename (a, tmp) != ARCHIVE_OK)
    {
      r = ch_error (err, 0, "create `%s`: %s", tmp, archive_error_string (a));
      archive_write_free (a);
      return r;
    }
  r = tar_add (a, "oci-layout", AE_IFREG, layout, strlen (layout), mtime, -1, err);
  if (r == 0)
    r = tar_add (a, "index.json", AE_IFREG, index, strlen (index), mtime, -1, err);
  if (r == 0)
    r = tar_add (a, "blobs", AE_IFDIR, NULL, 0, mtime, -1, err);
  if (r == 0)
    r = tar_add (a, "blobs/sha256", AE_IFDIR, NULL, 0, mtime, -1, err);
  n = scandir (bdir, &list, NULL, alphasort);
  if (n < 0 && r == 0)
    r = ch_error (err, errno, "scandir `%s`", bdir);
  for (i = 0; i < n; i++)
    {
      if (r == 0 && strlen (list[i]->d_name) == 64)
        {
          cleanup_free char *p = xasprintf ("%s/%s", bdir, list[i]->d_name);
          cleanup_free char *name = xasprintf ("blobs/sha256/%s", list[i]->d_name);
          cleanup_close int fd = open (p, O_RDONLY | O_CLOEXEC);
          struct stat st;
          if (fd < 0 || fstat (fd, &st) < 0)
            r = ch_error (err, errno, "open `%s`", p);
          else
            r = tar_add (a, name, AE_IFREG, NULL, st.st_size, mtime, fd, err);
        }
      free (list[i]);
    }
  free (list);
  if (r == 0 && archive_write_close (a) != ARCHIVE_OK)
    r = ch_error (err, 0, "write `%s`: %s", tmp, archive_error_string (a));
  archive_write_free (a);
  if (r == 0 && rename (tmp, out) < 0)
    r = ch_error (err, errno, "rename `%s` to `%s`", tmp, out);
  if (r < 0)
    unlink (tmp);
  return r;
}

int
ch_build_image (const struct ch_build_opts *opts, ch_error_t *err)
{
  cleanup_free char *bdir = xasprintf ("%s.build-XXXXXX", opts->output), *plat = NULL, *cdg = NULL, *mdg = NULL;
  cleanup_free char *index_s = NULL;
  cleanup_json json_t *config = NULL, *manifest = NULL, *index = NULL;
  json_t *layers = json_array (), *diff_ids = json_array (), *history = json_array ();
  cleanup_free char *created = ch_rfc3339 ((time_t) opts->mtime, -1);
  size_t i, csize, msize;
  const char *arch;
  int r = -1;

  if (mkdtemp (bdir) == NULL)
    {
      json_decref (layers);
      json_decref (diff_ids);
      json_decref (history);
      return ch_error (err, errno, "mkdtemp `%s`", bdir);
    }
  plat = ch_platform_default ();
  arch = opts->arch ? opts->arch : strchr (plat, '/') + 1;
  config = json_pack ("{s:s, s:s, s:s, s:O, s:{s:s, s:o}, s:o}", "created", created, "architecture", arch, "os",
                      "linux", "config", opts->config, "rootfs", "type", "layers", "diff_ids", diff_ids, "history",
                      history);
  manifest = json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", CH_MT_OCI_MANIFEST, "layers", layers);
  for (i = 0; opts->layer_dirs && opts->layer_dirs[i]; i++)
    {
      if (ch_build_dir_layer (bdir, opts->layer_dirs[i], opts->mtime, layers, diff_ids, err) < 0)
        goto out;
      json_array_append_new (history, json_pack ("{s:s, s:s}", "created", created, "created_by", "mkimage"));
    }
  for (i = 0; opts->layer_tars && opts->layer_tars[i]; i++)
    {
      if (raw_layer (bdir, opts->layer_tars[i], layers, diff_ids, err) < 0)
        goto out;
      json_array_append_new (history, json_pack ("{s:s, s:s}", "created", created, "created_by", "mkimage"));
    }
  if (json_blob (bdir, config, &cdg, &csize, err) < 0)
    goto out;
  json_object_set_new (manifest, "config", json_pack ("{s:s, s:s, s:I}", "mediaType", CH_MT_OCI_CONFIG, "digest",
                                                      cdg, "size", (json_int_t) csize));
  if (json_blob (bdir, manifest, &mdg, &msize, err) < 0)
    goto out;
  index = json_pack ("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}]}", "schemaVersion", 2, "mediaType",
                     CH_MT_OCI_INDEX, "manifests", "mediaType", CH_MT_OCI_MANIFEST, "digest", mdg, "size",
                     (json_int_t) msize, "platform", "os", "linux", "architecture", arch);
  if (opts->tag)
    json_object_set_new (json_array_get (json_object_get (index, "manifests"), 0), "annotations",
                         json_pack ("{s:s}", CH_ANN_REF, opts->tag));
  index_s = json_dumps (index, JSON_COMPACT | JSON_SORT_KEYS);
  r = write_archive (bdir, opts->output, index_s, opts->mtime, err);
out:
  {
    cleanup_error ch_error_t e = NULL;
    ch_rm_rf (bdir, &e);
  }
  if (r < 0)
    return ch_error_prefix (err, "mkimage `%s`", opts->output);
  return 0;
}
