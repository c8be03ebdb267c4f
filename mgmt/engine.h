/* The deploy engine: applies chute files and chute operations as changes
 * (mgmt/journal.h) against the desired state (mgmt/desired.h). One library
 * the CLI calls in-process; the REST API and the cloud link are to be thin
 * front ends over the same calls. Every change reports its progress through
 * one callback: queued, fetching (with the image's bytes), stopping old,
 * starting, waiting for health, then done | rolling back + rolled_back |
 * failed. */
#ifndef CH_ENGINE_H
#define CH_ENGINE_H

#include "common/error.h"
#include "mgmt/chute.h"
#include "mgmt/deploy_source.h"
#include "mgmt/journal.h"
#include "mgmt/manifest.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* C->phase is the event; DETAIL is NULL or one line (a reason). */
typedef void (*ch_engine_event_fn) (void *data, const struct ch_change *c, const char *detail);

struct ch_engine
{
  struct ch_ctx *ctx;
  ch_engine_event_fn event;
  void *data;
  int lock; /* ROOT/deploy/lock: one change at a time on this host */
};

/* Take the engine's lock (waits for a change under way). */
int ch_engine_open (struct ch_engine *e, struct ch_ctx *ctx, ch_engine_event_fn fn, void *data, ch_error_t *err);
void ch_engine_close (struct ch_engine *e);

/* Apply the chute file of SRC (mgmt/deploy_source.h: its text, its name in
 * errors, the directory its image archives are in): a first deploy, or an
 * update of the chute it names, health-gated, rolled back on failure. CHANGE_ID NULL:
 * a new id; an id already in the journal is not applied again (returns 1).
 * GENERATION > 0: refused unless newer than the chute's desired one.
 * Returns 0 when done, < 0 when refused, failed or rolled back (the reason). */
int ch_engine_deploy (struct ch_engine *e, const struct ch_deploy_source *src, const char *change_id,
                      int64_t generation, ch_error_t *err);

/* Bring every deployed chute to its desired state after anything (a crash
 * of a change at any step, a monitor killed, a reboot): a change cut short
 * is rolled forward, or back to the version before it, and its journal
 * record finished; a chute desired running is started, one desired stopped
 * is stopped. Idempotent. < 0 when some chute could not be brought there. */
int ch_engine_reconcile (struct ch_engine *e, ch_error_t *err);

/* stop, start, restart, remove or rollback deployed chute NAME, as a change. */
int ch_engine_op (struct ch_engine *e, const char *kind, const char *name, const char *change_id, ch_error_t *err);

/* The one mapping from a checked chute file to the chute it runs as. */
int ch_chute_from_chutefile (const struct ch_chutefile *m, struct ch_chute *c, ch_error_t *err);
/* Service I of M: the chute itself for one service; for a pod
 * (mgmt/pod.h), its service's record CHUTE+SERVICE. */
int ch_chute_from_service (const struct ch_chutefile *m, size_t i, struct ch_chute *c, ch_error_t *err);

/* engine_run.c: the chute operations changes are made of. */
/* Create chute C (its name free) and start it; nothing is left on failure. */
int ch_engine_run_chute (struct ch_ctx *ctx, struct ch_chute *c, ch_error_t *err);
/* Start the (recorded, stopped) chute NAME. */
int ch_engine_start_chute (struct ch_ctx *ctx, const char *name, ch_error_t *err);
/* Stop chute NAME (recorded as user-stopped: it stays down); REMOVE: remove it. */
int ch_engine_stop_chute (struct ch_ctx *ctx, const char *name, bool remove, ch_error_t *err);
/* Stop and remove chute NAME for the next version of it: its files go later,
 * in ch_engine_purge_retired, once that one runs (ch_chute_retire). */
int ch_engine_retire_chute (struct ch_ctx *ctx, const char *name, ch_error_t *err);
void ch_engine_purge_retired (struct ch_ctx *ctx, const char *name);
/* Health gate: 0 when chute NAME stays running, not restarted, GRACE_S
 * seconds; < 0 with the reason (its exit) when not. */
int ch_engine_wait_alive (struct ch_ctx *ctx, const char *name, uint64_t grace_s, ch_error_t *err);
/* 0 while chute NAME runs, restarted RESTARTS times (its status.json's
 * count when a gate began); < 0 with why not. */
int ch_engine_check_alive (struct ch_ctx *ctx, const char *name, int64_t restarts, ch_error_t *err);

/* engine_build.c: a change's failure record (ch_change.failure) as lines
 * under its event: the failed step, its exit code, its last output. */
void ch_engine_failure_print (FILE *f, const json_t *failure);

#endif
