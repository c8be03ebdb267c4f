/* The cloud link's readers of what the broker delivers (cloud_msg.c): a
 * desired document (parsed, its signature and schema checked) and a
 * command. Apart from libmosquitto and the link's state, so that
 * tests/fuzz/fuzz_cloud.c can feed them anything. */
#ifndef CH_CLOUD_MSG_H
#define CH_CLOUD_MSG_H

#include "common/error.h"
#include "mgmt/cloud_sign.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PAYLOAD as the desired document of NODE (ch_cloud_doc_check: signed by a
 * key of TRUST, generation >= LAST, the schema). *DOC is the parsed
 * document, also when refused after parsing (its generation and change go
 * into the refusal), NULL when it is not JSON. */
int ch_cloud_desired_parse (const void *payload, size_t len, const char *node, const struct ch_trust *trust,
                            int64_t last, json_t **doc, ch_error_t *err);

/* A command (chuted/v1/N/cmd/ID): {"op":"logs","chute":NAME[,"on":false]}
 * or {"op":"stats"}. */
enum ch_cloud_op
{
  CH_CLOUD_OP_LOGS,
  CH_CLOUD_OP_STATS,
};
struct ch_cloud_cmd
{
  enum ch_cloud_op op;
  char *chute; /* logs: a valid chute name */
  bool on;     /* logs: on (the default) or off */
};
int ch_cloud_cmd_parse (const void *payload, size_t len, struct ch_cloud_cmd *cmd, ch_error_t *err);
void ch_cloud_cmd_clear (struct ch_cloud_cmd *cmd);

#endif
