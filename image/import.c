/* Offline import: oci-archive:PATH[:REF], docker-archive:PATH[:REF],
 * oci:DIR[:REF]. Archives are streamed once: every blob goes straight into
 * the store through a digest-checking writer; the few small JSON documents
 * are kept in memory (oci:DIR layouts: import_dir.c). Every blob is bounded
 * by the disk limit before a byte is written; a failed import removes the
 * blobs it added and the layers it unpacked. */
#include "import.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
import_free (struct import *im, bool failed)
{
  size_t i;

  for (i = 0; im->added && im->added[i]; i++)
    if (failed)
      {
        cleanup_free char *p = ch_store_blob_path (im->s, im->added[i]);
        unlink (p);
      }
  ch_strv_free (im->added);
  for (i = 0; i < im->n_named; i++)
    {
      free (im->named[i].name);
      free (im->named[i].digest);
    }
  free (im->named);
  free (im->index_json);
  free (im->manifest_json);
}

/* "PATH[:REF]": the whole thing when it exists, else split at the first ':'. */
static void
split_src (const char *rest, char **path, char **ref)
{
  const char *c;

  *ref = NULL;
  if (access (rest, F_OK) == 0 || (c = strchr (rest, ':')) == NULL)
    {
      *path = xstrdup (rest);
      return;
    }
  *path = xstrndup (rest, c - rest);
  *ref = xstrdup (c + 1);
}

int
ch_import_charge (struct import *im, int64_t size, ch_error_t *err)
{
  if (size < 0)
    return ch_error (err, 0, "blob without a declared size");
  if ((uint64_t) size > im->limit || im->written + size > im->limit)
    return ch_image_error (err, EFBIG, "%lld more bytes of blobs would pass the disk limit of %llu bytes",
                           (long long) size, (unsigned long long) im->limit);
  im->written += size;
  return 0;
}

/* "| 12.3/45.6 MB" as the archive is read, redrawn every MiB; FINAL ends the line. */
static void
show_progress (struct import *im, struct archive *a, bool final)
{
  static const char *const spin = "|/-\\";
  uint64_t got = (uint64_t) archive_filter_bytes (a, -1);

  if (!im->progress || (!final && got < im->shown + (1 << 20)))
    return;
  im->shown = got;
  fprintf (stderr, "\r%c reading %.1f/%.1f MB   ", final ? ' ' : spin[(got >> 20) & 3], got / 1e6, im->total / 1e6);
  if (final)
    fputc ('\n', stderr);
}

/* Stream the current entry of A into a blob; EXPECT may be NULL. */
static int
entry_to_blob (struct import *im, struct archive *a, const char *expect, int64_t size, char **digest,
               ch_error_t *err)
{
  struct ch_blob_writer *w = NULL;
  bool had = expect && ch_store_has_blob (im->s, expect, size);
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;

  if (had)
    {
      *digest = xstrdup (expect);
      return 0;
    }
  if (ch_import_charge (im, size, err) < 0)
    return -1;
  if (ch_blob_writer_new (im->s, expect, size, &w, err) < 0)
    return -1;
  for (;;)
    {
      r = archive_read_data_block (a, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          ch_blob_writer_free (w);
          return ch_error (err, 0, "read: %s", archive_error_string (a));
        }
      if (ch_blob_writer_write (w, buf, len, err) < 0)
        {
          ch_blob_writer_free (w);
          return -1;
        }
      show_progress (im, a, false);
    }
  r = ch_blob_writer_commit (w, digest, err);
  ch_blob_writer_free (w);
  if (r < 0)
    return -1;
  if (!ch_store_has_blob (im->s, *digest, -1))
    return ch_image_error (err, ENOENT, "blob %s vanished", *digest);
  ch_strv_append (&im->added, *digest);
  return 0;
}

static int
entry_to_mem (struct archive *a, const char *name, char **out, size_t *len, ch_error_t *err)
{
  struct ch_buf b = { 0 };
  char chunk[16384];
  la_ssize_t n;

  while ((n = archive_read_data (a, chunk, sizeof (chunk))) > 0)
    {
      if (b.len + n > CH_MAX_JSON_BLOB)
        {
          free (b.data);
          return ch_image_error (err, EFBIG, "`%s` is larger than %u bytes", name, CH_MAX_JSON_BLOB);
        }
      ch_buf_append (&b, chunk, n);
    }
  if (n < 0)
    {
      free (b.data);
      return ch_error (err, 0, "read `%s`: %s", name, archive_error_string (a));
    }
  *len = b.len;
  ch_buf_append (&b, "", 1);
  *out = ch_buf_steal (&b);
  return 0;
}

