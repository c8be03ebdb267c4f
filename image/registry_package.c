/* A chute package pulled from an OCI registry (image/image.h): the manifest
 * (by the digest the signed desired document pins, or a tag), checked to be
 * ours, then its one layer into the store through the digest- and
 * size-checking blob writer. Nothing is unpacked here: `chuted deploy`
 * unpacks a package with its own bounds. */
#include "image/registry_int.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>

/* The layer of package manifest BUF; refused unless it is ours and fits. */
static int
package_layer (const char *buf, size_t len, uint64_t limit, struct ch_layer *out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  json_t *layers, *l, *size;
  const char *cmt, *lmt, *d;

  if (ch_json_load_buf ("package manifest", buf, len, &j, err) < 0)
    return -1;
  cmt = json_string_value (json_object_get (json_object_get (j, "config"), "mediaType"));
  if (cmt == NULL || strcmp (cmt, CH_MT_PACKAGE_CONFIG) != 0)
    return ch_image_error (err, EINVAL, "not a chute package (config media type `%.80s`, want %s)",
                           cmt ? cmt : "(none)", CH_MT_PACKAGE_CONFIG);
  layers = json_object_get (j, "layers");
  if (!json_is_array (layers) || json_array_size (layers) != 1)
    return ch_image_error (err, EINVAL, "a chute package has exactly one layer");
  l = json_array_get (layers, 0);
  lmt = json_string_value (json_object_get (l, "mediaType"));
  d = json_string_value (json_object_get (l, "digest"));
  size = json_object_get (l, "size");
  if (lmt == NULL || strcmp (lmt, CH_MT_PACKAGE_LAYER) != 0)
    return ch_image_error (err, EINVAL, "package layer: media type `%.80s`, want %s", lmt ? lmt : "(none)",
                           CH_MT_PACKAGE_LAYER);
  if (d == NULL || !ch_digest_valid (d) || !json_is_integer (size) || json_integer_value (size) < 0)
    return ch_image_error (err, EINVAL, "package layer: no sha256 digest or size");
  if ((uint64_t) json_integer_value (size) > limit)
    return ch_image_error (err, EFBIG, "package layer %s: %lld bytes, more than the limit of %llu", d,
                           (long long) json_integer_value (size), (unsigned long long) limit);
  out->digest = xstrdup (d);
  out->media_type = NULL;
  out->size = json_integer_value (size);
  return 0;
}

int
ch_pull_package (struct ch_store *s, const char *ref, const struct ch_pull_opts *opts, uint64_t limit,
                 char **manifest_digest, char **blob_path, ch_error_t *err)
{
  struct reg g = { .opts = opts };
  struct ch_layer layer = { 0 };
  struct ch_ref pr;
  cleanup_free char *buf = NULL, *digest = NULL;
  size_t len;
  int ret = -1;

  if (ch_ref_parse (ref, &pr, err) < 0)
    return -1;
  g.repo = xstrdup (pr.repo);
  if (ch_reg_connect (&g, pr.registry, err) < 0
      || ch_reg_get_manifest (&g, pr.digest ? pr.digest : pr.tag, pr.digest, &buf, &len, &digest, err) < 0
      || package_layer (buf, len, limit, &layer, err) < 0)
    goto out;
  /* a package deployed before (the same digest) is not fetched again */
  if (!ch_store_has_blob (s, layer.digest, layer.size) && ch_reg_fetch_blobs (&g, s, &layer, 1, err) < 0)
    goto out;
  *blob_path = ch_store_blob_path (s, layer.digest);
  *manifest_digest = steal_pointer (&digest);
  ret = 0;
out:
  free (layer.digest);
  ch_reg_free (&g);
  if (ret < 0)
    ch_error_prefix (err, "package %s", ref);
  ch_ref_free (&pr);
  return ret;
}
