/* The tail shared by the init and `exec`: limits, identity, capabilities,
 * no_new_privs, cwd (checked to be inside the rootfs: CVE-2024-21626) and
 * the PATH lookup that turns "sh" into the file to execve. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int
ch_exec_error_code (int errnum)
{
  if (errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP || errnum == ENAMETOOLONG)
    return 127;
  if (errnum == EACCES || errnum == ENOEXEC || errnum == EPERM || errnum == EISDIR || errnum == ETXTBSY)
    return 126;
  return 1;
}

void
ch_signals_reset (void)
{
  sigset_t none;
  int i;

  for (i = 1; i < NSIG; i++)
    if (i != SIGKILL && i != SIGSTOP)
      signal (i, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

static const char *
env_get (char **env, const char *name)
{
  size_t n = strlen (name);
  for (; env && *env; env++)
    if (strncmp (*env, name, n) == 0 && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

/* execvp's search, but with the container's PATH, and distinguishing
 * "nowhere" (127) from "found but not executable" (126). */
static int
lookup (const char *prog, char **env, char **out, int *code, ch_error_t *err)
{
  const char *path = env_get (env, "PATH");
  cleanup_free char *copy = NULL;
  char *dir, *save = NULL;
  int first_errno = ENOENT;
  struct stat st;

  if (strchr (prog, '/'))
    {
      if (stat (prog, &st) < 0 || access (prog, X_OK) < 0 || !S_ISREG (st.st_mode))
        {
          int e = errno;
          if (e == 0 || (S_ISDIR (st.st_mode) && e != ENOENT))
            e = EACCES;
          *code = ch_exec_error_code (e);
          return ch_error (err, e, "exec \"%s\"", prog);
        }
      *out = xstrdup (prog);
      return 0;
    }
  copy = xstrdup (path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *cand = xasprintf ("%s/%s", *dir ? dir : ".", prog);
      if (stat (cand, &st) < 0)
        continue;
      if (S_ISREG (st.st_mode) && access (cand, X_OK) == 0)
        {
          *out = steal_pointer (&cand);
          return 0;
        }
      first_errno = EACCES;
    }
  *code = ch_exec_error_code (first_errno);
  return ch_error (err, first_errno, "exec \"%s\"", prog);
}

