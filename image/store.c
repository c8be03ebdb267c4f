/* The OCI image layout under <root>/images/oci: blobs written through a
 * temp file and renamed only once their digest and size check out, and
 * index.json replaced atomically under its own lock. */
#include "image.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ch_blob_writer
{
  struct ch_store *s;
  int fd;
  char *tmp_path;
  char *expect_digest;
  int64_t expect_size;
  uint64_t size;
  struct ch_hash *hash;
};

int
ch_store_open (const char *root, bool exclusive, struct ch_store **out, ch_error_t *err)
{
  struct ch_store *s = xzalloc (sizeof (*s));
  cleanup_free char *blobs = NULL, *layout = NULL, *index = NULL, *lock = NULL;

  s->lock_fd = -1;
  s->dir = xasprintf ("%s/images", root);
  s->oci = xasprintf ("%s/oci", s->dir);
  s->tmp = xasprintf ("%s/tmp", s->dir);
  s->layers = xasprintf ("%s/layers", s->dir);
  blobs = xasprintf ("%s/blobs/sha256", s->oci);
  layout = xasprintf ("%s/oci-layout", s->oci);
  index = xasprintf ("%s/index.json", s->oci);
  lock = xasprintf ("%s/lock", s->dir);
  if (ch_mkdir_p (blobs, 0755, err) < 0 || ch_mkdir_p (s->tmp, 0700, err) < 0 || ch_mkdir_p (s->layers, 0755, err) < 0)
    goto fail;
  if (ch_lock_file (lock, exclusive, &s->lock_fd, err) < 0)
    goto fail;
  if (access (layout, F_OK) < 0)
    {
      static const char l[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";
      if (ch_write_file_atomic (layout, l, sizeof (l) - 1, 0644, err) < 0)
        goto fail;
    }
  if (access (index, F_OK) < 0)
    {
      static const char i[] = "{\"schemaVersion\":2,\"mediaType\":\"" CH_MT_OCI_INDEX "\",\"manifests\":[]}\n";
      if (ch_write_file_atomic (index, i, sizeof (i) - 1, 0644, err) < 0)
        goto fail;
    }
  *out = s;
  return 0;
fail:
  ch_store_free (s);
  return ch_error_prefix (err, "image store `%s/images`", root);
}

void
ch_store_free (struct ch_store *s)
{
  if (s == NULL)
    return;
  if (s->lock_fd >= 0)
    close (s->lock_fd);
  free (s->dir);
  free (s->oci);
  free (s->tmp);
  free (s->layers);
  free (s);
}

char *
ch_store_blob_path (struct ch_store *s, const char *digest)
{
  return xasprintf ("%s/blobs/sha256/%s", s->oci, digest + 7);
}

bool
ch_store_has_blob (struct ch_store *s, const char *digest, int64_t size)
{
  cleanup_free char *p = NULL;
  struct stat st;

  if (!ch_digest_valid (digest))
    return false;
  p = ch_store_blob_path (s, digest);
  if (lstat (p, &st) < 0 || !S_ISREG (st.st_mode))
    return false;
  return size < 0 || st.st_size == size;
}

int
ch_store_read_blob (struct ch_store *s, const char *digest, char **buf, size_t *len, ch_error_t *err)
{
  cleanup_free char *p = NULL, *data = NULL, *got = NULL;
  cleanup_close int fd = -1;
  struct stat st;

  if (!ch_digest_valid (digest))
    return ch_error (err, 0, "invalid digest `%s` (want sha256:<64 hex>)", digest);
  p = ch_store_blob_path (s, digest);
  fd = open (p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return ch_error (err, errno, "blob %s", digest);
  if (fstat (fd, &st) < 0)
    return ch_error (err, errno, "stat blob %s", digest);
  if (st.st_size > CH_MAX_JSON_BLOB)
    return ch_error (err, 0, "blob %s: %lld bytes, more than a manifest or config may be", digest,
                     (long long) st.st_size);
  if (ch_read_fd (fd, &data, len, err) < 0)
    return ch_error_prefix (err, "blob %s", digest);
  got = ch_digest_buf (data, *len);
  if (strcmp (got, digest) != 0)
    return ch_error (err, 0, "blob %s: digest mismatch (content is %s)", digest, got);
  *buf = steal_pointer (&data);
  return 0;
}

int
ch_blob_writer_new (struct ch_store *s, const char *expect_digest, int64_t expect_size, struct ch_blob_writer **out,
                    ch_error_t *err)
{
  struct ch_blob_writer *w;

  if (expect_digest && !ch_digest_valid (expect_digest))
    return ch_error (err, 0, "invalid digest `%s` (want sha256:<64 hex>)", expect_digest);
  w = xzalloc (sizeof (*w));
  w->s = s;
  w->tmp_path = xasprintf ("%s/blob-XXXXXX", s->tmp);
  w->fd = mkostemp (w->tmp_path, O_CLOEXEC);
  if (w->fd < 0)
    {
      int e = errno;
      free (w->tmp_path);
      free (w);
      return ch_error (err, e, "create temp blob in `%s`", s->tmp);
    }
  w->expect_digest = expect_digest ? xstrdup (expect_digest) : NULL;
  w->expect_size = expect_size;
  w->hash = ch_hash_new ();
  *out = w;
  return 0;
}

int
ch_blob_writer_write (struct ch_blob_writer *w, const void *data, size_t len, ch_error_t *err)
{
  if (w->expect_size >= 0 && w->size + len > (uint64_t) w->expect_size)
    return ch_error (err, 0, "blob %s: more than the %lld bytes declared", w->expect_digest ? w->expect_digest : "",
                     (long long) w->expect_size);
  if (ch_write_all (w->fd, data, len, err) < 0)
    return ch_error_prefix (err, "write blob");
  ch_hash_update (w->hash, data, len);
  w->size += len;
  return 0;
}

uint64_t
ch_blob_writer_size (struct ch_blob_writer *w)
{
  return w->size;
}

int
ch_blob_writer_commit (struct ch_blob_writer *w, char **digest_out, ch_error_t *err)
{
  cleanup_free char *got = ch_hash_final (w->hash);
  cleanup_free char *final = NULL;
  const char *name = w->expect_digest ? w->expect_digest : got;

  if (w->expect_size >= 0 && w->size != (uint64_t) w->expect_size)
    return ch_error (err, 0, "blob %s: truncated: %llu of %lld bytes", name, (unsigned long long) w->size,
                     (long long) w->expect_size);
  if (w->expect_digest && strcmp (got, w->expect_digest) != 0)
    return ch_error (err, 0, "blob %s: digest mismatch (content is %s)", w->expect_digest, got);
  if (fchmod (w->fd, 0644) < 0)
    return ch_error (err, errno, "chmod blob %s", got);
  final = ch_store_blob_path (w->s, got);
  if (rename (w->tmp_path, final) < 0)
    return ch_error (err, errno, "rename blob %s into place", got);
  free (w->tmp_path);
  w->tmp_path = NULL;
  if (digest_out)
    *digest_out = steal_pointer (&got);
  return 0;
}

void
ch_blob_writer_free (struct ch_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close (w->fd);
  if (w->tmp_path)
    unlink (w->tmp_path);
  free (w->tmp_path);
  free (w->expect_digest);
  ch_hash_free (w->hash);
  free (w);
}

int
ch_store_put_blob (struct ch_store *s, const void *data, size_t len, char **digest_out, ch_error_t *err)
{
  struct ch_blob_writer *w = NULL;
  int r;

  if (ch_blob_writer_new (s, NULL, -1, &w, err) < 0)
    return -1;
  r = ch_blob_writer_write (w, data, len, err);
  if (r == 0)
    r = ch_blob_writer_commit (w, digest_out, err);
  ch_blob_writer_free (w);
  return r;
}

int
ch_store_index_load (struct ch_store *s, json_t **out, ch_error_t *err)
{
  cleanup_free char *p = xasprintf ("%s/index.json", s->oci);
  json_t *j = NULL;

  if (ch_json_load_file (p, &j, err) < 0)
    return -1;
  if (!json_is_array (json_object_get (j, "manifests")))
    {
      json_decref (j);
      return ch_error (err, 0, "`%s`: no manifests array", p);
    }
  *out = j;
  return 0;
}

static const char *
entry_ref (json_t *m)
{
  return json_string_value (json_object_get (json_object_get (m, "annotations"), CH_ANN_REF));
}

static int
index_lock (struct ch_store *s, int *fd, ch_error_t *err)
{
  cleanup_free char *p = xasprintf ("%s/index.lock", s->dir);
  return ch_lock_file (p, true, fd, err);
}

static int
index_save (struct ch_store *s, json_t *idx, ch_error_t *err)
{
  cleanup_free char *p = xasprintf ("%s/index.json", s->oci);
  return ch_json_save_file (p, idx, 0644, err);
}

int
ch_store_tag (struct ch_store *s, const char *ref, const char *digest, int64_t size, const char *media_type,
              ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_json json_t *idx = NULL;
  json_t *arr, *m;
  size_t i;

  if (index_lock (s, &lock, err) < 0 || ch_store_index_load (s, &idx, err) < 0)
    return -1;
  arr = json_object_get (idx, "manifests");
  for (i = json_array_size (arr); i-- > 0;)
    {
      json_t *e = json_array_get (arr, i);
      const char *r = entry_ref (e);
      const char *d = json_string_value (json_object_get (e, "digest"));
      if ((ref && r && strcmp (r, ref) == 0) || (r == NULL && d && strcmp (d, digest) == 0))
        json_array_remove (arr, i);
    }
  /* without a name, the image is known by its digest alone */
  if (ref)
    m = json_pack ("{s:s, s:s, s:I, s:{s:s}}", "mediaType", media_type, "digest", digest, "size",
                   (json_int_t) size, "annotations", CH_ANN_REF, ref);
  else
    m = json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t) size);
  json_array_append_new (arr, m);
  return index_save (s, idx, err);
}

