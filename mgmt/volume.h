/* Volumes: `-v HOSTDIR:DIR[:ro]` binds a host directory, `-v NAME:DIR[:ro]`
 * a named volume, a directory ROOT/volumes/NAME/_data that outlives the
 * chutes using it (rm, updates): ParaDrop's /data. */
#ifndef CH_VOLUME_H
#define CH_VOLUME_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <jansson.h>
#include <stdbool.h>

struct ch_volume_spec
{
  char *host; /* absolute host path, or NULL for a named volume */
  char *name; /* the named volume, or NULL */
  char *dest; /* absolute path inside the chute */
  bool ro;
};

/* "SRC:DEST[:ro|rw]" where SRC is an absolute host path that exists or a
 * volume name (the name rule of chutes). Only the syntax and the host
 * path's existence are checked: nothing is made. */
int ch_volume_spec_parse (const char *spec, struct ch_volume_spec *v, ch_error_t *err);
void ch_volume_spec_clear (struct ch_volume_spec *v);
/* The canonical form stored in chute.json: "SRC:DEST" or "SRC:DEST:ro". */
char *ch_volume_spec_format (const struct ch_volume_spec *v);
/* Is DEST the destination of one of VOLUMES (canonical specs)? */
bool ch_volume_dest_taken (char *const *volumes, const char *dest);

char *ch_volumes_dir (const struct ch_ctx *ctx);                     /* ROOT/volumes */
char *ch_volume_data_dir (const struct ch_ctx *ctx, const char *name); /* ROOT/volumes/NAME/_data */

/* Is there a volume NAME (a checked name)? */
bool ch_volume_exists (const struct ch_ctx *ctx, const char *name);

/* Make volume NAME (ROOT/volumes/NAME/{volume.json,_data}, made aside and
 * renamed into place). EXIST_OK: an existing one is fine (run's implicit
 * create), else it is an error (`volume create`). */
int ch_volume_create (const struct ch_ctx *ctx, const char *name, bool exist_ok, ch_error_t *err);

/* Where the bind mount of V comes from: the host path, or the named
 * volume's _data (made if missing). */
int ch_volume_source (const struct ch_ctx *ctx, const struct ch_volume_spec *v, char **out, ch_error_t *err);

/* The chutes (sorted, NULL-terminated) whose chute.json names volume NAME. */
int ch_volume_users (const struct ch_ctx *ctx, const char *name, char ***chutes, ch_error_t *err);

/* { name, mountpoint, created, chutes: [...] } of volume NAME. */
int ch_volume_inspect (const struct ch_ctx *ctx, const char *name, json_t **out, ch_error_t *err);

/* Sorted NULL-terminated list of volume names. */
int ch_volume_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err);

/* Remove volume NAME unless a chute names it (the error says which). Call
 * under the global lock, so that no chute is created with it meanwhile. */
int ch_volume_remove (const struct ch_ctx *ctx, const char *name, ch_error_t *err);

#endif
