/* Server-sent events without a thread: a stream's reader callback gives
 * libmicrohttpd what is ready; with nothing ready it suspends the
 * connection, and the loop resumes it when a change gets an event or a
 * followed log grows (polled on a tick: the monitor writes the log, not
 * us). An idle stream sends a comment every DM_HEARTBEAT_S, which is how a
 * client that left is found. */
#include "mgmt/daemon.h"
#include "common/file.h"
#include "common/json.h"
#include "mgmt/lifecycle.h"
#include "runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_TICK_MS 200
#define LOG_READ_MAX (256 * 1024) /* per wake: a flood is sent in steps */

struct dm_stream
{
  struct dm_stream *next;
  struct ch_daemon *d;
  struct MHD_Connection *conn;
  bool suspended, done;
  struct ch_buf out;
  size_t out_off;
  time_t last_sent;
  /* a change's events */
  struct dm_change *change;
  uint64_t next_seq;
  /* a followed log */
  char *name, *path;
  uint64_t ino, offset;
  struct ch_buf partial; /* a record not whole yet */
};

static void
sse (struct dm_stream *s, const char *event, json_t *data)
{
  cleanup_free char *t = json_dumps (data, JSON_COMPACT);
  ch_buf_printf (&s->out, "event: %s\ndata: %s\n\n", event, t);
}

static void
fill_change (struct dm_stream *s)
{
  struct dm_change *c = s->change;
  size_t n = json_array_size (c->events);
  uint64_t first = c->n_events - n;
  json_t *e;

  if (s->next_seq < first)
    s->next_seq = first; /* dropped while the reader lagged: the journal has the change */
  for (; s->next_seq < c->n_events; s->next_seq++)
    {
      e = json_array_get (c->events, s->next_seq - first);
      sse (s, json_string_value (json_object_get (e, "phase")) ?: "event", e);
    }
  if (c->state == DM_FINAL && s->next_seq == c->n_events)
    s->done = true;
}

/* One log record line as an event {time, stream, message}. */
static void
log_event (struct dm_stream *s, const char *line, size_t len)
{
  cleanup_json json_t *o = dm_log_record_json (line, len);

  if (o)
    sse (s, "log", o);
}

/* New bytes of the followed log; the end once the chute is down and all is read. */
static void
fill_log (struct dm_stream *s)
{
  cleanup_close int fd = open (s->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf;
  ssize_t n;
  bool live = ch_chute_running (s->d->ctx, s->name, NULL);
  size_t start = 0;

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      s->done = !live;
      return;
    }
  if ((uint64_t) st.st_ino != s->ino)
    {
      /* rotated: the monitor started a new file */
      s->ino = st.st_ino;
      s->offset = 0;
    }
  if ((uint64_t) st.st_size <= s->offset)
    {
      s->done = !live;
      return;
    }
  buf = xmalloc (LOG_READ_MAX);
  n = pread (fd, buf, LOG_READ_MAX, s->offset);
  if (n > 0)
    {
      s->offset += n;
      ch_buf_append (&s->partial, buf, n);
      for (size_t i = 0; i < s->partial.len; i++)
        if (s->partial.data[i] == '\n')
          {
            log_event (s, s->partial.data + start, i - start);
            start = i + 1;
          }
      memmove (s->partial.data, s->partial.data + start, s->partial.len - start);
      s->partial.len -= start;
    }
  free (buf);
}

static ssize_t
reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct dm_stream *s = cls;
  size_t n;

  if (s->out_off == s->out.len && !s->done && !s->d->stopping)
    {
      s->out.len = s->out_off = 0;
      if (s->change)
        fill_change (s);
      else
        fill_log (s);
    }
  if (s->out_off < s->out.len)
    {
      n = s->out.len - s->out_off < max ? s->out.len - s->out_off : max;
      memcpy (buf, s->out.data + s->out_off, n);
      s->out_off += n;
      s->last_sent = time (NULL);
      return (ssize_t) n;
    }
  if (s->done || s->d->stopping)
    return MHD_CONTENT_READER_END_OF_STREAM;
  MHD_suspend_connection (s->conn);
  s->suspended = true;
  return 0;
}

static void
stream_free (void *cls)
{
  struct dm_stream *s = cls;

  for (struct dm_stream **p = &s->d->streams; *p; p = &(*p)->next)
    if (*p == s)
      {
        *p = s->next;
        break;
      }
  if (s->change)
    dm_change_unref (s->d, s->change);
  free (s->out.data);
  free (s->partial.data);
  free (s->name);
  free (s->path);
  free (s);
}

static struct MHD_Response *
stream_new (struct dm_stream *s)
{
  struct MHD_Response *r = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16 * 1024, reader, s, stream_free);

  s->next = s->d->streams;
  s->d->streams = s;
  s->last_sent = time (NULL);
  /* a stream is idle between events: the connection timeout is not for it */
  MHD_set_connection_option (s->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
  MHD_add_response_header (r, "Content-Type", "text/event-stream");
  MHD_add_response_header (r, "Cache-Control", "no-cache");
  return r;
}

struct MHD_Response *
dm_stream_change (struct ch_daemon *d, struct MHD_Connection *conn, struct dm_change *c)
{
  struct dm_stream *s = xzalloc (sizeof (*s));

  s->d = d;
  s->conn = conn;
  s->change = c;
  c->refs++;
  return stream_new (s);
}

struct MHD_Response *
dm_stream_logs (struct ch_daemon *d, struct MHD_Connection *conn, const char *name, const char *path, uint64_t ino,
                uint64_t offset, json_t *first)
{
  struct dm_stream *s = xzalloc (sizeof (*s));
  size_t i;
  json_t *e;

  json_array_foreach (first, i, e) sse (s, "log", e);
  s->d = d;
  s->conn = conn;
  s->name = xstrdup (name);
  s->path = xstrdup (path);
  s->ino = ino;
  s->offset = offset;
  return stream_new (s);
}

static void
resume (struct dm_stream *s)
{
  if (!s->suspended)
    return;
  s->suspended = false;
  MHD_resume_connection (s->conn);
}

void
dm_streams_wake_change (struct ch_daemon *d, struct dm_change *c)
{
  for (struct dm_stream *s = d->streams; s; s = s->next)
    if (s->change == c)
      resume (s);
}

int
dm_streams_tick (struct ch_daemon *d)
{
  time_t now = time (NULL);
  int t = -1;

  for (struct dm_stream *s = d->streams; s; s = s->next)
    {
      if (!s->suspended)
        continue;
      if (now - s->last_sent >= DM_HEARTBEAT_S)
        {
          if (s->out_off == s->out.len)
            s->out.len = s->out_off = 0;
          ch_buf_printf (&s->out, ": ping\n\n");
          resume (s);
          continue;
        }
      if (s->change == NULL)
        {
          struct stat st;
          /* news: it grew, rotated, or the chute is down (the end) */
          if (stat (s->path, &st) < 0 || (uint64_t) st.st_size != s->offset || (uint64_t) st.st_ino != s->ino
              || !ch_chute_running (d->ctx, s->name, NULL))
            resume (s);
          t = LOG_TICK_MS;
        }
      else if (t < 0)
        t = DM_HEARTBEAT_S * 1000;
    }
  return t;
}

void
dm_streams_end_all (struct ch_daemon *d)
{
  for (struct dm_stream *s = d->streams; s; s = s->next)
    resume (s);
}
