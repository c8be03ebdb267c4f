/* `create`, parent side: state dir + fifo, cgroup, join the namespaces
 * that have a path, clone the init with the new ones, write its id maps,
 * put it in the cgroup, let it go, wait for "ready" or its error line.
 * Any failure undoes all of it (init killed, cgroup and state dir removed). */
#include "runtime/init.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct
{
  const char *proc;
  int flag;
} ns_info[CH_NS_COUNT] = {
  [CH_NS_MOUNT] = { "mnt", CLONE_NEWNS },   [CH_NS_PID] = { "pid", CLONE_NEWPID },
  [CH_NS_UTS] = { "uts", CLONE_NEWUTS },    [CH_NS_IPC] = { "ipc", CLONE_NEWIPC },
  [CH_NS_NET] = { "net", CLONE_NEWNET },    [CH_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
  [CH_NS_USER] = { "user", CLONE_NEWUSER },
};

/* Namespaces we join with a path before clone (the child inherits them);
 * user and mount are joined by the child itself, after clone. */
static bool
joined_by_parent (int t)
{
  return t != CH_NS_USER && t != CH_NS_MOUNT;
}

struct created
{
  char *state_dir;
  bool state_made;
  struct ch_cgroup *cg;
  int pidfd;
  pid_t pid;
  bool our_child;
  const char *host_mounts; /* the rootfs whose mounts are in our namespace */
  int host_mounts_before;  /* mounts at it before the init ran */
};

static void
undo (struct created *c)
{
  cleanup_error ch_error_t e = NULL;

  if (c->pidfd >= 0)
    {
      syscall (SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
      if (c->our_child)
        waitpid (c->pid, NULL, 0);
      close (c->pidfd);
    }
  /* only a bind the init made: the count went up since before the clone */
  if (c->host_mounts && ch_mounts_at (c->host_mounts, &e) > c->host_mounts_before
      && ch_rootfs_host_umount (c->host_mounts, &e) < 0)
    ch_error_release (&e);
  ch_error_release (&e);
  if (c->cg)
    {
      /* a cgroup the chute does not own may gain other processes after
       * create checked it was empty: only the init (killed above) was ours */
      if (!ch_cgroup_is_own (c->cg))
        ch_cgroup_release (c->cg);
      else if (ch_cgroup_destroy (c->cg, &e) < 0)
        ch_error_release (&e);
      ch_cgroup_free (c->cg);
    }
  if (c->state_made && ch_rm_rf (c->state_dir, &e) < 0)
    ch_error_release (&e);
}

static int
write_map (pid_t pid, const char *file, const struct ch_idmap *m, size_t n, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("/proc/%d/%s", pid, file);
  struct ch_buf b = { 0 };
  cleanup_free char *data = NULL;
  size_t i;

  for (i = 0; i < n; i++)
    ch_buf_printf (&b, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
  data = ch_buf_steal (&b);
  if (ch_write_file (path, data, strlen (data), 0644, err) < 0)
    return ch_error_prefix (err, "write %s", file);
  return 0;
}

/* setns into every path namespace the parent joins; SAVED gets our own
 * namespaces back (restore_ns). */
static int
enter_ns (const struct ch_spec *s, int saved[CH_NS_COUNT], ch_error_t *err)
{
  int t;

  for (t = 0; t < CH_NS_COUNT; t++)
    {
      cleanup_close int fd = -1;
      cleanup_free char *self = NULL;
      saved[t] = -1;
      if (!s->ns[t].path || !joined_by_parent (t))
        continue;
      self = xasprintf ("/proc/self/ns/%s", ns_info[t].proc);
      saved[t] = open (self, O_RDONLY | O_CLOEXEC);
      if (saved[t] < 0)
        return ch_error (err, errno, "open `%s`", self);
      fd = open (s->ns[t].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return ch_error (err, errno, "open namespace `%s`", s->ns[t].path);
      if (setns (fd, ns_info[t].flag) < 0)
        return ch_error (err, errno, "join namespace `%s`", s->ns[t].path);
    }
  return 0;
}

static void
restore_ns (int saved[CH_NS_COUNT])
{
  int t;
  for (t = 0; t < CH_NS_COUNT; t++)
    if (saved[t] >= 0)
      {
        if (setns (saved[t], ns_info[t].flag) < 0)
          { /* cannot happen for our own namespaces as root; nothing better to do */ }
        close (saved[t]);
        saved[t] = -1;
      }
}

static int
save_state (const struct ch_create_opts *o, const struct ch_spec *s, pid_t pid, const char *cgpath,
            struct ch_cgroup *cg, ch_error_t *err)
{
  cleanup_strv char **made = ch_cgroup_made_dirs (cg);
  cleanup_free char *path = xasprintf ("%s/state.json", o->state_dir);
  cleanup_free char *created = NULL;
  struct timespec now;
  cleanup_json json_t *j = NULL;
  unsigned long long start = 0;

  clock_gettime (CLOCK_REALTIME, &now);
  created = ch_rfc3339 (now.tv_sec, now.tv_nsec);
  if (ch_proc_start_time (pid, &start) < 0)
    return ch_error (err, ESRCH, "container init %d exited during create", pid);
  j = json_pack ("{s:s, s:s, s:i, s:s, s:s, s:O, s:I, s:s, s:s}", "ociVersion", "1.0.2", "id", o->id, "pid",
                 (json_int_t) pid, "bundle", o->bundle, "rootfs", s->root_path, "annotations", s->annotations,
                 "chuted.startTime", (json_int_t) start, "chuted.cgroupPath", cgpath, "created", created);
  /* delete kills everything in the cgroup only when it is the chute's own */
  json_object_set_new (j, "chuted.cgroupOwned", json_boolean (ch_cgroup_is_own (cg)));
  json_object_set_new (j, "chuted.cgroupMade", ch_json_from_strv (made));
  /* start and delete run poststart/poststop as the config was at create */
  if (s->hooks_json)
    json_object_set (j, "chuted.hooks", s->hooks_json);
  if (ch_spec_host_mounts (s))
    json_object_set_new (j, "chuted.hostMounts", json_true ());
  if (s->args == NULL)
    json_object_set_new (j, "chuted.noProcess", json_true ());
  return ch_json_save_file (path, j, 0600, err);
}

/* Wait for the init: 'R' ready, "E<code> <message>", or 'H' (returns 1):
 * its mounts are done and it waits for the create hooks. */
static int
wait_ready (int sock, int *code, ch_error_t *err)
{
  char buf[4096];
  ssize_t n;

  do
    n = recv (sock, buf, sizeof (buf) - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n == 1 && buf[0] == 'R')
    return 0;
  if (n == 1 && buf[0] == 'H')
    return 1;
  if (n > 1 && buf[0] == 'E')
    {
      char *msg;
      buf[n] = '\0';
      *code = (int) strtol (buf + 1, &msg, 10);
      while (*msg == ' ')
        msg++;
      return ch_error (err, 0, "%s", msg);
    }
  return ch_error (err, n < 0 ? errno : 0, "container init exited during setup");
}

/* prestart and createRuntime, in our namespaces, while the init waits
 * before pivot_root; then the init gets the state for its own hooks. */
static int
run_create_hooks (const struct ch_create_opts *o, const struct ch_spec *s, pid_t pid, int sock, ch_error_t *err)
{
  cleanup_free char *state = ch_hook_state (o->id, "created", pid, o->bundle, s->annotations);
  cleanup_free char *msg = xasprintf ("h%s", state);

  if (ch_hooks_run (&s->hooks, CH_HOOK_PRESTART, state, o->bundle, err) < 0
      || ch_hooks_run (&s->hooks, CH_HOOK_CREATE_RUNTIME, state, o->bundle, err) < 0)
    return -1;
  if (send (sock, msg, strlen (msg), MSG_NOSIGNAL) < 0)
    return ch_error (err, errno, "send the state to the container init");
  return 0;
}

int
ch_container_create (const struct ch_create_opts *o, pid_t *init_pid, ch_error_t *err)
{
  struct ch_spec *s = NULL;
  struct created c = { .state_dir = (char *) o->state_dir, .pidfd = -1 };
  cleanup_free char *fifo = xasprintf ("%s/exec.fifo", o->state_dir);
  cleanup_free char *cgpath = NULL;
  cleanup_close int fifo_fd = -1;
  int sv[2] = { -1, -1 }, saved[CH_NS_COUNT], t, code = 1, ret = -1;
  struct clone_args ca = { 0 };
  struct ch_cgroup_join join = { .v2_fd = -1 };
  struct ch_init_args ia;
  uint64_t flags = 0;
  long pid;
  char go = 'G';

  for (t = 0; t < CH_NS_COUNT; t++)
    saved[t] = -1;
  if (!ch_self_is_sealed ())
    return ch_error (err, EPERM, "refusing to create a container from an unsealed binary (CVE-2019-5736): "
                                  "call ch_runtime_reexec_sealed() first");
  if (ch_spec_load_bundle (o->bundle, &s, err) < 0)
    return -1;
  ch_caps_check (s, o->warn, o->warn_data);
  if (s->seccomp)
    {
      cleanup_free char *cache = o->seccomp_cache ? xstrdup (o->seccomp_cache) : ch_seccomp_cache_dir (o->state_dir);
      if (ch_seccomp_compile (s->seccomp, s->seccomp_json, cache, &s->seccomp_bpf, err) < 0)
        goto out;
    }
  if (s->terminal && o->console_socket_fd < 0)
    {
      ch_error (err, 0, "process.terminal is set but there is no console socket to send the terminal to");
      goto out;
    }
  if (ch_spec_host_mounts (s))
    {
      c.host_mounts_before = ch_mounts_at (s->root_path, err);
      if (c.host_mounts_before < 0)
        goto out;
      c.host_mounts = s->root_path;
    }
  if (ch_ns_settings_check (s, err) < 0 || ch_labels_check (s, o->warn, o->warn_data, err) < 0)
    goto out;
  {
    cleanup_free char *parent = xstrdup (o->state_dir);
    char *sl = strrchr (parent, '/');
    if (sl && sl != parent)
      *sl = '\0';
    if (ch_mkdir_p (parent, 0700, err) < 0)
      goto out;
  }
  if (mkdir (o->state_dir, 0700) < 0)
    {
      ch_error (err, errno, errno == EEXIST ? "container `%s` already exists" : "create state dir for `%s`", o->id);
      goto out;
    }
  c.state_made = true;
  /* 0622: an init in a user namespace is not host root; the state dir
   * (0700) keeps everyone else from reaching it */
  if (mkfifo (fifo, 0622) < 0 || chmod (fifo, 0622) < 0)
    {
      ch_error (err, errno, "mkfifo `%s`", fifo);
      goto out;
    }
  fifo_fd = open (fifo, O_PATH | O_CLOEXEC);
  if (fifo_fd < 0)
    {
      ch_error (err, errno, "open `%s`", fifo);
      goto out;
    }

  if (s->cgroups_path)
    cgpath = xstrdup (s->cgroups_path + (s->cgroups_path[0] == '/'));
  else
    cgpath = xasprintf ("%s/%s", o->cgroup_parent ? o->cgroup_parent : "chuted", o->id);
  ch_spec_device_policy (s);
  /* its errors name the cgroup */
  if (ch_cgroup_create (cgpath, &s->resources, &c.cg, err) < 0)
    goto out;

  if (ch_cgroup_join_open (c.cg, &join, err) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      ch_error (err, errno, "socketpair");
      goto out;
    }
  for (t = 0; t < CH_NS_COUNT; t++)
    if (s->ns[t].enabled && !s->ns[t].path && t != CH_NS_CGROUP)
      flags |= (uint64_t) ns_info[t].flag;
  ia = (struct ch_init_args) {
    .spec = s, .sync_fd = sv[1], .fifo_fd = fifo_fd, .err_fd = o->err_fd,
    .console_fd = o->console_socket_fd, .stdio = { o->stdin_fd, o->stdout_fd, o->stderr_fd },
    .userns_new = s->ns[CH_NS_USER].enabled && !s->ns[CH_NS_USER].path, .cg_join = &join,
  };
  if (enter_ns (s, saved, err) < 0)
    {
      restore_ns (saved);
      goto out;
    }
  ca.flags = flags | CLONE_PIDFD | (o->clone_parent ? CLONE_PARENT : 0);
  ca.pidfd = (uint64_t) (uintptr_t) &c.pidfd;
  /* clone3 refuses an exit signal with CLONE_PARENT: the child inherits ours */
  ca.exit_signal = o->clone_parent ? 0 : SIGCHLD;
  if (join.v2_fd >= 0)
    {
      ca.flags |= CLONE_INTO_CGROUP;
      ca.cgroup = (uint64_t) join.v2_fd;
    }
  pid = syscall (SYS_clone3, &ca, sizeof (ca));
  /* kernels before 5.7, or a v2 cgroup a process may not be born into */
  if (pid < 0 && (ca.flags & CLONE_INTO_CGROUP))
    {
      ca.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
      ca.cgroup = 0;
      pid = syscall (SYS_clone3, &ca, sizeof (ca));
    }
  if (pid == 0)
    {
      close (sv[0]);
      ch_init_main (&ia);
    }
  restore_ns (saved);
  if (pid < 0)
    {
      c.pidfd = -1;
      ch_error (err, errno, "clone the container init");
      goto out;
    }
  c.pid = (pid_t) pid;
  c.our_child = !o->clone_parent;
  close (sv[1]);
  sv[1] = -1;

  if (ia.userns_new
      && (write_map (c.pid, "gid_map", s->gid_maps, s->n_gid_maps, err) < 0
          || write_map (c.pid, "uid_map", s->uid_maps, s->n_uid_maps, err) < 0))
    goto out;
  /* the init joins the v1 hierarchies itself, first thing after 'G'; it
   * waits for 'C' before anything that needs the v2 one (see
   * ch_cgroup_gate), joined at birth unless clone3 refused that */
  if (send (sv[0], &go, 1, MSG_NOSIGNAL) != 1)
    {
      ch_error (err, errno, "start the container init");
      goto out;
    }
  if (!(ca.flags & CLONE_INTO_CGROUP) && ch_cgroup_enter_v2 (c.cg, c.pid, err) < 0)
    goto out;
  if (s->has_oom_score_adj)
    {
      cleanup_free char *p = xasprintf ("/proc/%d/oom_score_adj", c.pid);
      cleanup_free char *v = xasprintf ("%d", s->oom_score_adj);
      if (ch_write_file (p, v, strlen (v), 0644, err) < 0)
        goto out;
    }
  if (send (sv[0], "C", 1, MSG_NOSIGNAL) != 1)
    {
      ch_error (err, errno, "start the container init");
      goto out;
    }
  while ((t = wait_ready (sv[0], &code, err)) == 1)
    if (run_create_hooks (o, s, c.pid, sv[0], err) < 0)
      goto out;
  if (t < 0)
    {
      if (o->init_exit_code)
        *o->init_exit_code = code;
      goto out;
    }
  if (save_state (o, s, c.pid, cgpath, c.cg, err) < 0)
    goto out;
  *init_pid = c.pid;
  ret = 0;
out:
  ch_cgroup_join_close (&join);
  if (sv[0] >= 0)
    close (sv[0]);
  if (sv[1] >= 0)
    close (sv[1]);
  if (ret < 0)
    undo (&c);
  else
    {
      close (c.pidfd);
      ch_cgroup_free (c.cg);
    }
  ch_spec_free (s);
  return ret;
}
