/* Manifests (OCI, Docker schema2), indexes / manifest lists with platform
 * selection, and image configs: parsed with jansson, every field checked
 * before anything trusts it. */
#include "internal.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

bool
ch_mt_is_index (const char *mt)
{
  return mt && (strcmp (mt, CH_MT_OCI_INDEX) == 0 || strcmp (mt, CH_MT_DOCKER_LIST) == 0);
}

bool
ch_mt_is_manifest (const char *mt)
{
  return mt && (strcmp (mt, CH_MT_OCI_MANIFEST) == 0 || strcmp (mt, CH_MT_DOCKER_MANIFEST) == 0);
}

static bool
layer_type_ok (const char *mt)
{
  static const char *const ok[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    NULL,
  };
  size_t i;
  for (i = 0; ok[i]; i++)
    if (strcmp (mt, ok[i]) == 0)
      return true;
  return false;
}

int
ch_manifest_kind (const char *buf, size_t len, char **media_type, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  const char *mt;

  if (ch_json_load_buf ("manifest", buf, len, &j, err) < 0)
    return -1;
  if (!json_is_object (j))
    return ch_error (err, 0, "manifest: not a JSON object");
  mt = json_string_value (json_object_get (j, "mediaType"));
  if (mt == NULL)
    {
      if (json_is_array (json_object_get (j, "manifests")))
        mt = CH_MT_OCI_INDEX;
      else if (json_is_object (json_object_get (j, "config")))
        mt = CH_MT_OCI_MANIFEST;
      else
        return ch_error (err, 0, "manifest: neither a manifest nor an index");
    }
  if (!ch_mt_is_index (mt) && !ch_mt_is_manifest (mt))
    return ch_error (err, 0, "manifest: unsupported media type `%s`", mt);
  *media_type = xstrdup (mt);
  return 0;
}

/* A descriptor: digest (sha256 only), size >= 0, optional media type. */
static int
descriptor (json_t *d, const char *what, const char **digest, int64_t *size, const char **mt, ch_error_t *err)
{
  json_t *sz;

  if (!json_is_object (d))
    return ch_error (err, 0, "%s: not an object", what);
  *digest = json_string_value (json_object_get (d, "digest"));
  if (*digest == NULL)
    return ch_error (err, 0, "%s: no digest", what);
  if (!ch_digest_valid (*digest))
    return ch_error (err, 0, "%s: unsupported digest `%s` (want sha256:<64 hex>)", what, *digest);
  sz = json_object_get (d, "size");
  if (!json_is_integer (sz) || json_integer_value (sz) < 0)
    return ch_error (err, 0, "%s %s: missing or negative size", what, *digest);
  *size = json_integer_value (sz);
  if (mt)
    *mt = json_string_value (json_object_get (d, "mediaType"));
  return 0;
}

void
ch_manifest_free (struct ch_manifest *m)
{
  size_t i;

  if (m == NULL)
    return;
  for (i = 0; i < m->n_layers; i++)
    {
      free (m->layers[i].digest);
      free (m->layers[i].media_type);
    }
  free (m->layers);
  free (m->media_type);
  free (m->config_digest);
  free (m);
}

int
ch_manifest_parse (const char *buf, size_t len, struct ch_manifest **out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  cleanup_free char *mt = NULL;
  struct ch_manifest *m;
  const char *d, *lmt, *cmt;
  json_t *layers, *sv;
  int64_t sz;
  size_t i;

  if (ch_manifest_kind (buf, len, &mt, err) < 0)
    return -1;
  if (!ch_mt_is_manifest (mt))
    return ch_error (err, 0, "manifest: `%s` is an index, not an image manifest", mt);
  if (ch_json_load_buf ("manifest", buf, len, &j, err) < 0)
    return -1;
  sv = json_object_get (j, "schemaVersion");
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return ch_error (err, 0, "manifest: schemaVersion must be 2");
  if (descriptor (json_object_get (j, "config"), "manifest config", &d, &sz, &cmt, err) < 0)
    return -1;
  if (cmt && strcmp (cmt, CH_MT_OCI_CONFIG) != 0 && strcmp (cmt, CH_MT_DOCKER_CONFIG) != 0)
    return ch_error (err, 0, "manifest config %s: unsupported media type `%s`", d, cmt);
  layers = json_object_get (j, "layers");
  if (!json_is_array (layers))
    return ch_error (err, 0, "manifest: no layers array");
  if (json_array_size (layers) > 128)
    return ch_error (err, 0, "manifest: %zu layers, at most 128 are supported", json_array_size (layers));
  m = xzalloc (sizeof (*m));
  m->media_type = steal_pointer (&mt);
  m->config_digest = xstrdup (d);
  m->config_size = sz;
  m->layers = xzalloc (sizeof (*m->layers) * (json_array_size (layers) + 1));
  for (i = 0; i < json_array_size (layers); i++)
    {
      cleanup_free char *what = xasprintf ("manifest layer %zu", i);
      if (descriptor (json_array_get (layers, i), what, &d, &sz, &lmt, err) < 0)
        goto fail;
      if (lmt == NULL || !layer_type_ok (lmt))
        {
          ch_error (err, 0, "manifest layer %s: unsupported media type `%s`", d, lmt ? lmt : "(none)");
          goto fail;
        }
      m->layers[i].digest = xstrdup (d);
      m->layers[i].media_type = xstrdup (lmt);
      m->layers[i].size = sz;
      m->n_layers++;
    }
  *out = m;
  return 0;
fail:
  ch_manifest_free (m);
  return -1;
}

