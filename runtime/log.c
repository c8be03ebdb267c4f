#include "runtime/log.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
ch_log_open (struct ch_log *log, const char *path, uint64_t max, ch_error_t *err)
{
  struct stat st;

  memset (log, 0, sizeof (*log));
  log->fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log->fd < 0)
    return ch_error (err, errno, "open log `%s`", path);
  log->path = xstrdup (path);
  log->max = max;
  log->size = fstat (log->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
  return 0;
}

void
ch_log_close (struct ch_log *log)
{
  if (log->fd >= 0)
    close (log->fd);
  log->fd = -1;
  free (log->path);
  log->path = NULL;
  free (log->out);
  log->out = NULL;
}

static int
rotate (struct ch_log *log, ch_error_t *err)
{
  cleanup_free char *old = xasprintf ("%s.1", log->path);
  int fd;

  if (rename (log->path, old) < 0)
    return ch_error (err, errno, "rotate log `%s`", log->path);
  fd = open (log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return ch_error (err, errno, "open log `%s`", log->path);
  close (log->fd);
  log->fd = fd;
  log->size = 0;
  return 0;
}

static int
flush (struct ch_log *log, ch_error_t *err)
{
  int r = ch_write_all (log->fd, log->out, log->out_len, err);

  log->size += log->out_len;
  log->out_len = 0;
  return r;
}

/* One record: into the batch, or (a line longer than the batch) written
 * straight. The file is rotated before a record would take it
 * past MAX, so records are never split between the two files. */
static int
add_record (struct ch_log *log, const char *prefix, size_t plen, const char *msg, size_t n, ch_error_t *err)
{
  size_t need = plen + n + 1;

  if (log->max && log->size + log->out_len > 0 && log->size + log->out_len + need > log->max)
    {
      if (flush (log, err) < 0 || rotate (log, err) < 0)
        return -1;
    }
  if (log->out_len + need > CH_LOG_BATCH && log->out_len > 0 && flush (log, err) < 0)
    return -1;
  if (need > CH_LOG_BATCH)
    {
      /* rare: a line longer than the batch goes out as it is */
      if (ch_write_all (log->fd, prefix, plen, err) < 0 || ch_write_all (log->fd, msg, n, err) < 0
          || ch_write_all (log->fd, "\n", 1, err) < 0)
        return ch_error_prefix (err, "log `%s`", log->path);
      log->size += need;
      return 0;
    }
  memcpy (log->out + log->out_len, prefix, plen);
  memcpy (log->out + log->out_len + plen, msg, n);
  log->out[log->out_len + plen + n] = '\n';
  log->out_len += need;
  return 0;
}

int
ch_log_write (struct ch_log *log, const char *stream, const char *data, size_t len, ch_error_t *err)
{
  struct timespec ts;
  char full[80], part[80], when[CH_RFC3339_LEN];
  int plen;

  if (log->out == NULL)
    log->out = xmalloc (CH_LOG_BATCH);
  /* one stamp for all the lines of one read: the format needs no more */
  clock_gettime (CLOCK_REALTIME, &ts);
  ch_rfc3339_fmt (when, sizeof (when), ts.tv_sec, ts.tv_nsec);
  plen = snprintf (full, sizeof (full), "%s %s F ", when, stream);
  memcpy (part, full, plen + 1);
  part[plen - 2] = 'P';
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t n = nl ? (size_t) (nl - data) : len;
      if (add_record (log, nl ? full : part, plen, data, n, err) < 0)
        return -1;
      n += nl ? 1 : 0;
      data += n;
      len -= n;
    }
  return log->out_len ? flush (log, err) : 0;
}

int
ch_log_parse (const char *line, size_t len, struct ch_log_record *rec)
{
  const char *sp1 = memchr (line, ' ', len), *p;

  if (sp1 == NULL)
    return -1;
  rec->time = line;
  rec->time_len = sp1 - line;
  p = sp1 + 1;
  if ((size_t) (p - line) + 9 > len)
    return -1;
  if (strncmp (p, "stdout ", 7) == 0)
    rec->is_stderr = false;
  else if (strncmp (p, "stderr ", 7) == 0)
    rec->is_stderr = true;
  else
    return -1;
  p += 7;
  if ((*p != 'F' && *p != 'P') || p[1] != ' ')
    return -1;
  rec->partial = *p == 'P';
  rec->msg = p + 2;
  rec->msg_len = len - (rec->msg - line);
  return 0;
}
