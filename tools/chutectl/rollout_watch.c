/* Reading a rollout from its retained document (chutectl watch ID, a
 * second operator, a restarted watch) and aborting one: the abort is a
 * retained marker the driver obeys; when no driver beats any more, the
 * aborting chutectl takes the rollout over from its document. */
#include "common/json.h"
#include "common/util.h"
#include "tools/chutectl/rollout.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TAKEOVER_BEATS 4 /* no heartbeat for this many periods: the driver is gone */

static bool
terminal (json_t *doc)
{
  const char *s = json_string_value (json_object_get (doc, "state"));
  return s && (strcmp (s, "done") == 0 || strcmp (s, "stopped") == 0 || strcmp (s, "aborted") == 0);
}

static void
secs (char *buf, size_t n, json_t *ms)
{
  if (json_is_integer (ms))
    snprintf (buf, n, "%.1f s", (double) json_integer_value (ms) / 1000);
  else
    snprintf (buf, n, "-");
}

void
ctl_rollout_print (struct ctl *c, json_t *doc, bool table)
{
  json_t *nodes = json_object_get (doc, "nodes"), *times = json_object_get (doc, "times"), *n;
  size_t done = 0, failed = 0, sent = 0, pending = 0, reverted = 0;
  char t50[32], t99[32], t100[32];
  const char *k;

  if (c->json)
    {
      if (table)
        {
          cleanup_free char *s = json_dumps (doc, JSON_INDENT (2) | JSON_SORT_KEYS);
          printf ("%s\n", s);
        }
      return;
    }
  json_object_foreach (nodes, k, n)
  {
    const char *p = json_string_value (json_object_get (n, "phase")) ?: "?";

    done += strcmp (p, "done") == 0;
    failed += strcmp (p, "failed") == 0;
    sent += strcmp (p, "sent") == 0;
    pending += strcmp (p, "pending") == 0;
    reverted += json_object_get (n, "revert") && strcmp (json_string_value (json_object_get (n, "revert")), "reverted") == 0;
  }
  secs (t50, sizeof (t50), json_object_get (times, "t50_ms"));
  secs (t99, sizeof (t99), json_object_get (times, "t99_ms"));
  secs (t100, sizeof (t100), json_object_get (times, "t100_ms"));
  printf ("%s %s: %zu/%zu done, %zu failed, %zu in flight, %zu pending, %zu reverted; 50%% %s, 99%% %s, 100%% %s%s%s\n",
          json_string_value (json_object_get (doc, "id")) ?: "?", json_string_value (json_object_get (doc, "state")) ?: "?",
          done, json_object_size (nodes), failed, sent, pending, reverted, t50, t99, t100,
          json_object_get (doc, "reason") ? ": " : "", json_string_value (json_object_get (doc, "reason")) ?: "");
  if (table)
    {
      printf ("%-16s %-10s %-18s %-8s %-9s %-13s %s\n", "NODE", "PHASE", "STEP", "OLD", "TIME", "REVERT", "REASON");
      json_object_foreach (nodes, k, n)
      {
        char t[32];

        secs (t, sizeof (t), json_object_get (n, "done_ms"));
        printf ("%-16s %-10s %-18s %-8s %-9s %-13s %s\n", k, json_string_value (json_object_get (n, "phase")) ?: "?",
                json_string_value (json_object_get (n, "step")) ?: "-", json_string_value (json_object_get (n, "old")) ?: "-",
                t, json_string_value (json_object_get (n, "revert")) ?: "-",
                json_string_value (json_object_get (n, "reason")) ?: "");
      }
    }
  fflush (stdout);
}

json_t *
ctl_rollout_get (struct ctl *c, const char *id, ch_error_t *err)
{
  cleanup_free char *topic = xasprintf ("%s%s", CTL_ROLLOUT_PREFIX, id);
  const char *const filters[] = { topic, NULL };
  json_t *j;

  if (ctl_node_check (id, err) < 0)
    return NULL;
  if (ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err) < 0)
    return NULL;
  j = json_object_get (c->got, topic);
  return json_is_object (j) ? json_incref (j) : NULL;
}

struct follow
{
  json_t *doc; /* the newest rollout document */
  const char *topic;
  bool print;
};

