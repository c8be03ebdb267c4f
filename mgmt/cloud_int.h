/* The cloud link's insides, shared by cloud.c (connection, desired
 * documents) and cloud_extra.c (commands, logs on demand, metrics). */
#ifndef CH_CLOUD_INT_H
#define CH_CLOUD_INT_H

#include "mgmt/cloud.h"
#include "mgmt/cloud_sign.h"

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <sys/types.h>

enum cloud_conn
{
  CLOUD_DOWN,       /* waiting for next_connect */
  CLOUD_CONNECTING, /* socket open, no CONNACK yet */
  CLOUD_UP,
};

struct cloud_logs
{
  char *chute;
  int64_t until; /* ms: the lease a subscriber renews */
  off_t off;
  ino_t ino;
};

struct ch_cloud
{
  struct ch_ctx *ctx;
  struct mosquitto *m;
  char *node, *host, *prefix; /* prefix: chuted/v1/NODE/ */
  json_t *labels;             /* --label: {KEY: VALUE}, in the status */
  int port;
  struct ch_trust trust;
  ch_cloud_apply_fn apply;
  void *data;

  enum cloud_conn conn;
  bool v311, started;
  int64_t next_connect, since, backoff; /* ms */
  int64_t next_metrics;

  json_t *state;   /* ROOT/deploy/cloud.json */
  json_t *pending; /* the newest verified desired document not applied yet */
  bool busy;       /* the host applies one */
  bool report;     /* reported state to publish */

  struct cloud_logs *logs;
  size_t n_logs;
};

/* Publish J (stolen) on prefix + SUB. */
void ch_cloud_publish (struct ch_cloud *l, const char *sub, json_t *j, bool retain);
/* cloud_tls.c: the client's TLS context for the broker HOST: verified with
 * the CA file, presenting CERT and KEY (files, PEM). */
int ch_cloud_tls_ctx (SSL_CTX **out, const char *host, const char *ca, const char *cert, const char *key,
                      ch_error_t *err);
/* cloud_extra.c */
void ch_cloud_cmd (struct ch_cloud *l, const char *id, const void *payload, int len);
void ch_cloud_logs_tick (struct ch_cloud *l, int64_t now);
void ch_cloud_metrics (struct ch_cloud *l);
void ch_cloud_logs_clear (struct ch_cloud *l);

#endif
