#include "util.h"

#include <inttypes.h>
#include <stdio.h>
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

/* The calendar date of day DAYS since 1970-01-01 (proleptic Gregorian; H.
 * Hinnant's days_from_civil inverse). Not gmtime_r: in a static program
 * (the monitor, the runtime) glibc's gmtime brings tzset, its /etc/localtime
 * read and scanf, ~50 KB of pages every chute's monitor would map. */
static void
civil_from_days (int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned) (z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;

  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

void
ch_rfc3339_fmt (char *buf, size_t len, time_t sec, long nsec)
{
  int64_t days = sec / 86400, s = sec % 86400, y;
  unsigned m, d;

  if (s < 0)
    {
      s += 86400;
      days--;
    }
  civil_from_days (days, &y, &m, &d);
  if (nsec >= 0)
    snprintf (buf, len, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%09ldZ", y, m, d, (int) (s / 3600),
              (int) (s / 60 % 60), (int) (s % 60), nsec);
  else
    snprintf (buf, len, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int) (s / 3600), (int) (s / 60 % 60),
              (int) (s % 60));
}

char *
ch_rfc3339 (time_t sec, long nsec)
{
  char buf[CH_RFC3339_LEN];

  ch_rfc3339_fmt (buf, sizeof (buf), sec, nsec);
  return xstrdup (buf);
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