char *
ch_platform_default (void)
{
  struct utsname u;
  const char *m;

  if (uname (&u) < 0)
    return xstrdup ("linux/amd64");
  m = u.machine;
  if (strcmp (m, "x86_64") == 0)
    return xstrdup ("linux/amd64");
  if (strcmp (m, "aarch64") == 0)
    return xstrdup ("linux/arm64");
  if (ch_has_prefix (m, "armv7"))
    return xstrdup ("linux/arm/v7");
  if (ch_has_prefix (m, "armv6"))
    return xstrdup ("linux/arm/v6");
  if (ch_has_prefix (m, "i") && ch_has_suffix (m, "86"))
    return xstrdup ("linux/386");
  return xasprintf ("linux/%s", m);
}

int
ch_index_select (const char *buf, size_t len, const char *platform, char **digest, int64_t *size, char **media_type,
                 ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  cleanup_free char *want = xstrdup (platform);
  char *arch, *variant;
  json_t *ms;
  size_t i;

  arch = strchr (want, '/');
  if (arch == NULL)
    return ch_error (err, 0, "platform `%s`: want OS/ARCH[/VARIANT]", platform);
  *arch++ = '\0';
  variant = strchr (arch, '/');
  if (variant)
    *variant++ = '\0';
  if (ch_json_load_buf ("index", buf, len, &j, err) < 0)
    return -1;
  ms = json_object_get (j, "manifests");
  if (!json_is_array (ms))
    return ch_error (err, 0, "index: no manifests array");
  for (i = 0; i < json_array_size (ms); i++)
    {
      json_t *m = json_array_get (ms, i), *p = json_object_get (m, "platform");
      const char *d, *mt, *os, *ar, *va;
      int64_t sz;
      cleanup_free char *what = xasprintf ("index entry %zu", i);

      if (descriptor (m, what, &d, &sz, &mt, err) < 0)
        return -1;
      os = json_string_value (json_object_get (p, "os"));
      ar = json_string_value (json_object_get (p, "architecture"));
      va = json_string_value (json_object_get (p, "variant"));
      if (os == NULL || ar == NULL || strcmp (os, want) != 0 || strcmp (ar, arch) != 0)
        continue;
      if (variant && va && strcmp (va, variant) != 0)
        continue;
      if (mt && !ch_mt_is_manifest (mt))
        continue;
      *digest = xstrdup (d);
      *size = sz;
      *media_type = xstrdup (mt ? mt : CH_MT_OCI_MANIFEST);
      return 0;
    }
  return ch_image_error (err, ENOENT, "index: no image for platform %s", platform);
}

static int
check_strv (json_t *v, const char *what, ch_error_t *err)
{
  size_t i;
  json_t *e;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return ch_error (err, 0, "image config: %s is not an array of strings", what);
  json_array_foreach (v, i, e) if (!json_is_string (e)) return ch_error (err, 0,
                                                                        "image config: %s[%zu] is not a string",
                                                                        what, i);
  return 0;
}

