/* `chuted reconcile`: actual state brought to desired after anything.
 *
 * What a crash leaves is read from the store, which the engine writes
 * before it acts: a journal record whose result is still NULL is a change
 * cut short; the chute's desired.json says whether that change got as far
 * as being the desired one (its `change` is the record's id) and which
 * version it wants; the record keeps the version that ran before it
 * (`from`). A chute name runs once, so two versions never run at the same
 * time; the chute's record (ROOT/chutes/NAME/chute.json) tells which
 * version a half-done change left there, by comparing it with what each
 * version's file makes. Then every deployed chute is brought to desired:
 * started after a reboot or a monitor's death (several at once), stopped
 * if desired so. Each action is a journaled change (kind `reconcile`), so
 * the CLI, the REST API and the cloud link see it as they see deploys. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"
#include "mgmt/pod.h"
#include "mgmt/lifecycle.h"
#include "mgmt/reap.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The records deployed chute NAME is made of: its own, or its services'
 * (a pod), in start order. */
static char **
records_of (struct ch_ctx *ctx, const char *name)
{
  cleanup_error ch_error_t e2 = NULL;
  char **names = NULL;

  if (ch_pod_is (ctx, name) && ch_pod_services (ctx, name, &names, &e2) == 0)
    return names;
  ch_strv_free (names);
  names = xzalloc (sizeof (char *));
  ch_strv_append (&names, name);
  return names;
}

/* Is record REC what service I of version M makes (up to what running it
 * changes: its creation time, a stop by the user)? */
static bool
record_is_service (struct ch_ctx *ctx, const char *rec_name, const struct ch_chutefile *m, size_t i)
{
  cleanup_error ch_error_t e2 = NULL;
  struct ch_chute rec, want;
  bool same = false;

  ch_chute_init (&rec);
  ch_chute_init (&want);
  if (ch_chute_load (ctx, rec_name, &rec, &e2) == 0 && ch_chute_from_service (m, i, &want, &e2) == 0
      && strcmp (want.name, rec_name) == 0)
    {
      cleanup_json json_t *a = NULL, *b = NULL;
      free (want.created);
      want.created = rec.created ? xstrdup (rec.created) : NULL;
      want.user_stopped = rec.user_stopped;
      want.autoremove = rec.autoremove;
      a = ch_chute_to_json (&rec);
      b = ch_chute_to_json (&want);
      same = json_equal (a, b);
    }
  ch_chute_clear (&rec);
  ch_chute_clear (&want);
  return same;
}

/* Are chute NAME's records (one, or a pod's services) what version M makes? */
static bool
record_is (struct ch_ctx *ctx, const char *name, const struct ch_chutefile *m)
{
  cleanup_strv char **recs = records_of (ctx, name);

  if (ch_strv_len (recs) != m->n_svc)
    return false;
  for (size_t i = 0; i < m->n_svc; i++)
    if (!record_is_service (ctx, recs[i], m, i))
      return false;
  return true;
}

/* Do chute NAME's records load? A power cut can leave chute.json empty:
 * it is not fsync'd (the start path stays cheap), the desired state is. */
static bool
record_loads (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_strv char **recs = records_of (ctx, name);

  for (char **r = recs; *r; r++)
    {
      struct ch_chute c;
      int rc;

      ch_chute_init (&c);
      rc = ch_chute_load (ctx, *r, &c, err);
      ch_chute_clear (&c);
      if (rc < 0)
        return false;
    }
  return true;
}

/* Is deployed chute NAME running (a pod: all its services)? */
static bool
deployed_running (struct ch_ctx *ctx, const char *name)
{
  bool running, recorded;

  if (!ch_pod_is (ctx, name))
    return ch_chute_running (ctx, name, NULL);
  json_decref (ch_pod_actual (ctx, name, &running, &recorded));
  return running;
}

/* Stop and remove chute NAME (a pod: every service), if it is recorded. */
static int
drop_chute (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_error ch_error_t why = NULL;
  cleanup_strv char **recs = NULL;

  if (!ch_engine_recorded (ctx, name))
    return 0;
  if (record_loads (ctx, name, &why))
    return ch_engine_stop_chute (ctx, name, true, err);
  /* the version's file says what the chute is: what is left of it goes by
   * force, to be made again */
  recs = records_of (ctx, name);
  for (char **r = recs; *r; r++)
    {
      cleanup_close int lock = -1;
      if (ch_lock_chute (ctx, *r, &lock, err) < 0 || ch_chute_remove (ctx, *r, true, err) < 0)
        return ch_error_prefix (err, "remove chute `%s` (%s)", *r, why->msg);
    }
  return 0;
}

