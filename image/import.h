/* Shared by the two halves of the offline import: import.c (archives, the
 * entry point) and import_dir.c (oci:DIR layouts). */
#ifndef CH_IMAGE_IMPORT_H
#define CH_IMAGE_IMPORT_H

#include "internal.h"

struct named_blob
{
  char *name, *digest;
  int64_t size;
};

struct import
{
  struct ch_store *s;
  uint64_t limit;   /* the disk limit: no blob, nor all this import writes, may pass it */
  uint64_t written; /* bytes of blobs written so far */
  char **added; /* blobs this import created: removed if it fails */
  struct named_blob *named;
  size_t n_named;
  char *index_json, *manifest_json;
  size_t index_len, manifest_len;
  bool progress;      /* a progress line on stderr */
  uint64_t total;     /* the archive's size, for it */
  uint64_t shown;     /* bytes read when it was last drawn */
};
/* SIZE more bytes of blobs, refused before a byte is written when they would
 * pass the disk limit (a small compressed archive can declare huge entries). */
int ch_import_charge (struct import *im, int64_t size, ch_error_t *err);
/* Pick the entry named REF (or the only one) from an OCI index document. */
int ch_import_select_from_index (struct import *im, const char *buf, size_t len, const char *ref, const char *platform,
                                 char **digest, char **name_out, ch_error_t *err);
/* oci:DIR: copy what REF (NULL: the only image) needs into the store. */
int ch_import_oci_dir (struct import *im, const char *dir, const char *ref, const char *platform, char **digest,
                       char **name_out, ch_error_t *err);

#endif
