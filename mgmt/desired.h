/* Deploy's desired state of one chute (ROOT/deploy/chutes/NAME/desired.json) and
 * the chute files of the versions kept for it (ROOT/deploy/chutes/NAME/versions/
 * V/chute.yaml): what the user asked for, persisted durably before the
 * engine acts on it. The actual state is the chute itself (ROOT/chutes,
 * RUN_ROOT/chutes): the two are compared, never mixed. */
#ifndef CH_DESIRED_H
#define CH_DESIRED_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ch_desired
{
  char *name;
  char *version;  /* the version that should run */
  char *previous; /* the one kept for rollback, or NULL */
  char *change;   /* id of the change that set this */
  char *since;    /* RFC 3339, when it was set */
  int64_t generation; /* +1 per change; a change for an older one is refused */
  bool running;       /* false after `chute stop` */
};

void ch_desired_clear (struct ch_desired *d);
char *ch_deploy_dir (const struct ch_ctx *ctx); /* ROOT/deploy */
/* 1 and D filled when NAME has a desired state, 0 (D cleared) when not. */
int ch_desired_load (const struct ch_ctx *ctx, const char *name, struct ch_desired *d, ch_error_t *err);
int ch_desired_save (const struct ch_ctx *ctx, const struct ch_desired *d, ch_error_t *err);
/* Keep TEXT as version VERSION's chute file (durably). */
int ch_desired_keep_version (const struct ch_ctx *ctx, const char *name, const char *version, const char *text,
                             size_t len, ch_error_t *err);
char *ch_desired_version_file (const struct ch_ctx *ctx, const char *name, const char *version);
/* Drop every kept version but D's version and previous one. */
int ch_desired_prune (const struct ch_ctx *ctx, const struct ch_desired *d, ch_error_t *err);
int ch_desired_remove (const struct ch_ctx *ctx, const char *name, ch_error_t *err);
/* Sorted NULL-terminated names of the chutes with a desired state. */
int ch_desired_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err);

#endif