static void
follow_msg (struct ctl *c, const char *topic, const char *payload, int len)
{
  struct follow *w = c->data;
  json_t *j;

  if (strcmp (topic, w->topic) != 0 || (j = json_loadb (payload, (size_t) len, 0, NULL)) == NULL)
    return;
  json_decref (w->doc);
  w->doc = j;
  if (w->print)
    ctl_rollout_print (c, j, false);
  c->stop = terminal (j);
}

/* Follow rollout ID's document until it ends (or TIMEOUT_MS, -1: none);
 * W->doc is the newest seen. */
static int
follow (struct ctl *c, struct follow *w, int timeout_ms, ch_error_t *err)
{
  const char *const filters[] = { w->topic, NULL };

  c->on_msg = follow_msg;
  c->data = w;
  c->stop = false;
  if (ctl_subscribe_run (c, filters, timeout_ms < 0 ? CTL_TIMEOUT_MS : timeout_ms, err) < 0
      || (!c->stop && ctl_run (c, timeout_ms, err) < 0))
    {
      c->on_msg = NULL;
      return -1;
    }
  c->on_msg = NULL;
  return 0;
}

int
ro_result (struct ctl *c, json_t *doc, const char *want, ch_error_t *err)
{
  const char *state = json_string_value (json_object_get (doc, "state"));

  ctl_rollout_print (c, doc, true);
  if (state && strcmp (state, want) == 0)
    return 0;
  return ch_error (err, 0, "rollout %s %s: %s", json_string_value (json_object_get (doc, "id")), state ?: "?",
                   json_string_value (json_object_get (doc, "reason")) ?: "some APs failed");
}

int
ctl_rollout_watch (struct ctl *c, const char *id, ch_error_t *err)
{
  cleanup_free char *topic = xasprintf ("%s%s", CTL_ROLLOUT_PREFIX, id);
  struct follow w = { .topic = topic, .print = true };
  int r = follow (c, &w, -1, err);

  if (r == 0)
    r = ro_result (c, w.doc, "done", err);
  json_decref (w.doc);
  return r;
}

int
ctl_abort (struct ctl *c, const char *id, ch_error_t *err)
{
  cleanup_json json_t *doc = ctl_rollout_get (c, id, err), *mark_doc = NULL;
  cleanup_free char *topic = xasprintf ("%s%s", CTL_ROLLOUT_PREFIX, id), *mark = xasprintf ("%s/abort", topic);
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1), *s = NULL;
  struct follow w = { .topic = topic };
  int64_t beat, period;
  int r;

  if (*err)
    return -1;
  if (doc == NULL)
    return ch_error (err, 0, "abort: no rollout %s on the broker", id);
  if (terminal (doc))
    return ch_error (err, 0, "abort: rollout %s is %s already", id, json_string_value (json_object_get (doc, "state")));
  mark_doc = json_pack ("{s:s}", "time", now);
  s = json_dumps (mark_doc, JSON_COMPACT);
  if (ctl_publish (c, mark, s, true, err) < 0)
    return -1;
  beat = json_integer_value (json_object_get (doc, "updated_ms"));
  /* a living driver beats every publish_ms and obeys the marker */
  period = json_integer_value (json_object_get (doc, "publish_ms"));
  if (follow (c, &w, TAKEOVER_BEATS * (int) (period > 0 ? period : ROLLOUT_PUBLISH_MS), err) < 0)
    {
      json_decref (w.doc);
      return -1;
    }
  if (w.doc && json_integer_value (json_object_get (w.doc, "updated_ms")) > beat)
    {
      w.print = true;
      r = c->stop ? 0 : follow (c, &w, -1, err);
      if (r == 0)
        r = ro_result (c, w.doc, "aborted", err);
      json_decref (w.doc);
      return r;
    }
  json_decref (w.doc);
  /* no driver: this chutectl puts back every AP the rollout reached */
  {
    struct ro ro;

    fprintf (stderr, "chutectl: rollout %s has no driver any more: aborting it from here\n", id);
    ro_init (&ro, c, json_incref (doc));
    ro.abort_seen = true;
    /* undo documents the driver recorded may not have gone out: again */
    {
      const char *k;
      json_t *n;

      json_object_foreach (ro.nodes, k, n)
        if (json_is_string (json_object_get (n, "revert"))
            && strcmp (json_string_value (json_object_get (n, "revert")), "reverting") == 0)
          json_object_del (n, "revert");
    }
    r = ro_run (&ro, err);
    if (r == 0)
      r = ro_result (c, ro.doc, "aborted", err);
    ro_clear (&ro);
  }
  return r;
}
