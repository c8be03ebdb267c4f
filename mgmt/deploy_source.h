/* What `chuted deploy PATH` (and the REST API's deploy) reads: a directory
 * holding chute.yaml (or ParaDrop's paradrop.yaml), the chute file itself,
 * or a chute package (a tar or tar.gz of the chute's directory, unpacked by
 * `chuted-image package unpack` into ROOT/deploy/tmp/pkg-PID-XXXXXX, since
 * `chuted` does not link libarchive). Image archives the chute file names
 * by a relative path (`image: oci-archive:seccam.tar`, docker-archive:,
 * oci:DIR) are the chute directory's: they are copied (a package's moved)
 * into ROOT/deploy/chutes/NAME/versions/V/ beside the version's chute file,
 * so a rollback has its image archive as long as the version is kept. */
#ifndef CH_DEPLOY_SOURCE_H
#define CH_DEPLOY_SOURCE_H

#include "common/error.h"
#include "mgmt/cli.h"
#include "mgmt/manifest.h"

#include <stdbool.h>
#include <stddef.h>

struct ch_deploy_source
{
  char *file; /* the chute file as errors name it: DIR/chute.yaml, FILE, or PACKAGE:INNER/chute.yaml */
  char *dir;  /* the chute's directory, where relative image archives are; NULL: none (a chute file sent alone) */
  char *text; /* the chute file's bytes (LEN) */
  size_t len;
  char *tmp;  /* a package's unpack directory under ROOT, removed by close; NULL otherwise */
};

/* Open PATH as a deploy source; nothing is left behind on failure. */
int ch_deploy_source_open (struct ch_ctx *ctx, const char *path, struct ch_deploy_source *src, ch_error_t *err);
/* Free SRC and remove a package's unpack directory. */
void ch_deploy_source_close (struct ch_deploy_source *src);

/* deploy_keep.c */
/* Every image archive M names by a relative path must be a plain path down
 * into SRC's directory and exist there; a package may name no host file
 * (an absolute archive path) at all. Checked before anything is changed. */
int ch_deploy_source_check_images (const struct ch_deploy_source *src, const struct ch_chutefile *m,
                                   ch_error_t *err);
/* Put the relative image archives of M into the kept version VERSION of
 * chute NAME (copied from DIR; moved when MOVE, a package's own files),
 * durably, and point M's image references at them. DIR NULL: M was loaded
 * from the kept version and points there already. */
int ch_deploy_keep_images (struct ch_ctx *ctx, const char *name, const char *version, struct ch_chutefile *m,
                           const char *dir, bool move, ch_error_t *err);
/* Point M's relative image archive references into DIR (a kept version's). */
void ch_deploy_images_at (struct ch_chutefile *m, const char *dir);

#endif
