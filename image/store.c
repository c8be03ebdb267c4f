/* The OCI image layout under <root>/images/oci (blobs arrive through
 * blob.c's verifying writer), index.json replaced atomically under its own
 * lock, and layers/<hex>, each layer unpacked once. */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


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
  /* a root made here is nobody else's business (0700) */
  if (ch_mkdir_p (s->dir, 0700, err) < 0 || ch_mkdir_p (blobs, 0755, err) < 0 || ch_mkdir_p (s->tmp, 0700, err) < 0 || ch_mkdir_p (s->layers, 0755, err) < 0)
    goto fail;
  if (ch_lock_file (lock, exclusive, &s->lock_fd, err) < 0)
    goto fail;
  /* what a killed load or pull left (its owner is gone) goes on the next command */
  if (ch_store_clean_tmp (s, false, err) < 0)
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
  cleanup_free char *p = NULL, *data = NULL;
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
  *buf = steal_pointer (&data);
  return 0;
}

char *
ch_store_layer_dir (struct ch_store *s, const char *digest)
{
  return xasprintf ("%s/%s", s->layers, digest + 7);
}

/* layers/<hex>/size is written last, inside the temp dir renamed into place:
 * a layer with it is complete. */
int
ch_store_layer_size (struct ch_store *s, const char *digest, uint64_t *out)
{
  cleanup_free char *p = xasprintf ("%s/%s/size", s->layers, digest + 7), *buf = NULL;
  cleanup_error ch_error_t e = NULL;
  size_t len;
  char *end;

  if (ch_read_file (p, &buf, &len, &e) < 0)
    return -1;
  *out = strtoull (buf, &end, 10);
  return end == buf ? -1 : 0;
}

int
ch_store_image_size (struct ch_store *s, const struct ch_image *img, uint64_t limit, uint64_t *total_out,
                     ch_error_t *err)
{
  uint64_t total = 0, sz;
  size_t i;

  for (i = 0; i < img->manifest->n_layers; i++)
    {
      if (ch_store_layer_size (s, img->manifest->layers[i].digest, &sz) < 0)
        return ch_image_error (err, ENOENT, "layer %s: not unpacked", img->manifest->layers[i].digest);
      total += sz;
    }
  if (limit && total > limit)
    return ch_image_error (err, EFBIG, "image %s: layers take %llu bytes, more than the disk limit of %llu",
                           img->manifest_digest, (unsigned long long) total, (unsigned long long) limit);
  if (total_out)
    *total_out = total;
  return 0;
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
