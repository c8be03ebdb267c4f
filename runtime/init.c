/* The container init, between clone and execve. Order matters:
 * namespaces → mounts → create hooks → pivot → hostname/sysctl → masked/readonly paths →
 * tty → cwd → fds CLOEXEC → [seccomp without no_new_privs] → identity/caps →
 * "ready" → exec.fifo → startContainer hooks → [seccomp with no_new_privs] → execve. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
join_ns (const char *path, int type, ch_error_t *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "open namespace `%s`", path);
  if (setns (fd, type) < 0)
    {
      close (fd);
      return ch_error (err, errno, "join namespace `%s`", path);
    }
  close (fd);
  return 0;
}

static int
setup_stdio (const struct ch_init_args *a, ch_error_t *err)
{
  int i, fds[3];

  for (i = 0; i < 3; i++)
    {
      fds[i] = a->stdio[i];
      if (fds[i] < 0)
        {
          fds[i] = open ("/dev/null", O_RDWR | O_CLOEXEC);
          if (fds[i] < 0)
            return ch_error (err, errno, "open /dev/null");
        }
    }
  for (i = 0; i < 3; i++)
    {
      /* dup2 onto itself keeps CLOEXEC: clear it explicitly */
      if (fds[i] == i ? fcntl (i, F_SETFD, 0) < 0 : dup2 (fds[i], i) < 0)
        return ch_error (err, errno, "set up fd %d", i);
    }
  return 0;
}

/* Mounts done, before pivot_root: the parent runs prestart and
 * createRuntime, sends the state, we run createContainer (in our
 * namespaces, paths still resolving in the runtime's root). */
static int
create_hooks (const struct ch_init_args *a, char **state, ch_error_t *err)
{
  cleanup_free char *buf = NULL;
  ssize_t n;

  if (send (a->sync_fd, "H", 1, MSG_NOSIGNAL) != 1)
    return ch_error (err, errno, "ask the parent for the create hooks");
  do
    n = recv (a->sync_fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 2)
    return ch_error (err, n < 0 ? errno : EPIPE, "wait for the create hooks");
  buf = xmalloc ((size_t) n + 1);
  n = recv (a->sync_fd, buf, (size_t) n, 0);
  if (n < 2 || buf[0] != 'h')
    return ch_error (err, n < 0 ? errno : EPIPE, "wait for the create hooks");
  buf[n] = '\0';
  *state = xstrdup (buf + 1);
  return ch_hooks_run (&a->spec->hooks, CH_HOOK_CREATE_CONTAINER, *state, a->spec->bundle, err);
}

/* startContainer runs after `start`, in the container, before the
 * process: a failure goes back to `start` through exec.fifo. */
static int
start_hooks (const struct ch_init_args *a, const char *state, int fifo, ch_error_t *err)
{
  cleanup_json json_t *j = json_loads (state, 0, NULL);
  cleanup_free char *created = NULL;

  if (j)
    json_object_set_new (j, "status", json_string ("created"));
  created = j ? json_dumps (j, JSON_COMPACT) : xstrdup (state);
  if (ch_hooks_run (&a->spec->hooks, CH_HOOK_START_CONTAINER, created, NULL, err) == 0)
    return 0;
  {
    cleanup_free char *msg = xasprintf ("E%s", (*err)->msg);
    cleanup_error ch_error_t e = NULL;
    ch_write_all (fifo, msg, strlen (msg), &e);
  }
  return -1;
}

