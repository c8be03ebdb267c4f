/* libFuzzer: the JSON an archive brings (docker-archive manifest.json,
 * oci-archive index.json) through a whole `load` into a scratch store. The
 * input is that document; the harness packs it in an archive with a valid
 * config and an empty layer, under the names the seeds use. Whatever the
 * document says, nothing may land outside the store and a failed load must
 * leave no name behind. */
#include "common/file.h"
#include "common/util.h"
#include "image/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
add (struct archive *a, const char *name, const void *data, size_t len)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, len);
  if (archive_write_header (a, e) != ARCHIVE_OK || (len && archive_write_data (a, data, len) != (la_ssize_t) len))
    abort ();
  archive_entry_free (e);
}

static void
pack (const char *path, const char *doc_name, const uint8_t *data, size_t size)
{
  static const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/x\"]},"
                            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  static const char layer[1024];
  struct archive *a = archive_write_new ();

  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_filename (a, path) != ARCHIVE_OK)
    abort ();
  add (a, "cfg.json", cfg, sizeof (cfg) - 1);
  add (a, "l.tar", layer, sizeof (layer));
  {
    /* the same config and layer as OCI blobs, and a manifest naming them */
    char *cd = ch_digest_buf (cfg, sizeof (cfg) - 1), *ld = ch_digest_buf (layer, sizeof (layer));
    char *man = xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"" CH_MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\""
                           CH_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\""
                           CH_MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
                           cd, sizeof (cfg) - 1, ld, sizeof (layer));
    char *md = ch_digest_buf (man, strlen (man));
    const char *blobs[][2] = { { cd, cfg }, { ld, layer }, { md, man } };
    size_t lens[] = { sizeof (cfg) - 1, sizeof (layer), strlen (man) }, i;
    for (i = 0; i < 3; i++)
      {
        char *n = xasprintf ("blobs/sha256/%s", blobs[i][0] + 7);
        add (a, n, blobs[i][1], lens[i]);
        free (n);
      }
    free (cd);
    free (ld);
    free (md);
    free (man);
  }
  add (a, doc_name, data, size);
  archive_write_close (a);
  archive_write_free (a);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const kinds[][2] = { { "docker-archive", "manifest.json" }, { "oci-archive", "index.json" } };
  char base[] = "/dev/shm/chuted-test-fuzz-import.XXXXXX"; /* tmpfs: fsync is free */
  size_t k;

  if (mkdtemp (base) == NULL)
    abort ();
  for (k = 0; k < 2; k++)
    {
      char *tar = xasprintf ("%s/in.tar", base), *src = xasprintf ("%s:%s", kinds[k][0], tar), *ref = NULL, *md = NULL;
      char *images = xasprintf ("%s/images", base);
      struct ch_store *s = NULL;
      struct ch_unpack_opts uo = { .limit = 1 << 20 };
      ch_error_t e = NULL;
      json_t *idx = NULL;

      pack (tar, kinds[k][1], data, size);
      if (ch_store_open (base, false, &s, &e) < 0)
        abort ();
      if (ch_import (s, src, NULL, "linux/amd64", &uo, &ref, &md, &e) == 0)
        {
          free (ref);
          free (md);
        }
      else
        {
          if (strchr (e->msg, '\n'))
            abort (); /* one line */
          ch_error_release (&e);
          /* a refused load names nothing */
          if (ch_store_index_load (s, &idx, &e) < 0 || json_array_size (json_object_get (idx, "manifests")) != 0)
            abort ();
          json_decref (idx);
        }
      ch_store_free (s);
      if (ch_rm_rf (images, &e) < 0 || unlink (tar) < 0)
        abort ();
      free (images);
      free (tar);
      free (src);
    }
  if (rmdir (base) < 0)
    abort ();
  return 0;
}
