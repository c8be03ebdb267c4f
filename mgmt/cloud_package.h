/* A chute of the desired document given as a package in an OCI registry
 * ("package": "REGISTRY/REPO@sha256:...", pushed by `chutectl push`):
 * fetched by chuted-image-pull (the only program with an HTTP client),
 * checked against the digest the signed document pins, bounded in size,
 * and deployed as `chuted deploy PACKAGE.tar.gz` would. */
#ifndef CH_CLOUD_PACKAGE_H
#define CH_CLOUD_PACKAGE_H

#include "common/error.h"
#include "mgmt/deploy_source.h"
#include "mgmt/desired.h"

#include <stdbool.h>

/* Does D (chute NAME's desired state) run what package REF holds, as
 * recorded when it was deployed from it? */
bool ch_cloud_package_runs (struct ch_ctx *ctx, const struct ch_desired *d, const char *ref);
/* Fetch REF and open it as a deploy source (unpacked; closed by
 * ch_deploy_source_close). */
int ch_cloud_package_open (struct ch_ctx *ctx, const char *ref, struct ch_deploy_source *src, ch_error_t *err);
/* After chute NAME was deployed from REF: remember which file that version
 * runs (ROOT/deploy/packages/NAME.json), so the next document that still
 * names REF fetches nothing. */
int ch_cloud_package_record (struct ch_ctx *ctx, const char *name, const char *ref, ch_error_t *err);
/* Chute NAME is removed: its record goes. */
void ch_cloud_package_forget (struct ch_ctx *ctx, const char *name);

#endif
