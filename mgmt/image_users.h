/* Which chutes an image removal would take the image from: `rmi` refuses
 * those (podman does), unless -f. */
#ifndef CH_IMAGE_USERS_H
#define CH_IMAGE_USERS_H

#include "common/error.h"
#include "image/image.h"
#include "mgmt/cli.h"

/* The chutes (NULL-terminated) whose image is the one `rmi REF` would
 * delete: none when REF is one of several names of it (only a name goes)
 * or names nothing (rmi says so itself). A chute's image is the manifest
 * its snapshot was made from (overlay/mount.json), else its chute.json
 * image as the store resolves it now (created, never started). */
int ch_image_users (const struct ch_ctx *ctx, struct ch_store *s, const char *ref, char ***chutes, ch_error_t *err);
/* -1 with "image `REF` is used by chute `a`, `b` ..." when ch_image_users
 * finds any, else 0. */
int ch_image_check_unused (const struct ch_ctx *ctx, struct ch_store *s, const char *ref, ch_error_t *err);

#endif
