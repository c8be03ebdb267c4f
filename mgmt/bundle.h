/* From a chute (+ its image's config + its network) to an OCI bundle. */
#ifndef CH_BUNDLE_H
#define CH_BUNDLE_H

#include "common/error.h"
#include "mgmt/chute.h"
#include "netns/net.h"

#include <jansson.h>

/* Write BUNDLE_DIR/config.json. IMAGE_CONFIG is the image's config object
 * (Cmd, Entrypoint, Env, WorkingDir, User) or NULL; NET may be NULL (--net none). */
int ch_bundle_write (const struct ch_ctx *ctx, const struct ch_chute *c, const char *rootfs, json_t *image_config,
                     const struct ch_net_result *net, const char *bundle_dir, ch_error_t *err);

/* --init: the program beside chuted, and where a chute sees it (on /dev,
 * the chute's own tmpfs: no mount point is left in the rootfs) */
#define CH_INIT_PROG "chuted-init"
#define CH_INIT_PATH "/dev/chuted-init"
#define CH_STOP_SIGNAL_ANNOTATION "org.opencontainers.image.stopSignal"

/* The signal `stop` sends to the chute whose bundle is BUNDLE_DIR: the one
 * recorded there (--stop-signal, the image's StopSignal), else SIGTERM. */
int ch_bundle_stop_signal (const char *bundle_dir);

/* The chute's argv as docker computes it: entrypoint + command, where a
 * given entrypoint drops the image's Cmd. NULL (and an error) if empty. */
char **ch_bundle_args (const struct ch_chute *c, json_t *image_config, ch_error_t *err);

/* "name", "uid", "name:group", "uid:gid" -> numbers, names looked up in the
 * rootfs's own /etc/passwd and /etc/group (never the host's). */
int ch_user_resolve (const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid, ch_error_t *err);

#endif
