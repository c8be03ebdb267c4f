/* Blobs enter the store only through this writer: a temp file in tmp/,
 * hashed as it is written, renamed into blobs/sha256 only once its digest
 * and size check out. That is why reading a stored blob back
 * (ch_store_read_blob) does not hash it again. */
#include "internal.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ch_blob_writer
{
  struct ch_store *s;
  int fd;
  char *tmp_path;
  char *expect_digest;
  int64_t expect_size;
  uint64_t size;
  struct ch_hash *hash;
};

int
ch_blob_writer_new (struct ch_store *s, const char *expect_digest, int64_t expect_size, struct ch_blob_writer **out,
                    ch_error_t *err)
{
  struct ch_blob_writer *w;

  if (expect_digest && !ch_digest_valid (expect_digest))
    return ch_error (err, 0, "invalid digest `%s` (want sha256:<64 hex>)", expect_digest);
  w = xzalloc (sizeof (*w));
  w->s = s;
  w->tmp_path = ch_store_tmp_template (s, "blob");
  w->fd = mkostemp (w->tmp_path, O_CLOEXEC);
  if (w->fd < 0)
    {
      int e = errno;
      free (w->tmp_path);
      free (w);
      return ch_error (err, e, "create temp blob in `%s`", s->tmp);
    }
  w->expect_digest = expect_digest ? xstrdup (expect_digest) : NULL;
  w->expect_size = expect_size;
  w->hash = ch_hash_new ();
  *out = w;
  return 0;
}

int
ch_blob_writer_write (struct ch_blob_writer *w, const void *data, size_t len, ch_error_t *err)
{
  if (w->expect_size >= 0 && w->size + len > (uint64_t) w->expect_size)
    return ch_error (err, 0, "blob %s: more than the %lld bytes declared", w->expect_digest ? w->expect_digest : "",
                     (long long) w->expect_size);
  if (ch_write_all (w->fd, data, len, err) < 0)
    return ch_error_prefix (err, "write blob");
  ch_hash_update (w->hash, data, len);
  w->size += len;
  return 0;
}

uint64_t
ch_blob_writer_size (struct ch_blob_writer *w)
{
  return w->size;
}

int
ch_blob_writer_commit (struct ch_blob_writer *w, char **digest_out, ch_error_t *err)
{
  cleanup_free char *got = ch_hash_final (w->hash);
  cleanup_free char *final = NULL;
  const char *name = w->expect_digest ? w->expect_digest : got;

  if (w->expect_size >= 0 && w->size != (uint64_t) w->expect_size)
    return ch_error (err, 0, "blob %s: truncated: %llu of %lld bytes", name, (unsigned long long) w->size,
                     (long long) w->expect_size);
  if (w->expect_digest && strcmp (got, w->expect_digest) != 0)
    return ch_error (err, 0, "blob %s: digest mismatch (content is %s)", w->expect_digest, got);
  if (fchmod (w->fd, 0644) < 0)
    return ch_error (err, errno, "chmod blob %s", got);
  final = ch_store_blob_path (w->s, got);
  if (rename (w->tmp_path, final) < 0)
    return ch_error (err, errno, "rename blob %s into place", got);
  free (w->tmp_path);
  w->tmp_path = NULL;
  if (digest_out)
    *digest_out = steal_pointer (&got);
  return 0;
}

void
ch_blob_writer_free (struct ch_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close (w->fd);
  if (w->tmp_path)
    unlink (w->tmp_path);
  free (w->tmp_path);
  free (w->expect_digest);
  ch_hash_free (w->hash);
  free (w);
}

int
ch_store_put_blob (struct ch_store *s, const void *data, size_t len, char **digest_out, ch_error_t *err)
{
  struct ch_blob_writer *w = NULL;
  int r;

  if (ch_blob_writer_new (s, NULL, -1, &w, err) < 0)
    return -1;
  r = ch_blob_writer_write (w, data, len, err);
  if (r == 0)
    r = ch_blob_writer_commit (w, digest_out, err);
  ch_blob_writer_free (w);
  return r;
}
