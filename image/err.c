/* Errors that carry an errno-like class (for callers to branch on) but
 * whose message is ours alone, without strerror's text. */
#include "internal.h"

#include <stdarg.h>

int
ch_image_error (ch_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  ch_verror (err, 0, fmt, ap);
  va_end (ap);
  (*err)->status = status;
  return -1;
}
