/* Desired documents of the cloud link: what makes one acceptable (signed by
 * a trusted operator key, for this node, not older than the one applied,
 * well formed) and the link's own durable state (the reported document is
 * cloud_report.c's). */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/chute.h"
#include "mgmt/cloud.h"
#include "mgmt/cloud_sign.h"
#include "mgmt/commands.h"
#include "mgmt/desired.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHANGE_MAX 40 /* leaves room in a change id for ".KIND.CHUTE" hashes (cloud_apply.c) */

static int
chute_entry_check (const char *name, json_t *e, ch_error_t *err)
{
  json_t *file = json_object_get (e, "file"), *ver = json_object_get (e, "version");
  json_t *pkg = json_object_get (e, "package");
  json_t *run = json_object_get (e, "running");
  const char *k;
  json_t *v;

  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if (!json_is_object (e))
    return ch_error (err, 0, "chute `%s`: not an object", name);
  json_object_foreach (e, k, v)
    if (strcmp (k, "file") != 0 && strcmp (k, "version") != 0 && strcmp (k, "package") != 0
        && strcmp (k, "running") != 0)
      {
        cleanup_free char *q = ch_quote (k, 40);
        return ch_error (err, 0, "chute `%s`: unknown key `%s`", name, q);
      }
  if ((file != NULL) + (ver != NULL) + (pkg != NULL) != 1)
    return ch_error (err, 0,
                     "chute `%s`: give exactly one of \"file\" (a chute file), \"package\" (REGISTRY/REPO@DIGEST) "
                     "and \"version\" (a kept one)",
                     name);
  if (pkg && !(json_is_string (pkg) && ch_ref_pinned (json_string_value (pkg))))
    return ch_error (err, 0, "chute `%s`: \"package\" is REGISTRY/REPO@sha256:<64 hex> (pinned by its digest)", name);
  if ((file && !json_is_string (file)) || (ver && !json_is_string (ver)))
    return ch_error (err, 0, "chute `%s`: \"file\" and \"version\" are strings", name);
  if (run && !json_is_boolean (run))
    return ch_error (err, 0, "chute `%s`: \"running\" is true or false", name);
  return 0;
}

int
ch_cloud_doc_check (json_t *doc, const char *node, const struct ch_trust *trust, int64_t last, ch_error_t *err)
{
  json_t *gen = json_object_get (doc, "generation"), *chutes = json_object_get (doc, "chutes");
  const char *n = json_string_value (json_object_get (doc, "node"));
  const char *change = json_string_value (json_object_get (doc, "change"));
  const char *k;
  json_t *v;

  /* the signature first: nothing an unsigned document claims is believed */
  if (ch_cloud_verify (doc, trust, err) < 0)
    return -1;
  json_object_foreach (doc, k, v)
    if (strcmp (k, "node") && strcmp (k, "generation") && strcmp (k, "change") && strcmp (k, "chutes")
        && strcmp (k, "signature") && strcmp (k, "time"))
      {
        cleanup_free char *q = ch_quote (k, 40);
        return ch_error (err, 0, "unknown key `%s`", q);
      }
  if (n == NULL || strcmp (n, node) != 0)
    {
      cleanup_free char *q = ch_quote (n ? n : "(none)", 63);
      return ch_error (err, 0, "for node `%s`, not this one (`%s`)", q, node);
    }
  if (!json_is_integer (gen) || json_integer_value (gen) < 1)
    return ch_error (err, 0, "\"generation\" is an integer >= 1");
  if (json_integer_value (gen) < last)
    return ch_error (err, 0, "generation %lld is older than the applied one (%lld): a replay?",
                     (long long) json_integer_value (gen), (long long) last);
  if (change == NULL || strlen (change) > CHANGE_MAX || ch_chute_name_check (change, err) < 0)
    return ch_error (err, 0, "\"change\" is an id of 1-%d letters, digits, _ . -", CHANGE_MAX);
  if (!json_is_object (chutes))
    return ch_error (err, 0, "\"chutes\" is an object (name: {file|version, running})");
  json_object_foreach (chutes, k, v)
    if (chute_entry_check (k, v, err) < 0)
      return -1;
  return 0;
}

static char *
state_path (const struct ch_ctx *ctx)
{
  cleanup_free char *dir = ch_deploy_dir (ctx);
  return xasprintf ("%s/cloud.json", dir);
}

int
ch_cloud_state_load (const struct ch_ctx *ctx, json_t **state, ch_error_t *err)
{
  cleanup_free char *path = state_path (ctx);

  if (access (path, F_OK) < 0 && errno == ENOENT)
    {
      *state = json_pack ("{s:I}", "generation", (json_int_t) 0);
      return 0;
    }
  if (ch_json_load_file (path, state, err) < 0)
    return ch_error_prefix (err, "cloud link state");
  if (!json_is_integer (json_object_get (*state, "generation")))
    {
      json_decref (*state);
      *state = NULL;
      return ch_error (err, 0, "cloud link state %s: no generation", path);
    }
  return 0;
}

int
ch_cloud_state_save (const struct ch_ctx *ctx, json_t *state, ch_error_t *err)
{
  cleanup_free char *dir = ch_deploy_dir (ctx), *path = state_path (ctx);
  cleanup_free char *s = json_dumps (state, JSON_SORT_KEYS | JSON_INDENT (1));

  if (ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  return ch_write_file_durable (path, s, strlen (s), 0600, err);
}
