/* A stage of a build: FROM's base (scratch, an earlier stage, an archive or
 * layout chuted imports, or an image in the store), the layers and history
 * its steps add, and the commit: config and manifest blobs through the
 * store's writer, then the name in index.json. */
#include "image/dockerfile_int.h"
#include "common/json.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
ch_bstage_clear (struct bstage *st)
{
  for (size_t i = 0; i < st->n_layers; i++)
    {
      free (st->layers[i].digest);
      free (st->layers[i].media_type);
    }
  free (st->layers);
  free (st->name);
  free (st->chain);
  free (st->created);
  ch_strv_free (st->shell);
  if (st->doc)
    json_decref (st->doc);
  if (st->args)
    json_decref (st->args);
  memset (st, 0, sizeof (*st));
}

json_t *
ch_bstage_config (struct bstage *st)
{
  json_t *c = json_object_get (st->doc, "config");
  if (!json_is_object (c))
    {
      c = json_object ();
      json_object_set_new (st->doc, "config", c);
    }
  return c;
}

static json_t *
array_member (json_t *o, const char *k)
{
  json_t *a = json_object_get (o, k);
  if (!json_is_array (a))
    {
      a = json_array ();
      json_object_set_new (o, k, a);
    }
  return a;
}

/* History and "created" carry the time of the newest layer (the base's for
 * a stage without one), so the config of an unchanged build is unchanged. */
static const char *
stage_time (const struct bstage *st)
{
  return st->created ? st->created : "1970-01-01T00:00:00Z";
}

void
ch_bstage_history (struct bstage *st, const char *created_by)
{
  json_array_append_new (array_member (st->doc, "history"), json_pack ("{s:s, s:s, s:b}", "created", stage_time (st),
                                                                         "created_by", created_by, "empty_layer", 1));
}

void
ch_bstage_add_layer (struct bstage *st, const struct ch_layer *l, const char *created_by)
{
  json_t *rootfs = json_object_get (st->doc, "rootfs");

  if (!json_is_object (rootfs))
    {
      rootfs = json_pack ("{s:s}", "type", "layers");
      json_object_set_new (st->doc, "rootfs", rootfs);
    }
  st->layers = xrealloc (st->layers, (st->n_layers + 1) * sizeof (*st->layers));
  st->layers[st->n_layers].digest = xstrdup (l->digest);
  st->layers[st->n_layers].media_type = xstrdup (l->media_type);
  st->layers[st->n_layers].size = l->size;
  st->n_layers++;
  /* an uncompressed layer's diff_id is its digest */
  json_array_append_new (array_member (rootfs, "diff_ids"), json_string (l->digest));
  json_array_append_new (array_member (st->doc, "history"),
                         json_pack ("{s:s, s:s}", "created", stage_time (st), "created_by", created_by));
}

json_t *
ch_bstage_vars (struct builder *b, struct bstage *st)
{
  json_t *vars = json_object (), *v;
  const char *k;
  size_t i;

  json_object_foreach (st->args, k, v)
    if (json_is_string (v))
      json_object_set (vars, k, v);
  json_array_foreach (json_object_get (ch_bstage_config (st), "Env"), i, v)
    {
      const char *kv = json_string_value (v), *eq = kv ? strchr (kv, '=') : NULL;
      if (eq)
        {
          cleanup_free char *name = xstrndup (kv, eq - kv);
          json_object_set_new (vars, name, json_string (eq + 1));
        }
    }
  return vars;
}

/* A reference to a registry of its own, as `chuted run` pulls them
 * (docker.io is never contacted). */
static bool
pullable (const char *ref)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_ref pr;
  bool r;

  if (ch_ref_parse (ref, &pr, &e) < 0)
    return false;
  r = strcmp (pr.registry, "docker.io") != 0 && ch_has_prefix (ref, pr.registry);
  ch_ref_free (&pr);
  return r;
}

static int
pull (struct builder *b, const char *ref, ch_error_t *err)
{
  cleanup_strv char **argv = ch_strv_dup (b->req->pull_prefix);
  struct ch_image_result res;
  int r;

  ch_strv_append (&argv, ref);
  fflush (stdout);
  if (ch_image_run_child (argv, "chuted-image-pull", &res, err) < 0)
    return -1;
  r = res.status == CH_IMAGE_OK ? 0 : ch_image_result_error (&res, err);
  ch_image_result_clear (&res);
  return r;
}

