/* chuted-runtime spec, create, start, run: making a container and starting
 * its init. */
#include "runtime/oci_cli.h"
#include "runtime/report.h"
#include "runtime/runtime.h"

#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int
ch_oci_cmd_spec (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "rootless", no_argument, 0, 'r' }, { "bundle", required_argument, 0, 'b' }, { 0 } };
  const char *bundle = ".";
  bool rootless = false;
  cleanup_free char *path = NULL;
  cleanup_json json_t *spec = NULL;
  struct stat st;
  int c;

  while ((c = getopt_long (argc, argv, "+b:", opts, NULL)) != -1)
    if (c == 'r')
      rootless = true;
    else if (c == 'b')
      bundle = optarg;
    else
      return ch_error (err, 0, "usage: chuted oci spec [--rootless] [--bundle DIR]");
  path = xasprintf ("%s/config.json", bundle);
  if (stat (path, &st) == 0)
    return ch_error (err, EEXIST, "`%s` exists: remove it first", path);
  spec = ch_spec_default (rootless);
  if (ch_json_save_file (path, spec, 0644, err) < 0)
    return -1;
  return 0;
}

struct create_args
{
  const char *bundle, *pid_file, *console_socket, *cgroup_parent, *seccomp_cache;
  int err_fd, console_fd;
  bool clone_parent, detach;
};

static int
parse_create (struct ch_oci_ctx *ctx, int argc, char **argv, struct create_args *a, bool run, ch_error_t *err)
{
  enum
  {
    O_BUNDLE = 'b',
    O_PIDFILE = 0x100,
    O_CONSOLE,
    O_CLONE_PARENT,
    O_ERR_FD,
    O_CONSOLE_FD,
    O_CGROUP_PARENT,
    O_DETACH,
    O_NO_PIVOT,
    O_NO_NEW_KEYRING,
    O_SECCOMP_CACHE,
    O_PRESERVE_FDS,
  };
  static const struct option opts[] = {
    { "bundle", required_argument, 0, O_BUNDLE },          { "pid-file", required_argument, 0, O_PIDFILE },
    { "console-socket", required_argument, 0, O_CONSOLE }, { "clone-parent", no_argument, 0, O_CLONE_PARENT },
    { "err-fd", required_argument, 0, O_ERR_FD },          { "console-socket-fd", required_argument, 0, O_CONSOLE_FD },
    { "cgroup-parent", required_argument, 0, O_CGROUP_PARENT }, { "detach", no_argument, 0, O_DETACH },
    { "no-pivot", no_argument, 0, O_NO_PIVOT },            { "no-new-keyring", no_argument, 0, O_NO_NEW_KEYRING },
    { "preserve-fds", required_argument, 0, O_PRESERVE_FDS }, { "seccomp-cache", required_argument, 0, O_SECCOMP_CACHE },
    { 0 },
  };
  int c;

  *a = (struct create_args) { .bundle = ".", .err_fd = -1, .console_fd = -1, .cgroup_parent = ctx->cgroup_parent };
  if (ctx->systemd_cgroup)
    return ch_error (err, ENOTSUP, "--systemd-cgroup: chuted-runtime manages cgroups through cgroupfs only "
                                   "(use podman's --cgroup-manager cgroupfs)");
  while ((c = getopt_long (argc, argv, run ? "+b:d" : "+b:", opts, NULL)) != -1)
    switch (c)
      {
      case O_BUNDLE:
        a->bundle = optarg;
        break;
      case O_PIDFILE:
        a->pid_file = optarg;
        break;
      case O_CONSOLE:
        a->console_socket = optarg;
        break;
      case O_CLONE_PARENT:
        a->clone_parent = true;
        break;
      case O_ERR_FD:
        if (ch_oci_parse_fd (optarg, &a->err_fd, err) < 0)
          return ch_error_prefix (err, "--err-fd");
        break;
      case O_CONSOLE_FD:
        if (ch_oci_parse_fd (optarg, &a->console_fd, err) < 0)
          return ch_error_prefix (err, "--console-socket-fd");
        break;
      case O_CGROUP_PARENT:
        a->cgroup_parent = optarg;
        break;
      case O_SECCOMP_CACHE:
        if (optarg[0] != '/')
          return ch_error (err, 0, "--seccomp-cache `%s`: not an absolute path", optarg);
        a->seccomp_cache = optarg;
        break;
      case 'd':
      case O_DETACH:
        a->detach = true;
        break;
      case O_NO_PIVOT:
        /* runc's escape for a rootfs where pivot_root fails (initramfs):
         * chuted keeps pivot_root, the stronger of the two, and says so if it fails */
      case O_NO_NEW_KEYRING:
        /* chuted never makes a session keyring: this is what it always does */
        break;
      case O_PRESERVE_FDS:
        if (strcmp (optarg, "0") != 0)
          return ch_error (err, ENOTSUP, "--preserve-fds %s: passing extra fds to the init is not supported", optarg);
        break;
      default:
        return ch_error (err, 0, "usage: chuted oci %s [--bundle DIR] [--pid-file F] [--console-socket PATH] ID",
                         run ? "run" : "create");
      }
  return 0;
}

