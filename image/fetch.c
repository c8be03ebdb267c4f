/* `chuted-image mount`: an image ch_image_mount found absent is imported
 * (an archive reference), or pulled when it names a registry of its own,
 * then unpacked and mounted; `chuted-image fetch` stops before the mount. Links libarchive (unpack), so `chuted` never
 * calls it; the pull itself is the caller's (chuted-image hands it to
 * chuted-image-pull, the only program with libcurl). */
#include "internal.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>

/* REF -> the store's *NAME and *MD for it, importing or pulling first. */
static int
resolve_or_fetch (struct ch_store *s, const char *ref, const struct ch_fetch_opts *fo, char **name, char **md,
                  ch_error_t *err)
{
  cleanup_error ch_error_t perr = NULL;
  struct ch_ref pr;
  bool pullable;

  if (ch_import_is_transport (ref))
    return ch_import (s, ref, fo->tag, fo->platform, &fo->unpack, name, md, err);
  if (ch_image_lookup (s, ref, fo->platform, name, md, err) == 0)
    return 0;
  if ((*err)->status != ENOENT)
    return -1;
  /* absent, and naming a registry of its own (docker.io is never contacted) */
  if (ch_ref_parse (ref, &pr, &perr) < 0)
    return -1;
  pullable = strcmp (pr.registry, "docker.io") != 0 && ch_has_prefix (ref, pr.registry);
  ch_ref_free (&pr);
  if (!pullable || fo->pull == NULL)
    return -1;
  ch_error_release (err);
  if (fo->pull (ref, fo->pull_data, err) < 0)
    return -1;
  return ch_image_lookup (s, ref, fo->platform, name, md, err);
}

/* REF in the store with its layers unpacked: *NAME, *IMG. */
static int
fetch_unpacked (struct ch_store *s, const char *ref, const struct ch_fetch_opts *fo, char **name,
                struct ch_image **img, ch_error_t *err)
{
  cleanup_free char *md = NULL;

  *img = NULL;
  if (resolve_or_fetch (s, ref, fo, name, &md, err) == 0 && ch_image_load (s, md, img, err) == 0
      && ch_store_unpack_image (s, *img, &fo->unpack, err) == 0)
    return 0;
  ch_image_free (*img);
  *img = NULL;
  return -1;
}

int
ch_image_fetch (struct ch_store *s, const char *ref, const struct ch_fetch_opts *fo, struct ch_image_result *out,
                ch_error_t *err)
{
  cleanup_free char *name = NULL;
  struct ch_image *img = NULL;

  memset (out, 0, sizeof (*out));
  if (fetch_unpacked (s, ref, fo, &name, &img, err) < 0)
    return -1;
  out->status = CH_IMAGE_OK;
  out->ref = steal_pointer (&name);
  out->manifest = xstrdup (img->manifest_digest);
  out->image_id = xstrdup (img->manifest->config_digest);
  ch_image_free (img);
  return 0;
}

int
ch_image_fetch_mount (struct ch_store *s, const struct ch_snapshot_dirs *chute, const char *ref,
                      const struct ch_fetch_opts *fo, struct ch_image_result *out, ch_error_t *err)
{
  cleanup_free char *name = NULL;
  struct ch_image *img = NULL;
  int r = -1;

  memset (out, 0, sizeof (*out));
  if (fetch_unpacked (s, ref, fo, &name, &img, err) == 0
      && ch_image_mount_chute (s, chute, name, img, &fo->mount, out, err) == 0)
    r = 0;
  ch_image_free (img);
  return r;
}
