/* The cloud link's insides, shared by cloud.c (connection, desired
 * documents) and cloud_extra.c (commands, logs on demand, metrics). */
#ifndef CH_CLOUD_INT_H
#define CH_CLOUD_INT_H

#include "mgmt/cloud.h"
#include "mgmt/cloud_sign.h"

#include "mgmt/tls.h"

#include <mosquitto.h>
#include <sys/types.h>

enum cloud_conn
{
  CLOUD_DOWN,       /* waiting for next_connect */
  CLOUD_CONNECTING, /* socket open, no CONNACK yet */
  CLOUD_UP,
};

enum cloud_fd
{
  CLOUD_FD_MQTT, /* libmosquitto's end of the unix socket */
  CLOUD_FD_NET,  /* the pump's TLS connection to the broker */
  CLOUD_FD_PLAIN /* the pump's end of the unix socket */
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

  /* libmosquitto speaks cleartext MQTT to a unix socket of the link's
   * (SOCK, in the run root, there only while one connection is made),
   * whose other end the pump relays to the broker over TLS (mgmt/tls.h).
   * EPFD: the link's sockets (libmosquitto's, the pump's two), the one fd
   * the host watches. */
  struct ch_tls_conf *tls;
  struct ch_tls_pump *pump;
  char *sock;
  int epfd;
  int mqtt_fd; /* libmosquitto's socket as EPFD has it, -1: none */
  uint32_t mqtt_events;
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
/* The connection is gone (an error, the broker's end): the next attempt
 * after a backoff. */
void ch_cloud_lost (struct ch_cloud *l);
/* cloud_conn.c: the connection to the broker (TLS relayed for
 * libmosquitto) and the link's epoll set */
int ch_cloud_conn_open (struct ch_cloud *l, const struct ch_cloud_opts *o, ch_error_t *err);
int ch_cloud_conn_start (struct ch_cloud *l, ch_error_t *err);
void ch_cloud_conn_ready (struct ch_cloud *l); /* the epoll set is readable */
void ch_cloud_conn_watch (struct ch_cloud *l); /* its fds' events after a change */
void ch_cloud_conn_drop (struct ch_cloud *l);  /* the relay closed, both ends */
void ch_cloud_conn_close (struct ch_cloud *l);
/* cloud_extra.c */
void ch_cloud_cmd (struct ch_cloud *l, const char *id, const void *payload, int len);
void ch_cloud_logs_tick (struct ch_cloud *l, int64_t now);
void ch_cloud_metrics (struct ch_cloud *l);
void ch_cloud_logs_clear (struct ch_cloud *l);

#endif
