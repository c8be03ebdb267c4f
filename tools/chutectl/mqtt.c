/* chutectl's MQTT session: one TLS connection with the operator's client
 * certificate, driven by mosquitto_loop in the foreground. */
#include "common/json.h"
#include "common/util.h"
#include "tools/chutectl/chutectl.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
on_message (struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  struct ctl *c = obj;
  json_t *j;

  c->last_msg = ch_now_ms ();
  if (c->on_msg)
    {
      c->on_msg (c, msg->topic, msg->payload, msg->payloadlen);
      return;
    }
  j = msg->payloadlen ? json_loadb (msg->payload, (size_t) msg->payloadlen, 0, NULL) : NULL;
  json_object_set_new (c->got, msg->topic, j ? j : json_null ());
}

static void
on_publish (struct mosquitto *m, void *obj, int mid)
{
  ((struct ctl *) obj)->acked = mid;
}

static void
on_subscribe (struct mosquitto *m, void *obj, int mid, int n, const int *qos)
{
  struct ctl *c = obj;

  c->subscribed++;
  c->last_msg = ch_now_ms ();
}

int
ctl_connect (struct ctl *c, ch_error_t *err)
{
  const char *h;
  cleanup_free char *host = NULL;
  char *colon, *end;
  long port = 8883;
  int rc;

  if (c->broker == NULL || c->cert == NULL || c->key == NULL || c->ca == NULL)
    return ch_error (err, 0, "give --broker mqtts://HOST[:PORT], --cert, --key and --ca (or CHUTECTL_BROKER, "
                             "CHUTECTL_CERT, CHUTECTL_KEY, CHUTECTL_CA)");
  if (!ch_has_prefix (c->broker, "mqtts://"))
    return ch_error (err, 0, "broker %s: want mqtts://HOST[:PORT]", c->broker);
  h = c->broker + strlen ("mqtts://");
  host = xstrdup (h);
  if ((colon = strrchr (host, ':')))
    {
      *colon = '\0';
      port = strtol (colon + 1, &end, 10);
      if (*end || port < 1 || port > 65535)
        return ch_error (err, 0, "broker %s: bad port", c->broker);
    }
  c->got = json_object ();
  c->m = mosquitto_new (NULL, true, c);
  if (c->m == NULL)
    return ch_error (err, 0, "mosquitto_new failed");
  mosquitto_int_option (c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  rc = mosquitto_tls_set (c->m, c->ca, NULL, c->cert, c->key, NULL);
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_tls_opts_set (c->m, SSL_VERIFY_PEER, "tlsv1.2", NULL);
  if (rc != MOSQ_ERR_SUCCESS)
    return ch_error (err, 0, "TLS files (%s, %s, %s): %s", c->ca, c->cert, c->key, mosquitto_strerror (rc));
  mosquitto_message_callback_set (c->m, on_message);
  mosquitto_subscribe_callback_set (c->m, on_subscribe);
  mosquitto_publish_callback_set (c->m, on_publish);
  rc = mosquitto_connect (c->m, host, (int) port, 30);
  if (rc != MOSQ_ERR_SUCCESS)
    return ch_error (err, 0, "broker %s: %s", c->broker,
                     rc == MOSQ_ERR_ERRNO ? "cannot connect (or TLS refused)" : mosquitto_strerror (rc));
  return 0;
}

void
ctl_close (struct ctl *c)
{
  if (c->m)
    {
      mosquitto_disconnect (c->m);
      mosquitto_loop (c->m, 100, 1);
      mosquitto_destroy (c->m);
    }
  json_decref (c->got);
  c->m = NULL;
  c->got = NULL;
}

int
ctl_run (struct ctl *c, int timeout_ms, ch_error_t *err)
{
  int64_t end = ch_now_ms () + timeout_ms;

  while (!c->stop && (timeout_ms < 0 || ch_now_ms () < end))
    {
      int rc = mosquitto_loop (c->m, 100, 1);

      if (rc != MOSQ_ERR_SUCCESS)
        return ch_error (err, 0, "broker %s: %s", c->broker, mosquitto_strerror (rc));
    }
  return 0;
}

int
ctl_subscribe_run (struct ctl *c, const char *const *filters, int timeout_ms, ch_error_t *err)
{
  int64_t end = ch_now_ms () + (timeout_ms < 0 ? 0 : timeout_ms);
  int n = 0;

  c->subscribed = 0;
  for (; filters[n]; n++)
    mosquitto_subscribe (c->m, NULL, filters[n], 1);
  while (!c->stop && (timeout_ms < 0 || ch_now_ms () < end))
    {
      int rc = mosquitto_loop (c->m, 50, 1);

      if (rc != MOSQ_ERR_SUCCESS)
        return ch_error (err, 0, "broker %s: %s", c->broker, mosquitto_strerror (rc));
      if (timeout_ms >= 0 && c->subscribed >= n && ch_now_ms () - c->last_msg >= CTL_QUIET_MS)
        break;
    }
  return 0;
}

int
ctl_publish (struct ctl *c, const char *topic, const char *payload, bool retain, ch_error_t *err)
{
  int mid = 0, rc = mosquitto_publish (c->m, &mid, topic, (int) strlen (payload), payload, 1, retain);

  if (rc != MOSQ_ERR_SUCCESS)
    return ch_error (err, 0, "publish %s: %s", topic, mosquitto_strerror (rc));
  /* done when the PUBACK comes back: the broker has it */
  for (int64_t end = ch_now_ms () + CTL_TIMEOUT_MS; c->acked != mid;)
    {
      if (ch_now_ms () > end)
        return ch_error (err, 0, "publish %s: no PUBACK from the broker", topic);
      if ((rc = mosquitto_loop (c->m, 100, 1)) != MOSQ_ERR_SUCCESS)
        return ch_error (err, 0, "publish %s: %s", topic, mosquitto_strerror (rc));
    }
  return 0;
}

json_t *
ctl_retained (struct ctl *c, const char *node, const char *topic, ch_error_t *err)
{
  cleanup_free char *t = xasprintf ("chuted/v1/%s/%s", node, topic);
  const char *const filters[] = { t, NULL };
  json_t *j;

  if (ctl_subscribe_run (c, filters, CTL_TIMEOUT_MS, err) < 0)
    return NULL;
  mosquitto_unsubscribe (c->m, NULL, t);
  j = json_object_get (c->got, t);
  return json_is_null (j) ? NULL : json_incref (j);
}

int
ctl_node_check (const char *node, ch_error_t *err)
{
  /* one topic level, no wildcard: the AP checks the name rule itself */
  if (*node == '\0' || strpbrk (node, "/+#") || strlen (node) > 63)
    return ch_error (err, 0, "node `%.63s`: one topic level (no / + #), 1-63 characters", node);
  return 0;
}
