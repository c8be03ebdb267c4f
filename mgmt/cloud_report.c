/* The cloud link's reported document (chuted/v1/N/reported, and the stats
 * command's answer): the link's state plus every deployed chute. Apart
 * from the document checks (cloud_doc.c), which read only the broker's
 * input, because a chute's row takes most of mgmt/ with it. */
#include "common/util.h"
#include "mgmt/cloud.h"
#include "mgmt/commands.h"
#include "mgmt/desired.h"

#include <time.h>

json_t *
ch_cloud_reported (struct ch_ctx *ctx, const char *node, json_t *state)
{
  cleanup_strv char **names = NULL;
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);
  json_t *chutes = json_object ();
  json_t *r = json_pack ("{s:s, s:s, s:O}", "node", node, "time", now, "link", state);

  if (ch_desired_list (ctx, &names, &e) < 0)
    json_object_set_new (r, "error", json_string (e->msg));
  for (size_t i = 0; names && names[i]; i++)
    {
      struct ch_desired d;
      cleanup_error ch_error_t e2 = NULL;

      if (ch_desired_load (ctx, names[i], &d, &e2) > 0)
        json_object_set_new (chutes, names[i], ch_chute_row (ctx, &d));
      ch_desired_clear (&d);
    }
  json_object_set_new (r, "chutes", chutes);
  return r;
}
