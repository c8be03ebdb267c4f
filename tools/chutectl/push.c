/* chutectl push: a chute's directory as an OCI artifact in a registry (an
 * OCI image manifest of artifactType CH_MT_PACKAGE: a small config
 * {name, version}, one layer the directory's reproducible tar.gz), tagged
 * with the chute's version; and deploy's side of it, a package named by
 * digest or tag turned into the desired document's entry, pinned by its
 * manifest digest so that the AP fetches exactly what was signed. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "tools/chutectl/chutectl.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *
sha256_digest (const void *buf, size_t len)
{
  unsigned char md[SHA256_DIGEST_LENGTH];
  char *d = xzalloc (7 + 2 * sizeof (md) + 1);

  SHA256 (buf, len, md);
  memcpy (d, "sha256:", 7);
  for (size_t i = 0; i < sizeof (md); i++)
    sprintf (d + 7 + 2 * i, "%02x", md[i]);
  return d;
}

static int
put_buf (struct ctl_reg *g, const char *repo, const char *digest, const char *buf, ch_error_t *err)
{
  FILE *in = fmemopen ((void *) buf, strlen (buf), "r");
  int r;

  if (in == NULL)
    return ch_error (err, errno, "fmemopen");
  r = ctl_reg_put_blob (g, repo, digest, in, strlen (buf), err);
  fclose (in);
  return r;
}

static int
put_file (struct ctl_reg *g, const char *repo, const char *digest, const char *path, size_t len, ch_error_t *err)
{
  FILE *in = fopen (path, "re");
  int r;

  if (in == NULL)
    return ch_error (err, errno, "open `%s`", path);
  r = ctl_reg_put_blob (g, repo, digest, in, len, err);
  fclose (in);
  return r;
}

/* The package of DIR in TMP; its blobs and manifest to registry G. */
static int
push_in (struct ctl_reg *g, const char *dir, const char *tmp, ch_error_t *err)
{
  cleanup_free char *yaml = xasprintf ("%s/chute.yaml", dir), *text = NULL, *name = NULL, *version = NULL;
  cleanup_free char *config = NULL, *cdigest = NULL, *manifest = NULL, *mdigest = NULL, *lpath = NULL;
  cleanup_json json_t *layers = json_array (), *diff_ids = json_array (), *m = NULL;
  json_t *layer;
  const char *ldigest;
  size_t len;

  if (ch_read_file_max (yaml, 1 << 20, &text, &len, err) < 0)
    return ch_error_prefix (err, "push: a chute's directory holds its chute.yaml");
  if ((name = ctl_yaml_top (text, len, "name")) == NULL)
    return ch_error (err, 0, "%s: no top-level name:", yaml);
  version = ctl_yaml_top (text, len, "version");
  /* mtime 0: the same directory gives the same digest, a push again uploads nothing */
  if (ch_build_dir_layer (tmp, dir, 0, layers, diff_ids, err) < 0)
    return ch_error_prefix (err, "push");
  layer = json_array_get (layers, 0);
  json_object_set_new (layer, "mediaType", json_string (CH_MT_PACKAGE_LAYER));
  ldigest = json_string_value (json_object_get (layer, "digest"));
  lpath = xasprintf ("%s/%s", tmp, ldigest + 7);
  {
    cleanup_json json_t *cj = json_pack ("{s:s, s:s?}", "name", name, "version", version);
    config = json_dumps (cj, JSON_COMPACT | JSON_SORT_KEYS);
  }
  cdigest = sha256_digest (config, strlen (config));
  m = json_pack ("{s:i, s:s, s:s, s:{s:s, s:s, s:I}, s:O, s:{s:s, s:s?}}", "schemaVersion", 2, "mediaType",
                 CTL_MT_OCI_MANIFEST, "artifactType", CH_MT_PACKAGE, "config", "mediaType", CH_MT_PACKAGE_CONFIG,
                 "digest", cdigest, "size", (json_int_t) strlen (config), "layers", layers, "annotations",
                 CH_ANN_PACKAGE_NAME, name, CH_ANN_PACKAGE_VERSION, version);
  manifest = json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS);
  mdigest = sha256_digest (manifest, strlen (manifest));
  if (put_file (g, name, ldigest, lpath, (size_t) json_integer_value (json_object_get (layer, "size")), err) < 0
      || put_buf (g, name, cdigest, config, err) < 0
      || ctl_reg_put_manifest (g, name, version ? version : "latest", manifest, mdigest, err) < 0)
    return ch_error_prefix (err, "push %s to %s", name, g->host);
  printf ("%s/%s@%s\n", g->host, name, mdigest);
  return 0;
}

