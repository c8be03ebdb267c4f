/* chutectl's rollouts (docs/CLOUD.md, "Rollouts"): one chute to a group of
 * APs in waves. The canary wave first, all of it finished before the rest;
 * then the rest with at most --batch APs in flight. Each AP gets its next
 * signed desired document with the rollout's id as change id, and its
 * retained reported state says when it applied it (health-gated by its
 * engine) or failed. Past the failure budget (--max-fail) no AP gets it any
 * more and the failed ones are put back on their old version; an abort
 * (chutectl abort, a retained marker) puts back every AP it reached.
 *
 * The rollout's whole state is one retained document on
 * CTL_ROLLOUT_PREFIX ID, published at most once a second while it moves
 * (and as a heartbeat): a restarted watch, a second operator, or an abort
 * whose driver is gone read it there; the abort can take the rollout over
 * from that document alone. */
#include "common/json.h"
#include "common/util.h"
#include "tools/chutectl/rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int64_t
ro_wall_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *
node_of (struct ro *r, const char *name)
{
  return json_object_get (r->nodes, name);
}

static const char *
str (json_t *o, const char *k)
{
  return json_string_value (json_object_get (o, k));
}

static bool
is (json_t *o, const char *k, const char *v)
{
  const char *s = str (o, k);
  return s && strcmp (s, v) == 0;
}

static void
set_ms (struct ro *r, json_t *n, const char *k)
{
  json_object_set_new (n, k, json_integer (ro_wall_ms () - r->started_ms));
  r->dirty = true;
}

/* The first time PCT % of the APs are done: t50, t99, t100. */
static void
mark_times (struct ro *r)
{
  static const int pcts[] = { 50, 99, 100 };
  json_t *times = json_object_get (r->doc, "times");
  size_t n = json_object_size (r->nodes), done = 0;
  const char *k;
  json_t *v;

  json_object_foreach (r->nodes, k, v)
    done += is (v, "phase", "done");
  for (size_t i = 0; i < sizeof (pcts) / sizeof (pcts[0]); i++)
    {
      cleanup_free char *key = xasprintf ("t%d_ms", pcts[i]);

      if (json_object_get (times, key) == NULL && done * 100 >= (size_t) pcts[i] * n && done > 0)
        json_object_set_new (times, key, json_integer (ro_wall_ms () - r->started_ms));
    }
}

/* An AP's reported state moved: did it apply (or refuse) our document? */
static void
on_reported (struct ro *r, const char *name, json_t *rep)
{
  json_t *n = node_of (r, name), *link = json_object_get (rep, "link"), *refused = json_object_get (link, "refused");
  const char *res = str (link, "result");

  if (n == NULL)
    return;
  if (is (n, "phase", "sent"))
    {
      if (is (refused, "change", r->id))
        {
          json_object_set_new (n, "phase", json_string ("failed"));
          json_object_set_new (n, "reason", json_sprintf ("refused: %s", str (refused, "reason") ?: "?"));
          set_ms (r, n, "done_ms");
        }
      else if (is (link, "change", r->id) && res && strcmp (res, "applying") != 0)
        {
          bool ok = strcmp (res, "done") == 0;

          json_object_set_new (n, "phase", json_string (ok ? "done" : "failed"));
          if (!ok)
            json_object_set_new (n, "reason", json_string_nocheck (str (json_object_get (link, "errors"),
                                                                            r->chute) ?: res));
          set_ms (r, n, "done_ms");
          mark_times (r);
        }
    }
  if (is (n, "revert", "reverting") && is (link, "change", r->undo) && res && strcmp (res, "applying") != 0)
    {
      json_object_set_new (n, "revert", json_string (strcmp (res, "done") == 0 ? "reverted" : "revert failed"));
      if (is (n, "phase", "sent"))
        json_object_set_new (n, "phase", json_string ("cancelled")); /* the AP skipped to the undo */
      set_ms (r, n, "reverted_ms");
    }
}

