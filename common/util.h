/* Allocation that cannot fail (abort on OOM, as crun's xmalloc), cleanup
 * attributes, and small string helpers. */
#ifndef CH_UTIL_H
#define CH_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

void *xmalloc (size_t n);
void *xzalloc (size_t n);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xvasprintf (const char *fmt, va_list ap);

void ch_freep (void *p);
void ch_closep (int *fd);
void ch_fclosep (FILE **f);
void ch_closedirp (DIR **d);
void ch_strvfreep (char ***v);

#define cleanup_free __attribute__ ((cleanup (ch_freep)))
#define cleanup_close __attribute__ ((cleanup (ch_closep)))
#define cleanup_fclose __attribute__ ((cleanup (ch_fclosep)))
#define cleanup_dir __attribute__ ((cleanup (ch_closedirp)))
#define cleanup_strv __attribute__ ((cleanup (ch_strvfreep)))

/* Hand ownership out of a cleanup variable. */
#define steal_pointer(pp) ch_steal_pointer ((void *) (pp))
static inline void *
ch_steal_pointer (void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}
static inline int
steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

bool ch_has_prefix (const char *s, const char *prefix);
bool ch_has_suffix (const char *s, const char *suffix);

/* NULL-terminated string vectors. */
size_t ch_strv_len (char *const *v);
bool ch_strv_contains (char *const *v, const char *s);
char **ch_strv_dup (char *const *v);
void ch_strv_append (char ***v, const char *s);
void ch_strv_free (char **v);

/* Growable string: no fixed buffers. */
struct ch_buf
{
  char *data;
  size_t len, cap;
};
void ch_buf_append (struct ch_buf *b, const void *data, size_t len);
void ch_buf_printf (struct ch_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
char *ch_buf_steal (struct ch_buf *b);
/* S as it can be shown inside `...` on one line of a message (S is outside
 * input): control characters, backslash and backquote escaped, cut after MAX
 * bytes with "...". */
char *ch_quote (const char *s, size_t max);

/* SEC as RFC 3339 in UTC: "2026-11-29T22:35:05Z", or with NSEC >= 0
 * "2026-11-29T22:35:05.000000042Z" (the OCI state's precision). */
char *ch_rfc3339 (time_t sec, long nsec);
/* The same into BUF (CH_RFC3339_LEN bytes hold any year 0-9999). */
#define CH_RFC3339_LEN 32
void ch_rfc3339_fmt (char *buf, size_t len, time_t sec, long nsec);
/* Milliseconds on the monotonic clock: for deadlines and durations. */
int64_t ch_now_ms (void);

#endif