int
ch_store_untag (struct ch_store *s, const char *ref, char **digest_out, ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_json json_t *idx = NULL;
  cleanup_free char *digest = NULL;
  json_t *arr;
  size_t i;

  if (index_lock (s, &lock, err) < 0 || ch_store_index_load (s, &idx, err) < 0)
    return -1;
  arr = json_object_get (idx, "manifests");
  for (i = json_array_size (arr); i-- > 0;)
    {
      json_t *m = json_array_get (arr, i);
      const char *r = entry_ref (m);
      const char *d = json_string_value (json_object_get (m, "digest"));
      if ((r && strcmp (r, ref) == 0) || (r == NULL && d && strcmp (d, ref) == 0))
        {
          free (digest);
          digest = xstrdup (d ? d : "");
          json_array_remove (arr, i);
        }
    }
  if (digest == NULL)
    return ch_image_error (err, ENOENT, "image `%s` not found", ref);
  if (index_save (s, idx, err) < 0)
    return -1;
  if (digest_out)
    *digest_out = steal_pointer (&digest);
  return 0;
}

/* The config digest of a stored manifest, NULL when unreadable. */
static char *
config_of (struct ch_store *s, const char *manifest_digest)
{
  cleanup_free char *buf = NULL;
  cleanup_error ch_error_t e = NULL;
  struct ch_manifest *m = NULL;
  size_t len;
  char *r;

  if (ch_store_read_blob (s, manifest_digest, &buf, &len, &e) < 0 || ch_manifest_parse (buf, len, &m, &e) < 0)
    return NULL;
  r = xstrdup (m->config_digest);
  ch_manifest_free (m);
  return r;
}

