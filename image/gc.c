/* Garbage collection: a blob or an unpacked layer survives while a ref in
 * index.json or a mounted chute (CHUTES_DIR/ * /overlay/mount.json, the
 * directory mgmt/ hands down) needs it. Runs under the exclusive store lock, so no pull is mid-way. */
#include "internal.h"
#include "image/dockerfile.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
keep_manifest (struct ch_store *s, json_t *keep, const char *digest)
{
  cleanup_free char *buf = NULL, *mt = NULL;
  cleanup_error ch_error_t e = NULL;
  struct ch_manifest *m = NULL;
  size_t len, i;

  if (!ch_digest_valid (digest))
    return;
  json_object_set_new (keep, digest, json_true ());
  if (ch_store_read_blob (s, digest, &buf, &len, &e) < 0 || ch_manifest_kind (buf, len, &mt, &e) < 0)
    return;
  if (ch_mt_is_index (mt))
    {
      cleanup_json json_t *j = json_loadb (buf, len, 0, NULL);
      json_t *c;
      json_array_foreach (json_object_get (j, "manifests"), i, c)
      {
        const char *d = json_string_value (json_object_get (c, "digest"));
        if (d && ch_store_has_blob (s, d, -1))
          keep_manifest (s, keep, d);
      }
      return;
    }
  if (ch_manifest_parse (buf, len, &m, &e) < 0)
    return;
  json_object_set_new (keep, m->config_digest, json_true ());
  for (i = 0; i < m->n_layers; i++)
    json_object_set_new (keep, m->layers[i].digest, json_true ());
  ch_manifest_free (m);
}

static void
keep_mounted (struct ch_store *s, const char *cd, json_t *keep)
{
  cleanup_dir DIR *d = opendir (cd);
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir (d)))
    {
      cleanup_free char *p = xasprintf ("%s/%s/overlay/mount.json", cd, de->d_name);
      /* a chute with a disk image (--storage-opt size) has it in there */
      cleanup_free char *pd = xasprintf ("%s/%s/disk/overlay/mount.json", cd, de->d_name);
      cleanup_json json_t *j = NULL;
      cleanup_error ch_error_t e = NULL;
      json_t *l;
      size_t i;

      if (de->d_name[0] == '.'
          || (ch_json_load_file (p, &j, &e) < 0 && (ch_error_release (&e), ch_json_load_file (pd, &j, &e)) < 0))
        continue;
      if (json_is_string (json_object_get (j, "manifest")))
        keep_manifest (s, keep, json_string_value (json_object_get (j, "manifest")));
      json_array_foreach (json_object_get (j, "layers"), i, l) if (json_is_string (l))
          json_object_set_new (keep, json_string_value (l), json_true ());
    }
}

/* Remove every entry of DIR whose "sha256:NAME" is not kept. */
static int
sweep (const char *dir, json_t *keep, bool is_blob, struct ch_gc_stats *st, ch_error_t *err)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "opendir `%s`", dir);
  while ((de = readdir (d)))
    {
      cleanup_free char *dg = xasprintf ("sha256:%s", de->d_name);
      struct stat sb;
      if (de->d_name[0] == '.' || json_object_get (keep, dg))
        continue;
      if (fstatat (dirfd (d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && is_blob)
        st->bytes += sb.st_size;
      if (ch_rm_rf_at (dirfd (d), de->d_name, err) < 0)
        return ch_error_prefix (err, "prune `%s`", dir);
      if (is_blob)
        st->blobs++;
      else
        st->layers++;
    }
  return 0;
}

int
ch_gc_prune (struct ch_store *s, const char *chutes_dir, struct ch_gc_stats *st, ch_error_t *err)
{
  cleanup_json json_t *idx = NULL, *keep = json_object ();
  cleanup_free char *blobs = xasprintf ("%s/blobs/sha256", s->oci);
  json_t *m;
  size_t i;

  memset (st, 0, sizeof (*st));
  if (ch_store_index_load (s, &idx, err) < 0)
    return -1;
  json_array_foreach (json_object_get (idx, "manifests"), i, m)
      keep_manifest (s, keep, json_string_value (json_object_get (m, "digest")));
  keep_mounted (s, chutes_dir, keep);
  /* nobody else holds the store lock: whatever is in tmp/ is a crashed pull's */
  if (ch_store_clean_tmp (s, true, err) < 0)
    return -1;
  st->temps = s->tmp_removed;
  st->temp_bytes = s->tmp_bytes;
  if (sweep (blobs, keep, true, st, err) < 0 || sweep (s->layers, keep, false, st, err) < 0)
    return -1;
  ch_build_cache_prune (s);
  return 0;
}
