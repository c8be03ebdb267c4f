/* What the cloud link reads from the broker (mgmt/cloud_msg.h). */
#include "mgmt/cloud_msg.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/cloud.h"

#include <string.h>

int
ch_cloud_desired_parse (const void *payload, size_t len, const char *node, const struct ch_trust *trust,
                        int64_t last, json_t **doc, ch_error_t *err)
{
  *doc = NULL;
  if (len > CH_CLOUD_DOC_MAX)
    return ch_error (err, 0, "larger than 1 MiB");
  if (ch_json_load_buf ("desired document", payload, len, doc, err) < 0)
    return -1;
  return ch_cloud_doc_check (*doc, node, trust, last, err);
}

int
ch_cloud_cmd_parse (const void *payload, size_t len, struct ch_cloud_cmd *cmd, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  const char *op, *chute;

  memset (cmd, 0, sizeof (*cmd));
  if (ch_json_load_buf ("command", payload, len, &j, err) < 0)
    return -1;
  op = json_string_value (json_object_get (j, "op"));
  chute = json_string_value (json_object_get (j, "chute"));
  if (op && strcmp (op, "logs") == 0 && chute)
    {
      if (ch_chute_name_check (chute, err) < 0)
        return -1;
      cmd->op = CH_CLOUD_OP_LOGS;
      cmd->chute = xstrdup (chute);
      cmd->on = !json_is_false (json_object_get (j, "on"));
      return 0;
    }
  if (op && strcmp (op, "stats") == 0)
    {
      cmd->op = CH_CLOUD_OP_STATS;
      return 0;
    }
  return ch_error (err, 0, "unknown command (logs {chute, on} or stats)");
}

void
ch_cloud_cmd_clear (struct ch_cloud_cmd *cmd)
{
  free (cmd->chute);
  cmd->chute = NULL;
}
