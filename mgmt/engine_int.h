/* Between the deploy engine's files (engine.c, engine_deploy.c). */
#ifndef CH_ENGINE_INT_H
#define CH_ENGINE_INT_H

#include "mgmt/desired.h"
#include "mgmt/engine.h"

#include <stdbool.h>

#define CH_CHUTE_FILE_MAX ((size_t) 1 << 20)

/* Set C's phase, record it, tell the front end. */
int ch_engine_phase (struct ch_engine *e, struct ch_change *c, const char *phase, const char *detail, ch_error_t *err);
/* C ends with RESULT (done, rolled_back, failed) and REASON. */
int ch_engine_finish (struct ch_engine *e, struct ch_change *c, const char *result, const char *reason);
/* 1 when CHANGE_ID is already in the journal (reported as such), 0 when new. */
int ch_engine_seen (struct ch_engine *e, const char *change_id, ch_error_t *err);
/* Parse and check a chute file the engine can apply (one service). */
int ch_engine_load_file (const char *file, const char *text, size_t len, struct ch_chutefile *m, ch_error_t *err);
int ch_engine_load_version (struct ch_ctx *ctx, const char *name, const char *version, struct ch_chutefile *m,
                            char **text, size_t *len, ch_error_t *err);
/* Does chute NAME have a record (ROOT/chutes/NAME/chute.json)? */
bool ch_engine_recorded (struct ch_ctx *ctx, const char *name);
int ch_engine_rollback (struct ch_engine *e, struct ch_desired *d, const char *change_id, ch_error_t *err);
/* engine_fetch.c: M's image present and unpacked (phase "fetching", its
 * bytes as progress events, when it is not yet). */
int ch_engine_fetch (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, ch_error_t *err);
/* Start D's version as change C: its recorded chute if any (already
 * running: kept), else made from the version's file; then, with GATE, its health gate.
 * On failure the chute is left as it is. */
int ch_engine_start_desired (struct ch_engine *e, const struct ch_desired *d, struct ch_change *c, bool gate,
                             ch_error_t *err);
/* Make chute M (not recorded) and gate it; on failure nothing of it is left. */
int ch_engine_start_version (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, ch_error_t *err);
/* C failed with *ERR: make OLD (previous OLD_PREV) D's version again and
 * start it; C ends rolled_back, or failed if OLD does not start either. */
int ch_engine_roll_back (struct ch_engine *e, struct ch_change *c, struct ch_desired *d, const char *old,
                         const char *old_prev, ch_error_t *err);

/* engine_build.c: services built on the AP (a single service's
 * `dockerfile:` with no image, ParaDrop's normal and light types) run
 * localhost/chuted-build/NAME[/SERVICE]:VERSION, which ch_engine_build makes
 * (phase "building") with `chuted build` from the chute's directory DIR. */
void ch_engine_built_image (struct ch_chutefile *m, const char *version);
/* Before the change: what they build from is there (and a light base known). */
int ch_engine_build_check (const struct ch_ctx *ctx, const struct ch_chutefile *m, const char *dir, ch_error_t *err);
/* A failed build leaves its record in C->failure. */
int ch_engine_build (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, const char *dir,
                     ch_error_t *err);

#endif
