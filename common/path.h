/* Resolving paths inside a root directory without ever leaving it
 * (openat2 RESOLVE_IN_ROOT): what the runtime uses for mount targets
 * (CVE-2021-30465) and image/ for every layer entry. */
#ifndef CH_PATH_H
#define CH_PATH_H

#include "error.h"

#include <stdbool.h>
#include <sys/types.h>

/* openat2(ROOTFD, PATH, FLAGS, MODE) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS:
 * ".." and absolute symlinks are clamped to ROOTFD. */
int ch_open_in_root (int rootfd, const char *path, int flags, mode_t mode, ch_error_t *err);

/* mkdir -p PATH below ROOTFD, each component resolved in root; returns an
 * O_PATH|O_DIRECTORY fd of the last directory (or an O_RDONLY one if
 * WANT_READ). An existing non-directory component is an error. */
int ch_mkdir_in_root (int rootfd, const char *path, mode_t mode, ch_error_t *err);

/* Split PATH into its parent (resolved+created in root, returned as an fd)
 * and last component (*NAME, allocated). "/" and "" are refused. */
int ch_parent_in_root (int rootfd, const char *path, bool create, mode_t mode, char **name, ch_error_t *err);

/* "/proc/self/fd/N": a path naming an fd, for mount(2) targets. */
char *ch_fd_path (int fd);

#endif
