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

  clock_gettime (CLOCK_REALTIME, &ts);
  ch_rfc3339_fmt (buf, len, ts.tv_sec, ts.tv_nsec);
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
                m->pid = 0; /* reaped: its pid may be reused, never signal it again */
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

      int pause = ch_mon_output_pause_ms (m);

      if (reaped)
        {
          /* the pid namespace is gone with its init: outputs close promptly,
           * but a shared-pid chute could keep them open, so bound the drain */
          if (m->out_fd < 0 && m->err_fd < 0)
            return;
          timeout = 200;
        }
      if (pause > 0 && (timeout < 0 || pause < timeout))
        timeout = pause;
      i_sig = n;
      pf[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
      if (m->out_fd >= 0 && pause == 0)
        i_out = n, pf[n++] = (struct pollfd){ .fd = m->out_fd, .events = POLLIN };
      if (m->err_fd >= 0 && pause == 0)
        i_err = n, pf[n++] = (struct pollfd){ .fd = m->err_fd, .events = POLLIN };
      if (m->listen_fd >= 0)
        i_listen = n, pf[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
      if (m->client_fd >= 0)
        {
          short ev = (ch_mon_stdin_waits (m) ? 0 : POLLIN) | (m->client_out.len > m->client_out_off ? POLLOUT : 0);
          i_client = n, pf[n++] = (struct pollfd){ .fd = m->client_fd, .events = ev };
        }
      if (ch_mon_stdin_waits (m))
        i_in = n, pf[n++] = (struct pollfd){ .fd = m->in_fd, .events = POLLOUT };
      n = poll (pf, n, timeout);
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0 && pause > 0)
        continue; /* the output budget allows reading again */
      if (n == 0)
        return; /* drain timeout after the init is gone */
      if (pf[i_sig].revents & POLLIN)
        reaped |= handle_signals (m, wstatus);
      if (i_out >= 0 && pf[i_out].revents)
        ch_mon_relay_output (m, &m->out_fd, false);
      if (i_err >= 0 && pf[i_err].revents)
        ch_mon_relay_output (m, &m->err_fd, true);
      if (i_listen >= 0 && (pf[i_listen].revents & POLLIN))
        ch_mon_accept_client (m);
      if (i_in >= 0 && pf[i_in].revents && ch_mon_flush_stdin (m) && m->client_fd >= 0)
        ch_mon_process_client_frames (m);
      if (i_client >= 0 && m->client_fd >= 0 && (pf[i_client].revents & POLLOUT))
        ch_mon_flush_client (m);
      if (i_client >= 0 && m->client_fd >= 0 && (pf[i_client].revents & ~POLLOUT))
        ch_mon_handle_client (m);
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
  return ch_mon_listen_attach (m, err);
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
      ch_mon_wait_for_client (&m);
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
      ch_mon_handle_client (&m);
    snprintf (code, sizeof (code), "%d", m.exit_code);
    ch_mon_send_client (&m, CH_FRAME_EXIT, code, strlen (code));
    ch_mon_finish_client (&m);
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
