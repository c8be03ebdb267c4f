/* A chute's log: podman's k8s-file format, one record a line
 *   2026-11-27T20:04:32.123456789Z stdout F message
 * (F = full line, P = partial: the line continues in the next record),
 * size-capped: past MAX bytes the file is rotated to PATH.1. */
#ifndef CH_LOG_H
#define CH_LOG_H

#include "common/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Records of one read are batched and written with one write(2) per
 * CH_LOG_BATCH bytes: a flood of short lines costs a memcpy each, not a
 * syscall each. */
#define CH_LOG_BATCH (64 * 1024)

struct ch_log
{
  int fd;
  char *path;
  uint64_t max;
  uint64_t size;
  char *out; /* the batch, CH_LOG_BATCH bytes once the first record comes */
  size_t out_len;
};

int ch_log_open (struct ch_log *log, const char *path, uint64_t max, ch_error_t *err);
void ch_log_close (struct ch_log *log);
/* STREAM is "stdout" or "stderr". Splits DATA into records at newlines. */
int ch_log_write (struct ch_log *log, const char *stream, const char *data, size_t len, ch_error_t *err);

struct ch_log_record
{
  const char *time;   /* points into the line, not NUL-terminated: TIME_LEN bytes */
  size_t time_len;
  bool is_stderr;
  bool partial;
  const char *msg;    /* rest of the line, without the newline */
  size_t msg_len;
};
/* Parse one line (without its newline); -1 if it is not a record. */
int ch_log_parse (const char *line, size_t len, struct ch_log_record *rec);

#endif