static void
ro_msg (struct ctl *c, const char *topic, const char *payload, int len)
{
  struct ro *r = c->data;
  cleanup_json json_t *j = len ? json_loadb (payload, (size_t) len, 0, NULL) : NULL;
  const char *rest;
  cleanup_free char *name = NULL;

  if (strcmp (topic, r->abort_topic) == 0)
    {
      r->abort_seen |= j != NULL;
      return;
    }
  if (j == NULL || (name = ctl_topic_node (topic, &rest)) == NULL)
    return;
  if (strcmp (rest, "desired") == 0)
    {
      /* our own publish comes back too: keep the newest generation */
      json_t *had = json_object_get (r->desired, name);
      if (had == NULL || json_integer_value (json_object_get (had, "generation"))
                             <= json_integer_value (json_object_get (j, "generation")))
        json_object_set (r->desired, name, j);
    }
  else if (strcmp (rest, "reported") == 0)
    {
      json_object_set (r->reported, name, j);
      on_reported (r, name, j);
    }
  else if (ch_has_prefix (rest, "evt/") && node_of (r, name))
    {
      /* the engine's phase, shown as the AP's step (not worth a publish alone) */
      json_object_set (node_of (r, name), "step", json_object_get (j, "phase"));
    }
}

/* NAME's next desired document: the rollout's entry (FORWARD), else its
 * old version back (or no chute when it had none); signed, kept in
 * r->desired, NAME marked as waited for. Not published yet. */
static int
prepare (struct ro *r, const char *name, bool forward, ch_error_t *err)
{
  json_t *had = json_object_get (r->desired, name), *n = node_of (r, name), *chutes, *old;
  json_t *doc = had ? json_deep_copy (had) : json_pack ("{s:{}}", "chutes");

  json_object_del (doc, "signature");
  chutes = json_object_get (doc, "chutes");
  if (!json_is_object (chutes))
    json_object_set_new (doc, "chutes", chutes = json_object ());
  old = json_object_get (n, "old");
  if (forward)
    json_object_set (chutes, r->chute, r->entry);
  else if (json_is_string (old))
    json_object_set_new (chutes, r->chute, json_pack ("{s:O, s:b}", "version", old, "running", 1));
  else
    json_object_del (chutes, r->chute);
  if (ctl_doc_sign (r->c, name, doc, json_object_get (r->reported, name), forward ? r->id : r->undo, err) < 0)
    {
      json_decref (doc);
      return ch_error_prefix (err, "rollout %s: AP %s", r->id, name);
    }
  json_object_set_new (r->desired, name, doc);
  /* the AP's answer is due by then; an outage of the broker moves it */
  json_object_set_new (n, "deadline_ms", json_integer (ro_wall_ms () - r->started_ms + r->timeout_s * 1000));
  if (forward)
    {
      json_object_set_new (n, "phase", json_string ("sent"));
      set_ms (r, n, "sent_ms");
    }
  else
    {
      json_object_set_new (n, "revert", json_string ("reverting"));
      set_ms (r, n, "revert_ms");
    }
  return 0;
}

static int publish_doc (struct ro *r, bool force);

/* NAMES' documents, forward or back: the rollout document records them
 * as sent first (at the broker: an abort that takes over knows every AP a
 * document may have reached), then they go out without waiting for each
 * PUBACK; whatever the broker loses is sent again (resume). */
static int
send_wave (struct ro *r, json_t *names, bool forward, ch_error_t *err)
{
  size_t i;
  json_t *v;

  if (json_array_size (names) == 0)
    return 0;
  json_array_foreach (names, i, v)
    if (prepare (r, json_string_value (v), forward, err) < 0)
      return -1;
  if (publish_doc (r, true) < 0)
    return ch_error (err, 0, "rollout %s: its document: the broker is gone", r->id);
  json_array_foreach (names, i, v)
  {
    const char *name = json_string_value (v);
    cleanup_free char *topic = xasprintf ("chuted/v1/%s/desired", name);
    cleanup_free char *s = json_dumps (json_object_get (r->desired, name), JSON_COMPACT);
    int rc = mosquitto_publish (r->c->m, NULL, topic, (int) strlen (s), s, 1, true);

    if (rc != MOSQ_ERR_SUCCESS)
      return ch_error (err, 0, "publish %s: %s", topic, mosquitto_strerror (rc));
  }
  return 0;
}

struct counts
{
  size_t n, pending, sent, done, failed, reverting;
};

static struct counts
count (struct ro *r)
{
  struct counts k = { .n = json_object_size (r->nodes) };
  size_t i;
  json_t *v;

  json_array_foreach (r->order, i, v)
  {
    json_t *n = node_of (r, json_string_value (v));

    k.pending += is (n, "phase", "pending");
    k.sent += is (n, "phase", "sent");
    k.done += is (n, "phase", "done");
    k.failed += is (n, "phase", "failed");
    k.reverting += is (n, "revert", "reverting");
  }
  return k;
}

