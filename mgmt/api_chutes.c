/* /api/v1/chutes: list, deploy (a chute file, JSON {config}, or a chute
 * package), one chute (GET, PUT: an update, DELETE), its operations
 * (POST start, stop, restart); its logs and stats are api_read.c's. A
 * change is checked first (400 with file:line:col, 404, 409 on a stale
 * If-Match), then queued: 202 {change_id} at once. */
#include "mgmt/api.h"
#include "mgmt/api_parse.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/desired.h"

#include <inttypes.h>
#include <string.h>

static enum MHD_Result
not_allowed (struct MHD_Connection *conn, const char *method, const char *allow)
{
  struct MHD_Response *r;
  cleanup_free char *s = xasprintf ("{\"error\": \"method not allowed\", \"detail\": \"%s here: %s\"}\n", method, allow);
  enum MHD_Result ret;

  /* METHOD is one libmicrohttpd accepted: a token, no quote in it */
  r = MHD_create_response_from_buffer (strlen (s), s, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (r, "Content-Type", "application/json");
  MHD_add_response_header (r, MHD_HTTP_HEADER_ALLOW, allow);
  ret = MHD_queue_response (conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
  MHD_destroy_response (r);
  return ret;
}

static enum MHD_Result
list (struct ch_daemon *d, struct MHD_Connection *conn)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_strv char **names = NULL;
  json_t *rows = json_array ();

  if (ch_desired_list (d->ctx, &names, &err) < 0)
    {
      json_decref (rows);
      return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "chutes", "%s", err->msg);
    }
  for (char **n = names; *n; n++)
    {
      struct ch_desired ds;
      if (ch_desired_load (d->ctx, *n, &ds, &err) == 1)
        json_array_append_new (rows, ch_chute_row (d->ctx, &ds));
      ch_error_release (&err);
      ch_desired_clear (&ds);
    }
  return dm_reply_json (conn, MHD_HTTP_OK, rows);
}

/* The body as a chute file's text: the body itself, or JSON {config: a
 * chute file as an object (YAML reads JSON) or as text}. NULL: replied. */
static char *
chute_text (struct MHD_Connection *conn, struct dm_req *r, size_t *len, enum MHD_Result *ret)
{
  cleanup_error ch_error_t err = NULL;
  const char *title;
  char *text;

  if (dm_parse_chute_body (r->body.data, r->body.len, r->json, &text, len, &title, &err) < 0)
    *ret = dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, title, "%s", err->msg);
  return text;
}

/* If-Match against NAME's generation: true when absent, "*" or equal. */
static bool
if_match (struct MHD_Connection *conn, const struct ch_desired *ds, int64_t *asked, enum MHD_Result *ret)
{
  const char *h = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
  cleanup_error ch_error_t err = NULL;
  int r = dm_parse_if_match (h, asked, &err);

  if (r < 0)
    {
      *ret = dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad If-Match", "%s", err->msg);
      return false;
    }
  if (r > 0 && *asked != ds->generation)
    {
      *ret = dm_reply_error (conn, MHD_HTTP_CONFLICT, "stale generation",
                             "If-Match %" PRId64 ": chute `%s` is at generation %" PRId64, *asked, ds->name,
                             ds->generation);
      return false;
    }
  return true;
}

/* POST /chutes, PUT /chutes/NAME (NAME set: the file must name it). */
static enum MHD_Result
deploy (struct ch_daemon *d, struct MHD_Connection *conn, struct dm_req *r, const char *name,
        const struct ch_desired *ds)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *named = NULL;
  enum MHD_Result ret = MHD_NO;
  struct dm_change *c;
  int64_t asked = 0;
  char *text;
  size_t len;

  if (ds && !if_match (conn, ds, &asked, &ret))
    return ret;
  if (r->package)
    {
      /* the package is read by the engine's package reader in the change */
      c = dm_change_new (d, DM_PACKAGE, name ? "update" : "deploy", name ? name : "-");
      c->path = r->upload_path;
      r->upload_path = NULL;
      return dm_reply_change (d, conn, c);
    }
  text = chute_text (conn, r, &len, &ret);
  if (text == NULL)
    return ret;
  if (dm_engine_check (text, len, &named, &err) < 0)
    {
      free (text);
      return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad chute file", "%s", err->msg);
    }
  if (name && strcmp (name, named) != 0)
    {
      free (text);
      return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad chute file",
                             "the chute file names `%s`, the path `%s`", named, name);
    }
  c = dm_change_new (d, DM_DEPLOY, ds ? "update" : "deploy", named);
  c->text = text;
  c->len = len;
  /* the engine refuses it if another change moved the chute on meanwhile */
  c->generation = asked ? asked + 1 : 0;
  return dm_reply_change (d, conn, c);
}

