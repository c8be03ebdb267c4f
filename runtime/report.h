/* The one record the chute's programs report a start with, one text line
 * each way:
 *   init / `chuted-runtime oci create --err-fd` -> monitor:  error CODE MESSAGE
 *   monitor -> `chuted run/start` (ready pipe):  listening | ready PID | error CODE MESSAGE
 * CODE is the exit code the CLI exits with (127 command not found, 126 not
 * executable, 1 anything else); MESSAGE is one line (newlines become spaces).
 * Encoded and decoded only here. */
#ifndef CH_REPORT_H
#define CH_REPORT_H

#include "common/error.h"

#include <sys/types.h>

enum ch_report_kind
{
  CH_REPORT_LISTENING, /* the monitor waits for the attach client */
  CH_REPORT_READY,     /* the chute's process runs: PID */
  CH_REPORT_ERROR,     /* it could not be started: CODE, MESSAGE */
};

struct ch_report
{
  enum ch_report_kind kind;
  pid_t pid;
  int code;
  char *msg; /* owned, CH_REPORT_ERROR only */
};

/* Write R as one line (one write(2): atomic on a pipe). */
int ch_report_write (int fd, const struct ch_report *r, ch_error_t *err);
/* The error record for ERR (or "unknown error"), for a process that _exits next. */
void ch_report_error (int fd, int code, ch_error_t *err);
/* Decode one line (without its newline). */
int ch_report_parse (const char *line, struct ch_report *r, ch_error_t *err);
/* The first record in TEXT (several lines): the root cause comes first, a
 * caller that adds context to it reports after. 0 if there is none. */
int ch_report_first (const char *text, struct ch_report *r, ch_error_t *err);
void ch_report_clear (struct ch_report *r);

#endif