static void
set_state (struct ro *r, const char *state, char *reason)
{
  json_object_set_new (r->doc, "state", json_string (state));
  if (reason)
    json_object_set_new (r->doc, "reason", json_string (reason));
  free (reason);
  r->dirty = true;
  r->last_pub = 0; /* a new state goes out at once */
}

/* APs whose document or undo went unanswered for --timeout. */
static void
timeouts (struct ro *r)
{
  int64_t now = ro_wall_ms () - r->started_ms;
  const char *k;
  json_t *n;

  json_object_foreach (r->nodes, k, n)
  {
    bool late = now > json_integer_value (json_object_get (n, "deadline_ms"));

    if (is (n, "phase", "sent") && late)
      {
        json_object_set_new (n, "phase", json_string ("failed"));
        json_object_set_new (n, "reason", json_sprintf ("no result in %ld s (offline?)", r->timeout_s));
        set_ms (r, n, "done_ms");
      }
    if (is (n, "revert", "reverting") && late)
      {
        json_object_set_new (n, "revert", json_string ("revert failed"));
        r->dirty = true;
      }
  }
}

/* Put back every AP in PHASE that is not put back yet. */
static int
revert_all (struct ro *r, const char *phase, ch_error_t *err)
{
  cleanup_json json_t *names = json_array ();
  const char *k;
  json_t *n;

  json_object_foreach (r->nodes, k, n)
    if (is (n, "phase", phase) && json_object_get (n, "revert") == NULL)
      json_array_append_new (names, json_string (k));
  return send_wave (r, names, false, err);
}

/* One step of the rollout's state machine; true when it ended. */
static bool
step (struct ro *r, ch_error_t *err)
{
  const char *state = str (r->doc, "state");
  struct counts k;

  if (r->abort_seen && (strcmp (state, "running") == 0 || strcmp (state, "stopping") == 0))
    {
      set_state (r, "aborting", xstrdup ("aborted by an operator"));
      state = "aborting";
    }
  timeouts (r);
  if (strcmp (state, "aborting") == 0)
    {
      if (revert_all (r, "sent", err) < 0 || revert_all (r, "done", err) < 0 || revert_all (r, "failed", err) < 0)
        return false;
      if (count (r).reverting == 0)
        set_state (r, "aborted", NULL);
      return count (r).reverting == 0;
    }
  /* a failed AP is back on its old version already (its engine rolled it
   * back); its desired document goes back too, so it stays there */
  if (revert_all (r, "failed", err) < 0)
    return false;
  k = count (r);
  if (strcmp (state, "running") == 0)
    {
      size_t canary = (size_t) r->canary < k.n ? (size_t) r->canary : k.n;
      size_t canary_done = 0;
      bool over = k.failed * 100 > (size_t) r->max_fail * k.n;

      for (size_t i = 0; i < canary; i++)
        canary_done += !is (node_of (r, json_string_value (json_array_get (r->order, i))), "phase", "pending")
                       && !is (node_of (r, json_string_value (json_array_get (r->order, i))), "phase", "sent");
      /* the canary wave is judged on its own */
      if (canary && canary_done == canary && r->next <= canary && k.failed * 100 > (size_t) r->max_fail * canary)
        over = true;
      if (over)
        {
          set_state (r, "stopping",
                     xasprintf ("%zu of %zu APs failed, more than --max-fail %ld%%", k.failed, k.n, r->max_fail));
          return false;
        }
      /* the canary wave at once; the rest once it finished, --batch in flight */
      {
        cleanup_json json_t *wave = json_array ();
        size_t next = r->next;

        for (size_t busy = k.sent; next < k.n; next++, busy++)
          {
            if (next >= canary && ((canary && canary_done < canary) || (r->batch && busy >= (size_t) r->batch)))
              break;
            json_array_append (wave, json_array_get (r->order, next));
          }
        r->next = next; /* marked sent by send_wave even when the broker went away in it */
        if (send_wave (r, wave, true, err) < 0)
          return false;
      }
      k = count (r);
      if (k.pending == 0 && k.sent == 0 && k.reverting == 0)
        {
          set_state (r, k.failed ? "stopped" : "done", NULL);
          return true;
        }
      return false;
    }
  /* stopping: nothing new is sent; what is in flight finishes */
  if (k.sent == 0 && k.reverting == 0)
    {
      set_state (r, "stopped", NULL);
      return true;
    }
  return false;
}