static int
read_archive (struct import *im, const char *path, ch_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r, ret = 0;

  archive_read_support_filter_gzip (a);
  archive_read_support_filter_none (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_filename (a, path, 128 * 1024) != ARCHIVE_OK)
    {
      ret = ch_error (err, 0, "open `%s`: %s", path, archive_error_string (a));
      goto out;
    }
  if (im->progress)
    {
      struct stat st;
      im->total = stat (path, &st) == 0 ? (uint64_t) st.st_size : 0;
    }
  while ((r = archive_read_next_header (a, &e)) != ARCHIVE_EOF)
    {
      const char *name = archive_entry_pathname (e);
      if (r < ARCHIVE_WARN)
        {
          ret = ch_error (err, 0, "`%s`: %s", path, archive_error_string (a));
          goto out;
        }
      if (name == NULL || archive_entry_filetype (e) != AE_IFREG)
        continue;
      while (ch_has_prefix (name, "./"))
        name += 2;
      if (ch_has_prefix (name, "blobs/sha256/"))
        {
          cleanup_free char *want = xasprintf ("sha256:%s", name + 13), *d = NULL;
          if (!ch_digest_valid (want))
            {
              ret = ch_error (err, 0, "`%s`: blob `%s` is not named by a sha256 digest", path, name);
              goto out;
            }
          if (entry_to_blob (im, a, want, archive_entry_size (e), &d, err) < 0)
            {
              ret = ch_error_prefix (err, "`%s`", path);
              goto out;
            }
          /* docker save >= 25 names these in manifest.json too */
          im->named = xrealloc (im->named, sizeof (*im->named) * (im->n_named + 1));
          im->named[im->n_named++] = (struct named_blob){ xstrdup (name), steal_pointer (&d), archive_entry_size (e) };
        }
      else if (strcmp (name, "index.json") == 0 && im->index_json == NULL)
        ret = entry_to_mem (a, name, &im->index_json, &im->index_len, err);
      else if (strcmp (name, "manifest.json") == 0 && im->manifest_json == NULL)
        ret = entry_to_mem (a, name, &im->manifest_json, &im->manifest_len, err);
      else if (ch_has_suffix (name, ".tar") || ch_has_suffix (name, ".json") || ch_has_suffix (name, ".tar.gz"))
        {
          /* docker-archive layers and config, named by whatever docker/skopeo chose */
          struct named_blob nb = { 0 };
          if (entry_to_blob (im, a, NULL, archive_entry_size (e), &nb.digest, err) < 0)
            {
              ret = ch_error_prefix (err, "`%s` entry `%s`", path, name);
              goto out;
            }
          nb.name = xstrdup (name);
          nb.size = archive_entry_size (e);
          im->named = xrealloc (im->named, sizeof (*im->named) * (im->n_named + 1));
          im->named[im->n_named++] = nb;
        }
      if (ret < 0)
        goto out;
    }
  show_progress (im, a, true);
out:
  archive_read_free (a);
  return ret;
}

int
ch_import_select_from_index (struct import *im, const char *buf, size_t len, const char *ref, const char *platform,
                             char **digest, char **name_out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  json_t *ms, *pick = NULL;
  size_t i;

  if (ch_json_load_buf ("index.json", buf, len, &j, err) < 0)
    return -1;
  ms = json_object_get (j, "manifests");
  if (!json_is_array (ms) || json_array_size (ms) == 0)
    return ch_error (err, 0, "index.json: no manifests");
  for (i = 0; i < json_array_size (ms); i++)
    {
      json_t *m = json_array_get (ms, i);
      const char *r = json_string_value (json_object_get (json_object_get (m, "annotations"), CH_ANN_REF));
      if (ref && r && strcmp (r, ref) == 0)
        pick = m;
    }
  if (ref && pick == NULL)
    return ch_image_error (err, ENOENT, "index.json: no image named `%s`", ref);
  if (pick == NULL && json_array_size (ms) > 1)
    return ch_error (err, 0, "index.json: %zu images; name one as PATH:REF", json_array_size (ms));
  if (pick == NULL)
    pick = json_array_get (ms, 0);
  {
    const char *d = json_string_value (json_object_get (pick, "digest"));
    const char *r = json_string_value (json_object_get (json_object_get (pick, "annotations"), CH_ANN_REF));
    if (!ch_digest_valid (d))
      return ch_error (err, 0, "index.json: unsupported digest `%s` (want sha256:<64 hex>)", d ? d : "(none)");
    if (ch_store_manifest_for_platform (im->s, d, platform, digest, err) < 0)
      return -1;
    *name_out = r ? xstrdup (r) : NULL;
  }
  return 0;
}

