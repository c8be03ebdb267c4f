/* The store as its users see it (`chuted images`, `image inspect`, `rmi`;
 * next, the REST API): what is stored, what one image is, removing a name. */
#include "internal.h"
#include "common/json.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

int
ch_image_list (struct ch_store *s, json_t **out, ch_error_t *err)
{
  cleanup_json json_t *idx = NULL;
  json_t *l, *m;
  size_t i;

  if (ch_store_index_load (s, &idx, err) < 0)
    return -1;
  l = json_array ();
  json_array_foreach (json_object_get (idx, "manifests"), i, m)
  {
    const char *d = json_string_value (json_object_get (m, "digest"));
    const char *r = json_string_value (json_object_get (json_object_get (m, "annotations"), CH_ANN_REF));
    struct ch_image *img = NULL;
    cleanup_error ch_error_t e = NULL;
    cleanup_free char *md = NULL;
    json_int_t size = 0;
    size_t k;

    if (d == NULL || ch_store_manifest_for_platform (s, d, NULL, &md, &e) < 0 || ch_image_load (s, md, &img, &e) < 0)
      {
        json_array_append_new (l, json_pack ("{s:s?, s:s?, s:s}", "ref", r, "digest", d, "error",
                                             e ? e->msg : "unreadable"));
        continue;
      }
    for (k = 0; k < img->manifest->n_layers; k++)
      size += img->manifest->layers[k].size;
    json_array_append_new (l, json_pack ("{s:s?, s:s, s:s, s:I, s:O?}", "ref", r, "digest", d, "id",
                                         img->manifest->config_digest, "size", size, "created",
                                         json_object_get (img->config, "created")));
    ch_image_free (img);
  }
  *out = l;
  return 0;
}

int
ch_image_inspect (struct ch_store *s, const char *ref, const char *platform, json_t **out, ch_error_t *err)
{
  cleanup_free char *name = NULL, *md = NULL;
  struct ch_image *img = NULL;

  if (ch_image_lookup (s, ref, platform, &name, &md, err) < 0 || ch_image_load (s, md, &img, err) < 0)
    return -1;
  *out = json_incref (img->config);
  json_object_set_new (*out, "_manifest", json_string (md));
  ch_image_free (img);
  return 0;
}

int
ch_image_remove (struct ch_store *s, const char *ref, char **removed, bool *untagged, ch_error_t *err)
{
  cleanup_free char *d = NULL, *md = NULL;
  struct ch_ref pr;

  /* a name the store holds ("cam" = "cam:latest") loses that name */
  if (ch_ref_parse (ref, &pr, err) == 0)
    {
      int r = ch_store_untag (s, pr.name, &d, err);
      if (r == 0)
        {
          *removed = steal_pointer (&pr.name);
          *untagged = true;
        }
      ch_ref_free (&pr);
      if (r == 0)
        return 0;
    }
  ch_error_release (err);
  /* an image id or manifest digest loses every name */
  if (ch_store_resolve (s, ref, &md, err) < 0 || ch_store_untag (s, md, &d, err) < 0)
    return -1;
  *removed = steal_pointer (&md);
  *untagged = false;
  return 0;
}
