/* The cloud link's connection and desired documents (mgmt/cloud.h). */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cloud_int.h"
#include "mgmt/cloud_msg.h"

#include <errno.h>
#include <malloc.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define CONNECT_TIMEOUT_MS 15000

void
ch_cloud_publish (struct ch_cloud *l, const char *sub, json_t *j, bool retain)
{
  cleanup_free char *topic = xasprintf ("%s%s", l->prefix, sub);
  cleanup_free char *s = json_dumps (j, JSON_COMPACT);

  json_decref (j);
  if (l->conn == CLOUD_UP && s)
    mosquitto_publish_v5 (l->m, NULL, topic, (int) strlen (s), s, 1, retain, NULL);
}

/* The next attempt in BACKOFF ms, +-50 % so that a fleet that lost its
 * broker at once does not come back at once. */
void
ch_cloud_lost (struct ch_cloud *l)
{
  uint32_t r = 0;

  if (l->conn == CLOUD_DOWN)
    return;
  l->conn = CLOUD_DOWN;
  ch_cloud_conn_drop (l);
  /* libmosquitto's socket out of the set now, while its number is its own */
  ch_cloud_conn_watch (l);
  mosquitto_disconnect (l->m);
  if (getrandom (&r, sizeof (r), GRND_NONBLOCK) < 0)
    r = (uint32_t) ch_now_ms ();
  l->next_connect = ch_now_ms () + l->backoff / 2 + r % (uint32_t) (l->backoff + 1);
  fprintf (stderr, "chuted cloud: no connection to %s:%d: next attempt in %lld ms\n", l->host, l->port,
           (long long) (l->next_connect - ch_now_ms ()));
  /* from 0 too (the retry at once in 3.1.1 after a 5 refused): never a loop without a wait */
  l->backoff = l->backoff < BACKOFF_MIN_MS       ? BACKOFF_MIN_MS
               : l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                 : l->backoff * 2;
}

static void
on_connect (struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props)
{
  struct ch_cloud *l = obj;
  cleanup_free char *desired = xasprintf ("%sdesired", l->prefix), *cmd = xasprintf ("%scmd/+", l->prefix);
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);

  if (rc != 0)
    {
      /* an MQTT 3.1.1 broker answers a 5 with "unacceptable protocol" */
      if (!l->v311 && (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == CONNACK_REFUSED_PROTOCOL_VERSION))
        {
          l->v311 = true;
          mosquitto_int_option (m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
          l->backoff = 0;
        }
      fprintf (stderr, "chuted cloud: broker %s:%d refused the connection: %s\n", l->host, l->port,
               mosquitto_reason_string (rc));
      ch_cloud_lost (l);
      return;
    }
  l->conn = CLOUD_UP;
  l->backoff = BACKOFF_MIN_MS;
  malloc_trim (0); /* what the handshake freed (its buffers, the peer's chain) back to the kernel */
  mosquitto_subscribe_v5 (m, NULL, desired, 1, 0, NULL);
  mosquitto_subscribe_v5 (m, NULL, cmd, 1, 0, NULL);
  ch_cloud_publish (l, "status", json_pack ("{s:s, s:s, s:s, s:O}", "state", "online", "since", now, "protocol",
                                            l->v311 ? "mqtt-3.1.1" : "mqtt-5", "labels", l->labels), true);
  l->report = true; /* one coalesced reported state after each (re)connect */
  l->next_metrics = ch_now_ms ();
}

static void
on_disconnect (struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
  ch_cloud_lost (obj);
}

static void
refuse (struct ch_cloud *l, json_t *doc, const char *why)
{
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);
  json_t *gen = json_object_get (doc, "generation");

  fprintf (stderr, "chuted cloud: desired document refused: %s\n", why);
  json_object_set_new (l->state, "refused",
                       json_pack ("{s:O?, s:s?, s:s, s:s}", "generation", json_is_integer (gen) ? gen : NULL, "change",
                                  json_string_value (json_object_get (doc, "change")), "reason", why, "time", now));
  l->report = true;
}

/* Is DOC the one applied last, or the one under way? The retained
 * document comes again at every reconnect: applied again, each AP forked a
 * change for nothing (a fleet's broker restart: all of them at once).
 * One that cloud.json says is "applying" while this process is not (the
 * daemon died in it) is applied again: its changes find their journal
 * records and resume. Exactly once per generation and change id. */
static bool
seen (struct ch_cloud *l, json_t *doc)
{
  const char *change = json_string_value (json_object_get (doc, "change"));
  const char *last = json_string_value (json_object_get (l->state, "change"));
  const char *result = json_string_value (json_object_get (l->state, "result"));

  if (json_integer_value (json_object_get (doc, "generation"))
          != json_integer_value (json_object_get (l->state, "generation"))
      || change == NULL || last == NULL || strcmp (change, last) != 0)
    return false;
  return l->busy || (result && strcmp (result, "applying") != 0);
}