int
ctl_push (struct ctl *c, const char *dir, ch_error_t *err)
{
  const char *t = getenv ("TMPDIR");
  cleanup_free char *tmp = xasprintf ("%s/chutectl-push-XXXXXX", t && *t ? t : "/tmp");
  struct ctl_reg g;
  int r;

  if (ctl_reg_open (&g, c->registry, err) < 0)
    return -1;
  if (mkdtemp (tmp) == NULL)
    r = ch_error (err, errno, "mkdtemp `%s`", tmp);
  else
    {
      cleanup_error ch_error_t e = NULL;
      r = push_in (&g, dir, tmp, err);
      ch_rm_rf (tmp, &e);
    }
  ctl_reg_close (&g);
  return r;
}

bool
ctl_is_package_ref (const char *arg)
{
  const char *at = strchr (arg, '@');

  /* NAME@VERSION is a version the AP keeps; NAME@sha256:..., NAME:TAG and
   * REGISTRY:PORT/NAME name a package */
  return at ? ch_has_prefix (at + 1, "sha256:") : strchr (arg, ':') != NULL;
}

int
ctl_package_entry (struct ctl *c, const char *arg, char **name, json_t **entry, ch_error_t *err)
{
  cleanup_free char *reg = NULL, *repo = NULL, *ref = NULL, *buf = NULL, *digest = NULL;
  cleanup_json json_t *m = NULL;
  const char *slash = strchr (arg, '/'), *rest = arg, *at, *colon, *cmt, *ann;
  struct ctl_reg g;
  size_t len;
  int r;

  /* REGISTRY/REPO...: a first component with a dot, a port or localhost names the registry, as docker reads it */
  if (slash && (memchr (arg, '.', (size_t) (slash - arg)) || memchr (arg, ':', (size_t) (slash - arg))
                || strncmp (arg, "localhost/", 10) == 0))
    {
      reg = xstrndup (arg, (size_t) (slash - arg));
      rest = slash + 1;
    }
  else if (c->registry)
    reg = xstrdup (c->registry);
  else
    return ch_error (err, 0, "deploy %s: which registry? (--registry HOST:PORT, CHUTECTL_REGISTRY, or HOST:PORT/%s)",
                     arg, arg);
  at = strchr (rest, '@');
  colon = strrchr (rest, ':');
  repo = at ? xstrndup (rest, (size_t) (at - rest)) : colon ? xstrndup (rest, (size_t) (colon - rest)) : xstrdup (rest);
  ref = xstrdup (at ? at + 1 : colon ? colon + 1 : "latest");
  if (ctl_reg_open (&g, reg, err) < 0)
    return -1;
  r = ctl_reg_get_manifest (&g, repo, ref, &buf, &len, err);
  ctl_reg_close (&g);
  if (r < 0)
    return -1;
  digest = sha256_digest (buf, len);
  if (at && strcmp (digest, ref) != 0)
    return ch_error (err, 0, "package %s: the registry's manifest is %s", arg, digest);
  m = json_loadb (buf, len, 0, NULL);
  cmt = json_string_value (json_object_get (json_object_get (m, "config"), "mediaType"));
  if (cmt == NULL || strcmp (cmt, CH_MT_PACKAGE_CONFIG) != 0)
    return ch_error (err, 0, "%s/%s:%s is not a chute package (chutectl push makes them)", reg, repo, ref);
  ann = json_string_value (json_object_get (json_object_get (m, "annotations"), CH_ANN_PACKAGE_NAME));
  *name = xstrdup (ann ? ann : strrchr (repo, '/') ? strrchr (repo, '/') + 1 : repo);
  {
    cleanup_free char *pinned = xasprintf ("%s/%s@%s", reg, repo, digest);
    *entry = json_pack ("{s:s, s:b}", "package", pinned, "running", 1);
  }
  return 0;
}
