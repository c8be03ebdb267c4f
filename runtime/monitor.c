/* The monitor's life: start the chute, relay its output into the log and to
 * an attached client, reap it, record how it ended, restart per policy. */
#include "cgroups/cgroup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/monitor_int.h"
#include "runtime/report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

void
ch_mon_now (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

static void
write_status (struct ch_mon *m, const char *state)
{
  cleanup_free char *path = xasprintf ("%s/%s", m->run_dir, CH_MON_STATUS);
  cleanup_json json_t *j = json_object ();
  cleanup_error ch_error_t err = NULL;

  json_object_set_new (j, "state", json_string (state));
  json_object_set_new (j, "monitor_pid", json_integer (getpid ()));
  json_object_set_new (j, "pid", json_integer (strcmp (state, "running") == 0 ? m->pid : 0));
  json_object_set_new (j, "restarts", json_integer (m->restarts));
  if (m->started_at[0])
    json_object_set_new (j, "started_at", json_string (m->started_at));
  if (strcmp (state, "running") != 0 && m->finished_at[0])
    {
      json_object_set_new (j, "finished_at", json_string (m->finished_at));
      json_object_set_new (j, "exit_code", json_integer (m->exit_code));
      json_object_set_new (j, "signal", m->signal ? json_integer (m->signal) : json_null ());
      json_object_set_new (j, "oom_killed", json_boolean (m->oom_killed));
    }
  if (m->error)
    json_object_set_new (j, "error", json_string (m->error));
  if (m->cfg.reason)
    json_object_set_new (j, "reason", json_string (m->cfg.reason));
  if (ch_json_save_file (path, j, 0600, &err) < 0)
    ch_error_print (&err, "chuted-monitor");
}

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
}

/* Write what the client takes now; 0 when all is out, 1 if some waits, -1 if
 * it is gone. */
static int
flush_client (struct ch_mon *m)
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

static void
send_client (struct ch_mon *m, enum ch_frame_type t, const void *data, size_t len)
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
  flush_client (m);
}

static bool
stdin_waits (const struct ch_mon *m)
{
  return m->in_fd >= 0 && m->stdin_off < m->stdin_pending.len;
}

/* Feed the chute's stdin without blocking; true once nothing is pending. */
static bool
flush_stdin (struct ch_mon *m)
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

/* One read from the chute's output: into the log and to the client. Returns 0 at EOF. */
static int
relay_output (struct ch_mon *m, int *fd, bool is_err)
{
  char buf[8192];
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
  send_client (m, is_err ? CH_FRAME_STDERR : CH_FRAME_STDOUT, buf, n);
  return 1;
}

static void
process_client_frames (struct ch_mon *m)
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
          if (!flush_stdin (m))
            {
              /* the rest of the client's frames wait until the chute reads */
              ch_frame_consume (m->rd);
              return;
            }
        }
      else if (type == CH_FRAME_RM)
        m->client_removes = true;
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
static void
handle_client (struct ch_mon *m)
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
  process_client_frames (m);
}

static void
accept_client (struct ch_mon *m)
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

static int
listen_attach (struct ch_mon *m, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", m->run_dir, CH_MON_ATTACH);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof (sun.sun_path))
    return ch_error (err, ENAMETOOLONG, "attach socket path `%s`", path);
  strcpy (sun.sun_path, path);
  unlink (path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ch_error (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &sun, sizeof (sun)) < 0 || chmod (path, 0600) < 0 || listen (fd, 4) < 0)
    {
      int e = errno;
      close (fd);
      return ch_error (err, e, "listen on `%s`", path);
    }
  m->listen_fd = fd;
  return 0;
}

static void
request_stop (struct ch_mon *m)
{
  m->stopping = true;
  if (m->pid > 0)
    kill (m->pid, SIGTERM);
}

