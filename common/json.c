#include "json.h"
#include "file.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
ch_json_load_buf (const char *what, const char *buf, size_t len, json_t **out, ch_error_t *err)
{
  json_error_t je;
  json_t *j = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &je);

  if (j == NULL)
    {
      /* jansson quotes the input near the error: kept to one line */
      for (char *p = je.text; *p; p++)
        if ((unsigned char) *p < 0x20)
          *p = ' ';
      return ch_error (err, 0, "%s:%d:%d: invalid JSON: %s", what, je.line, je.column, je.text);
    }
  *out = j;
  return 0;
}

int
ch_json_load_file (const char *path, json_t **out, ch_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;

  if (ch_read_file_max (path, CH_FILE_MAX_CONFIG, &buf, &len, err) < 0)
    return -1;
  return ch_json_load_buf (path, buf, len, out, err);
}

int
ch_json_save_file (const char *path, json_t *j, mode_t mode, ch_error_t *err)
{
  cleanup_free char *s = json_dumps (j, JSON_INDENT (2) | JSON_SORT_KEYS);
  cleanup_free char *line = NULL;

  if (s == NULL)
    return ch_error (err, ENOMEM, "serialize `%s`", path);
  line = xasprintf ("%s\n", s);
  return ch_write_file_atomic (path, line, strlen (line), mode, err);
}

char *
ch_json_dup_str (json_t *o, const char *k)
{
  const char *s = json_string_value (json_object_get (o, k));
  return s ? xstrdup (s) : NULL;
}

char **
ch_json_to_strv (json_t *a)
{
  json_t *v;
  size_t i;
  char **r;

  if (!json_is_array (a))
    return NULL;
  r = xzalloc ((json_array_size (a) + 1) * sizeof (char *));
  json_array_foreach (a, i, v)
    r[i] = xstrdup (json_is_string (v) ? json_string_value (v) : "");
  return r;
}

json_t *
ch_json_from_strv (char *const *v)
{
  json_t *a = json_array ();

  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}
