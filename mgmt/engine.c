/* The deploy engine's front: its lock, progress events, the chute file to
 * chute mapping, and the operations on a deployed chute (stop, start,
 * restart, remove, rollback). Deploys and updates: engine_deploy.c. */
#include "mgmt/engine.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/desired.h"
#include "mgmt/engine_int.h"
#include "mgmt/health.h"
#include "mgmt/lifecycle.h"
#include "mgmt/pod.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
ch_engine_open (struct ch_engine *e, struct ch_ctx *ctx, ch_engine_event_fn fn, void *data, ch_error_t *err)
{
  cleanup_free char *dir = ch_deploy_dir (ctx);
  cleanup_free char *path = xasprintf ("%s/lock", dir);

  memset (e, 0, sizeof (*e));
  e->ctx = ctx;
  e->event = fn;
  e->data = data;
  e->lock = -1;
  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_lock_file (path, true, &e->lock, err) < 0)
    return ch_error_prefix (err, "deploy engine");
  return 0;
}

void
ch_engine_close (struct ch_engine *e)
{
  if (e->lock >= 0)
    close (e->lock);
  e->lock = -1;
}

int
ch_engine_phase (struct ch_engine *e, struct ch_change *c, const char *phase, const char *detail, ch_error_t *err)
{
  free (c->phase);
  c->phase = xstrdup (phase);
  if (ch_journal_save (e->ctx, c, err) < 0)
    return -1;
  if (e->event)
    e->event (e->data, c, detail);
  return 0;
}

int
ch_engine_finish (struct ch_engine *e, struct ch_change *c, const char *result, const char *reason)
{
  cleanup_error ch_error_t jerr = NULL;

  free (c->result);
  c->result = xstrdup (result);
  free (c->reason);
  c->reason = reason ? xstrdup (reason) : NULL;
  /* the change happened: a journal that cannot say so is reported, not undone */
  if (ch_engine_phase (e, c, strcmp (result, "done") == 0 ? "done" : result, reason, &jerr) < 0)
    fprintf (stderr, "chuted: warning: %s\n", jerr->msg);
  return 0;
}

int
ch_engine_seen (struct ch_engine *e, const char *change_id, ch_error_t *err)
{
  struct ch_change old;
  int r;

  if (change_id == NULL)
    return 0;
  r = ch_journal_lookup (e->ctx, change_id, &old, err);
  if (r == 1 && e->event)
    {
      cleanup_free char *d = xasprintf ("already applied (%s)", old.result ? old.result : old.phase);
      e->event (e->data, &old, d);
    }
  ch_change_clear (&old);
  return r;
}

int
ch_chute_from_chutefile (const struct ch_chutefile *m, struct ch_chute *c, ch_error_t *err)
{
  return ch_chute_from_service (m, 0, c, err);
}

int
ch_chute_from_service (const struct ch_chutefile *m, size_t i, struct ch_chute *c, ch_error_t *err)
{
  cleanup_json json_t *j = ch_chute_to_json (&m->chute);
  const struct ch_mservice *s = &m->svc[i];

  ch_chute_init (c);
  if (ch_chute_from_json (j, c, err) < 0)
    return -1;
  if (m->n_svc > 1)
    {
      /* a pod's service: its own record, the pod's name as host name */
      free (c->name);
      c->name = xasprintf ("%s%c%s", m->chute.name, CH_POD_SEP, s->name.s);
      free (c->image);
      c->image = xstrdup (s->image.s);
      free (c->hostname);
      c->hostname = xstrdup (m->chute.name);
      c->pod_index = (int) i;
    }
  if (s->command.n)
    {
      ch_strv_free (c->command);
      c->command = xzalloc (sizeof (char *));
      ch_strv_free (c->entrypoint);
      c->entrypoint = NULL;
      if (s->command_shell)
        {
          /* one string: a shell line, whatever the image's entrypoint */
          c->entrypoint = xzalloc (sizeof (char *));
          ch_strv_append (&c->command, "/bin/sh");
          ch_strv_append (&c->command, "-c");
        }
      for (size_t i = 0; i < s->command.n; i++)
        ch_strv_append (&c->command, s->command.v[i].s);
    }
  /* the chute's environment first, the service's after (it wins) */
  for (size_t i = 0; i < m->env.n; i++)
    ch_strv_append (&c->env, m->env.v[i].s);
  for (size_t i = 0; i < s->env.n; i++)
    ch_strv_append (&c->env, s->env.v[i].s);
  /* volumes: {data: /data} is the named volume CHUTE.data: it outlives
   * updates and rm, as ParaDrop's /data (mgmt/volume.c) */
  for (size_t i = 0; i < m->vol_name.n; i++)
    {
      cleanup_free char *vol = xasprintf ("%s.%s", c->name, m->vol_name.v[i].s);
      cleanup_free char *spec = xasprintf ("%s:%s", vol, m->vol_path.v[i].s);
      if (ch_name_check ("volume", vol, err) < 0)
        return ch_error_prefix (err, "volumes.%s", m->vol_name.v[i].s);
      ch_strv_append (&c->volumes, spec);
    }
  c->autoremove = false;
  c->user_stopped = false;
  return 0;
}

