/* Whole-file I/O, atomic replace, mkdir -p, rm -rf, locks. */
#ifndef CH_FILE_H
#define CH_FILE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whole-file readers for state, configs and image documents: only a regular
 * file is read (a FIFO or a device is refused, never waited on or read
 * without end), and one over MAX bytes is refused. Without _max the bound
 * is CH_FILE_MAX_DEFAULT, far above any document chuted reads. */
#define CH_FILE_MAX_DEFAULT ((size_t) 16 << 20)
/* config.json, chute.json, status and state files, image JSON: kilobytes each */
#define CH_FILE_MAX_CONFIG ((size_t) 4 << 20)
int ch_read_file_at_max (int dirfd, const char *path, size_t max, char **out, size_t *len, ch_error_t *err);
int ch_read_file_max (const char *path, size_t max, char **out, size_t *len, ch_error_t *err);
/* Read all of PATH (relative to DIRFD, AT_FDCWD for cwd) into a NUL-terminated buffer. */
int ch_read_file_at (int dirfd, const char *path, char **out, size_t *len, ch_error_t *err);
int ch_read_file (const char *path, char **out, size_t *len, ch_error_t *err);
/* Read FD to EOF (a pipe, a socket); _max refuses more than MAX bytes. */
int ch_read_fd_max (int fd, size_t max, char **out, size_t *len, ch_error_t *err);
int ch_read_fd (int fd, char **out, size_t *len, ch_error_t *err);

int ch_write_file_at (int dirfd, const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);
int ch_write_file (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);
/* Write to PATH.tmp.PID then rename over PATH: readers see old or new, never half. */
int ch_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);
/* The same, durable: the file fsync'd before the rename, its directory after
 * (state that must survive a power cut: deploy's desired state and journal). */
int ch_write_file_durable (const char *path, const void *data, size_t len, mode_t mode, ch_error_t *err);

/* In a child about to exec: make FDS[i] its descriptor i (0 <= i < N <= 16),
 * without CLOEXEC, whatever numbers the sources have (they may overlap the
 * targets). Async-signal-safe; -1 with errno on failure. */
int ch_install_fds (const int *fds, int n);

/* Write all of LEN bytes, retrying on EINTR and short writes. */
int ch_write_all (int fd, const void *data, size_t len, ch_error_t *err);

int ch_mkdir_p (const char *path, mode_t mode, ch_error_t *err);

/* Remove PATH and everything below, never following symlinks and never
 * crossing into another mount (a leftover bind mount is an error, not a wipe). */
int ch_rm_rf (const char *path, ch_error_t *err);
/* The names of DIR's entries that hold a file MARKER and pass NAME_OK,
 * sorted; a missing DIR has none. */
int ch_list_marked (const char *dir, const char *marker, int (*name_ok) (const char *name, ch_error_t *err),
                    char ***names, ch_error_t *err);
int ch_rm_rf_at (int dirfd, const char *name, ch_error_t *err);

/* flock(2) PATH (created 0600 if missing); *FD holds the lock until closed. */
int ch_lock_file (const char *path, bool exclusive, int *fd, ch_error_t *err);

/* Directory containing the running executable (for sibling helper binaries). */
int ch_self_dir (char **out, ch_error_t *err);

#endif
