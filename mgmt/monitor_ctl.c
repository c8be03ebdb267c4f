/* Starting a chute's monitor and knowing whether it lives (see
 * docs/ARCHITECTURE.md, "When a process dies at the wrong moment"). */
#include "mgmt/monitor_ctl.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/monitor.h"
#include "runtime/report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int
ch_monitor_write_config (struct ch_ctx *ctx, const struct ch_chute *c, const char *run_dir, bool attach_wait,
                         const struct ch_up *up, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_CONFIG);
  cleanup_free char *chuted = xasprintf ("%s/chuted", ctx->bin_dir);
  cleanup_free char *runtime = xasprintf ("%s/chuted-runtime", ctx->bin_dir);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  cleanup_free char *oci = ch_chute_oci_dir (ctx, c->name);
  cleanup_free char *cg = ch_chute_cgroup_path (ctx, c->name);
  cleanup_free char *seccomp = ch_seccomp_cache_path (ctx);
  cleanup_json json_t *j = NULL;
  char *on_exit[] = { chuted, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "--cgroup-parent",
                      (char *) ctx->cgroup_parent, "rm", "-f", c->name, NULL };
  struct ch_monitor_config mc = {
    .id = c->name,
    .chuted = runtime,
    .run_root = (char *) ctx->run_root,
    .cgroup_parent = (char *) ctx->cgroup_parent,
    .seccomp_cache = seccomp,
    .bundle = bundle,
    .oci_dir = oci,
    .cgroup_path = cg,
    /* unless-stopped differs from always only across boots (start --all) */
    .restart = c->restart == CH_RESTART_ALWAYS || c->restart == CH_RESTART_UNLESS_STOPPED ? CH_MON_RESTART_ALWAYS
               : c->restart == CH_RESTART_ON_FAILURE ? CH_MON_RESTART_ON_FAILURE
                                                     : CH_MON_RESTART_NO,
    .restart_max = c->restart_max,
    .tty = c->tty,
    .interactive = c->interactive,
    .attach_wait = attach_wait,
    .log_max = c->log_max,
    .on_exit = c->autoremove ? on_exit : NULL,
    .restarts = up->restarts,
    .reason = (char *) up->reason,
  };

  j = ch_monitor_config_to_json (&mc);
  return ch_json_save_file (path, j, 0600, err);
}

/* RUN_DIR/monitor.lock carries an open-file-description lock for as long as
 * the chute's monitor lives: taken here before the fork, so there is no
 * moment when a monitor exists unlocked, and inherited by the monitor across
 * exec; the kernel drops it when the monitor dies, however it dies. Whether
 * a monitor is alive is then a lock test, never a guess from a pid. */
static int
lock_monitor (const char *run_dir, int *fd, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_LOCK);
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

  *fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*fd < 0)
    return ch_error (err, errno, "open `%s`", path);
  if (fcntl (*fd, F_OFD_SETLK, &fl) < 0)
    {
      int e = errno;
      close (*fd);
      *fd = -1;
      if (e == EAGAIN || e == EACCES)
        return ch_error (err, EBUSY, "the chute's previous monitor is still running");
      return ch_error (err, e, "lock `%s`", path);
    }
  return 0;
}

/* A monitor started by a chuted from before monitor.lock: judged by its
 * recorded pid's command line, so an upgrade does not take running chutes
 * for orphans. */
static bool
monitor_by_pid (const struct ch_ctx *ctx, const char *name)
{
  cleanup_json json_t *st = ch_chute_status (ctx, name);
  int pid = (int) json_integer_value (json_object_get (st, "monitor_pid"));
  cleanup_free char *path = xasprintf ("/proc/%d/cmdline", pid);
  cleanup_free char *cmd = NULL;
  cleanup_error ch_error_t err = NULL;

  if (pid <= 0 || ch_read_file (path, &cmd, NULL, &err) < 0)
    return false;
  return strstr (cmd, "chuted-monitor") != NULL;
}

bool
ch_chute_monitor_alive (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_LOCK);
  cleanup_close int fd = open (path, O_RDWR | O_CLOEXEC);
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

  if (fd < 0 && errno == ENOENT)
    return monitor_by_pid (ctx, name);
  if (fd < 0 || fcntl (fd, F_OFD_GETLK, &fl) < 0)
    return false;
  return fl.l_type != F_UNLCK;
}

void
ch_chute_wait_monitor_gone (const struct ch_ctx *ctx, const char *name, int timeout_ms)
{
  cleanup_close int pidfd = -1;
  pid_t mp = 0;

  ch_chute_running (ctx, name, &mp);
  if (mp <= 0 || !ch_chute_monitor_alive (ctx, name))
    return;
  pidfd = (int) syscall (SYS_pidfd_open, mp, 0);
  /* alive after the open: the pid was still the monitor's (no other can
   * start while the chute's lock is held) */
  if (pidfd >= 0 && ch_chute_monitor_alive (ctx, name))
    {
      struct pollfd pf = { .fd = pidfd, .events = POLLIN };
      while (poll (&pf, 1, timeout_ms) < 0 && errno == EINTR)
        ;
      return;
    }
  /* no pidfd (a kernel before 5.3): its lock tells */
  for (int i = 0; pidfd < 0 && i < timeout_ms / 5 && ch_chute_monitor_alive (ctx, name); i++)
    usleep (5000);
}

/* The monitor is started first and waits on a "go" pipe while we mount the
 * rootfs and write the bundle: its exec overlaps that work. */
int
ch_monitor_spawn (struct ch_ctx *ctx, const char *run_dir, struct ch_up *up, ch_error_t *err)
{
  cleanup_free char *mon = xasprintf ("%s/chuted-monitor", ctx->bin_dir);
  cleanup_free char *errlog = xasprintf ("%s/monitor.err", run_dir);
  cleanup_close int lock = -1;
  int p[2], g[2], st;
  pid_t pid;

  if (lock_monitor (run_dir, &lock, err) < 0)
    return -1;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  if (pipe2 (g, O_CLOEXEC) < 0)
    {
      close (p[0]), close (p[1]);
      return ch_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]), close (p[1]), close (g[0]), close (g[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* double fork + setsid: the monitor is nobody's child but init's and
       * has no controlling terminal, so it outlives this CLI and its shell */
      ch_error_t e = NULL;
      int null, log;
      setsid ();
      if (fork () != 0)
        _exit (0);
      null = open ("/dev/null", O_RDWR);
      log = open (errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (null < 0 || ch_install_fds ((const int[]){ null, null, log >= 0 ? log : null, p[1], g[0], lock }, 6) < 0)
        {
          /* p[1] is still ours unless a dup2 failed past it: then the CLI
           * sees EOF and says the monitor ended without reporting */
          ch_error (&e, errno, "set up the monitor's descriptors");
          ch_report_error (p[1], 1, &e);
          _exit (127);
        }
      if (syscall (SYS_close_range, 6, ~0U, 0) < 0 || chdir ("/") < 0)
        {
          ch_error (&e, errno, "set up the monitor");
          ch_report_error (3, 1, &e);
          _exit (127);
        }
      execl (mon, mon, run_dir, "3", "4", "5", (char *) NULL);
      ch_error (&e, errno, "exec `%s`", mon);
      ch_report_error (3, 127, &e);
      _exit (127);
    }
  close (p[1]);
  close (g[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  up->ready_fd = p[0];
  up->go_fd = g[1];
  up->monitor_pid = 0;
  return 0;
}
