/* chutectl: the operator's side of the cloud link (docs/CLOUD.md). It
 * talks to the broker only: publishes signed desired documents, reads the
 * APs' retained topics, asks for logs. Never links the runtime. */
#ifndef CHUTECTL_H
#define CHUTECTL_H

#include "common/error.h"

#include <jansson.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>

#define CTL_QUIET_MS 300   /* retained messages come right after SUBACK: this long a silence ends them */
#define CTL_TIMEOUT_MS 5000

struct ctl
{
  struct mosquitto *m;
  const char *broker, *cert, *key, *ca, *signing_key;
  bool json;
  /* messages gathered by ctl_collect, topic -> parsed payload (or null) */
  json_t *got;
  int subscribed; /* SUBACKs seen */
  int acked;      /* mid of the last PUBACK */
  int64_t last_msg;
  bool stop;
  /* a per-command message handler, else messages are gathered into got */
  void (*on_msg) (struct ctl *c, const char *topic, const char *payload, int len);
  void *data;
};

int64_t ctl_now_ms (void);
int ctl_node_check (const char *node, ch_error_t *err);
int ctl_connect (struct ctl *c, ch_error_t *err);
void ctl_close (struct ctl *c);
/* Subscribe to FILTERS (NULL-terminated) and run the loop until a SUBACK for
 * each and then CTL_QUIET_MS without a message (or c->stop, or TIMEOUT_MS;
 * -1: until c->stop). */
int ctl_subscribe_run (struct ctl *c, const char *const *filters, int timeout_ms, ch_error_t *err);
/* Run the loop until c->stop or TIMEOUT_MS (-1: forever). */
int ctl_run (struct ctl *c, int timeout_ms, ch_error_t *err);
int ctl_publish (struct ctl *c, const char *topic, const char *payload, bool retain, ch_error_t *err);
/* NODE's retained TOPIC (desired, reported, status): a new reference or NULL. */
json_t *ctl_retained (struct ctl *c, const char *node, const char *topic, ch_error_t *err);

/* desired.c */
int ctl_keygen (const char *prefix, ch_error_t *err);
int ctl_sign (struct ctl *c, json_t *doc, ch_error_t *err);
int ctl_change (struct ctl *c, const char *node, const char *op, const char *arg, bool wait, ch_error_t *err);
int ctl_publish_doc (struct ctl *c, const char *node, const char *file, ch_error_t *err);
/* watch.c */
int ctl_nodes (struct ctl *c, ch_error_t *err);
int ctl_watch (struct ctl *c, const char *change, ch_error_t *err);
int ctl_logs (struct ctl *c, const char *node, const char *chute, bool follow, ch_error_t *err);
/* Wait until NODE reports change CHANGE applied: begin before publishing
 * it, end after; 0 done, -1 failed, refused or timeout. */
int ctl_wait_begin (struct ctl *c, const char *node, const char *change, ch_error_t *err);
int ctl_wait_end (struct ctl *c, int timeout_ms, ch_error_t *err);

#endif