int
ch_store_resolve (struct ch_store *s, const char *ref, char **manifest_digest, ch_error_t *err)
{
  cleanup_json json_t *idx = NULL;
  cleanup_free char *found = NULL;
  json_t *arr;
  size_t i, n;
  const char *want = ref;
  cleanup_free char *withtag = NULL;

  if (ch_store_index_load (s, &idx, err) < 0)
    return -1;
  arr = json_object_get (idx, "manifests");
  n = json_array_size (arr);
  /* "cam" means "cam:latest", as everywhere else. */
  if (strchr (ref, '@') == NULL && !ch_has_prefix (ref, "sha256:"))
    {
      const char *slash = strrchr (ref, '/');
      if (strchr (slash ? slash : ref, ':') == NULL)
        want = withtag = xasprintf ("%s:latest", ref);
    }
  /* docker save / skopeo name images docker.io/[library/]NAME: "NAME" finds them too */
  {
    cleanup_free char *hub = xasprintf ("docker.io/%s", want), *lib = xasprintf ("docker.io/library/%s", want);
    const char *cands[] = { want, hub, lib };
    size_t k;
    for (k = 0; k < 3; k++)
      for (i = 0; i < n; i++)
        {
          const char *r = entry_ref (json_array_get (arr, i));
          if (r && strcmp (r, cands[k]) == 0)
            {
              *manifest_digest = xstrdup (json_string_value (json_object_get (json_array_get (arr, i), "digest")));
              return 0;
            }
        }
  }
  /* An image id: a manifest or config digest, or a prefix of 6+ hex digits. */
  {
    const char *hex = ch_has_prefix (ref, "sha256:") ? ref + 7 : ref;
    size_t hl = strlen (hex);
    if (hl >= 6 && strspn (hex, "0123456789abcdef") == hl)
      for (i = 0; i < n; i++)
        {
          const char *d = json_string_value (json_object_get (json_array_get (arr, i), "digest"));
          cleanup_free char *c = NULL;
          if (d == NULL || !ch_digest_valid (d))
            continue;
          c = config_of (s, d);
          if (strncmp (d + 7, hex, hl) == 0 || (c && strncmp (c + 7, hex, hl) == 0))
            {
              if (found && strcmp (found, d) != 0)
                return ch_error (err, 0, "image id `%s` is ambiguous", ref);
              free (found);
              found = xstrdup (d);
            }
        }
  }
  if (found == NULL)
    return ch_image_error (err, ENOENT, "image `%s` not found", ref);
  *manifest_digest = steal_pointer (&found);
  return 0;
}