/* Returns -1 when the broker is gone. */
static int
publish_doc (struct ro *r, bool force)
{
  int64_t now = ch_now_ms ();
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *topic = xasprintf ("%s%s", CTL_ROLLOUT_PREFIX, r->id), *s = NULL;

  /* a heartbeat while it runs: an abort knows its driver is alive */
  if (!force && now - r->last_pub < r->publish_ms)
    return 0;
  r->last_pub = now;
  json_object_set_new (r->doc, "updated_ms", json_integer (ro_wall_ms ()));
  s = json_dumps (r->doc, JSON_COMPACT);
  if (ctl_publish (r->c, topic, s, true, &e) < 0)
    return -1;
  r->dirty = false;
  ctl_rollout_print (r->c, r->doc, false);
  return 0;
}

/* The broker came back: subscriptions again, and each AP still waited for
 * gets its document again as it was (same generation and change: the AP
 * applies it once whatever the broker lost, its journal keeps the rest). */
static int
resume (struct ro *r, const char *const *filters, int64_t outage_ms, ch_error_t *err)
{
  const char *k;
  json_t *n;

  for (size_t i = 0; filters[i]; i++)
    mosquitto_subscribe (r->c->m, NULL, filters[i], 1);
  json_object_foreach (r->nodes, k, n)
    if (is (n, "phase", "sent") || is (n, "revert", "reverting"))
      {
        cleanup_free char *topic = xasprintf ("chuted/v1/%s/desired", k), *s = NULL;

        s = json_dumps (json_object_get (r->desired, k), JSON_COMPACT);
        if (s == NULL || ctl_publish (r->c, topic, s, true, err) < 0)
          return -1;
      }
  /* no AP could answer while the broker was gone: their answers are due later */
  json_object_foreach (r->nodes, k, n)
    if (is (n, "phase", "sent") || is (n, "revert", "reverting"))
      json_object_set_new (n, "deadline_ms",
                           json_integer (json_integer_value (json_object_get (n, "deadline_ms")) + outage_ms));
  return 0;
}

int
ro_run (struct ro *r, ch_error_t *err)
{
  cleanup_free char *evt = xasprintf ("chuted/v1/+/evt/%s", r->id);
  const char *const filters[] = { "chuted/v1/+/desired", "chuted/v1/+/reported", evt, r->abort_topic, NULL };
  int64_t down_since = 0;
  bool ended = false;

  r->c->on_msg = ro_msg;
  r->c->data = r;
  if (ctl_subscribe_run (r->c, filters, CTL_TIMEOUT_MS, err) < 0)
    return -1;
  while (!ended)
    {
      cleanup_error ch_error_t e = NULL;

      if (down_since)
        {
          /* the broker went away: its retained state is the rollout's
           * memory too, so wait for it (as long as for one AP) */
          if (ch_now_ms () - down_since > r->timeout_s * 1000)
            return ch_error (err, 0, "rollout %s: broker %s gone for %ld s", r->id, r->c->broker, r->timeout_s);
          if (mosquitto_reconnect (r->c->m) != MOSQ_ERR_SUCCESS || resume (r, filters, ch_now_ms () - down_since, &e) < 0)
            {
              sleep (1);
              continue;
            }
          fprintf (stderr, "chutectl: rollout %s: broker back after %.1f s\n", r->id,
                   (double) (ch_now_ms () - down_since) / 1000);
          down_since = 0;
        }
      ended = step (r, &e);
      /* signing was checked before the first document: a failure here is
       * the broker's */
      if (e || publish_doc (r, ended) < 0 || (!ended && mosquitto_loop (r->c->m, 100, 1) != MOSQ_ERR_SUCCESS))
        {
          fprintf (stderr, "chutectl: rollout %s: broker %s lost (%s): reconnecting\n", r->id, r->c->broker,
                   e ? e->msg : "connection");
          down_since = ch_now_ms ();
          ended = false;
        }
    }
  r->c->on_msg = NULL;
  return 0;
}

void
ro_clear (struct ro *r)
{
  json_decref (r->doc);
  json_decref (r->desired);
  json_decref (r->reported);
  json_decref (r->order);
  json_decref (r->entry);
  free (r->undo);
  free (r->abort_topic);
}

