/* One start of the chute: `chuted oci create` as our child, which clones the
 * init as our child too (CLONE_PARENT), then release it and learn whether
 * its exec worked. */
#include "common/file.h"
#include "common/util.h"
#include "runtime/init.h"
#include "runtime/monitor_int.h"
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

/* "CODE MESSAGE" from the init, or a creator's "chuted: MESSAGE" lines. */
static int
error_from_text (char *text, int dflt_code, int *code, ch_error_t *err)
{
  char *line, *last = NULL, *save = NULL;
  char *end;
  long c;

  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (*line)
      last = line;
  if (last == NULL)
    {
      *code = dflt_code;
      return ch_error (err, 0, "the container could not be created (no message)");
    }
  c = strtol (last, &end, 10);
  if (end != last && *end == ' ' && c > 0 && c < 256)
    {
      *code = (int) c;
      return ch_error (err, 0, "%s", end + 1);
    }
  if (ch_has_prefix (last, "chuted: "))
    last += 8;
  *code = dflt_code;
  return ch_error (err, 0, "%s", last);
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
       * the creator's own errors. dup2 clears CLOEXEC on the targets. */
      dup2 (in_r >= 0 ? in_r : devnull, 0);
      dup2 (m->cfg.tty ? er_w : out_w, 1);
      dup2 (er_w, 2);
      dup2 (errp_w, 3);
      if (cs_child >= 0)
        dup2 (cs_child, 4);
      syscall (SYS_close_range, cs_child >= 0 ? 5 : 4, ~0U, 0);
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
      argv[n++] = m->cfg.id;
      argv[n] = NULL;
      /* the runtime would copy itself into a sealed memfd and re-exec
       * (CVE-2019-5736) first thing: start it that way, one exec less */
      {
        ch_error_t e = NULL;
        ch_runtime_exec_sealed (m->cfg.chuted, argv, &e);
        dprintf (3, "1 %s\n", e ? e->msg : "exec failed");
      }
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
      cleanup_free char *e1 = drain_nonblock (errp_r);
      cleanup_free char *e2 = drain_nonblock (er_r);
      cleanup_free char *both = xasprintf ("%s\n%s", e2, e1);
      return error_from_text (both, 1, code, err);
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

  ch_mon_now (m->started_at, sizeof (m->started_at));
  clock_gettime (CLOCK_MONOTONIC, &m->started_mono);
  if (ch_container_start (m->cfg.oci_dir, err) < 0)
    {
      kill (m->pid, SIGKILL);
      return ch_error_prefix (err, "start");
    }
  /* EOF once the init has exec'd (the pipe is CLOEXEC there); a line if it failed. */
  errtext = NULL;
  if (ch_read_fd (errp_r, &errtext, NULL, err) < 0)
    return -1;
  if (errtext[0] != '\0')
    return error_from_text (errtext, 1, code, err);
  return 0;
}
