/* Chute packages of the desired document (mgmt/cloud_package.h). */
#include "mgmt/cloud_package.h"
#include "mgmt/cloud_sign.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
record_path (struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *dir = ch_deploy_dir (ctx);
  return xasprintf ("%s/packages/%s.json", dir, name);
}

/* sha256 (hex) of the chute file of NAME's VERSION, NULL when unreadable. */
static char *
file_sha256 (struct ch_ctx *ctx, const char *name, const char *version)
{
  cleanup_free char *file = ch_desired_version_file (ctx, name, version), *text = NULL;
  cleanup_error ch_error_t e = NULL;
  uint8_t md[CH_SHA256_LEN];
  char *hex;
  size_t len;

  if (ch_read_file_max (file, CH_CHUTE_FILE_MAX, &text, &len, &e) < 0)
    return NULL;
  ch_cloud_sha256 (text, len, md);
  hex = xzalloc (2 * sizeof (md) + 1);
  for (size_t i = 0; i < sizeof (md); i++)
    sprintf (hex + 2 * i, "%02x", md[i]);
  return hex;
}

bool
ch_cloud_package_runs (struct ch_ctx *ctx, const struct ch_desired *d, const char *ref)
{
  cleanup_free char *path = record_path (ctx, d->name), *sha = file_sha256 (ctx, d->name, d->version);
  cleanup_json json_t *rec = NULL;
  cleanup_error ch_error_t e = NULL;
  const char *digest, *file;

  if (sha == NULL || access (path, F_OK) < 0 || ch_json_load_file (path, &rec, &e) < 0)
    return false;
  digest = json_string_value (json_object_get (rec, "digest"));
  file = json_string_value (json_object_get (rec, "file_sha256"));
  /* the digest, not the whole reference: the same package from another registry is the same */
  return digest && file && strcmp (digest, strrchr (ref, '@') + 1) == 0 && strcmp (file, sha) == 0;
}

int
ch_cloud_package_record (struct ch_ctx *ctx, const char *name, const char *ref, ch_error_t *err)
{
  cleanup_free char *path = record_path (ctx, name), *dir = NULL, *s = NULL, *sha = NULL;
  cleanup_json json_t *rec = NULL;
  struct ch_desired d = { 0 };
  int r;

  if ((r = ch_desired_load (ctx, name, &d, err)) <= 0)
    return r;
  sha = file_sha256 (ctx, name, d.version);
  ch_desired_clear (&d);
  if (sha == NULL)
    return 0;
  rec = json_pack ("{s:s, s:s, s:s}", "ref", ref, "digest", strrchr (ref, '@') + 1, "file_sha256", sha);
  s = json_dumps (rec, JSON_SORT_KEYS);
  dir = xstrndup (path, (size_t) (strrchr (path, '/') - path));
  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_write_file_durable (path, s, strlen (s), 0600, err) < 0)
    return ch_error_prefix (err, "package record of `%s`", name);
  return 0;
}

void
ch_cloud_package_forget (struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *path = record_path (ctx, name);
  unlink (path);
}

int
ch_cloud_package_open (struct ch_ctx *ctx, const char *ref, struct ch_deploy_source *src, ch_error_t *err)
{
  cleanup_free char *deploy = ch_deploy_dir (ctx), *tmpdir = xasprintf ("%s/tmp", deploy);
  cleanup_free char *tool = xasprintf ("%s/chuted-image-pull", ctx->bin_dir), *dl = NULL, *file = NULL;
  struct ch_image_result res;
  int r;

  memset (src, 0, sizeof (*src));
  if (ch_mkdir_p (tmpdir, 0700, err) < 0)
    return -1;
  /* pkg-PID-: the name deploy_source.c sweeps when its process died */
  dl = xasprintf ("%s/pkg-%ld-XXXXXX", tmpdir, (long) getpid ());
  if (mkdtemp (dl) == NULL)
    return ch_error (err, errno, "mkdtemp `%s`", dl);
  /* a hard link to the blob in the image store: the package is fetched once per digest */
  file = xasprintf ("%s/package.tar.gz", dl);
  {
    char *argv[] = { tool,      "--root",    (char *) ctx->root, "--run-root", (char *) ctx->run_root, "package",
                     "--result-fd", "3", (char *) ref, file, NULL };
    r = ch_image_run_child (argv, "chuted-image-pull package", &res, err);
  }
  if (r == 0 && res.status != CH_IMAGE_OK)
    r = ch_image_result_error (&res, err);
  ch_image_result_clear (&res);
  /* unpacked into a directory of its own: the download goes at once */
  if (r == 0)
    r = ch_deploy_source_open (ctx, file, src, err);
  {
    cleanup_error ch_error_t e = NULL;
    if (ch_rm_rf (dl, &e) < 0)
      fprintf (stderr, "chuted: warning: %s\n", e->msg);
  }
  return r;
}
