/* chutectl's reads: nodes from their retained status and reported topics,
 * a change's progress events, a chute's logs on demand. */
#include "common/json.h"
#include "common/util.h"
#include "runtime/log.h"
#include "tools/chutectl/chutectl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define LOGS_RENEW_MS 10000 /* well inside the AP's lease (CH_CLOUD_LOGS_LEASE_S) */

int
ctl_nodes (struct ctl *c, const struct ctl_fleet *f, ch_error_t *err)
{
  const char *const filters[] = { "chuted/v1/+/status", "chuted/v1/+/reported", NULL };
  cleanup_json json_t *nodes = NULL;
  const char *name;
  json_t *n;
  void *tmp;

  if (ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err) < 0)
    return -1;
  nodes = ctl_by_node (c->got);
  if (ctl_fleet_given (f))
    json_object_foreach_safe (nodes, tmp, name, n)
      if (!ctl_fleet_match (f, json_object_get (n, "status")))
        json_object_del (nodes, name);
  if (c->json)
    {
      cleanup_free char *s = json_dumps (nodes, JSON_INDENT (2) | JSON_SORT_KEYS);
      printf ("%s\n", s);
      return 0;
    }
  printf ("%-16s %-8s %-5s %-26s %-20s %s\n", "NODE", "STATUS", "GEN", "LAST SEEN", "LABELS", "CHUTES");
  json_object_foreach (nodes, name, n)
  {
    json_t *st = json_object_get (n, "status"), *rep = json_object_get (n, "reported"), *ch;
    const char *cname;
    cleanup_free char *chutes = xstrdup (""), *labels = xstrdup ("");
    const char *lk;
    json_t *lv;

    json_object_foreach (json_object_get (st, "labels"), lk, lv)
    {
      char *x = xasprintf ("%s%s%s=%s", labels, *labels ? "," : "", lk, json_string_value (lv));
      free (labels);
      labels = x;
    }

    json_object_foreach (json_object_get (rep, "chutes"), cname, ch)
    {
      char *x = xasprintf ("%s%s%s:%s:%s", chutes, *chutes ? " " : "", cname,
                           json_string_value (json_object_get (ch, "version")),
                           json_string_value (json_object_get (ch, "health")));
      free (chutes);
      chutes = x;
    }
    printf ("%-16s %-8s %-5lld %-26s %-20s %s\n", name, json_string_value (json_object_get (st, "state")) ?: "?",
            (long long) json_integer_value (json_object_get (json_object_get (rep, "link"), "generation")),
            json_string_value (json_object_get (rep, "time")) ?: "-", *labels ? labels : "-", chutes);
  }
  return 0;
}

static void
print_event (struct ctl *c, const char *node, json_t *e)
{
  if (c->json)
    {
      cleanup_free char *s = json_dumps (e, JSON_COMPACT);
      printf ("{\"node\":\"%s\",\"event\":%s}\n", node, s);
    }
  else
    {
      const char *reason = json_string_value (json_object_get (e, "reason"));
      printf ("%s %s %s %s: %s%s%s\n", node, json_string_value (json_object_get (e, "id")) ?: "?",
              json_string_value (json_object_get (e, "kind")) ?: "?", json_string_value (json_object_get (e, "chute")) ?: "?",
              json_string_value (json_object_get (e, "phase")) ?: "?", reason ? ": " : "", reason ? reason : "");
    }
  fflush (stdout);
}

struct watch
{
  const char *node;   /* NULL: any */
  const char *change; /* NULL: any (watch forever) */
  json_t *busy;       /* nodes seen working on change -> true while not finished */
  int failed;
};

static void
watch_msg (struct ctl *c, const char *topic, const char *payload, int len)
{
  struct watch *w = c->data;
  cleanup_json json_t *j = len ? json_loadb (payload, (size_t) len, 0, NULL) : NULL;
  const char *rest;
  cleanup_free char *node = ctl_topic_node (topic, &rest);
  json_t *link = json_object_get (j, "link");
  json_t *refused = json_object_get (link, "refused");

  if (node == NULL || j == NULL || (w->node && strcmp (node, w->node) != 0))
    return;
  if (ch_has_prefix (rest, "evt/"))
    {
      print_event (c, node, j);
      if (w->change && json_object_get (w->busy, node) == NULL)
        json_object_set_new (w->busy, node, json_true ());
      return;
    }
  if (strcmp (rest, "reported") != 0 || w->change == NULL)
    return;
  if (refused && json_is_string (json_object_get (refused, "change"))
      && strcmp (json_string_value (json_object_get (refused, "change")), w->change) == 0)
    {
      fprintf (stderr, "%s refused %s: %s\n", node, w->change, json_string_value (json_object_get (refused, "reason")));
      w->failed++;
      json_object_set_new (w->busy, node, json_false ());
    }
  else if (json_is_string (json_object_get (link, "change"))
           && strcmp (json_string_value (json_object_get (link, "change")), w->change) == 0)
    {
      const char *res = json_string_value (json_object_get (link, "result"));

      if (res == NULL || strcmp (res, "applying") == 0)
        return;
      if (strcmp (res, "done") != 0)
        {
          cleanup_free char *e = json_dumps (json_object_get (link, "errors"), JSON_COMPACT);
          fprintf (stderr, "%s: change %s %s: %s\n", node, w->change, res, e ? e : "");
          w->failed++;
        }
      else
        printf ("%s %s: done\n", node, w->change);
      json_object_set_new (w->busy, node, json_false ());
    }
  else
    return;
  {
    const char *k;
    json_t *v;
    bool any = false;

    json_object_foreach (w->busy, k, v)
      any |= json_is_true (v);
    c->stop = !any;
  }
}