static const char *
layer_media_type (struct ch_store *s, const char *digest, ch_error_t *err)
{
  cleanup_free char *p = ch_store_blob_path (s, digest);
  cleanup_close int fd = open (p, O_RDONLY | O_CLOEXEC);
  unsigned char m[4] = { 0 };

  if (fd < 0)
    {
      ch_error (err, errno, "open blob %s", digest);
      return NULL;
    }
  if (read (fd, m, 4) < 0)
    {
      ch_error (err, errno, "read blob %s", digest);
      return NULL;
    }
  if (m[0] == 0x1f && m[1] == 0x8b)
    return CH_MT_OCI_LAYER_GZ;
  if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return CH_MT_OCI_LAYER;
}

static struct named_blob *
find_named (struct import *im, const char *name)
{
  size_t i;
  while (ch_has_prefix (name, "./"))
    name += 2;
  for (i = 0; i < im->n_named; i++)
    if (strcmp (im->named[i].name, name) == 0)
      return &im->named[i];
  return NULL;
}

/* manifest.json of `docker save` / skopeo docker-archive: -> an OCI manifest. */
static int
docker_manifest (struct import *im, const char *ref, char **digest, char **name_out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL, *man = NULL;
  cleanup_free char *text = NULL;
  json_t *pick = NULL, *layers, *e, *l;
  struct named_blob *cfg;
  size_t i, k;

  if (ch_json_load_buf ("manifest.json", im->manifest_json, im->manifest_len, &j, err) < 0)
    return -1;
  if (!json_is_array (j) || json_array_size (j) == 0)
    return ch_error (err, 0, "manifest.json: not a non-empty array");
  json_array_foreach (j, i, e)
  {
    json_t *tags = json_object_get (e, "RepoTags");
    if (ref == NULL && pick == NULL)
      pick = e;
    json_array_foreach (tags, k, l) if (ref && json_string_value (l) && strcmp (json_string_value (l), ref) == 0)
        pick = e;
  }
  if (pick == NULL)
    return ch_image_error (err, ENOENT, "manifest.json: no image tagged `%s`", ref);
  if (!json_is_string (json_object_get (pick, "Config")) || !json_is_array (json_object_get (pick, "Layers")))
    return ch_error (err, 0, "manifest.json: entry without Config or Layers");
  cfg = find_named (im, json_string_value (json_object_get (pick, "Config")));
  if (cfg == NULL)
    return ch_image_error (err, ENOENT, "manifest.json: config `%s` not in the archive",
                     json_string_value (json_object_get (pick, "Config")));
  layers = json_array ();
  man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType", CH_MT_OCI_MANIFEST,
                   "config", "mediaType", CH_MT_OCI_CONFIG, "digest", cfg->digest, "size", (json_int_t) cfg->size,
                   "layers", layers);
  json_array_foreach (json_object_get (pick, "Layers"), i, e)
  {
    const char *ln = json_string_value (e);
    struct named_blob *lb = ln ? find_named (im, ln) : NULL;
    const char *mt;
    cleanup_free char *d = NULL;
    int64_t sz;

    if (lb)
      {
        d = xstrdup (lb->digest);
        sz = lb->size;
      }
    else if (ln && ch_has_prefix (ln, "blobs/sha256/"))
      {
        struct stat st;
        cleanup_free char *p = NULL;
        d = xasprintf ("sha256:%s", ln + 13);
        if (!ch_digest_valid (d) || !ch_store_has_blob (im->s, d, -1))
          return ch_image_error (err, ENOENT, "manifest.json: layer `%s` not in the archive", ln);
        p = ch_store_blob_path (im->s, d);
        if (stat (p, &st) < 0)
          return ch_error (err, errno, "stat blob %s", d);
        sz = st.st_size;
      }
    else
      return ch_image_error (err, ENOENT, "manifest.json: layer `%s` not in the archive", ln ? ln : "?");
    mt = layer_media_type (im->s, d, err);
    if (mt == NULL)
      return -1;
    json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", mt, "digest", d, "size", (json_int_t) sz));
  }
  {
    json_t *tags = json_object_get (pick, "RepoTags");
    const char *t = json_string_value (json_array_get (tags, 0));
    *name_out = ref ? xstrdup (ref) : t ? xstrdup (t) : NULL;
  }
  text = json_dumps (man, JSON_COMPACT);
  if (ch_store_put_blob (im->s, text, strlen (text), digest, err) < 0)
    return -1;
  ch_strv_append (&im->added, *digest);
  return 0;
}

