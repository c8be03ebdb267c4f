/* The REST API's readers of client input (mgmt/api_parse.h). */
#include "mgmt/api_parse.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"
#include "netns/wifi.h"

#include <string.h>
#include <strings.h>

/* A client's text echoed in an error only when it keeps the error one line. */
static bool
printable (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

char **
dm_split_path (const char *path)
{
  cleanup_free char *copy = xstrdup (path);
  char **v = xzalloc (sizeof (char *));
  size_t n = strlen (copy);
  char *p = copy, *slash;

  if (n && copy[n - 1] == '/')
    copy[n - 1] = '\0';
  while (*p)
    {
      slash = strchr (p, '/');
      if (slash)
        *slash = '\0';
      if (*p == '\0')
        {
          ch_strv_free (v);
          return NULL;
        }
      ch_strv_append (&v, p);
      if (!slash)
        break;
      p = slash + 1;
      if (*p == '\0')
        {
          ch_strv_free (v);
          return NULL;
        }
    }
  return v;
}

void
dm_content_type (const char *ct, bool *package, bool *gzip, bool *json)
{
  static const char *const types[] = { "application/x-tar", "application/gzip", "application/x-gzip",
                                       "application/x-compressed-tar", "application/octet-stream", NULL };

  *package = false;
  for (const char *const *t = types; ct && *t && !*package; t++)
    *package = strncasecmp (ct, *t, strlen (*t)) == 0;
  *gzip = *package && strcasestr (ct, "gzip") != NULL;
  *json = ct && strncasecmp (ct, "application/json", 16) == 0;
}

int
dm_parse_chute_body (const char *body, size_t len, bool json, char **text, size_t *text_len, const char **title,
                     ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  json_t *cfg;
  char *s;

  *text = NULL;
  *title = "bad request";
  if (!json)
    {
      if (len == 0)
        return ch_error (err, 0, "the body is empty: send a chute.yaml, JSON {\"config\": ...} or a chute package");
      /* the chute file's parser reads LEN bytes of its text */
      if (memchr (body, '\0', len))
        return ch_error (err, 0, "the body holds a NUL byte: a chute file is text");
      *text_len = len;
      *text = xstrndup (body, len);
      return 0;
    }
  if (ch_json_load_buf ("body", body ? body : "", len, &j, err) < 0)
    {
      *title = "bad JSON";
      return -1;
    }
  cfg = json_object_get (j, "config");
  if (json_is_string (cfg))
    s = xstrndup (json_string_value (cfg), json_string_length (cfg));
  else if (json_is_object (cfg))
    s = json_dumps (cfg, JSON_INDENT (2));
  else
    return ch_error (err, 0, "want {\"config\": a chute file, as an object or as YAML text}");
  *text_len = strlen (s);
  *text = s;
  return 0;
}

int
dm_parse_if_match (const char *h, int64_t *asked, ch_error_t *err)
{
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *v = NULL;
  size_t n;

  *asked = 0;
  if (h == NULL || strcmp (h, "*") == 0)
    return 0;
  if (ch_has_prefix (h, "W/"))
    h += 2;
  v = xstrdup (h);
  n = strlen (v);
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
    {
      memmove (v, v + 1, n - 2);
      v[n - 2] = '\0';
    }
  if (ch_parse_int (v, 1, INT64_MAX, asked, &e) < 0)
    return ch_error (err, 0, "If-Match `%s`: want the chute's generation", printable (h) ? h : "?");
  return 1;
}

int
dm_parse_tail (const char *q, int64_t *tail, ch_error_t *err)
{
  *tail = -1;
  if (q == NULL || strcmp (q, "all") == 0)
    return 0;
  if (!printable (q))
    return ch_error (err, 0, "tail: want a number of lines or `all`");
  if (ch_parse_int (q, 0, INT32_MAX, tail, err) < 0)
    return ch_error_prefix (err, "tail=%s", q);
  return 0;
}

size_t
dm_tail_start (const char *s, size_t len, int64_t tail)
{
  size_t i = len;
  int64_t lines = 0;

  if (tail < 0)
    return 0;
  if (tail == 0)
    return len;
  if (i > 0 && s[i - 1] == '\n')
    i--;
  for (; i > 0; i--)
    if (s[i - 1] == '\n' && ++lines == tail)
      return i;
  return 0;
}

int
dm_parse_ssid_body (const char *body, size_t len, char **ssid, const char **title, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  struct ch_wifi_config cfg = { 0 };
  const char *s;
  int rc;

  *ssid = NULL;
  *title = "bad request";
  if (ch_json_load_buf ("the body", body ? body : "", len, &j, err) < 0)
    return ch_error_prefix (err, "want a JSON object {\"ssid\": NAME}");
  if (!json_is_object (j))
    return ch_error (err, 0, "want a JSON object {\"ssid\": NAME}");
  s = json_string_value (json_object_get (j, "ssid"));
  if (s == NULL || json_object_size (j) != 1)
    return ch_error (err, 0, "want {\"ssid\": NAME} and nothing else");
  *title = "bad ssid";
  rc = ch_wifi_parse_kv ("ssid", s, &cfg, err);
  ch_wifi_config_clear (&cfg);
  if (rc < 0)
    return -1;
  /* a comma would split the chute's record (its --wifi spec) */
  if (strchr (s, ','))
    return ch_error (err, 0, "ssid `%s`: a comma is not allowed", s);
  *ssid = xstrdup (s);
  return 0;
}
