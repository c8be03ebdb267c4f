#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xzalloc (size_t n)
{
  void *p = calloc (1, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrndup (const char *s, size_t n)
{
  char *r = strndup (s, n);
  if (r == NULL)
    abort ();
  return r;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
  char *r;
  if (vasprintf (&r, fmt, ap) < 0)
    abort ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *r;
  va_start (ap, fmt);
  r = xvasprintf (fmt, ap);
  va_end (ap);
  return r;
}

void
ch_freep (void *p)
{
  free (*(void **) p);
}

void
ch_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

void
ch_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
  *f = NULL;
}

void
ch_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
  *d = NULL;
}

void
ch_strvfreep (char ***v)
{
  ch_strv_free (*v);
  *v = NULL;
}

bool
ch_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
ch_has_suffix (const char *s, const char *suffix)
{
  size_t ls = strlen (s), lf = strlen (suffix);
  return ls >= lf && strcmp (s + ls - lf, suffix) == 0;
}

bool
ch_strv_contains (char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

size_t
ch_strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **
ch_strv_dup (char *const *v)
{
  size_t n = ch_strv_len (v);
  char **r = xzalloc ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
ch_strv_append (char ***v, const char *s)
{
  size_t n = ch_strv_len (*v);
  *v = xrealloc (*v, (n + 2) * sizeof (char *));
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

void
ch_strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
ch_buf_append (struct ch_buf *b, const void *data, size_t len)
{
  if (b->len + len + 1 > b->cap)
    {
      b->cap = (b->len + len + 1) * 2;
      b->data = xrealloc (b->data, b->cap);
    }
  memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void
ch_buf_printf (struct ch_buf *b, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *s = NULL;
  va_start (ap, fmt);
  s = xvasprintf (fmt, ap);
  va_end (ap);
  ch_buf_append (b, s, strlen (s));
}

char *
ch_buf_steal (struct ch_buf *b)
{
  char *r = b->data ? b->data : xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return r;
}

char *
ch_rfc3339 (time_t sec, long nsec)
{
  struct tm tm;

  gmtime_r (&sec, &tm);
  if (nsec >= 0)
    return xasprintf ("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min, tm.tm_sec, nsec);
  return xasprintf ("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                    tm.tm_min, tm.tm_sec);
}

char *
ch_quote (const char *s, size_t max)
{
  struct ch_buf b = { 0 };
  size_t i;

  for (i = 0; s[i] && i < max; i++)
    {
      unsigned char ch = (unsigned char) s[i];
      if (ch == '\\' || ch == '`')
        ch_buf_printf (&b, "\\%c", ch);
      else if (ch == '\n')
        ch_buf_printf (&b, "\\n");
      else if (ch < 0x20 || ch >= 0x7f)
        ch_buf_printf (&b, "\\x%02x", ch);
      else
        ch_buf_append (&b, &s[i], 1);
    }
  if (s[i])
    ch_buf_printf (&b, "...");
  return ch_buf_steal (&b);
}

int64_t
ch_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