static void
on_desired (struct ch_cloud *l, const struct mosquitto_message *msg)
{
  cleanup_json json_t *doc = NULL;
  cleanup_error ch_error_t e = NULL;
  int64_t last = json_integer_value (json_object_get (l->state, "generation"));

  if (msg->payloadlen == 0)
    return; /* the retained document was cleared: nothing asked */
  if (ch_cloud_desired_parse (msg->payload, (size_t) msg->payloadlen, l->node, &l->trust, last, &doc, &e) < 0)
    {
      refuse (l, doc, e->msg);
      return;
    }
  if (seen (l, doc))
    {
      fprintf (stderr, "chuted cloud: desired generation %lld (change %s) is %s: not applied again\n",
               (long long) json_integer_value (json_object_get (doc, "generation")),
               json_string_value (json_object_get (doc, "change")), l->busy ? "under way" : "applied");
      return;
    }
  /* documents that come while one is applied (or in one burst after an
   * outage) collapse into the newest */
  if (l->pending && json_integer_value (json_object_get (l->pending, "generation"))
                        > json_integer_value (json_object_get (doc, "generation")))
    return;
  json_decref (l->pending);
  l->pending = ch_steal_pointer (&doc);
}

static void
on_message (struct mosquitto *m, void *obj, const struct mosquitto_message *msg, const mosquitto_property *props)
{
  struct ch_cloud *l = obj;
  const char *sub;

  if (!ch_has_prefix (msg->topic, l->prefix))
    return;
  sub = msg->topic + strlen (l->prefix);
  if (strcmp (sub, "desired") == 0)
    on_desired (l, msg);
  else if (ch_has_prefix (sub, "cmd/"))
    ch_cloud_cmd (l, sub + 4, msg->payload, msg->payloadlen);
}

static int
parse_url (struct ch_cloud *l, const char *url, ch_error_t *err)
{
  const char *h, *colon;
  char *end;
  long port = 8883;

  if (!ch_has_prefix (url, "mqtts://"))
    return ch_error (err, 0, "--cloud %s: want mqtts://HOST[:PORT] (TLS only)", url);
  h = url + strlen ("mqtts://");
  colon = strrchr (h, ':');
  if (colon)
    {
      port = strtol (colon + 1, &end, 10);
      if (*end || port < 1 || port > 65535 || end == colon + 1)
        return ch_error (err, 0, "--cloud %s: bad port", url);
    }
  l->host = colon ? xstrndup (h, (size_t) (colon - h)) : xstrdup (h);
  if (*l->host == '\0' || strchr (l->host, '/'))
    return ch_error (err, 0, "--cloud %s: want mqtts://HOST[:PORT]", url);
  l->port = (int) port;
  return 0;
}

int
ch_cloud_open (struct ch_cloud **out, struct ch_ctx *ctx, const struct ch_cloud_opts *o, ch_cloud_apply_fn apply,
               void *data, ch_error_t *err)
{
  struct ch_cloud *l = xzalloc (sizeof (*l));
  cleanup_free char *client = NULL, *will_topic = NULL;
  const char *will = "{\"state\":\"offline\"}";
  int rc;

  l->ctx = ctx;
  l->apply = apply;
  l->data = data;
  l->backoff = BACKOFF_MIN_MS;
  l->epfd = -1;
  *out = NULL;
  if (o->node == NULL || o->cert == NULL || o->key == NULL || o->ca == NULL || o->trust == NULL || o->url == NULL)
    {
      ch_cloud_close (l);
      return ch_error (err, 0, "cloud link: give the broker, the node id, --cert, --key, --ca and --trust");
    }
  l->node = xstrdup (o->node);
  l->prefix = xasprintf ("chuted/v1/%s/", o->node);
  if (ch_chute_name_check (o->node, err) < 0 || parse_url (l, o->url, err) < 0 || ch_trust_load (o->trust, &l->trust, err) < 0
      || ch_cloud_labels (o, &l->labels, err) < 0 || ch_cloud_state_load (ctx, &l->state, err) < 0)
    {
      ch_cloud_close (l);
      return ch_error_prefix (err, "cloud link");
    }
  client = xasprintf ("chuted-%s", o->node);
  will_topic = xasprintf ("%sstatus", l->prefix);
  l->m = mosquitto_new (client, true, l);
  if (l->m == NULL)
    {
      ch_cloud_close (l);
      return ch_error (err, errno, "cloud link: mosquitto_new");
    }
  mosquitto_int_option (l->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  if (ch_cloud_conn_open (l, o, err) < 0)
    {
      ch_cloud_close (l);
      return ch_error_prefix (err, "cloud link");
    }
  rc = mosquitto_will_set (l->m, will_topic, (int) strlen (will), will, 1, true);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      ch_cloud_close (l);
      return ch_error (err, 0, "cloud link: %s", mosquitto_strerror (rc));
    }
  mosquitto_connect_v5_callback_set (l->m, on_connect);
  mosquitto_disconnect_v5_callback_set (l->m, on_disconnect);
  mosquitto_message_v5_callback_set (l->m, on_message);
  l->next_connect = ch_now_ms ();
  *out = l;
  return 0;
}

