/* The rollout driver's state, shared by rollout.c (the driver) and
 * rollout_watch.c (abort, which can take a rollout over). */
#ifndef CHUTECTL_ROLLOUT_H
#define CHUTECTL_ROLLOUT_H

#include "tools/chutectl/chutectl.h"

/* The rollout document goes out at most every ROLLOUT_PUBLISH_MS plus
 * ROLLOUT_PUBLISH_PER_AP_MS per AP, and as often as a heartbeat: it grows
 * with the group (~110 bytes an AP), so a large one beats less often (1000
 * APs: every 6 s) rather than dominating the rollout's traffic. */
#define ROLLOUT_PUBLISH_MS 1000
#define ROLLOUT_PUBLISH_PER_AP_MS 5

struct ro
{
  struct ctl *c;
  json_t *doc;         /* the rollout document (owned) */
  const char *id;      /* of doc: the change id of each AP's document */
  const char *chute;   /* of doc */
  json_t *nodes;       /* of doc: NODE -> {phase, old, sent_ms, done_ms, revert, reason, step} */
  json_t *order;       /* node names sorted: the canary wave is the first ones */
  json_t *entry;       /* the chute's desired entry every AP gets (NULL when only reverting) */
  json_t *desired;     /* NODE -> its newest desired document */
  json_t *reported;    /* NODE -> its newest reported state */
  char *undo;          /* ID-undo: change id of the documents that put an AP back */
  char *abort_topic;   /* CTL_ROLLOUT_PREFIX ID/abort */
  size_t next;         /* order[next] is the next AP to send to */
  long canary, batch, max_fail, timeout_s;
  int64_t started_ms;  /* wall clock: the doc's times are relative to it */
  int64_t last_pub;    /* monotonic */
  int64_t publish_ms;  /* the document's period (in it as publish_ms) */
  bool abort_seen, dirty;
};

int64_t ro_wall_ms (void);
/* R takes DOC (a rollout document, new or from the broker). */
void ro_init (struct ro *r, struct ctl *c, json_t *doc);
void ro_clear (struct ro *r);
/* Drive R to its end (done, stopped or aborted); -1 when the broker failed. */
int ro_run (struct ro *r, ch_error_t *err);
/* Print how rollout DOC ended; 0 when it ended in state WANT. */
int ro_result (struct ctl *c, json_t *doc, const char *want, ch_error_t *err);

#endif
