/* chutectl: the operator's side of the cloud link (docs/CLOUD.md). It
 * talks to the broker only: publishes signed desired documents, reads the
 * APs' retained topics, asks for logs. Never links the runtime. */
#ifndef CHUTECTL_H
#define CHUTECTL_H

#include "common/error.h"

#include <jansson.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#define CTL_QUIET_MS 300   /* retained messages come right after SUBACK: this long a silence ends them */
#define CTL_TIMEOUT_MS 5000

struct ctl
{
  struct mosquitto *m;
  const char *broker, *cert, *key, *ca, *signing_key;
  const char *registry; /* HOST[:PORT] of chute packages (push, deploy by digest or tag) */
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
/* The scalar top-level KEY of YAML TEXT (a chute file's name:, version:), or NULL. */
char *ctl_yaml_top (const char *text, size_t len, const char *key);
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

/* push.c: chute packages in an OCI registry (docs/CLOUD.md) */
int ctl_push (struct ctl *c, const char *dir, ch_error_t *err);
/* Is deploy's operand ARG a package in a registry (NAME@sha256:..., NAME:TAG, REGISTRY/NAME...)? */
bool ctl_is_package_ref (const char *arg);
/* The desired document's entry for package ARG: {"package": REGISTRY/REPO@DIGEST, "running": true},
 * the tag resolved to its digest, *NAME the chute's name the package carries. */
int ctl_package_entry (struct ctl *c, const char *arg, char **name, json_t **entry, ch_error_t *err);
/* push_http.c: a registry v2 client */
#define CTL_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
struct ctl_reg
{
  char *host, *base; /* base: scheme://host */
  const char *ca;    /* CHUTECTL_REGISTRY_CA */
  const char *user, *pass; /* CHUTECTL_REGISTRY_USER, _PASSWORD */
  const char *accept;
  char *auth_hdr;    /* "Authorization: ..." once a challenge was answered */
};
int ctl_reg_open (struct ctl_reg *g, const char *registry, ch_error_t *err);
void ctl_reg_close (struct ctl_reg *g);
int ctl_reg_put_blob (struct ctl_reg *g, const char *repo, const char *digest, FILE *in, size_t len, ch_error_t *err);
int ctl_reg_put_manifest (struct ctl_reg *g, const char *repo, const char *tag, const char *buf, const char *digest,
                          ch_error_t *err);
int ctl_reg_get_manifest (struct ctl_reg *g, const char *repo, const char *ref, char **buf, size_t *len,
                          ch_error_t *err);

#endif
