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
/* deploy's operand ARG (a chute file or its directory, CHUTE@VERSION, or a
 * package in the registry: CHUTE@sha256:.., CHUTE:TAG)
 * as the chute's *NAME and its desired entry *ENTRY. */
int ctl_deploy_entry (struct ctl *c, const char *arg, char **name, json_t **entry, ch_error_t *err);
/* The generation a new desired document of an AP takes: past its retained
 * document DOC and what it reports REP applied. */
int64_t ctl_next_generation (json_t *doc, json_t *rep);
/* DOC (changed chutes) as NODE's next desired document, change CHANGE:
 * stamped and signed (ctl_doc_sign), and published retained. */
int ctl_doc_sign (struct ctl *c, const char *node, json_t *doc, json_t *rep, const char *change, ch_error_t *err);
int ctl_doc_publish (struct ctl *c, const char *node, json_t *doc, json_t *rep, const char *change, ch_error_t *err);
/* rollout_sel.c: fleet options; a group is a label selector */
struct ctl_fleet
{
  json_t *labels; /* --group G (group=G), -l K=V: every one must match; NULL: none given */
  bool all;       /* --group all: every AP */
  long canary;    /* APs of the first wave, all finished before the next */
  long batch;     /* APs in flight at once after it (0: no limit) */
  long max_fail;  /* percent of the rollout's APs that may fail */
  long timeout_s; /* one AP's result, else it failed */
};
void ctl_fleet_init (struct ctl_fleet *f);
void ctl_fleet_clear (struct ctl_fleet *f);
bool ctl_fleet_given (const struct ctl_fleet *f);
/* argv[*i] is a fleet option: 1 (its value consumed), 0 not one, -1 bad. */
int ctl_fleet_opt (struct ctl_fleet *f, int argc, char **argv, int *i, ch_error_t *err);
/* Does an AP whose retained status is STATUS belong to F's group? */
bool ctl_fleet_match (const struct ctl_fleet *f, json_t *status);
/* chuted/v1/NODE/REST: NODE as a new string, *REST after its slash. */
char *ctl_topic_node (const char *topic, const char **rest);
/* Gathered messages (topic -> JSON) of per-node topics as NODE -> {status, desired, reported, ...}. */
json_t *ctl_by_node (json_t *got);

/* rollout*.c: a deploy to a group in waves, its state retained on
 * CTL_ROLLOUT_PREFIX ID (docs/CLOUD.md, "Rollouts"); 0 done, -1 stopped,
 * aborted or failed. */
#define CTL_ROLLOUT_PREFIX "chuted/fleet/v1/rollout/"
int ctl_rollout (struct ctl *c, const struct ctl_fleet *f, const char *what, ch_error_t *err);
int ctl_abort (struct ctl *c, const char *id, ch_error_t *err);
/* The retained rollout document ID (a new reference), NULL when none. */
json_t *ctl_rollout_get (struct ctl *c, const char *id, ch_error_t *err);
int ctl_rollout_watch (struct ctl *c, const char *id, ch_error_t *err);
void ctl_rollout_print (struct ctl *c, json_t *doc, bool table);

/* watch.c */
int ctl_nodes (struct ctl *c, const struct ctl_fleet *f, ch_error_t *err);
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
