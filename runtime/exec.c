/* `exec`: a new process in a running container. A helper joins the
 * container's cgroup and namespaces (user first), then clones the process
 * with CLONE_PARENT so it is inside the pid namespace and our own child. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* setns order: user first (it grants the rights for the others), mount last. */
static const struct
{
  const char *name;
  int flag;
} join_order[] = {
  { "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
  { "pid", CLONE_NEWPID },   { "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
};
#define N_JOIN (sizeof (join_order) / sizeof (join_order[0]))

static char **
merge_env (char **base, char **extra)
{
  char **env = ch_strv_dup (base);
  size_t i, j;

  for (i = 0; extra && extra[i]; i++)
    {
      const char *eq = strchr (extra[i], '=');
      size_t klen = eq ? (size_t) (eq - extra[i]) : strlen (extra[i]);
      bool replaced = false;
      for (j = 0; env[j]; j++)
        if (strncmp (env[j], extra[i], klen) == 0 && env[j][klen] == '=')
          {
            free (env[j]);
            env[j] = xstrdup (extra[i]);
            replaced = true;
          }
      if (!replaced)
        ch_strv_append (&env, extra[i]);
    }
  return env;
}

/* exec --process: parse it as config.json's process (same rules, same
 * messages) and swap it in for the container's own. */
static int
replace_process (struct ch_spec *s, json_t *process, ch_error_t *err)
{
  struct ch_spec *p = xzalloc (sizeof (*p));
  struct ch_spec old;

  if (ch_spec_parse_process (p, process, err) < 0)
    {
      ch_spec_free (p);
      return ch_error_prefix (err, "--process");
    }
  old = *s;
#define TAKE(f)                                                                                                        \
  do                                                                                                                   \
    {                                                                                                                  \
      s->f = p->f;                                                                                                     \
      p->f = old.f;                                                                                                    \
    }                                                                                                                  \
  while (0)
  TAKE (terminal);
  TAKE (uid);
  TAKE (gid);
  TAKE (additional_gids);
  TAKE (n_additional_gids);
  TAKE (username);
  TAKE (umask);
  TAKE (has_umask);
  TAKE (args);
  TAKE (env);
  TAKE (cwd);
  TAKE (has_caps);
  TAKE (caps);
  TAKE (caps_unknown);
  TAKE (rlimits);
  TAKE (n_rlimits);
  TAKE (no_new_privileges);
  TAKE (has_oom_score_adj);
  TAKE (oom_score_adj);
#undef TAKE
  ch_spec_free (p); /* now holds the container's process fields */
  return 0;
}

struct exec_child
{
  const struct ch_spec *spec;
  const struct ch_exec_opts *o;
  int ns_fds[N_JOIN];
  struct ch_cgroup *cg;
  int pid_w, err_w;
};

__attribute__ ((noreturn)) static void
process_main (const struct exec_child *x)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *path = NULL;
  struct ch_process p = { x->o->argv ? x->o->argv : x->spec->args, merge_env (x->spec->env, x->o->env),
                          x->o->cwd ? x->o->cwd : x->spec->cwd ? x->spec->cwd : "/", x->o->user };
  bool tty = x->o->tty || (x->o->process && x->spec->terminal);
  int code = 1, i, fds[3] = { x->o->stdin_fd, x->o->stdout_fd, x->o->stderr_fd };

  ch_signals_reset ();
  for (i = 0; i < 3; i++)
    if (fds[i] >= 0 && fds[i] != i && dup2 (fds[i], i) < 0)
      {
        ch_error (&err, errno, "dup2 fd %d", i);
        goto fail;
      }
  if (tty && x->o->console_socket_fd >= 0 && ch_tty_setup (x->o->console_socket_fd, &err) < 0)
    goto fail;
  if (ch_process_prepare (x->spec, &p, &path, &code, &err) < 0)
    goto fail;
  if (x->spec->seccomp && x->spec->no_new_privileges && ch_spec_seccomp_load (x->spec, &err) < 0)
    goto fail;
  /* --preserve-fds: the N fds after stdio survive the exec (every fd was
   * marked close-on-exec above) */
  for (i = 3; i < 3 + x->o->preserve_fds; i++)
    if (fcntl (i, F_SETFD, 0) < 0 && errno != EBADF)
      {
        ch_error (&err, errno, "--preserve-fds: fd %d", i);
        goto fail;
      }
  execve (path, p.argv, p.env);
  code = ch_exec_error_code (errno);
  ch_error (&err, errno, "exec \"%s\"", p.argv[0]);
fail:
  ch_report_error (x->err_w, code, &err);
  _exit (code);
}

__attribute__ ((noreturn)) static void
helper_main (const struct exec_child *x)
{
  cleanup_error ch_error_t err = NULL;
  struct clone_args ca = { 0 };
  size_t i;
  long pid;

  if (ch_cgroup_enter (x->cg, getpid (), &err) < 0)
    goto fail;
  for (i = 0; i < N_JOIN; i++)
    if (x->ns_fds[i] >= 0 && setns (x->ns_fds[i], join_order[i].flag) < 0)
      {
        ch_error (&err, errno, "join the container's %s namespace", join_order[i].name);
        goto fail;
      }
  ca.flags = CLONE_PARENT;
  ca.exit_signal = 0; /* clone3 refuses one with CLONE_PARENT: the child inherits ours */
  pid = syscall (SYS_clone3, &ca, sizeof (ca));
  if (pid == 0)
    process_main (x);
  if (pid < 0)
    {
      ch_error (&err, errno, "clone");
      goto fail;
    }
  {
    pid_t p = (pid_t) pid;
    if (write (x->pid_w, &p, sizeof (p)) != sizeof (p))
      _exit (1);
  }
  _exit (0);
fail:
  ch_report_error (x->err_w, 1, &err);
  _exit (1);
}

static bool
same_ns (pid_t pid, const char *name)
{
  cleanup_free char *a = xasprintf ("/proc/%d/ns/%s", pid, name);
  cleanup_free char *b = xasprintf ("/proc/self/ns/%s", name);
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int
read_error (int fd, int *code, ch_error_t *err)
{
  char buf[4096];
  ssize_t n, len = 0;
  struct ch_report r = { 0 };

  while (len < (ssize_t) sizeof (buf) - 1 && (n = read (fd, buf + len, sizeof (buf) - 1 - (size_t) len)) != 0)
    {
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      len += n;
    }
  if (len == 0)
    return 0;
  buf[len] = '\0';
  if (ch_report_first (buf, &r, err) < 0)
    return -1;
  *code = r.code ? r.code : 1;
  ch_error (err, 0, "%s", r.msg ? r.msg : "unknown error");
  ch_report_clear (&r);
  return -1;
}

int
ch_container_exec (const char *state_dir, const struct ch_exec_opts *o, int *status, ch_error_t *err)
{
  struct ch_state st = { 0 };
  struct ch_spec *s = NULL;
  struct exec_child x = { 0 };
  cleanup_close int pidfd = -1;
  int pid_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, ret = -1, code = 1, ws;
  size_t i;
  pid_t helper, proc = -1;

  for (i = 0; i < N_JOIN; i++)
    x.ns_fds[i] = -1;
  *status = 1;
  if (!ch_self_is_sealed ())
    return ch_error (err, EPERM, "refusing to enter a container from an unsealed binary (CVE-2019-5736): "
                                  "call ch_runtime_reexec_sealed() first");
  if ((o->argv == NULL || o->argv[0] == NULL) && o->process == NULL)
    return ch_error (err, EINVAL, "exec: no command");
  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  if (st.status == CH_STATUS_STOPPED)
    {
      ch_error (err, 0, "container `%s` is not running", st.id);
      goto out;
    }
  pidfd = ch_state_pidfd (&st);
  if (ch_spec_load_bundle (st.bundle, &s, err) < 0)
    goto out;
  if (o->process && replace_process (s, o->process, err) < 0)
    goto out;
  ch_caps_check (s, o->warn, o->warn_data);
  if (s->seccomp)
    {
      cleanup_free char *cache = ch_seccomp_cache_dir (state_dir);
      if (ch_seccomp_compile (s->seccomp, s->seccomp_json, cache, &s->seccomp_bpf, err) < 0)
        goto out;
    }
  for (i = 0; i < N_JOIN; i++)
    {
      cleanup_free char *p = xasprintf ("/proc/%d/ns/%s", st.pid, join_order[i].name);
      if (same_ns (st.pid, join_order[i].name))
        continue;
      x.ns_fds[i] = open (p, O_RDONLY | O_CLOEXEC);
      if (x.ns_fds[i] < 0)
        {
          ch_error (err, errno, "open `%s`", p);
          goto out;
        }
    }
  if (st.cgroup_path && ch_cgroup_open (st.cgroup_path, &x.cg, err) < 0)
    goto out;
  if (pipe2 (pid_p, O_CLOEXEC) < 0 || pipe2 (err_p, O_CLOEXEC) < 0)
    {
      ch_error (err, errno, "pipe");
      goto out;
    }
  x.spec = s;
  x.o = o;
  x.pid_w = pid_p[1];
  x.err_w = err_p[1];
  helper = fork ();
  if (helper < 0)
    {
      ch_error (err, errno, "fork");
      goto out;
    }
  if (helper == 0)
    helper_main (&x);
  close (pid_p[1]);
  close (err_p[1]);
  pid_p[1] = err_p[1] = -1;
  while (waitpid (helper, &ws, 0) < 0 && errno == EINTR)
    ;
  if (read (pid_p[0], &proc, sizeof (proc)) != sizeof (proc))
    proc = -1;
  /* EOF once the process exec'd (CLOEXEC) or failed and wrote its line */
  if (read_error (err_p[0], &code, err) < 0)
    {
      if (proc > 0)
        while (waitpid (proc, NULL, 0) < 0 && errno == EINTR)
          ;
      *status = code;
      goto out;
    }
  if (proc <= 0)
    {
      ch_error (err, 0, "exec helper failed");
      goto out;
    }
  if (o->pid_file)
    {
      cleanup_free char *v = xasprintf ("%d", proc);
      if (ch_write_file_atomic (o->pid_file, v, strlen (v), 0644, err) < 0)
        {
          kill (proc, SIGKILL);
          while (waitpid (proc, NULL, 0) < 0 && errno == EINTR)
            ;
          goto out;
        }
    }
  if (o->detach)
    *status = 0;
  else
    {
      while (waitpid (proc, &ws, 0) < 0)
        if (errno != EINTR)
          {
            ch_error (err, errno, "waitpid");
            goto out;
          }
      *status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
    }
  ret = 0;
out:
  for (i = 0; i < 2; i++)
    {
      if (pid_p[i] >= 0)
        close (pid_p[i]);
      if (err_p[i] >= 0)
        close (err_p[i]);
    }
  for (i = 0; i < N_JOIN; i++)
    if (x.ns_fds[i] >= 0)
      close (x.ns_fds[i]);
  ch_cgroup_free (x.cg);
  ch_spec_free (s);
  ch_state_clear (&st);
  return ret;
}
