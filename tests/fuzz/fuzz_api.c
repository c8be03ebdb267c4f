/* libFuzzer: what the REST API reads from a client (mgmt/api_parse.c), the
 * input taken as each in turn: a request body (a chute file as it is, or
 * JSON {config} whose chute file then goes to chute.yaml's parser, as the
 * daemon's deploy does), a PUT .../ssid body, a path under /api/v1/, a
 * Content-Type, an If-Match header, ?tail= and the log text it cuts. Whatever
 * the input, each returns; a refusal is one line, and what is accepted holds
 * what the handlers rely on. */
#include "common/util.h"
#include "mgmt/api_parse.h"
#include "mgmt/manifest.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
one_line (ch_error_t *e)
{
  if (*e == NULL || (*e)->msg[0] == '\0' || strchr ((*e)->msg, '\n'))
    abort ();
  ch_error_release (e);
}

static void
chute_body (const char *s, size_t size, bool json)
{
  ch_error_t e = NULL;
  const char *title = NULL;
  char *text;
  size_t len;

  if (dm_parse_chute_body (s, size, json, &text, &len, &title, &e) < 0)
    {
      if (text != NULL || title == NULL)
        abort ();
      one_line (&e);
      return;
    }
  if (text == NULL || (!json && (len != size || memcmp (text, s, size) != 0)))
    abort ();
  if (json)
    {
      struct ch_chutefile m;
      if (ch_chutefile_parse ("chute.yaml", text, len, &m, &e) == 0)
        ch_chutefile_check (&m, &e);
      ch_error_release (&e);
      ch_chutefile_clear (&m);
    }
  free (text);
}

static void
ssid_body (const char *s, size_t size)
{
  ch_error_t e = NULL;
  const char *title;
  char *ssid;

  if (dm_parse_ssid_body (s, size, &ssid, &title, &e) < 0)
    {
      if (ssid != NULL)
        abort ();
      one_line (&e);
      return;
    }
  if (strchr (ssid, ',') || strlen (ssid) == 0)
    abort ();
  free (ssid);
}

/* Accepted parts are non-empty, slash-free and join back to the path. */
static void
path (const char *s)
{
  cleanup_strv char **seg = dm_split_path (s);
  cleanup_free char *joined = NULL;
  size_t n = strlen (s);

  if (seg == NULL)
    return;
  for (size_t i = 0; seg[i]; i++)
    {
      if (seg[i][0] == '\0' || strchr (seg[i], '/'))
        abort ();
      char *j = joined ? xasprintf ("%s/%s", joined, seg[i]) : xstrdup (seg[i]);
      free (joined);
      joined = j;
    }
  if (n && s[n - 1] == '/')
    n--;
  if ((joined ? strlen (joined) : 0) != n || (n && strncmp (joined, s, n) != 0))
    abort ();
}

static void
if_match (const char *s)
{
  ch_error_t e = NULL;
  int64_t asked = -1, again = -1;
  char tag[32];
  int r = dm_parse_if_match (s, &asked, &e);

  if (r < 0)
    {
      one_line (&e);
      return;
    }
  if (r == 0 ? asked != 0 : asked < 1)
    abort ();
  /* the ETag a GET sends parses back to its generation */
  if (r == 1)
    {
      snprintf (tag, sizeof (tag), "\"%" PRId64 "\"", asked);
      if (dm_parse_if_match (tag, &again, &e) != 1 || again != asked)
        abort ();
    }
}

/* The cut starts a line and leaves at most TAIL whole lines. */
static void
tail (const char *q, const char *s, size_t size)
{
  ch_error_t e = NULL;
  int64_t t, lines = 0;
  size_t start, end = size;

  if (dm_parse_tail (q, &t, &e) < 0)
    {
      one_line (&e);
      t = 2;
    }
  start = dm_tail_start (s, size, t);
  if (start > size || (start > 0 && start < size && s[start - 1] != '\n'))
    abort ();
  if (end > 0 && s[end - 1] == '\n')
    end--;
  for (size_t i = start; i < end; i++)
    lines += s[i] == '\n';
  if (t >= 0 && start < end && lines >= t)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  cleanup_free char *s = xstrndup ((const char *) data, size);
  bool package, gzip, json;

  chute_body ((const char *) data, size, true);
  chute_body ((const char *) data, size, false);
  ssid_body ((const char *) data, size);
  /* headers and the path are C strings: up to the first NUL */
  path (s);
  dm_content_type (s, &package, &gzip, &json);
  if ((gzip && !package) || (package && json))
    abort ();
  if_match (s);
  tail (s, (const char *) data, size);
  return 0;
}
