/* One error type for the whole project (crun's libcrun_error_t habit):
 * every fallible function takes a ch_error_t * and returns < 0 with the
 * error filled in; callers add context with ch_error_prefix(). */
#ifndef CH_ERROR_H
#define CH_ERROR_H

#include <stdarg.h>

struct ch_error_s
{
  int status; /* errno value, 0 when the failure is not a system error */
  char *msg;  /* what, where and why: one line */
};
typedef struct ch_error_s *ch_error_t;

/* Set *err to FMT (plus ": strerror(ERRNUM)" when ERRNUM != 0); returns -1.
 * An error already in *err is replaced. */
int ch_error (ch_error_t *err, int errnum, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
int ch_verror (ch_error_t *err, int errnum, const char *fmt, va_list ap);

/* Prepend "FMT: " to the message in *err (which must be set); returns -1. */
int ch_error_prefix (ch_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void ch_error_release (ch_error_t *err);

/* Print "PROG: MSG\n" to stderr and release. */
void ch_error_print (ch_error_t *err, const char *prog);

static inline void
ch_error_releasep (ch_error_t *err)
{
  ch_error_release (err);
}
#define cleanup_error __attribute__ ((cleanup (ch_error_releasep)))

#endif