void
ch_cloud_close (struct ch_cloud *l)
{
  if (l == NULL)
    return;
  if (l->m)
    mosquitto_destroy (l->m);
  ch_cloud_conn_close (l);
  ch_trust_clear (&l->trust);
  ch_cloud_logs_clear (l);
  json_decref (l->state);
  json_decref (l->pending);
  json_decref (l->labels);
  free (l->node);
  free (l->host);
  free (l->prefix);
  free (l);
}

int
ch_cloud_fd (struct ch_cloud *l)
{
  return l->epfd;
}

bool
ch_cloud_connected (struct ch_cloud *l)
{
  return l->conn == CLOUD_UP;
}

void
ch_cloud_read (struct ch_cloud *l)
{
  ch_cloud_conn_ready (l);
}

static void
connect_now (struct ch_cloud *l, int64_t now)
{
  cleanup_error ch_error_t e = NULL;

  l->conn = CLOUD_CONNECTING;
  l->since = now;
  if (ch_cloud_conn_start (l, &e) < 0)
    {
      fprintf (stderr, "chuted cloud: broker %s:%d: %s\n", l->host, l->port, e->msg);
      ch_cloud_lost (l);
    }
}

int
ch_cloud_tick (struct ch_cloud *l)
{
  int64_t now = ch_now_ms ();
  int wait = 1000;

  if (l->conn == CLOUD_DOWN && now >= l->next_connect)
    connect_now (l, now);
  else if (l->conn == CLOUD_CONNECTING && now - l->since > CONNECT_TIMEOUT_MS)
    ch_cloud_lost (l);
  if (l->conn != CLOUD_DOWN && mosquitto_loop_misc (l->m) != MOSQ_ERR_SUCCESS)
    ch_cloud_lost (l);
  /* offline too: a document received before the link went down is applied */
  if (l->pending && !l->busy)
    {
      json_t *doc = ch_steal_pointer (&l->pending);

      l->busy = true;
      json_object_set (l->state, "generation", json_object_get (doc, "generation"));
      json_object_set (l->state, "change", json_object_get (doc, "change"));
      json_object_set_new (l->state, "result", json_string ("applying"));
      {
        cleanup_error ch_error_t e = NULL;
        /* the generation is durable before anything is applied: no replay of an older one */
        if (ch_cloud_state_save (l->ctx, l->state, &e) < 0)
          fprintf (stderr, "chuted cloud: %s\n", e->msg);
      }
      l->apply (l->data, l, doc);
      json_decref (doc);
      now = ch_now_ms ();
    }
  if (l->conn == CLOUD_UP && l->report)
    {
      l->report = false;
      ch_cloud_publish (l, "reported", ch_cloud_reported (l->ctx, l->node, l->state), true);
    }
  if (l->conn == CLOUD_UP && now >= l->next_metrics)
    {
      l->next_metrics = now + CH_CLOUD_METRICS_S * 1000;
      ch_cloud_metrics (l);
    }
  if (l->conn == CLOUD_UP && l->n_logs)
    {
      ch_cloud_logs_tick (l, now);
      wait = 200;
    }
  if (l->conn == CLOUD_DOWN && l->next_connect - now < wait)
    wait = l->next_connect > now ? (int) (l->next_connect - now) : 0;
  ch_cloud_conn_watch (l); /* what was written since the last (a keepalive, a publish) */
  return wait;
}

void
ch_cloud_applied (struct ch_cloud *l, json_t *doc, json_t *result)
{
  cleanup_error ch_error_t e = NULL;

  l->busy = false;
  json_object_set (l->state, "generation", json_object_get (doc, "generation"));
  json_object_set (l->state, "change", json_object_get (doc, "change"));
  json_object_update (l->state, result);
  if (ch_cloud_state_save (l->ctx, l->state, &e) < 0)
    fprintf (stderr, "chuted cloud: %s\n", e->msg);
  l->report = true;
}

void
ch_cloud_event_json (struct ch_cloud *l, const char *doc_change, json_t *ev)
{
  cleanup_free char *sub = xasprintf ("evt/%s", doc_change);

  ch_cloud_publish (l, sub, json_incref (ev), false);
}

void
ch_cloud_event (struct ch_cloud *l, const char *doc_change, const struct ch_change *c, const char *detail)
{
  cleanup_json json_t *j = ch_change_to_json (c);

  if (detail)
    json_object_set_new (j, "detail", json_string (detail));
  ch_cloud_event_json (l, doc_change, j);
}