/* Subscribe to W's events and reported states (before the change is
 * published: its first events come fast), then run until W is done. */
static int
watch_begin (struct ctl *c, struct watch *w, ch_error_t *err)
{
  cleanup_free char *evt = xasprintf ("chuted/v1/%s/evt/%s", w->node ? w->node : "+", w->change ? w->change : "+");
  cleanup_free char *rep = xasprintf ("chuted/v1/%s/reported", w->node ? w->node : "+");
  const char *const filters[] = { evt, rep, NULL };

  w->busy = json_object ();
  c->on_msg = watch_msg;
  c->data = w;
  c->stop = false;
  return ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err);
}

static int
watch_end (struct ctl *c, struct watch *w, int timeout_ms, ch_error_t *err)
{
  int r = 0;

  if (!c->stop)
    r = ctl_run (c, timeout_ms, err);
  if (r == 0 && !c->stop)
    r = ch_error (err, 0, "change %s: not finished in %d s", w->change ? w->change : "", timeout_ms / 1000);
  json_decref (w->busy);
  w->busy = NULL;
  c->on_msg = NULL;
  if (r == 0 && w->failed)
    r = ch_error (err, 0, "change %s failed or was refused on %d node(s)", w->change, w->failed);
  return r;
}

int
ctl_watch (struct ctl *c, const char *change, ch_error_t *err)
{
  struct watch w = { .change = change };

  /* a rollout's id: its retained document says it all */
  if (change)
    {
      cleanup_json json_t *ro = ctl_rollout_get (c, change, err);

      if (*err)
        return -1;
      if (ro)
        return ctl_rollout_watch (c, change, err);
    }

  if (watch_begin (c, &w, err) < 0)
    return -1;
  return watch_end (c, &w, -1, err);
}

int
ctl_wait_begin (struct ctl *c, const char *node, const char *change, ch_error_t *err)
{
  struct watch *w = xzalloc (sizeof (*w));

  w->node = node;
  w->change = change;
  return watch_begin (c, w, err);
}

int
ctl_wait_end (struct ctl *c, int timeout_ms, ch_error_t *err)
{
  struct watch *w = c->data;
  int r = watch_end (c, w, timeout_ms, err);

  free (w);
  return r;
}

struct logs
{
  const char *chute;
  bool got_reply;
  const char *reply_topic;
};

static void
logs_msg (struct ctl *c, const char *topic, const char *payload, int len)
{
  struct logs *g = c->data;
  const char *p = payload, *end = payload + len;

  if (strcmp (topic, g->reply_topic) == 0)
    {
      cleanup_json json_t *j = json_loadb (payload, (size_t) len, 0, NULL);

      g->got_reply = true;
      if (!json_is_true (json_object_get (j, "ok")))
        {
          fprintf (stderr, "chutectl logs: %s\n", json_string_value (json_object_get (j, "error")) ?: "refused");
          c->stop = true;
        }
      return;
    }
  /* k8s-file records, one a line: the message goes to our stdout or stderr */
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
      struct ch_log_record r;

      if (ch_log_parse (p, n, &r) == 0)
        {
          FILE *f = r.is_stderr ? stderr : stdout;
          fwrite (r.msg, 1, r.msg_len, f);
          if (!r.partial)
            fputc ('\n', f);
          fflush (f);
        }
      p += n + 1;
    }
}

static int
logs_ask (struct ctl *c, const char *node, const char *id, const char *chute, bool on, ch_error_t *err)
{
  cleanup_free char *t = xasprintf ("chuted/v1/%s/cmd/%s", node, id);
  cleanup_json json_t *j = json_pack ("{s:s, s:s, s:b}", "op", "logs", "chute", chute, "on", on);
  cleanup_free char *s = json_dumps (j, JSON_COMPACT);

  return ctl_publish (c, t, s, false, err);
}

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

int
ctl_logs (struct ctl *c, const char *node, const char *chute, bool follow, ch_error_t *err)
{
  uint32_t rnd = 0;
  cleanup_free char *id = NULL, *logs = xasprintf ("chuted/v1/%s/logs/%s", node, chute), *reply = NULL;
  struct logs g = { .chute = chute };
  int r = 0;

  if (getrandom (&rnd, sizeof (rnd), 0) < 0)
    rnd = (uint32_t) ch_now_ms ();
  id = xasprintf ("logs-%08x", rnd);
  reply = xasprintf ("chuted/v1/%s/reply/%s", node, id);
  g.reply_topic = reply;
  {
    const char *const filters[] = { logs, reply, NULL };

    c->on_msg = logs_msg;
    c->data = &g;
    if (ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err) < 0)
      return -1;
  }
  signal (SIGINT, on_sigint);
  signal (SIGTERM, on_sigint);
  if (logs_ask (c, node, id, chute, true, err) < 0)
    return -1;
  /* without -f: what the AP sends at once (its tail), then stop */
  for (int64_t start = ch_now_ms (), renew = start + LOGS_RENEW_MS; !interrupted && !c->stop;)
    {
      int64_t now = ch_now_ms ();

      if ((r = ctl_run (c, 200, err)) < 0)
        break;
      if (!g.got_reply && now - start > CTL_TIMEOUT_MS)
        {
          r = ch_error (err, 0, "logs: %s does not answer (offline?)", node);
          break;
        }
      if (!follow && g.got_reply && now - c->last_msg > 1000)
        break;
      if (follow && now >= renew)
        {
          renew = now + LOGS_RENEW_MS;
          if ((r = logs_ask (c, node, id, chute, true, err)) < 0)
            break;
        }
    }
  c->on_msg = NULL;
  if (r == 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      logs_ask (c, node, id, chute, false, &e2); /* zero bytes flow once nobody watches */
    }
  return r;
}
