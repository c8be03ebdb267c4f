/* The API's front: one request's life (its body read within bounds: a
 * chute package streamed to a file under ROOT/deploy/uploads, never held in
 * memory; JSON and chute files up to DM_JSON_MAX), the bearer token on TCP,
 * routing to api_chutes.c, api_changes.c, api_read.c, and the replies. */
#include "mgmt/api.h"
#include "mgmt/api_parse.h"
#include "common/file.h"
#include "common/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum MHD_Result
dm_reply_json (struct MHD_Connection *conn, unsigned status, json_t *j)
{
  char *s = json_dumps (j, JSON_INDENT (2));
  size_t n = strlen (s);
  struct MHD_Response *r;
  enum MHD_Result ret;

  json_decref (j);
  s = xrealloc (s, n + 2);
  s[n++] = '\n';
  r = MHD_create_response_from_buffer (n, s, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header (r, "Content-Type", "application/json");
  ret = MHD_queue_response (conn, status, r);
  MHD_destroy_response (r);
  return ret;
}

enum MHD_Result
dm_reply_error (struct MHD_Connection *conn, unsigned status, const char *error, const char *fmt, ...)
{
  cleanup_free char *detail = NULL;
  va_list ap;

  va_start (ap, fmt);
  detail = xvasprintf (fmt, ap);
  va_end (ap);
  return dm_reply_json (conn, status, json_pack ("{s:s, s:s}", "error", error, "detail", detail));
}

enum MHD_Result
dm_reply_change (struct ch_daemon *d, struct MHD_Connection *conn, struct dm_change *c)
{
  json_t *j = json_pack ("{s:s, s:s, s:s}", "change_id", c->id, "chute", c->chute, "kind", c->kind);

  dm_change_submit (d, c);
  return dm_reply_json (conn, MHD_HTTP_ACCEPTED, j);
}

/* Constant time in the token's content: no early exit on a mismatch. */
static bool
token_ok (const char *want, const char *got)
{
  size_t wl = strlen (want), gl = got ? strlen (got) : 0;
  unsigned char diff = wl != gl;

  for (size_t i = 0; i < wl; i++)
    diff |= (unsigned char) want[i] ^ (unsigned char) (i < gl ? got[i] : 0);
  return got && diff == 0;
}

static bool
authorized (struct dm_req *r, struct MHD_Connection *conn)
{
  const char *h;

  if (!r->l->tcp)
    return true; /* the unix socket's mode is its access control */
  h = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (h == NULL || strncasecmp (h, "Bearer ", 7) != 0)
    return false;
  return token_ok (r->l->d->opt->token, h + 7);
}

/* The first call: headers only. Bounds, the token, the body's sink. */
static enum MHD_Result
begin (struct dm_listener *l, struct MHD_Connection *conn, const char *method, void **con_cls)
{
  struct dm_req *r = xzalloc (sizeof (*r));
  const char *ct = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  const char *cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

  r->l = l;
  r->fd = -1;
  *con_cls = r;
  /* replied to from here on: what else comes of the body is dropped */
  r->replied = true;
  if (!authorized (r, conn))
    {
      struct MHD_Response *resp;
      enum MHD_Result ret;
      const char *msg = "{\"error\": \"unauthorized\", \"detail\": \"this API over TCP wants "
                        "'Authorization: Bearer TOKEN'\"}\n";
      resp = MHD_create_response_from_buffer (strlen (msg), (void *) msg, MHD_RESPMEM_PERSISTENT);
      MHD_add_response_header (resp, "Content-Type", "application/json");
      MHD_add_response_header (resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
      ret = MHD_queue_response (conn, MHD_HTTP_UNAUTHORIZED, resp);
      MHD_destroy_response (resp);
      return ret;
    }
  dm_content_type (ct, &r->package, &r->gzip, &r->json);
  r->limit = r->package ? l->d->opt->package_max : DM_JSON_MAX;
  if (cl && strtoull (cl, NULL, 10) > r->limit)
    return dm_reply_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "too large",
                           "the body is %s bytes; the limit for %s is %" PRIu64, cl,
                           r->package ? "a chute package" : "JSON or a chute file", r->limit);
  if (r->package && strcmp (method, "POST") != 0 && strcmp (method, "PUT") != 0)
    r->package = false;
  if (r->package)
    {
      /* named as a package is: the deploy of packages goes by the suffix */
      const char *suffix = r->gzip ? ".tar.gz" : ".tar";
      r->upload_path = xasprintf ("%s/pkg-XXXXXX%s", l->d->upload_dir, suffix);
      r->fd = mkostemps (r->upload_path, strlen (suffix), O_CLOEXEC);
      if (r->fd < 0)
        {
          free (r->upload_path);
          r->upload_path = NULL;
          return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "upload", "%s: %s", l->d->upload_dir,
                                 strerror (errno));
        }
    }
  r->replied = false;
  return MHD_YES;
}

/* A part of the body: to its sink, within the limit. */
static void
take (struct dm_req *r, const char *data, size_t len)
{
  if (r->too_big)
    return;
  if (r->size + len > r->limit)
    {
      r->too_big = true;
      free (r->body.data);
      r->body = (struct ch_buf) { 0 };
      return;
    }
  r->size += len;
  if (r->fd < 0)
    ch_buf_append (&r->body, data, len);
  else
    {
      cleanup_error ch_error_t err = NULL;
      if (ch_write_all (r->fd, data, len, &err) < 0)
        r->too_big = true; /* the disk is full: refused as too large for it */
    }
}

static enum MHD_Result
route (struct ch_daemon *d, struct MHD_Connection *conn, const char *url, const char *method, struct dm_req *r)
{
  cleanup_strv char **seg = NULL;
  size_t n;

  if (!ch_has_prefix (url, "/api/v1/"))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "%s: the API is under /api/v1/", url);
  seg = dm_split_path (url + 8);
  if (seg == NULL || seg[0] == NULL)
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "%s", url);
  n = ch_strv_len (seg);
  if (strcmp (seg[0], "chutes") == 0)
    return dm_api_chutes (d, conn, method, seg + 1, n - 1, r);
  if (strcmp (seg[0], "changes") == 0)
    return dm_api_changes (d, conn, method, seg + 1, n - 1);
  if (strcmp (seg[0], "info") == 0 && n == 1)
    {
      if (strcmp (method, "GET") != 0)
        return dm_reply_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "%s %s: GET only", method,
                               url);
      return dm_api_info (d, conn);
    }
  return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "%s", url);
}

enum MHD_Result
dm_api_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
                const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  struct dm_listener *l = cls;
  struct dm_req *r = *con_cls;

  if (r == NULL)
    return begin (l, conn, method, con_cls);
  if (r->replied)
    {
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (*upload_data_size)
    {
      take (r, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (r->too_big)
    return dm_reply_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "too large", "the body passed %" PRIu64 " bytes%s",
                           r->limit, r->fd >= 0 ? " (or the disk is full)" : "");
  if (l->d->stopping)
    return dm_reply_error (conn, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping", "the daemon is stopping");
  r->replied = true;
  return route (l->d, conn, url, method, r);
}

void
dm_api_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct dm_req *r = *con_cls;

  if (r == NULL)
    return;
  if (r->fd >= 0)
    close (r->fd);
  /* a package a change took is the change's now (upload_path NULL) */
  if (r->upload_path)
    unlink (r->upload_path);
  free (r->upload_path);
  free (r->body.data);
  free (r);
  *con_cls = NULL;
}