static int
set_identity (const struct ch_spec *s, const struct ch_creds *c, ch_error_t *err)
{
  /* keep the permitted set across the uid change; the spec's sets are applied after */
  if (s->has_caps && prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return ch_error (err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setgroups (c->n_groups, c->groups) < 0 && !(errno == EPERM && c->n_groups == 0))
    return ch_error (err, errno, "setgroups");
  if (setresgid (c->gid, c->gid, c->gid) < 0)
    return ch_error (err, errno, "setresgid(%u)", (unsigned) c->gid);
  if (setresuid (c->uid, c->uid, c->uid) < 0)
    return ch_error (err, errno, "setresuid(%u)", (unsigned) c->uid);
  if (s->has_caps && prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return ch_error (err, errno, "prctl(PR_SET_KEEPCAPS)");
  return 0;
}

/* Every fd from FROM up closes on exec (CVE-2024-21626: no host fd leaks
 * into the container). close_range may be missing (before 5.11) or refused
 * by a seccomp profile the caller runs under: walk /proc/self/fd then. */
int
ch_fds_cloexec (int from, ch_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *e;

  if (syscall (SYS_close_range, (unsigned) from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  if (errno != ENOSYS && errno != EPERM && errno != EINVAL)
    return ch_error (err, errno, "close_range");
  d = opendir ("/proc/self/fd");
  if (d == NULL)
    return ch_error (err, errno, "open /proc/self/fd");
  while ((e = readdir (d)))
    {
      char *end;
      long fd = strtol (e->d_name, &end, 10);
      if (*end || end == e->d_name || fd < from || fd == dirfd (d))
        continue;
      if (fcntl ((int) fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
        return ch_error (err, errno, "mark fd %ld close-on-exec", fd);
    }
  return 0;
}

/* chdir to the process cwd, then prove it is inside our root: a cwd
 * reached through a leaked host fd (/proc/self/fd/N) resolves outside it,
 * and getcwd then fails or answers "(unreachable)/...". */
static int
enter_cwd (const char *dir, ch_error_t *err)
{
  char cwd[PATH_MAX];

  if (chdir (dir) < 0)
    return ch_error (err, errno, "chdir to cwd `%s`", dir);
  errno = 0;
  if (getcwd (cwd, sizeof (cwd)) == NULL || cwd[0] != '/')
    return ch_error (err, errno ? errno : EPERM, "cwd `%s` is outside the container", dir);
  return 0;
}

static bool
apparmor_enabled (void)
{
  cleanup_free char *v = NULL;
  cleanup_error ch_error_t e = NULL;
  return ch_read_file ("/sys/module/apparmor/parameters/enabled", &v, NULL, &e) == 0 && v[0] == 'Y';
}

static bool
selinux_enabled (void)
{
  return access ("/sys/fs/selinux", F_OK) == 0;
}

int
ch_labels_check (const struct ch_spec *s, ch_warn_fn warn, void *data, ch_error_t *err)
{
  if (s->apparmor_profile && !apparmor_enabled ())
    return ch_error (err, 0, "config.json: process.apparmorProfile: AppArmor is not enabled on this host");
  if (s->selinux_label && !selinux_enabled ())
    return ch_error (err, 0, "config.json: process.selinuxLabel: SELinux is not enabled on this host");
  if (s->mount_label && selinux_enabled ())
    return ch_error (err, 0, "config.json: linux.mountLabel: mount labels are not supported by chuted");
  /* Without SELinux no mount carries a label and nothing would read one, so
   * the container is the same with or without it: said, not refused, as
   * runc's validator does (it refuses only a process label there). */
  if (s->mount_label)
    {
      cleanup_free char *msg
          = xasprintf ("linux.mountLabel `%s` ignored: SELinux is not enabled on this host", s->mount_label);
      ch_warn_say (warn, data, msg);
    }
  return 0;
}

/* The LSM label our execve gives the process (/proc is the container's). */
static int
set_exec_label (const char *lsm_file, const char *fallback, const char *label, ch_error_t *err)
{
  cleanup_error ch_error_t e = NULL;

  if (ch_write_file (lsm_file, label, strlen (label), 0, &e) == 0)
    return 0;
  if (ch_write_file (fallback, label, strlen (label), 0, err) < 0)
    return ch_error_prefix (err, "set the exec label `%s`", label);
  return 0;
}

static int
apply_labels (const struct ch_spec *s, ch_error_t *err)
{
  if (s->apparmor_profile)
    {
      cleanup_free char *l = xasprintf ("exec %s", s->apparmor_profile);
      if (set_exec_label ("/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec", l, err) < 0)
        return ch_error_prefix (err, "process.apparmorProfile");
    }
  if (s->selinux_label
      && set_exec_label ("/proc/thread-self/attr/exec", "/proc/self/attr/exec", s->selinux_label, err) < 0)
    return ch_error_prefix (err, "process.selinuxLabel");
  return 0;
}

int
ch_process_prepare (const struct ch_spec *s, struct ch_process *p, char **path, int *code, ch_error_t *err)
{
  struct ch_creds c = { 0 };
  bool cwd_done;
  size_t i;
  int ret = -1;

  *code = 1;
  for (i = 0; i < s->n_rlimits; i++)
    {
      struct rlimit rl = { (rlim_t) s->rlimits[i].soft, (rlim_t) s->rlimits[i].hard };
      if (setrlimit (s->rlimits[i].resource, &rl) < 0)
        return ch_error (err, errno, "process.rlimits[%zu]", i);
    }
  umask (s->umask);
  if (ch_creds_resolve (s, p->user, &c, err) < 0)
    return -1;
  if (env_get (p->env, "HOME") == NULL)
    {
      cleanup_free char *h = xasprintf ("HOME=%s", c.home);
      ch_strv_append (&p->env, h);
    }
  if (s->has_caps && ch_caps_drop_bounding (&s->caps, err) < 0)
    goto out;
  /* The seccomp profile governs the container's process, not our setup:
   * the cwd check and the fd marking come before any filter (crun's
   * order). The cwd is tried as root first; one only the container user
   * may enter (root squashed on NFS) is retried after the switch. */
  cwd_done = enter_cwd (p->cwd, err) == 0;
  if (!cwd_done)
    {
      if ((*err)->status != EACCES && (*err)->status != EPERM)
        goto out;
      ch_error_release (err);
    }
  if (ch_fds_cloexec (3, err) < 0)
    goto out;
  if (s->personality32 && personality (PER_LINUX32) < 0)
    {
      ch_error (err, errno, "personality(LINUX32)");
      goto out;
    }
  if ((s->apparmor_profile || s->selinux_label) && apply_labels (s, err) < 0)
    goto out;
  /* Without no_new_privs installing a filter needs CAP_SYS_ADMIN: load it
   * now, the last thing while we still have it; with no_new_privs the
   * caller loads it right before execve. */
  if (s->seccomp && !s->no_new_privileges && ch_spec_seccomp_load (s, err) < 0)
    goto out;
  if (set_identity (s, &c, err) < 0)
    goto out;
  if (s->has_caps && ch_caps_apply (&s->caps, err) < 0)
    goto out;
  if (s->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      ch_error (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
      goto out;
    }
  if (!cwd_done && enter_cwd (p->cwd, err) < 0)
    goto out;
  if (lookup (p->argv[0], p->env, path, code, err) < 0)
    goto out;
  ret = 0;
out:
  ch_creds_clear (&c);
  return ret;
}
