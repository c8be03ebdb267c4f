/* Progress of a fetch on the record pipe (record.c): before its one result
 * an image program may send progress records, one JSON object a line,
 *   {"type":"progress","bytes":N,"total":M}
 * so that a pull's bytes reach whoever waits on it (chuted-image-pull to
 * chuted-image to the deploy engine) through the pipe the result takes. */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
ch_image_progress_send (int fd, uint64_t bytes, uint64_t total, ch_error_t *err)
{
  cleanup_json json_t *j = json_pack ("{s:s, s:I, s:I}", "type", "progress", "bytes", (json_int_t) bytes, "total",
                                      (json_int_t) total);
  cleanup_free char *s = json_dumps (j, JSON_COMPACT);
  cleanup_free char *line = xasprintf ("%s\n", s);

  return ch_write_all (fd, line, strlen (line), err);
}

/* LINE (LEN bytes) a progress record? Then 1, its numbers in *BYTES, *TOTAL. */
static int
progress_record (const char *line, size_t len, uint64_t *bytes, uint64_t *total)
{
  cleanup_json json_t *j = NULL;
  json_t *b, *t;

  /* a result never starts so: its first member is "status" */
  if (len < 9 || memcmp (line, "{\"type\":", 8) != 0)
    return 0;
  j = json_loadb (line, len, 0, NULL);
  b = json_object_get (j, "bytes");
  t = json_object_get (j, "total");
  if (strcmp (json_string_value (json_object_get (j, "type")) ?: "", "progress") != 0 || !json_is_integer (b)
      || !json_is_integer (t) || json_integer_value (b) < 0 || json_integer_value (t) < 0)
    return 0;
  *bytes = json_integer_value (b);
  *total = json_integer_value (t);
  return 1;
}

int
ch_image_records_recv (int fd, const char *from, ch_image_progress_fn fn, void *data, struct ch_image_result *out,
                       ch_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0, start = 0;

  memset (out, 0, sizeof (*out));
  for (;;)
    {
      ssize_t n;
      char *nl;
      if (cap - len < 4096)
        {
          cap = cap ? cap * 2 : 8192;
          if (cap > CH_MAX_JSON_BLOB * 4)
            return ch_error (err, EFBIG, "%s: its record is too long", from);
          buf = xrealloc (buf, cap);
        }
      n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ch_error (err, errno, "%s: read its record", from);
      if (n == 0)
        break;
      len += n;
      /* progress records as they come; what follows the last is the result */
      while ((nl = memchr (buf + start, '\n', len - start)) != NULL)
        {
          uint64_t bytes, total;
          size_t l = nl - (buf + start);
          if (!progress_record (buf + start, l, &bytes, &total))
            break;
          if (fn)
            fn (data, bytes, total);
          start += l + 1;
        }
      if (start > 0)
        {
          memmove (buf, buf + start, len - start);
          len -= start;
          start = 0;
        }
    }
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    len--;
  if (len == 0)
    return ch_error (err, 0, "%s gave no result", from);
  if (ch_image_result_decode (buf, len, out, err) < 0)
    return ch_error_prefix (err, "%s", from);
  return 0;
}
