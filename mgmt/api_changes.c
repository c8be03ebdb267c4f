/* /api/v1/changes: the journal's changes (and the queued ones it has not
 * seen yet), one change with its last events, and its progress as SSE
 * until it ends. A change the daemon no longer holds is the journal's. */
#include "mgmt/api.h"
#include "common/json.h"
#include "mgmt/chute.h"
#include "mgmt/journal.h"

#include <string.h>

static enum MHD_Result
list (struct ch_daemon *d, struct MHD_Connection *conn)
{
  cleanup_error ch_error_t err = NULL;
  json_t *all = NULL;

  if (ch_journal_list (d->ctx, &all, &err) < 0)
    return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "changes", "%s", err->msg);
  /* queued: not begun, so not in the journal yet */
  for (struct dm_change *c = d->changes; c; c = c->next)
    if (c->state == DM_QUEUED)
      json_array_append_new (all, dm_change_json (c, false));
  return dm_reply_json (conn, MHD_HTTP_OK, all);
}

/* A change the journal has and the daemon does not hold, as one final event. */
static enum MHD_Result
journal_stream (struct MHD_Connection *conn, const struct ch_change *c)
{
  cleanup_json json_t *o = ch_change_to_json (c);
  cleanup_free char *t = NULL, *s = NULL;
  struct MHD_Response *r;
  enum MHD_Result ret;

  json_object_set_new (o, "final", json_boolean (c->result != NULL));
  t = json_dumps (o, JSON_COMPACT);
  s = xasprintf ("event: %s\ndata: %s\n\n", c->result ? c->result : c->phase ? c->phase : "event", t);
  r = MHD_create_response_from_buffer (strlen (s), s, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (r, "Content-Type", "text/event-stream");
  ret = MHD_queue_response (conn, MHD_HTTP_OK, r);
  MHD_destroy_response (r);
  return ret;
}

enum MHD_Result
dm_api_changes (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, char **seg, size_t n)
{
  cleanup_error ch_error_t err = NULL;
  struct dm_change *c;
  struct ch_change j = { 0 };
  bool stream = n == 2 && strcmp (seg[1], "stream") == 0;
  enum MHD_Result ret;
  int found;

  if (n > 2 || (n == 2 && !stream))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no such path under /api/v1/changes");
  if (strcmp (method, "GET") != 0)
    return dm_reply_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "%s: GET only here", method);
  if (n == 0)
    return list (d, conn);
  /* ids follow the chute name rule: nothing else reaches a path */
  if (ch_chute_name_check (seg[0], &err) < 0)
    return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad change id", "%s", err->msg);
  c = dm_change_find (d, seg[0]);
  if (c && stream)
    {
      struct MHD_Response *r = dm_stream_change (d, conn, c);
      ret = MHD_queue_response (conn, MHD_HTTP_OK, r);
      MHD_destroy_response (r);
      return ret;
    }
  if (c)
    return dm_reply_json (conn, MHD_HTTP_OK, dm_change_json (c, true));
  found = ch_journal_lookup (d->ctx, seg[0], &j, &err);
  if (found < 0)
    return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "change", "%s", err->msg);
  if (found == 0)
    ret = dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no change `%s`", seg[0]);
  else if (stream)
    ret = journal_stream (conn, &j);
  else
    ret = dm_reply_json (conn, MHD_HTTP_OK, ch_change_to_json (&j));
  ch_change_clear (&j);
  return ret;
}
