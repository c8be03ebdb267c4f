/* state.json, live status (init alive with the same start time; exec.fifo
 * still there = not started), start, kill, delete. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
ch_proc_start_time (pid_t pid, unsigned long long *out)
{
  cleanup_free char *path = xasprintf ("/proc/%d/stat", pid);
  cleanup_free char *buf = NULL;
  cleanup_error ch_error_t e = NULL;
  size_t len;
  char *p, state;
  int field;

  if (ch_read_file (path, &buf, &len, &e) < 0)
    return -1;
  /* comm may hold spaces and ')': fields start after the last ')' */
  p = strrchr (buf, ')');
  if (p == NULL || sscanf (p + 2, "%c", &state) != 1)
    return -1;
  if (state == 'Z' || state == 'X')
    return -1; /* exited: only a zombie left */
  for (field = 3, p += 2; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p == NULL)
    return -1;
  *out = strtoull (p, NULL, 10);
  return 0;
}

int
ch_state_pidfd (const struct ch_state *st)
{
  unsigned long long t;
  int fd;

  if (st->pid <= 0)
    return -1;
  fd = (int) syscall (SYS_pidfd_open, st->pid, 0);
  if (fd < 0)
    return -1;
  /* checked after opening the pidfd: a pid reused later cannot fool us */
  if (ch_proc_start_time (st->pid, &t) < 0 || t != st->start_time)
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
ch_state_load (const char *state_dir, struct ch_state *st, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/state.json", state_dir);
  cleanup_free char *fifo = xasprintf ("%s/exec.fifo", state_dir);
  cleanup_close int pidfd = -1;
  json_t *j = NULL;
  struct stat sb;

  memset (st, 0, sizeof (*st));
  if (ch_json_load_file (path, &j, err) < 0)
    {
      if ((*err)->status == ENOENT)
        {
          ch_error_release (err);
          return ch_error (err, ENOENT, "container state `%s`", state_dir);
        }
      return -1;
    }
  st->json = j;
  st->pid = (pid_t) json_integer_value (json_object_get (j, "pid"));
  st->start_time = (unsigned long long) json_integer_value (json_object_get (j, "chuted.startTime"));
  st->cgroup_path = json_string_value (json_object_get (j, "chuted.cgroupPath"));
  /* states written before the key existed: chuted made every cgroup */
  st->cgroup_owned = !json_is_false (json_object_get (j, "chuted.cgroupOwned"));
  st->bundle = json_string_value (json_object_get (j, "bundle"));
  st->id = json_string_value (json_object_get (j, "id"));
  if (st->id == NULL || st->bundle == NULL)
    {
      ch_state_clear (st);
      return ch_error (err, 0, "`%s`: malformed state", path);
    }
  pidfd = ch_state_pidfd (st);
  if (pidfd < 0)
    st->status = CH_STATUS_STOPPED;
  else
    st->status = stat (fifo, &sb) == 0 ? CH_STATUS_CREATED : CH_STATUS_RUNNING;
  return 0;
}

void
ch_state_clear (struct ch_state *st)
{
  if (st->json)
    json_decref (st->json);
  memset (st, 0, sizeof (*st));
}

static const char *
status_name (enum ch_status s)
{
  return s == CH_STATUS_CREATED ? "created" : s == CH_STATUS_RUNNING ? "running" : "stopped";
}

int
ch_container_state (const char *state_dir, json_t **out, ch_error_t *err)
{
  struct ch_state st;
  json_t *j;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  j = json_pack ("{s:s, s:s, s:s, s:i, s:s, s:O}", "ociVersion", "1.0.2", "id", st.id, "status",
                 status_name (st.status), "pid", st.status == CH_STATUS_STOPPED ? 0 : (json_int_t) st.pid, "bundle",
                 st.bundle, "annotations",
                 json_object_get (st.json, "annotations") ? json_object_get (st.json, "annotations") : json_object ());
  if (json_object_get (st.json, "created"))
    json_object_set (j, "created", json_object_get (st.json, "created"));
  ch_state_clear (&st);
  *out = j;
  return 0;
}

/* Run KIND of the hooks saved in state.json at create. */
static int
state_hooks (const struct ch_state *st, enum ch_hook_kind kind, const char *status, pid_t pid, ch_error_t *err)
{
  json_t *hj = json_object_get (st->json, "chuted.hooks");
  struct ch_hooks h = { 0 };
  int ret = 0;

  if (hj == NULL)
    return 0;
  ret = ch_hooks_parse (hj, &h, err);
  if (ret == 0 && h.n[kind])
    {
      cleanup_free char *state = ch_hook_state (st->id, status, pid, st->bundle,
                                                json_object_get (st->json, "annotations"));
      ret = ch_hooks_run (&h, kind, state, st->bundle, err);
    }
  ch_hooks_clear (&h);
  return ret;
}

/* The init writes '0' into exec.fifo once released, or the error of a
 * startContainer hook. */
static int
wait_released (int fd, int pidfd, ch_error_t *err)
{
  char buf[4096];
  size_t len = 0;

  for (;;)
    {
      struct pollfd p[2] = { { fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
      ssize_t n;
      if (poll (p, pidfd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return ch_error (err, errno, "poll exec.fifo");
        }
      if (p[0].revents & POLLIN)
        {
          n = read (fd, buf + len, sizeof (buf) - 1 - len);
          if (n > 0 && len == 0 && buf[0] == '0')
            return 0;
          if (n > 0)
            {
              len += (size_t) n;
              if (len < sizeof (buf) - 1)
                continue;
            }
          if (n < 0 && errno == EAGAIN)
            continue;
        }
      if (pidfd < 0 || (p[1].revents & POLLIN) || (p[0].revents & POLLHUP) || len == sizeof (buf) - 1)
        break;
    }
  if (len > 1 && buf[0] == 'E')
    {
      buf[len] = '\0';
      return ch_error (err, 0, "%s", buf + 1);
    }
  return ch_error (err, 0, "container init exited before start");
}

int
ch_container_start (const char *state_dir, ch_error_t *err)
{
  cleanup_free char *fifo = xasprintf ("%s/exec.fifo", state_dir);
  cleanup_close int fd = -1, pidfd = -1;
  struct ch_state st;
  int ret = -1;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  if (st.status != CH_STATUS_CREATED)
    {
      ch_error (err, 0, "container `%s` is %s, not created", st.id, status_name (st.status));
      goto out;
    }
  if (json_is_true (json_object_get (st.json, "chuted.noProcess")))
    {
      ch_error (err, 0, "container `%s`: its config.json has no process: process is REQUIRED when start is called",
                st.id);
      goto out;
    }
  pidfd = ch_state_pidfd (&st);
  /* non-blocking: the open succeeds at once, then we wait for the init's
   * byte while watching it, so a dead init cannot hang us */
  fd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      ch_error (err, errno, "open `%s`", fifo);
      goto out;
    }
  if (wait_released (fd, pidfd, err) < 0)
    goto out;
  if (unlink (fifo) < 0)
    {
      ch_error (err, errno, "remove `%s`", fifo);
      goto out;
    }
  if (state_hooks (&st, CH_HOOK_POSTSTART, "running", st.pid, err) < 0)
    goto out;
  ret = 0;
out:
  ch_state_clear (&st);
  return ret;
}

int
ch_container_kill (const char *state_dir, int sig, bool all, ch_error_t *err)
{
  cleanup_close int pidfd = -1;
  struct ch_state st;
  int ret = 0;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  if (st.status == CH_STATUS_STOPPED)
    {
      ch_error (err, ESRCH, "container `%s` is not running", st.id);
      ch_state_clear (&st);
      return -1;
    }
  if (all && st.cgroup_path && st.cgroup_owned)
    {
      struct ch_cgroup *cg = NULL;
      ret = ch_cgroup_open (st.cgroup_path, &cg, err);
      if (ret == 0)
        ret = ch_cgroup_kill_all (cg, sig, err);
      ch_cgroup_free (cg);
    }
  else
    {
      pidfd = ch_state_pidfd (&st);
      if (pidfd < 0 || syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        ret = ch_error (err, pidfd < 0 ? ESRCH : errno, "kill container `%s`", st.id);
    }
  ch_state_clear (&st);
  return ret;
}

/* Wait for the init to be gone (pidfd readable), up to ~10 s. */
static int
wait_gone (int pidfd)
{
  struct pollfd p = { pidfd, POLLIN, 0 };
  return poll (&p, 1, 10000) == 1 ? 0 : -1;
}

int
ch_container_delete (const char *state_dir, bool force, ch_error_t *err)
{
  cleanup_close int pidfd = -1;
  struct ch_state st;
  struct ch_cgroup *cg = NULL;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  /* runtime.md: deleting a container that is not stopped MUST fail; a
   * created one counts too (runc and crun delete it; podman always says
   * --force, which still does). */
  if (st.status != CH_STATUS_STOPPED && !force)
    {
      ch_error (err, 0, "container `%s` is %s, not stopped: kill it first or use --force", st.id,
                st.status == CH_STATUS_RUNNING ? "running" : "created");
      ch_state_clear (&st);
      return -1;
    }
  pidfd = ch_state_pidfd (&st);
  if (pidfd >= 0)
    {
      syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      wait_gone (pidfd);
    }
  if (json_is_true (json_object_get (st.json, "chuted.hostMounts"))
      && json_is_string (json_object_get (st.json, "rootfs"))
      && ch_rootfs_host_umount (json_string_value (json_object_get (st.json, "rootfs")), err) < 0)
    {
      ch_state_clear (&st);
      return ch_error_prefix (err, "delete container");
    }
  if (st.cgroup_path && !st.cgroup_owned)
    {
      /* not ours: the init is dead, what else is there belongs to someone
       * else; only the directories create made go */
      cleanup_strv char **made = ch_json_to_strv (json_object_get (st.json, "chuted.cgroupMade"));
      ch_cgroup_remove_dirs (made);
    }
  else if (st.cgroup_path)
    {
      if (ch_cgroup_open (st.cgroup_path, &cg, err) == 0)
        {
          if (ch_cgroup_destroy (cg, err) < 0)
            {
              ch_cgroup_free (cg);
              ch_state_clear (&st);
              return ch_error_prefix (err, "delete container");
            }
          ch_cgroup_free (cg);
        }
      else if ((*err)->status == ENOENT)
        ch_error_release (err);
      else
        {
          ch_state_clear (&st);
          return -1;
        }
    }
  if (ch_rm_rf (state_dir, err) < 0)
    {
      ch_state_clear (&st);
      return -1;
    }
  /* after the container is gone; failures are only warnings */
  state_hooks (&st, CH_HOOK_POSTSTOP, "stopped", 0, err);
  ch_state_clear (&st);
  return 0;
}

int
ch_container_cgroup_path (const char *state_dir, char **path, ch_error_t *err)
{
  struct ch_state st;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  if (st.cgroup_path == NULL)
    {
      ch_error (err, 0, "container `%s` has no cgroup", st.id);
      ch_state_clear (&st);
      return -1;
    }
  *path = xstrdup (st.cgroup_path);
  ch_state_clear (&st);
  return 0;
}