/* SIGCHLD/SIGTERM from the signalfd; returns true once the init was reaped. */
static bool
handle_signals (struct ch_mon *m, int *wstatus)
{
  struct signalfd_siginfo si;
  bool reaped = false;

  while (read (m->sigfd, &si, sizeof (si)) == sizeof (si))
    {
      if (si.ssi_signo == SIGCHLD)
        {
          pid_t p;
          int st;
          while ((p = waitpid (-1, &st, WNOHANG)) > 0)
            if (p == m->pid)
              {
                *wstatus = st;
                reaped = true;
              }
        }
      else
        request_stop (m);
    }
  return reaped;
}

/* Relay until the init is reaped and its output is drained. */
static void
run_loop (struct ch_mon *m, int *wstatus)
{
  bool reaped = false;

  for (;;)
    {
      struct pollfd pf[6];
      int n = 0, timeout = -1;
      int i_sig, i_out = -1, i_err = -1, i_listen = -1, i_client = -1, i_in = -1;

      if (reaped)
        {
          /* the pid namespace is gone with its init: outputs close promptly,
           * but a shared-pid chute could keep them open, so bound the drain */
          if (m->out_fd < 0 && m->err_fd < 0)
            return;
          timeout = 200;
        }
      i_sig = n;
      pf[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
      if (m->out_fd >= 0)
        i_out = n, pf[n++] = (struct pollfd){ .fd = m->out_fd, .events = POLLIN };
      if (m->err_fd >= 0)
        i_err = n, pf[n++] = (struct pollfd){ .fd = m->err_fd, .events = POLLIN };
      if (m->listen_fd >= 0)
        i_listen = n, pf[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
      if (m->client_fd >= 0)
        {
          short ev = (stdin_waits (m) ? 0 : POLLIN) | (m->client_out.len > m->client_out_off ? POLLOUT : 0);
          i_client = n, pf[n++] = (struct pollfd){ .fd = m->client_fd, .events = ev };
        }
      if (stdin_waits (m))
        i_in = n, pf[n++] = (struct pollfd){ .fd = m->in_fd, .events = POLLOUT };
      n = poll (pf, n, timeout);
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0)
        return; /* drain timeout after the init is gone */
      if (pf[i_sig].revents & POLLIN)
        reaped |= handle_signals (m, wstatus);
      if (i_out >= 0 && pf[i_out].revents)
        relay_output (m, &m->out_fd, false);
      if (i_err >= 0 && pf[i_err].revents)
        relay_output (m, &m->err_fd, true);
      if (i_listen >= 0 && (pf[i_listen].revents & POLLIN))
        accept_client (m);
      if (i_in >= 0 && pf[i_in].revents && flush_stdin (m) && m->client_fd >= 0)
        process_client_frames (m);
      if (i_client >= 0 && m->client_fd >= 0 && (pf[i_client].revents & POLLOUT))
        flush_client (m);
      if (i_client >= 0 && m->client_fd >= 0 && (pf[i_client].revents & ~POLLOUT))
        handle_client (m);
    }
}

static void
close_chute_fds (struct ch_mon *m)
{
  if (m->in_fd >= 0 && m->in_fd != m->out_fd)
    close (m->in_fd);
  if (m->out_fd >= 0)
    close (m->out_fd);
  if (m->err_fd >= 0)
    close (m->err_fd);
  m->in_fd = m->out_fd = m->err_fd = -1;
}

static void
record_exit (struct ch_mon *m, int wstatus)
{
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st = { 0 };
  cleanup_error ch_error_t err = NULL;

  ch_mon_now (m->finished_at, sizeof (m->finished_at));
  m->signal = WIFSIGNALED (wstatus) ? WTERMSIG (wstatus) : 0;
  m->exit_code = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + m->signal;
  m->oom_killed = false;
  if (m->cfg.cgroup_path && ch_cgroup_open (m->cfg.cgroup_path, &cg, &err) == 0)
    {
      if (ch_cgroup_stats (cg, &st, &err) == 0)
        m->oom_killed = st.oom_kills > 0;
      ch_cgroup_free (cg);
    }
}

/* `chuted oci delete --force ID`: removes the cgroup and the OCI state. */
static void
delete_container (struct ch_mon *m)
{
  pid_t p = fork ();
  int st;

  if (p == 0)
    {
      execl (m->cfg.chuted, m->cfg.chuted, "--run-root", m->cfg.run_root, "oci", "delete", "--force", m->cfg.id,
             (char *) NULL);
      _exit (127);
    }
  while (p > 0 && waitpid (p, &st, 0) < 0 && errno == EINTR)
    ;
}

static bool
should_restart (struct ch_mon *m)
{
  cleanup_free char *flag = xasprintf ("%s/%s", m->run_dir, CH_MON_STOPPING);

  if (m->stopping || access (flag, F_OK) == 0)
    return false;
  if (m->cfg.restart == CH_MON_RESTART_ALWAYS)
    return true;
  if (m->cfg.restart == CH_MON_RESTART_ON_FAILURE)
    return m->exit_code != 0 && (m->cfg.restart_max == 0 || m->restarts < m->cfg.restart_max);
  return false;
}

/* Exponential backoff from 100 ms, doubled per quick failure, capped at 30 s;
 * a run of over 10 s resets it. Returns false if asked to stop meanwhile. */
static bool
backoff (struct ch_mon *m, int *quick)
{
  struct timespec now;
  long ran_ms, delay_ms;
  int dummy;

  clock_gettime (CLOCK_MONOTONIC, &now);
  ran_ms = (now.tv_sec - m->started_mono.tv_sec) * 1000 + (now.tv_nsec - m->started_mono.tv_nsec) / 1000000;
  *quick = ran_ms > 10000 ? 0 : *quick + 1;
  delay_ms = 100L << (*quick < 9 ? *quick : 9);
  if (delay_ms > 30000)
    delay_ms = 30000;
  write_status (m, "restarting");
  while (delay_ms > 0 && !m->stopping)
    {
      struct pollfd pf = { .fd = m->sigfd, .events = POLLIN };
      struct timespec t0, t1;
      clock_gettime (CLOCK_MONOTONIC, &t0);
      if (poll (&pf, 1, (int) delay_ms) > 0)
        handle_signals (m, &dummy);
      clock_gettime (CLOCK_MONOTONIC, &t1);
      delay_ms -= (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    }
  return !m->stopping && should_restart (m);
}

static void
report (int ready_fd, enum ch_report_kind kind, pid_t pid, int code, const char *msg)
{
  struct ch_report r = { .kind = kind, .pid = pid, .code = code, .msg = (char *) msg };
  cleanup_error ch_error_t err = NULL;

  /* the CLI may be gone (killed): nothing to tell then */
  if (ready_fd >= 0 && ch_report_write (ready_fd, &r, &err) < 0)
    ch_error_release (&err);
}

/* The chute has ended: let the client take what it has not yet, but a
 * client that takes nothing for 5 s is given up on. */
static void
finish_client (struct ch_mon *m)
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
      flush_client (m);
    }
}