int
ch_config_parse (const char *buf, size_t len, json_t **out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  json_t *c, *r, *v;
  static const char *const strv[] = { "Cmd", "Entrypoint", "Env", NULL };
  static const char *const str[] = { "WorkingDir", "User", NULL };
  size_t i;

  if (ch_json_load_buf ("image config", buf, len, &j, err) < 0)
    return -1;
  if (!json_is_object (j))
    return ch_error (err, 0, "image config: not a JSON object");
  r = json_object_get (j, "rootfs");
  if (r && !json_is_object (r))
    return ch_error (err, 0, "image config: rootfs is not an object");
  if (r && json_object_get (r, "diff_ids"))
    {
      json_t *ids = json_object_get (r, "diff_ids");
      if (!json_is_array (ids))
        return ch_error (err, 0, "image config: rootfs.diff_ids is not an array");
      json_array_foreach (ids, i, v) if (!ch_digest_valid (json_string_value (v))) return ch_error (
          err, 0, "image config: diff_id %zu: unsupported digest `%s` (want sha256:<64 hex>)", i,
          json_string_value (v) ? json_string_value (v) : "?");
    }
  c = json_object_get (j, "config");
  *out = json_object ();
  if (c == NULL || json_is_null (c))
    return 0;
  if (!json_is_object (c))
    {
      json_decref (*out);
      return ch_error (err, 0, "image config: config is not an object");
    }
  for (i = 0; strv[i]; i++)
    {
      v = json_object_get (c, strv[i]);
      if (check_strv (v, strv[i], err) < 0)
        {
          json_decref (*out);
          return -1;
        }
      if (json_is_array (v))
        json_object_set (*out, strv[i], v);
    }
  for (i = 0; str[i]; i++)
    {
      v = json_object_get (c, str[i]);
      if (v && !json_is_null (v) && !json_is_string (v))
        {
          json_decref (*out);
          return ch_error (err, 0, "image config: %s is not a string", str[i]);
        }
      if (json_is_string (v) && *json_string_value (v))
        json_object_set (*out, str[i], v);
    }
  return 0;
}

void
ch_image_free (struct ch_image *img)
{
  if (img == NULL)
    return;
  free (img->manifest_digest);
  ch_manifest_free (img->manifest);
  if (img->config)
    json_decref (img->config);
  if (img->run)
    json_decref (img->run);
  free (img);
}

int
ch_image_load (struct ch_store *s, const char *manifest_digest, struct ch_image **out, ch_error_t *err)
{
  cleanup_free char *mbuf = NULL, *cbuf = NULL;
  size_t mlen, clen;
  struct ch_image *img = xzalloc (sizeof (*img));
  size_t i;

  img->manifest_digest = xstrdup (manifest_digest);
  if (ch_store_read_blob (s, manifest_digest, &mbuf, &mlen, err) < 0
      || ch_manifest_parse (mbuf, mlen, &img->manifest, err) < 0)
    goto fail;
  if (ch_store_read_blob (s, img->manifest->config_digest, &cbuf, &clen, err) < 0
      || ch_config_parse (cbuf, clen, &img->run, err) < 0
      || ch_json_load_buf ("image config", cbuf, clen, &img->config, err) < 0)
    goto fail;
  for (i = 0; i < img->manifest->n_layers; i++)
    if (!ch_store_has_blob (s, img->manifest->layers[i].digest, img->manifest->layers[i].size))
      {
        ch_image_error (err, ENOENT, "layer %s: blob missing from the store", img->manifest->layers[i].digest);
        goto fail;
      }
  *out = img;
  return 0;
fail:
  ch_image_free (img);
  return ch_error_prefix (err, "image %s", manifest_digest);
}

int
ch_store_manifest_for_platform (struct ch_store *s, const char *digest, const char *platform, char **out,
                                ch_error_t *err)
{
  cleanup_free char *buf = NULL, *mt = NULL, *d = NULL, *mmt = NULL, *plat = NULL;
  size_t len;
  int64_t sz;

  if (ch_store_read_blob (s, digest, &buf, &len, err) < 0 || ch_manifest_kind (buf, len, &mt, err) < 0)
    return -1;
  if (!ch_mt_is_index (mt))
    {
      *out = xstrdup (digest);
      return 0;
    }
  if (platform == NULL)
    platform = plat = ch_platform_default ();
  if (ch_index_select (buf, len, platform, &d, &sz, &mmt, err) < 0)
    return -1;
  if (!ch_store_has_blob (s, d, sz))
    return ch_image_error (err, ENOENT, "manifest %s for %s: blob missing from the store", d, platform);
  *out = steal_pointer (&d);
  return 0;
}
