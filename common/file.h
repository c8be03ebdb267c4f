/* Whole-file I/O, atomic replace, mkdir -p, rm -rf, locks. */
#ifndef CH_FILE_H
#define CH_FILE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read all of PATH (relative to DIRFD, AT_FDCWD for cwd) into a NUL-terminated buffer. */
int ch_read_file_at (int dirfd, const char *path, char **out, size_t *len, ch_error_t *err);
int ch_read_file (const char *path, char **out, size_t *len, ch_error_t *err);
int ch_read_fd (int fd, char **out, size_t *len, ch_error_t *err);

int ch_write_file_at (int dirfd, const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);
int ch_write_file (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);
/* Write to PATH.tmp.PID then rename over PATH: readers see old or new, never half. */
int ch_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);

/* Write all of LEN bytes, retrying on EINTR and short writes. */
int ch_write_all (int fd, const void *data, size_t len, ch_error_t *err);

int ch_mkdir_p (const char *path, mode_t mode, ch_error_t *err);

/* Remove PATH and everything below, never following symlinks and never
 * crossing into another mount (a leftover bind mount is an error, not a wipe). */
int ch_rm_rf (const char *path, ch_error_t *err);
int ch_rm_rf_at (int dirfd, const char *name, ch_error_t *err);

/* flock(2) PATH (created 0600 if missing); *FD holds the lock until closed. */
int ch_lock_file (const char *path, bool exclusive, int *fd, ch_error_t *err);

/* Directory containing the running executable (for sibling helper binaries). */
int ch_self_dir (char **out, ch_error_t *err);

#endif
