/* The deploy engine's change journal: one durable record per change in
 * ROOT/deploy/journal/ID.json, numbered by a persisted counter
 * (ROOT/deploy/journal/seq), so ids and order survive a reboot and a change
 * delivered twice (same id) is found and not applied again. Callers hold
 * the engine's lock. */
#ifndef CH_JOURNAL_H
#define CH_JOURNAL_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <jansson.h>
#include <stdint.h>

struct ch_change
{
  char *id;      /* given (--change-id) or "c" + the sequence number */
  char *chute;
  char *kind;    /* deploy update stop start restart remove rollback */
  char *version; /* the version it brings, or NULL */
  /* deploy, update, rollback: the chute's version and previous one before
   * it (NULL: none), what `chuted reconcile` rolls an interrupted one back to */
  char *from, *from_previous;
  char *phase;   /* the last progress event: queued ... done */
  char *result;  /* NULL while under way; done, rolled_back, failed */
  char *reason;  /* why it rolled back or failed */
  json_t *failure; /* or NULL: the failure as a record (a build's: {kind: "build", file, line, ...}) */
  char *time;    /* RFC 3339, when it was queued */
  int64_t seq;
  uint64_t fetched, fetch_total; /* phase fetching: the image's bytes so far, of (not journaled) */
};

void ch_change_clear (struct ch_change *c);
/* 1 and C filled when change ID is in the journal, 0 when not. */
int ch_journal_lookup (const struct ch_ctx *ctx, const char *id, struct ch_change *c, ch_error_t *err);
/* Number C from the counter (its id too when C->id is NULL; a given id
 * must be new and pass the name rule), stamp its time, and record it. */
int ch_journal_begin (const struct ch_ctx *ctx, struct ch_change *c, ch_error_t *err);
/* Record C as it is now (phase, result, reason). */
int ch_journal_save (const struct ch_ctx *ctx, const struct ch_change *c, ch_error_t *err);
json_t *ch_change_to_json (const struct ch_change *c);
/* Every record, oldest first, as a JSON array. */
int ch_journal_list (const struct ch_ctx *ctx, json_t **out, ch_error_t *err);

#endif
