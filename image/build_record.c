/* The record of a failed build, as chuted-image build sends it to the
 * deploy engine: the failing step as fields, not as text to scrape. Only
 * jansson here, so that chuted (which must not load libarchive) links it. */
#include "image/dockerfile.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <string.h>

/* A line of a program's output as a JSON string: bytes that are not UTF-8 become '?' */
static json_t *
text_line (const char *p, size_t n)
{
  json_t *s = json_stringn (p, n);
  cleanup_free char *c = NULL;

  if (s)
    return s;
  c = xstrndup (p, n);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char) c[i] >= 0x80 || c[i] == '\0')
      c[i] = '?';
  return json_stringn (c, n);
}

json_t *
ch_build_failure_json (const struct ch_build_result *r, const char *message)
{
  json_t *j = json_pack ("{s:s, s:s}", "kind", "build", "message", message ? message : "build failed");

  if (r->instruction)
    {
      json_object_set_new (j, "file", json_string (r->file));
      json_object_set_new (j, "line", json_integer (r->line));
      json_object_set_new (j, "instruction", json_string (r->instruction));
    }
  if (r->run_code > 0)
    json_object_set_new (j, "exit_code", json_integer (r->run_code));
  if (r->output && *r->output)
    {
      json_t *lines = json_array ();
      const char *p = r->output, *end = p + strlen (p), *nl;
      size_t n = 1, skip;
      /* a full tail may begin inside a line: that part goes */
      if ((size_t) (end - p) >= CH_BUILD_TAIL && (nl = memchr (p, '\n', (size_t) (end - p))) != NULL)
        p = nl + 1;
      while (end > p && end[-1] == '\n')
        end--;
      for (const char *q = p; q < end; q++)
        n += *q == '\n';
      for (skip = n > CH_BUILD_TAIL_LINES ? n - CH_BUILD_TAIL_LINES : 0; p < end; p = nl ? nl + 1 : end)
        {
          nl = memchr (p, '\n', (size_t) (end - p));
          if (skip)
            skip--;
          else
            json_array_append_new (lines, text_line (p, (size_t) ((nl ? nl : end) - p)));
        }
      json_object_set_new (j, "output", lines);
    }
  return j;
}

json_t *
ch_build_failure_check (json_t *j)
{
  static const char *const strings[] = { "kind", "file", "instruction" };
  static const char *const ints[] = { "line", "exit_code" };
  json_t *out, *v, *o;
  size_t i;

  if (!json_is_object (j) || !json_is_string (json_object_get (j, "message")))
    return NULL;
  out = json_pack ("{s:O}", "message", json_object_get (j, "message"));
  for (i = 0; i < sizeof (strings) / sizeof (strings[0]); i++)
    if (json_is_string (v = json_object_get (j, strings[i])))
      json_object_set (out, strings[i], v);
  for (i = 0; i < sizeof (ints) / sizeof (ints[0]); i++)
    if (json_is_integer (v = json_object_get (j, ints[i])))
      json_object_set (out, ints[i], v);
  if (json_is_array (o = json_object_get (j, "output")))
    {
      json_t *lines = json_array ();
      json_array_foreach (o, i, v)
        if (json_is_string (v) && i < CH_BUILD_TAIL_LINES)
          json_array_append (lines, v);
      json_object_set_new (out, "output", lines);
    }
  return out;
}

int
ch_build_record_send (int fd, json_t *rec, ch_error_t *err)
{
  cleanup_free char *text = json_dumps (rec, JSON_COMPACT);
  cleanup_free char *line = xasprintf ("%s\n", text);

  return ch_write_all (fd, line, strlen (line), err);
}

int
ch_build_step_send (int fd, unsigned step, unsigned steps, const char *text, ch_error_t *err)
{
  cleanup_json json_t *j = json_pack ("{s:s, s:I, s:I, s:o}", "type", "step", "step", (json_int_t) step, "steps",
                                      (json_int_t) steps, "text", text_line (text, strnlen (text, 200)));
  return ch_build_record_send (fd, j, err);
}
