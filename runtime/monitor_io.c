/* The monitor's I/O, none of it blocking: the chute's output into the log
 * and to the attach client, the client's frames into the chute. */
#include "common/file.h"
#include "common/sock.h"
#include "common/util.h"
#include "runtime/monitor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void
drop_client (struct ch_mon *m, const char *why)
{
  if (m->client_fd < 0)
    return;
  if (why)
    fprintf (stderr, "chuted-monitor: %s: attach client dropped\n", why);
  close (m->client_fd);
  m->client_fd = -1;
  m->rd->have = 0;
  m->client_out.len = m->client_out_off = 0;
  m->stdin_pending.len = m->stdin_off = 0;
  /* a client that detached removes nothing: the on-exit command does */
  m->client_removes = false;
}

/* Write what the client takes now; 0 when all is out, 1 if some waits, -1 if
 * it is gone. */
int
ch_mon_flush_client (struct ch_mon *m)
{
  while (m->client_out_off < m->client_out.len)
    {
      ssize_t n = send (m->client_fd, m->client_out.data + m->client_out_off,
                        m->client_out.len - m->client_out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 1;
      if (n <= 0)
        {
          drop_client (m, NULL);
          return -1;
        }
      m->client_out_off += n;
    }
  m->client_out.len = m->client_out_off = 0;
  return 0;
}

void
ch_mon_send_client (struct ch_mon *m, enum ch_frame_type t, const void *data, size_t len)
{
  uint8_t hdr[5];

  if (m->client_fd < 0)
    return;
  if (m->client_out.len - m->client_out_off + sizeof (hdr) + len > CH_MON_CLIENT_MAX)
    {
      drop_client (m, "the client reads too slowly");
      return;
    }
  ch_frame_header (hdr, t, len);
  if (m->client_out_off > 0 && m->client_out_off == m->client_out.len)
    m->client_out.len = m->client_out_off = 0;
  ch_buf_append (&m->client_out, hdr, sizeof (hdr));
  ch_buf_append (&m->client_out, data, len);
  ch_mon_flush_client (m);
}

bool
ch_mon_stdin_waits (const struct ch_mon *m)
{
  return m->in_fd >= 0 && m->stdin_off < m->stdin_pending.len;
}

/* Feed the chute's stdin without blocking; true once nothing is pending. */
bool
ch_mon_flush_stdin (struct ch_mon *m)
{
  while (m->stdin_off < m->stdin_pending.len && m->in_fd >= 0)
    {
      ssize_t n = write (m->in_fd, m->stdin_pending.data + m->stdin_off, m->stdin_pending.len - m->stdin_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return false;
      if (n < 0)
        break; /* the chute closed its stdin: what it did not take is lost */
      m->stdin_off += n;
    }
  m->stdin_pending.len = m->stdin_off = 0;
  return true;
}

static int64_t
ns (const struct timespec *t)
{
  return (int64_t) t->tv_sec * 1000000000 + t->tv_nsec;
}

/* A chute flooding its output makes the monitor work outside the chute's
 * cgroup. That work is budgeted at CH_MON_OUTPUT_CPU_PCT % of one CPU:
 * checked every CH_MON_BUDGET_BYTES of output, and past it the monitor stops
 * reading the chute's output for as long as brings it back within budget.
 * The pipe fills and the chute blocks in write(2): a flood goes at the pace
 * the budget allows, and the chute pays with its own time. */
static void
budget_output (struct ch_mon *m, size_t n)
{
  struct timespec now, cpu;
  int64_t wall_ns, cpu_ns, pause_ns;

  m->budget_bytes += n;
  if (m->budget_bytes < CH_MON_BUDGET_BYTES)
    return;
  m->budget_bytes = 0;
  clock_gettime (CLOCK_MONOTONIC, &now);
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu);
  if (m->budget_wall_ns == 0 || ns (&now) - m->budget_wall_ns > 2000000000LL)
    {
      /* a new window, from the end of any pause */
      m->budget_wall_ns = ns (&now) > m->paused_until_ns ? ns (&now) : m->paused_until_ns;
      m->budget_cpu_ns = ns (&cpu);
      return;
    }
  wall_ns = ns (&now) - m->budget_wall_ns;
  cpu_ns = ns (&cpu) - m->budget_cpu_ns;
  pause_ns = cpu_ns * 100 / CH_MON_OUTPUT_CPU_PCT - wall_ns;
  if (pause_ns > 0)
    m->paused_until_ns = ns (&now) + (pause_ns < 1000000000LL ? pause_ns : 1000000000LL);
}

int
ch_mon_output_pause_ms (const struct ch_mon *m)
{
  struct timespec now;
  int64_t left;

  if (m->paused_until_ns == 0)
    return 0;
  clock_gettime (CLOCK_MONOTONIC, &now);
  left = m->paused_until_ns - ns (&now);
  return left > 0 ? (int) ((left + 999999) / 1000000) : 0;
}

/* One read from the chute's output: into the log and to the client. Returns 0 at EOF. */
int
ch_mon_relay_output (struct ch_mon *m, int *fd, bool is_err)
{
  char buf[CH_LOG_BATCH]; /* a full pipe in one read */
  ssize_t n = read (*fd, buf, sizeof (buf));
  cleanup_error ch_error_t err = NULL;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 1;
  if (n <= 0)
    {
      close (*fd);
      *fd = -1;
      return 0;
    }
  if (ch_log_write (&m->log, is_err ? "stderr" : "stdout", buf, n, &err) < 0)
    ch_error_print (&err, "chuted-monitor");
  ch_mon_send_client (m, is_err ? CH_FRAME_STDERR : CH_FRAME_STDOUT, buf, n);
  budget_output (m, n);
  return 1;
}

void
ch_mon_process_client_frames (struct ch_mon *m)
{
  cleanup_error ch_error_t err = NULL;
  uint8_t type;
  const uint8_t *data;
  size_t len;
  int r;

  while ((r = ch_frame_next (m->rd, &type, &data, &len, &err)) > 0)
    {
      if (type == CH_FRAME_STDIN && m->in_fd >= 0)
        {
          ch_buf_append (&m->stdin_pending, data, len);
          if (!ch_mon_flush_stdin (m))
            {
              /* the rest of the client's frames wait until the chute reads */
              ch_frame_consume (m->rd);
              return;
            }
        }
      else if (type == CH_FRAME_RM)
        m->client_removes = true;
      else if (type == CH_FRAME_SIGNAL)
        {
          char s[16];
          int sig;
          snprintf (s, sizeof (s), "%.*s", (int) (len < 15 ? len : 15), (const char *) data);
          sig = atoi (s);
          /* only to the init this monitor started and has not reaped */
          if (sig > 0 && sig < NSIG && m->pid > 0)
            kill (m->pid, sig);
        }
      else if (type == CH_FRAME_EOF && m->in_fd >= 0 && !m->cfg.tty)
        {
          close (m->in_fd);
          m->in_fd = -1;
        }
      else if (type == CH_FRAME_RESIZE && m->cfg.tty && m->out_fd >= 0)
        {
          unsigned rows, cols;
          char s[32];
          snprintf (s, sizeof (s), "%.*s", (int) (len < 31 ? len : 31), (const char *) data);
          if (sscanf (s, "%u %u", &rows, &cols) == 2)
            {
              struct winsize ws = { .ws_row = rows, .ws_col = cols };
              ioctl (m->out_fd, TIOCSWINSZ, &ws);
            }
        }
      ch_frame_consume (m->rd);
    }
  if (r < 0)
    drop_client (m, err->msg);
}

/* Read from the client (never while stdin waits for the chute: the client's
 * data then stays in the socket, and the client is the one that waits). */
void
ch_mon_handle_client (struct ch_mon *m)
{
  cleanup_error ch_error_t err = NULL;
  int r = ch_frame_read_some (m->rd, m->client_fd, &err);

  if (r < 0 && (err->status == EAGAIN || err->status == EWOULDBLOCK))
    return;
  if (r <= 0)
    {
      drop_client (m, NULL);
      return;
    }
  ch_mon_process_client_frames (m);
}

void
ch_mon_accept_client (struct ch_mon *m)
{
  int c = accept4 (m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

  if (c < 0)
    return;
  if (m->client_fd >= 0)
    {
      /* one attached client at a time */
      close (c);
      return;
    }
  m->client_fd = c;
  m->rd->have = 0;
}

int
ch_mon_listen_attach (struct ch_mon *m, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", m->run_dir, CH_MON_ATTACH);

  return ch_unix_listen (path, 0, 4, &m->listen_fd, err);
}

/* The chute has ended: let the client take what it has not yet, but a
 * client that takes nothing for 5 s is given up on. */
void
ch_mon_finish_client (struct ch_mon *m)
{
  while (m->client_fd >= 0 && m->client_out.len > m->client_out_off)
    {
      struct pollfd pf = { .fd = m->client_fd, .events = POLLOUT };
      int r = poll (&pf, 1, 5000);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          drop_client (m, "the client took nothing for 5 s after the chute ended");
          return;
        }
      ch_mon_flush_client (m);
    }
}

void
ch_mon_wait_for_client (struct ch_mon *m)
{
  struct pollfd pf = { .fd = m->listen_fd, .events = POLLIN };

  /* the CLI connects right after "listening"; don't hang forever if it died */
  if (poll (&pf, 1, 30000) > 0)
    ch_mon_accept_client (m);
}