/* A record that does not load is of no use to stop, start or compare: it
 * goes, and the chute is made again from its version's file when it starts. */
static int
drop_broken (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_error ch_error_t why = NULL;

  if (!ch_engine_recorded (ctx, name) || record_loads (ctx, name, &why))
    return 0;
  return drop_chute (ctx, name, err);
}

static void __attribute__ ((format (printf, 4, 5)))
finish_fmt (struct ch_engine *e, struct ch_change *c, const char *result, const char *fmt, ...)
{
  cleanup_free char *reason = NULL;
  va_list ap;

  va_start (ap, fmt);
  reason = xvasprintf (fmt, ap);
  va_end (ap);
  ch_engine_finish (e, c, result, reason);
}

/* Deploy, update or rollback C, cut short after D became its desired state:
 * forward to D's version; if that fails, back to the version before C. */
static int
roll_forward (struct ch_engine *e, struct ch_change *c, struct ch_desired *d, const char *why, ch_error_t *err)
{
  const char *name = d->name;
  /* D's version is C's own unless C was already rolling back */
  bool forward = c->version && strcmp (d->version, c->version) == 0;
  const char *back = forward && c->from && strcmp (c->from, d->version) != 0 ? c->from : NULL;
  cleanup_free char *text = NULL, *orig = c->reason ? xstrdup (c->reason) : NULL;
  struct ch_chutefile m;
  bool adopted = false;
  size_t len;
  int r;

  r = ch_engine_load_version (e->ctx, name, d->version, &m, &text, &len, err);
  /* what is there is the version before (stop old cut short) or a new one
   * made by a start cut short: only the wanted version's record is kept */
  if (r == 0 && ch_engine_recorded (e->ctx, name) && !record_is (e->ctx, name, &m))
    r = drop_chute (e->ctx, name, err);
  if (r == 0)
    {
      adopted = deployed_running (e->ctx, name);
      r = ch_engine_start_desired (e, d, c, true, err);
    }
  /* one it found running may have been started by the change and lost
   * with it (its monitor never told to go): a fresh start before giving up */
  if (r < 0 && adopted)
    {
      ch_error_release (err);
      r = drop_chute (e->ctx, name, err);
      if (r == 0)
        r = ch_engine_start_version (e, c, &m, err);
    }
  ch_chutefile_clear (&m);
  if (r == 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      if (forward && ch_desired_prune (e->ctx, d, &e2) < 0)
        fprintf (stderr, "chuted: warning: %s\n", e2->msg);
      if (forward)
        finish_fmt (e, c, "done", "%s; rolled forward by reconcile", why);
      else
        finish_fmt (e, c, "rolled_back", "%s; %s, finished by reconcile", orig ? orig : "rolled back", why);
      return 0;
    }
  {
    cleanup_error ch_error_t e2 = NULL;
    if (drop_chute (e->ctx, name, &e2) < 0)
      fprintf (stderr, "chuted: warning: %s\n", e2->msg);
  }
  if (back)
    {
      cleanup_free char *msg = xasprintf ("%s; version %s then did not start: %s", why, d->version, (*err)->msg);
      ch_error (err, 0, "%s", msg);
      ch_engine_roll_back (e, c, d, back, c->from_previous, err);
      return strcmp (c->result ? c->result : "", "rolled_back") == 0 ? 0 : -1;
    }
  if (c->from == NULL && forward)
    {
      /* a first deploy that fails leaves no desired state behind, as apply's */
      cleanup_error ch_error_t e2 = NULL;
      ch_desired_remove (e->ctx, name, &e2);
    }
  ch_error_prefix (err, "%s `%s`: %s; on reconcile", c->kind, name, why);
  ch_engine_finish (e, c, "failed", (*err)->msg);
  return -1;
}