enum MHD_Result
dm_api_chutes (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, char **seg, size_t n,
               struct dm_req *r)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_desired ds = { 0 };
  enum MHD_Result ret = MHD_NO;
  const char *name;
  int found;
  int64_t asked;

  if (n == 0)
    {
      if (strcmp (method, "GET") == 0)
        return list (d, conn);
      if (strcmp (method, "POST") == 0)
        return deploy (d, conn, r, NULL, NULL);
      return not_allowed (conn, method, "GET, POST");
    }
  name = seg[0];
  if (ch_chute_name_check (name, &err) < 0)
    return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad chute name", "%s", err->msg);
  if (n >= 2 && strcmp (seg[1], "networks") == 0)
    return dm_api_wifi (d, conn, method, name, seg + 1, n - 1, r);
  if (n == 2 && (strcmp (seg[1], "logs") == 0 || strcmp (seg[1], "stats") == 0))
    {
      if (strcmp (method, "GET") != 0)
        return not_allowed (conn, method, "GET");
      return strcmp (seg[1], "logs") == 0 ? dm_api_logs (d, conn, name) : dm_api_stats (d, conn, name);
    }
  if (n > 2 || (n == 2 && strcmp (seg[1], "start") != 0 && strcmp (seg[1], "stop") != 0
                && strcmp (seg[1], "restart") != 0))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no such path under /api/v1/chutes/%s", name);
  if (n == 2 && strcmp (method, "POST") != 0)
    return not_allowed (conn, method, "POST");
  if (n == 1 && strcmp (method, "GET") != 0 && strcmp (method, "PUT") != 0 && strcmp (method, "DELETE") != 0)
    return not_allowed (conn, method, "GET, PUT, DELETE");

  found = ch_desired_load (d->ctx, name, &ds, &err);
  if (found < 0)
    return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "chute", "%s", err->msg);
  if (found == 0)
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "chute `%s` was not deployed", name);
  if (n == 2)
    ret = dm_reply_change (d, conn, dm_change_new (d, DM_OP, seg[1], name));
  else if (strcmp (method, "PUT") == 0)
    ret = deploy (d, conn, r, name, &ds);
  else if (strcmp (method, "DELETE") == 0)
    ret = if_match (conn, &ds, &asked, &ret) ? dm_reply_change (d, conn, dm_change_new (d, DM_OP, "remove", name))
                                               : ret;
  else
    {
      cleanup_free char *file = ch_desired_version_file (d->ctx, name, ds.version);
      cleanup_free char *text = NULL, *etag = xasprintf ("\"%" PRId64 "\"", ds.generation);
      json_t *row = ch_chute_row (d->ctx, &ds);
      struct MHD_Response *resp;
      char *s;
      size_t len;

      if (ch_read_file_max (file, DM_JSON_MAX, &text, &len, &err) == 0)
        json_object_set_new (row, "manifest", json_stringn (text, len));
      s = json_dumps (row, JSON_INDENT (2));
      json_decref (row);
      resp = MHD_create_response_from_buffer (strlen (s), s, MHD_RESPMEM_MUST_FREE);
      MHD_add_response_header (resp, "Content-Type", "application/json");
      MHD_add_response_header (resp, MHD_HTTP_HEADER_ETAG, etag);
      ret = MHD_queue_response (conn, MHD_HTTP_OK, resp);
      MHD_destroy_response (resp);
    }
  ch_desired_clear (&ds);
  return ret;
}