static void
wait_for_client (struct ch_mon *m)
{
  struct pollfd pf = { .fd = m->listen_fd, .events = POLLIN };

  /* the CLI connects right after "listening"; don't hang forever if it died */
  if (poll (&pf, 1, 30000) > 0)
    accept_client (m);
}

static void
run_on_exit (struct ch_mon *m)
{
  pid_t p;
  int st;

  if (m->cfg.on_exit == NULL)
    return;
  p = fork ();
  if (p == 0)
    {
      execv (m->cfg.on_exit[0], m->cfg.on_exit);
      _exit (127);
    }
  while (p > 0 && waitpid (p, &st, 0) < 0 && errno == EINTR)
    ;
}

static int
setup (struct ch_mon *m, const char *run_dir, ch_error_t *err)
{
  cleanup_free char *cfgpath = xasprintf ("%s/%s", run_dir, CH_MON_CONFIG);
  cleanup_free char *logpath = xasprintf ("%s/%s", run_dir, CH_MON_LOG);
  cleanup_free char *pidpath = xasprintf ("%s/%s", run_dir, CH_MON_PID);
  cleanup_free char *pidtxt = xasprintf ("%d\n", (int) getpid ());
  sigset_t set;

  if (ch_monitor_config_load (cfgpath, &m->cfg, err) < 0)
    return -1;
  if (ch_log_open (&m->log, logpath, m->cfg.log_max, err) < 0)
    return -1;
  if (ch_write_file_atomic (pidpath, pidtxt, strlen (pidtxt), 0600, err) < 0)
    return -1;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigprocmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);
  m->sigfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (m->sigfd < 0)
    return ch_error (err, errno, "signalfd");
  return listen_attach (m, err);
}