static int
by_name (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
ro_init (struct ro *r, struct ctl *c, json_t *doc)
{
  memset (r, 0, sizeof (*r));
  r->c = c;
  r->doc = doc;
  r->id = str (doc, "id");
  r->chute = str (doc, "chute");
  r->nodes = json_object_get (doc, "nodes");
  r->canary = (long) json_integer_value (json_object_get (doc, "canary"));
  r->batch = (long) json_integer_value (json_object_get (doc, "batch"));
  r->max_fail = (long) json_integer_value (json_object_get (doc, "max_fail_pct"));
  r->timeout_s = (long) json_integer_value (json_object_get (doc, "timeout_s"));
  r->started_ms = json_integer_value (json_object_get (doc, "started_ms"));
  r->publish_ms = ROLLOUT_PUBLISH_MS + ROLLOUT_PUBLISH_PER_AP_MS * (int64_t) json_object_size (r->nodes);
  json_object_set_new (doc, "publish_ms", json_integer (r->publish_ms));
  r->order = json_array ();
  r->undo = xasprintf ("%s-undo", r->id);
  r->abort_topic = xasprintf ("%s%s/abort", CTL_ROLLOUT_PREFIX, r->id);
  r->desired = json_object ();
  r->reported = json_object ();
  /* names in order; the canary wave is the first --canary of them */
  {
    size_t i = 0, n = json_object_size (r->nodes);
    cleanup_free const char **names = xzalloc ((n + 1) * sizeof (*names));
    const char *k;
    json_t *v;

    json_object_foreach (r->nodes, k, v)
      names[i++] = k;
    qsort (names, n, sizeof (*names), by_name);
    for (i = 0; i < n; i++)
      {
        json_array_append_new (r->order, json_string (names[i]));
        if (!is (node_of (r, names[i]), "phase", "pending"))
          r->next = i + 1;
      }
  }
}

int
ctl_rollout (struct ctl *c, const struct ctl_fleet *f, const char *what, ch_error_t *err)
{
  const char *const filters[] = { "chuted/v1/+/status", "chuted/v1/+/reported", NULL };
  cleanup_json json_t *by = NULL, *entry = NULL;
  cleanup_free char *chute = NULL, *id = NULL, *now = ch_rfc3339 (time (NULL), -1);
  json_t *doc, *nodes = json_object (), *n;
  const char *name;
  uint32_t rnd = 0;
  struct ro r;
  int ret;

  if (ctl_deploy_entry (c, what, &chute, &entry, err) < 0)
    {
      json_decref (nodes);
      return -1;
    }
  if (ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err) < 0)
    {
      json_decref (nodes);
      return -1;
    }
  by = ctl_by_node (c->got);
  json_object_foreach (by, name, n)
    if (ctl_fleet_match (f, json_object_get (n, "status")))
      {
        json_t *ver = json_object_get (json_object_get (json_object_get (json_object_get (n, "reported"), "chutes"),
                                                        chute),
                                       "version");
        json_object_set_new (nodes, name, json_pack ("{s:s, s:O?}", "phase", "pending", "old", ver));
      }
  if (json_object_size (nodes) == 0)
    {
      json_decref (nodes);
      return ch_error (err, 0, "rollout: no AP in the group (labels in each AP's status: chutectl nodes --json)");
    }
  /* the key before anything is sent: later failures are the broker's */
  {
    cleanup_json json_t *probe = json_object ();
    if (ctl_sign (c, probe, err) < 0)
      {
        json_decref (nodes);
        return -1;
      }
  }
  if (getrandom (&rnd, sizeof (rnd), 0) < 0)
    rnd = (uint32_t) ch_now_ms ();
  id = xasprintf ("r%08x", rnd);
  doc = json_pack ("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:{}, s:o}", "id", id, "chute", chute,
                   "what", what, "selector", f->all ? json_string ("all") : json_incref (f->labels), "state", "running", "canary",
                   (json_int_t) f->canary, "batch", (json_int_t) f->batch, "max_fail_pct", (json_int_t) f->max_fail,
                   "timeout_s", (json_int_t) f->timeout_s, "started_ms", (json_int_t) ro_wall_ms (), "started", now,
                   "times", "nodes", nodes);
  printf ("%s\n", id);
  fflush (stdout);
  ro_init (&r, c, doc);
  r.entry = ch_steal_pointer (&entry);
  ret = ro_run (&r, err);
  if (ret == 0)
    ret = ro_result (c, r.doc, "done", err);
  ro_clear (&r);
  return ret;
}
