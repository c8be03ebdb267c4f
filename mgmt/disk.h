/* --storage-opt size=SIZE (podman's spelling): the chute cannot write more
 * than SIZE, because its writable layer lives on a filesystem of that
 * size: ROOT/chutes/NAME/disk.img, a sparse ext4 image made once with
 * mkfs.ext4, loop-mounted on ROOT/chutes/NAME/disk while the chute is up,
 * the image snapshot (its upper dir) in it. Opt-in: the loop
 * attach and mount cost a start ~10-30 ms, which plain --disk (a bound on
 * unpacking only) does not. */
#ifndef CH_DISK_H
#define CH_DISK_H

#include "common/error.h"
#include "mgmt/chute.h"

/* The smallest image mkfs.ext4 makes usable (journal and metadata fit). */
#define CH_DISK_QUOTA_MIN (16ULL << 20)

/* The state dir of the chute's image snapshot (struct ch_snapshot_dirs):
 * ROOT/chutes/NAME/disk for a chute with a disk image, else ROOT/chutes/NAME. */
char *ch_disk_state_dir (const struct ch_ctx *ctx, const char *name);

/* Make the image if missing and mount it (the snapshot clears what a
 * previous run left in it). */
int ch_disk_mount (const struct ch_ctx *ctx, const struct ch_chute *c, ch_error_t *err);
/* After the snapshot's unmount: detach the disk if mounted (lazily: the
 * overlay on it may linger a moment); the loop device frees itself when
 * the last user is gone. */
int ch_disk_unmount (const struct ch_ctx *ctx, const char *name, ch_error_t *err);

#endif