int
ch_monitor_run (const char *run_dir, int ready_fd, ch_error_t *err)
{
  struct ch_mon m = { .run_dir = (char *) run_dir, .sigfd = -1, .listen_fd = -1, .client_fd = -1,
                      .out_fd = -1, .err_fd = -1, .in_fd = -1, .log = { .fd = -1 } };
  cleanup_free char *attach = xasprintf ("%s/%s", run_dir, CH_MON_ATTACH);
  int quick = 0, ret = 0;
  bool first = true, handed_over = false;

  m.rd = xzalloc (sizeof (*m.rd));
  if (setup (&m, run_dir, err) < 0)
    {
      report (ready_fd, CH_REPORT_ERROR, 0, 1, (*err)->msg);
      ret = -1;
      goto out;
    }
  m.restarts = m.cfg.restarts;
  write_status (&m, "starting");
  if (m.cfg.attach_wait)
    {
      report (ready_fd, CH_REPORT_LISTENING, 0, 0, NULL);
      wait_for_client (&m);
    }

  for (;;)
    {
      cleanup_error ch_error_t serr = NULL;
      int code, wstatus = 0;

      m.pid = 0;
      free (m.error);
      m.error = NULL;
      if (ch_mon_start_once (&m, &code, &serr) < 0)
        {
          m.error = xstrdup (serr->msg);
          if (m.pid > 0)
            while (waitpid (m.pid, &wstatus, 0) < 0 && errno == EINTR)
              ;
          close_chute_fds (&m);
          ch_mon_now (m.finished_at, sizeof (m.finished_at));
          m.exit_code = code;
          m.signal = 0;
          m.oom_killed = false;
          delete_container (&m);
          if (first)
            {
              report (ready_fd, CH_REPORT_ERROR, 0, code, serr->msg);
              break; /* a chute that never started is not restarted */
            }
        }
      else
        {
          write_status (&m, "running");
          if (first)
            report (ready_fd, CH_REPORT_READY, m.pid, 0, NULL);
          if (ready_fd >= 0)
            close (ready_fd);
          ready_fd = -1;
          run_loop (&m, &wstatus);
          close_chute_fds (&m);
          record_exit (&m, wstatus);
          /* the on-exit command (rm -f) deletes it anyway: one exec less */
          if (m.cfg.on_exit == NULL || should_restart (&m))
            delete_container (&m);
        }
      first = false;
      if (!should_restart (&m) || !backoff (&m, &quick))
        break;
      m.restarts++;
    }
  write_status (&m, "exited");
  {
    char code[16];
    struct pollfd pf = { .fd = m.client_fd, .events = POLLIN };
    /* a chute that ends at once may beat the client's frames: read them */
    if (m.client_fd >= 0 && poll (&pf, 1, 0) == 1)
      handle_client (&m);
    snprintf (code, sizeof (code), "%d", m.exit_code);
    send_client (&m, CH_FRAME_EXIT, code, strlen (code));
    finish_client (&m);
    /* the client got the exit and said it removes the chute */
    handed_over = m.client_removes && m.client_fd >= 0;
  }
out:
  if (ready_fd >= 0)
    close (ready_fd);
  if (m.client_fd >= 0)
    close (m.client_fd);
  if (m.listen_fd >= 0)
    {
      close (m.listen_fd);
      unlink (attach);
    }
  if (!handed_over)
    run_on_exit (&m);
  ch_log_close (&m.log);
  if (m.sigfd >= 0)
    close (m.sigfd);
  free (m.error);
  free (m.rd);
  free (m.client_out.data);
  free (m.stdin_pending.data);
  ch_monitor_config_clear (&m.cfg);
  return ret;
}
