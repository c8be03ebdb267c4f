/* An image already in the store, from reference to mounted chute root
 * filesystem. `chuted run` does this in-process (nothing here fetches,
 * unpacks or hashes, so it links neither libcurl, libarchive nor libcrypto);
 * `chuted-image mount` does the same after fetching and unpacking. */
#include "internal.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
ch_image_lookup (struct ch_store *s, const char *ref, const char *platform, char **name, char **manifest_digest,
                 ch_error_t *err)
{
  cleanup_free char *d = NULL, *n = NULL;
  struct ch_ref pr;

  /* a reference names the image as the store does ("cam" = "cam:latest") */
  if (ch_ref_parse (ref, &pr, err) == 0)
    {
      int r = ch_store_resolve (s, pr.name, &d, err);
      n = xstrdup (pr.name);
      ch_ref_free (&pr);
      if (r < 0)
        {
          if ((*err)->status != ENOENT)
            return -1;
          ch_error_release (err);
        }
    }
  else
    ch_error_release (err);
  /* or it is an image id, or a name the store holds as written */
  if (d == NULL)
    {
      free (n);
      n = xstrdup (ref);
      if (ch_store_resolve (s, ref, &d, err) < 0)
        return -1;
    }
  if (ch_store_manifest_for_platform (s, d, platform, manifest_digest, err) < 0)
    return -1;
  *name = steal_pointer (&n);
  return 0;
}

int
ch_image_mount_chute (struct ch_store *s, const struct ch_snapshot_dirs *chute, const char *name,
                      struct ch_image *img, const struct ch_mount_opts *mo, struct ch_image_result *out,
                      ch_error_t *err)
{
  cleanup_free char *rootfs = NULL;

  if (ch_snapshot_mount (s, chute, img, mo, &rootfs, err) < 0)
    return -1;
  ch_image_result_clear (out);
  out->status = CH_IMAGE_OK;
  out->rootfs = steal_pointer (&rootfs);
  out->config = json_incref (img->run);
  out->image_id = xstrdup (img->manifest->config_digest);
  out->manifest = xstrdup (img->manifest_digest);
  out->ref = xstrdup (name);
  return 0;
}

int
ch_image_mount (const char *root, const struct ch_snapshot_dirs *d, const char *ref,
                const struct ch_mount_opts *mo, struct ch_image_result *out, ch_error_t *err)
{
  struct ch_store *s = NULL;
  struct ch_image *img = NULL;
  cleanup_free char *name = NULL, *md = NULL;
  int r;

  memset (out, 0, sizeof (*out));
  if (ch_store_open (root, false, &s, err) < 0)
    return -1;
  r = ch_image_lookup (s, ref, NULL, &name, &md, err);
  if (r == 0)
    r = ch_image_load (s, md, &img, err);
  if (r == 0)
    r = ch_image_mount_chute (s, d, name, img, mo, out, err);
  ch_image_free (img);
  ch_store_free (s);
  /* not stored, or stored with a layer still packed: the store's ENOENT ends here */
  if (r < 0 && (*err)->status == ENOENT)
    {
      out->status = CH_IMAGE_ABSENT;
      out->message = xstrdup ((*err)->msg);
      ch_error_release (err);
      return 0;
    }
  return r;
}

int
ch_image_present (const char *root, const char *ref, uint64_t disk_limit, ch_error_t *err)
{
  struct ch_store *s = NULL;
  struct ch_image *img = NULL;
  cleanup_free char *name = NULL, *md = NULL;
  int r;

  if (ch_store_open (root, false, &s, err) < 0)
    return -1;
  r = ch_image_lookup (s, ref, NULL, &name, &md, err);
  if (r == 0)
    r = ch_image_load (s, md, &img, err);
  if (r == 0)
    r = ch_store_image_size (s, img, disk_limit ? disk_limit : CH_DEFAULT_DISK_LIMIT, NULL, err);
  ch_image_free (img);
  ch_store_free (s);
  /* not stored, or a layer still packed: the store's ENOENT, as ch_image_mount */
  if (r < 0 && (*err)->status == ENOENT)
    {
      ch_error_release (err);
      return 0;
    }
  return r < 0 ? -1 : 1;
}