static int
init_setup (const struct ch_init_args *a, struct ch_process *p, char **path, int *code, char **hook_state,
            int *proc_fd, ch_error_t *err)
{
  const struct ch_spec *s = a->spec;
  struct ch_cgroup_gate gate = { .sync_fd = -1 };
  bool fresh_mnt = s->ns[CH_NS_MOUNT].enabled && !s->ns[CH_NS_MOUNT].path;
  char go;
  int ret;

  ch_signals_reset ();
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return ch_error (err, errno, "prctl(PR_SET_PDEATHSIG)");
  if (setup_stdio (a, err) < 0)
    return -1;
  /* the parent writes our id maps first */
  do
    ret = (int) read (a->sync_fd, &go, 1);
  while (ret < 0 && errno == EINTR);
  if (ret != 1 || go != 'G')
    return ch_error (err, ret < 0 ? errno : EPIPE, "wait for the parent");
  /* before anything is allocated or forked, so it is all accounted to the chute */
  if (ch_cgroup_join_self (a->cg_join, err) < 0)
    return -1;
  ch_cgroup_join_close (a->cg_join);
  /* exec.fifo is reopened through /proc/self/fd: without a rootfs of our
   * own making there may be no /proc of our pid namespace later */
  if (!fresh_mnt && (*proc_fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return ch_error (err, errno, "open /proc");
  if (s->ns[CH_NS_USER].path && join_ns (s->ns[CH_NS_USER].path, CLONE_NEWUSER, err) < 0)
    return -1;
  if (s->ns[CH_NS_MOUNT].path && join_ns (s->ns[CH_NS_MOUNT].path, CLONE_NEWNS, err) < 0)
    return -1;
  if (a->userns_new && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    return ch_error (err, errno, "become root in the user namespace (is 0 mapped?)");
  gate.sync_fd = a->sync_fd;
  gate.unshare_ns = s->ns[CH_NS_CGROUP].enabled && !s->ns[CH_NS_CGROUP].path;
  if (ch_rootfs_prepare (s, s->ns[CH_NS_USER].enabled, &gate, err) < 0)
    return -1;
  if (ch_cgroup_gate_pass (&gate, err) < 0)
    return -1;
  if (ch_hooks_sync_needed (s) && create_hooks (a, hook_state, err) < 0)
    return -1;
  if (ch_rootfs_pivot (s, err) < 0)
    return -1;
  if (s->hostname && sethostname (s->hostname, strlen (s->hostname)) < 0)
    return ch_error (err, errno, "sethostname");
  if (s->domainname && setdomainname (s->domainname, strlen (s->domainname)) < 0)
    return ch_error (err, errno, "setdomainname");
  if (ch_sysctl_apply (s, err) < 0)
    return -1;
  if (ch_rootfs_finish (s, s->ns[CH_NS_USER].enabled, err) < 0)
    return -1;
  if (s->terminal && ch_tty_setup (a->console_fd, err) < 0)
    return -1;
  if (a->console_fd >= 0)
    close (a->console_fd);
  if (!s->terminal && setsid () < 0)
    return ch_error (err, errno, "setsid");
  /* no process: the init only holds the container until it is deleted
   * (start refuses) */
  return s->args ? ch_process_prepare (s, p, path, code, err) : 0;
}

int
ch_cgroup_gate_pass (struct ch_cgroup_gate *g, ch_error_t *err)
{
  char c;
  int ret;

  if (g->passed)
    return 0;
  do
    ret = (int) read (g->sync_fd, &c, 1);
  while (ret < 0 && errno == EINTR);
  if (ret != 1 || c != 'C')
    return ch_error (err, ret < 0 ? errno : EPIPE, "wait for the parent to join the cgroup");
  g->passed = true;
  {
    cleanup_error ch_error_t e = NULL;
    cleanup_free char *self = NULL;
    if (ch_read_file ("/proc/self/cgroup", &self, NULL, &e) == 0 && ch_has_prefix (self, "0::/"))
      g->v2_path = xstrndup (self + 3, strcspn (self + 3, "\n"));
  }
  if (g->unshare_ns && unshare (CLONE_NEWCGROUP) < 0)
    return ch_error (err, errno, "unshare the cgroup namespace");
  return 0;
}

__attribute__ ((noreturn)) void
ch_init_main (const struct ch_init_args *a)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *fifo = NULL;
  cleanup_free char *hook_state = NULL;
  cleanup_close int proc_fd = -1;
  struct ch_process p = { a->spec->args, ch_strv_dup (a->spec->env), a->spec->cwd, NULL };
  int code = 1, fd;
  char zero = '0';

  if (init_setup (a, &p, &path, &code, &hook_state, &proc_fd, &err) < 0)
    goto fail;
  /* the creating process exits after `create`: its death must not kill us now */
  if (prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
    {
      ch_error (&err, errno, "prctl(PR_SET_PDEATHSIG)");
      goto fail;
    }
  if (send (a->sync_fd, "R", 1, MSG_NOSIGNAL) != 1)
    {
      ch_error (&err, errno, "notify the parent");
      goto fail;
    }
  close (a->sync_fd);

  /* runc's create/start split: block until `start` opens the fifo */
  fifo = xasprintf ("%sself/fd/%d", proc_fd >= 0 ? "" : "/proc/", a->fifo_fd);
  do
    fd = openat (proc_fd >= 0 ? proc_fd : AT_FDCWD, fifo, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      ch_error (&err, errno, "open exec.fifo");
      goto fail_late;
    }
  if (proc_fd >= 0)
    {
      close (proc_fd); /* the runtime's /proc: no hook or process may inherit it */
      proc_fd = -1;
    }
  if (p.argv == NULL)
    {
      /* start refuses first; whoever opened the fifo by hand gets this */
      ch_error (&err, 0, "the config has no process: process is REQUIRED when start is called");
      goto fail_late;
    }
  if (a->spec->hooks.n[CH_HOOK_START_CONTAINER] && start_hooks (a, hook_state, fd, &err) < 0)
    goto fail_late;
  if (write (fd, &zero, 1) != 1)
    {
      ch_error (&err, errno, "write exec.fifo");
      goto fail_late;
    }
  close (fd);
  close (a->fifo_fd);
  if (a->spec->seccomp && a->spec->no_new_privileges && ch_spec_seccomp_load (a->spec, &err) < 0)
    goto fail_late;
  execve (path, p.argv, p.env);
  code = ch_exec_error_code (errno);
  ch_error (&err, errno, "exec \"%s\"", p.argv[0]);
  goto fail_late;

fail:
  /* err_fd first: whoever reads it must have the line once create returns */
  ch_report_error (a->err_fd, code, &err);
  {
    cleanup_free char *msg = xasprintf ("E%d %s", code, err && err->msg ? err->msg : "unknown error");
    if (send (a->sync_fd, msg, strlen (msg), MSG_NOSIGNAL) < 0)
      { /* the parent is gone: the err_fd line is all that is left */ }
  }
  _exit (code);
fail_late:
  ch_report_error (a->err_fd, code, &err);
  _exit (code);
}
