/* Applying a verified desired document through the deploy engine: per
 * chute, the changes that bring it to what the document says. Each change
 * id is made from the document's change id, the kind and the chute, so a
 * document delivered again (at-least-once MQTT, a reconnect, a crash in the
 * middle) finds its changes in the engine's journal and changes nothing
 * twice: exactly-once through the journal. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cloud.h"
#include "mgmt/cloud_package.h"
#include "mgmt/cloud_sign.h"
#include "mgmt/deploy_source.h"
#include "mgmt/desired.h"
#include "mgmt/manifest.h"

#include <stdio.h>
#include <string.h>

/* DOC_CHANGE.KIND.CHUTE, or with a hash of the chute's name when that
 * would break the 63-character id rule. */
static char *
change_id (const char *doc_change, const char *kind, const char *chute)
{
  uint8_t md[CH_SHA256_LEN];
  char *id = xasprintf ("%s.%s.%s", doc_change, kind, chute);

  if (strlen (id) <= 63)
    return id;
  free (id);
  ch_cloud_sha256 (chute, strlen (chute), md);
  return xasprintf ("%s.%s.%02x%02x%02x%02x%02x%02x", doc_change, kind, md[0], md[1], md[2], md[3], md[4], md[5]);
}

/* Is TEXT the chute file of the version NAME runs now? */
static bool
runs_file (struct ch_ctx *ctx, const struct ch_desired *d, const char *text)
{
  cleanup_free char *file = ch_desired_version_file (ctx, d->name, d->version), *old = NULL;
  cleanup_error ch_error_t e = NULL;
  size_t len;

  if (ch_read_file_max (file, CH_CLOUD_DOC_MAX, &old, &len, &e) < 0)
    return false;
  return len == strlen (text) && memcmp (old, text, len) == 0;
}

static int
load (struct ch_ctx *ctx, const char *name, struct ch_desired *d, ch_error_t *err)
{
  memset (d, 0, sizeof (*d));
  return ch_desired_load (ctx, name, d, err);
}

/* The document's key must be the name the chute file gives: else the
 * deploy would make a chute the document does not list. */
static int
names_other (const char *name, const char *text, ch_error_t *err)
{
  struct ch_chutefile m;
  int r;

  memset (&m, 0, sizeof (m));
  r = ch_chutefile_parse (name, text, strlen (text), &m, err);
  if (r == 0 && (m.name.s == NULL || strcmp (m.name.s, name) != 0))
    r = ch_error (err, 0, "its chute file names chute `%.63s`", m.name.s ? m.name.s : "(none)");
  ch_chutefile_clear (&m);
  return r;
}

/* Bring chute NAME to entry E of the document (change DOC_CHANGE). */
static int
apply_chute (struct ch_engine *e, const char *doc_change, const char *name, json_t *entry, ch_error_t *err)
{
  const char *text = json_string_value (json_object_get (entry, "file"));
  const char *ver = json_string_value (json_object_get (entry, "version"));
  const char *pkg = json_string_value (json_object_get (entry, "package"));
  json_t *run = json_object_get (entry, "running");
  bool running = run == NULL || json_is_true (run);
  struct ch_desired d;
  int have, r = 0;

  if (text && names_other (name, text, err) < 0)
    return -1;
  if ((have = load (e->ctx, name, &d, err)) < 0)
    return -1;
  if (text && !(have && runs_file (e->ctx, &d, text)))
    {
      cleanup_free char *id = change_id (doc_change, "deploy", name);
      cleanup_free char *label = xasprintf ("desired chute `%s`", name);

      /* a chute file alone, no directory: its image archives (if any)
       * must be named by absolute paths, as for the daemon's API */
      struct ch_deploy_source src = { .file = label, .text = (char *) text, .len = strlen (text) };

      r = ch_engine_deploy (e, &src, id, 0, err);
    }
  else if (pkg && !(have && ch_cloud_package_runs (e->ctx, &d, pkg)))
    {
      cleanup_free char *id = change_id (doc_change, "deploy", name);
      struct ch_deploy_source src;

      r = ch_cloud_package_open (e->ctx, pkg, &src, err);
      if (r == 0 && (r = names_other (name, src.text, err)) == 0 && (r = ch_engine_deploy (e, &src, id, 0, err)) == 0)
        r = ch_cloud_package_record (e->ctx, name, pkg, err);
      ch_deploy_source_close (&src);
    }
  else if (ver && !have)
    r = ch_error (err, 0, "version %s: the chute is not deployed here", ver);
  else if (ver && strcmp (d.version, ver) != 0)
    {
      cleanup_free char *id = change_id (doc_change, "rollback", name);

      if (d.previous == NULL || strcmp (d.previous, ver) != 0)
        r = ch_error (err, 0, "version %s is not kept here (running %s, previous %s)", ver, d.version,
                      d.previous ? d.previous : "none");
      else
        r = ch_engine_op (e, "rollback", name, id, err);
    }
  ch_desired_clear (&d);
  if (r < 0)
    return -1;
  if ((have = load (e->ctx, name, &d, err)) <= 0)
    return have < 0 ? -1 : ch_error (err, 0, "not deployed");
  if (running != d.running)
    {
      const char *kind = running ? "start" : "stop";
      cleanup_free char *id = change_id (doc_change, kind, name);

      r = ch_engine_op (e, kind, name, id, err);
    }
  ch_desired_clear (&d);
  return r < 0 ? -1 : 0;
}

int
ch_cloud_apply (struct ch_engine *e, json_t *doc, json_t **result, ch_error_t *err)
{
  const char *change = json_string_value (json_object_get (doc, "change"));
  json_t *chutes = json_object_get (doc, "chutes"), *errors = json_object (), *entry;
  cleanup_strv char **names = NULL;
  const char *name;
  void *tmp;

  *result = NULL;
  if (ch_desired_list (e->ctx, &names, err) < 0)
    {
      json_decref (errors);
      return -1;
    }
  /* removals first: they free names, ports and memory for what comes */
  for (size_t i = 0; names[i]; i++)
    if (json_object_get (chutes, names[i]) == NULL)
      {
        cleanup_free char *id = change_id (change, "remove", names[i]);
        cleanup_error ch_error_t e2 = NULL;

        if (ch_engine_op (e, "remove", names[i], id, &e2) < 0)
          json_object_set_new (errors, names[i], json_string (e2->msg));
        else
          ch_cloud_package_forget (e->ctx, names[i]);
      }
  json_object_foreach_safe (chutes, tmp, name, entry)
  {
    cleanup_error ch_error_t e2 = NULL;

    if (apply_chute (e, change, name, entry, &e2) < 0)
      json_object_set_new (errors, name, json_string (e2->msg));
  }
  *result = json_pack ("{s:s, s:o}", "result", json_object_size (errors) ? "failed" : "done", "errors", errors);
  if (json_object_size (errors))
    return ch_error (err, 0, "desired generation %lld: %zu chute(s) not as asked",
                     (long long) json_integer_value (json_object_get (doc, "generation")), json_object_size (errors));
  return 0;
}
