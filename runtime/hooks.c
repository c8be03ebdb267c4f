/* Running the OCI hooks: each one a child with the container's state as
 * JSON on stdin, a timeout, its own args and env; the first failure stops
 * the list. Where a hook runs (runtime or container namespaces) is the
 * caller's choice: create/start/delete, or the init for createContainer and
 * startContainer. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *
ch_hook_state (const char *id, const char *status, pid_t pid, const char *bundle, json_t *annotations)
{
  cleanup_json json_t *j = json_pack ("{s:s, s:s, s:s, s:i, s:s, s:O}", "ociVersion", "1.0.2", "id", id, "status",
                                      status, "pid", (json_int_t) pid, "bundle", bundle, "annotations",
                                      annotations ? annotations : json_object ());
  return json_dumps (j, JSON_COMPACT);
}

/* The state goes in a memfd rather than a pipe: a hook that never reads
 * its stdin cannot block us, and there is no SIGPIPE to handle. */
static int
state_fd (const char *state, ch_error_t *err)
{
  int fd = memfd_create ("hook-state", MFD_CLOEXEC);

  if (fd < 0)
    return ch_error (err, errno, "memfd_create");
  if (ch_write_all (fd, state, strlen (state), err) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static int
wait_hook (pid_t pid, int timeout, int *status, ch_error_t *err)
{
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  struct pollfd p = { pidfd, POLLIN, 0 };
  int r;

  if (pidfd >= 0)
    {
      do
        r = poll (&p, 1, timeout > 0 ? timeout * 1000 : -1);
      while (r < 0 && errno == EINTR);
      if (r == 0)
        {
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
          return ch_error (err, 0, "timed out after %d s", timeout);
        }
    }
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  return 0;
}

static int
run_one (const struct ch_hook *h, int stdin_fd, const char *cwd, ch_error_t *err)
{
  char *argv0[] = { h->path, NULL };
  int status = 0;
  pid_t pid;

  struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
  int ret;

  if (lseek (stdin_fd, 0, SEEK_SET) < 0)
    return ch_error (err, errno, "rewind the state");
  /* a caller that ignores SIGCHLD (SIG_IGN) would lose the exit status */
  sigaction (SIGCHLD, &dfl, &old);
  pid = fork ();
  if (pid < 0)
    {
      sigaction (SIGCHLD, &old, NULL);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      ch_signals_reset ();
      if (dup2 (stdin_fd, 0) < 0 || (cwd && chdir (cwd) < 0))
        _exit (127);
      execve (h->path, h->args ? h->args : argv0, h->env ? h->env : environ);
      _exit (errno == ENOENT ? 127 : 126);
    }
  ret = wait_hook (pid, h->timeout, &status, err);
  sigaction (SIGCHLD, &old, NULL);
  if (ret < 0)
    return -1;
  if (WIFSIGNALED (status))
    return ch_error (err, 0, "killed by signal %d", WTERMSIG (status));
  if (WEXITSTATUS (status) != 0)
    return ch_error (err, 0, "exit status %d", WEXITSTATUS (status));
  return 0;
}

int
ch_hooks_run (const struct ch_hooks *hooks, enum ch_hook_kind kind, const char *state, const char *cwd,
              ch_error_t *err)
{
  cleanup_close int fd = -1;
  size_t i;

  if (hooks->n[kind] == 0)
    return 0;
  fd = state_fd (state, err);
  if (fd < 0)
    return ch_error_prefix (err, "%s hooks", ch_hook_names[kind]);
  for (i = 0; i < hooks->n[kind]; i++)
    if (run_one (&hooks->list[kind][i], fd, cwd, err) < 0)
      {
        ch_error_prefix (err, "%s hook `%s`", ch_hook_names[kind], hooks->list[kind][i].path);
        /* poststart, poststop: the spec's "log a warning", and the lifecycle
         * and the remaining hooks continue (runtime-spec 1.1 lifecycle) */
        if (kind != CH_HOOK_POSTSTART && kind != CH_HOOK_POSTSTOP)
          return -1;
        fprintf (stderr, "chuted: warning: %s\n", (*err)->msg);
        ch_error_release (err);
      }
  return 0;
}