/* Change C (no result) was cut short: end it as what it now is. */
static int
recover (struct ch_engine *e, struct ch_change *c, ch_error_t *err)
{
  cleanup_free char *why = xasprintf ("interrupted at `%s`", c->phase ? c->phase : "queued");
  struct ch_desired d;
  bool ours;
  int have, r = 0;

  if (ch_engine_phase (e, c, "reconciling", why, err) < 0)
    return -1;
  have = ch_desired_load (e->ctx, c->chute, &d, err);
  if (have < 0)
    {
      ch_engine_finish (e, c, "failed", (*err)->msg);
      return -1;
    }
  ours = have && d.change && strcmp (d.change, c->id) == 0;
  if (have && drop_broken (e->ctx, c->chute, err) < 0)
    r = -1;
  else if (strcmp (c->kind, "remove") == 0 && (ours || !have))
    {
      if (have)
        r = ch_desired_remove (e->ctx, c->chute, err);
      if (r == 0 && (r = ch_engine_phase (e, c, "stopping", NULL, err)) == 0)
        r = drop_chute (e->ctx, c->chute, err);
      if (r == 0)
        finish_fmt (e, c, "done", "%s; finished by reconcile", why);
    }
  else if (!ours)
    /* the desired state never became this change's (or a later one's did) */
    finish_fmt (e, c, "failed", "%s, before it was the desired state: not applied", why);
  else if (!d.running)
    {
      r = ch_engine_phase (e, c, "stopping", NULL, err);
      if (r == 0 && ch_engine_recorded (e->ctx, c->chute))
        r = ch_engine_stop_chute (e->ctx, c->chute, false, err);
      if (r == 0)
        finish_fmt (e, c, "done", "%s; finished by reconcile", why);
    }
  else if (strcmp (c->kind, "start") == 0 || strcmp (c->kind, "restart") == 0)
    {
      r = ch_engine_start_desired (e, &d, c, true, err);
      if (r == 0)
        finish_fmt (e, c, "done", "%s; finished by reconcile", why);
    }
  else
    r = roll_forward (e, c, &d, why, err);
  if (r < 0 && c->result == NULL)
    ch_engine_finish (e, c, "failed", (*err)->msg);
  ch_desired_clear (&d);
  return r;
}

/* Does deployed chute D need a change to be as desired? Then C is begun
 * (journaled, its id taken: under the engine's lock, in the parent) and
 * *RUNNING says which way. 1: C to apply (converge_apply), 0: nothing to do. */
static int
converge_begin (struct ch_engine *e, struct ch_desired *d, struct ch_change *c, bool *running, ch_error_t *err)
{
  *running = deployed_running (e->ctx, d->name);
  if (!*running && drop_broken (e->ctx, d->name, err) < 0)
    return -1;
  if (*running == d->running)
    return 0;
  c->chute = xstrdup (d->name);
  c->kind = xstrdup ("reconcile");
  c->version = xstrdup (d->version);
  if (ch_journal_begin (e->ctx, c, err) < 0)
    return -1;
  if (e->event)
    e->event (e->data, c, *running ? "running, desired stopped" : "not running (a reboot, or its monitor died)");
  return 1;
}

/* Stop or start D as begun change C says, and end C. */
static int
converge_apply (struct ch_engine *e, struct ch_desired *d, struct ch_change *c, bool running, ch_error_t *err)
{
  int r = 0;

  if (running)
    r = ch_engine_phase (e, c, "stopping", NULL, err);
  if (r == 0)
    /* no health gate: the version was chosen when it was deployed, there is
     * no other to fall back to, and a boot restore of N chutes would wait
     * N grace periods; the restart policy watches it from here */
    r = running ? ch_engine_stop_chute (e->ctx, d->name, false, err) : ch_engine_start_desired (e, d, c, false, err);
  ch_engine_finish (e, c, r == 0 ? "done" : "failed", r == 0 ? NULL : (*err)->msg);
  return r;
}

/* Independent chutes are brought back at once, one per online CPU (2 to
 * RECONCILE_JOBS), each by converge_apply in a child of its own: a boot
 * restore of N chutes takes about N / jobs starts, not N. A start is mostly
 * process creation, bound by the CPUs (in the QEMU APU under TCG, 4 at once
 * on 2 vCPUs restored 5 chutes in 8.6 s, 2 at once in 7.4 s, one by one in
 * 10.2 s). A Wi-Fi chute's start is the longest (hostapd's own start, which
 * it waits for, is most of it) and mostly a wait: such chutes go first and
 * beside the others, not in their place. A chute's services (a pod) start in
 * their order in its one child. Each child works under its chute's own lock,
 * as `chuted start` does, and holds the engine's lock with us (flock's
 * belongs to the open file, shared across fork); what the engine's lock
 * alone guards (a change's id, the journal's counter, the decision) stays in
 * the parent. */
