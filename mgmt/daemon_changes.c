/* The daemon's change queue: changes are applied one at a time (the engine
 * takes its lock anyway: a CLI change in between just waits its turn), each
 * by a forked child whose progress events come back as JSON lines on a
 * pipe. The last events of each change are kept for its stream; what a
 * change did is read back from the journal once its child is gone. */
#include "mgmt/daemon.h"
#include "common/json.h"
#include "mgmt/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct dm_change *
dm_change_new (struct ch_daemon *d, enum dm_work work, const char *kind, const char *chute)
{
  struct dm_change *c = xzalloc (sizeof (*c));

  /* unique past a restart (pid, time) and a valid journal id */
  c->id = xasprintf ("api%lx-%x-%u", (long) time (NULL), (unsigned) getpid (), ++d->id_seq);
  c->work = work;
  c->kind = xstrdup (kind);
  c->chute = xstrdup (chute);
  c->phase = xstrdup ("queued");
  c->events = json_array ();
  c->fd = -1;
  c->pid = -1;
  return c;
}

static void
change_free (struct dm_change *c)
{
  if (c->path)
    unlink (c->path);
  if (c->fd >= 0)
    close (c->fd);
  free (c->id);
  free (c->chute);
  free (c->kind);
  free (c->phase);
  free (c->result);
  free (c->reason);
  free (c->text);
  free (c->path);
  free (c->child_error);
  free (c->line.data);
  json_decref (c->events);
  json_decref (c->doc);
  json_decref (c->cloud_result);
  json_decref (c->failure);
  free (c);
}

struct dm_change *
dm_change_find (struct ch_daemon *d, const char *id)
{
  for (struct dm_change *c = d->changes; c; c = c->next)
    if (strcmp (c->id, id) == 0)
      return c;
  return NULL;
}

/* Keep C's event E (stolen); the oldest goes past DM_EVENTS_MAX. */
static void
add_event (struct ch_daemon *d, struct dm_change *c, json_t *e)
{
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);

  json_object_set_new (e, "seq", json_integer ((json_int_t) c->n_events++));
  if (json_object_get (e, "time") == NULL)
    json_object_set_new (e, "time", json_string (now));
  json_array_append_new (c->events, e);
  if (json_array_size (c->events) > DM_EVENTS_MAX)
    json_array_remove (c->events, 0);
  dm_streams_wake_change (d, c);
}

json_t *
dm_change_json (const struct dm_change *c, bool with_events)
{
  static const char *const states[] = { "queued", "running", "final" };
  json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s*}", "id", c->id, "chute", c->chute, "kind", c->kind,
                         "state", states[c->state], "phase", c->phase, "result", c->result, "reason", c->reason);
  if (c->failure)
    json_object_set (o, "failure", c->failure);
  if (with_events)
    json_object_set (o, "events", c->events);
  return o;
}

static void
start_next (struct ch_daemon *d);

/* Both the pipe's end and the child's exit seen: what happened is the
 * journal's record (the child may have died before writing it all). */
static void
finalize (struct ch_daemon *d, struct dm_change *c)
{
  int status = c->status;
  cleanup_error ch_error_t err = NULL;
  struct ch_change j = { 0 };
  int r = ch_journal_lookup (d->ctx, c->id, &j, &err);

  free (c->result);
  free (c->reason);
  if (c->work == DM_CLOUD)
    d->link->done (d, c); /* its changes are the chutes', journaled each */
  else if (r == 1 && j.result)
    {
      c->result = xstrdup (j.result);
      c->reason = j.reason ? xstrdup (j.reason) : NULL;
      c->failure = j.failure ? json_incref (j.failure) : NULL;
      /* a package names its chute only once it is read */
      if (j.chute && strcmp (c->chute, j.chute) != 0)
        {
          free (c->chute);
          c->chute = xstrdup (j.chute);
        }
    }
  else
    {
      /* refused before it was journaled (a stale generation, a conflict),
       * or killed: the child said why, or its status does */
      c->result = xstrdup ("failed");
      if (c->child_error)
        c->reason = xstrdup (c->child_error);
      else if (WIFSIGNALED (status))
        c->reason = xasprintf ("the change's process was killed by signal %d", WTERMSIG (status));
      else
        c->reason = xasprintf ("the change's process exited with code %d", WEXITSTATUS (status));
    }
  ch_change_clear (&j);
  free (c->phase);
  c->phase = xstrdup (c->result);
  c->state = DM_FINAL;
  d->n_final++;
  add_event (d, c, json_pack ("{s:s, s:s, s:s*, s:b}", "phase", c->result, "result", c->result, "reason", c->reason,
                              "final", 1));
  if (c->path)
    {
      unlink (c->path);
      free (c->path);
      c->path = NULL;
    }
  free (c->text); /* up to DM_JSON_MAX, for each change kept */
  c->text = NULL;
  /* forget the oldest finished ones nobody reads (the journal keeps them) */
  for (struct dm_change **p = &d->changes; *p && d->n_final > DM_CHANGES_KEPT;)
    if ((*p)->state == DM_FINAL && (*p)->refs == 0 && *p != c)
      {
        struct dm_change *o = *p;
        *p = o->next;
        change_free (o);
        d->n_final--;
      }
    else
      p = &(*p)->next;
  /* a change's buffers (its child's lines, events, a package's path) were
   * spread over the heap: hand the freed pages back, or a daemon that runs
   * for months creeps up by fragments */
  malloc_trim (0);
  start_next (d);
}

