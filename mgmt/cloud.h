/* The cloud link (docs/CLOUD.md): an MQTT client (libmosquitto, MQTT 5 with
 * a 3.1.1 fallback, TLS with the AP's client certificate, by mbedTLS) with
 * no thread of its own. The host's event loop watches ch_cloud_fd() for
 * reading, calls ch_cloud_read() when it is ready and ch_cloud_tick()
 * before it waits again (and at least when the last tick asked); the link
 * reconnects with backoff and jitter by itself.
 *
 * A desired document that arrives is verified (cloud_doc.c) before anything
 * else: refusals are reported (chuted/v1/N/reported, "refused") and never
 * reach the host. The newest valid one is handed to the host's apply
 * callback from ch_cloud_tick(): documents that arrive while one is applied,
 * or during an outage, collapse into the newest. The host applies it through
 * the deploy engine (ch_cloud_apply, which a forked child can run too) and
 * calls ch_cloud_applied() with the outcome. */
#ifndef CH_CLOUD_H
#define CH_CLOUD_H

#include "common/error.h"
#include "mgmt/cli.h"
#include "mgmt/engine.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define CH_CLOUD_METRICS_S 60    /* metrics period */
#define CH_CLOUD_METRICS_MAX 1024
#define CH_CLOUD_LOGS_LEASE_S 30 /* logs flow this long after the last `logs on` */
#define CH_CLOUD_DOC_MAX (1 << 20)
#define CH_CLOUD_LABELS_MAX 16

struct ch_cloud_opts
{
  const char *url;  /* mqtts://HOST[:PORT] (8883) or mqtt://HOST[:PORT] (1883, tests of the fallback only) */
  const char *node; /* the AP's node id: its topics are chuted/v1/NODE/... */
  const char *cert, *key, *ca; /* PEM files: the AP's client certificate, its key, the CA of the broker */
  const char *trust;           /* operator public keys (mgmt/cloud_sign.h) */
  /* --label KEY=VALUE (argv's strings), reported in the status: a group of
   * the fleet is a label selector (docs/CLOUD.md, "Fleet") */
  const char *labels[CH_CLOUD_LABELS_MAX];
  size_t n_labels; /* > CH_CLOUD_LABELS_MAX: too many were given */
};

/* cloud_opts.c: --cloud --node --cert --key --ca --trust, rows a host's
 * own option table includes (CH_CLOUD_OPTS, as mgmt/limits.h's); each
 * host parses them with ch_cloud_parse_opt (1 when VAL was one of them)
 * and checks them with ch_cloud_opts_check (all or none). */
enum
{
  CH_O_CLOUD_URL = 0x1000,
  CH_O_CLOUD_NODE,
  CH_O_CLOUD_CERT,
  CH_O_CLOUD_KEY,
  CH_O_CLOUD_CA,
  CH_O_CLOUD_TRUST,
  CH_O_CLOUD_LABEL,
};
#define CH_CLOUD_OPTS                                                                                                  \
  { "cloud", CH_O_CLOUD_URL, "mqtts://HOST[:PORT]", "the MQTT broker of the cloud link (TLS, port 8883 by default)" }, \
      { "node", CH_O_CLOUD_NODE, "ID", "this AP's node id: its topics are chuted/v1/ID/..." },                         \
      { "cert", CH_O_CLOUD_CERT, "FILE", "this AP's client certificate (PEM)" },                                       \
      { "key", CH_O_CLOUD_KEY, "FILE", "its private key (PEM)" },                                                      \
      { "ca", CH_O_CLOUD_CA, "FILE", "the CA the broker's certificate is checked against (PEM)" },                     \
      { "trust", CH_O_CLOUD_TRUST, "FILE", "operator public keys whose signed desired documents are applied" },       \
      { "label", CH_O_CLOUD_LABEL, "KEY=VALUE", "a label reported in this AP's status (groups select by label); repeatable" }
extern const struct ch_opt ch_opts_cloud[];
int ch_cloud_parse_opt (struct ch_cloud_opts *o, int val, const char *arg);
/* 1 when O asks for the link, 0 when it does not; -1 (a usage error) when
 * it is half given. */
int ch_cloud_opts_check (struct ch_ctx *ctx, const struct ch_cloud_opts *o, ch_error_t *err);
/* O's labels as a JSON object {KEY: VALUE}; -1 when one is not KEY=VALUE
 * with both of the chute name rule. */
int ch_cloud_labels (const struct ch_cloud_opts *o, json_t **out, ch_error_t *err);

struct ch_cloud;

/* Called from ch_cloud_tick with a verified desired document DOC (the
 * newest); the host applies it and calls ch_cloud_applied (now or later). */
typedef void (*ch_cloud_apply_fn) (void *data, struct ch_cloud *l, json_t *doc);

int ch_cloud_open (struct ch_cloud **out, struct ch_ctx *ctx, const struct ch_cloud_opts *o, ch_cloud_apply_fn apply,
                   void *data, ch_error_t *err);
void ch_cloud_close (struct ch_cloud *l); /* publishes nothing: the last will says offline */

/* One fd for the link's sockets (an epoll set: libmosquitto's and the TLS
 * relay's), the same from open to close */
int ch_cloud_fd (struct ch_cloud *l);
void ch_cloud_read (struct ch_cloud *l);
/* Timers: reconnect, keepalive, metrics, logs, a pending document; and
 * what the fd waits for after what the host did since (a publish).
 * Returns the milliseconds until it wants the next tick. */
int ch_cloud_tick (struct ch_cloud *l);
bool ch_cloud_connected (struct ch_cloud *l);

/* Apply verified document DOC through engine E (cloud_apply.c): for each
 * chute, the changes that bring it to the document (deploy or update,
 * rollback to a kept version, stop, start; chutes not in it are removed),
 * each with a change id made from the document's change id, so a document
 * delivered again changes nothing. *RESULT gets {"result", "errors"}.
 * Returns 0 when every chute is as the document says. */
int ch_cloud_apply (struct ch_engine *e, json_t *doc, json_t **result, ch_error_t *err);
/* The host's engine event callback forwards here: progress of a change of
 * document CHANGE (chuted/v1/N/evt/CHANGE). */
void ch_cloud_event (struct ch_cloud *l, const char *doc_change, const struct ch_change *c, const char *detail);
/* The same from a host whose engine runs elsewhere: EV (borrowed) is one
 * event as JSON {id, chute, kind, version, phase, detail?, ...}. */
void ch_cloud_event_json (struct ch_cloud *l, const char *doc_change, json_t *ev);
/* DOC was applied (RESULT from ch_cloud_apply, borrowed): record it and
 * publish the reported state. */
void ch_cloud_applied (struct ch_cloud *l, json_t *doc, json_t *result);

/* cloud_doc.c */
/* Check DOC as the desired document of NODE: signed by a key of TRUST,
 * for NODE, generation >= LAST (an equal one is a delivery again, applied
 * again harmlessly), the schema of docs/CLOUD.md. */
struct ch_trust;
int ch_cloud_doc_check (json_t *doc, const char *node, const struct ch_trust *trust, int64_t last, ch_error_t *err);
/* ROOT/deploy/cloud.json: the last applied document's generation and change
 * and the last refusal; written durably. */
int ch_cloud_state_load (const struct ch_ctx *ctx, json_t **state, ch_error_t *err);
int ch_cloud_state_save (const struct ch_ctx *ctx, json_t *state, ch_error_t *err);
/* The reported document: the link's state plus every deployed chute. */
json_t *ch_cloud_reported (struct ch_ctx *ctx, const char *node, json_t *state);

#endif
