/* One start of the chute: `chuted oci create` as our child, which clones the
 * init as our child too (CLONE_PARENT), then release it and learn whether
 * its exec worked. */
#include "common/file.h"
#include "common/util.h"
#include "runtime/init.h"
#include "runtime/monitor_int.h"
#include "runtime/report.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read what is available without blocking (the writer has exited). */
static char *
drain_nonblock (int fd)
{
  struct ch_buf b = { 0 };
  char chunk[4096];
  ssize_t n;

  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  while ((n = read (fd, chunk, sizeof (chunk))) > 0)
    ch_buf_append (&b, chunk, n);
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return ch_buf_steal (&b);
}

/* The first report on the error pipe: the init's, or the creator's own when
 * it failed before there was an init. A creator killed before it could
 * report leaves only its stderr: its last line is then all we can say. */
static int
start_error (const char *reports, char *stderr_text, int *code, ch_error_t *err)
{
  struct ch_report r;
  char *line, *last = NULL, *save = NULL;
  int n = ch_report_first (reports, &r, err);

  *code = 1;
  if (n < 0)
    return -1;
  if (n > 0 && r.kind == CH_REPORT_ERROR)
    {
      *code = r.code;
      ch_error (err, 0, "%s", r.msg);
      ch_report_clear (&r);
      return -1;
    }
  ch_report_clear (&r);
  for (line = strtok_r (stderr_text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (*line)
      last = line;
  return ch_error (err, 0, "the runtime failed without a report%s%s", last ? ": " : "", last ? last : "");
}

int
ch_mon_start_once (struct ch_mon *m, int *code, ch_error_t *err)
{
  cleanup_close int errp_r = -1, errp_w = -1, out_r = -1, out_w = -1, er_r = -1, er_w = -1;
  cleanup_close int in_r = -1, in_w = -1, cs_parent = -1, cs_child = -1, devnull = -1;
  cleanup_free char *pidfile = xasprintf ("%s/%s", m->run_dir, CH_MON_INIT_PID);
  cleanup_free char *pidtxt = NULL;
  cleanup_free char *errtext = NULL;
  int p[2], status;
  pid_t creator;

  *code = 1;
  unlink (pidfile);
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  errp_r = p[0], errp_w = p[1];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  out_r = p[0], out_w = p[1];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  er_r = p[0], er_w = p[1];
  if (m->cfg.interactive && !m->cfg.tty)
    {
      if (pipe2 (p, O_CLOEXEC) < 0)
        return ch_error (err, errno, "pipe");
      in_r = p[0], in_w = p[1];
    }
  if (m->cfg.tty)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        return ch_error (err, errno, "socketpair");
      cs_parent = p[0], cs_child = p[1];
    }
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0)
    return ch_error (err, errno, "open /dev/null");

  creator = fork ();
  if (creator < 0)
    return ch_error (err, errno, "fork");
  if (creator == 0)
    {
      char errfd_s[] = "3", csfd_s[] = "4";
      char *argv[32];
      int n = 0;

      /* In tty mode the init's stdio is the pty: our stdout/stderr carry only
       * the creator's own errors. A failure here is told on the error pipe,
       * in the init's format, so the monitor reports it like any other. */
      int fds[] = { in_r >= 0 ? in_r : devnull, m->cfg.tty ? er_w : out_w, er_w, errp_w, cs_child };
      int nfds = cs_child >= 0 ? 5 : 4;
      ch_error_t e = NULL;
      if (ch_install_fds (fds, nfds) < 0)
        {
          ch_error (&e, errno, "set up the runtime's descriptors");
          ch_report_error (errp_w, 1, &e);
          _exit (1);
        }
      if (syscall (SYS_close_range, nfds, ~0U, 0) < 0)
        {
          ch_error (&e, errno, "close the monitor's descriptors");
          ch_report_error (3, 1, &e);
          _exit (1);
        }
      argv[n++] = m->cfg.chuted;
      argv[n++] = "--run-root";
      argv[n++] = m->cfg.run_root;
      argv[n++] = "oci";
      argv[n++] = "create";
      argv[n++] = "--bundle";
      argv[n++] = m->cfg.bundle;
      argv[n++] = "--pid-file";
      argv[n++] = pidfile;
      argv[n++] = "--clone-parent";
      argv[n++] = "--err-fd";
      argv[n++] = errfd_s;
      if (cs_child >= 0)
        {
          argv[n++] = "--console-socket-fd";
          argv[n++] = csfd_s;
        }
      if (m->cfg.cgroup_parent)
        {
          argv[n++] = "--cgroup-parent";
          argv[n++] = m->cfg.cgroup_parent;
        }
      if (m->cfg.seccomp_cache)
        {
          argv[n++] = "--seccomp-cache";
          argv[n++] = m->cfg.seccomp_cache;
        }
      argv[n++] = m->cfg.id;
      argv[n] = NULL;
      /* the runtime would re-exec itself sealed (CVE-2019-5736) first
       * thing: start it that way, one exec less */
      ch_runtime_exec_sealed (m->cfg.chuted, argv, m->cfg.run_root, &e);
      if (e == NULL)
        ch_error (&e, errno, "exec `%s`", m->cfg.chuted);
      ch_report_error (3, 1, &e);
      _exit (1);
    }
  close (steal_fd (&errp_w));
  close (steal_fd (&out_w));
  close (steal_fd (&er_w));
  close (steal_fd (&in_r));
  close (steal_fd (&cs_child));

  while (waitpid (creator, &status, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      /* The creator wrote its reason on stderr (or the init on the error pipe). */
      cleanup_free char *reports = drain_nonblock (errp_r);
      cleanup_free char *text = drain_nonblock (er_r);
      return start_error (reports, text, code, err);
    }
  if (ch_read_file (pidfile, &pidtxt, NULL, err) < 0)
    return ch_error_prefix (err, "the container's init pid");
  m->pid = (pid_t) atoi (pidtxt);
  if (m->pid <= 0)
    return ch_error (err, 0, "the container's init pid file `%s` is malformed", pidfile);

  if (cs_parent >= 0)
    {
      int master = -1;
      /* sent during setup, before the creator exited: never blocks */
      fcntl (cs_parent, F_SETFL, O_NONBLOCK);
      if (ch_recv_fd (cs_parent, &master, err) < 0)
        return ch_error_prefix (err, "the container's terminal");
      m->out_fd = master;
      m->in_fd = dup (master);
      fcntl (m->in_fd, F_SETFD, FD_CLOEXEC);
      m->err_fd = -1;
    }
  else
    {
      m->out_fd = steal_fd (&out_r);
      m->err_fd = steal_fd (&er_r);
      m->in_fd = steal_fd (&in_w);
    }
  /* the monitor never waits on the chute: it polls, and a chute that does
   * not read its stdin leaves the data pending, not the monitor stuck */
  for (int *fd = (int[]){ m->out_fd, m->err_fd, m->in_fd, -2 }; *fd != -2; fd++)
    if (*fd >= 0)
      fcntl (*fd, F_SETFL, fcntl (*fd, F_GETFL) | O_NONBLOCK);

  ch_mon_now (m->started_at, sizeof (m->started_at));
  clock_gettime (CLOCK_MONOTONIC, &m->started_mono);
  if (ch_container_start (m->cfg.oci_dir, err) < 0)
    {
      kill (m->pid, SIGKILL);
      return ch_error_prefix (err, "start");
    }
  /* EOF once the init has exec'd (the pipe is CLOEXEC there); a line if it failed. */
  errtext = NULL;
  if (ch_read_fd_max (errp_r, 64 * 1024, &errtext, NULL, err) < 0)
    return -1;
  if (errtext[0] != '\0')
    return start_error (errtext, (char[]){ "" }, code, err);
  return 0;
}