static int
from_image (struct builder *b, const char *ref, struct bstage *st, ch_error_t *err)
{
  struct ch_unpack_opts uo = { .limit = b->req->disk_limit };
  cleanup_free char *name = NULL, *md = NULL;
  struct ch_image *img = NULL;
  int r;

  if (ch_import_is_transport (ref))
    r = ch_import (b->s, ref, NULL, NULL, &uo, &name, &md, err);
  else
    {
      r = ch_image_lookup (b->s, ref, NULL, &name, &md, err);
      if (r < 0 && (*err)->status == ENOENT)
        {
          ch_error_release (err);
          if (!pullable (ref) || b->req->pull_prefix == NULL)
            return ch_image_error (err, ENOENT, "image `%s` is not in the store (chuted pull or load it first)", ref);
          r = pull (b, ref, err);
          if (r == 0)
            r = ch_image_lookup (b->s, ref, NULL, &name, &md, err);
        }
    }
  if (r == 0)
    r = ch_image_load (b->s, md, &img, err);
  if (r == 0)
    r = ch_store_unpack_image (b->s, img, &uo, err);
  if (r < 0)
    {
      ch_image_free (img);
      return -1;
    }
  st->doc = json_deep_copy (img->config);
  st->layers = xzalloc (sizeof (*st->layers) * (img->manifest->n_layers + 1));
  for (size_t i = 0; i < img->manifest->n_layers; i++)
    {
      st->layers[i].digest = xstrdup (img->manifest->layers[i].digest);
      st->layers[i].media_type = xstrdup (img->manifest->layers[i].media_type);
      st->layers[i].size = img->manifest->layers[i].size;
    }
  st->n_layers = img->manifest->n_layers;
  st->chain = xstrdup (img->manifest_digest);
  st->created = ch_json_dup_str (img->config, "created");
  ch_image_free (img);
  return 0;
}

int
ch_bstage_from (struct builder *b, const char *ref, struct bstage *st, ch_error_t *err)
{
  cleanup_free char *lower = xstrdup (ref);

  for (char *c = lower; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  st->args = json_object ();
  if (strcmp (lower, "scratch") == 0)
    {
      cleanup_free char *plat = ch_platform_default ();
      st->doc = json_pack ("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", strchr (plat, '/') + 1, "os",
                           "linux", "config", "rootfs", "type", "layers", "diff_ids", "history");
      st->chain = xstrdup ("scratch");
      return 0;
    }
  for (size_t i = 0; i < b->n_st; i++)
    if (b->st[i].name && strcmp (b->st[i].name, lower) == 0)
      {
        const struct bstage *p = &b->st[i];
        st->doc = json_deep_copy (p->doc);
        st->layers = xzalloc (sizeof (*st->layers) * (p->n_layers + 1));
        for (size_t k = 0; k < p->n_layers; k++)
          {
            st->layers[k].digest = xstrdup (p->layers[k].digest);
            st->layers[k].media_type = xstrdup (p->layers[k].media_type);
            st->layers[k].size = p->layers[k].size;
          }
        st->n_layers = p->n_layers;
        st->chain = xstrdup (p->chain);
        st->shell = ch_strv_dup (p->shell);
        st->created = p->created ? xstrdup (p->created) : NULL;
        return 0;
      }
  return from_image (b, ref, st, err);
}

static int
put_json (struct builder *b, json_t *j, char **digest, size_t *size, ch_error_t *err)
{
  cleanup_free char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  *size = strlen (s);
  return ch_store_put_blob (b->s, s, *size, digest, err);
}

int
ch_bstage_commit (struct builder *b, struct bstage *st, struct ch_build_result *out, ch_error_t *err)
{
  cleanup_free char *cdg = NULL, *mdg = NULL;
  cleanup_json json_t *manifest = NULL;
  json_t *layers = json_array ();
  struct ch_image *img = NULL;
  struct ch_ref pr;
  size_t csize, msize;
  uint64_t total;
  int r;

  if (ch_ref_parse (b->req->tag, &pr, err) < 0)
    {
      json_decref (layers);
      return ch_error_prefix (err, "-t");
    }
  json_object_set_new (st->doc, "created", json_string (stage_time (st)));
  for (size_t i = 0; i < st->n_layers; i++)
    json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", st->layers[i].media_type, "digest",
                                              st->layers[i].digest, "size", (json_int_t) st->layers[i].size));
  manifest = json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", CH_MT_OCI_MANIFEST, "layers", layers);
  r = put_json (b, st->doc, &cdg, &csize, err);
  if (r == 0)
    {
      json_object_set_new (manifest, "config", json_pack ("{s:s, s:s, s:I}", "mediaType", CH_MT_OCI_CONFIG,
                                                          "digest", cdg, "size", (json_int_t) csize));
      r = put_json (b, manifest, &mdg, &msize, err);
    }
  /* what a chute will mount must load and fit, as a pulled image must */
  if (r == 0)
    r = ch_image_load (b->s, mdg, &img, err);
  if (r == 0)
    r = ch_store_image_size (b->s, img, b->req->disk_limit ? b->req->disk_limit : CH_DEFAULT_DISK_LIMIT, &total,
                             err);
  if (r == 0)
    r = ch_store_tag (b->s, pr.name, mdg, (int64_t) msize, CH_MT_OCI_MANIFEST, err);
  ch_image_free (img);
  if (r == 0)
    {
      out->ref = xstrdup (pr.name);
      out->manifest = steal_pointer (&mdg);
      out->image_id = steal_pointer (&cdg);
    }
  ch_ref_free (&pr);
  return r;
}
