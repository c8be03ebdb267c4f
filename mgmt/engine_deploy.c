/* Deploys, updates and rollbacks: one version of a chute replaces another.
 * The desired state is recorded first; then stop old, start new, wait for
 * health; on failure the new one goes and the old one starts again. A chute
 * name runs once, so the outage is from old stopped to new started. */
#include "common/file.h"
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"
#include "mgmt/health.h"
#include "mgmt/lifecycle.h"
#include "mgmt/pod.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Start chute M (checked) and gate it on health; on failure nothing of it is left. */
static int
start_version (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, ch_error_t *err)
{
  struct ch_chute ch;
  int r;

  if (ch_engine_phase (e, c, "starting", NULL, err) < 0)
    return -1;
  ch_chute_init (&ch);
  if (m->n_svc > 1)
    r = ch_pod_run (e->ctx, m, err);
  else if ((r = ch_chute_from_chutefile (m, &ch, err)) == 0)
    r = ch_engine_run_chute (e->ctx, &ch, err);
  ch_chute_clear (&ch);
  if (r == 0)
    r = ch_engine_phase (e, c, "waiting for health", NULL, err);
  if (r == 0)
    r = ch_engine_wait_healthy (e->ctx, m, err);
  if (r < 0 && ch_engine_recorded (e->ctx, m->chute.name))
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_engine_stop_chute (e->ctx, m->chute.name, true, &e2);
    }
  return r;
}

/* Bring back version OLD after NEW failed with REASON (in *ERR). */
static int
roll_back (struct ch_engine *e, struct ch_change *c, struct ch_desired *d, const char *old, const char *old_prev,
           ch_error_t *err)
{
  cleanup_free char *reason = xstrdup ((*err)->msg), *text = NULL;
  cleanup_error ch_error_t e2 = NULL;
  struct ch_chutefile m;
  size_t len;
  int r;

  /* recorded with the phase: a crash while rolling back still says why */
  free (c->reason);
  c->reason = xstrdup (reason);
  ch_engine_phase (e, c, "rolling back", reason, &e2);
  ch_error_release (&e2);
  free (d->version);
  d->version = xstrdup (old);
  free (d->previous);
  d->previous = old_prev ? xstrdup (old_prev) : NULL;
  d->generation++;
  r = ch_desired_save (e->ctx, d, &e2);
  if (r == 0)
    r = ch_engine_load_version (e->ctx, d->name, old, &m, &text, &len, &e2);
  if (r == 0)
    r = start_version (e, c, &m, &e2);
  ch_chutefile_clear (&m);
  if (r < 0)
    {
      ch_error (err, 0, "%s `%s` to version %s: %s; rolling back to version %s failed too: %s", c->kind, d->name,
                c->version, reason, old, e2->msg);
      ch_engine_finish (e, c, "failed", (*err)->msg);
      return -1;
    }
  ch_engine_finish (e, c, "rolled_back", reason);
  return ch_error (err, 0, "%s `%s` to version %s: %s: rolled back to version %s", c->kind, d->name, c->version, reason,
                   old);
}

/* Make M (TEXT) the running version of its chute, as change C. D: the
 * chute's desired state (D->version NULL for a first deploy). */
static int
apply (struct ch_engine *e, struct ch_change *c, struct ch_chutefile *m, const char *text, size_t len,
       const struct ch_deploy_source *src, struct ch_desired *d, int64_t generation, ch_error_t *err)
{
  cleanup_free char *old = d->version ? xstrdup (d->version) : NULL;
  cleanup_free char *old_prev = d->previous ? xstrdup (d->previous) : NULL;
  int r;

  /* what reconcile rolls back to if this change is cut short */
  c->from = old ? xstrdup (old) : NULL;
  c->from_previous = old_prev ? xstrdup (old_prev) : NULL;
  if (ch_journal_begin (e->ctx, c, err) < 0)
    return -1;
  if (e->event)
    e->event (e->data, c, NULL);
  /* the image first, the old version still running: a failure leaves it so */
  if (ch_engine_build (e, c, m, src ? src->dir : NULL, err) < 0 || ch_engine_fetch (e, c, m, err) < 0)
    {
      ch_engine_finish (e, c, "failed", (*err)->msg);
      return ch_error_prefix (err, "%s `%s`", c->kind, c->chute);
    }
  /* recorded before anything is acted on */
  if (d->name == NULL)
    d->name = xstrdup (c->chute);
  free (d->version);
  d->version = xstrdup (c->version);
  if (old && strcmp (old, c->version) != 0)
    {
      free (d->previous);
      d->previous = xstrdup (old);
    }
  d->generation = generation > 0 ? generation : d->generation + 1;
  d->running = true;
  free (d->change);
  d->change = xstrdup (c->id);
  free (d->since);
  d->since = ch_rfc3339 (time (NULL), -1);
  /* the version's image archives before its chute file: a kept file finds them */
  r = src ? ch_deploy_keep_images (e->ctx, d->name, c->version, m, src->dir, src->tmp != NULL, err) : 0;
  if (r == 0)
    r = ch_desired_keep_version (e->ctx, d->name, c->version, text, len, err);
  if (r == 0)
    r = ch_desired_save (e->ctx, d, err);
  if (r == 0 && ch_engine_recorded (e->ctx, d->name))
    {
      r = ch_engine_phase (e, c, "stopping old", NULL, err);
      if (r == 0)
        r = ch_engine_retire_chute (e->ctx, d->name, err);
    }
  if (r == 0)
    r = start_version (e, c, m, err);
  /* the old version's files, moved aside so the new one starts sooner */
  ch_engine_purge_retired (e->ctx, d->name);
  if (r == 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      if (ch_desired_prune (e->ctx, d, &e2) < 0)
        fprintf (stderr, "chuted: warning: %s\n", e2->msg);
      ch_engine_finish (e, c, "done", NULL);
      return 0;
    }
  if (old)
    return roll_back (e, c, d, old, old_prev, err);
  {
    /* a first deploy that failed leaves no desired state behind */
    cleanup_error ch_error_t e2 = NULL;
    ch_desired_remove (e->ctx, d->name, &e2);
  }
  ch_engine_finish (e, c, "failed", (*err)->msg);
  return ch_error_prefix (err, "%s `%s`", c->kind, c->chute);
}