/* Shared by create and run: returns the init pid. ERR_FD: where the init
 * reports errors; EXIT_CODE gets the init's code for a setup error. */
static int
do_create (struct ch_oci_ctx *ctx, const char *id, struct create_args *a, int err_fd, pid_t *pid, int *exit_code,
           ch_error_t *err)
{
  cleanup_free char *sd = ch_oci_state_dir (ctx, id);
  cleanup_free char *bundle = ch_oci_abs_path (a->bundle);
  cleanup_close int console = -1;
  struct ch_create_opts o = {
    .id = id, .bundle = bundle, .state_dir = sd, .cgroup_parent = a->cgroup_parent,
    .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = a->console_fd,
    .err_fd = err_fd, .clone_parent = a->clone_parent, .init_exit_code = exit_code, .seccomp_cache = a->seccomp_cache,
    .warn = ch_oci_warn, .warn_data = ctx,
  };

  if (a->console_socket)
    {
      if (ch_oci_connect_console (a->console_socket, &console, err) < 0)
        return -1;
      o.console_socket_fd = console;
    }
  if (ch_container_create (&o, pid, err) < 0)
    return -1;
  if (a->pid_file && ch_oci_write_pid_file (a->pid_file, *pid, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      ch_container_delete (sd, true, &e);
      return -1;
    }
  return 0;
}

int
ch_oci_cmd_create (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  struct create_args a;
  const char *id;
  pid_t pid;
  int code = 1;

  if (parse_create (ctx, argc, argv, &a, false, err) < 0 || ch_oci_one_id (argc, argv, "create", &id, err) < 0)
    return -1;
  if (do_create (ctx, id, &a, a.err_fd, &pid, &code, err) < 0)
    {
      /* the monitor reads reports on err_fd only: where the init wrote none
       * (it never existed), ours is the one */
      ch_report_error (a.err_fd, code, err);
      ctx->fail_code = code;
      return -1;
    }
  return 0;
}

int
ch_oci_cmd_start (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  const char *id;

  optind = 1;
  if (ch_oci_one_id (argc, argv, "start", &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  return ch_container_start (sd, err) < 0 ? -1 : 0;
}

/* Wait for the init, forwarding SIGINT/SIGTERM/SIGHUP to it (a signalfd
 * and a pidfd: no handler, no global). Returns its wait status. */
static int
wait_forwarding (pid_t pid, int *ws, ch_error_t *err)
{
  cleanup_close int sfd = -1, pfd = -1;
  sigset_t set, old;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  sigprocmask (SIG_BLOCK, &set, &old);
  sfd = signalfd (-1, &set, SFD_CLOEXEC);
  pfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (sfd < 0 || pfd < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return ch_error (err, errno, "wait for the container");
    }
  for (;;)
    {
      struct pollfd p[2] = { { pfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof (si)) == sizeof (si))
            kill (pid, (int) si.ssi_signo);
        }
      if (p[0].revents & POLLIN)
        break;
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  while (waitpid (pid, ws, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  return 0;
}

int
ch_oci_cmd_run (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  struct create_args a;
  const char *id;
  int p[2], code = 1, ws, ret;
  pid_t pid;
  char buf[4096];
  ssize_t n, len = 0;
  cleanup_error ch_error_t e2 = NULL;
  bool started;

  if (parse_create (ctx, argc, argv, &a, true, err) < 0 || ch_oci_one_id (argc, argv, "run", &id, err) < 0)
    return -1;
  sd = ch_oci_state_dir (ctx, id);
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  ret = do_create (ctx, id, &a, a.err_fd >= 0 ? a.err_fd : p[1], &pid, &code, err);
  close (p[1]);
  if (ret < 0)
    {
      close (p[0]);
      ctx->fail_code = code;
      return -1;
    }
  started = ch_container_start (sd, err) == 0;
  /* EOF: the exec succeeded (the pipe is CLOEXEC in the init) */
  while ((n = read (p[0], buf + len, sizeof (buf) - 1 - (size_t) len)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      len += n;
  close (p[0]);
  if (!started && len == 0)
    {
      ch_container_delete (sd, true, &e2);
      return -1;
    }
  if (len > 0)
    {
      struct ch_report r;
      ch_error_release (err);
      buf[len] = '\0';
      if (ch_report_first (buf, &r, err) > 0)
        {
          code = r.code ? r.code : 1;
          ch_error (err, 0, "%s", r.msg ? r.msg : "unknown error");
        }
      ch_report_clear (&r);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      ch_container_delete (sd, true, &e2);
      ctx->fail_code = code;
      return -1;
    }
  if (a.detach)
    return 0;
  if (wait_forwarding (pid, &ws, err) < 0)
    return -1;
  ch_container_delete (sd, true, &e2);
  return WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
}