#define RECONCILE_JOBS 4

struct converge_jobs
{
  pid_t pid[2 * RECONCILE_JOBS];
  int pidfd[2 * RECONCILE_JOBS]; /* -1 where the kernel has no pidfd_open */
  bool waits[2 * RECONCILE_JOBS]; /* a Wi-Fi chute's: beside the others */
  size_t n, n_waits, max;
  int failed;
};

static void
job_reap (struct converge_jobs *j, size_t i)
{
  int status;
  pid_t p;

  while ((p = waitpid (j->pid[i], &status, 0)) < 0 && errno == EINTR)
    ;
  /* ECHILD (reaped by someone else): its change record says how it went */
  if (p > 0 && (!WIFEXITED (status) || WEXITSTATUS (status) != 0))
    j->failed++;
  if (j->pidfd[i] >= 0)
    close (j->pidfd[i]);
  j->n_waits -= j->waits[i];
  j->n--;
  j->pid[i] = j->pid[j->n];
  j->pidfd[i] = j->pidfd[j->n];
  j->waits[i] = j->waits[j->n];
}

/* Wait for a child of J to end (all of them with ALL): whichever ends
 * first, seen on its pidfd, so a slow start (a Wi-Fi chute's) does not
 * hold the next chute back; reaped by pid: what else this process started
 * is not ours to reap. */
static void
jobs_wait (struct converge_jobs *j, bool all)
{
  while (j->n > 0)
    {
      struct pollfd p[2 * RECONCILE_JOBS];
      size_t i;
      bool ended = false;

      for (i = 0; i < j->n && j->pidfd[i] >= 0; i++)
        p[i] = (struct pollfd){ .fd = j->pidfd[i], .events = POLLIN };
      if (i < j->n || (poll (p, j->n, -1) < 0 && errno != EINTR))
        {
          job_reap (j, i < j->n ? i : 0); /* no pidfd: that one, by its pid */
          ended = true;
        }
      else
        for (i = j->n; i-- > 0;)
          if (p[i].revents)
            {
              job_reap (j, i);
              ended = true;
            }
      if (ended && !all)
        return;
    }
}

/* Apply begun change C on D in a child of J (inline when fork fails);
 * WAITS: a Wi-Fi chute's start (up to max of them beside max others). */
static void
converge_spawn (struct ch_engine *e, struct converge_jobs *j, struct ch_desired *d, struct ch_change *c, bool running,
                bool waits)
{
  cleanup_error ch_error_t e2 = NULL;
  pid_t pid;

  waits = waits && !running && j->n_waits < j->max;
  while (j->n - j->n_waits >= j->max && !waits)
    jobs_wait (j, false);
  fflush (NULL); /* buffered events are printed once */
  pid = fork ();
  if (pid > 0)
    {
      j->pid[j->n] = pid;
      j->waits[j->n] = waits;
      j->n_waits += waits;
      j->pidfd[j->n++] = (int) syscall (SYS_pidfd_open, pid, 0);
      return;
    }
  if (converge_apply (e, d, c, running, &e2) < 0)
    {
      fprintf (stderr, "chuted: reconcile: %s\n", e2->msg);
      if (pid < 0)
        j->failed++;
    }
  if (pid == 0)
    {
      fflush (NULL);
      _exit (e2 ? 1 : 0);
    }
}

/* Deployed chute NAME to its desired state: a change begun here, applied in
 * a child of J; WIFI: it holds a Wi-Fi network. */
static int
converge_one (struct ch_engine *e, struct converge_jobs *j, const char *name, bool wifi)
{
  cleanup_error ch_error_t e2 = NULL;
  struct ch_desired d;
  struct ch_change c = { 0 };
  bool running;
  int r = ch_desired_load (e->ctx, name, &d, &e2);

  if (r > 0)
    r = converge_begin (e, &d, &c, &running, &e2);
  if (r > 0)
    converge_spawn (e, j, &d, &c, running, wifi);
  else if (r < 0)
    {
      if (c.id)
        ch_engine_finish (e, &c, "failed", e2->msg);
      fprintf (stderr, "chuted: reconcile: %s\n", e2->msg);
    }
  ch_change_clear (&c);
  ch_desired_clear (&d);
  return r < 0 ? -1 : 0;
}

