#include "error.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ch_verror (ch_error_t *err, int errnum, const char *fmt, va_list ap)
{
  cleanup_free char *msg = xvasprintf (fmt, ap);

  ch_error_release (err);
  *err = xmalloc (sizeof (**err));
  (*err)->status = errnum;
  (*err)->msg = errnum ? xasprintf ("%s: %s", msg, strerror (errnum)) : xstrdup (msg);
  return -1;
}

int
ch_error (ch_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  ch_verror (err, errnum, fmt, ap);
  va_end (ap);
  return -1;
}

int
ch_error_prefix (ch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *prefix = NULL;
  char *msg;

  if (*err == NULL)
    return ch_error (err, 0, "internal error: no error to prefix");
  va_start (ap, fmt);
  prefix = xvasprintf (fmt, ap);
  va_end (ap);
  msg = xasprintf ("%s: %s", prefix, (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

void
ch_error_release (ch_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
ch_error_print (ch_error_t *err, const char *prog)
{
  if (*err == NULL)
    return;
  fprintf (stderr, "%s: %s\n", prog, (*err)->msg);
  ch_error_release (err);
}