bool
ch_engine_recorded (struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *f = xasprintf ("%s/chute.json", dir);
  return access (f, F_OK) == 0 || ch_pod_recorded (ctx, name);
}

int
ch_engine_load_file (const char *file, const char *text, size_t len, struct ch_chutefile *m, ch_error_t *err)
{
  if (ch_chutefile_parse (file, text, len, m, err) < 0 || ch_chutefile_check (m, err) < 0)
    return -1;
  return 0;
}

int
ch_engine_load_version (struct ch_ctx *ctx, const char *name, const char *version, struct ch_chutefile *m,
                        char **text, size_t *len, ch_error_t *err)
{
  cleanup_free char *file = ch_desired_version_file (ctx, name, version);

  memset (m, 0, sizeof (*m));
  if (ch_read_file_max (file, CH_CHUTE_FILE_MAX, text, len, err) < 0)
    return ch_error_prefix (err, "version `%s` of `%s`", version, name);
  if (ch_engine_load_file (file, *text, *len, m, err) < 0)
    return -1;
  /* its image archives are kept beside it; a built one is in the store */
  ch_engine_built_image (m, version);
  *strrchr (file, '/') = '\0';
  ch_deploy_images_at (m, file);
  return 0;
}

static int
op_start (struct ch_engine *e, const struct ch_desired *d, struct ch_change *c, bool gate, ch_error_t *err)
{
  struct ch_chutefile m;
  cleanup_free char *text = NULL;
  struct ch_chute ch;
  size_t len;
  int r;

  if (ch_engine_phase (e, c, "starting", NULL, err) < 0)
    return -1;
  ch_chute_init (&ch);
  /* the running version's file: its health gate, and the chute again if
   * its record is gone (removed by hand) */
  r = ch_engine_load_version (e->ctx, d->name, d->version, &m, &text, &len, err);
  if (r == 0 && ch_engine_recorded (e->ctx, d->name))
    r = ch_engine_start_chute (e->ctx, d->name, err);
  else if (r == 0 && m.n_svc > 1)
    r = ch_pod_run (e->ctx, &m, err);
  else if (r == 0 && (r = ch_chute_from_chutefile (&m, &ch, err)) == 0)
    r = ch_engine_run_chute (e->ctx, &ch, err);
  if (r == 0 && gate && (r = ch_engine_phase (e, c, "waiting for health", NULL, err)) == 0)
    r = ch_engine_wait_healthy (e->ctx, &m, err);
  ch_chute_clear (&ch);
  ch_chutefile_clear (&m);
  return r;
}

int
ch_engine_op (struct ch_engine *e, const char *kind, const char *name, const char *change_id, ch_error_t *err)
{
  struct ch_desired d;
  struct ch_change c = { 0 };
  int r;

  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if ((r = ch_engine_seen (e, change_id, err)) != 0)
    return r;
  r = ch_desired_load (e->ctx, name, &d, err);
  if (r == 0)
    return ch_error (err, 0, "%s: chute `%s` was not deployed (see `chuted chutes`)", kind, name);
  if (r < 0)
    return -1;
  if (strcmp (kind, "rollback") == 0)
    {
      r = ch_engine_rollback (e, &d, change_id, err);
      ch_desired_clear (&d);
      return r;
    }
  c.id = change_id ? xstrdup (change_id) : NULL;
  c.chute = xstrdup (name);
  c.kind = xstrdup (kind);
  c.version = xstrdup (d.version);
  r = ch_journal_begin (e->ctx, &c, err);
  if (r == 0 && e->event)
    e->event (e->data, &c, NULL);
  /* the desired state first: what is asked survives a crash in the middle */
  d.running = strcmp (kind, "stop") != 0;
  d.generation++;
  free (d.change);
  d.change = xstrdup (c.id ? c.id : "");
  free (d.since);
  d.since = ch_rfc3339 (time (NULL), -1);
  if (r == 0 && strcmp (kind, "remove") == 0)
    r = ch_desired_remove (e->ctx, name, err);
  else if (r == 0)
    r = ch_desired_save (e->ctx, &d, err);
  if (r == 0 && strcmp (kind, "start") != 0)
    {
      r = ch_engine_phase (e, &c, "stopping", NULL, err);
      if (r == 0 && ch_engine_recorded (e->ctx, name))
        r = ch_engine_stop_chute (e->ctx, name, strcmp (kind, "remove") == 0, err);
    }
  if (r == 0 && (strcmp (kind, "start") == 0 || strcmp (kind, "restart") == 0))
    r = op_start (e, &d, &c, true, err);
  if (c.id)
    ch_engine_finish (e, &c, r == 0 ? "done" : "failed", r == 0 ? NULL : (*err)->msg);
  ch_change_clear (&c);
  ch_desired_clear (&d);
  return r;
}

int
ch_engine_start_desired (struct ch_engine *e, const struct ch_desired *d, struct ch_change *c, bool gate,
                         ch_error_t *err)
{
  return op_start (e, d, c, gate, err);
}
