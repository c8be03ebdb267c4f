#include "runtime/report.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ch_report_write (int fd, const struct ch_report *r, ch_error_t *err)
{
  cleanup_free char *line = NULL;

  switch (r->kind)
    {
    case CH_REPORT_LISTENING:
      line = xstrdup ("listening\n");
      break;
    case CH_REPORT_READY:
      line = xasprintf ("ready %d\n", (int) r->pid);
      break;
    case CH_REPORT_ERROR:
      line = xasprintf ("error %d %s\n", r->code, r->msg && *r->msg ? r->msg : "unknown error");
      /* one record, one line */
      for (char *p = strchr (line, '\n'); p && p[1]; p = strchr (p, '\n'))
        *p = ' ';
      break;
    }
  return ch_write_all (fd, line, strlen (line), err);
}

void
ch_report_error (int fd, int code, ch_error_t *err)
{
  struct ch_report r = { .kind = CH_REPORT_ERROR, .code = code, .msg = *err ? (*err)->msg : NULL };
  cleanup_error ch_error_t e = NULL;

  if (fd < 0)
    return;
  signal (SIGPIPE, SIG_IGN); /* the reader may be gone; we _exit right after */
  ch_report_write (fd, &r, &e);
}

static int
parse_int (const char *s, long lo, long hi, const char **end, long *out)
{
  char *e;

  errno = 0;
  *out = strtol (s, &e, 10);
  if (e == s || errno || *out < lo || *out > hi)
    return -1;
  *end = e;
  return 0;
}

int
ch_report_parse (const char *line, struct ch_report *r, ch_error_t *err)
{
  const char *end;
  long v;

  memset (r, 0, sizeof (*r));
  if (strcmp (line, "listening") == 0)
    {
      r->kind = CH_REPORT_LISTENING;
      return 0;
    }
  if (ch_has_prefix (line, "ready ") && parse_int (line + 6, 1, INT_MAX, &end, &v) == 0 && *end == '\0')
    {
      r->kind = CH_REPORT_READY;
      r->pid = (pid_t) v;
      return 0;
    }
  if (ch_has_prefix (line, "error ") && parse_int (line + 6, 1, 255, &end, &v) == 0 && *end == ' ')
    {
      r->kind = CH_REPORT_ERROR;
      r->code = (int) v;
      r->msg = xstrdup (end + 1);
      return 0;
    }
  return ch_error (err, EPROTO, "malformed start report `%.80s`", line);
}

int
ch_report_first (const char *text, struct ch_report *r, ch_error_t *err)
{
  const char *p = text;

  while (*p)
    {
      const char *nl = strchr (p, '\n');
      size_t n = nl ? (size_t) (nl - p) : strlen (p);
      if (n > 0)
        {
          cleanup_free char *line = xstrndup (p, n);
          return ch_report_parse (line, r, err) < 0 ? -1 : 1;
        }
      p += n + (nl ? 1 : 0);
    }
  return 0;
}

void
ch_report_clear (struct ch_report *r)
{
  free (r->msg);
  r->msg = NULL;
}
