/* The build cache: ROOT/images/build-cache/<key>, one small JSON file per
 * step that changed the filesystem, naming the layer it made ({"layer":
 * DIGEST, "size": N} or {"layer": null} for a step that changed nothing).
 * The key is the sha256 of the parent chain (the base image's manifest and
 * every instruction since, as expanded) and the step's own text, which for
 * COPY/ADD includes the digest of the files it copies. An entry whose blob
 * gc removed is a miss; one whose layer is not unpacked is unpacked. */
#include "image/dockerfile_int.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *
ch_bcache_key (const char *chain, const char *what)
{
  cleanup_free char *s = xasprintf ("%s\n%s", chain, what);
  return ch_digest_buf (s, strlen (s));
}

static char *
entry_path (struct builder *b, const char *key)
{
  return xasprintf ("%s/build-cache/%s", b->s->dir, key + 7);
}

static int
cache_get (struct builder *b, const char *key, struct ch_layer *out, char **created, ch_error_t *err)
{
  cleanup_free char *p = entry_path (b, key), *buf = NULL;
  cleanup_json json_t *j = NULL;
  cleanup_error ch_error_t e = NULL;
  struct ch_unpack_opts uo = { .limit = b->req->disk_limit };
  json_t *l;
  uint64_t sz;
  size_t len;

  memset (out, 0, sizeof (*out));
  if (b->req->no_cache || ch_read_file_max (p, 4096, &buf, &len, &e) < 0
      || ch_json_load_buf ("build cache entry", buf, len, &j, &e) < 0)
    return 0;
  l = json_object_get (j, "layer");
  if (json_is_string (json_object_get (j, "created")))
    *created = xstrdup (json_string_value (json_object_get (j, "created")));
  if (json_is_null (l))
    return 1;
  if (!ch_digest_valid (json_string_value (l)) || !json_is_integer (json_object_get (j, "size")))
    return 0;
  out->digest = xstrdup (json_string_value (l));
  out->size = json_integer_value (json_object_get (j, "size"));
  out->media_type = xstrdup (CH_MT_OCI_LAYER);
  if (!ch_store_has_blob (b->s, out->digest, out->size))
    goto miss;
  if (ch_store_layer_size (b->s, out->digest, &sz) < 0 && ch_store_unpack_layer (b->s, out, &uo, &sz, err) < 0)
    {
      free (out->digest);
      free (out->media_type);
      memset (out, 0, sizeof (*out));
      free (*created);
      *created = NULL;
      return -1;
    }
  return 1;
miss:
  free (*created);
  *created = NULL;
  free (out->digest);
  free (out->media_type);
  memset (out, 0, sizeof (*out));
  return 0;
}

static void
cache_put (struct builder *b, const char *key, const struct ch_layer *l, const char *created)
{
  cleanup_free char *dir = xasprintf ("%s/build-cache", b->s->dir), *p = entry_path (b, key), *s = NULL;
  cleanup_json json_t *j = NULL;
  cleanup_error ch_error_t e = NULL;

  if (l->digest)
    j = json_pack ("{s:s, s:I, s:s}", "layer", l->digest, "size", (json_int_t) l->size, "created", created);
  else
    j = json_pack ("{s:n, s:s}", "layer", "created", created);
  s = json_dumps (j, JSON_COMPACT);
  /* a cache that cannot be written only costs the next build time */
  if (ch_mkdir_p (dir, 0700, &e) < 0 || ch_write_file_atomic (p, s, strlen (s), 0600, &e) < 0)
    fprintf (stderr, "chuted-image: warning: build cache: %s\n", e->msg);
}

int
ch_build_step (struct builder *b, struct bstage *st, const char *text, const char *key_text, ch_build_make_fn make,
               void *data, ch_error_t *err)
{
  cleanup_free char *key = ch_bcache_key (st->chain, key_text), *created = NULL;
  struct ch_layer l;
  bool empty = false;
  int hit = cache_get (b, key, &l, &created, err);

  if (hit < 0)
    return -1;
  if (hit)
    {
      b->cached++;
      printf ("--> cached\n");
    }
  else
    {
      if (make (b, st, data, &l, &empty, err) < 0)
        return -1;
      free (created);
      created = ch_rfc3339 (time (NULL), -1);
      cache_put (b, key, &l, created);
    }
  /* the time the layer was first made, not this build's: a rebuild from
   * the cache gives the same image, byte for byte */
  if (created)
    {
      free (st->created);
      st->created = steal_pointer (&created);
    }
  if (l.digest)
    ch_bstage_add_layer (st, &l, text);
  else
    ch_bstage_history (st, text);
  free (st->chain);
  st->chain = steal_pointer (&key);
  free (l.digest);
  free (l.media_type);
  return 0;
}

void
ch_build_cache_prune (struct ch_store *s)
{
  cleanup_free char *dir = xasprintf ("%s/build-cache", s->dir);
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  while (d && (de = readdir (d)))
    {
      cleanup_free char *buf = NULL;
      cleanup_json json_t *j = NULL;
      cleanup_error ch_error_t e = NULL;
      const char *l;
      size_t len;

      if (de->d_name[0] == '.')
        continue;
      if (ch_read_file_at_max (dirfd (d), de->d_name, 4096, &buf, &len, &e) == 0
          && ch_json_load_buf ("build cache entry", buf, len, &j, &e) == 0
          && (json_is_null (json_object_get (j, "layer"))
              || ((l = json_string_value (json_object_get (j, "layer"))) && ch_digest_valid (l)
                  && ch_store_has_blob (s, l, json_integer_value (json_object_get (j, "size"))))))
        continue;
      (void) unlinkat (dirfd (d), de->d_name, 0);
    }
}
