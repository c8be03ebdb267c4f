/* oci:DIR[:REF]: an OCI image layout on disk, copied blob by blob into the
 * store. Every file is opened only if it is a regular file and read no
 * further than its descriptor declares: a FIFO would block holding the store
 * lock, a symlink to /dev/zero never end. */
#include "import.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open PATH for reading only if it is a regular file: a FIFO would block
 * (holding the store lock), a symlink to /dev/zero never end. */
static int
open_regular (const char *path, ch_error_t *err)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;

  if (fd < 0 && errno == ELOOP)
    return ch_image_error (err, EINVAL, "`%s` is a symlink, not a regular file", path);
  if (fd < 0)
    return ch_error (err, errno, "open `%s`", path);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return ch_image_error (err, EINVAL, "`%s` is not a regular file", path);
    }
  return fd;
}

/* A small JSON document of an OCI layout (index.json), bounded. */
static int
read_small (const char *path, char **buf, size_t *len, ch_error_t *err)
{
  cleanup_close int fd = open_regular (path, err);
  struct stat st;

  if (fd < 0)
    return -1;
  if (fstat (fd, &st) < 0)
    return ch_error (err, errno, "stat `%s`", path);
  if (st.st_size > CH_MAX_JSON_BLOB)
    return ch_image_error (err, EFBIG, "`%s` is larger than %u bytes", path, CH_MAX_JSON_BLOB);
  return ch_read_fd (fd, buf, len, err);
}

/* oci:DIR: copy the blobs an image needs, each verified as it is copied. */
static int
copy_blob_from_dir (struct import *im, const char *dir, const char *digest, int64_t size, ch_error_t *err)
{
  cleanup_free char *p = NULL;
  cleanup_close int fd = -1;
  struct ch_blob_writer *w = NULL;
  char buf[65536];
  ssize_t n = 0;
  int64_t left = size;
  struct stat st;
  int r;

  if (!ch_digest_valid (digest))
    return ch_error (err, 0, "unsupported digest `%s` (want sha256:<64 hex>)", digest);
  if (ch_store_has_blob (im->s, digest, size))
    return 0;
  p = xasprintf ("%s/blobs/sha256/%s", dir, digest + 7);
  if ((fd = open_regular (p, err)) < 0)
    return ch_error_prefix (err, "blob %s", digest);
  if (fstat (fd, &st) < 0)
    return ch_error (err, errno, "stat `%s`", p);
  if (size < 0)
    return ch_error (err, 0, "blob %s: its descriptor declares no size", digest);
  if (st.st_size != size)
    return ch_error (err, 0, "blob %s: `%s` has %lld bytes, its descriptor declares %lld", digest, p,
                     (long long) st.st_size, (long long) size);
  if (ch_import_charge (im, size, err) < 0)
    return ch_error_prefix (err, "blob %s", digest);
  if (ch_blob_writer_new (im->s, digest, size, &w, err) < 0)
    return -1;
  /* never more than declared, whatever the file does meanwhile */
  while (left > 0)
    {
      n = read (fd, buf, left < (int64_t) sizeof (buf) ? (size_t) left : sizeof (buf));
      if (n <= 0)
        break;
      if (ch_blob_writer_write (w, buf, n, err) < 0)
        {
          ch_blob_writer_free (w);
          return -1;
        }
      left -= n;
    }
  if (n < 0)
    {
      ch_blob_writer_free (w);
      return ch_error (err, errno, "read `%s`", p);
    }
  r = ch_blob_writer_commit (w, NULL, err);
  ch_blob_writer_free (w);
  if (r == 0)
    ch_strv_append (&im->added, digest);
  return r;
}

int
ch_import_oci_dir (struct import *im, const char *dir, const char *ref, const char *platform, char **digest,
                char **name_out, ch_error_t *err)
{
  cleanup_free char *ip = xasprintf ("%s/index.json", dir), *buf = NULL, *chosen = NULL, *mbuf = NULL;
  cleanup_json json_t *idx = NULL;
  struct ch_manifest *m = NULL;
  json_t *ms, *e;
  size_t len, mlen, i;
  int r = -1;

  if (read_small (ip, &buf, &len, err) < 0 || ch_json_load_buf (ip, buf, len, &idx, err) < 0)
    return -1;
  ms = json_object_get (idx, "manifests");
  if (!json_is_array (ms))
    return ch_error (err, 0, "`%s`: no manifests array", ip);
  /* the manifest (or index) blobs first, so platform selection can read them */
  json_array_foreach (ms, i, e)
  {
    const char *d = json_string_value (json_object_get (e, "digest"));
    const char *rn = json_string_value (json_object_get (json_object_get (e, "annotations"), CH_ANN_REF));
    json_t *sz = json_object_get (e, "size");
    if ((ref == NULL || (rn && strcmp (rn, ref) == 0))
        && copy_blob_from_dir (im, dir, d ? d : "", json_is_integer (sz) ? json_integer_value (sz) : -1, err) < 0)
      return -1;
  }
  if (ch_import_select_from_index (im, buf, len, ref, platform, &chosen, name_out, err) < 0)
    {
      /* an index entry: its platform manifests are in DIR, not yet in the store */
      cleanup_free char *ib = NULL, *imt = NULL, *d = NULL, *pl = NULL;
      size_t il;
      int64_t sz;
      json_t *pick = NULL;
      if ((*err)->status != ENOENT)
        return -1;
      ch_error_release (err);
      json_array_foreach (ms, i, e)
      {
        const char *rn = json_string_value (json_object_get (json_object_get (e, "annotations"), CH_ANN_REF));
        if (ref == NULL || (rn && strcmp (rn, ref) == 0))
          pick = e;
      }
      if (pick == NULL || ch_store_read_blob (im->s, json_string_value (json_object_get (pick, "digest")), &ib, &il, err) < 0)
        return ch_image_error (err, ENOENT, "`%s`: no image `%s`", dir, ref ? ref : "");
      if (ch_manifest_kind (ib, il, &imt, err) < 0 || !ch_mt_is_index (imt))
        return ch_image_error (err, ENOENT, "`%s`: no usable manifest", dir);
      pl = platform ? xstrdup (platform) : ch_platform_default ();
      if (ch_index_select (ib, il, pl, &d, &sz, &imt, err) < 0 || copy_blob_from_dir (im, dir, d, sz, err) < 0)
        return -1;
      chosen = steal_pointer (&d);
      {
        const char *rn = json_string_value (json_object_get (json_object_get (pick, "annotations"), CH_ANN_REF));
        *name_out = rn ? xstrdup (rn) : NULL;
      }
    }
  if (ch_store_read_blob (im->s, chosen, &mbuf, &mlen, err) < 0 || ch_manifest_parse (mbuf, mlen, &m, err) < 0)
    return -1;
  if (copy_blob_from_dir (im, dir, m->config_digest, m->config_size, err) < 0)
    goto out;
  for (i = 0; i < m->n_layers; i++)
    if (copy_blob_from_dir (im, dir, m->layers[i].digest, m->layers[i].size, err) < 0)
      goto out;
  *digest = steal_pointer (&chosen);
  r = 0;
out:
  ch_manifest_free (m);
  return r;
}