static void
child_line (struct ch_daemon *d, struct dm_change *c, const char *line, size_t len)
{
  json_t *e = json_loadb (line, len, 0, NULL);
  const char *phase;

  if (!json_is_object (e))
    {
      json_decref (e);
      return;
    }
  if (json_is_true (json_object_get (e, "final")))
    {
      const char *why = json_string_value (json_object_get (e, "error"));
      free (c->child_error);
      c->child_error = why ? xstrdup (why) : NULL;
      json_decref (c->cloud_result);
      c->cloud_result = json_incref (json_object_get (e, "cloud"));
      json_decref (e);
      return;
    }
  if (c->work == DM_CLOUD)
    d->link->event (d, c, e);
  phase = json_string_value (json_object_get (e, "phase"));
  /* the daemon said queued when it took the change */
  if (phase && strcmp (phase, "queued") == 0 && c->n_events == 1)
    {
      json_decref (e);
      return;
    }
  if (phase)
    {
      free (c->phase);
      c->phase = xstrdup (phase);
    }
  /* the final event is the daemon's, after the journal is read */
  json_object_del (e, "result");
  add_event (d, c, e);
}

/* Read what C's pipe holds; true at its end. */
static bool
drain (struct ch_daemon *d, struct dm_change *c)
{
  char buf[4096];
  ssize_t n;

  while ((n = read (c->fd, buf, sizeof (buf))) > 0)
    {
      size_t start = 0;
      ch_buf_append (&c->line, buf, n);
      for (size_t i = 0; i < c->line.len; i++)
        if (c->line.data[i] == '\n')
          {
            child_line (d, c, c->line.data + start, i - start);
            start = i + 1;
          }
      memmove (c->line.data, c->line.data + start, c->line.len - start);
      c->line.len -= start;
      /* a line that long is not the child's: drop it */
      if (c->line.len > 64 * 1024)
        c->line.len = 0;
    }
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

static void
close_pipe (struct ch_daemon *d, struct dm_change *c)
{
  cleanup_error ch_error_t err = NULL;

  dm_watch (d, c->fd, false, &err);
  close (c->fd);
  c->fd = -1;
}

void
dm_change_readable (struct ch_daemon *d, int fd)
{
  struct dm_change *c;

  for (c = d->changes; c && c->fd != fd; c = c->next)
    ;
  if (c == NULL || !drain (d, c))
    return;
  close_pipe (d, c);
  if (c->reaped)
    finalize (d, c);
}

void
dm_change_reaped (struct ch_daemon *d, pid_t pid, int status)
{
  for (struct dm_change *c = d->changes; c; c = c->next)
    if (c->pid == pid && c->state == DM_RUNNING)
      {
        c->reaped = true;
        c->pid = -1;
        c->status = status;
        /* the child wrote all it will: what the pipe holds is the rest (a
         * process it started may hold the pipe open, so no end is awaited) */
        if (c->fd >= 0)
          {
            drain (d, c);
            close_pipe (d, c);
          }
        finalize (d, c);
        return;
      }
}

static int
spawn (struct ch_daemon *d, struct dm_change *c, ch_error_t *err)
{
  int p[2];
  sigset_t none;
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* the change is its own: it outlives a daemon killed under it, and
       * signals meant for the daemon's process group are not its */
      setpgid (0, 0);
      signal (SIGPIPE, SIG_IGN);
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGCHLD, SIG_DFL);
      /* fd 3, closed at exec: the chutes it starts do not hold the pipe */
      if (p[1] != 3 ? dup3 (p[1], 3, O_CLOEXEC) < 0 : fcntl (3, F_SETFD, FD_CLOEXEC) < 0)
        _exit (125);
      /* not the listeners, not the clients' connections */
      close_range (4, ~0U, 0);
      _exit (dm_engine_child (d->ctx, d->link, c, 3));
    }
  close (p[1]);
  fcntl (p[0], F_SETFL, O_NONBLOCK);
  c->fd = p[0];
  c->pid = pid;
  if (dm_watch (d, c->fd, true, err) < 0)
    return -1;
  return 0;
}

static void
start_next (struct ch_daemon *d)
{
  cleanup_error ch_error_t err = NULL;
  struct dm_change *c;

  if (d->stopping)
    return;
  for (c = d->changes; c; c = c->next)
    if (c->state == DM_RUNNING)
      return;
  for (c = d->changes; c && c->state != DM_QUEUED; c = c->next)
    ;
  if (c == NULL)
    return;
  c->state = DM_RUNNING;
  if (spawn (d, c, &err) < 0)
    {
      c->child_error = xstrdup (err->msg);
      c->reaped = true;
      if (c->fd >= 0)
        {
          close (c->fd);
          c->fd = -1;
        }
      finalize (d, c);
    }
}

void
dm_change_submit (struct ch_daemon *d, struct dm_change *c)
{
  struct dm_change **p = &d->changes;

  while (*p)
    p = &(*p)->next;
  *p = c;
  add_event (d, c, json_pack ("{s:s}", "phase", "queued"));
  start_next (d);
}

void
dm_change_unref (struct ch_daemon *d, struct dm_change *c)
{
  c->refs--;
}

void
dm_changes_free (struct ch_daemon *d)
{
  while (d->changes)
    {
      struct dm_change *c = d->changes;
      d->changes = c->next;
      /* a running change's child finishes it: its upload stays for it */
      if (c->state == DM_RUNNING)
        {
          free (c->path);
          c->path = NULL;
        }
      change_free (c);
    }
}