/* An OCI ref.name annotation is "a fully qualified reference or a tag"; the
 * tag form (skopeo's oci:DIR:TAG writes "TAG") has no '/' and no ':' and is
 * no image name by itself: the image takes PATH's base name (lower-cased,
 * its extension dropped, what a repository name may not hold made '-')
 * with that tag, so `load oci:DIR:1` names DIR:1, not 1:latest. */
static char *
name_from_annotation (const char *path, char *name)
{
  cleanup_free char *base = NULL;
  size_t len = strlen (path);
  const char *b;
  char *dot;
  size_t n = 0;

  if (name == NULL || strchr (name, '/') || strchr (name, ':'))
    return name;
  while (len > 1 && path[len - 1] == '/')
    len--;
  b = memrchr (path, '/', len);
  b = b ? b + 1 : path;
  base = xstrndup (b, len - (size_t) (b - path));
  dot = strrchr (base, '.');
  if (dot && dot != base)
    *dot = '\0';
  for (char *p = base; *p; p++)
    {
      char ch = (*p >= 'A' && *p <= 'Z') ? (char) (*p - 'A' + 'a') : *p;
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (n > 0 && (ch == '.' || ch == '_' || ch == '-'));
      if (ok || n > 0)
        base[n++] = ok ? ch : '-';
    }
  base[n] = '\0';
  {
    char *r = xasprintf ("%s:%s", n ? base : "image", name);
    free (name);
    return r;
  }
}

int
ch_import (struct ch_store *s, const char *src, const char *tag, const char *platform,
           const struct ch_unpack_opts *uo, char **ref_out, char **manifest_digest, ch_error_t *err)
{
  struct import im = { .s = s, .limit = uo && uo->limit ? uo->limit : CH_DEFAULT_DISK_LIMIT,
                       .progress = uo && uo->progress };
  cleanup_free char *path = NULL, *ref = NULL, *digest = NULL, *name = NULL, *norm = NULL;
  struct ch_image *img = NULL;
  const char *kind;
  int r = -1;

  if (ch_has_prefix (src, "oci-archive:"))
    kind = "oci-archive";
  else if (ch_has_prefix (src, "docker-archive:"))
    kind = "docker-archive";
  else if (ch_has_prefix (src, "oci:"))
    kind = "oci";
  else
    return ch_error (err, 0, "`%s`: not oci-archive:, docker-archive: or oci:", src);
  split_src (src + strlen (kind) + 1, &path, &ref);
  if (strcmp (kind, "oci") == 0)
    {
      if (ch_import_oci_dir (&im, path, ref, platform, &digest, &name, err) < 0)
        goto out;
    }
  else
    {
      if (read_archive (&im, path, err) < 0)
        goto out;
      if (im.index_json && (strcmp (kind, "oci-archive") == 0 || im.manifest_json == NULL))
        {
          if (ch_import_select_from_index (&im, im.index_json, im.index_len, ref, platform, &digest, &name, err) < 0)
            goto out;
        }
      else if (im.manifest_json)
        {
          if (docker_manifest (&im, ref, &digest, &name, err) < 0)
            goto out;
        }
      else
        {
          ch_error (err, 0, "`%s`: neither index.json nor manifest.json in the archive", path);
          goto out;
        }
    }
  if (strcmp (kind, "docker-archive") != 0)
    name = name_from_annotation (path, name);
  if (tag || name)
    {
      /* the name is checked before any layer is unpacked: a bad one leaves nothing */
      struct ch_ref pr;
      if (ch_ref_parse (tag ? tag : name, &pr, err) < 0)
        goto out;
      norm = xstrdup (pr.name);
      ch_ref_free (&pr);
    }
  if (ch_image_load (s, digest, &img, err) < 0)
    goto out;
  {
    /* unpacked before it gets a name: a hostile layer fails the load, not a later run */
    struct ch_unpack_opts none = { 0 };
    if (ch_store_unpack_image (s, img, uo ? uo : &none, err) < 0)
      goto out;
  }
  {
    cleanup_free char *mbuf = NULL, *mt = NULL;
    size_t mlen;
    if (ch_store_read_blob (s, digest, &mbuf, &mlen, err) < 0 || ch_manifest_kind (mbuf, mlen, &mt, err) < 0
        || ch_store_tag (s, norm, digest, mlen, mt, err) < 0)
      goto out;
    *ref_out = norm ? steal_pointer (&norm) : xstrdup (digest);
  }
  *manifest_digest = steal_pointer (&digest);
  r = 0;
out:
  ch_image_free (img);
  import_free (&im, r < 0);
  if (r < 0)
    return ch_error_prefix (err, "load %s", src);
  return 0;
}
