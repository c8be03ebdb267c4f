/* The change journal: see journal.h. */
#include "mgmt/journal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/chute.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
ch_change_clear (struct ch_change *c)
{
  free (c->id);
  free (c->chute);
  free (c->kind);
  free (c->version);
  free (c->from);
  free (c->from_previous);
  free (c->phase);
  free (c->result);
  free (c->reason);
  free (c->time);
  if (c->failure)
    json_decref (c->failure);
  memset (c, 0, sizeof (*c));
}

static char *
journal_dir (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/deploy/journal", ctx->root);
}

json_t *
ch_change_to_json (const struct ch_change *c)
{
  json_t *j = json_pack ("{s:s, s:I, s:s, s:s, s:s}", "id", c->id, "seq", (json_int_t) c->seq, "chute", c->chute,
                         "kind", c->kind, "phase", c->phase ? c->phase : "queued");

  json_object_set_new (j, "version", c->version ? json_string (c->version) : json_null ());
  if (c->from)
    json_object_set_new (j, "from", json_string (c->from));
  if (c->from_previous)
    json_object_set_new (j, "from_previous", json_string (c->from_previous));
  json_object_set_new (j, "result", c->result ? json_string (c->result) : json_null ());
  json_object_set_new (j, "reason", c->reason ? json_string (c->reason) : json_null ());
  json_object_set_new (j, "time", c->time ? json_string (c->time) : json_null ());
  if (c->failure)
    json_object_set (j, "failure", c->failure);
  return j;
}

static int
from_json (json_t *j, const char *what, struct ch_change *c, ch_error_t *err)
{
  memset (c, 0, sizeof (*c));
  c->id = ch_json_dup_str (j, "id");
  c->chute = ch_json_dup_str (j, "chute");
  c->kind = ch_json_dup_str (j, "kind");
  c->version = ch_json_dup_str (j, "version");
  c->from = ch_json_dup_str (j, "from");
  c->from_previous = ch_json_dup_str (j, "from_previous");
  c->phase = ch_json_dup_str (j, "phase");
  c->result = ch_json_dup_str (j, "result");
  c->reason = ch_json_dup_str (j, "reason");
  c->time = ch_json_dup_str (j, "time");
  c->seq = json_integer_value (json_object_get (j, "seq"));
  if (json_is_object (json_object_get (j, "failure")))
    c->failure = json_incref (json_object_get (j, "failure"));
  if (c->id == NULL || c->chute == NULL || c->kind == NULL || c->seq < 1)
    {
      ch_change_clear (c);
      return ch_error (err, 0, "`%s`: not a change record", what);
    }
  return 0;
}

int
ch_journal_lookup (const struct ch_ctx *ctx, const char *id, struct ch_change *c, ch_error_t *err)
{
  cleanup_free char *dir = journal_dir (ctx);
  cleanup_free char *path = xasprintf ("%s/%s.json", dir, id);
  cleanup_json json_t *j = NULL;

  memset (c, 0, sizeof (*c));
  if (ch_chute_name_check (id, err) < 0)
    return ch_error_prefix (err, "change id");
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (ch_json_load_file (path, &j, err) < 0 || from_json (j, path, c, err) < 0)
    return -1;
  return 1;
}

int
ch_journal_save (const struct ch_ctx *ctx, const struct ch_change *c, ch_error_t *err)
{
  cleanup_free char *dir = journal_dir (ctx);
  cleanup_free char *path = xasprintf ("%s/%s.json", dir, c->id);
  cleanup_json json_t *j = ch_change_to_json (c);
  cleanup_free char *text = json_dumps (j, JSON_INDENT (2));

  if (ch_write_file_durable (path, text, strlen (text), 0600, err) < 0)
    return ch_error_prefix (err, "journal");
  return 0;
}

/* The next sequence number, persisted before it is handed out: a number
 * is never given twice, even across a power cut. */
static int
next_seq (const char *dir, int64_t *seq, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/seq", dir);
  cleanup_free char *text = NULL, *out = NULL;
  int64_t n = 0;

  if (access (path, F_OK) == 0)
    {
      if (ch_read_file_max (path, 64, &text, NULL, err) < 0)
        return -1;
      text[strcspn (text, "\n")] = '\0';
      if (ch_parse_int (text, 0, INT64_MAX - 1, &n, err) < 0)
        return ch_error_prefix (err, "journal counter `%s`", path);
    }
  out = xasprintf ("%" PRId64 "\n", n + 1);
  if (ch_write_file_durable (path, out, strlen (out), 0600, err) < 0)
    return ch_error_prefix (err, "journal counter");
  *seq = n + 1;
  return 0;
}

int
ch_journal_begin (const struct ch_ctx *ctx, struct ch_change *c, ch_error_t *err)
{
  cleanup_free char *dir = journal_dir (ctx);

  if (c->id && ch_chute_name_check (c->id, err) < 0)
    return ch_error_prefix (err, "change id");
  if (ch_mkdir_p (dir, 0700, err) < 0 || next_seq (dir, &c->seq, err) < 0)
    return -1;
  if (c->id == NULL)
    c->id = xasprintf ("c%" PRId64, c->seq);
  free (c->time);
  c->time = ch_rfc3339 (time (NULL), -1);
  free (c->phase);
  c->phase = xstrdup ("queued");
  return ch_journal_save (ctx, c, err);
}

static int
cmp_seq (const void *a, const void *b)
{
  json_int_t x = json_integer_value (json_object_get (*(json_t *const *) a, "seq"));
  json_int_t y = json_integer_value (json_object_get (*(json_t *const *) b, "seq"));
  return x < y ? -1 : x > y;
}

int
ch_journal_list (const struct ch_ctx *ctx, json_t **out, ch_error_t *err)
{
  cleanup_free char *dir = journal_dir (ctx);
  cleanup_free json_t **v = NULL;
  size_t n = 0, cap = 0;
  DIR *d = opendir (dir);
  struct dirent *e;

  *out = json_array ();
  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", dir);
  while ((e = readdir (d)))
    {
      cleanup_free char *path = NULL;
      struct ch_change c;
      json_t *j = NULL;

      if (!ch_has_suffix (e->d_name, ".json"))
        continue;
      path = xasprintf ("%s/%s", dir, e->d_name);
      if (ch_json_load_file (path, &j, err) < 0 || from_json (j, path, &c, err) < 0)
        {
          json_decref (j);
          closedir (d);
          for (size_t i = 0; i < n; i++)
            json_decref (v[i]);
          return -1;
        }
      ch_change_clear (&c);
      if (n == cap)
        v = xrealloc (v, (cap = cap ? cap * 2 : 16) * sizeof (*v));
      v[n++] = j;
    }
  closedir (d);
  qsort (v, n, sizeof (*v), cmp_seq);
  for (size_t i = 0; i < n; i++)
    json_array_append_new (*out, v[i]);
  return 0;
}