/* Is VERSION kept with a chute file other than TEXT? Rolling back to it
 * must bring back what ran, so a kept version is never rewritten. */
static bool
kept_other (struct ch_ctx *ctx, const char *name, const char *version, const char *text, size_t len)
{
  cleanup_free char *file = ch_desired_version_file (ctx, name, version), *old = NULL;
  cleanup_error ch_error_t e2 = NULL;
  size_t olen;

  if (access (file, F_OK) < 0)
    return false;
  if (ch_read_file_max (file, CH_CHUTE_FILE_MAX, &old, &olen, &e2) < 0)
    return true;
  return olen != len || memcmp (old, text, len) != 0;
}

int
ch_engine_deploy (struct ch_engine *e, const struct ch_deploy_source *src, const char *change_id,
                  int64_t generation, ch_error_t *err)
{
  const char *text = src->text;
  size_t len = src->len;
  struct ch_chutefile m;
  struct ch_desired d;
  struct ch_change c = { 0 };
  int r, have = 0;

  memset (&d, 0, sizeof (d));
  if ((r = ch_engine_seen (e, change_id, err)) != 0)
    return r;
  /* every refusal comes before the journal and the store are touched */
  r = ch_engine_load_file (src->file, text, len, &m, err);
  if (r == 0)
    r = ch_deploy_source_check_images (src, &m, err);
  if (r == 0)
    r = ch_engine_build_check (e->ctx, &m, src->dir, err);
  if (r == 0)
    r = ch_chutefile_conflicts (e->ctx, &m, err);
  if (r == 0)
    r = have = ch_desired_load (e->ctx, m.chute.name, &d, err);
  if (r >= 0 && !have && ch_engine_recorded (e->ctx, m.chute.name))
    r = ch_error (err, 0, "deploy: a chute named `%s` exists and was not deployed (made by `chuted run`?): remove it "
                          "first", m.chute.name);
  if (r >= 0 && generation > 0 && generation <= d.generation)
    r = ch_error (err, 0, "deploy `%s`: generation %lld is stale: the chute is at generation %lld", m.chute.name,
                  (long long) generation, (long long) d.generation);
  if (r >= 0)
    {
      c.version = m.version.s ? xstrdup (m.version.s) : xasprintf ("%lld", (long long) d.generation + 1);
      /* a version is a directory's name */
      if (ch_chute_name_check (c.version, err) < 0)
        r = m.version.s ? ch_chutefile_error (&m, &m.version, err, "not usable as a version (%s)", (*err)->msg) : -1;
    }
  if (r >= 0)
    ch_engine_built_image (&m, c.version);
  if (r >= 0 && have && kept_other (e->ctx, m.chute.name, c.version, text, len))
    r = ch_error (err, 0, "deploy `%s`: version %s is kept with another chute file: give this one a new version",
                  m.chute.name, c.version);
  if (r >= 0)
    {
      c.id = change_id ? xstrdup (change_id) : NULL;
      c.chute = xstrdup (m.chute.name);
      c.kind = xstrdup (have ? "update" : "deploy");
      r = apply (e, &c, &m, text, len, src, &d, generation, err);
    }
  ch_change_clear (&c);
  ch_desired_clear (&d);
  ch_chutefile_clear (&m);
  return r < 0 ? -1 : 0;
}

int
ch_engine_rollback (struct ch_engine *e, struct ch_desired *d, const char *change_id, ch_error_t *err)
{
  cleanup_free char *text = NULL;
  struct ch_chutefile m;
  struct ch_change c = { 0 };
  size_t len;
  int r;

  if (d->previous == NULL)
    return ch_error (err, 0, "rollback `%s`: no previous version is kept", d->name);
  r = ch_engine_load_version (e->ctx, d->name, d->previous, &m, &text, &len, err);
  if (r == 0)
    {
      c.id = change_id ? xstrdup (change_id) : NULL;
      c.chute = xstrdup (d->name);
      c.kind = xstrdup ("rollback");
      c.version = xstrdup (d->previous);
      r = apply (e, &c, &m, text, len, NULL, d, 0, err);
    }
  ch_change_clear (&c);
  ch_chutefile_clear (&m);
  return r;
}

/* For engine_reconcile.c, which finishes changes cut short the same way. */
int
ch_engine_start_version (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, ch_error_t *err)
{
  return start_version (e, c, m, err);
}

int
ch_engine_roll_back (struct ch_engine *e, struct ch_change *c, struct ch_desired *d, const char *old,
                     const char *old_prev, ch_error_t *err)
{
  return roll_back (e, c, d, old, old_prev, err);
}