/* Does deployed chute NAME (a pod: one of its services) hold a Wi-Fi network? */
static bool
has_wifi (struct ch_ctx *ctx, const char *name)
{
  cleanup_strv char **recs = records_of (ctx, name);
  bool wifi = false;

  for (char **r = recs; *r && !wifi; r++)
    {
      cleanup_error ch_error_t e2 = NULL;
      struct ch_chute c;

      ch_chute_init (&c);
      wifi = ch_chute_load (ctx, *r, &c, &e2) == 0 && c.wifi != NULL;
      ch_chute_clear (&c);
    }
  return wifi;
}

static void
unlink_tmp (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir (d)))
    if (strstr (de->d_name, ".tmp."))
      unlinkat (dirfd (d), de->d_name, 0);
  closedir (d);
}

/* What writes cut short left in the store: ch_write_file_durable's temp
 * files, and a chute's deploy dir without desired.json (a first deploy
 * cut short before it, a removal cut short). Only the engine writes here,
 * and its lock is ours. */
static void
sweep_store (struct ch_ctx *ctx)
{
  cleanup_free char *deploy = ch_deploy_dir (ctx);
  cleanup_free char *journal = xasprintf ("%s/journal", deploy);
  cleanup_free char *chutes = xasprintf ("%s/chutes", deploy);
  DIR *d;
  struct dirent *de;

  unlink_tmp (journal);
  d = opendir (chutes);
  if (d == NULL)
    return;
  while ((de = readdir (d)))
    {
      cleanup_free char *dir = xasprintf ("%s/%s", chutes, de->d_name);
      cleanup_free char *f = xasprintf ("%s/desired.json", dir);
      cleanup_free char *vdir = xasprintf ("%s/versions", dir);
      cleanup_error ch_error_t e2 = NULL;
      DIR *v;
      struct dirent *ve;

      if (de->d_name[0] == '.')
        continue;
      unlink_tmp (dir);
      if (access (f, F_OK) < 0 && errno == ENOENT)
        {
          if (ch_rm_rf (dir, &e2) < 0)
            fprintf (stderr, "chuted: warning: %s\n", e2->msg);
          continue;
        }
      if ((v = opendir (vdir)) == NULL)
        continue;
      while ((ve = readdir (v)))
        if (ve->d_name[0] != '.')
          {
            cleanup_free char *one = xasprintf ("%s/%s", vdir, ve->d_name);
            unlink_tmp (one);
          }
      closedir (v);
    }
  closedir (d);
}

int
ch_engine_reconcile (struct ch_engine *e, ch_error_t *err)
{
  cleanup_json json_t *records = NULL;
  cleanup_strv char **names = NULL;
  cleanup_free bool *wifi = NULL;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  struct converge_jobs jobs = { .n = 0, .max = cpus < 2 ? 2 : cpus > RECONCILE_JOBS ? RECONCILE_JOBS : (size_t) cpus };
  size_t i;
  json_t *j;
  int failed = 0;

  /* dead monitors and starts cut short first: their chutes as they now are */
  if (ch_reap_locked (e->ctx, err) < 0 || ch_journal_list (e->ctx, &records, err) < 0)
    return ch_error_prefix (err, "reconcile");
  json_array_foreach (records, i, j)
  {
    cleanup_error ch_error_t e2 = NULL;
    const char *id = json_string_value (json_object_get (j, "id"));
    struct ch_change c;

    if (!json_is_null (json_object_get (j, "result")))
      continue;
    if (ch_journal_lookup (e->ctx, id, &c, &e2) <= 0 || recover (e, &c, &e2) < 0)
      {
        if (e2)
          fprintf (stderr, "chuted: reconcile: %s\n", e2->msg);
        failed++;
      }
    ch_change_clear (&c);
  }
  sweep_store (e->ctx);
  if (ch_desired_list (e->ctx, &names, err) < 0)
    return ch_error_prefix (err, "reconcile");
  wifi = xzalloc ((ch_strv_len (names) + 1) * sizeof (bool));
  for (i = 0; names[i]; i++)
    wifi[i] = has_wifi (e->ctx, names[i]);
  /* the longest starts first */
  for (int pass = 0; pass < 2; pass++)
    for (i = 0; names[i]; i++)
      if (wifi[i] == (pass == 0) && converge_one (e, &jobs, names[i], wifi[i]) < 0)
        failed++;
  jobs_wait (&jobs, true);
  failed += jobs.failed;
  if (failed)
    return ch_error (err, 0, "reconcile: %d chute%s not brought to the desired state", failed, failed > 1 ? "s" : "");
  return 0;
}
